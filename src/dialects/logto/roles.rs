//! Logto's roles (`/api/roles`) and a user's roles (`/api/users/{userId}/roles`) over
//! Muster's one roles model: a role granted here is the role SCIM's `roles`, Sumo Logic's
//! `roleIds`, Domo's `roleId` and the console show. Logto's role is `{tenantId, id, name,
//! description, type, isDefault}`; Muster's roles are all user roles (`type` `User`), none is
//! given by default (`isDefault` false), and their capabilities are not Logto's API-resource
//! scopes (`scopeIds` is refused). Each operation is one trip, as for users.

use std::collections::HashSet;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use regex::Regex;

use super::body::LogtoJson;
use super::error::{LogtoError, LogtoResult};
use super::model::NoContent;
use super::query::{self, Listing, Page, Pairs};
use super::users::user_missing;
use crate::auth::schemes::BearerOrBasic;
use crate::directory::read::{Groups, Joint, Mode};
use crate::directory::roles::{self as dir, RoleView};
use crate::directory::seam::Dialect;
use crate::directory::users as dir_users;
use crate::directory::{Caller, Conn, StoreError};
use crate::domain::{id_from_hex, id_to_hex, MultiAttr, RoleData, Scope};
use crate::request::AppState;

/// A Logto role.
#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoRole", rename_all = "camelCase")]
pub struct LogtoRole {
    /// The organization.
    pub tenant_id: String,
    /// The role's canonical id (16 hex digits, as SCIM and Sumo Logic show it).
    pub id: String,
    pub name: String,
    /// `""` when the role has none.
    pub description: String,
    /// Always `User`: Muster's roles are user roles.
    #[oai(rename = "type")]
    pub kind: String,
    /// Always false: Muster gives no role by default.
    pub is_default: bool,
}

/// A user shown with a role in `GET /api/roles`.
#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoFeaturedUser", rename_all = "camelCase")]
pub struct FeaturedUser {
    pub id: String,
    pub avatar: Option<String>,
    pub name: Option<String>,
}

/// A role as `GET /api/roles` lists it: with how many users hold it and up to three of them.
#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoRoleListed", rename_all = "camelCase")]
pub struct LogtoRoleListed {
    #[oai(flatten)]
    pub role: LogtoRole,
    pub users_count: i64,
    pub featured_users: Vec<FeaturedUser>,
    /// Always 0: Muster's roles are not given to applications.
    pub applications_count: i64,
    /// Always empty.
    pub featured_applications: Vec<serde_json::Value>,
}

#[derive(ApiResponse)]
pub enum RolesResponse {
    /// A page of roles.
    #[oai(status = 200)]
    Ok(
        Json<Vec<LogtoRoleListed>>,
        #[oai(header = "Total-Number")] String,
        #[oai(header = "Link")] String,
    ),
}

#[derive(ApiResponse)]
pub enum UserRolesResponse {
    /// A page of the user's roles.
    #[oai(status = 200)]
    Ok(
        Json<Vec<LogtoRole>>,
        #[oai(header = "Total-Number")] String,
        #[oai(header = "Link")] String,
    ),
}

#[derive(ApiResponse)]
pub enum RoleResponse {
    /// The role.
    #[oai(status = 200)]
    Ok(Json<LogtoRole>),
}

/// `POST /api/roles`.
#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoNewRole", rename_all = "camelCase")]
pub struct NewRoleBody {
    /// 1 to 128 characters, unique in the organization (case-insensitively).
    pub name: String,
    /// At most 128 characters.
    pub description: String,
    /// `User` (the only kind Muster has).
    #[oai(rename = "type")]
    pub kind: Option<String>,
    /// Only false.
    pub is_default: Option<bool>,
    /// Only empty: Muster's roles carry capabilities, not API-resource scopes.
    pub scope_ids: Option<Vec<String>>,
}

/// `PATCH /api/roles/{id}`.
#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoRolePatch", rename_all = "camelCase")]
pub struct RolePatchBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_default: Option<bool>,
}

