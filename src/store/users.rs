//! Users: one row in `users`, one row per multi-valued value in `user_values`, one row per
//! role in `user_roles`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

// A row is the dump format's: one column list for both.
use super::portable::UserRow as Row;
use super::portable::UserValueRow;
use super::schema::{roles, user_roles, user_values, users};
use super::{new_id, now, DbConn, MultiConn, StoreError, StoreResult};
use crate::domain::ext;
use crate::domain::rules::{self, UniqueField};
use crate::domain::{
    Address, Enterprise, GroupRef, MultiAttr, MultiValue, Name, OrgId, PasswordHash, RoleValue,
    User, UserData, VendorFields,
};

fn lower(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|s| s.to_lowercase())
}

/// The user's SCIM `userName`, lower-cased, as `user_name_lower` keeps it
/// (`domain::rules::login_key`): the stored login name, else the primary email, which SCIM
/// shows as the `userName`. So `userName` filters find such a user and the unique index
/// counts the email as taken: one person, one identity.
pub use crate::domain::rules::login_key;

fn json_or_empty(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::json!({}))
}

impl Row {
    fn into_user(
        self,
        values: Vec<(MultiAttr, MultiValue)>,
        roles: Vec<RoleValue>,
        extensions: crate::domain::Extensions,
    ) -> StoreResult<User> {
        Ok(User {
            id: self.id,
            org_id: OrgId::parse(&self.org_id).map_err(StoreError::Conflict)?,
            has_password: self.password_hash.is_some(),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            created_by: self.created_by,
            modified_by: self.modified_by,
            data: UserData {
                user_name: self.user_name,
                external_id: self.external_id,
                display_name: self.display_name,
                nick_name: self.nick_name,
                profile_url: self.profile_url,
                title: self.title,
                user_type: self.user_type,
                preferred_language: self.preferred_language,
                locale: self.locale,
                timezone: self.timezone,
                name: Name {
                    formatted: self.name_formatted,
                    family: self.name_family,
                    given: self.name_given,
                    middle: self.name_middle,
                    honorific_prefix: self.name_honorific_prefix,
                    honorific_suffix: self.name_honorific_suffix,
                },
                active: self.active,
                enterprise: Enterprise {
                    employee_number: self.employee_number,
                    cost_center: self.cost_center,
                    organization: self.organization,
                    division: self.division,
                    department: self.department,
                    manager: self.manager_id,
                },
                values,
                roles,
                extensions,
                vendor: VendorFields {
                    custom_data: json_or_empty(&self.custom_data),
                    profile_extra: json_or_empty(&self.profile_extra),
                    identity_type: self.identity_type,
                    domain: self.domain,
                    application_id: self.application_id,
                    is_locked: self.is_locked,
                    mfa_enabled: self.mfa_enabled,
                    last_sign_in_at: self.last_sign_in_at,
                },
            },
        })
    }
}

/// Who made a change, for `created_by` / `modified_by`.
pub struct Actor<'a>(pub &'a str);

/// A unique violation of the login key (`users_org_user_name`) as the field that collided:
/// the login name, or the email of a user without one (`rules::login_key_field`).
fn conflict(field: UniqueField) -> impl Fn(diesel::result::Error) -> StoreError {
    move |e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Taken(field),
        other => other,
    }
}

macro_rules! user_columns {
    ($d:expr) => {
        (
            users::user_name.eq(&$d.user_name),
            users::user_name_lower.eq(login_key($d)),
            users::external_id.eq(&$d.external_id),
            users::display_name.eq(&$d.display_name),
            users::display_name_lower.eq(lower(&$d.display_name)),
            users::nick_name.eq(&$d.nick_name),
            users::profile_url.eq(&$d.profile_url),
            users::title.eq(&$d.title),
            users::user_type.eq(&$d.user_type),
            users::preferred_language.eq(&$d.preferred_language),
            users::locale.eq(&$d.locale),
            users::timezone.eq(&$d.timezone),
            users::name_formatted.eq(&$d.name.formatted),
            users::name_family.eq(&$d.name.family),
            users::name_given.eq(&$d.name.given),
            users::name_middle.eq(&$d.name.middle),
            users::name_honorific_prefix.eq(&$d.name.honorific_prefix),
            users::name_honorific_suffix.eq(&$d.name.honorific_suffix),
            users::active.eq($d.active),
            users::employee_number.eq(&$d.enterprise.employee_number),
            users::cost_center.eq(&$d.enterprise.cost_center),
            users::organization.eq(&$d.enterprise.organization),
            users::division.eq(&$d.enterprise.division),
            users::department.eq(&$d.enterprise.department),
            users::manager_id.eq(&$d.enterprise.manager),
            users::custom_data.eq($d.vendor.custom_data.to_string()),
            users::profile_extra.eq($d.vendor.profile_extra.to_string()),
            users::identity_type.eq(&$d.vendor.identity_type),
            users::domain.eq(&$d.vendor.domain),
            users::application_id.eq(&$d.vendor.application_id),
            users::is_locked.eq($d.vendor.is_locked),
            users::mfa_enabled.eq($d.vendor.mfa_enabled),
            users::last_sign_in_at.eq($d.vendor.last_sign_in_at),
        )
    };
}

