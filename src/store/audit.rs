//! The audit trail: every change to a user, by whom, through which dialect.

use diesel::prelude::*;

use super::schema::audit_entries;
use super::{new_id, now, DbConn, StoreResult};
use crate::domain::{AuditEntry, OrgId};

pub struct NewEntry<'a> {
    pub org_id: &'a OrgId,
    pub user_id: Option<i64>,
    pub key: &'a str,
    pub result: &'a str,
    pub actor: &'a str,
    pub dialect: &'a str,
    pub payload: serde_json::Value,
}

/// Record an entry; call it inside the transaction that made the change.
pub fn record(conn: &mut DbConn, e: NewEntry<'_>) -> StoreResult<i64> {
    let id = new_id();
    diesel::insert_into(audit_entries::table)
        .values((
            audit_entries::id.eq(id),
            audit_entries::org_id.eq(e.org_id.as_str()),
            audit_entries::user_id.eq(e.user_id),
            audit_entries::key.eq(e.key),
            audit_entries::result.eq(e.result),
            audit_entries::actor.eq(e.actor),
            audit_entries::dialect.eq(e.dialect),
            audit_entries::payload.eq(e.payload.to_string()),
            audit_entries::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(id)
}

type Row = (
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
    String,
    String,
    chrono::NaiveDateTime,
);

/// Entries of one organization, newest first, optionally for one user.
pub fn list(
    conn: &mut DbConn,
    org: &OrgId,
    user_id: Option<i64>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<AuditEntry>, i64)> {
    let filtered = || {
        let mut q = audit_entries::table
            .filter(audit_entries::org_id.eq(org.as_str().to_string()))
            .into_boxed();
        if let Some(u) = user_id {
            q = q.filter(audit_entries::user_id.eq(u));
        }
        q
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let rows: Vec<Row> = filtered()
        .order((audit_entries::created_at.desc(), audit_entries::id.desc()))
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    let entries = rows
        .into_iter()
        .map(
            |(id, _org, user_id, key, result, actor, dialect, payload, created_at)| AuditEntry {
                id,
                org_id: org.clone(),
                user_id,
                key,
                result,
                actor,
                dialect,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                created_at,
            },
        )
        .collect();
    Ok((entries, total))
}
