-- The change-event log (docs/events.md). Every committed change of a user, group,
-- membership, role or organization writes one row here in its own transaction, with
-- seq NULL; the sequencer (one at a time: an advisory lock on PostgreSQL, the write lock on
-- SQLite) then gives committed rows their per-organization seq in commit-visible order, so
-- a reader of "seq > N" never skips a row that commits late. Times are epoch milliseconds.
CREATE TABLE events (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    seq BIGINT,
    type TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    dialect TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX events_org_seq ON events(org_id, seq);
CREATE INDEX events_unsequenced ON events(pos) WHERE seq IS NULL;

-- The last seq given out in each organization.
CREATE TABLE event_counters (
    org_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);

-- Webhooks in Logto's shape. events: a JSON array of event names.
CREATE TABLE hooks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    events TEXT NOT NULL,
    url TEXT NOT NULL,
    headers TEXT NOT NULL DEFAULT '{}',
    retries BIGINT,
    signing_key TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX hooks_org ON hooks(org_id, created_at);

-- One row per (hook, event) to deliver, made by the sequencer in the transaction that
-- sequences the event. state: pending, delivered, failed. A deliverer leases a row by
-- moving lease_until forward with a compare-and-set; a killed instance's lease runs out.
CREATE TABLE hook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hook_id TEXT NOT NULL REFERENCES hooks(id) ON DELETE CASCADE,
    org_id TEXT NOT NULL,
    event_pos BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    resource TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX hook_deliveries_due ON hook_deliveries(next_at) WHERE state = 'pending';
CREATE INDEX hook_deliveries_order ON hook_deliveries(hook_id, resource, seq) WHERE state = 'pending';

-- Each delivery attempt, as Logto's TriggerHook.* log entries (recent-logs).
CREATE TABLE hook_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hook_id TEXT NOT NULL REFERENCES hooks(id) ON DELETE CASCADE,
    org_id TEXT NOT NULL,
    key TEXT NOT NULL,
    result TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX hook_logs_hook ON hook_logs(hook_id, created_at);
