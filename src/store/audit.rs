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

/// Record many entries in multi-row INSERTs (500 a statement), inside the transaction that
/// made the changes.
pub fn record_many(conn: &mut DbConn, entries: &[NewEntry<'_>]) -> StoreResult<()> {
    let t = now();
    for chunk in entries.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    audit_entries::id.eq(new_id()),
                    audit_entries::org_id.eq(e.org_id.as_str()),
                    audit_entries::user_id.eq(e.user_id),
                    audit_entries::key.eq(e.key),
                    audit_entries::result.eq(e.result),
                    audit_entries::actor.eq(e.actor),
                    audit_entries::dialect.eq(e.dialect),
                    audit_entries::payload.eq(e.payload.to_string()),
                    audit_entries::created_at.eq(t),
                )
            })
            .collect();
        super::on_backend!(&mut *conn, c => diesel::insert_into(audit_entries::table)
            .values(rows)
            .execute(c))?;
    }
    Ok(())
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

/// Which entries a listing shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user_id: Option<i64>,
    pub key: Option<String>,
    /// Made with this credential (any dialect).
    pub credential: Option<String>,
    /// Inclusive bounds on `created_at`.
    pub from: Option<chrono::NaiveDateTime>,
    pub to: Option<chrono::NaiveDateTime>,
}

/// The dialect prefixes of `actor` (`dialect:credential`).
const DIALECTS: [&str; 7] = ["scim", "logto", "domo", "sumo", "adobe", "admin", "console"];

fn entry(org: &OrgId, row: Row) -> AuditEntry {
    let (id, _org, user_id, key, result, actor, dialect, payload, created_at) = row;
    AuditEntry {
        id,
        org_id: org.clone(),
        user_id,
        key,
        result,
        actor,
        dialect,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        created_at,
    }
}

/// Entries of one organization, newest first, optionally for one user.
pub fn list(
    conn: &mut DbConn,
    org: &OrgId,
    user_id: Option<i64>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<AuditEntry>, i64)> {
    search(
        conn,
        org,
        &Filter {
            user_id,
            ..Default::default()
        },
        offset,
        limit,
    )
}

/// Entries of one organization matching `f`, newest first, and how many match.
pub fn search(
    conn: &mut DbConn,
    org: &OrgId,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<AuditEntry>, i64)> {
    let filtered = || {
        let mut q = audit_entries::table
            .filter(audit_entries::org_id.eq(org.as_str().to_string()))
            .into_boxed();
        if let Some(u) = f.user_id {
            q = q.filter(audit_entries::user_id.eq(u));
        }
        if let Some(k) = &f.key {
            q = q.filter(audit_entries::key.eq(k.clone()));
        }
        if let Some(c) = &f.credential {
            let actors: Vec<String> = DIALECTS.iter().map(|d| format!("{d}:{c}")).collect();
            q = q.filter(audit_entries::actor.eq_any(actors));
        }
        if let Some(t) = f.from {
            q = q.filter(audit_entries::created_at.ge(t));
        }
        if let Some(t) = f.to {
            q = q.filter(audit_entries::created_at.le(t));
        }
        q
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let rows: Vec<Row> = filtered()
        .order((audit_entries::created_at.desc(), audit_entries::id.desc()))
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((rows.into_iter().map(|r| entry(org, r)).collect(), total))
}

/// One entry of the organization.
pub fn get(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<AuditEntry> {
    let row: Row = audit_entries::table
        .filter(audit_entries::org_id.eq(org.as_str()))
        .filter(audit_entries::id.eq(id))
        .first(conn)?;
    Ok(entry(org, row))
}
