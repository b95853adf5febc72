//! Users: one row in `users`, one row per multi-valued value in `user_values`, one row per
//! role in `user_roles`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{group_groups, group_users, groups, roles, user_roles, user_values, users};
use super::{new_id, now, DbConn, StoreError, StoreResult};
use crate::domain::{
    Address, Enterprise, GroupRef, MultiAttr, MultiValue, Name, OrgId, PasswordHash, RoleValue,
    User, UserData, VendorFields,
};

#[derive(Queryable)]
#[allow(dead_code)]
struct Row {
    id: i64,
    org_id: String,
    user_name: Option<String>,
    user_name_lower: Option<String>,
    external_id: Option<String>,
    display_name: Option<String>,
    display_name_lower: Option<String>,
    nick_name: Option<String>,
    profile_url: Option<String>,
    title: Option<String>,
    user_type: Option<String>,
    preferred_language: Option<String>,
    locale: Option<String>,
    timezone: Option<String>,
    name_formatted: Option<String>,
    name_family: Option<String>,
    name_given: Option<String>,
    name_middle: Option<String>,
    name_honorific_prefix: Option<String>,
    name_honorific_suffix: Option<String>,
    active: Option<bool>,
    password_hash: Option<String>,
    password_algorithm: Option<String>,
    password_updated_at: Option<NaiveDateTime>,
    employee_number: Option<String>,
    cost_center: Option<String>,
    organization: Option<String>,
    division: Option<String>,
    department: Option<String>,
    manager_id: Option<String>,
    custom_data: String,
    profile_extra: String,
    identity_type: Option<String>,
    domain: Option<String>,
    application_id: Option<String>,
    is_locked: bool,
    mfa_enabled: bool,
    last_sign_in_at: Option<NaiveDateTime>,
    created_by: Option<String>,
    modified_by: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Queryable)]
#[allow(dead_code)]
struct ValueRow {
    user_id: i64,
    attribute: String,
    position: i32,
    org_id: String,
    value: Option<String>,
    value_lower: Option<String>,
    display: Option<String>,
    type_: Option<String>,
    is_primary: Option<bool>,
    formatted: Option<String>,
    street_address: Option<String>,
    locality: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
}

fn lower(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|s| s.to_lowercase())
}

fn json_or_empty(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::json!({}))
}

impl Row {
    fn into_user(
        self,
        values: Vec<(MultiAttr, MultiValue)>,
        roles: Vec<RoleValue>,
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

/// Map a unique violation on user names to a clear conflict.
fn conflict(e: diesel::result::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("userName is already taken".into()),
        other => other,
    }
}

macro_rules! user_columns {
    ($d:expr) => {
        (
            users::user_name.eq(&$d.user_name),
            users::user_name_lower.eq(lower(&$d.user_name)),
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

fn write_values(conn: &mut DbConn, org: &OrgId, id: i64, data: &UserData) -> StoreResult<()> {
    for (pos, (attr, v)) in data.values.iter().enumerate() {
        let a = v.address.clone().unwrap_or_default();
        diesel::insert_into(user_values::table)
            .values((
                user_values::user_id.eq(id),
                user_values::attribute.eq(attr.as_str()),
                user_values::position.eq(pos as i32),
                user_values::org_id.eq(org.as_str()),
                user_values::value.eq(&v.value),
                user_values::value_lower.eq(lower(&v.value)),
                user_values::display.eq(&v.display),
                user_values::type_.eq(&v.kind),
                user_values::is_primary.eq(v.primary),
                user_values::formatted.eq(&a.formatted),
                user_values::street_address.eq(&a.street_address),
                user_values::locality.eq(&a.locality),
                user_values::region.eq(&a.region),
                user_values::postal_code.eq(&a.postal_code),
                user_values::country.eq(&a.country),
            ))
            .execute(conn)?;
    }
    let t = now();
    for r in &data.roles {
        let role_id = ensure_role(conn, org, &r.name)?;
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
            .execute(conn)
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("role {:?} is listed twice", r.name))
                }
                other => other,
            })?;
    }
    Ok(())
}

