-- Selective SCIM filters on the attributes identity providers and admins filter by are served
-- by an index, not a scan of the organization (docs/benchmarks.md, "Filters at scale").
-- caseExact=false columns without a lower-cased twin compare as lower(column) (store::
-- filter_sql), so their indexes are on that expression; `eq` uses them, `sw` as a range.
-- Partial (the filter's guard says the column is set): a user without the attribute costs
-- no index entry, so writes of sparse attributes stay as cheap as before.
CREATE INDEX users_org_display_name ON users(org_id, display_name_lower) WHERE display_name_lower IS NOT NULL;
CREATE INDEX users_org_title ON users(org_id, lower(title)) WHERE title IS NOT NULL;
CREATE INDEX users_org_department ON users(org_id, lower(department)) WHERE department IS NOT NULL;
CREATE INDEX users_org_name_given ON users(org_id, lower(name_given)) WHERE name_given IS NOT NULL;
CREATE INDEX users_org_name_family ON users(org_id, lower(name_family)) WHERE name_family IS NOT NULL;
CREATE INDEX users_org_name_formatted ON users(org_id, lower(name_formatted)) WHERE name_formatted IS NOT NULL;
CREATE INDEX users_org_employee_number ON users(org_id, lower(employee_number)) WHERE employee_number IS NOT NULL;
