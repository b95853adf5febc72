//! `/v1/users`: create, read, list, update, delete. Each operation runs in its request's one
//! database trip, which the route (`super::DomoApi`) makes after parsing what the request
//! carries (a bad credential is a 401 first): it runs the directory operation and renders
//! the user.

use std::collections::HashMap;

use super::body::{flag, Field};
use super::error::{DomoError, DomoResult};
use super::model::{user_json, DomoUser, UserFields, BUILTIN_ROLES};
use crate::config::Config;
use crate::directory::seam::Dialect;
use crate::directory::users::{self as dir, Groups};
use crate::directory::{roles, Expect};
use crate::directory::{Caller, Conn, StoreError, StoreResult};
use crate::domain::{GroupRef, OrgId, User, UserData};

/// A store error about user `id` (or the user being created, by email).
fn user_error(e: StoreError, what: &str) -> DomoError {
    match e {
        StoreError::NotFound => DomoError::not_found(format!("{what} not found")),
        StoreError::Conflict(_) => DomoError::conflict(format!(
            "{what}: the email is already the email or login name of another user"
        )),
        StoreError::Taken(f) => DomoError::conflict(format!("{what}: {}", f.taken_message())),
        other => DomoError::about(other, "user"),
    }
}

/// Render users with their role ids (one statement for all of them).
fn render(
    conn: &mut Conn,
    cfg: &Config,
    org: &OrgId,
    users: &[User],
    groups: &HashMap<i64, Vec<GroupRef>>,
) -> DomoResult<Vec<DomoUser>> {
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let role_ids = roles::ids_of_users(conn, org, &ids)?;
    Ok(users
        .iter()
        .map(|u| {
            let g = groups.get(&u.id).map(Vec::as_slice).unwrap_or(&[]);
            user_json(cfg, u, g, role_ids.get(&u.id))
        })
        .collect())
}

fn render_one(
    conn: &mut Conn,
    cfg: &Config,
    u: User,
    groups: Vec<GroupRef>,
) -> DomoResult<DomoUser> {
    let org = u.org_id.clone();
    let id = u.id;
    let mut out = render(conn, cfg, &org, &[u], &HashMap::from([(id, groups)]))?;
    out.pop()
        .ok_or_else(|| DomoError::not_found(format!("user {id} not found")))
}

/// The role a body names, resolved in the organization; `None` when it names none.
fn role_of(conn: &mut Conn, org: &OrgId, f: &UserFields) -> DomoResult<Option<String>> {
    match f.role_ref()? {
        None => Ok(None),
        Some(r) => Ok(Some(
            roles::resolve(conn, org, &r, &BUILTIN_ROLES)
                .map_err(|e| DomoError::about(e, "role"))?,
        )),
    }
}

/// `sendInvite`: pydomo sends `True`/`False`; other SDKs `true`/`false`.
pub fn send_invite(v: Option<&str>) -> DomoResult<bool> {
    match v.map(str::trim) {
        None | Some("") => Ok(false),
        Some(s) => flag(s).ok_or_else(|| {
            DomoError::bad_request(format!("sendInvite must be true or false, got {s:?}"))
        }),
    }
}

/// A user to create, and whether to record an invitation (`sendInvite`).
pub struct NewUser {
    pub fields: UserFields,
    pub invite: bool,
}

pub fn create(conn: &mut Conn, p: &Caller<'_>, cfg: &Config, new: NewUser) -> DomoResult<DomoUser> {
    let (f, invite) = (new.fields, new.invite);
    f.check_create()?;
    let role = role_of(conn, &p.org_id, &f)?;
    let mut data = UserData {
        active: Some(true),
        ..UserData::default()
    };
    f.apply(&mut data, role)
        .map_err(|e| DomoError::about(e, "user"))?;
    let email = match &f.email {
        Field::Set(e) => e.clone(),
        _ => String::new(),
    };
    let u = if invite {
        dir::create_and_invite(conn, p, &data)
    } else {
        dir::create(conn, p, &data, None)
    }
    .map_err(|e| user_error(e, &format!("user {email}")))?;
    render_one(conn, cfg, u, vec![])
}

pub fn get(conn: &mut Conn, p: &Caller<'_>, cfg: &Config, id: i64) -> DomoResult<DomoUser> {
    let v = dir::get(conn, &p.org_id, id, Groups::Load)
        .map_err(|e| user_error(e, &format!("user {id}")))?;
    render_one(conn, cfg, v.user, v.groups.unwrap_or_default())
}

/// A page of users, `limit` from `offset`.
pub fn list(
    conn: &mut Conn,
    p: &Caller<'_>,
    cfg: &Config,
    (limit, offset): (i64, i64),
) -> DomoResult<Vec<DomoUser>> {
    let page = dir::page(conn, &p.org_id, offset, limit, Groups::Load)?;
    render(conn, cfg, &p.org_id, &page.users, &page.groups)
}

pub fn update(
    conn: &mut Conn,
    p: &Caller<'_>,
    cfg: &Config,
    (id, f): (i64, UserFields),
) -> DomoResult<DomoUser> {
    let role = role_of(conn, &p.org_id, &f)?;
    let changed = dir::update(conn, p, id, &Expect::Any, None, |u: &User| {
        let mut d = u.data.clone();
        f.apply(&mut d, role)?;
        Ok::<_, StoreError>(d)
    })
    .map_err(|e| user_error(e, &format!("user {id}")))?;
    let groups = dir::groups_of(conn, &p.org_id, id)?;
    render_one(conn, cfg, changed.value, groups)
}

pub fn delete(conn: &mut Conn, p: &Caller<'_>, id: i64) -> DomoResult<()> {
    dir::delete(conn, p, id, &Expect::Any).map_err(|e| user_error(e, &format!("user {id}")))
}

/// The user as `GET /v1/users/{id}` returns it (for the console's side-by-side page,
/// `request::UserViews`).
pub fn console_view(
    conn: &mut Conn,
    cfg: &Config,
    u: &User,
    groups: &[GroupRef],
) -> StoreResult<serde_json::Value> {
    let role_ids = roles::ids_of_users(conn, &u.org_id, &[u.id])?;
    let d = user_json(cfg, u, groups, role_ids.get(&u.id));
    Ok(poem_openapi::types::ToJSON::to_json(&d).unwrap_or_default())
}
