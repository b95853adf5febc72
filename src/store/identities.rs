//! A user's identities at external targets (Logto's social/enterprise identities): one row
//! per user and target.

use diesel::prelude::*;

use super::schema::identities;
use super::{now, DbConn, StoreResult};
use crate::domain::{Identity, User};

/// Insert or replace the identity at `identity.target`.
pub fn upsert(conn: &mut DbConn, user: &User, identity: &Identity) -> StoreResult<()> {
    let t = now();
    let details = identity.details.to_string();
    let updated = diesel::update(
        identities::table
            .filter(identities::user_id.eq(user.id))
            .filter(identities::target.eq(&identity.target)),
    )
    .set((
        identities::external_user_id.eq(&identity.external_user_id),
        identities::details.eq(&details),
        identities::updated_at.eq(t),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(identities::table)
            .values((
                identities::user_id.eq(user.id),
                identities::target.eq(&identity.target),
                identities::org_id.eq(user.org_id.as_str()),
                identities::external_user_id.eq(&identity.external_user_id),
                identities::details.eq(&details),
                identities::created_at.eq(t),
                identities::updated_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Remove the identity at `target`; whether there was one.
pub fn delete(conn: &mut DbConn, user_id: i64, target: &str) -> StoreResult<bool> {
    Ok(diesel::delete(
        identities::table
            .filter(identities::user_id.eq(user_id))
            .filter(identities::target.eq(target)),
    )
    .execute(conn)?
        > 0)
}

pub fn of_user(conn: &mut DbConn, user_id: i64) -> StoreResult<Vec<Identity>> {
    let rows: Vec<(String, String, String)> = identities::table
        .filter(identities::user_id.eq(user_id))
        .select((
            identities::target,
            identities::external_user_id,
            identities::details,
        ))
        .order(identities::target.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(target, external_user_id, details)| Identity {
            target,
            external_user_id,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        })
        .collect())
}
