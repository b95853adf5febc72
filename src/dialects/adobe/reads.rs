//! The reads: users and groups by page (the page a 0-based path segment, `lastPage` in the
//! body, the counts in `X-*` headers), one user by email or username, and the deprecated
//! `/{orgId}/users` and `/{orgId}/user-groups` reads. A page past the end is the last page.

use serde_json::{json, Value};

use super::error::{AdobeError, AdobeResult};
use super::model;
use super::Paged;
use crate::directory::groups as dg;
use crate::directory::read::Among;
use crate::directory::users::{self as du, Groups};
use crate::directory::{Conn, StoreError, StoreResult};
use crate::domain::{Group, GroupKind, Principal};

/// Users and groups per page. Adobe's own pages are up to 2000 users; the client's comment
/// says 200, which is what Muster serves.
pub const PAGE_SIZE: i64 = 200;

fn invalid(message: impl Into<String>) -> AdobeError {
    AdobeError::bad_request("error.request.invalid", message)
}

/// A boolean query value: `true`/`false` in any case (Python's client sends `True`).
pub fn flag(v: Option<&str>, name: &str, default: bool) -> AdobeResult<bool> {
    match v.map(str::trim) {
        None | Some("") => Ok(default),
        Some(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(s) => Err(invalid(format!("{name} must be true or false, got {s:?}"))),
    }
}

/// A name from a path or query: no NUL (PostgreSQL text cannot hold one), at most 255
/// characters.
fn name_param(s: &str, what: &str) -> AdobeResult<()> {
    if s.contains('\0') || s.chars().count() > 255 {
        return Err(invalid(format!(
            "{what} must be at most 255 characters, without NUL"
        )));
    }
    Ok(())
}

/// A 0-based page number.
fn page_number(s: &str) -> AdobeResult<i64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!(
            "the page must be a number from 0, got {s:?}"
        )));
    }
    s.parse::<i64>()
        .map_err(|_| invalid(format!("the page must be a number from 0, got {s:?}")))
}

fn optional_page(v: Option<&str>) -> AdobeResult<i64> {
    match v {
        None => Ok(0),
        Some(s) => page_number(s),
    }
}

/// The page to serve: the one asked for, or the last when it is past the end.
fn clamp(page: i64, total: i64) -> i64 {
    let last = ((total + PAGE_SIZE - 1) / PAGE_SIZE - 1).max(0);
    page.min(last)
}

/// One page of a list as served: its items, how many there are in all, and which page it
/// is (the last one when the page asked for is past the end).
struct Served<T> {
    items: Vec<T>,
    total: i64,
    page: i64,
}

type UserWithGroups = (crate::domain::User, Option<Vec<crate::domain::GroupRef>>);

/// What the users reads take from the request, as given: the page, and the query
/// parameters the read has (the others `None`).
#[derive(Default)]
pub struct UsersQuery {
    pub page: String,
    pub domain: Option<String>,
    pub direct_only: Option<String>,
    pub group: Option<String>,
    pub exclude_groups: Option<String>,
    pub status: Option<String>,
}

/// A window of users `among` shows, on page `page` or (past the end) the last page.
fn user_page(
    conn: &mut Conn,
    p: &Principal,
    among: &Among,
    page: i64,
    groups: Groups,
) -> AdobeResult<Served<UserWithGroups>> {
    let (mut loaded, mut total) =
        du::page_among(conn, &p.org_id, among, page * PAGE_SIZE, PAGE_SIZE, groups)?;
    let mut served = page;
    if loaded.users.is_empty() && page > 0 && total > 0 {
        served = clamp(page, total);
        (loaded, total) = du::page_among(
            conn,
            &p.org_id,
            among,
            served * PAGE_SIZE,
            PAGE_SIZE,
            groups,
        )?;
    }
    let users = loaded
        .users
        .into_iter()
        .map(|u| {
            let g = match groups {
                Groups::Load => Some(loaded.groups.remove(&u.id).unwrap_or_default()),
                Groups::Skip => None,
            };
            (u, g)
        })
        .collect();
    Ok(Served {
        items: users,
        total,
        page: served,
    })
}

fn last_page(served: i64, total: i64) -> bool {
    (served + 1) * PAGE_SIZE >= total
}

