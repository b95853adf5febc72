//! `/api/v1/roles`: the organization's roles, the same ones SCIM `roles` and Domo's `role`
//! read. One database trip per request, as for users.

use super::body::SumoJson;
use super::cursor::{self, After};
use super::error::{SumoError, SumoResult};
use super::model::{self, CreateRoleBody, SumoRole, SumoRoleList, UpdateRoleBody};
use crate::auth::schemes::BearerOrBasic;
use crate::directory::roles as dir;
use crate::directory::roles::RoleOrder;
use crate::directory::seam::{id_and, Dialect};
use crate::directory::{Conn, StoreError};
use crate::domain::{id_from_hex, RoleData, Scope};
use crate::request::AppState;

fn role_error(e: StoreError) -> SumoError {
    match e {
        StoreError::Invalid(m) if m.starts_with("user ") => SumoError::invalid("user_not_found", m),
        other => SumoError::about(other, "role"),
    }
}

fn user_ids(ids: &[String]) -> SumoResult<Vec<i64>> {
    ids.iter()
        .map(|s| {
            id_from_hex(s.trim()).ok_or_else(|| {
                SumoError::invalid("user_not_found", format!("User {s:?} does not exist."))
            })
        })
        .collect()
}

fn capabilities(c: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(c.len());
    for cap in c {
        let cap = cap.trim().to_string();
        if !out.contains(&cap) {
            out.push(cap);
        }
    }
    out
}

fn blank_none(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.is_empty())
}

pub struct ListParams {
    pub limit: Option<String>,
    pub token: Option<String>,
    pub sort_by: Option<String>,
    pub name: Option<String>,
}

pub async fn list(
    state: &AppState,
    auth: &BearerOrBasic,
    q: ListParams,
) -> SumoResult<SumoRoleList> {
    let keys = state.store.keys();
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let limit = cursor::limit(q.limit.as_deref())?;
            let by_name = match q.sort_by.as_deref().map(str::trim) {
                None | Some("") => false,
                Some("name") => true,
                Some(other) => {
                    return Err(SumoError::invalid(
                        "invalid_parameter",
                        format!("sortBy must be name, got {other:?}."),
                    ))
                }
            };
            let name = q.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
            let hash = cursor::query_hash(&[
                "roles",
                p.org_id.as_str(),
                if by_name { "name" } else { "" },
                name.unwrap_or("\u{0}"),
            ]);
            let after = cursor::token(q.token.as_deref())
                .map(|t| cursor::decode(conn, &keys, t, &hash))
                .transpose()?;
            let order = if by_name {
                RoleOrder::Name(after.map(|a| a.key))
            } else {
                RoleOrder::Id(after.map(|a| a.id))
            };
            let mut page = dir::page(conn, &p.org_id, name, &order, limit + 1)?;
            let more = page.len() as i64 > limit;
            page.truncate(limit as usize);
            let next = match page.last() {
                Some(last) if more => Some(cursor::encode(
                    conn,
                    &keys,
                    &hash,
                    &After {
                        key: last.role.name.to_lowercase(),
                        id: last.role.id,
                    },
                )?),
                _ => None,
            };
            Ok(SumoRoleList {
                data: page.iter().map(model::role).collect(),
                next,
            })
        })
        .await
}

pub async fn create(
    state: &AppState,
    auth: &BearerOrBasic,
    body: SumoJson<CreateRoleBody>,
) -> SumoResult<SumoRole> {
    state
        .trip(auth, Scope::UsersWrite)
        .judged(body.into_result(), move |conn, p, b| {
            let users = user_ids(b.users.as_deref().unwrap_or(&[]))?;
            let data = RoleData {
                name: b.name.trim().to_string(),
                description: blank_none(b.description),
                filter_predicate: blank_none(b.filter_predicate),
                capabilities: capabilities(b.capabilities.unwrap_or_default()),
            };
            let v = dir::create(conn, p, &data, &users).map_err(role_error)?;
            Ok(model::role(&v))
        })
        .await
}

pub async fn get(state: &AppState, auth: &BearerOrBasic, id: String) -> SumoResult<SumoRole> {
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn: &mut Conn, p| {
            let id = SumoError::id(&id, "role")?;
            let v = dir::get(conn, &p.org_id, id).map_err(role_error)?;
            Ok(model::role(&v))
        })
        .await
}

pub async fn update(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: SumoJson<UpdateRoleBody>,
) -> SumoResult<SumoRole> {
    state
        .trip(auth, Scope::UsersWrite)
        .judged(
            id_and(&id, "role", body.into_result()),
            move |conn, p, (id, b)| {
                let users = user_ids(&b.users)?;
                let data = RoleData {
                    name: b.name.trim().to_string(),
                    description: blank_none(Some(b.description)),
                    filter_predicate: blank_none(Some(b.filter_predicate)),
                    capabilities: capabilities(b.capabilities),
                };
                let v = dir::update(conn, p, id, &data, Some(&users)).map_err(role_error)?;
                Ok(model::role(&v))
            },
        )
        .await
}

pub async fn delete(state: &AppState, auth: &BearerOrBasic, id: String) -> SumoResult<()> {
    state
        .trip(auth, Scope::UsersWrite)
        .run(move |conn, p| {
            let id = SumoError::id(&id, "role")?;
            dir::delete(conn, p, id).map_err(role_error)
        })
        .await
}

pub async fn assign(
    state: &AppState,
    auth: &BearerOrBasic,
    role: String,
    user: String,
) -> SumoResult<SumoRole> {
    state
        .trip(auth, Scope::UsersWrite)
        .run(move |conn, p| {
            let rid = SumoError::id(&role, "role")?;
            let uid = SumoError::id(&user, "user")?;
            let v = dir::assign(conn, p, rid, uid).map_err(|e| match e {
                // The role was found first; a missing row now is the user's.
                StoreError::NotFound
                    if dir::name_of(conn, &p.org_id, rid).ok().flatten().is_some() =>
                {
                    SumoError::not_found("user_not_found", "The user does not exist.")
                }
                other => role_error(other),
            })?;
            Ok(model::role(&v))
        })
        .await
}

pub async fn unassign(
    state: &AppState,
    auth: &BearerOrBasic,
    role: String,
    user: String,
) -> SumoResult<()> {
    state
        .trip(auth, Scope::UsersWrite)
        .run(move |conn, p| {
            let rid = SumoError::id(&role, "role")?;
            let uid = SumoError::id(&user, "user")?;
            dir::unassign(conn, p, rid, uid).map_err(|e| match e {
                StoreError::NotFound => SumoError::not_found(
                    "role_assignment_not_found",
                    "The role or user does not exist, or the user does not hold the role.",
                ),
                other => role_error(other),
            })
        })
        .await
}
