//! Users and groups as UMAPI shows them: the current reads' lower-case-`n` fields
//! (`firstname`, `country`, `type`), the deprecated reads' camelCase ones (`firstName`,
//! `countryCode`, `userType`). Unset properties are omitted, never null.

use serde_json::{Map, Value};

use crate::domain::{id_to_hex, Group, GroupKind, GroupRef, MultiAttr, User};

/// The identity types Adobe knows; a user made by another dialect (an identity provider over
/// SCIM, most often) is shown as a Federated ID, which is what such a user is to Adobe.
pub const ADOBE_ID: &str = "adobeID";
pub const ENTERPRISE_ID: &str = "enterpriseID";
pub const FEDERATED_ID: &str = "federatedID";

pub fn id_type(u: &User) -> &str {
    match u.data.vendor.identity_type.as_deref() {
        Some(t @ (ADOBE_ID | ENTERPRISE_ID | FEDERATED_ID)) => t,
        _ => FEDERATED_ID,
    }
}

pub fn email(u: &User) -> Option<&str> {
    u.data
        .primary(MultiAttr::Emails)
        .and_then(|e| e.value.as_deref())
}

/// The username: the login name, else the email.
pub fn username(u: &User) -> Option<&str> {
    u.data.user_name.as_deref().or_else(|| email(u))
}

/// The domain: as stored, else that of the username (or email).
pub fn domain(u: &User) -> Option<String> {
    if let Some(d) = &u.data.vendor.domain {
        return Some(d.clone());
    }
    username(u)
        .and_then(|n| n.rsplit_once('@'))
        .map(|(_, d)| d.to_lowercase())
}

pub fn country(u: &User) -> Option<&str> {
    u.data
        .primary(MultiAttr::Addresses)
        .and_then(|a| a.address.as_ref())
        .and_then(|a| a.country.as_deref())
}

pub fn status(u: &User) -> &'static str {
    if u.data.is_active() {
        "active"
    } else {
        "disabled"
    }
}

fn put(m: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    if let Some(v) = v {
        m.insert(key.into(), Value::String(v.to_string()));
    }
}

/// Names of the groups to show: direct ones, or all when `direct_only` is false.
fn group_names(groups: Option<&Vec<GroupRef>>, direct_only: bool) -> Vec<Value> {
    groups
        .into_iter()
        .flatten()
        .filter(|g| g.direct || !direct_only)
        .map(|g| Value::String(g.display_name.clone()))
        .collect()
}

/// How a user read names its fields: the current reads in lower case (`firstname`,
/// `country`, `type`), the deprecated ones in camelCase (`firstName`, `countryCode`,
/// `userType`), which also show the phone number.
struct Spelling {
    first_name: &'static str,
    last_name: &'static str,
    country: &'static str,
    phone: Option<&'static str>,
    id_type: &'static str,
}

const CURRENT: Spelling = Spelling {
    first_name: "firstname",
    last_name: "lastname",
    country: "country",
    phone: None,
    id_type: "type",
};

const LEGACY: Spelling = Spelling {
    first_name: "firstName",
    last_name: "lastName",
    country: "countryCode",
    phone: Some("phoneNumber"),
    id_type: "userType",
};

/// A user as the current reads show it. `groups` is `None` to leave them out.
pub fn user_json(u: &User, groups: Option<&Vec<GroupRef>>, direct_only: bool) -> Value {
    spelled_user(u, groups, direct_only, &CURRENT)
}

/// A user as the deprecated `/{orgId}/users` read shows it (camelCase).
pub fn legacy_user_json(u: &User, groups: Option<&Vec<GroupRef>>, direct_only: bool) -> Value {
    spelled_user(u, groups, direct_only, &LEGACY)
}

fn spelled_user(
    u: &User,
    groups: Option<&Vec<GroupRef>>,
    direct_only: bool,
    s: &Spelling,
) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(id_to_hex(u.id)));
    put(&mut m, "email", email(u));
    m.insert("status".into(), Value::String(status(u).into()));
    if groups.is_some() {
        let names = group_names(groups, direct_only);
        if !names.is_empty() {
            m.insert("groups".into(), Value::Array(names));
        }
    }
    put(&mut m, "username", username(u));
    put(&mut m, "domain", domain(u).as_deref());
    put(&mut m, s.first_name, u.data.name.given.as_deref());
    put(&mut m, s.last_name, u.data.name.family.as_deref());
    put(&mut m, s.country, country(u));
    if let Some(key) = s.phone {
        let phone = u.data.primary(MultiAttr::PhoneNumbers);
        put(&mut m, key, phone.and_then(|p| p.value.as_deref()));
    }
    m.insert(s.id_type.into(), Value::String(id_type(u).into()));
    Value::Object(m)
}

/// A user as the deprecated user-group members read shows it.
pub fn legacy_member_json(u: &User) -> Value {
    let mut m = Map::new();
    put(&mut m, "email", email(u));
    put(&mut m, LEGACY.first_name, u.data.name.given.as_deref());
    put(&mut m, LEGACY.last_name, u.data.name.family.as_deref());
    put(&mut m, LEGACY.country, country(u));
    m.insert("status".into(), Value::String(status(u).into()));
    m.insert(LEGACY.id_type.into(), Value::String(id_type(u).into()));
    Value::Object(m)
}

pub fn group_type(kind: GroupKind) -> &'static str {
    match kind {
        GroupKind::Group => "USER_GROUP",
        GroupKind::ProductProfile => "PRODUCT_PROFILE",
        GroupKind::AdminGroup => "SYSADMIN_GROUP",
    }
}

/// A group as `/groups/{orgId}/{page}` shows it.
pub fn group_json(g: &Group, member_count: i64) -> Value {
    let mut m = Map::new();
    m.insert("groupId".into(), Value::from(g.id));
    m.insert(
        "groupName".into(),
        Value::String(g.data.display_name.clone()),
    );
    m.insert("type".into(), Value::String(group_type(g.data.kind).into()));
    m.insert("memberCount".into(), Value::from(member_count));
    let name_key = match g.data.kind {
        GroupKind::Group => "userGroupName",
        GroupKind::ProductProfile => "productProfileName",
        GroupKind::AdminGroup => "adminGroupName",
    };
    m.insert(name_key.into(), Value::String(g.data.display_name.clone()));
    if let Some(d) = &g.data.description {
        m.insert("description".into(), Value::String(d.clone()));
    }
    Value::Object(m)
}

/// A user group as the deprecated `/{orgId}/user-groups` reads show it.
pub fn legacy_group_json(g: &Group, user_count: i64) -> Value {
    let mut m = Map::new();
    m.insert("groupId".into(), Value::from(g.id));
    m.insert("name".into(), Value::String(g.data.display_name.clone()));
    m.insert("type".into(), Value::String(group_type(g.data.kind).into()));
    m.insert("userCount".into(), Value::from(user_count));
    if let Some(d) = &g.data.description {
        m.insert("description".into(), Value::String(d.clone()));
    }
    m.insert("isReadOnly".into(), Value::Bool(false));
    Value::Object(m)
}
