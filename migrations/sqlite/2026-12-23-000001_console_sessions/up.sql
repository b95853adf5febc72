-- Web console sessions (/console): one row per signed-in browser. The cookie carries a random
-- token; only its SHA-256 is stored. A session belongs to an organization and stands for
-- either an admin user (user_id) or an API token with orgs:admin (credential_id). Rows go
-- with their user or organization; sign-out deletes the row, so a session ends on every
-- instance at once. idle timeout: last_seen_at; absolute timeout: created_at.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    credential_id TEXT,
    label TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_org ON console_sessions(org_id);
CREATE INDEX console_sessions_user ON console_sessions(user_id);