/// `/users/{orgId}/{page}` and `/users/{orgId}/{page}/{group}`.
pub fn users(conn: &mut Conn, p: &Principal, q: UsersQuery) -> AdobeResult<Paged> {
    let page = page_number(&q.page)?;
    let direct_only = flag(q.direct_only.as_deref(), "directOnly", true)?;
    let exclude_groups = flag(q.exclude_groups.as_deref(), "excludeGroups", false)?;
    let active = match q.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) if s.eq_ignore_ascii_case("active") => Some(true),
        Some(s) if s.eq_ignore_ascii_case("inactive") => Some(false),
        Some(s) => {
            return Err(invalid(format!(
                "status must be active or inactive, got {s:?}"
            )))
        }
    };
    let mut among = Among {
        domain: q
            .domain
            .as_deref()
            .map(|d| d.trim().to_lowercase())
            .filter(|d| !d.is_empty()),
        group: None,
        active,
    };
    if let Some(d) = &among.domain {
        name_param(d, "domain")?;
    }
    let mut group_name = None;
    if let Some(name) = &q.group {
        name_param(name, "the group name")?;
        let found = dg::find_by_names(conn, &p.org_id, std::slice::from_ref(name))?;
        let Some(g) = found.get(&name.to_lowercase()) else {
            return Err(AdobeError::group_not_found(name));
        };
        among.group = Some((g.id, !direct_only));
        group_name = Some(g.data.display_name.clone());
    }
    let groups = if exclude_groups {
        Groups::Skip
    } else {
        Groups::Load
    };
    let Served {
        items: users,
        total,
        page: served,
    } = user_page(conn, p, &among, page, groups)?;
    let list: Vec<Value> = users
        .iter()
        .map(|(u, g)| model::user_json(u, g.as_ref(), direct_only))
        .collect();
    let mut body = json!({
        "lastPage": last_page(served, total),
        "result": "success",
    });
    if let Some(n) = group_name {
        body["groupName"] = Value::String(n);
    }
    body["users"] = Value::Array(list);
    Ok(Paged {
        body,
        total,
        page: served,
        size: PAGE_SIZE,
    })
}

/// `/organizations/{orgId}/users/{userString}`.
pub fn user(conn: &mut Conn, p: &Principal, key: &str, domain: Option<&str>) -> AdobeResult<Value> {
    let key = key.trim();
    name_param(key, "the user")?;
    let not_found = || AdobeError::user_not_found(key);
    let Some(id) = du::find_by_key(conn, &p.org_id, key)? else {
        return Err(not_found());
    };
    let view = du::get(conn, &p.org_id, id, Groups::Load).map_err(|e| match e {
        StoreError::NotFound => not_found(),
        other => other.into(),
    })?;
    // `domain` narrows a username to one domain (`AdobeID` names no domain of ours).
    if let Some(d) = domain.map(str::trim).filter(|d| !d.is_empty()) {
        if !d.eq_ignore_ascii_case("AdobeID")
            && model::domain(&view.user).is_some_and(|ud| !ud.eq_ignore_ascii_case(d))
        {
            return Err(not_found());
        }
    }
    Ok(json!({
        "result": "success",
        "user": model::user_json(&view.user, view.groups.as_ref(), true),
    }))
}

fn group_page(
    conn: &mut Conn,
    p: &Principal,
    kinds: &[GroupKind],
    page: i64,
) -> AdobeResult<Served<(Group, i64)>> {
    let (mut groups, mut total) =
        dg::page_of_kinds(conn, &p.org_id, kinds, page * PAGE_SIZE, PAGE_SIZE)?;
    let mut served = page;
    if groups.is_empty() && page > 0 && total > 0 {
        served = clamp(page, total);
        (groups, total) = dg::page_of_kinds(conn, &p.org_id, kinds, served * PAGE_SIZE, PAGE_SIZE)?;
    }
    let counts = dg::user_counts(conn, &groups)?;
    let out = groups
        .into_iter()
        .map(|g| {
            let n = counts.get(&g.id).copied().unwrap_or(0);
            (g, n)
        })
        .collect();
    Ok(Served {
        items: out,
        total,
        page: served,
    })
}

/// `/groups/{orgId}/{page}`.
pub fn groups(conn: &mut Conn, p: &Principal, page: &str) -> AdobeResult<Paged> {
    let page = page_number(page)?;
    let Served {
        items: groups,
        total,
        page: served,
    } = group_page(conn, p, &[], page)?;
    let list: Vec<Value> = groups
        .iter()
        .map(|(g, n)| model::group_json(g, *n))
        .collect();
    Ok(Paged {
        body: json!({
            "lastPage": last_page(served, total),
            "result": "success",
            "groups": list,
        }),
        total,
        page: served,
        size: PAGE_SIZE,
    })
}