/// The id of role `name` in `org`, created if missing.
pub fn ensure_role(conn: &mut DbConn, org: &OrgId, name: &str) -> StoreResult<i64> {
    let key = name.to_lowercase();
    if let Some(id) = roles::table
        .filter(roles::org_id.eq(org.as_str()))
        .filter(roles::name_lower.eq(&key))
        .select(roles::id)
        .first::<i64>(conn)
        .optional()?
    {
        return Ok(id);
    }
    let id = new_id();
    let t = now();
    diesel::insert_into(roles::table)
        .values((
            roles::id.eq(id),
            roles::org_id.eq(org.as_str()),
            roles::name.eq(name),
            roles::name_lower.eq(&key),
            roles::capabilities.eq("[]"),
            roles::system_defined.eq(false),
            roles::version.eq(1i64),
            roles::created_at.eq(t),
            roles::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Insert a user. `Conflict` if the user name is taken in the organization.
pub fn insert(
    conn: &mut DbConn,
    org: &OrgId,
    data: &UserData,
    password: Option<&PasswordHash>,
    actor: Actor<'_>,
) -> StoreResult<User> {
    super::write_tx(conn, |conn| {
        let id = new_id();
        let t = now();
        diesel::insert_into(users::table)
            .values((
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
            ))
            .execute(conn)
            .map_err(conflict)?;
        diesel::update(users::table.find(id))
            .set(user_columns!(data))
            .execute(conn)
            .map_err(conflict)?;
        write_values(conn, org, id, data)?;
        get(conn, org, id)
    })
}

/// Replace a user's data. With `expected_version`, a different current version is
/// `VersionMismatch`. When nothing changes (and no password is set) the row is left alone:
/// no version bump, no new `lastModified`. Returns the user and whether it changed.
pub fn update(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
    expected_version: Option<i64>,
    data: &UserData,
    password: Option<&PasswordHash>,
    actor: Actor<'_>,
) -> StoreResult<(User, bool)> {
    super::write_tx(conn, |conn| {
        let current = get(conn, org, id)?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(StoreError::VersionMismatch);
        }
        if current.data == *data && password.is_none() {
            return Ok((current, false));
        }
        let t = now();
        // The version bump is the compare-and-set: it takes the row lock first, and a writer
        // that read the same version finds it gone once we commit (PostgreSQL re-checks the
        // WHERE after the lock; SQLite's BEGIN IMMEDIATE serialises anyway).
        let bumped = diesel::update(
            users::table
                .find(id)
                .filter(users::version.eq(current.version)),
        )
        .set((
            users::version.eq(current.version + 1),
            users::updated_at.eq(t),
            users::modified_by.eq(actor.0),
        ))
        .execute(conn)?;
        if bumped == 0 {
            return Err(StoreError::VersionMismatch);
        }
        diesel::update(users::table.find(id))
            .set(user_columns!(data))
            .execute(conn)
            .map_err(conflict)?;
        if let Some(p) = password {
            diesel::update(users::table.find(id))
                .set((
                    users::password_hash.eq(&p.hash),
                    users::password_algorithm.eq(&p.algorithm),
                    users::password_updated_at.eq(t),
                ))
                .execute(conn)?;
        }
        if current.data.values != data.values || current.data.roles != data.roles {
            diesel::delete(user_values::table.filter(user_values::user_id.eq(id))).execute(conn)?;
            diesel::delete(user_roles::table.filter(user_roles::user_id.eq(id))).execute(conn)?;
            write_values(conn, org, id, data)?;
        }
        Ok((get(conn, org, id)?, true))
    })
}

/// Delete a user (memberships and values go with it).
pub fn delete(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
    expected_version: Option<i64>,
) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        let version: i64 = users::table
            .filter(users::id.eq(id))
            .filter(users::org_id.eq(org.as_str()))
            .select(users::version)
            .first(conn)?;
        if expected_version.is_some_and(|v| v != version) {
            return Err(StoreError::VersionMismatch);
        }
        diesel::delete(users::table.find(id)).execute(conn)?;
        Ok(())
    })
}

pub fn get(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<User> {
    let row: Row = users::table
        .filter(users::id.eq(id))
        .filter(users::org_id.eq(org.as_str()))
        .first(conn)?;
    let mut loaded = load_many(conn, vec![row])?;
    loaded.pop().ok_or(StoreError::NotFound)
}

/// Attach values and roles to rows, two queries for the whole page.
fn load_many(conn: &mut DbConn, rows: Vec<Row>) -> StoreResult<Vec<User>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let value_rows: Vec<ValueRow> = user_values::table
        .filter(user_values::user_id.eq_any(&ids))
        .order((user_values::user_id, user_values::position))
        .load(conn)?;
    let mut values: HashMap<i64, Vec<(MultiAttr, MultiValue)>> = HashMap::new();
    for v in value_rows {
        let Some(attr) = MultiAttr::parse(&v.attribute) else {
            continue;
        };
        let address = (attr == MultiAttr::Addresses).then_some(Address {
            formatted: v.formatted,
            street_address: v.street_address,
            locality: v.locality,
            region: v.region,
            postal_code: v.postal_code,
            country: v.country,
        });
        values.entry(v.user_id).or_default().push((
            attr,
            MultiValue {
                value: v.value,
                display: v.display,
                kind: v.type_,
                primary: v.is_primary,
                address,
            },
        ));
    }
    type RoleRow = (i64, String, Option<String>, Option<String>, Option<bool>);
    let role_rows: Vec<RoleRow> = user_roles::table
        .inner_join(roles::table)
        .filter(user_roles::user_id.eq_any(&ids))
        .select((
            user_roles::user_id,
            roles::name,
            user_roles::display,
            user_roles::type_,
            user_roles::is_primary,
        ))
        .order((user_roles::user_id, user_roles::created_at, roles::name))
        .load(conn)?;
    let mut role_map: HashMap<i64, Vec<RoleValue>> = HashMap::new();
    for (uid, name, display, kind, primary) in role_rows {
        role_map.entry(uid).or_default().push(RoleValue {
            name,
            display,
            kind,
            primary,
        });
    }
    rows.into_iter()
        .map(|r| {
            let id = r.id;
            r.into_user(
                values.remove(&id).unwrap_or_default(),
                role_map.remove(&id).unwrap_or_default(),
            )
        })
        .collect()
}

