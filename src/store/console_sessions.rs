//! Web console sessions: a row per signed-in browser, keyed by the SHA-256 of the cookie's
//! random token (the token itself is never stored). See `auth::session` for their rules.

use diesel::prelude::*;

use super::raw::{Bind, Raw};
use super::schema::console_sessions;
use super::{now, DbConn, StoreResult};
use crate::domain::OrgId;

/// Who a new session stands for.
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub org_id: &'a OrgId,
    pub user_id: Option<i64>,
    pub credential_id: Option<&'a str>,
    /// What the console shows as the signed-in name (a user name, or a token's id).
    pub label: &'a str,
}

pub fn insert(conn: &mut DbConn, s: NewSession<'_>) -> StoreResult<()> {
    let t = now();
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::token_hash.eq(s.token_hash),
            console_sessions::org_id.eq(s.org_id.as_str()),
            console_sessions::user_id.eq(s.user_id),
            console_sessions::credential_id.eq(s.credential_id),
            console_sessions::label.eq(s.label),
            console_sessions::created_at.eq(t),
            console_sessions::last_seen_at.eq(t),
        ))
        .execute(conn.db())?;
    Ok(())
}

/// A session as found, with what is needed to decide whether it still lets its holder in.
#[derive(Debug, Clone)]
pub struct Found {
    pub org_id: String,
    pub user_id: Option<i64>,
    pub credential_id: Option<String>,
    pub label: String,
    pub created_at: chrono::NaiveDateTime,
    pub last_seen_at: chrono::NaiveDateTime,
    /// A user session: the user is active and holds a role with the `orgs:admin` capability.
    pub user_is_admin: bool,
    /// A token session: the token's scopes, when it is not revoked.
    pub credential_scopes: Option<String>,
    /// The organization's `schemas_version` (`store::schemas`).
    pub schemas_version: i64,
}

type FoundRow = (
    String,
    Option<i64>,
    Option<String>,
    String,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
    bool,
    Option<String>,
    i64,
);

/// The session whose token hashes to `token_hash`, with its holder's standing: one statement.
pub fn find(conn: &mut DbConn, token_hash: &str) -> StoreResult<Option<Found>> {
    use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
    let rows: Vec<FoundRow> = Raw::sql(
        "SELECT s.org_id, s.user_id, s.credential_id, s.label, s.created_at, s.last_seen_at, \
         CASE WHEN s.user_id IS NULL THEN FALSE ELSE (\
         EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id AND u.org_id = s.org_id \
         AND u.active = TRUE) AND \
         EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
         WHERE ur.user_id = s.user_id AND r.org_id = s.org_id \
         AND r.capabilities LIKE '%\"orgs:admin\"%')) END, \
         (SELECT c.scopes FROM credentials c WHERE c.id = s.credential_id \
         AND c.org_id = s.org_id AND c.revoked_at IS NULL), \
         (SELECT o.schemas_version FROM organizations o WHERE o.id = s.org_id) \
         FROM console_sessions s WHERE s.token_hash = ",
    )
    .bind(Bind::Text(token_hash.to_string()))
    .query::<(
        Text,
        Nullable<BigInt>,
        Nullable<Text>,
        Text,
        Timestamp,
        Timestamp,
        Bool,
        Nullable<Text>,
        BigInt,
    )>()
    .load(conn.db())?;
    Ok(rows.into_iter().next().map(|r| Found {
        org_id: r.0,
        user_id: r.1,
        credential_id: r.2,
        label: r.3,
        created_at: r.4,
        last_seen_at: r.5,
        user_is_admin: r.6,
        credential_scopes: r.7,
        schemas_version: r.8,
    }))
}

/// Note that the session was used now.
pub fn touch(conn: &mut DbConn, token_hash: &str) -> StoreResult<()> {
    diesel::update(console_sessions::table.filter(console_sessions::token_hash.eq(token_hash)))
        .set(console_sessions::last_seen_at.eq(now()))
        .execute(conn.db())?;
    Ok(())
}

/// End a session (sign-out, or found expired). `true` when there was one.
pub fn delete(conn: &mut DbConn, token_hash: &str) -> StoreResult<bool> {
    let n =
        diesel::delete(console_sessions::table.filter(console_sessions::token_hash.eq(token_hash)))
            .execute(conn.db())?;
    Ok(n > 0)
}

/// End every session of a user (their password was reset, or they were suspended).
pub fn delete_for_user(conn: &mut DbConn, org: &OrgId, user_id: i64) -> StoreResult<usize> {
    Ok(diesel::delete(
        console_sessions::table
            .filter(console_sessions::org_id.eq(org.as_str()))
            .filter(console_sessions::user_id.eq(user_id)),
    )
    .execute(conn.db())?)
}

/// A session in its holder's list.
#[derive(Debug, Clone, Queryable)]
pub struct Listed {
    pub token_hash: String,
    pub created_at: chrono::NaiveDateTime,
    pub last_seen_at: chrono::NaiveDateTime,
}

impl Listed {
    /// How the list names it: the start of its key (a hash of the secret, so it tells
    /// nothing about the cookie).
    pub fn id(&self) -> &str {
        &self.token_hash[..self.token_hash.len().min(12)]
    }
}

/// The sessions of one holder: user `user_id`, or (without one) token `credential_id`.
pub fn of_holder(
    conn: &mut DbConn,
    org: &OrgId,
    user_id: Option<i64>,
    credential_id: Option<&str>,
) -> StoreResult<Vec<Listed>> {
    let q = console_sessions::table
        .filter(console_sessions::org_id.eq(org.as_str()))
        .select((
            console_sessions::token_hash,
            console_sessions::created_at,
            console_sessions::last_seen_at,
        ))
        .order(console_sessions::created_at.desc())
        .into_boxed();
    let q = match (user_id, credential_id) {
        (Some(u), _) => q.filter(console_sessions::user_id.eq(u)),
        (None, Some(c)) => q
            .filter(console_sessions::user_id.is_null())
            .filter(console_sessions::credential_id.eq(c.to_string())),
        (None, None) => return Ok(vec![]),
    };
    Ok(q.limit(100).load(conn.db())?)
}

/// End every session of one holder (see `of_holder`).
pub fn delete_of_holder(
    conn: &mut DbConn,
    org: &OrgId,
    user_id: Option<i64>,
    credential_id: Option<&str>,
) -> StoreResult<usize> {
    match (user_id, credential_id) {
        (Some(u), _) => delete_for_user(conn, org, u),
        (None, Some(c)) => Ok(diesel::delete(
            console_sessions::table
                .filter(console_sessions::org_id.eq(org.as_str()))
                .filter(console_sessions::user_id.is_null())
                .filter(console_sessions::credential_id.eq(c)),
        )
        .execute(conn.db())?),
        (None, None) => Ok(0),
    }
}
