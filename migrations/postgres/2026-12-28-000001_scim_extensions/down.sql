DROP TABLE group_values;
ALTER TABLE groups DROP COLUMN has_extensions;
DROP INDEX user_values_num;
ALTER TABLE user_values DROP COLUMN value_num;
ALTER TABLE user_values DROP COLUMN kind;
ALTER TABLE organizations DROP COLUMN schemas_version;
DROP TABLE scim_schemas;
