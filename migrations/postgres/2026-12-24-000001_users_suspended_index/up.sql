-- The console's dashboard counts suspended users of an organization; a partial index holds
-- only those (few), so the count reads the index instead of every user of the organization.
-- The query names the literal `active = false` so both planners can use it.
CREATE INDEX users_org_suspended ON users(org_id) WHERE active = false;
