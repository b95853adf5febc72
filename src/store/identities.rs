//! A user's identities at external targets (Logto's social/enterprise identities): one row
//! per user and target.

use diesel::prelude::*;

use super::schema::identities;
use super::{now, DbConn, StoreResult};
use crate::domain::{Identity, User};

/// Insert or replace the identity at `identity.target`; whether it was inserted.
pub fn upsert(conn: &mut DbConn, user: &User, identity: &Identity) -> StoreResult<bool> {
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
    .execute(conn.db())?;
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
            .execute(conn.db())?;
    }
    Ok(updated == 0)
}

/// Remove the identity at `target`; whether there was one.
pub fn delete(conn: &mut DbConn, user_id: i64, target: &str) -> StoreResult<bool> {
    Ok(diesel::delete(
        identities::table
            .filter(identities::user_id.eq(user_id))
            .filter(identities::target.eq(target)),
    )
    .execute(conn.db())?
        > 0)
}

pub fn of_user(conn: &mut DbConn, user_id: i64) -> StoreResult<Vec<Identity>> {
    Ok(of_users(conn, &[user_id])?
        .remove(&user_id)
        .unwrap_or_default())
}

/// The identities of several users in one statement (the ids bound as one parameter), by
/// user, each user's ordered by target.
pub fn of_users(
    conn: &mut DbConn,
    user_ids: &[i64],
) -> StoreResult<std::collections::HashMap<i64, Vec<Identity>>> {
    use diesel::sql_types::{BigInt, Text};
    let mut out: std::collections::HashMap<i64, Vec<Identity>> = Default::default();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, String, String, String)> = super::raw::Raw::sql(
        "SELECT user_id, target, external_user_id, details FROM identities WHERE user_id",
    )
    .in_ids(user_ids)
    .push(" ORDER BY user_id, target")
    .query::<(BigInt, Text, Text, Text)>()
    .load(conn.db())?;
    for (user_id, target, external_user_id, details) in rows {
        out.entry(user_id).or_default().push(Identity {
            target,
            external_user_id,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        });
    }
    Ok(out)
}