/// `POST` / `PUT /api/users/{userId}/roles`.
#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoRoleIds", rename_all = "camelCase")]
pub struct RoleIdsBody {
    pub role_ids: Vec<String>,
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoRolesAdded", rename_all = "camelCase")]
pub struct RolesAdded {
    pub role_ids: Vec<String>,
    pub added_role_ids: Vec<String>,
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoRolesReplaced", rename_all = "camelCase")]
pub struct RolesReplaced {
    pub role_ids: Vec<String>,
}

#[derive(ApiResponse)]
pub enum RolesAddedResponse {
    /// The roles asked for, and those the user did not hold already.
    #[oai(status = 201)]
    Created(Json<RolesAdded>),
}

#[derive(ApiResponse)]
pub enum RolesReplacedResponse {
    /// The user's roles now.
    #[oai(status = 200)]
    Ok(Json<RolesReplaced>),
}

fn render(org: &str, v: &RoleView) -> LogtoRole {
    LogtoRole {
        tenant_id: org.to_string(),
        id: id_to_hex(v.role.id),
        name: v.role.name.clone(),
        description: v.role.description.clone().unwrap_or_default(),
        kind: "User".into(),
        is_default: false,
    }
}

/// A role id as Logto's routes take it: the canonical id (16 hex digits, or the integer
/// Domo shows). `None` for a string that cannot be one.
fn role_id(s: &str) -> Option<i64> {
    id_from_hex(s).or_else(|| s.parse::<i64>().ok().filter(|v| *v > 0))
}

fn role_missing(id: &str) -> LogtoError {
    LogtoError::not_found("roles", id)
}

/// Failures of a role write in Logto's words.
fn role_error(e: StoreError, name: &str, id: &str) -> LogtoError {
    match e {
        StoreError::Conflict(_) => LogtoError::unprocessable(
            "role.name_in_use",
            &format!("This role name {name} is already in use"),
        ),
        StoreError::NotFound => role_missing(id),
        StoreError::Invalid(m) => LogtoError::input(m),
        other => LogtoError::from(other),
    }
}

/// The fields a role search looks in, as Logto's role queries name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoleField {
    Id,
    Name,
    Description,
}

const ROLE_FIELDS: [RoleField; 3] = [RoleField::Id, RoleField::Name, RoleField::Description];

fn role_field(name: &str) -> Result<RoleField, LogtoError> {
    match name {
        "id" => Ok(RoleField::Id),
        "name" => Ok(RoleField::Name),
        "description" => Ok(RoleField::Description),
        other => Err(LogtoError::input(format!(
            "Search field `{}` is not valid, expect one of id, name, description.",
            query::snake(other)
        ))),
    }
}

/// One `search` key compiled: its fields and what matches (values for `exact`, otherwise
/// one expression).
struct RoleMatch {
    fields: Vec<RoleField>,
    exact: Option<Vec<String>>,
    pattern: Option<Regex>,
}

/// A role search (`search`, `search.<field>`, `mode`, `mode.<field>`, `joint`,
/// `isCaseSensitive`) as Logto's search parameters say, matched over the organization's
/// roles as PostgreSQL would: `like` as SQL `LIKE` (no implicit wildcards), `exact`,
/// `similar_to` (case-sensitive only), `posix`.
struct RoleSearch {
    matches: Vec<RoleMatch>,
    joint: Joint,
    case_sensitive: bool,
}

/// A LIKE pattern as an anchored regular expression (`None` for a lone trailing `\`).
fn like_regex(like: &str) -> Option<String> {
    let mut out = String::from("^(?:");
    let mut chars = like.chars();
    let mut buf = [0u8; 4];
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str(&regex::escape(chars.next()?.encode_utf8(&mut buf))),
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            c => out.push_str(&regex::escape(c.encode_utf8(&mut buf))),
        }
    }
    out.push_str(")$");
    Some(out)
}

