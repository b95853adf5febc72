//! Webhooks (Logto's `/api/hooks`): their configuration and their delivery logs. The
//! deliveries themselves are the event deliverer's (`events/`).

use crate::domain::OrgId;
use crate::store::{self, DbConn, StoreResult};

/// A webhook and a line of its delivery log; epoch milliseconds now (a hook's times).
pub use crate::store::events::{now_ms, Hook, HookLog};

/// The organization's hooks, oldest first, `limit` from `offset`; and how many there are.
pub fn list(
    conn: &mut DbConn,
    org: &OrgId,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<Hook>, i64)> {
    store::events::hooks(conn, org, offset, limit)
}

/// One hook of the organization (`NotFound` for another's).
pub fn get(conn: &mut DbConn, org: &OrgId, id: &str) -> StoreResult<Hook> {
    store::events::hook(conn, org, id)
}

pub fn insert(conn: &mut DbConn, h: &Hook) -> StoreResult<()> {
    store::events::insert_hook(conn, h)
}

/// Write a hook's fields (not its signing key).
pub fn update(conn: &mut DbConn, h: &Hook) -> StoreResult<()> {
    store::events::update_hook(conn, h)
}

/// Delete a hook with its pending deliveries and logs.
pub fn delete(conn: &mut DbConn, org: &OrgId, id: &str) -> StoreResult<()> {
    store::events::delete_hook(conn, org, id)
}

pub fn set_signing_key(conn: &mut DbConn, org: &OrgId, id: &str, key: &str) -> StoreResult<()> {
    store::events::set_signing_key(conn, org, id, key)
}

/// A hook's log entries since `since` (epoch ms), newest first, optionally of one key,
/// `limit` from `offset`; and how many there are.
pub fn logs(
    conn: &mut DbConn,
    hook_id: &str,
    since: i64,
    key: Option<&str>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<HookLog>, i64)> {
    store::events::logs(conn, hook_id, since, key, offset, limit)
}

/// Requests and successes of a hook since `since` (Logto's `executionStats`).
pub fn stats(conn: &mut DbConn, hook_id: &str, since: i64) -> StoreResult<(i64, i64)> {
    store::events::hook_stats(conn, hook_id, since)
}
