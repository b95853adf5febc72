DROP TRIGGER IF EXISTS users_count_delete ON users;
DROP TRIGGER IF EXISTS users_count_insert ON users;
DROP FUNCTION IF EXISTS users_count_changed();
DROP TABLE IF EXISTS org_user_counts;
