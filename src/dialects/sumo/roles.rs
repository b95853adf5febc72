//! `/api/v1/roles`: the organization's roles, the same ones SCIM `roles` and Domo's `role`
//! read. Each operation runs in its request's one trip, as for users.

use super::cursor::{self, After, Paging};
use super::error::{SumoError, SumoResult};
use super::model::{self, CreateRoleBody, SumoRole, SumoRoleList, UpdateRoleBody};
use crate::directory::roles as dir;
use crate::directory::roles::RoleOrder;
use crate::directory::seam::Dialect;
use crate::directory::{Caller, Conn, StoreError};
use crate::domain::{id_from_hex, RoleData};

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
    pub page: Paging,
    pub sort_by: Option<String>,
    pub name: Option<String>,
}

pub fn list(conn: &mut Conn, p: &Caller<'_>, q: ListParams) -> SumoResult<SumoRoleList> {
    let limit = q.page.limit()?;
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
    let after = q.page.after(conn, &hash)?;
    let order = if by_name {
        RoleOrder::Name(after.map(|a| a.key))
    } else {
        RoleOrder::Id(after.map(|a| a.id))
    };
    let mut page = dir::page(conn, &p.org_id, name, &order, limit + 1)?;
    let next = q.page.next(conn, &hash, &mut page, limit, |last| After {
        key: last.role.name.to_lowercase(),
        id: last.role.id,
    })?;
    Ok(SumoRoleList {
        data: page.iter().map(model::role).collect(),
        next,
    })
}

pub fn create(conn: &mut Conn, p: &Caller<'_>, b: CreateRoleBody) -> SumoResult<SumoRole> {
    let users = user_ids(b.users.as_deref().unwrap_or(&[]))?;
    let data = RoleData {
        name: b.name.trim().to_string(),
        description: blank_none(b.description),
        filter_predicate: blank_none(b.filter_predicate),
        capabilities: capabilities(b.capabilities.unwrap_or_default()),
    };
    let v = dir::create(conn, p, &data, &users).map_err(role_error)?;
    Ok(model::role(&v))
}

pub fn get(conn: &mut Conn, p: &Caller<'_>, id: i64) -> SumoResult<SumoRole> {
    let v = dir::get(conn, &p.org_id, id).map_err(role_error)?;
    Ok(model::role(&v))
}

pub fn update(
    conn: &mut Conn,
    p: &Caller<'_>,
    (id, b): (i64, UpdateRoleBody),
) -> SumoResult<SumoRole> {
    let users = user_ids(&b.users)?;
    let data = RoleData {
        name: b.name.trim().to_string(),
        description: blank_none(Some(b.description)),
        filter_predicate: blank_none(Some(b.filter_predicate)),
        capabilities: capabilities(b.capabilities),
    };
    let v = dir::update(conn, p, id, &data, Some(&users)).map_err(role_error)?;
    Ok(model::role(&v))
}

pub fn delete(conn: &mut Conn, p: &Caller<'_>, id: i64) -> SumoResult<()> {
    dir::delete(conn, p, id).map_err(role_error)
}

/// Give role `rid` to user `uid`.
pub fn assign(conn: &mut Conn, p: &Caller<'_>, (rid, uid): (i64, i64)) -> SumoResult<SumoRole> {
    let v = dir::assign(conn, p, rid, uid).map_err(|e| match e {
        // The role was found first; a missing row now is the user's.
        StoreError::NotFound if dir::name_of(conn, &p.org_id, rid).ok().flatten().is_some() => {
            SumoError::not_found("user_not_found", "The user does not exist.")
        }
        other => role_error(other),
    })?;
    Ok(model::role(&v))
}

/// Take role `rid` from user `uid`.
pub fn unassign(conn: &mut Conn, p: &Caller<'_>, (rid, uid): (i64, i64)) -> SumoResult<()> {
    dir::unassign(conn, p, rid, uid).map_err(|e| match e {
        StoreError::NotFound => SumoError::not_found(
            "role_assignment_not_found",
            "The role or user does not exist, or the user does not hold the role.",
        ),
        other => role_error(other),
    })
}
