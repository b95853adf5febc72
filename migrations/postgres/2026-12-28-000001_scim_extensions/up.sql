-- Custom SCIM schema extensions (issue 28, docs/scim-extensions.md).
--
-- A registered extension schema: for one organization, or (org_id '*', which no organization
-- id can be) for every one.
CREATE TABLE scim_schemas (
    id BIGINT PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL,
    urn TEXT COLLATE "C" NOT NULL,
    urn_lower TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C" NOT NULL,
    required BOOLEAN NOT NULL DEFAULT FALSE,
    document TEXT NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX scim_schemas_urn ON scim_schemas(org_id, urn_lower);

-- Bumped with every registration or removal that concerns the organization, and read with
-- the credential: every instance sees a new schema on its next request.
ALTER TABLE organizations ADD COLUMN schemas_version BIGINT NOT NULL DEFAULT 0;

-- Extension values of users live in user_values beside the multi-valued core attributes:
-- `attribute` is the URN-qualified path (`urn:…:User:costCenter`, `urn:…:User:badge.label`),
-- `position` 0 for a single value and 1..n for the elements of a multi-valued one, `kind`
-- the JSON type of the value (`s` string, `n` number, `b` boolean, `j` JSON kept as sent;
-- NULL on core rows) and `value_num` a number's value, for comparisons as numbers.
ALTER TABLE user_values ADD COLUMN kind TEXT COLLATE "C";
ALTER TABLE user_values ADD COLUMN value_num DOUBLE PRECISION;
CREATE INDEX user_values_num ON user_values(org_id, attribute, value_num) WHERE value_num IS NOT NULL;

-- Extension values of groups, the same way; a group's row says whether it has any, so a
-- read of a group without them runs no statement more.
ALTER TABLE groups ADD COLUMN has_extensions BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE group_values (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    attribute TEXT COLLATE "C" NOT NULL,
    position INTEGER NOT NULL,
    org_id TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C",
    value_lower TEXT COLLATE "C",
    kind TEXT COLLATE "C" NOT NULL,
    value_num DOUBLE PRECISION,
    PRIMARY KEY (group_id, attribute, position)
);
CREATE INDEX group_values_lookup ON group_values(org_id, attribute, value_lower);
CREATE INDEX group_values_exact ON group_values(org_id, attribute, value);
CREATE INDEX group_values_num ON group_values(org_id, attribute, value_num) WHERE value_num IS NOT NULL;
