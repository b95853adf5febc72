//! Roles of an organization (the `roles` table), as users hold them (`user_roles`). Writes
//! that give a user a role go through `users::ensure_role`.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::raw::{Bind, Raw};
use super::schema::roles;
use super::{DbConn, StoreResult};
use crate::domain::OrgId;

/// The id and stored name of the role of `org` named `name` (case-insensitively).
pub fn find_by_name(
    conn: &mut DbConn,
    org: &OrgId,
    name: &str,
) -> StoreResult<Option<(i64, String)>> {
    let key = name.to_lowercase();
    Ok(super::on_backend!(conn, c => roles::table
        .filter(roles::org_id.eq(org.as_str()))
        .filter(roles::name_lower.eq(&key))
        .select((roles::id, roles::name))
        .first::<(i64, String)>(c)
        .optional())?)
}

/// The stored name of role `id` of `org`.
pub fn find_by_id(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<Option<String>> {
    Ok(super::on_backend!(conn, c => roles::table
        .filter(roles::org_id.eq(org.as_str()))
        .filter(roles::id.eq(id))
        .select(roles::name)
        .first::<String>(c)
        .optional())?)
}

/// The ids of the roles each of `user_ids` holds, by user and lower-cased role name: one
/// statement for a page of users.
pub fn ids_of_users(
    conn: &mut DbConn,
    org: &OrgId,
    user_ids: &[i64],
) -> StoreResult<HashMap<i64, HashMap<String, i64>>> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64, String)> = Raw::sql(
        "SELECT ur.user_id, r.id, r.name_lower FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
         WHERE ur.org_id = ",
    )
    .bind(Bind::Text(org.as_str().to_string()))
    .push(" AND ur.user_id")
    .in_ids(user_ids)
    .query::<(BigInt, BigInt, Text)>()
    .load(conn)?;
    let mut out: HashMap<i64, HashMap<String, i64>> = HashMap::new();
    for (uid, rid, name) in rows {
        out.entry(uid).or_default().insert(name, rid);
    }
    Ok(out)
}