/// The value rows of user `id`: one per value of a multi-valued core attribute (at its
/// place among them), and the extension values (`domain::ext`).
fn value_rows(org: &OrgId, id: i64, data: &UserData) -> Vec<UserValueRow> {
    let blank = Address::default();
    let core = data.values.iter().enumerate().map(|(pos, (attr, v))| {
        let a = v.address.as_ref().unwrap_or(&blank);
        UserValueRow {
            user_id: id,
            attribute: attr.as_str().to_string(),
            position: pos as i32,
            org_id: org.as_str().to_string(),
            value: v.value.clone(),
            value_lower: lower(&v.value),
            display: v.display.clone(),
            type_: v.kind.clone(),
            is_primary: v.primary,
            formatted: a.formatted.clone(),
            street_address: a.street_address.clone(),
            locality: a.locality.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
            kind: None,
            value_num: None,
        }
    });
    let ext = ext::to_rows(&data.extensions)
        .into_iter()
        .map(|r| UserValueRow {
            user_id: id,
            value_lower: Some(r.value_lower()),
            attribute: r.attribute,
            position: r.position,
            org_id: org.as_str().to_string(),
            value: Some(r.value),
            display: None,
            type_: None,
            is_primary: None,
            formatted: None,
            street_address: None,
            locality: None,
            region: None,
            postal_code: None,
            country: None,
            kind: Some(r.kind.to_string()),
            value_num: r.value_num,
        });
    core.chain(ext).collect()
}

