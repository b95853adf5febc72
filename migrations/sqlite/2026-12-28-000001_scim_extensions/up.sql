-- Custom SCIM schema extensions (issue 28, docs/scim-extensions.md).
--
-- A registered extension schema: for one organization, or (org_id '*', which no organization
-- id can be) for every one.
CREATE TABLE scim_schemas (
    id BIGINT PRIMARY KEY,
    org_id TEXT NOT NULL,
    urn TEXT NOT NULL,
    urn_lower TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    required BOOLEAN NOT NULL DEFAULT 0,
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
ALTER TABLE user_values ADD COLUMN kind TEXT;
ALTER TABLE user_values ADD COLUMN value_num DOUBLE;
CREATE INDEX user_values_num ON user_values(org_id, attribute, value_num) WHERE value_num IS NOT NULL;

-- Extension values of groups, the same way; a group's row says whether it has any, so a
-- read of a group without them runs no statement more.
ALTER TABLE groups ADD COLUMN has_extensions BOOLEAN NOT NULL DEFAULT 0;
CREATE TABLE group_values (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    attribute TEXT NOT NULL,
    position INTEGER NOT NULL,
    org_id TEXT NOT NULL,
    value TEXT,
    value_lower TEXT,
    kind TEXT NOT NULL,
    value_num DOUBLE,
    PRIMARY KEY (group_id, attribute, position)
);
CREATE INDEX group_values_lookup ON group_values(org_id, attribute, value_lower);
CREATE INDEX group_values_exact ON group_values(org_id, attribute, value);
CREATE INDEX group_values_num ON group_values(org_id, attribute, value_num) WHERE value_num IS NOT NULL;
