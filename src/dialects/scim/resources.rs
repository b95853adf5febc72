//! Domain users and groups to and from canonical SCIM JSON.

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::domain::{
    id_from_hex, id_to_hex, Address, Enterprise, Extensions, Group, GroupData, GroupRef,
    MemberKind, MultiAttr, MultiValue, Name, RoleValue, User, UserData, VendorFields,
};
use crate::scim::schema::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use crate::scim::{ScimError, ScimResult};

pub fn timestamp(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

pub use crate::scim::etag::etag;

fn put(m: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(key.into(), Value::String(v.clone()));
    }
}

fn meta(
    cfg: &Config,
    rt: &str,
    endpoint: &str,
    id: i64,
    created: NaiveDateTime,
    modified: NaiveDateTime,
    version: i64,
) -> Value {
    json!({
        "resourceType": rt,
        "created": timestamp(created),
        "lastModified": timestamp(modified),
        "location": cfg.url(&format!("/scim/v2/{endpoint}/{}", id_to_hex(id))),
        "version": etag(version),
    })
}

/// The `userName` SCIM shows for a user without a login name (made through a dialect that
/// has none: Domo, Sumo, Adobe by email): their primary email, else their id
/// (`domain::shown_name`, which the console shows too). userName is required in SCIM.
pub fn derived_user_name(id: i64, d: &UserData) -> String {
    d.primary(MultiAttr::Emails)
        .and_then(|e| e.value.clone())
        .unwrap_or_else(|| id_to_hex(id))
}

/// A change computed from the rendered user carries the derived `userName` back. Storing it
/// would turn the email into a login name that a later email change leaves behind, so a user
/// without a login name keeps none while the name is still the one derived from the new data.
pub fn keep_derived_user_name(id: i64, current: &UserData, mut new: UserData) -> UserData {
    if current.user_name.is_none()
        && new.user_name.as_deref() == Some(derived_user_name(id, &new).as_str())
    {
        new.user_name = None;
    }
    new
}

/// The full canonical representation of a user; `groups` when known.
pub fn user_json(cfg: &Config, u: &User, groups: Option<&[GroupRef]>) -> Value {
    let d = &u.data;
    let mut m = Map::new();
    m.insert("id".into(), Value::String(id_to_hex(u.id)));
    put(&mut m, "externalId", &d.external_id);
    let user_name = u.shown_name();
    m.insert("userName".into(), Value::String(user_name));
    let mut name = Map::new();
    put(&mut name, "formatted", &d.name.formatted);
    put(&mut name, "familyName", &d.name.family);
    put(&mut name, "givenName", &d.name.given);
    put(&mut name, "middleName", &d.name.middle);
    put(&mut name, "honorificPrefix", &d.name.honorific_prefix);
    put(&mut name, "honorificSuffix", &d.name.honorific_suffix);
    if !name.is_empty() {
        m.insert("name".into(), Value::Object(name));
    }
    put(&mut m, "displayName", &d.display_name);
    put(&mut m, "nickName", &d.nick_name);
    put(&mut m, "profileUrl", &d.profile_url);
    put(&mut m, "title", &d.title);
    put(&mut m, "userType", &d.user_type);
    put(&mut m, "preferredLanguage", &d.preferred_language);
    put(&mut m, "locale", &d.locale);
    put(&mut m, "timezone", &d.timezone);
    // Shown unless a client cleared it on purpose (which makes the user inactive).
    if let Some(active) = d.active {
        m.insert("active".into(), Value::Bool(active));
    }
    for attr in MultiAttr::ALL {
        let items: Vec<Value> = d
            .values_of(attr)
            .map(|v| {
                let mut e = Map::new();
                put(&mut e, "value", &v.value);
                put(&mut e, "display", &v.display);
                put(&mut e, "type", &v.kind);
                if let Some(a) = &v.address {
                    put(&mut e, "formatted", &a.formatted);
                    put(&mut e, "streetAddress", &a.street_address);
                    put(&mut e, "locality", &a.locality);
                    put(&mut e, "region", &a.region);
                    put(&mut e, "postalCode", &a.postal_code);
                    put(&mut e, "country", &a.country);
                }
                if let Some(p) = v.primary {
                    e.insert("primary".into(), Value::Bool(p));
                }
                Value::Object(e)
            })
            .collect();
        if !items.is_empty() {
            m.insert(attr.as_str().into(), Value::Array(items));
        }
    }
    if !d.roles.is_empty() {
        let roles: Vec<Value> = d
            .roles
            .iter()
            .map(|r| {
                let mut e = Map::new();
                e.insert("value".into(), Value::String(r.name.clone()));
                put(&mut e, "display", &r.display);
                put(&mut e, "type", &r.kind);
                if let Some(p) = r.primary {
                    e.insert("primary".into(), Value::Bool(p));
                }
                Value::Object(e)
            })
            .collect();
        m.insert("roles".into(), Value::Array(roles));
    }
    if let Some(groups) = groups {
        if !groups.is_empty() {
            let gs: Vec<Value> = groups
                .iter()
                .map(|g| {
                    json!({
                        "value": id_to_hex(g.id),
                        "$ref": cfg.url(&format!("/scim/v2/Groups/{}", id_to_hex(g.id))),
                        "display": g.display_name,
                        "type": if g.direct { "direct" } else { "indirect" },
                    })
                })
                .collect();
            m.insert("groups".into(), Value::Array(gs));
        }
    }
    let e = &d.enterprise;
    let mut ent = Map::new();
    put(&mut ent, "employeeNumber", &e.employee_number);
    put(&mut ent, "costCenter", &e.cost_center);
    put(&mut ent, "organization", &e.organization);
    put(&mut ent, "division", &e.division);
    put(&mut ent, "department", &e.department);
    if let Some(mgr) = &e.manager {
        let mut mo = Map::new();
        mo.insert("value".into(), Value::String(mgr.clone()));
        if id_from_hex(mgr).is_some() {
            mo.insert(
                "$ref".into(),
                Value::String(cfg.url(&format!("/scim/v2/Users/{mgr}"))),
            );
        }
        ent.insert("manager".into(), Value::Object(mo));
    }
    let mut schemas = vec![Value::String(USER_SCHEMA.into())];
    if !ent.is_empty() {
        schemas.push(Value::String(ENTERPRISE_SCHEMA.into()));
        m.insert(ENTERPRISE_SCHEMA.into(), Value::Object(ent));
    }
    put_extensions(&mut m, &mut schemas, &d.extensions);
    m.insert("schemas".into(), Value::Array(schemas));
    m.insert(
        "meta".into(),
        meta(
            cfg,
            "User",
            "Users",
            u.id,
            u.created_at,
            u.updated_at,
            u.version,
        ),
    );
    Value::Object(m)
}