/// Insert value rows, 1,000 to a multi-row INSERT (17 parameters each).
fn insert_values(conn: &mut DbConn, rows: &[UserValueRow]) -> StoreResult<()> {
    for chunk in rows.chunks(1000) {
        super::on_backend!(&mut *conn, c => diesel::insert_into(user_values::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Write the value and role rows; returns the roles as a read will show them (the stored
/// name of a role that already existed, ordered by name: all were written at one instant).
fn write_values(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
    data: &UserData,
) -> StoreResult<Vec<RoleValue>> {
    insert_values(conn, &value_rows(org, id, data))?;
    write_roles(conn, org, id, &data.roles)
}

/// Write user `id`'s role rows (creating roles that do not exist yet); returns the roles as a
/// read will show them (stored names, ordered by name).
fn write_roles(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
    roles: &[RoleValue],
) -> StoreResult<Vec<RoleValue>> {
    let t = now();
    let mut stored = Vec::with_capacity(roles.len());
    for r in roles {
        let (role_id, name) = ensure_role(conn, org, &r.name)?;
        stored.push(RoleValue { name, ..r.clone() });
        diesel::insert_into(user_roles::table)
            .values((
                user_roles::user_id.eq(id),
                user_roles::role_id.eq(role_id),
                user_roles::org_id.eq(org.as_str()),
                user_roles::type_.eq(&r.kind),
                user_roles::display.eq(&r.display),
                user_roles::is_primary.eq(r.primary),
                user_roles::created_at.eq(t),
            ))
            .execute(conn.db())
            .map_err(|e| {
                StoreError::conflict_as(e, || format!("role {:?} is listed twice", r.name))
            })?;
    }
    stored.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(stored)
}

/// The id and stored name of role `name` in `org`, created if missing. Writers creating the
/// same new role at once both succeed (`ON CONFLICT DO NOTHING`, then read it).
pub fn ensure_role(conn: &mut DbConn, org: &OrgId, name: &str) -> StoreResult<(i64, String)> {
    use super::raw::{Bind, Raw};
    let key = name.to_lowercase();
    let find = |conn: &mut DbConn| {
        super::on_backend!(conn, c => roles::table
            .filter(roles::org_id.eq(org.as_str()))
            .filter(roles::name_lower.eq(&key))
            .select((roles::id, roles::name))
            .first::<(i64, String)>(c)
            .optional())
    };
    if let Some(found) = find(conn)? {
        return Ok(found);
    }
    let t = now();
    Raw::sql(
        "INSERT INTO roles (id, org_id, name, name_lower, capabilities, system_defined, \
         version, created_at, updated_at) VALUES (",
    )
    .bind(Bind::Int(new_id()))
    .push(", ")
    .bind(Bind::Text(org.as_str().to_string()))
    .push(", ")
    .bind(Bind::Text(name.to_string()))
    .push(", ")
    .bind(Bind::Text(key.clone()))
    .push(", '[]', ")
    .bind(Bind::Bool(false))
    .push(", 1, ")
    .bind(Bind::Time(t))
    .push(", ")
    .bind(Bind::Time(t))
    .push(") ON CONFLICT DO NOTHING")
    .query::<diesel::sql_types::Integer>()
    .execute(conn.db())?;
    find(conn)?.ok_or(StoreError::NotFound)
}

/// Insert a user. `Conflict` if the user name is taken in the organization. Call inside a
/// write transaction (the directory's); the user is returned as written, without reading it.
pub fn insert(
    conn: &mut DbConn,
    org: &OrgId,
    data: &UserData,
    password: Option<&PasswordHash>,
    actor: Actor<'_>,
) -> StoreResult<User> {
    let id = new_id();
    let t = now();
    diesel::insert_into(users::table)
        .values((
            (
                users::id.eq(id),
                users::org_id.eq(org.as_str()),
                users::password_hash.eq(password.map(|p| p.hash.as_str())),
                users::password_algorithm.eq(password.map(|p| p.algorithm.as_str())),
                users::password_updated_at.eq(password.map(|_| t)),
                users::created_by.eq(actor.0),
                users::modified_by.eq(actor.0),
                users::version.eq(1i64),
                users::created_at.eq(t),
                users::updated_at.eq(t),
            ),
            user_columns!(data),
        ))
        .execute(conn.db())
        .map_err(conflict(rules::login_key_field(data)))?;
    let roles = write_values(conn, org, id, data)?;
    Ok(User {
        id,
        org_id: org.clone(),
        has_password: password.is_some(),
        version: 1,
        created_at: t,
        updated_at: t,
        created_by: Some(actor.0.to_string()),
        modified_by: Some(actor.0.to_string()),
        data: UserData {
            roles,
            ..data.clone()
        },
    })
}

/// Rows in one multi-row INSERT: 43 columns a user row keeps the statement's parameters
/// under both backends' limits (PostgreSQL 65,535; SQLite 32,766).
const ROWS_PER_INSERT: usize = 500;

/// Insert many new users without passwords at once (SCIM Bulk): one multi-row INSERT per
/// 500 users and one per 1,000 value rows, instead of a statement per row. Users with roles
/// get theirs row by row (a role may need creating first). `Conflict` when a user name is
/// taken; the caller's transaction then holds a partial batch and must be rolled back.
pub fn insert_many(
    conn: &mut DbConn,
    org: &OrgId,
    all: &[&UserData],
    actor: Actor<'_>,
) -> StoreResult<Vec<User>> {
    let t = now();
    let ids: Vec<i64> = all.iter().map(|_| new_id()).collect();
    let none: Option<&str> = None;
    let never: Option<chrono::NaiveDateTime> = None;
    for (chunk, chunk_ids) in all.chunks(ROWS_PER_INSERT).zip(ids.chunks(ROWS_PER_INSERT)) {
        let rows: Vec<_> = chunk
            .iter()
            .zip(chunk_ids)
            .map(|(data, &id)| {
                (
                    (
                        users::id.eq(id),
                        users::org_id.eq(org.as_str()),
                        users::password_hash.eq(none),
                        users::password_algorithm.eq(none),
                        users::password_updated_at.eq(never),
                        users::created_by.eq(actor.0),
                        users::modified_by.eq(actor.0),
                        users::version.eq(1i64),
                        users::created_at.eq(t),
                        users::updated_at.eq(t),
                    ),
                    user_columns!(*data),
                )
            })
            .collect();
        super::on_backend!(&mut *conn, c => diesel::insert_into(users::table)
            .values(rows)
            .execute(c))
        .map_err(conflict(UniqueField::LoginName))?;
    }
    let values: Vec<UserValueRow> = all
        .iter()
        .zip(&ids)
        .flat_map(|(data, &id)| value_rows(org, id, data))
        .collect();
    insert_values(conn, &values)?;
    let mut out = Vec::with_capacity(all.len());
    for (data, &id) in all.iter().zip(&ids) {
        let roles = write_roles(conn, org, id, &data.roles)?;
        out.push(User {
            id,
            org_id: org.clone(),
            has_password: false,
            version: 1,
            created_at: t,
            updated_at: t,
            created_by: Some(actor.0.to_string()),
            modified_by: Some(actor.0.to_string()),
            data: UserData {
                roles,
                ..(*data).clone()
            },
        });
    }
    Ok(out)
}

/// Read a user for changing it: on PostgreSQL the row is locked (`FOR UPDATE`) until the
/// transaction ends, so writers of one user queue instead of racing; SQLite's
/// `BEGIN IMMEDIATE` already serialises writers.
pub fn lock(conn: &mut DbConn, org: &OrgId, id: i64, purpose: super::LockFor) -> StoreResult<User> {
    let q = users::table
        .filter(users::id.eq(id))
        .filter(users::org_id.eq(org.as_str()));
    let row: Row = match (conn.db(), purpose) {
        // A change takes the weaker lock, which does not block the key-share locks that
        // foreign keys take (a membership row being added for this user): no deadlock
        // between a group change and a user change.
        (MultiConn::Pg(c), super::LockFor::Change) => q.for_no_key_update().first(c)?,
        (MultiConn::Pg(c), super::LockFor::Delete) => q.for_update().first(c)?,
        (MultiConn::Sqlite(c), _) => q.first(c)?,
    };
    let mut loaded = load_many(conn, org, vec![row], GroupsToo::Skip)?;
    loaded.users.pop().ok_or(StoreError::NotFound)
}

/// Write `data` (and a new password) over `current`, which the caller read with `lock` in
/// this transaction: one UPDATE for the row (version bumped, compared-and-set for safety),
/// and the value and role rows rewritten only when they changed. Returns the user as written.
pub fn write(
    conn: &mut DbConn,
    current: &User,
    data: &UserData,
    password: Option<&PasswordHash>,
    actor: Actor<'_>,
) -> StoreResult<User> {
    let t = now();
    let id = current.id;
    let target = users::table
        .find(id)
        .filter(users::version.eq(current.version));
    let bump = (
        users::version.eq(current.version + 1),
        users::updated_at.eq(t),
        users::modified_by.eq(actor.0),
    );
    let n = match password {
        None => diesel::update(target)
            .set((bump, user_columns!(data)))
            .execute(conn.db()),
        Some(p) => diesel::update(target)
            .set((
                bump,
                user_columns!(data),
                (
                    users::password_hash.eq(&p.hash),
                    users::password_algorithm.eq(&p.algorithm),
                    users::password_updated_at.eq(t),
                ),
            ))
            .execute(conn.db()),
    }
    .map_err(conflict(rules::login_key_field(data)))?;
    if n == 0 {
        return Err(StoreError::VersionMismatch);
    }
    let mut written = data.clone();
    if current.data.values != data.values
        || current.data.roles != data.roles
        || current.data.extensions != data.extensions
    {
        diesel::delete(user_values::table.filter(user_values::user_id.eq(id)))
            .execute(conn.db())?;
        diesel::delete(user_roles::table.filter(user_roles::user_id.eq(id))).execute(conn.db())?;
        written.roles = write_values(conn, &current.org_id, id, data)?;
    }
    Ok(User {
        version: current.version + 1,
        updated_at: t,
        modified_by: Some(actor.0.to_string()),
        has_password: current.has_password || password.is_some(),
        data: written,
        ..current.clone()
    })
}

/// Delete a user (memberships and values go with it).
pub fn delete(conn: &mut DbConn, id: i64) -> StoreResult<()> {
    diesel::delete(users::table.find(id)).execute(conn.db())?;
    Ok(())
}

fn get_row(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<Row> {
    Ok(super::on_backend!(conn, c => users::table
        .filter(users::id.eq(id))
        .filter(users::org_id.eq(org.as_str()))
        .first(c))?)
}

pub fn get(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<User> {
    let row = get_row(conn, org, id)?;
    let mut loaded = load_many(conn, org, vec![row], GroupsToo::Skip)?;
    loaded.users.pop().ok_or(StoreError::NotFound)
}

type ChildSql = (
    diesel::sql_types::Text,
    diesel::sql_types::BigInt,
    diesel::sql_types::Text,
    diesel::sql_types::Integer,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
    diesel::sql_types::Nullable<diesel::sql_types::Bool>,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
    diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
);

type ChildRow = (
    String,
    i64,
    String,
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
);

/// `WITH RECURSIVE reach(user_id, group_id, direct)`: the users' direct memberships, walked
/// up through nested groups (UNION, so a cycle ends); `direct` is 1 on a direct membership.
fn reach(org: &OrgId, ids: &[i64]) -> super::raw::Raw {
    use super::raw::{Bind, Raw};
    Raw::sql(
        "WITH RECURSIVE reach(user_id, group_id, direct) AS (\
         SELECT gu.user_id, gu.group_id, 1 FROM group_users gu WHERE gu.org_id = ",
    )
    .bind(Bind::Text(org.as_str().to_string()))
    .push(" AND gu.user_id")
    .in_ids(ids)
    .push(
        " UNION SELECT reach.user_id, gg.group_id, 0 FROM reach \
         JOIN group_groups gg ON gg.member_group_id = reach.group_id AND gg.org_id = ",
    )
    .bind(Bind::Text(org.as_str().to_string()))
    .push(")")
}

/// Whether a read of users also brings the groups they belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupsToo {
    Skip,
    Load,
}

/// Multi-valued values (`v`), roles (`r`) and, when asked, groups (`g`: direct memberships
/// walked up through nested groups by a recursive query — UNION, so a cycle ends — with
/// whether any path is direct) of a set of users: one statement whose text does not depend
/// on how many users there are.
fn children(
    conn: &mut DbConn,
    org: &OrgId,
    ids: &[i64],
    groups: GroupsToo,
) -> StoreResult<Vec<ChildRow>> {
    use super::raw::{Bind, Raw};
    let mut q = Raw::default();
    if groups == GroupsToo::Load {
        q = reach(org, ids).push(" ");
    }
    q = q
        .push(
            "SELECT 'v', uv.user_id, uv.attribute, uv.position, uv.value, uv.display, \
             COALESCE(uv.kind, uv.type), \
             uv.is_primary, uv.formatted, uv.street_address, uv.locality, uv.region, \
             uv.postal_code, uv.country, NULL FROM user_values uv WHERE uv.user_id",
        )
        .in_ids(ids)
        .push(
            " UNION ALL SELECT 'r', ur.user_id, r.name, 0, NULL, ur.display, ur.type, \
             ur.is_primary, NULL, NULL, NULL, NULL, NULL, NULL, ur.created_at \
             FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id",
        )
        .in_ids(ids);
    if groups == GroupsToo::Load {
        q = q
            .push(
                " UNION ALL SELECT 'g', reach.user_id, g.display_name, MAX(reach.direct), \
                 CAST(g.id AS TEXT), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
                 FROM reach JOIN groups g ON g.id = reach.group_id AND g.org_id = ",
            )
            .bind(Bind::Text(org.as_str().to_string()))
            .push(" GROUP BY reach.user_id, g.id, g.display_name");
    }
    Ok(q.query::<ChildSql>().load(conn.db())?)
}

/// Users with their values and roles, and (when loaded) their groups by user id.
pub struct Loaded {
    pub users: Vec<User>,
    pub groups: HashMap<i64, Vec<GroupRef>>,
}

/// Attach values, roles and (when asked) groups to rows: one statement for the whole page.
fn load_many(
    conn: &mut DbConn,
    org: &OrgId,
    rows: Vec<Row>,
    groups: GroupsToo,
) -> StoreResult<Loaded> {
    let mut group_map: HashMap<i64, Vec<GroupRef>> = HashMap::new();
    if rows.is_empty() {
        return Ok(Loaded {
            users: vec![],
            groups: group_map,
        });
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut value_rows: Vec<(i64, i32, MultiAttr, MultiValue)> = Vec::new();
    let mut role_rows: Vec<(i64, Option<NaiveDateTime>, RoleValue)> = Vec::new();
    let mut ext_rows: HashMap<i64, Vec<(String, i32, String, String)>> = HashMap::new();
    for c in children(conn, org, &ids, groups)? {
        let (kind, uid, attr, pos, value, display, type_, primary) =
            (c.0, c.1, c.2, c.3, c.4, c.5, c.6, c.7);
        if kind == "g" {
            if let Some(gid) = value.and_then(|v| v.parse::<i64>().ok()) {
                group_map.entry(uid).or_default().push(GroupRef {
                    id: gid,
                    display_name: attr,
                    direct: pos > 0,
                });
            }
            continue;
        }
        if kind == "r" {
            role_rows.push((
                uid,
                c.14,
                RoleValue {
                    name: attr,
                    display,
                    kind: type_,
                    primary,
                },
            ));
            continue;
        }
        if attr.starts_with("urn:") {
            // An extension value: its JSON kind is in the type column (`children`).
            if let (Some(value), Some(kind)) = (value, type_) {
                ext_rows
                    .entry(uid)
                    .or_default()
                    .push((attr, pos, value, kind));
            }
            continue;
        }
        let Some(attr) = MultiAttr::parse(&attr) else {
            continue;
        };
        let address = (attr == MultiAttr::Addresses).then_some(Address {
            formatted: c.8,
            street_address: c.9,
            locality: c.10,
            region: c.11,
            postal_code: c.12,
            country: c.13,
        });
        value_rows.push((
            uid,
            pos,
            attr,
            MultiValue {
                value,
                display,
                kind: type_,
                primary,
                address,
            },
        ));
    }
    value_rows.sort_by_key(|v| (v.0, v.1));
    role_rows.sort_by(|a, b| (a.0, a.1, &a.2.name).cmp(&(b.0, b.1, &b.2.name)));
    let mut values: HashMap<i64, Vec<(MultiAttr, MultiValue)>> = HashMap::new();
    for (uid, _, attr, v) in value_rows {
        values.entry(uid).or_default().push((attr, v));
    }
    let mut role_map: HashMap<i64, Vec<RoleValue>> = HashMap::new();
    for (uid, _, r) in role_rows {
        role_map.entry(uid).or_default().push(r);
    }
    for refs in group_map.values_mut() {
        sort_groups(refs);
    }
    let users = rows
        .into_iter()
        .map(|r| {
            let id = r.id;
            r.into_user(
                values.remove(&id).unwrap_or_default(),
                role_map.remove(&id).unwrap_or_default(),
                ext_rows.remove(&id).map(ext::from_rows).unwrap_or_default(),
            )
        })
        .collect::<StoreResult<Vec<User>>>()?;
    Ok(Loaded {
        users,
        groups: group_map,
    })
}

/// Direct groups first, then by name, then id.
fn sort_groups(refs: &mut [GroupRef]) {
    refs.sort_by(|a, b| {
        b.direct
            .cmp(&a.direct)
            .then(a.display_name.cmp(&b.display_name))
            .then(a.id.cmp(&b.id))
    });
}

/// A user with their groups (one statement for values, roles and groups).
pub fn get_with_groups(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
) -> StoreResult<(User, Vec<GroupRef>)> {
    let row = get_row(conn, org, id)?;
    let mut loaded = load_many(conn, org, vec![row], GroupsToo::Load)?;
    let user = loaded.users.pop().ok_or(StoreError::NotFound)?;
    let groups = loaded.groups.remove(&id).unwrap_or_default();
    Ok((user, groups))
}

/// The groups a user belongs to: direct memberships, and the groups those groups are nested
/// in (indirect).
pub fn groups_of(conn: &mut DbConn, org: &OrgId, user_id: i64) -> StoreResult<Vec<GroupRef>> {
    Ok(groups_of_many(conn, org, &[user_id])?
        .remove(&user_id)
        .unwrap_or_default())
}

/// `groups_of` for a page of users in one statement: a recursive query walks direct
/// memberships up through nested groups (UNION, so a cycle ends), and keeps for each
/// user and group whether any path to it is direct.
pub fn groups_of_many(
    conn: &mut DbConn,
    org: &OrgId,
    user_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<GroupRef>>> {
    use super::raw::Bind;
    use diesel::sql_types::{BigInt, Integer, Text};
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64, String, i32)> = reach(org, user_ids)
        .push(
            " SELECT reach.user_id, g.id, g.display_name, MAX(reach.direct) FROM reach \
         JOIN groups g ON g.id = reach.group_id AND g.org_id = ",
        )
        .bind(Bind::Text(org.as_str().to_string()))
        .push(" GROUP BY reach.user_id, g.id, g.display_name")
        .query::<(BigInt, BigInt, Text, Integer)>()
        .load(conn.db())?;
    let mut out: HashMap<i64, Vec<GroupRef>> = HashMap::new();
    for (uid, gid, name, direct) in rows {
        out.entry(uid).or_default().push(GroupRef {
            id: gid,
            display_name: name,
            direct: direct > 0,
        });
    }
    for refs in out.values_mut() {
        sort_groups(refs);
    }
    Ok(out)
}

/// Users of `org` matching `filter`, ordered, windowed; and the number matching.
pub fn search(
    conn: &mut DbConn,
    org: &OrgId,
    filter: &super::search::UserFilter,
    order: &super::Order,
    window: super::Window,
    with_total: bool,
    groups: GroupsToo,
) -> StoreResult<(Loaded, Option<i64>)> {
    let with_values = filter.plans_with_values() && matches!(conn.db(), MultiConn::Pg(_));
    let filter = filter.sql(super::user_search::Backend::of(conn), org)?;
    if !with_values {
        return query(
            conn,
            org,
            filter.as_ref(),
            order,
            window,
            with_total,
            groups,
        );
    }
    // Planned with this request's values (`UserFilter::plans_with_values`), then back to the
    // session's generic plans whatever the read answered.
    use diesel::connection::SimpleConnection;
    conn.db()
        .batch_execute("SET plan_cache_mode = force_custom_plan")?;
    let read = query(
        conn,
        org,
        filter.as_ref(),
        order,
        window,
        with_total,
        groups,
    );
    let reset = conn.db().batch_execute(super::PG_GENERIC_PLANS);
    let read = read?;
    reset?;
    Ok(read)
}

/// `search` with the condition as SQL.
fn query(
    conn: &mut DbConn,
    org: &OrgId,
    filter: Option<&super::raw::Raw>,
    order: &super::Order,
    window: super::Window,
    with_total: bool,
    groups: GroupsToo,
) -> StoreResult<(Loaded, Option<i64>)> {
    let base = || {
        let mut q = users::table
            .filter(users::org_id.eq(org.as_str().to_string()))
            .into_boxed();
        if let Some(f) = filter {
            q = q.filter(f.clone());
        }
        q
    };
    // Unfiltered: the exact total is kept by triggers (`paging`), and a deep page in id order
    // seeks to a sampled boundary instead of walking the whole offset.
    let by_id = order.key.is_none() && !order.descending;
    let deep =
        matches!(window, super::Window::Offset { offset, .. } if offset >= super::paging::STRIDE);
    let counted = if filter.is_none() && (with_total || (by_id && deep)) {
        Some(super::paging::counts(conn, org)?)
    } else {
        None
    };
    let total: Option<i64> = match (with_total, counted) {
        (false, _) => None,
        (true, Some((users, _))) => Some(users),
        (true, None) => Some(base().count().get_result(conn.db())?),
    };
    let mut window = window;
    let mut boundary = None;
    if let (Some((_, generation)), super::Window::Offset { offset, limit }, true) =
        (counted, window, by_id)
    {
        if let Some((id, rest)) = super::paging::seek(conn, org, generation, offset)? {
            window = super::Window::Offset {
                offset: rest,
                limit,
            };
            boundary = Some(id);
        }
    }
    let w = window.sql(order, r#""users"."id""#);
    let mut q = base().order_by(w.order).offset(w.offset).limit(w.limit);
    if let Some(f) = w.filter {
        q = q.filter(f);
    }
    if let Some(id) = boundary {
        q = q.filter(users::id.ge(id));
    }
    let mut rows: Vec<Row> = q.load(conn.db())?;
    if w.reverse {
        rows.reverse();
    }
    Ok((load_many(conn, org, rows, groups)?, total))
}

/// A user of `org` other than `except` that has `email` (case-insensitively) among their
/// emails, if any: one indexed lookup (`user_values_lookup`).
pub fn email_owner(
    conn: &mut DbConn,
    org: &OrgId,
    email: &str,
    except: Option<i64>,
) -> StoreResult<Option<i64>> {
    let key = email.to_lowercase();
    let except = except.unwrap_or(0);
    Ok(super::on_backend!(conn, c => user_values::table
        .filter(user_values::org_id.eq(org.as_str()))
        .filter(user_values::attribute.eq(MultiAttr::Emails.as_str()))
        .filter(user_values::value_lower.eq(&key))
        .filter(user_values::user_id.ne(except))
        .select(user_values::user_id)
        .first::<i64>(c)
        .optional())?)
}

/// `domain::rules::phone_key` in SQL, over `user_values.value_lower` (which is the value
/// lower-cased): the expression the index `user_values_phone_key` is built on, written
/// identically here so both planners use it.
pub const PHONE_KEY_SQL: &str =
    "REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(uv.value_lower, ' ', ''), \
     '-', ''), '(', ''), ')', ''), '.', '')";

/// `uv` is its user's primary value of its attribute, else (none primary) the first.
const UV_PRIMARY_OR_FIRST: &str = "(uv.is_primary = TRUE OR (NOT EXISTS (SELECT 1 FROM \
     user_values q WHERE q.user_id = uv.user_id AND q.attribute = uv.attribute AND \
     q.is_primary = TRUE) AND uv.position = (SELECT MIN(q.position) FROM user_values q WHERE \
     q.user_id = uv.user_id AND q.attribute = uv.attribute)))";

/// Serialise the writers of these unique keys (field, key) of `org` until the transaction
/// ends, so two that would write the same new email both check before either writes and
/// one sees the other's: PostgreSQL's transaction-scoped advisory locks, keyed by a hash of
/// (organization, field, key), taken in key order (no deadlock between two writers of
/// several). SQLite needs none: `BEGIN IMMEDIATE` already makes writers take turns. No
/// unique index does this, because a database may already hold duplicates from before the
/// rule and must keep starting (`muster conflicts` lists them).
pub fn lock_unique_keys(
    conn: &mut DbConn,
    org: &OrgId,
    keys: &[(UniqueField, String)],
) -> StoreResult<()> {
    use sha2::{Digest, Sha256};
    let MultiConn::Pg(c) = conn.db() else {
        return Ok(());
    };
    if keys.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = keys
        .iter()
        .map(|(f, k)| {
            let h = Sha256::new()
                .chain_update(org.as_str())
                .chain_update([0])
                .chain_update(f.scim_attribute())
                .chain_update([0])
                .chain_update(k)
                .finalize();
            let mut first = [0u8; 8];
            first.copy_from_slice(&h[..8]);
            i64::from_be_bytes(first)
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    diesel::sql_query("SELECT pg_advisory_xact_lock(k) FROM UNNEST($1::BIGINT[]) AS k")
        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&ids)
        .execute(c)?;
    Ok(())
}

/// The first of `keys` (field, key) that a user of `org` other than `except` already has
/// (in `UniqueField` order): their login key (`users_org_user_name`), or their primary (else
/// first) email or phone number (`user_values_lookup`, `user_values_phone_key`). One
/// statement, one indexed branch per field asked about; nothing is read when `keys` is empty.
pub fn taken(
    conn: &mut DbConn,
    org: &OrgId,
    keys: &[(UniqueField, String)],
    except: Option<i64>,
) -> StoreResult<Option<(UniqueField, String)>> {
    use super::raw::{Bind, Raw};
    use diesel::sql_types::{Integer, Text};
    let fields = [
        UniqueField::Email,
        UniqueField::Phone,
        UniqueField::LoginName,
    ];
    let except = except.unwrap_or(0);
    let mut q: Option<Raw> = None;
    for (n, field) in fields.iter().enumerate() {
        let values: Vec<&str> = keys
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, k)| k.as_str())
            .collect();
        if values.is_empty() {
            continue;
        }
        let o = Bind::Text(org.as_str().to_string());
        let branch = match field {
            UniqueField::LoginName => Raw::sql(format!(
                "SELECT {n}, u.user_name_lower FROM users u WHERE u.org_id = "
            ))
            .bind(o)
            .push(" AND u.id <> ")
            .bind(Bind::Int(except))
            .push(" AND u.user_name_lower")
            .in_texts(&values),
            UniqueField::Email => Raw::sql(format!(
                "SELECT {n}, uv.value_lower FROM user_values uv WHERE uv.org_id = "
            ))
            .bind(o)
            .push(" AND uv.attribute = 'emails' AND uv.user_id <> ")
            .bind(Bind::Int(except))
            .push(" AND uv.value_lower")
            .in_texts(&values)
            .push(format!(" AND {UV_PRIMARY_OR_FIRST}")),
            UniqueField::Phone => Raw::sql(format!(
                "SELECT {n}, {PHONE_KEY_SQL} FROM user_values uv WHERE uv.org_id = "
            ))
            .bind(o)
            .push(" AND uv.attribute = 'phoneNumbers' AND uv.user_id <> ")
            .bind(Bind::Int(except))
            .push(format!(" AND {PHONE_KEY_SQL}"))
            .in_texts(&values)
            .push(format!(" AND {UV_PRIMARY_OR_FIRST}")),
        };
        q = Some(match q {
            None => branch,
            Some(prev) => prev.push(" UNION ALL ").append(branch),
        });
    }
    let Some(q) = q else { return Ok(None) };
    let rows: Vec<(i32, Option<String>)> = q
        .push(" ORDER BY 1 LIMIT 1")
        .query::<(Integer, diesel::sql_types::Nullable<Text>)>()
        .load(conn.db())?;
    Ok(rows
        .into_iter()
        .next()
        .map(|(n, k)| (fields[n as usize], k.unwrap_or_default())))
}

/// One group of users of an organization sharing a unique value (`muster conflicts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub org_id: String,
    pub field: UniqueField,
    pub key: String,
    /// (user id, login name as stored).
    pub users: Vec<(i64, Option<String>)>,
}

/// Primary (else first) emails and phone numbers that more than one user of an organization
/// (of `org`, or of every organization) has, compared by their keys: what a database kept
/// from before the uniqueness rule, for an admin to resolve. Login names need no listing:
/// their unique index never let a duplicate in.
pub fn duplicates(conn: &mut DbConn, org: Option<&OrgId>) -> StoreResult<Vec<Duplicate>> {
    use super::raw::{Bind, Raw};
    use diesel::sql_types::{BigInt, Nullable, Text};
    let mut out = Vec::new();
    for (field, attr, key) in [
        (UniqueField::Email, "emails", "uv.value_lower"),
        (UniqueField::Phone, "phoneNumbers", PHONE_KEY_SQL),
    ] {
        let scope = |q: Raw| match org {
            Some(o) => q
                .push(" AND uv.org_id = ")
                .bind(Bind::Text(o.as_str().to_string())),
            None => q,
        };
        let primaries = scope(Raw::sql(format!(
            "SELECT uv.org_id AS org_id, {key} AS k, uv.user_id AS user_id FROM user_values uv \
             WHERE uv.attribute = '{attr}' AND {UV_PRIMARY_OR_FIRST}"
        )));
        let rows: Vec<(String, String, i64, Option<String>)> = Raw::sql("WITH p AS (")
            .append(primaries)
            .push(
                ") SELECT p.org_id, p.k, p.user_id, u.user_name FROM p JOIN users u ON \
                 u.id = p.user_id WHERE p.k <> '' AND EXISTS (SELECT 1 FROM p p2 WHERE \
                 p2.org_id = p.org_id AND p2.k = p.k AND p2.user_id <> p.user_id) \
                 ORDER BY p.org_id, p.k, p.user_id",
            )
            .query::<(Text, Text, BigInt, Nullable<Text>)>()
            .load(conn.db())?;
        for (org_id, k, uid, name) in rows {
            match out.last_mut() {
                Some(Duplicate {
                    org_id: o,
                    field: f,
                    key,
                    users,
                }) if *o == org_id && *f == field && *key == k => users.push((uid, name)),
                _ => out.push(Duplicate {
                    org_id,
                    field,
                    key: k,
                    users: vec![(uid, name)],
                }),
            }
        }
    }
    Ok(out)
}

/// Is `id` a user of `org`? (Reads the id alone.)
pub fn exists(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<bool> {
    Ok(super::on_backend!(conn, c => users::table
        .filter(users::id.eq(id))
        .filter(users::org_id.eq(org.as_str()))
        .select(users::id)
        .first::<i64>(c)
        .optional())?
    .is_some())
}

/// The stored password of a user, if any.
pub fn password_of(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<Option<PasswordHash>> {
    let (hash, algorithm): (Option<String>, Option<String>) = users::table
        .filter(users::id.eq(id))
        .filter(users::org_id.eq(org.as_str()))
        .select((users::password_hash, users::password_algorithm))
        .first(conn.db())?;
    Ok(hash.map(|hash| PasswordHash {
        hash,
        algorithm: algorithm.unwrap_or_else(|| "bcrypt".into()),
    }))
}

/// The user of `org` whose email (any of them) or login key is `key`, case-insensitively:
/// Adobe addresses users by email, or by username for federated ids. A user with the email
/// wins over one with that login name. One statement.
pub fn find_by_key(conn: &mut DbConn, org: &OrgId, key: &str) -> StoreResult<Option<i64>> {
    use super::raw::{Bind, Raw};
    use diesel::sql_types::{BigInt, Integer};
    let key = key.to_lowercase();
    let o = || Bind::Text(org.as_str().to_string());
    let rows: Vec<(i64, i32)> =
        Raw::sql("SELECT uv.user_id, 0 FROM user_values uv WHERE uv.org_id = ")
            .bind(o())
            .push(" AND uv.attribute = 'emails' AND uv.value_lower = ")
            .bind(Bind::Text(key.clone()))
            .push(" UNION ALL SELECT u.id, 1 FROM users u WHERE u.org_id = ")
            .bind(o())
            .push(" AND u.user_name_lower = ")
            .bind(Bind::Text(key))
            .push(" ORDER BY 2, 1 LIMIT 1")
            .query::<(BigInt, Integer)>()
            .load(conn.db())?;
    Ok(rows.first().map(|r| r.0))
}

/// Which users of an organization a list shows (Adobe's user lists): those of an email
/// domain, those in a group (directly, or also through groups nested in it), active or not.
#[derive(Debug, Clone, Default)]
pub struct Among {
    /// Lower-case domain: the user's stored domain, else their login key's.
    pub domain: Option<String>,
    /// A group id, and whether members of groups nested in it count.
    pub group: Option<(i64, bool)>,
    pub active: Option<bool>,
}

impl Among {
    /// The condition on `users`, or `None` for every user.
    pub(super) fn sql(&self) -> Option<super::raw::Raw> {
        use super::raw::{Bind, Raw};
        let mut parts: Vec<Raw> = Vec::new();
        if let Some(d) = &self.domain {
            let like = format!(
                "%@{}",
                d.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            parts.push(
                Raw::sql("(\"users\".\"domain\" = ")
                    .bind(Bind::Text(d.clone()))
                    .push(
                        " OR (\"users\".\"domain\" IS NULL AND \"users\".\"user_name_lower\" LIKE ",
                    )
                    .bind(Bind::Text(like))
                    .push(" ESCAPE '\\'))"),
            );
        }
        if let Some((gid, nested)) = self.group {
            let q = if nested {
                Raw::sql("\"users\".\"id\" IN (WITH RECURSIVE sub(gid) AS (SELECT CAST(")
                    .bind(Bind::Int(gid))
                    .push(
                        " AS BIGINT) UNION SELECT gg.member_group_id FROM group_groups gg \
                     JOIN sub ON gg.group_id = sub.gid) \
                     SELECT gu.user_id FROM group_users gu JOIN sub ON gu.group_id = sub.gid)",
                    )
            } else {
                Raw::sql("\"users\".\"id\" IN (SELECT gu.user_id FROM group_users gu WHERE gu.group_id = ")
                    .bind(Bind::Int(gid))
                    .push(")")
            };
            parts.push(q);
        }
        match self.active {
            Some(true) => parts.push(Raw::sql("\"users\".\"active\" = ").bind(Bind::Bool(true))),
            Some(false) => parts.push(
                Raw::sql("(\"users\".\"active\" IS NULL OR \"users\".\"active\" = ")
                    .bind(Bind::Bool(false))
                    .push(")"),
            ),
            None => {}
        }
        parts.into_iter().reduce(|a, b| Raw::join("AND", a, b))
    }
}
/// A sort order for keyset paging (Sumo Logic's `sortBy`): a key that is never NULL (a
/// missing value sorts as the empty string) with the id as tie-breaker, so "the rows after
/// (key, id)" is exact on both backends. Emails are compared lower-cased as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Id,
    GivenName,
    FamilyName,
    Email,
}

impl SortKey {
    fn sql(self) -> &'static str {
        match self {
            SortKey::Id => "''",
            SortKey::GivenName => "COALESCE(users.name_given, '')",
            SortKey::FamilyName => "COALESCE(users.name_family, '')",
            SortKey::Email => {
                "COALESCE((SELECT sk.value_lower FROM user_values sk WHERE sk.user_id = users.id \
                 AND sk.attribute = 'emails' ORDER BY CASE WHEN sk.is_primary = TRUE THEN 0 \
                 ELSE 1 END, sk.position LIMIT 1), '')"
            }
        }
    }

    /// The key of `u`, as the SQL computes it.
    pub fn value_of(self, u: &User) -> String {
        match self {
            SortKey::Id => String::new(),
            SortKey::GivenName => u.data.name.given.clone().unwrap_or_default(),
            SortKey::FamilyName => u.data.name.family.clone().unwrap_or_default(),
            SortKey::Email => u
                .data
                .primary(MultiAttr::Emails)
                .and_then(|e| e.value.as_ref())
                .map(|v| v.to_lowercase())
                .unwrap_or_default(),
        }
    }
}

/// Up to `limit` users of `org` matching `filter` in `key` order, after `after` (the key and
/// id of the last row of the previous page): the page's rows and their values and roles.
pub fn keyset_page(
    conn: &mut DbConn,
    org: &OrgId,
    filter: &super::search::UserFilter,
    key: SortKey,
    after: Option<(String, i64)>,
    limit: i64,
) -> StoreResult<Loaded> {
    use super::raw::{Bind, Raw};
    let filter = filter.sql(super::user_search::Backend::of(conn), org)?;
    if key == SortKey::Id {
        let (loaded, _) = query(
            conn,
            org,
            filter.as_ref(),
            &super::Order::default(),
            super::Window::After {
                id: after.map(|a| a.1),
                limit,
            },
            false,
            GroupsToo::Skip,
        )?;
        return Ok(loaded);
    }
    let k = key.sql();
    let keyset = after.map(|(v, id)| {
        Raw::sql(format!("({k} > "))
            .bind(Bind::Text(v.clone()))
            .push(format!(" OR ({k} = "))
            .bind(Bind::Text(v))
            .push(" AND users.id > ")
            .bind(Bind::Int(id))
            .push("))")
    });
    let filter = match (filter, keyset) {
        (Some(f), Some(k)) => Some(Raw::join("AND", f, k)),
        (f, k) => f.or(k),
    };
    let order = super::Order {
        key: Some(k.to_string()),
        descending: false,
        never_null: false,
    };
    let (loaded, _) = query(
        conn,
        org,
        filter.as_ref(),
        &order,
        super::Window::Offset { offset: 0, limit },
        false,
        GroupsToo::Skip,
    )?;
    Ok(loaded)
}

/// The number of active users of each of `orgs` (Muster's own figure beside Sumo Logic's
/// usage): one statement.
pub fn active_counts(conn: &mut DbConn, orgs: &[OrgId]) -> StoreResult<HashMap<String, i64>> {
    if orgs.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<String> = orgs.iter().map(|o| o.as_str().to_string()).collect();
    let rows: Vec<(String, i64)> = users::table
        .filter(users::org_id.eq_any(ids))
        .filter(users::active.eq(true))
        .group_by(users::org_id)
        .select((users::org_id, diesel::dsl::count_star()))
        .load(conn.db())?;
    Ok(rows.into_iter().collect())
}

/// How many users of `org` are suspended (`active = false`): one statement, read from the
/// partial index `users_org_suspended` (the literal `false` lets both planners use it).
pub fn suspended_count(conn: &mut DbConn, org: &OrgId) -> StoreResult<i64> {
    use super::raw::{Bind, Raw};
    use diesel::sql_types::BigInt;
    let rows: Vec<(i64,)> = Raw::sql(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM users u WHERE u.active = false AND u.org_id = ",
    )
    .bind(Bind::Text(org.as_str().to_string()))
    .query::<(BigInt,)>()
    .load(conn.db())?;
    Ok(rows.first().map_or(0, |r| r.0))
}