fn role_search(pairs: &Pairs) -> LogtoResult<RoleSearch> {
    let joint = match query::first(pairs, "joint").or_else(|| query::first(pairs, "jointMode")) {
        None | Some("") | Some("or") => Joint::Or,
        Some("and") => Joint::And,
        Some(other) => {
            return Err(LogtoError::input(format!(
                "Search joint mode `{other}` is not valid, expect one of or, and."
            )))
        }
    };
    let case_sensitive = query::flag(pairs, "isCaseSensitive")?;
    let mut global = Mode::Like;
    let mut modes: Vec<(RoleField, Mode)> = vec![];
    let mut keys: Vec<(Option<RoleField>, Vec<String>)> = vec![];
    for (k, v) in pairs {
        if k.starts_with("mode") {
            let f = query::key_field(k)?;
            let m = query::mode(v, f)?;
            match f {
                None => global = m,
                Some(f) => {
                    if let Ok(f) = role_field(f) {
                        modes.push((f, m))
                    }
                }
            }
        } else if k.starts_with("search") {
            let target = query::key_field(k)?.map(role_field).transpose()?;
            match keys.iter_mut().find(|(t, _)| *t == target) {
                Some((_, vals)) => vals.push(v.clone()),
                None => keys.push((target, vec![v.clone()])),
            }
        }
    }
    let mut matches = vec![];
    for (target, values) in keys {
        let mode = target
            .and_then(|f| modes.iter().rev().find(|(g, _)| *g == f).map(|(_, m)| *m))
            .unwrap_or(global);
        if mode != Mode::Exact && values.len() > 1 {
            return Err(LogtoError::input(
                "Only one search value is allowed when search mode is not `exact`.",
            ));
        }
        if values.iter().any(String::is_empty) {
            return Err(LogtoError::input("Search value cannot be empty."));
        }
        let bad = |e: String| LogtoError::input(format!("invalid regular expression: {e}"));
        let fold = |re: String| {
            if case_sensitive {
                re
            } else {
                format!("(?i){re}")
            }
        };
        let (exact, pattern) = match mode {
            Mode::Exact => (Some(values), None),
            Mode::Like => {
                let re = like_regex(&values[0]).ok_or_else(|| {
                    LogtoError::input("A like pattern cannot end with the escape character \\.")
                })?;
                (None, Some(re))
            }
            Mode::SimilarTo => {
                if !case_sensitive {
                    return Err(LogtoError::input(
                        "Cannot use case-insensitive match for `similar to`.",
                    ));
                }
                let re = crate::directory::regexp::similar_to(&values[0]);
                (None, Some(re))
            }
            Mode::Posix => (None, Some(values[0].clone())),
        };
        let pattern = pattern
            .map(|p| crate::directory::regexp::compile(&fold(p)).map_err(|e| bad(e.to_string())))
            .transpose()?;
        matches.push(RoleMatch {
            fields: target.map_or(ROLE_FIELDS.to_vec(), |f| vec![f]),
            exact,
            pattern,
        });
    }
    Ok(RoleSearch {
        matches,
        joint,
        case_sensitive,
    })
}

impl RoleSearch {
    fn admits(&self, role: &LogtoRole) -> bool {
        if self.matches.is_empty() {
            return true;
        }
        let value = |f: RoleField| match f {
            RoleField::Id => role.id.as_str(),
            RoleField::Name => role.name.as_str(),
            RoleField::Description => role.description.as_str(),
        };
        let one = |m: &RoleMatch| {
            m.fields.iter().any(|f| {
                let v = value(*f);
                match (&m.exact, &m.pattern) {
                    (Some(vals), _) if self.case_sensitive => vals.iter().any(|x| x == v),
                    (Some(vals), _) => vals.iter().any(|x| x.to_lowercase() == v.to_lowercase()),
                    (None, Some(re)) => re.is_match(v),
                    (None, None) => false,
                }
            })
        };
        match self.joint {
            Joint::Or => self.matches.iter().any(one),
            Joint::And => self.matches.iter().all(one),
        }
    }
}

/// The ids of the roles user `uid` holds.
fn held(conn: &mut Conn, p: &Caller<'_>, uid: i64) -> LogtoResult<Vec<i64>> {
    let ids = dir::ids_of_users(conn, &p.org_id, &[uid])?;
    let mut out: Vec<i64> = ids
        .get(&uid)
        .map(|m| m.values().copied().collect())
        .unwrap_or_default();
    out.sort_unstable();
    Ok(out)
}

/// A page of `roles` with the headers Logto's pagination writes.
fn paged<T: Clone>(
    items: Vec<T>,
    pairs: &Pairs,
    base: &str,
) -> LogtoResult<(Vec<T>, String, String)> {
    let page = Page::parse(pairs)?;
    let total = items.len() as i64;
    let out: Vec<T> = items
        .into_iter()
        .skip(page.offset().max(0) as usize)
        .take(page.size as usize)
        .collect();
    let link = page.link(base, pairs, total);
    Ok((out, total.to_string(), link))
}

