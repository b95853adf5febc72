//! Reading the audit trail (each change writes its entry in its own transaction:
//! `directory::audit`'s sibling `fn audit` in `mod.rs`). The store's reads serve as they
//! are: `Filter` (a user, a key, a credential, a dialect, a time range), `search` (two
//! statements), `list`, `recent` and `per_day` (one statement each), `get`.

pub use crate::store::audit::{get, list, names, per_day, recent, search, Filter, Names};

/// Record what happened at the console's door — a sign-in (`result` `Success`, `Failure`
/// or `Throttled`), a sign-out — as an audit entry of `org` with no change event (nothing in
/// the directory changed). `user_id` is the user it concerns, when known.
pub fn record_console(
    conn: &mut crate::store::DbConn,
    org: &crate::domain::OrgId,
    user_id: Option<i64>,
    key: &str,
    result: &str,
    actor: &str,
    payload: serde_json::Value,
) -> crate::store::StoreResult<()> {
    crate::store::audit::record_many(
        conn,
        &[crate::store::audit::NewEntry {
            org_id: org,
            user_id,
            key,
            result,
            actor,
            dialect: "console",
            payload,
        }],
    )
}
