//! Reading the identities linked to users (Logto's social and enterprise identities). A
//! caller has read the user first, in its organization; identities are keyed by user id.

use std::collections::HashMap;

use crate::domain::Identity;
use crate::store::{self, DbConn, StoreResult};

/// A user's identities, by target: one statement.
pub fn of_user(conn: &mut DbConn, user_id: i64) -> StoreResult<Vec<Identity>> {
    store::identities::of_user(conn, user_id)
}

/// The identities of a page of users, by user: one statement whatever the page's size.
pub fn of_users(conn: &mut DbConn, user_ids: &[i64]) -> StoreResult<HashMap<i64, Vec<Identity>>> {
    store::identities::of_users(conn, user_ids)
}