/// `GET /api/roles`: the organization's roles in id order, paged and searched as Logto's;
/// `excludeUserId` leaves out the roles that user holds, `type=MachineToMachine` finds none.
pub async fn list(
    state: &AppState,
    auth: &BearerOrBasic,
    l: Listing,
) -> LogtoResult<RolesResponse> {
    let Listing { pairs, base } = l;
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            Page::parse(&pairs)?;
            let search = role_search(&pairs)?;
            let kind = query::value(&pairs, "type");
            if let Some(k) = kind.filter(|k| !matches!(*k, "User" | "MachineToMachine")) {
                return Err(LogtoError::guard(
                    "query",
                    "type",
                    format!(
                        "Invalid enum value. Expected 'User' | 'MachineToMachine', received '{k}'"
                    ),
                ));
            }
            let excluded: HashSet<i64> =
                match query::value(&pairs, "excludeUserId").and_then(id_from_hex) {
                    Some(uid) => held(conn, p, uid)?.into_iter().collect(),
                    None => HashSet::new(),
                };
            let org = p.org_id.as_str().to_string();
            let roles: Vec<RoleView> = if kind == Some("MachineToMachine") {
                vec![]
            } else {
                dir::all(conn, &p.org_id)?
                    .into_iter()
                    .filter(|v| !excluded.contains(&v.role.id))
                    .filter(|v| search.admits(&render(&org, v)))
                    .collect()
            };
            let (page, total, link) = paged(roles, &pairs, &base)?;
            let mut out = Vec::with_capacity(page.len());
            for v in &page {
                let mut featured = vec![];
                for uid in v.users.iter().take(3) {
                    let u = dir_users::get(conn, &p.org_id, *uid, Groups::Skip)?.user;
                    featured.push(FeaturedUser {
                        id: id_to_hex(u.id),
                        avatar: u
                            .data
                            .primary(MultiAttr::Photos)
                            .and_then(|v| v.value.clone()),
                        name: u.data.display_name.clone(),
                    });
                }
                out.push(LogtoRoleListed {
                    role: render(&org, v),
                    users_count: v.users.len() as i64,
                    featured_users: featured,
                    applications_count: 0,
                    featured_applications: vec![],
                });
            }
            Ok(RolesResponse::Ok(Json(out), total, link))
        })
        .await
}

fn check_name(name: &str) -> LogtoResult<()> {
    if name.trim().is_empty() || name.chars().count() > 128 || name.contains('\0') {
        return Err(LogtoError::body(
            "name",
            "(too_big) String must contain 1 to 128 character(s)",
        ));
    }
    Ok(())
}

fn check_description(d: &str) -> LogtoResult<()> {
    if d.chars().count() > 128 || d.contains('\0') {
        return Err(LogtoError::body(
            "description",
            "(too_big) String must contain at most 128 character(s)",
        ));
    }
    Ok(())
}

fn check_default(is_default: Option<bool>) -> LogtoResult<()> {
    if is_default == Some(true) {
        return Err(LogtoError::body(
            "isDefault",
            "Muster gives no role by default: only false",
        ));
    }
    Ok(())
}

/// `POST /api/roles` (200, as Logto answers).
pub async fn create(
    state: &AppState,
    auth: &BearerOrBasic,
    body: LogtoJson<NewRoleBody>,
) -> LogtoResult<RoleResponse> {
    state
        .trip(auth, Scope::UsersWrite)
        .judged(body.into_result(), move |conn, p, b| {
            check_name(&b.name)?;
            check_description(&b.description)?;
            if let Some(k) = b.kind.as_deref().filter(|k| *k != "User") {
                return Err(LogtoError::body(
                    "type",
                    format!("Muster's roles are user roles: only `User`, not `{k}`"),
                ));
            }
            check_default(b.is_default)?;
            if b.scope_ids.as_ref().is_some_and(|s| !s.is_empty()) {
                return Err(LogtoError::body(
                    "scopeIds",
                    "Muster's roles carry capabilities, not API-resource scopes: only []",
                ));
            }
            let data = RoleData {
                name: b.name.trim().to_string(),
                description: Some(b.description.clone()).filter(|d| !d.is_empty()),
                filter_predicate: None,
                capabilities: vec![],
            };
            let v = dir::create(conn, p, &data, &[]).map_err(|e| role_error(e, &b.name, ""))?;
            Ok(RoleResponse::Ok(Json(render(p.org_id.as_str(), &v))))
        })
        .await
}

