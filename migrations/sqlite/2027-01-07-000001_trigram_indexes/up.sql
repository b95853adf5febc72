-- Substring filters (`co`, `ew`) of three characters or more are narrowed by trigram indexes
-- before the exact comparison runs (store::filter_sql; docs/scim-details.md, "Filters and
-- indexes"). SQLite's are FTS5 tables with the `trigram` tokenizer (case-folding), keyed by
-- the user's id (the rowid of `users` is not stable across VACUUM; its `id` is). Contentless
-- (the text stays in `users` / `user_values` alone) with `contentless_delete`, so a row is
-- removed by its id. Triggers keep them in step with every write, whatever makes it.
--
-- The columns named here are those `scim::storage` marks with `users_trgm`: the text each
-- comparison reads (the lower-cased twin where the filter compares through one).
CREATE VIRTUAL TABLE users_trgm USING fts5(
    user_name_lower, display_name_lower, name_given, name_family, name_formatted,
    external_id, title, department,
    content = '', contentless_delete = 1, tokenize = 'trigram'
);
INSERT INTO users_trgm(rowid, user_name_lower, display_name_lower, name_given, name_family,
                       name_formatted, external_id, title, department)
    SELECT id, user_name_lower, display_name_lower, name_given, name_family, name_formatted,
           external_id, title, department FROM users;

CREATE TRIGGER users_trgm_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_trgm(rowid, user_name_lower, display_name_lower, name_given, name_family,
                           name_formatted, external_id, title, department)
        VALUES (NEW.id, NEW.user_name_lower, NEW.display_name_lower, NEW.name_given,
                NEW.name_family, NEW.name_formatted, NEW.external_id, NEW.title,
                NEW.department);
END;
CREATE TRIGGER users_trgm_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_trgm WHERE rowid = OLD.id;
END;
-- An update writes every column; only a change of an indexed one rewrites the entry.
CREATE TRIGGER users_trgm_update AFTER UPDATE ON users
WHEN OLD.id IS NOT NEW.id
  OR OLD.user_name_lower IS NOT NEW.user_name_lower
  OR OLD.display_name_lower IS NOT NEW.display_name_lower
  OR OLD.name_given IS NOT NEW.name_given
  OR OLD.name_family IS NOT NEW.name_family
  OR OLD.name_formatted IS NOT NEW.name_formatted
  OR OLD.external_id IS NOT NEW.external_id
  OR OLD.title IS NOT NEW.title
  OR OLD.department IS NOT NEW.department
BEGIN
    DELETE FROM users_trgm WHERE rowid = OLD.id;
    INSERT INTO users_trgm(rowid, user_name_lower, display_name_lower, name_given, name_family,
                           name_formatted, external_id, title, department)
        VALUES (NEW.id, NEW.user_name_lower, NEW.display_name_lower, NEW.name_given,
                NEW.name_family, NEW.name_formatted, NEW.external_id, NEW.title,
                NEW.department);
END;

-- A user's emails, one entry per user (an FTS5 rowid is unique, and `user_values` has no
-- stable integer key): their lower-cased values joined by line feeds. A trigram spanning two
-- emails can only add candidates, which the exact comparison then drops. Each change to a
-- user's emails rewrites the user's entry from the rows that remain; the view says what an
-- entry holds (SQLite reads it for one user from the primary key: the user's id is pushed
-- into its GROUP BY).
CREATE VIEW user_emails_text(user_id, value_lower) AS
    SELECT user_id, group_concat(value_lower, char(10)) FROM user_values
    WHERE attribute = 'emails' AND value_lower IS NOT NULL GROUP BY user_id;
CREATE VIRTUAL TABLE user_emails_trgm USING fts5(
    value_lower,
    content = '', contentless_delete = 1, tokenize = 'trigram'
);
INSERT INTO user_emails_trgm(rowid, value_lower) SELECT user_id, value_lower FROM user_emails_text;

CREATE TRIGGER user_emails_trgm_insert AFTER INSERT ON user_values
WHEN NEW.attribute = 'emails' BEGIN
    DELETE FROM user_emails_trgm WHERE rowid = NEW.user_id;
    INSERT INTO user_emails_trgm(rowid, value_lower)
        SELECT user_id, value_lower FROM user_emails_text WHERE user_id = NEW.user_id;
END;
CREATE TRIGGER user_emails_trgm_delete AFTER DELETE ON user_values
WHEN OLD.attribute = 'emails' BEGIN
    DELETE FROM user_emails_trgm WHERE rowid = OLD.user_id;
    INSERT INTO user_emails_trgm(rowid, value_lower)
        SELECT user_id, value_lower FROM user_emails_text WHERE user_id = OLD.user_id;
END;
CREATE TRIGGER user_emails_trgm_update AFTER UPDATE ON user_values
WHEN (OLD.attribute = 'emails' OR NEW.attribute = 'emails')
 AND (OLD.user_id IS NOT NEW.user_id OR OLD.attribute IS NOT NEW.attribute
      OR OLD.value_lower IS NOT NEW.value_lower) BEGIN
    DELETE FROM user_emails_trgm WHERE rowid IN (OLD.user_id, NEW.user_id);
    INSERT INTO user_emails_trgm(rowid, value_lower)
        SELECT user_id, value_lower FROM user_emails_text
        WHERE user_id IN (OLD.user_id, NEW.user_id);
END;
