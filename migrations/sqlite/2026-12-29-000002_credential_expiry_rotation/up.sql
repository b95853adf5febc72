-- Credentials that expire and rotate (issue 29, point 9; docs/credentials.md).
--
-- expires_at: after it the credential answers 401 like a revoked one (NULL: never).
-- previous_secret_hash / previous_expires_at: after a rotation the old secret keeps working
-- until previous_expires_at (the grace period the admin chose), so an identity provider can
-- be switched to the new one without a failed sync. A lookup by the current secret's hash
-- stays the one indexed statement; the previous hash is looked up only when that misses.
ALTER TABLE credentials ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE credentials ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE credentials ADD COLUMN previous_expires_at TIMESTAMP;
CREATE INDEX credentials_previous_secret_hash ON credentials(previous_secret_hash)
    WHERE previous_secret_hash IS NOT NULL;
