-- Requests a user has yet to act on (Sumo Logic's email/requestChange and password/reset):
-- at most one of each kind per user, replaced by a newer one, void after expires_at.
-- Nothing is mailed; an operator applies a pending email change (README, Sumo Logic).
CREATE TABLE user_requests (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT COLLATE "C" NOT NULL,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email TEXT COLLATE "C",
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, kind)
);
CREATE INDEX user_requests_org ON user_requests(org_id, kind, expires_at);