/// Custom extension values under their URNs, each URN in `schemas`.
fn put_extensions(m: &mut Map<String, Value>, schemas: &mut Vec<Value>, ext: &Extensions) {
    for (urn, obj) in ext {
        if obj.as_object().is_some_and(|o| !o.is_empty()) {
            schemas.push(Value::String(urn.clone()));
            m.insert(urn.clone(), obj.clone());
        }
    }
}

/// The custom extension objects of canonical JSON: every URN key but the core and Enterprise
/// schemas (whose attributes are columns of their own).
pub fn extensions_of(j: &Value) -> Extensions {
    let mut out = Extensions::new();
    if let Value::Object(o) = j {
        for (k, v) in o {
            if crate::scim::normalize::is_urn(k)
                && ![USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA]
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(k))
                && v.as_object().is_some_and(|o| !o.is_empty())
            {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

fn s(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

/// A user's data from canonical (normalised) JSON. Vendor-only fields come from `vendor`
/// (the stored user's, or defaults), so SCIM never erases what another dialect wrote.
/// Returns the data and the cleartext password, if one was given.
pub fn user_data(j: &Value, vendor: VendorFields) -> ScimResult<(UserData, Option<String>)> {
    let name = j.get("name");
    let sub = |k: &str| s(name.and_then(|n| n.get(k)));
    let ent = j.get(ENTERPRISE_SCHEMA);
    let es = |k: &str| s(ent.and_then(|e| e.get(k)));
    let mut values = Vec::new();
    for attr in MultiAttr::ALL {
        if let Some(Value::Array(items)) = j.get(attr.as_str()) {
            for item in items {
                let address = (attr == MultiAttr::Addresses).then(|| Address {
                    formatted: s(item.get("formatted")),
                    street_address: s(item.get("streetAddress")),
                    locality: s(item.get("locality")),
                    region: s(item.get("region")),
                    postal_code: s(item.get("postalCode")),
                    country: s(item.get("country")),
                });
                values.push((
                    attr,
                    MultiValue {
                        value: s(item.get("value")),
                        display: s(item.get("display")),
                        kind: s(item.get("type")),
                        primary: item.get("primary").and_then(Value::as_bool),
                        address,
                    },
                ));
            }
        }
    }
    let mut roles: Vec<RoleValue> = Vec::new();
    if let Some(Value::Array(items)) = j.get("roles") {
        for item in items {
            let Some(name) = s(item.get("value")) else {
                return Err(ScimError::invalid_value("every role needs a value"));
            };
            if roles
                .iter()
                .any(|r| r.name.to_lowercase() == name.to_lowercase())
            {
                continue;
            }
            roles.push(RoleValue {
                name,
                display: s(item.get("display")),
                kind: s(item.get("type")),
                primary: item.get("primary").and_then(Value::as_bool),
            });
        }
    }
    let data = UserData {
        user_name: s(j.get("userName")),
        external_id: s(j.get("externalId")),
        display_name: s(j.get("displayName")),
        nick_name: s(j.get("nickName")),
        profile_url: s(j.get("profileUrl")),
        title: s(j.get("title")),
        user_type: s(j.get("userType")),
        preferred_language: s(j.get("preferredLanguage")),
        locale: s(j.get("locale")),
        timezone: s(j.get("timezone")),
        name: Name {
            formatted: sub("formatted"),
            family: sub("familyName"),
            given: sub("givenName"),
            middle: sub("middleName"),
            honorific_prefix: sub("honorificPrefix"),
            honorific_suffix: sub("honorificSuffix"),
        },
        active: j.get("active").and_then(Value::as_bool),
        enterprise: Enterprise {
            employee_number: es("employeeNumber"),
            cost_center: es("costCenter"),
            organization: es("organization"),
            division: es("division"),
            department: es("department"),
            manager: s(ent
                .and_then(|e| e.get("manager"))
                .and_then(|m| m.get("value"))),
        },
        values,
        roles,
        vendor,
        extensions: extensions_of(j),
    };
    Ok((data, s(j.get("password"))))
}

/// The full canonical representation of a group; `members` when loaded.
pub fn group_json(cfg: &Config, g: &Group) -> Value {
    let mut m = Map::new();
    let mut schemas = vec![Value::String(GROUP_SCHEMA.into())];
    put_extensions(&mut m, &mut schemas, &g.data.extensions);
    m.insert("schemas".into(), Value::Array(schemas));
    m.insert("id".into(), Value::String(id_to_hex(g.id)));
    put(&mut m, "externalId", &g.data.external_id);
    m.insert(
        "displayName".into(),
        Value::String(g.data.display_name.clone()),
    );
    if let Some(members) = &g.members {
        if !members.is_empty() {
            let ms: Vec<Value> = members
                .iter()
                .map(|mb| {
                    let (kind, endpoint) = match mb.kind {
                        MemberKind::User => ("User", "Users"),
                        MemberKind::Group => ("Group", "Groups"),
                    };
                    let mut e = Map::new();
                    e.insert("value".into(), Value::String(id_to_hex(mb.id)));
                    e.insert(
                        "$ref".into(),
                        Value::String(
                            cfg.url(&format!("/scim/v2/{endpoint}/{}", id_to_hex(mb.id))),
                        ),
                    );
                    // RFC 7643 §4.2: the member's displayName (a user without one: their
                    // userName), read with the membership rows.
                    if let Some(d) = &mb.display {
                        e.insert("display".into(), Value::String(d.clone()));
                    }
                    e.insert("type".into(), Value::String(kind.into()));
                    Value::Object(e)
                })
                .collect();
            m.insert("members".into(), Value::Array(ms));
        }
    }
    m.insert(
        "meta".into(),
        meta(
            cfg,
            "Group",
            "Groups",
            g.id,
            g.created_at,
            g.updated_at,
            g.version,
        ),
    );
    Value::Object(m)
}

/// A group's data from canonical JSON; `description`, `active` and the kind are not SCIM's
/// and stay as they were (`kept`; a new group's are `GroupData::default()`'s).
pub fn group_data(j: &Value, kept: &GroupData) -> GroupData {
    GroupData {
        display_name: s(j.get("displayName")).unwrap_or_default(),
        external_id: s(j.get("externalId")),
        description: kept.description.clone(),
        active: kept.active,
        kind: kept.kind,
        extensions: extensions_of(j),
    }
}

/// Member ids from a canonical `members` array.
pub fn member_ids(members: Option<&Value>) -> ScimResult<Vec<i64>> {
    let Some(Value::Array(items)) = members else {
        return Ok(vec![]);
    };
    items
        .iter()
        .map(|m| {
            let v = m.get("value").and_then(Value::as_str).unwrap_or("");
            id_from_hex(v).ok_or_else(|| {
                ScimError::invalid_value(format!("member {v:?} is not a user or group id"))
            })
        })
        .collect()
}
