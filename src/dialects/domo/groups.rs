//! `/v1/groups`: groups as pydomo uses them — create, read, list, update, delete, and a
//! group's users (add, remove, list ids). The same groups SCIM serves; each operation runs
//! in its request's one database trip, as for users.

use super::body::Field;
use super::error::{DomoError, DomoResult};
use super::model::{group_json, DomoGroup, GroupFields};
use crate::directory::groups::{self as dir, Members, Missing};
use crate::directory::seam::Dialect;
use crate::directory::Expect;
use crate::directory::{Caller, Conn, StoreError, StoreResult};
use crate::domain::{Group, GroupData, MemberChange};

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

pub fn create(conn: &mut Conn, p: &Caller<'_>, f: GroupFields) -> DomoResult<DomoGroup> {
    let Field::Set(name) = f.name else {
        return Err(DomoError::bad_request("name is required"));
    };
    let data = GroupData {
        display_name: name.clone(),
        active: f.active.set().unwrap_or(true),
        ..GroupData::default()
    };
    let g =
        dir::create(conn, p, &data, &[]).map_err(|e| group_error(e, &format!("group {name:?}")))?;
    Ok(group_json(&g, 0))
}

pub fn get(conn: &mut Conn, p: &Caller<'_>, id: i64) -> DomoResult<DomoGroup> {
    let g = dir::get(conn, &p.org_id, id, Members::Skip)
        .map_err(|e| group_error(e, &format!("group {id}")))?;
    render_one(conn, g)
}

/// A page of groups, `limit` from `offset`.
pub fn list(
    conn: &mut Conn,
    p: &Caller<'_>,
    (limit, offset): (i64, i64),
) -> DomoResult<Vec<DomoGroup>> {
    let groups = dir::page(conn, &p.org_id, offset, limit)?;
    render(conn, &groups)
}

pub fn update(
    conn: &mut Conn,
    p: &Caller<'_>,
    (id, f): (i64, GroupFields),
) -> DomoResult<DomoGroup> {
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
}

pub fn delete(conn: &mut Conn, p: &Caller<'_>, id: i64) -> DomoResult<()> {
    dir::delete(conn, p, id, &Expect::Any).map_err(|e| group_error(e, &format!("group {id}")))
}

/// Add user `uid` to group `gid`.
pub fn add_user(conn: &mut Conn, p: &Caller<'_>, (gid, uid): (i64, i64)) -> DomoResult<()> {
    membership(dir::add_user(conn, p, gid, uid), gid, uid)
}

/// Remove user `uid` from group `gid`.
pub fn remove_user(conn: &mut Conn, p: &Caller<'_>, (gid, uid): (i64, i64)) -> DomoResult<()> {
    membership(dir::remove_user(conn, p, gid, uid), gid, uid)
}

/// What a change of membership came to: done (or nothing to do), or which of the two is
/// missing.
fn membership<T>(outcome: StoreResult<Result<T, Missing>>, gid: i64, uid: i64) -> DomoResult<()> {
    match outcome.map_err(|e| group_error(e, &format!("group {gid}")))? {
        Ok(_) => Ok(()),
        Err(Missing::Group) => Err(DomoError::not_found(format!("group {gid} not found"))),
        Err(Missing::User) => Err(DomoError::not_found(format!("user {uid} not found"))),
    }
}

/// The ids of a page of the group's users, `limit` from `offset`.
pub fn users(
    conn: &mut Conn,
    p: &Caller<'_>,
    (gid, (limit, offset)): (i64, (i64, i64)),
) -> DomoResult<Vec<i64>> {
    dir::user_ids(conn, &p.org_id, gid, offset, limit)
        .map_err(|e| group_error(e, &format!("group {gid}")))
}