pub async fn get(state: &AppState, auth: &BearerOrBasic, id: String) -> LogtoResult<RoleResponse> {
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let rid = role_id(&id).ok_or_else(|| role_missing(&id))?;
            let v = dir::get(conn, &p.org_id, rid).map_err(|e| role_error(e, "", &id))?;
            Ok(RoleResponse::Ok(Json(render(p.org_id.as_str(), &v))))
        })
        .await
}

/// `PATCH /api/roles/{id}`: `name` and `description` change; the role's capabilities and
/// holders stay.
pub async fn update(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: LogtoJson<RolePatchBody>,
) -> LogtoResult<RoleResponse> {
    state
        .trip(auth, Scope::UsersWrite)
        .judged(body.into_result(), move |conn, p, b| {
            if let Some(n) = &b.name {
                check_name(n)?;
            }
            if let Some(d) = &b.description {
                check_description(d)?;
            }
            check_default(b.is_default)?;
            let rid = role_id(&id).ok_or_else(|| role_missing(&id))?;
            let current = dir::get(conn, &p.org_id, rid).map_err(|e| role_error(e, "", &id))?;
            let name = b
                .name
                .as_deref()
                .map(str::trim)
                .unwrap_or(&current.role.name);
            let data = RoleData {
                name: name.to_string(),
                description: match &b.description {
                    Some(d) => Some(d.clone()).filter(|d| !d.is_empty()),
                    None => current.role.description.clone(),
                },
                filter_predicate: current.role.filter_predicate.clone(),
                capabilities: current.role.capabilities.clone(),
            };
            let v = dir::update(conn, p, rid, &data, None).map_err(|e| role_error(e, name, &id))?;
            Ok(RoleResponse::Ok(Json(render(p.org_id.as_str(), &v))))
        })
        .await
}

pub async fn delete(state: &AppState, auth: &BearerOrBasic, id: String) -> LogtoResult<NoContent> {
    state
        .trip(auth, Scope::UsersWrite)
        .run(move |conn, p| {
            let rid = role_id(&id).ok_or_else(|| role_missing(&id))?;
            dir::delete(conn, p, rid).map_err(|e| role_error(e, "", &id))?;
            Ok(NoContent::NoContent)
        })
        .await
}

/// The user `id` names, checked to be one of the organization's (404 `entity.not_found`).
fn user_of(conn: &mut Conn, p: &Caller<'_>, id: &str) -> LogtoResult<i64> {
    let uid = LogtoError::id(id, "users")?;
    if !dir_users::exists(conn, &p.org_id, uid)? {
        return Err(LogtoError::resource_missing());
    }
    Ok(uid)
}

/// The role ids of a body, each a role of the organization (404
/// `entity.not_exists_with_id` naming the first that is not), in order, once each.
fn roles_of(conn: &mut Conn, p: &Caller<'_>, ids: &[String]) -> LogtoResult<Vec<(String, i64)>> {
    let mut out: Vec<(String, i64)> = vec![];
    for s in ids {
        if s.is_empty() {
            return Err(LogtoError::body(
                "roleIds",
                "(too_small) String must contain at least 1 character(s)",
            ));
        }
    }
    for s in ids {
        let rid = role_id(s).ok_or_else(|| role_missing(s))?;
        if dir::name_of(conn, &p.org_id, rid)?.is_none() {
            return Err(role_missing(s));
        }
        if !out.iter().any(|(_, r)| *r == rid) {
            out.push((s.clone(), rid));
        }
    }
    Ok(out)
}

/// `GET /api/users/{userId}/roles`: the roles the user holds, paged and searched as
/// `GET /api/roles`.
pub async fn of_user(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    l: Listing,
) -> LogtoResult<UserRolesResponse> {
    let Listing { pairs, base } = l;
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let uid = user_of(conn, p, &id)?;
            Page::parse(&pairs)?;
            let search = role_search(&pairs)?;
            let holds: HashSet<i64> = held(conn, p, uid)?.into_iter().collect();
            let org = p.org_id.as_str().to_string();
            let roles: Vec<LogtoRole> = dir::all(conn, &p.org_id)?
                .iter()
                .filter(|v| holds.contains(&v.role.id))
                .map(|v| render(&org, v))
                .filter(|r| search.admits(r))
                .collect();
            let (page, total, link) = paged(roles, &pairs, &base)?;
            Ok(UserRolesResponse::Ok(Json(page), total, link))
        })
        .await
}

