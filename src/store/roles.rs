//! Roles of an organization (the `roles` table), as users hold them (`user_roles`). Writes
//! that give a user a role go through `users::ensure_role`.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

// A role's row is the dump format's: one column list for both.
use super::portable::RoleRow;
use super::raw::{Bind, Raw};
use super::schema::roles;
use super::{new_id, now, DbConn, MultiConn, StoreError, StoreResult};
use crate::domain::{OrgId, Role, RoleData};

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

/// The capabilities of the roles of `org` named `names` (case-insensitively; names of no
/// role add nothing): one statement.
pub fn capabilities_of(
    conn: &mut DbConn,
    org: &OrgId,
    names: &[String],
) -> StoreResult<Vec<String>> {
    if names.is_empty() {
        return Ok(vec![]);
    }
    let keys: Vec<String> = names.iter().map(|n| n.trim().to_lowercase()).collect();
    let rows: Vec<String> = super::on_backend!(conn, c => roles::table
        .filter(roles::org_id.eq(org.as_str()))
        .filter(roles::name_lower.eq_any(&keys))
        .select(roles::capabilities)
        .load::<String>(c))?;
    Ok(rows
        .iter()
        .flat_map(|r| serde_json::from_str::<Vec<String>>(r).unwrap_or_default())
        .collect())
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
    .load(conn.db())?;
    let mut out: HashMap<i64, HashMap<String, i64>> = HashMap::new();
    for (uid, rid, name) in rows {
        out.entry(uid).or_default().insert(name, rid);
    }
    Ok(out)
}

