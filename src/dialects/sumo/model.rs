//! Sumo Logic's wire types (`UserModel`, `RoleModel` and their request bodies), serde
//! names as Sumo spells them, and their translation from the canonical model.

use std::collections::HashMap;

use poem_openapi::Object;

use crate::directory::roles::RoleView;
use crate::domain::{id_to_hex, MultiAttr, User};

/// RFC 3339 in UTC with milliseconds, as Sumo shows times (`2021-09-23T11:34:07.255Z`).
pub fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `createdBy` / `modifiedBy`: the credential that made the change (Muster records
/// `dialect:credential`).
pub fn actor_id(a: Option<&str>) -> String {
    a.map(|a| a.split_once(':').map_or(a, |(_, c)| c).to_string())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoUser", rename_all = "camelCase")]
pub struct SumoUser {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role_ids: Vec<String>,
    pub created_at: String,
    pub created_by: String,
    pub modified_at: String,
    pub modified_by: String,
    /// SCIM `active`, Logto `!isSuspended`.
    pub is_active: bool,
    pub is_locked: bool,
    pub is_mfa_enabled: bool,
    pub last_login_timestamp: Option<String>,
}

/// A user as Sumo shows it; `role_ids` maps the user's lower-cased role names to ids.
pub fn user(u: &User, role_ids: Option<&HashMap<String, i64>>) -> SumoUser {
    let d = &u.data;
    let mut roles: Vec<String> = d
        .roles
        .iter()
        .filter_map(|r| role_ids?.get(&r.name.to_lowercase()).copied())
        .map(id_to_hex)
        .collect();
    roles.sort();
    SumoUser {
        id: id_to_hex(u.id),
        first_name: d.name.given.clone().unwrap_or_default(),
        last_name: d.name.family.clone().unwrap_or_default(),
        email: d
            .primary(MultiAttr::Emails)
            .and_then(|e| e.value.clone())
            .unwrap_or_default(),
        role_ids: roles,
        created_at: rfc3339(u.created_at),
        created_by: actor_id(u.created_by.as_deref()),
        modified_at: rfc3339(u.updated_at),
        modified_by: actor_id(u.modified_by.as_deref()),
        is_active: d.is_active(),
        is_locked: d.vendor.is_locked,
        is_mfa_enabled: d.vendor.mfa_enabled,
        last_login_timestamp: d.vendor.last_sign_in_at.map(rfc3339),
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoUserList")]
pub struct SumoUserList {
    pub data: Vec<SumoUser>,
    /// The token of the next page; null on the last.
    pub next: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoCreateUser", rename_all = "camelCase")]
pub struct CreateUserBody {
    /// 1 to 128 characters.
    pub first_name: String,
    /// 0 to 128 characters.
    pub last_name: String,
    /// At most 255 characters.
    pub email: String,
    /// Ids of roles of the organization.
    pub role_ids: Vec<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoUpdateUser", rename_all = "camelCase")]
pub struct UpdateUserBody {
    pub first_name: String,
    pub last_name: String,
    /// SCIM `active`; unchanged when absent.
    pub is_active: Option<bool>,
    /// Replace the user's roles; unchanged when absent.
    pub role_ids: Option<Vec<String>>,
    /// Ignored, as Sumo ignores it: use `email/requestChange`.
    pub email: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoEmailChange")]
pub struct EmailChangeBody {
    pub email: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoDisableMfa")]
pub struct DisableMfaBody {
    /// The target user's email.
    pub email: String,
    /// The target user's password.
    pub password: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoRole", rename_all = "camelCase")]
pub struct SumoRole {
    pub id: String,
    pub name: String,
    pub description: String,
    pub filter_predicate: String,
    /// Ids of the users holding the role.
    pub users: Vec<String>,
    pub capabilities: Vec<String>,
    pub created_at: String,
    pub created_by: String,
    pub modified_at: String,
    pub modified_by: String,
    pub system_defined: bool,
}

pub fn role(v: &RoleView) -> SumoRole {
    let r = &v.role;
    SumoRole {
        id: id_to_hex(r.id),
        name: r.name.clone(),
        description: r.description.clone().unwrap_or_default(),
        filter_predicate: r.filter_predicate.clone().unwrap_or_default(),
        users: v.users.iter().map(|u| id_to_hex(*u)).collect(),
        capabilities: r.capabilities.clone(),
        created_at: rfc3339(r.created_at),
        created_by: actor_id(r.created_by.as_deref()),
        modified_at: rfc3339(r.updated_at),
        modified_by: actor_id(r.modified_by.as_deref()),
        system_defined: r.system_defined,
    }
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoRoleList")]
pub struct SumoRoleList {
    pub data: Vec<SumoRole>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoCreateRole", rename_all = "camelCase")]
pub struct CreateRoleBody {
    /// 1 to 128 characters, unique in the organization (case-insensitively).
    pub name: String,
    /// At most 255 characters.
    pub description: Option<String>,
    pub filter_predicate: Option<String>,
    /// Ids of users to give the role.
    pub users: Option<Vec<String>>,
    pub capabilities: Option<Vec<String>>,
    /// Accepted; Muster stores capabilities exactly as given.
    pub autofill_dependencies: Option<bool>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoUpdateRole", rename_all = "camelCase")]
pub struct UpdateRoleBody {
    pub name: String,
    pub description: String,
    pub filter_predicate: String,
    /// The role's holders, exactly.
    pub users: Vec<String>,
    pub capabilities: Vec<String>,
    pub autofill_dependencies: Option<bool>,
}