/// `POST /api/users/{userId}/roles`: give the user these roles (those held stay); 201 with
/// the ids asked for and those newly given.
pub async fn add_to_user(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: LogtoJson<RoleIdsBody>,
) -> LogtoResult<RolesAddedResponse> {
    state
        .trip(auth, Scope::UsersWrite)
        .judged(body.into_result(), move |conn, p, b| {
            let uid = user_of(conn, p, &id)?;
            let holds = held(conn, p, uid)?;
            let wanted = roles_of(conn, p, &b.role_ids)?;
            let add: Vec<&(String, i64)> =
                wanted.iter().filter(|(_, r)| !holds.contains(r)).collect();
            let ids: Vec<i64> = add.iter().map(|(_, r)| *r).collect();
            if !ids.is_empty() {
                dir::change_of_user(conn, p, uid, &ids, &[])
                    .map_err(LogtoError::from)
                    .map_err(user_missing(&id))?;
            }
            Ok(RolesAddedResponse::Created(Json(RolesAdded {
                role_ids: b.role_ids,
                added_role_ids: add.iter().map(|(s, _)| s.clone()).collect(),
            })))
        })
        .await
}

/// `PUT /api/users/{userId}/roles`: the user holds exactly these roles.
pub async fn replace_of_user(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: LogtoJson<RoleIdsBody>,
) -> LogtoResult<RolesReplacedResponse> {
    state
        .trip(auth, Scope::UsersWrite)
        .judged(body.into_result(), move |conn, p, b| {
            let uid = user_of(conn, p, &id)?;
            let holds = held(conn, p, uid)?;
            let wanted = roles_of(conn, p, &b.role_ids)?;
            let add: Vec<i64> = wanted
                .iter()
                .map(|(_, r)| *r)
                .filter(|r| !holds.contains(r))
                .collect();
            let remove: Vec<i64> = holds
                .iter()
                .copied()
                .filter(|r| !wanted.iter().any(|(_, w)| w == r))
                .collect();
            if !add.is_empty() || !remove.is_empty() {
                dir::change_of_user(conn, p, uid, &add, &remove)
                    .map_err(LogtoError::from)
                    .map_err(user_missing(&id))?;
            }
            let mut ids: Vec<String> = vec![];
            for s in b.role_ids {
                if !ids.contains(&s) {
                    ids.push(s);
                }
            }
            Ok(RolesReplacedResponse::Ok(Json(RolesReplaced {
                role_ids: ids,
            })))
        })
        .await
}

/// `DELETE /api/users/{userId}/roles/{roleId}`: 204; 404 `entity.not_found` when the user
/// does not hold the role (or either does not exist), as Logto answers.
pub async fn remove_from_user(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    role: String,
) -> LogtoResult<NoContent> {
    state
        .trip(auth, Scope::UsersWrite)
        .run(move |conn, p| {
            let missing = LogtoError::resource_missing;
            let uid = LogtoError::id(&id, "users").map_err(|_| missing())?;
            let rid = role_id(&role).ok_or_else(missing)?;
            if !dir_users::exists(conn, &p.org_id, uid)? || !held(conn, p, uid)?.contains(&rid) {
                return Err(missing());
            }
            dir::change_of_user(conn, p, uid, &[], &[rid]).map_err(|e| match e {
                StoreError::NotFound => missing(),
                other => other.into(),
            })?;
            Ok(NoContent::NoContent)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_searches_match_as_logto_queries() {
        let role = LogtoRole {
            tenant_id: "o".into(),
            id: "00000000000000AB".into(),
            name: "Editor".into(),
            description: "Edits things".into(),
            kind: "User".into(),
            is_default: false,
        };
        let admits = |q: &str| role_search(&query::pairs(Some(q))).unwrap().admits(&role);
        assert!(admits(""));
        assert!(admits("search=%25edit%25"));
        assert!(!admits("search=edit"));
        assert!(admits("search.name=editor&mode.name=exact"));
        assert!(!admits(
            "search.name=editor&mode.name=exact&isCaseSensitive=true"
        ));
        assert!(admits("search.description=%5EEdits&mode=posix"));
        assert!(admits(
            "search.name=Ed%25&mode=similar_to&isCaseSensitive=true"
        ));
        assert!(!admits(
            "search.name=x&search.description=Edits%25&joint=and"
        ));
        for bad in [
            "search.age=1",
            "search=a&search=b",
            "search=",
            "mode=fuzzy&search=a",
        ] {
            assert!(role_search(&query::pairs(Some(bad))).is_err(), "{bad}");
        }
    }
}
