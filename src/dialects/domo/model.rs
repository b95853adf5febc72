//! Domo's objects on the wire (field names as Domo spells them) and their translation to and
//! from the one data model.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use poem_openapi::Object;
use serde_json::{Map, Value};

use super::body::{self, Field};
use super::error::DomoResult;
use crate::config::Config;
use crate::directory::roles::RoleRef;
use crate::directory::{StoreError, StoreResult};
use crate::domain::{Address, Group, GroupRef, MultiAttr, MultiValue, RoleValue, User, UserData};

/// Domo's built-in roles; custom roles are the organization's roles (SCIM `roles`, Sumo's
/// roles API), named by name or `roleId`.
pub const BUILTIN_ROLES: [&str; 3] = ["Admin", "Privileged", "Participant"];

/// A group a user belongs to.
#[derive(Debug, Clone, Object)]
pub struct DomoGroupLink {
    pub id: i64,
    pub name: String,
}

/// A Domo user.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DomoUser {
    /// The user's id (the canonical id; SCIM shows it as 16 hex digits).
    pub id: i64,
    /// Display name.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// Primary email.
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    /// `Admin`, `Privileged`, `Participant` or a custom role's name.
    #[oai(skip_serializing_if_is_none)]
    pub role: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub role_id: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub title: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub alternate_email: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub phone: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub location: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub timezone: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub locale: Option<String>,
    /// A number when it is an integer, else the string given.
    #[oai(skip_serializing_if_is_none)]
    pub employee_number: Option<Value>,
    /// The groups the user is directly in.
    pub groups: Vec<DomoGroupLink>,
    /// The avatar URL: the user's primary photo, else Domo's avatar path under this server.
    pub image: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`
    pub created_at: String,
    pub updated_at: String,
}

/// The body of `POST /v1/users` and `PUT /v1/users/{id}`. On create `name`, `email` and a
/// role (`role` or `roleId`) are required; on update omitted fields keep their value and
/// `null` (or `""`) clears an optional one.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DomoUserInput {
    pub name: Option<String>,
    pub email: Option<String>,
    /// `Admin`, `Privileged`, `Participant` or a custom role's name.
    pub role: Option<String>,
    /// A role's id; takes precedence over `role`.
    pub role_id: Option<i64>,
    pub title: Option<String>,
    pub alternate_email: Option<String>,
    pub phone: Option<String>,
    pub location: Option<String>,
    pub timezone: Option<String>,
    pub locale: Option<String>,
    /// A number or a string.
    pub employee_number: Option<Value>,
}

/// A Domo group.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DomoGroup {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub default: bool,
    /// Users directly in the group.
    pub member_count: i64,
}

/// The body of `POST /v1/groups` (`name` required) and `PUT /v1/groups/{id}` (omitted
/// fields keep their value).
#[derive(Debug, Clone, Object)]
pub struct DomoGroupInput {
    pub name: Option<String>,
    /// A boolean, or the string `"true"`/`"false"` (pydomo sends `"true"`).
    pub active: Option<Value>,
}

fn timestamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The index of the alternate email: the first `other` email that is not the primary one.
fn alternate_index(d: &UserData) -> Option<usize> {
    let primary = d.primary_index(MultiAttr::Emails);
    d.values.iter().enumerate().position(|(i, (a, v))| {
        Some(i) != primary
            && *a == MultiAttr::Emails
            && v.kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("other"))
    })
}

fn location_of(v: &MultiValue) -> Option<String> {
    let a = v.address.as_ref()?;
    a.formatted.clone().or_else(|| a.locality.clone())
}

/// An employee number as Domo shows it: a number when it is a plain integer.
fn employee_number(s: &str) -> Value {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    match s.parse::<i64>() {
        Ok(n) if canonical => Value::from(n),
        _ => Value::String(s.to_string()),
    }
}

/// A user as Domo shows it. `role_ids` maps the user's lower-cased role names to role ids.
pub fn user_json(
    cfg: &Config,
    u: &User,
    groups: &[GroupRef],
    role_ids: Option<&HashMap<String, i64>>,
) -> DomoUser {
    let d = &u.data;
    let value_at = |i: Option<usize>| i.and_then(|i| d.values[i].1.value.clone());
    let role = d
        .roles
        .iter()
        .find(|r| r.primary == Some(true))
        .or_else(|| d.roles.first());
    let image = d
        .primary(MultiAttr::Photos)
        .and_then(|p| p.value.clone())
        .unwrap_or_else(|| cfg.url(&format!("/avatar/thumb/domo/{}", u.id)));
    DomoUser {
        id: u.id,
        name: d.display_name.clone().or_else(|| d.name.formatted.clone()),
        email: value_at(d.primary_index(MultiAttr::Emails)),
        role: role.map(|r| r.name.clone()),
        role_id: role.and_then(|r| role_ids?.get(&r.name.to_lowercase()).copied()),
        title: d.title.clone(),
        alternate_email: value_at(alternate_index(d)),
        phone: value_at(d.primary_index(MultiAttr::PhoneNumbers)),
        location: d
            .primary_index(MultiAttr::Addresses)
            .and_then(|i| location_of(&d.values[i].1)),
        timezone: d.timezone.clone(),
        locale: d.locale.clone(),
        employee_number: d.enterprise.employee_number.as_deref().map(employee_number),
        groups: groups
            .iter()
            .filter(|g| g.direct)
            .map(|g| DomoGroupLink {
                id: g.id,
                name: g.display_name.clone(),
            })
            .collect(),
        image,
        created_at: timestamp(u.created_at),
        updated_at: timestamp(u.updated_at),
    }
}

pub fn group_json(g: &Group, member_count: i64) -> DomoGroup {
    DomoGroup {
        id: g.id,
        name: g.data.display_name.clone(),
        active: g.data.active,
        default: g.is_default,
        member_count,
    }
}

/// A parsed user body.
#[derive(Debug, Clone)]
pub struct UserFields {
    pub name: Field<String>,
    pub email: Field<String>,
    pub role: Field<String>,
    pub role_id: Field<i64>,
    pub title: Field<String>,
    pub alternate_email: Field<String>,
    pub phone: Field<String>,
    pub location: Field<String>,
    pub timezone: Field<String>,
    pub locale: Field<String>,
    pub employee_number: Field<String>,
}

fn check_email(key: &str, f: &Field<String>) -> DomoResult<()> {
    if let Field::Set(e) = f {
        let ok = e.len() <= 320
            && !e.chars().any(char::is_whitespace)
            && e.split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        if !ok {
            return Err(super::error::DomoError::bad_request(format!(
                "{key} {e:?} is not an email address"
            )));
        }
    }
    Ok(())
}

impl UserFields {
    pub fn parse(o: &Map<String, Value>) -> DomoResult<UserFields> {
        let f = UserFields {
            name: body::text(o, "name")?,
            email: body::text(o, "email")?,
            role: body::text(o, "role")?,
            role_id: body::id(o, "roleId")?,
            title: body::text(o, "title")?,
            alternate_email: body::text(o, "alternateEmail")?,
            phone: body::text(o, "phone")?,
            location: body::text(o, "location")?,
            timezone: body::text(o, "timezone")?,
            locale: body::text(o, "locale")?,
            employee_number: body::text_or_number(o, "employeeNumber")?,
        };
        check_email("email", &f.email)?;
        check_email("alternateEmail", &f.alternate_email)?;
        Ok(f)
    }

    /// The role the body names (`roleId` first), if any; `null` is refused, since a Domo
    /// user always has a role.
    pub fn role_ref(&self) -> DomoResult<Option<RoleRef>> {
        let refused = || {
            super::error::DomoError::bad_request(
                "a user always has a role: give role or roleId, not null",
            )
        };
        match (&self.role_id, &self.role) {
            (Field::Set(id), _) => Ok(Some(RoleRef::Id(*id))),
            (_, Field::Set(name)) => Ok(Some(RoleRef::Name(name.clone()))),
            (Field::Null, _) | (_, Field::Null) => Err(refused()),
            _ => Ok(None),
        }
    }

    /// What a create requires.
    pub fn check_create(&self) -> DomoResult<()> {
        for (key, present) in [
            ("name", matches!(self.name, Field::Set(_))),
            ("email", matches!(self.email, Field::Set(_))),
            (
                "role",
                matches!(self.role, Field::Set(_)) || matches!(self.role_id, Field::Set(_)),
            ),
        ] {
            if !present {
                return Err(super::error::DomoError::bad_request(format!(
                    "{key} is required"
                )));
            }
        }
        Ok(())
    }

    /// Write the fields the body gives over `d`; `role` is the resolved role name, if the
    /// body names one (it replaces the user's roles: a Domo user has one).
    pub fn apply(&self, d: &mut UserData, role: Option<String>) -> StoreResult<()> {
        let required = |key: &str, f: &Field<String>| match f {
            Field::Null => Err(StoreError::Invalid(format!("{key} cannot be empty"))),
            _ => Ok(()),
        };
        required("name", &self.name)?;
        required("email", &self.email)?;
        if let Field::Set(n) = &self.name {
            d.display_name = Some(n.clone());
        }
        set_primary(d, MultiAttr::Emails, &self.email);
        set_alternate(d, &self.alternate_email);
        set_primary(d, MultiAttr::PhoneNumbers, &self.phone);
        set_location(d, &self.location);
        let put = |slot: &mut Option<String>, f: &Field<String>| match f {
            Field::Absent => {}
            Field::Null => *slot = None,
            Field::Set(v) => *slot = Some(v.clone()),
        };
        put(&mut d.title, &self.title);
        put(&mut d.timezone, &self.timezone);
        put(&mut d.locale, &self.locale);
        put(&mut d.enterprise.employee_number, &self.employee_number);
        if let Some(name) = role {
            d.roles = vec![RoleValue {
                name,
                display: None,
                kind: None,
                primary: None,
            }];
        }
        Ok(())
    }
}

/// A Domo field onto the user's primary value of `attr`: absent keeps it, null clears it.
fn set_primary(d: &mut UserData, attr: MultiAttr, f: &Field<String>) {
    match f {
        Field::Absent => {}
        Field::Null => d.set_primary(attr, None, Some("work")),
        Field::Set(v) => d.set_primary(attr, Some(v.clone()), Some("work")),
    }
}

fn set_alternate(d: &mut UserData, f: &Field<String>) {
    let at = alternate_index(d);
    let values = &mut d.values;
    match (f, at) {
        (Field::Absent, _) | (Field::Null, None) => {}
        (Field::Null, Some(i)) => {
            values.remove(i);
        }
        (Field::Set(v), Some(i)) => values[i].1.value = Some(v.clone()),
        (Field::Set(v), None) => values.push((
            MultiAttr::Emails,
            MultiValue {
                value: Some(v.clone()),
                kind: Some("other".into()),
                primary: Some(false),
                ..MultiValue::default()
            },
        )),
    }
}

fn set_location(d: &mut UserData, f: &Field<String>) {
    let at = d.primary_index(MultiAttr::Addresses);
    let values = &mut d.values;
    match (f, at) {
        (Field::Absent, _) | (Field::Null, None) => {}
        (Field::Null, Some(i)) => {
            values.remove(i);
        }
        (Field::Set(v), Some(i)) => {
            let a = values[i].1.address.get_or_insert_with(Address::default);
            a.formatted = Some(v.clone());
        }
        (Field::Set(v), None) => values.push((
            MultiAttr::Addresses,
            MultiValue {
                kind: Some("work".into()),
                primary: Some(true),
                address: Some(Address {
                    formatted: Some(v.clone()),
                    ..Address::default()
                }),
                ..MultiValue::default()
            },
        )),
    }
}

/// A parsed group body.
#[derive(Debug, Clone)]
pub struct GroupFields {
    pub name: Field<String>,
    pub active: Field<bool>,
}

impl GroupFields {
    pub fn parse(o: &Map<String, Value>) -> DomoResult<GroupFields> {
        let f = GroupFields {
            name: body::text(o, "name")?,
            active: body::boolean(o, "active")?,
        };
        if f.name == Field::Null {
            return Err(super::error::DomoError::bad_request("name cannot be empty"));
        }
        if f.active == Field::Null {
            return Err(super::error::DomoError::bad_request(
                "active must be true or false",
            ));
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> UserFields {
        UserFields::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn a_domo_body_maps_onto_the_one_model_and_back() {
        let f = fields(
            json!({"name": "Ann", "email": "ann@example.com", "role": "Admin",
            "alternateEmail": "ann@home.example", "phone": "+1 555", "location": "Provo",
            "employeeNumber": 23432, "title": "CFO"}),
        );
        let mut d = UserData::default();
        f.apply(&mut d, Some("Admin".into())).unwrap();
        assert_eq!(
            d.primary(MultiAttr::Emails).unwrap().value.as_deref(),
            Some("ann@example.com")
        );
        let cfg = Config::for_base_url("http://127.0.0.1:1").unwrap();
        let u = User {
            id: 7,
            org_id: crate::domain::OrgId::parse("default").unwrap(),
            data: d.clone(),
            has_password: false,
            version: 1,
            created_at: NaiveDateTime::default(),
            updated_at: NaiveDateTime::default(),
            created_by: None,
            modified_by: None,
        };
        let out = user_json(&cfg, &u, &[], None);
        assert_eq!(out.alternate_email.as_deref(), Some("ann@home.example"));
        assert_eq!(out.location.as_deref(), Some("Provo"));
        assert_eq!(out.employee_number, Some(json!(23432)));
        assert_eq!(out.role.as_deref(), Some("Admin"));
        assert_eq!(out.created_at, "1970-01-01T00:00:00Z");

        // Clearing the alternate email leaves the primary one.
        let clear = fields(json!({"alternateEmail": null, "employeeNumber": "007"}));
        clear.apply(&mut d, None).unwrap();
        assert_eq!(d.values_of(MultiAttr::Emails).count(), 1);
        assert_eq!(employee_number("007"), json!("007"));
    }

    #[test]
    fn bodies_are_checked() {
        let bad = |v: Value| {
            UserFields::parse(v.as_object().unwrap())
                .unwrap_err()
                .message
        };
        assert!(bad(json!({"email": "nope"})).contains("not an email"));
        assert!(bad(json!({"name": 5})).contains("must be a string"));
        assert!(bad(json!({"roleId": "Admin"})).contains("positive integer"));
        let f = fields(json!({"name": "x"}));
        assert!(f.check_create().unwrap_err().message.contains("email"));
        let f = fields(json!({"role": null}));
        assert!(f.role_ref().is_err());
    }
}
