//! Reading the audit trail (each change writes its entry in its own transaction:
//! `directory::audit`'s sibling `fn audit` in `mod.rs`).

use crate::domain::{AuditEntry, OrgId};
use crate::store::{self, DbConn, StoreResult};

/// Which entries a listing shows: a user, a key, a credential, a dialect, a time range.
pub use crate::store::audit::Filter;

/// Entries of the organization matching `f`, newest first, `limit` from `offset`; and how
/// many match: two statements.
pub fn search(
    conn: &mut DbConn,
    org: &OrgId,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<AuditEntry>, i64)> {
    store::audit::search(conn, org, f, offset, limit)
}

/// Entries of the organization, newest first, optionally of one user; and how many.
pub fn list(
    conn: &mut DbConn,
    org: &OrgId,
    user_id: Option<i64>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<AuditEntry>, i64)> {
    store::audit::list(conn, org, user_id, offset, limit)
}

/// The `limit` newest entries (no count): one statement.
pub fn recent(conn: &mut DbConn, org: &OrgId, limit: i64) -> StoreResult<Vec<AuditEntry>> {
    store::audit::recent(conn, org, limit)
}

/// How many entries the organization has on each of the `days` days (UTC) ending with
/// `last`, oldest first: one statement.
pub fn per_day(
    conn: &mut DbConn,
    org: &OrgId,
    last: chrono::NaiveDate,
    days: u32,
) -> StoreResult<Vec<i64>> {
    store::audit::per_day(conn, org, last, days)
}

/// One entry of the organization (`NotFound` for another's).
pub fn get(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<AuditEntry> {
    store::audit::get(conn, org, id)
}