/// Deprecated `/{orgId}/users?page=N`: a bare array.
pub fn legacy_users(
    conn: &mut Conn,
    p: &Principal,
    page: Option<&str>,
    direct_only: Option<&str>,
) -> AdobeResult<Paged> {
    let page = optional_page(page)?;
    let direct_only = flag(direct_only, "directOnly", true)?;
    let Served {
        items: users,
        total,
        page: served,
    } = user_page(conn, p, &Among::default(), page, Groups::Load)?;
    let list: Vec<Value> = users
        .iter()
        .map(|(u, g)| model::legacy_user_json(u, g.as_ref(), direct_only))
        .collect();
    Ok(Paged {
        body: Value::Array(list),
        total,
        page: served,
        size: PAGE_SIZE,
    })
}

/// Deprecated `/{orgId}/user-groups?page=N`: the user groups, a bare array.
pub fn legacy_groups(conn: &mut Conn, p: &Principal, page: Option<&str>) -> AdobeResult<Paged> {
    let page = optional_page(page)?;
    let Served {
        items: groups,
        total,
        page: served,
    } = group_page(conn, p, &[GroupKind::Group], page)?;
    Ok(Paged {
        body: Value::Array(
            groups
                .iter()
                .map(|(g, n)| model::legacy_group_json(g, *n))
                .collect(),
        ),
        total,
        page: served,
        size: PAGE_SIZE,
    })
}

/// The legacy API names user groups by their canonical id as a decimal integer.
fn legacy_group_id(s: &str) -> AdobeResult<i64> {
    crate::domain::IdFormat::Decimal.parse(s).ok_or_else(|| {
        invalid(format!(
            "the group id must be a positive number, got {:?}",
            s.trim()
        ))
    })
}

fn user_group(conn: &mut Conn, p: &Principal, id: &str) -> AdobeResult<Group> {
    let gid = legacy_group_id(id)?;
    let not_found = || {
        AdobeError::new(
            poem::http::StatusCode::NOT_FOUND,
            "error.usergroup.not_found",
            format!("User group {gid} was not found"),
        )
    };
    match dg::get(conn, &p.org_id, gid, dg::Members::Skip) {
        Ok(g) if g.data.kind == GroupKind::Group => Ok(g),
        Ok(_) | Err(StoreError::NotFound) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Deprecated `/{orgId}/user-groups/{groupId}`.
pub fn legacy_group(conn: &mut Conn, p: &Principal, id: &str) -> AdobeResult<Value> {
    let g = user_group(conn, p, id)?;
    let counts = dg::user_counts(conn, std::slice::from_ref(&g))?;
    let n = counts.get(&g.id).copied().unwrap_or(0);
    Ok(model::legacy_group_json(&g, n))
}

/// Deprecated `/{orgId}/user-groups/{groupId}/users?page=N`: a bare array.
pub fn legacy_group_users(
    conn: &mut Conn,
    p: &Principal,
    id: &str,
    page: Option<&str>,
) -> AdobeResult<Paged> {
    let page = optional_page(page)?;
    let g = user_group(conn, p, id)?;
    let among = Among {
        group: Some((g.id, false)),
        ..Among::default()
    };
    let Served {
        items: users,
        total,
        page: served,
    } = user_page(conn, p, &among, page, Groups::Skip)?;
    Ok(Paged {
        body: Value::Array(
            users
                .iter()
                .map(|(u, _)| model::legacy_member_json(u))
                .collect(),
        ),
        total,
        page: served,
        size: PAGE_SIZE,
    })
}

/// The user as `GET /v2/usermanagement/organizations/{orgId}/users/{userString}` returns it
/// (for the console's side-by-side page, `request::UserViews`).
pub fn console_view(
    _conn: &mut Conn,
    _cfg: &crate::config::Config,
    u: &crate::domain::User,
    groups: &[crate::domain::GroupRef],
) -> StoreResult<Value> {
    Ok(json!({"result": "success", "user": model::user_json(u, Some(&groups.to_vec()), true)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_flags_parse_strictly() {
        assert_eq!(page_number("0").unwrap(), 0);
        assert_eq!(page_number("12").unwrap(), 12);
        assert!(page_number("-1").is_err());
        assert!(page_number("x").is_err());
        assert!(page_number("99999999999").is_err());
        assert!(flag(Some("True"), "f", false).unwrap());
        assert!(!flag(Some("false"), "f", true).unwrap());
        assert!(flag(None, "f", true).unwrap());
        assert!(flag(Some("yes"), "f", true).is_err());
        assert_eq!(clamp(5, 401), 2);
        assert_eq!(clamp(5, 0), 0);
        assert!(last_page(0, 200));
        assert!(!last_page(0, 201));
    }
}
