-- The extension stays: something else in the database may use it.
DROP INDEX IF EXISTS user_values_trgm_emails;
DROP INDEX IF EXISTS users_trgm_department;
DROP INDEX IF EXISTS users_trgm_title;
DROP INDEX IF EXISTS users_trgm_external_id;
DROP INDEX IF EXISTS users_trgm_name_formatted;
DROP INDEX IF EXISTS users_trgm_name_family;
DROP INDEX IF EXISTS users_trgm_name_given;
DROP INDEX IF EXISTS users_trgm_display_name;
DROP INDEX IF EXISTS users_trgm_user_name;
