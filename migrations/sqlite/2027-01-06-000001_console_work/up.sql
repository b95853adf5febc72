-- Work the web console keeps between requests, in the database so that every instance on it
-- answers for it (behind a load balancer that is not sticky, the next request may reach
-- another instance): a bulk job's progress (kind 'job', state running, done or failed,
-- written a batch at a time by the instance running it) and a CSV import's preview (kind
-- 'import', state previewed or imported: the judged rows in `body`; the confirmation moves
-- the state from previewed to imported in the transaction that writes the users, so a
-- second confirmation, on any instance, writes nothing). A row belongs to its organization
-- and to the admin (`user:<id>`) or token whose session made it (`owner`), and is deleted
-- by the pruner an hour after its last write (`updated_at`).
CREATE TABLE console_work (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    total BIGINT NOT NULL,
    done BIGINT NOT NULL,
    skipped TEXT NOT NULL,
    skipped_count BIGINT NOT NULL,
    message TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX console_work_updated ON console_work(updated_at);
CREATE INDEX console_work_org ON console_work(org_id);
