//! `/v1/groups`: groups as pydomo uses them — create, read, list, update, delete, and a
//! group's users (add, remove, list ids). The same groups SCIM serves; each handler makes
//! one database trip.

use super::body::{paging, path_id, DomoBody, Field};
use super::error::{store_error, DomoError, DomoResult};
use super::model::{group_json, DomoGroup, DomoGroupInput, GroupFields};
use super::users::caller;
use crate::auth::schemes::BearerOrBasic;
use crate::directory::groups::{self as dir, Members, Missing};
use crate::directory::Expect;
use crate::directory::{Conn, StoreError};
use crate::domain::{Group, GroupData, MemberChange, Scope};
use crate::request::AppState;

fn group_error(e: StoreError, what: &str) -> DomoError {
    match e {
        StoreError::NotFound => DomoError::not_found(format!("{what} not found")),
        StoreError::Conflict(_) => {
            DomoError::conflict(format!("{what}: a group of that name already exists"))
        }
        other => store_error(other, "group"),
    }
}

fn render(conn: &mut Conn, groups: &[Group]) -> DomoResult<Vec<DomoGroup>> {
    let counts = dir::user_counts(conn, groups)?;
    Ok(groups
        .iter()
        .map(|g| group_json(g, counts.get(&g.id).copied().unwrap_or(0)))
        .collect())
}

fn render_one(conn: &mut Conn, g: Group) -> DomoResult<DomoGroup> {
    let id = g.id;
    render(conn, &[g])?
        .pop()
        .ok_or_else(|| DomoError::not_found(format!("group {id} not found")))
}

pub async fn create(
    state: &AppState,
    auth: &BearerOrBasic,
    body: DomoBody<DomoGroupInput>,
) -> DomoResult<DomoGroup> {
    let cfg = state.config.clone();
    state
        .call(auth, Some(Scope::UsersWrite), move |conn, p| {
            let f = GroupFields::parse(&body.object()?)?;
            let Field::Set(name) = f.name else {
                return Err(DomoError::bad_request("name is required"));
            };
            let data = GroupData {
                display_name: name.clone(),
                active: f.active.set().unwrap_or(true),
                ..GroupData::default()
            };
            let g = dir::create(conn, &caller(&cfg, &p), &data, &[])
                .map_err(|e| group_error(e, &format!("group {name:?}")))?;
            Ok(group_json(&g, 0))
        })
        .await
}

pub async fn get(state: &AppState, auth: &BearerOrBasic, id: String) -> DomoResult<DomoGroup> {
    state
        .call(auth, Some(Scope::UsersRead), move |conn, p| {
            let id = path_id(&id, "group")?;
            let g = dir::get(conn, &p.org_id, id, Members::Skip)
                .map_err(|e| group_error(e, &format!("group {id}")))?;
            render_one(conn, g)
        })
        .await
}

pub async fn list(
    state: &AppState,
    auth: &BearerOrBasic,
    limit: Option<String>,
    offset: Option<String>,
) -> DomoResult<Vec<DomoGroup>> {
    state
        .call(auth, Some(Scope::UsersRead), move |conn, p| {
            let (limit, offset) = paging(limit.as_deref(), offset.as_deref())?;
            let groups = dir::page(conn, &p.org_id, offset, limit)?;
            render(conn, &groups)
        })
        .await
}

pub async fn update(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: DomoBody<DomoGroupInput>,
) -> DomoResult<DomoGroup> {
    let cfg = state.config.clone();
    state
        .call(auth, Some(Scope::UsersWrite), move |conn, p| {
            let id = path_id(&id, "group")?;
            let f = GroupFields::parse(&body.object()?)?;
            let changed = dir::update(
                conn,
                &caller(&cfg, &p),
                id,
                &Expect::Any,
                Members::Skip,
                Members::Skip,
                |g: &Group| {
                    let mut data = g.data.clone();
                    if let Field::Set(n) = &f.name {
                        data.display_name = n.clone();
                    }
                    if let Field::Set(a) = f.active {
                        data.active = a;
                    }
                    Ok::<_, StoreError>((data, MemberChange::default()))
                },
            )
            .map_err(|e| group_error(e, &format!("group {id}")))?;
            render_one(conn, changed.value)
        })
        .await
}

pub async fn delete(state: &AppState, auth: &BearerOrBasic, id: String) -> DomoResult<()> {
    let cfg = state.config.clone();
    state
        .call(auth, Some(Scope::UsersWrite), move |conn, p| {
            let id = path_id(&id, "group")?;
            dir::delete(conn, &caller(&cfg, &p), id, &Expect::Any)
                .map_err(|e| group_error(e, &format!("group {id}")))
        })
        .await
}

/// Add (`add`) or remove a user of a group, both named by path.
pub async fn member(
    state: &AppState,
    auth: &BearerOrBasic,
    group: String,
    user: String,
    add: bool,
) -> DomoResult<()> {
    let cfg = state.config.clone();
    state
        .call(auth, Some(Scope::UsersWrite), move |conn, p| {
            let gid = path_id(&group, "group")?;
            let uid = path_id(&user, "user")?;
            let who = caller(&cfg, &p);
            let outcome = if add {
                dir::add_user(conn, &who, gid, uid)
            } else {
                dir::remove_user(conn, &who, gid, uid)
            }
            .map_err(|e| group_error(e, &format!("group {gid}")))?;
            match outcome {
                Ok(_) => Ok(()),
                Err(Missing::Group) => Err(DomoError::not_found(format!("group {gid} not found"))),
                Err(Missing::User) => Err(DomoError::not_found(format!("user {uid} not found"))),
            }
        })
        .await
}

pub async fn users(
    state: &AppState,
    auth: &BearerOrBasic,
    group: String,
    limit: Option<String>,
    offset: Option<String>,
) -> DomoResult<Vec<i64>> {
    state
        .call(auth, Some(Scope::UsersRead), move |conn, p| {
            let gid = path_id(&group, "group")?;
            let (limit, offset) = paging(limit.as_deref(), offset.as_deref())?;
            dir::user_ids(conn, &p.org_id, gid, offset, limit)
                .map_err(|e| group_error(e, &format!("group {gid}")))
        })
        .await
}
