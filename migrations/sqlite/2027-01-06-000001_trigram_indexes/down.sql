DROP TRIGGER user_emails_trgm_update;
DROP TRIGGER user_emails_trgm_delete;
DROP TRIGGER user_emails_trgm_insert;
DROP TABLE user_emails_trgm;
DROP TRIGGER users_trgm_update;
DROP TRIGGER users_trgm_delete;
DROP TRIGGER users_trgm_insert;
DROP TABLE users_trgm;
