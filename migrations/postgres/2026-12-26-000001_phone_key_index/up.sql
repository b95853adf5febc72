-- The uniqueness rule compares primary phone numbers by a key without spaces and the
-- punctuation people write numbers with (domain::rules::phone_key). This index holds that
-- key of every phone number, so the check a write makes when a phone number is new or
-- changed is one index lookup. The expression is the one `store::users::PHONE_KEY_SQL`
-- writes, and the query names the literal attribute, so both planners use it. Not a unique
-- index: a database that already holds duplicates keeps working (`muster conflicts`).
CREATE INDEX user_values_phone_key ON user_values(org_id, (REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(value_lower, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''))) WHERE attribute = 'phoneNumbers';
