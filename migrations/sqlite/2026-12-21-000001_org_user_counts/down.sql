DROP TRIGGER IF EXISTS users_count_delete;
DROP TRIGGER IF EXISTS users_count_insert;
DROP TABLE IF EXISTS org_user_counts;
