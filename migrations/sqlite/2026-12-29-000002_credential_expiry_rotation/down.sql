DROP INDEX credentials_previous_secret_hash;
ALTER TABLE credentials DROP COLUMN previous_expires_at;
ALTER TABLE credentials DROP COLUMN previous_secret_hash;
ALTER TABLE credentials DROP COLUMN expires_at;
