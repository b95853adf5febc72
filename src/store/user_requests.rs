//! Requests a user has yet to act on: a pending email change (Sumo Logic's
//! `email/requestChange`) and a password reset (`password/reset`). One of each kind per
//! user; a newer request replaces the older; an expired one is as good as none.

use diesel::prelude::*;

use super::schema::user_requests;
use super::{now, DbConn, StoreResult};
use crate::domain::OrgId;

pub const EMAIL_CHANGE: &str = "email_change";
pub const PASSWORD_RESET: &str = "password_reset";

/// A pending request: its row (the dump format's).
pub use super::portable::UserRequestRow as Pending;

/// Record a request of `kind` for user `user_id` (replacing an earlier one), valid for `ttl`.
/// Call inside a write transaction.
pub fn put(
    conn: &mut DbConn,
    org: &OrgId,
    user_id: i64,
    kind: &str,
    email: Option<&str>,
    actor: &str,
    ttl: chrono::Duration,
) -> StoreResult<Pending> {
    diesel::delete(
        user_requests::table
            .filter(user_requests::user_id.eq(user_id))
            .filter(user_requests::kind.eq(kind)),
    )
    .execute(conn.db())?;
    let t = now();
    let p = Pending {
        user_id,
        kind: kind.to_string(),
        org_id: org.as_str().to_string(),
        email: email.map(str::to_string),
        created_by: actor.to_string(),
        created_at: t,
        expires_at: t + ttl,
    };
    diesel::insert_into(user_requests::table)
        .values(&p)
        .execute(conn.db())?;
    Ok(p)
}

/// The unexpired request of `kind` for user `user_id` of `org`, if any.
pub fn get(
    conn: &mut DbConn,
    org: &OrgId,
    user_id: i64,
    kind: &str,
) -> StoreResult<Option<Pending>> {
    Ok(user_requests::table
        .filter(user_requests::user_id.eq(user_id))
        .filter(user_requests::kind.eq(kind))
        .filter(user_requests::org_id.eq(org.as_str()))
        .filter(user_requests::expires_at.gt(now()))
        .select(Pending::as_select())
        .first(conn.db())
        .optional()?)
}

/// Remove the request of `kind` for user `user_id`.
pub fn remove(conn: &mut DbConn, user_id: i64, kind: &str) -> StoreResult<()> {
    diesel::delete(
        user_requests::table
            .filter(user_requests::user_id.eq(user_id))
            .filter(user_requests::kind.eq(kind)),
    )
    .execute(conn.db())?;
    Ok(())
}