fn role_of(r: RoleRow) -> StoreResult<Role> {
    Ok(Role {
        id: r.id,
        org_id: OrgId::parse(&r.org_id).map_err(StoreError::Conflict)?,
        name: r.name,
        description: r.description,
        filter_predicate: r.filter_predicate,
        capabilities: serde_json::from_str(&r.capabilities).unwrap_or_default(),
        system_defined: r.system_defined,
        created_by: r.created_by,
        modified_by: r.modified_by,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

fn name_conflict(e: diesel::result::Error, name: &str) -> StoreError {
    StoreError::conflict_as(e, || format!("a role named {name:?} already exists"))
}

/// Role `id` of `org`.
pub fn get(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<Role> {
    let row: RoleRow = super::on_backend!(conn, c => roles::table
        .filter(roles::org_id.eq(org.as_str()))
        .filter(roles::id.eq(id))
        .select(RoleRow::as_select())
        .first(c))?;
    role_of(row)
}

/// How a role listing is ordered; either way a page starts after the last row of the one
/// before (keyset: role names are unique per organization, ids are unique).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleOrder {
    /// By id; after this id.
    Id(Option<i64>),
    /// By lower-cased name; after this lower-cased name.
    Name(Option<String>),
}

/// A page of `org`'s roles, optionally only the one named `name` (case-insensitively).
pub fn page(
    conn: &mut DbConn,
    org: &OrgId,
    name: Option<&str>,
    order: &RoleOrder,
    limit: i64,
) -> StoreResult<Vec<Role>> {
    let mut q = roles::table
        .filter(roles::org_id.eq(org.as_str().to_string()))
        .select(RoleRow::as_select())
        .into_boxed();
    if let Some(n) = name {
        q = q.filter(roles::name_lower.eq(n.to_lowercase()));
    }
    q = match order {
        RoleOrder::Id(after) => {
            if let Some(a) = after {
                q = q.filter(roles::id.gt(*a));
            }
            q.order(roles::id.asc())
        }
        RoleOrder::Name(after) => {
            if let Some(a) = after {
                q = q.filter(roles::name_lower.gt(a.clone()));
            }
            q.order(roles::name_lower.asc())
        }
    };
    q.limit(limit)
        .load::<RoleRow>(conn.db())?
        .into_iter()
        .map(role_of)
        .collect()
}

/// The ids of the users holding each of `role_ids`, in id order: one statement.
pub fn holders(conn: &mut DbConn, role_ids: &[i64]) -> StoreResult<HashMap<i64, Vec<i64>>> {
    let head = "SELECT ur.role_id, ur.user_id FROM user_roles ur WHERE ur.role_id";
    let rows = super::raw::id_pairs(conn, head, role_ids, " ORDER BY ur.role_id, ur.user_id")?;
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for (rid, uid) in rows {
        out.entry(rid).or_default().push(uid);
    }
    Ok(out)
}

/// Insert a role; `Conflict` when the organization has one of that name. Call inside a
/// write transaction.
pub fn insert(conn: &mut DbConn, org: &OrgId, data: &RoleData, actor: &str) -> StoreResult<Role> {
    let t = now();
    let row = RoleRow {
        id: new_id(),
        org_id: org.as_str().to_string(),
        name: data.name.clone(),
        name_lower: data.name.to_lowercase(),
        description: data.description.clone(),
        filter_predicate: data.filter_predicate.clone(),
        capabilities: serde_json::to_string(&data.capabilities).unwrap_or_else(|_| "[]".into()),
        system_defined: false,
        created_by: Some(actor.to_string()),
        modified_by: Some(actor.to_string()),
        version: 1,
        created_at: t,
        updated_at: t,
    };
    diesel::insert_into(roles::table)
        .values(&row)
        .execute(conn.db())
        .map_err(|e| name_conflict(e, &data.name))?;
    get(conn, org, row.id)
}

/// Read role `id` of `org` for changing it (PostgreSQL: row locked until the transaction ends).
pub fn lock(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<Role> {
    let q = roles::table
        .filter(roles::org_id.eq(org.as_str()))
        .filter(roles::id.eq(id));
    let row: RoleRow = match conn.db() {
        MultiConn::Pg(c) => q.for_no_key_update().first(c)?,
        MultiConn::Sqlite(c) => q.first(c)?,
    };
    role_of(row)
}

/// Write `data` over `current` (read with `lock`), version bumped.
pub fn write(conn: &mut DbConn, current: &Role, data: &RoleData, actor: &str) -> StoreResult<Role> {
    let caps = serde_json::to_string(&data.capabilities).unwrap_or_else(|_| "[]".into());
    diesel::update(roles::table.filter(roles::id.eq(current.id)))
        .set((
            roles::name.eq(&data.name),
            roles::name_lower.eq(data.name.to_lowercase()),
            roles::description.eq(&data.description),
            roles::filter_predicate.eq(&data.filter_predicate),
            roles::capabilities.eq(caps),
            roles::modified_by.eq(actor),
            roles::version.eq(current.version + 1),
            roles::updated_at.eq(now()),
        ))
        .execute(conn.db())
        .map_err(|e| name_conflict(e, &data.name))?;
    get(conn, &current.org_id, current.id)
}

/// Bump the versions of role `role_id`'s holders (a renamed or deleted role changes what
/// their SCIM `roles` show, so their ETags must change).
pub fn bump_holders(conn: &mut DbConn, role_id: i64, actor: &str) -> StoreResult<usize> {
    use super::schema::{user_roles, users};
    let holders = user_roles::table
        .filter(user_roles::role_id.eq(role_id))
        .select(user_roles::user_id);
    Ok(
        diesel::update(users::table.filter(users::id.eq_any(holders)))
            .set((
                users::version.eq(users::version + 1),
                users::updated_at.eq(now()),
                users::modified_by.eq(actor),
            ))
            .execute(conn.db())?,
    )
}

/// Delete a role; its holders lose it (their versions bumped, so SCIM ETags change).
pub fn delete(conn: &mut DbConn, role: &Role, actor: &str) -> StoreResult<()> {
    bump_holders(conn, role.id, actor)?;
    diesel::delete(roles::table.filter(roles::id.eq(role.id))).execute(conn.db())?;
    Ok(())
}
