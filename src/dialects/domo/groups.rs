//! `/v1/groups`: groups as pydomo uses them — create, read, list, update, delete, and a
//! group's users (add, remove, list ids). The same groups SCIM serves; each handler makes
//! one database trip.

use super::body::{paging, DomoBody, Field};
use super::error::{DomoError, DomoResult};
use super::model::{group_json, DomoGroup, DomoGroupInput, GroupFields};
use crate::auth::schemes::BearerOrBasic;
use crate::directory::groups::{self as dir, Members, Missing};
use crate::directory::seam::{id_and, Dialect};
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
        other => DomoError::about(other, "group"),
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
    state
        .trip(auth, Scope::UsersWrite)
        .judged(
            body.object().and_then(|o| GroupFields::parse(&o)),
            move |conn, p, f| {
                let Field::Set(name) = f.name else {
                    return Err(DomoError::bad_request("name is required"));
                };
                let data = GroupData {
                    display_name: name.clone(),
                    active: f.active.set().unwrap_or(true),
                    ..GroupData::default()
                };
                let g = dir::create(conn, p, &data, &[])
                    .map_err(|e| group_error(e, &format!("group {name:?}")))?;
                Ok(group_json(&g, 0))
            },
        )
        .await
}

pub async fn get(state: &AppState, auth: &BearerOrBasic, id: String) -> DomoResult<DomoGroup> {
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let id = DomoError::id(&id, "group")?;
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
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
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
    state
        .trip(auth, Scope::UsersWrite)
        .judged(
            id_and(
                &id,
                "group",
                body.object().and_then(|o| GroupFields::parse(&o)),
            ),
            move |conn, p, (id, f)| {
                let changed = dir::update(
                    conn,
                    p,
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
            },
        )
        .await
}

pub async fn delete(state: &AppState, auth: &BearerOrBasic, id: String) -> DomoResult<()> {
    state
        .trip(auth, Scope::UsersWrite)
        .run(move |conn, p| {
            let id = DomoError::id(&id, "group")?;
            dir::delete(conn, p, id, &Expect::Any)
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
    state
        .trip(auth, Scope::UsersWrite)
        .run(move |conn, p| {
            let gid = DomoError::id(&group, "group")?;
            let uid = DomoError::id(&user, "user")?;
            let who = p;
            let outcome = if add {
                dir::add_user(conn, who, gid, uid)
            } else {
                dir::remove_user(conn, who, gid, uid)
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
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let gid = DomoError::id(&group, "group")?;
            let (limit, offset) = paging(limit.as_deref(), offset.as_deref())?;
            dir::user_ids(conn, &p.org_id, gid, offset, limit)
                .map_err(|e| group_error(e, &format!("group {gid}")))
        })
        .await
}
