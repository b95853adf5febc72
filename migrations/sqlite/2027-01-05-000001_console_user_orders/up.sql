-- The console's users list sorts by creation (newest first by default), user name and
-- display name, a page at a time. Each order has an index the planners walk instead of
-- sorting the organization's users: the key expressions are written exactly as
-- `store::Order`'s constructors write them (a missing name sorts as '').
CREATE INDEX users_org_created ON users(org_id, created_at, id);
CREATE INDEX users_org_login_order ON users(org_id, (COALESCE(user_name_lower, '')), id);
CREATE INDEX users_org_display_order ON users(org_id, (COALESCE(display_name_lower, '')), id);