/// The groups a user belongs to: direct memberships, and the groups those groups are nested
/// in (indirect).
pub fn groups_of(conn: &mut DbConn, org: &OrgId, user_id: i64) -> StoreResult<Vec<GroupRef>> {
    Ok(groups_of_many(conn, org, &[user_id])?
        .remove(&user_id)
        .unwrap_or_default())
}

/// `groups_of` for a page of users in a fixed number of queries: direct memberships in one,
/// then one per level of nesting (at most 16), then the names.
pub fn groups_of_many(
    conn: &mut DbConn,
    org: &OrgId,
    user_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<GroupRef>>> {
    let direct: Vec<(i64, i64)> = group_users::table
        .filter(group_users::user_id.eq_any(user_ids))
        .filter(group_users::org_id.eq(org.as_str()))
        .select((group_users::user_id, group_users::group_id))
        .load(conn)?;
    let mut parents: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut known: std::collections::HashSet<i64> = direct.iter().map(|(_, g)| *g).collect();
    let mut frontier: Vec<i64> = known.iter().copied().collect();
    for _ in 0..16 {
        if frontier.is_empty() {
            break;
        }
        let edges: Vec<(i64, i64)> = group_groups::table
            .filter(group_groups::member_group_id.eq_any(&frontier))
            .select((group_groups::member_group_id, group_groups::group_id))
            .load(conn)?;
        frontier = Vec::new();
        for (child, parent) in edges {
            parents.entry(child).or_default().push(parent);
            if known.insert(parent) {
                frontier.push(parent);
            }
        }
    }
    let all: Vec<i64> = known.into_iter().collect();
    let names: HashMap<i64, String> = groups::table
        .filter(groups::id.eq_any(&all))
        .select((groups::id, groups::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut by_user: HashMap<i64, Vec<i64>> = HashMap::new();
    for (u, g) in direct {
        by_user.entry(u).or_default().push(g);
    }
    let mut out = HashMap::new();
    for (u, direct_groups) in by_user {
        let mut refs: Vec<GroupRef> = Vec::new();
        let mut seen: std::collections::HashSet<i64> = std::collections::HashSet::new();
        let mut queue: Vec<(i64, bool)> = direct_groups.iter().map(|g| (*g, true)).collect();
        let mut i = 0;
        while i < queue.len() {
            let (g, is_direct) = queue[i];
            i += 1;
            if !seen.insert(g) {
                continue;
            }
            if let Some(name) = names.get(&g) {
                refs.push(GroupRef {
                    id: g,
                    display_name: name.clone(),
                    direct: is_direct,
                });
            }
            for p in parents.get(&g).into_iter().flatten() {
                queue.push((*p, false));
            }
        }
        // A group reached both directly and through nesting is direct.
        for r in refs.iter_mut() {
            if direct_groups.contains(&r.id) {
                r.direct = true;
            }
        }
        refs.sort_by(|a, b| {
            b.direct
                .cmp(&a.direct)
                .then(a.display_name.cmp(&b.display_name))
        });
        out.insert(u, refs);
    }
    Ok(out)
}

/// Users of `org` matching `filter`, ordered, windowed; and the number matching.
pub fn query(
    conn: &mut DbConn,
    org: &OrgId,
    filter: Option<&super::raw::Raw>,
    order: &super::Order,
    window: super::Window,
    with_total: bool,
) -> StoreResult<(Vec<User>, Option<i64>)> {
    let base = || {
        let mut q = users::table
            .filter(users::org_id.eq(org.as_str().to_string()))
            .into_boxed();
        if let Some(f) = filter {
            q = q.filter(f.clone());
        }
        q
    };
    let total: Option<i64> = if with_total {
        Some(base().count().get_result(conn)?)
    } else {
        None
    };
    let w = window.sql(order, r#""users"."id""#);
    let mut q = base().order_by(w.order).offset(w.offset).limit(w.limit);
    if let Some(f) = w.filter {
        q = q.filter(f);
    }
    let mut rows: Vec<Row> = q.load(conn)?;
    if w.reverse {
        rows.reverse();
    }
    Ok((load_many(conn, rows)?, total))
}
