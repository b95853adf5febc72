//! Queries: filter (in SQL), `sortBy`/`sortOrder`, index paging (RFC 7644 §3.4.2.4) and
//! cursor paging (RFC 9865). Cursors are JWTs signed with the database's key: opaque,
//! URL-safe, tamper-proof, accepted by every instance on the same database, bound to the
//! query and the `count` they were issued for, and expiring after `CURSOR_TIMEOUT` seconds.

use crate::scim::schema::ResourceType;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::common::{DEFAULT_COUNT, LIST_RESPONSE, MAX_RESULTS};
use crate::auth::cursor::{self, CursorFault};
use crate::directory::read::{
    GroupFilter, GroupSearch, Groups, Order, Search, Target, UserFilter, Window,
};
use crate::directory::seam::Dialect;
use crate::directory::{groups as group_dir, users as user_dir, Conn, KeyCache};
use crate::domain::OrgId;
use crate::scim::filter::{AttrPath, Filter};
use crate::scim::{ScimError, ScimResult};

pub const CURSOR_TIMEOUT: u64 = 3600;

/// The parameters of a query, from the URL or a SearchRequest body.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CursorClaims {
    /// Hash of what the cursor is for: organization, resource type, filter, sort.
    q: String,
    /// The page size it was issued for.
    c: i64,
    /// `n`: rows after `k`; `p`: rows before `k`.
    d: String,
    /// The boundary: an id (id order) or an offset (sorted lists).
    k: i64,
    exp: u64,
    iat: u64,
}

/// A planned query: which rows (a SCIM filter, checked when planned) in which order.
pub struct Plan<F> {
    pub filter: F,
    pub order: Order,
    pub window: Window,
    pub with_total: bool,
    pub count: i64,
    pub start: i64,
    cursor: Option<CursorState>,
}

struct CursorState {
    hash: String,
    first_page: bool,
    backwards: bool,
    /// Sorted lists page by offset: the offset of this page.
    offset: Option<i64>,
}

fn num(name: &str, v: Option<&str>) -> ScimResult<Option<i64>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, got {s:?}"))),
    }
}

fn query_hash(org: &OrgId, target: Target, p: &Params) -> String {
    let mut h = Sha256::new();
    let t = match target {
        Target::Users => "Users",
        Target::Groups => "Groups",
    };
    for part in [
        Some(org.as_str()),
        Some(t),
        p.filter.as_deref(),
        p.sort_by.as_deref(),
        p.sort_order.as_deref(),
    ] {
        h.update(part.unwrap_or("\u{0}").as_bytes());
        h.update([0xff]);
    }
    hex::encode(&h.finalize()[..12])
}

pub fn plan<F: Default>(
    conn: &mut Conn,
    keys: &KeyCache,
    org: &OrgId,
    target: Target,
    rt: &ResourceType,
    p: &Params,
    filter: impl FnOnce(&Filter) -> ScimResult<F>,
) -> ScimResult<Plan<F>> {
    let filter = match p.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => filter(&Filter::parse(f)?)?,
        None => F::default(),
    };
    let descending = match p
        .sort_order
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
    {
        None => false,
        Some(s) if s.is_empty() || s == "ascending" => false,
        Some(s) if s == "descending" => true,
        Some(s) => {
            return Err(ScimError::invalid_value(format!(
                "sortOrder must be ascending or descending, got {s:?}"
            )))
        }
    };
    let by = match p
        .sort_by
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => {
            Some(AttrPath::parse(s).map_err(|e| ScimError::invalid_value(format!("sortBy: {e}")))?)
        }
        None => None,
    };
    let order = Order::scim(by.as_ref(), target, rt, descending)?;
    let sorted = order.is_keyed();
    let count_param = num("count", p.count.as_deref())?;

    let Some(cursor) = &p.cursor else {
        let start = num("startIndex", p.start_index.as_deref())?
            .unwrap_or(1)
            .max(1);
        let count = count_param.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_RESULTS);
        return Ok(Plan {
            filter,
            order,
            window: Window::Offset {
                offset: start - 1,
                limit: count,
            },
            with_total: true,
            count,
            start,
            cursor: None,
        });
    };
    if p.start_index
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty())
    {
        return Err(ScimError::invalid_value(
            "use either cursor or startIndex, not both",
        ));
    }
    let count = count_param.unwrap_or(DEFAULT_COUNT);
    if !(0..=MAX_RESULTS).contains(&count) {
        return Err(ScimError::bad(
            "invalidCount",
            format!("count must be between 0 and {MAX_RESULTS}"),
        ));
    }
    let hash = query_hash(org, target, p);
    let cursor = cursor.trim();
    if cursor.is_empty() {
        return Ok(Plan {
            filter,
            window: if sorted {
                Window::Offset {
                    offset: 0,
                    limit: count + 1,
                }
            } else {
                Window::After {
                    id: None,
                    limit: count + 1,
                }
            },
            order,
            with_total: true,
            count,
            start: 1,
            cursor: Some(CursorState {
                hash,
                first_page: true,
                backwards: false,
                offset: sorted.then_some(0),
            }),
        });
    }
    let claims = decode(conn, keys, cursor)?;
    if claims.q != hash {
        return Err(ScimError::bad(
            "invalidCursor",
            "the cursor belongs to a different query",
        ));
    }
    if claims.c != count {
        return Err(ScimError::bad(
            "invalidCount",
            "count must stay the same while paging with a cursor",
        ));
    }
    let backwards = claims.d == "p";
    let window = match (sorted, backwards) {
        (false, false) => Window::After {
            id: Some(claims.k),
            limit: count + 1,
        },
        (false, true) => Window::Before {
            id: claims.k,
            limit: count + 1,
        },
        (true, _) => Window::Offset {
            offset: claims.k.max(0),
            limit: count + 1,
        },
    };
    Ok(Plan {
        filter,
        order,
        window,
        with_total: false,
        count,
        start: 1,
        cursor: Some(CursorState {
            hash,
            first_page: false,
            backwards,
            offset: sorted.then_some(claims.k.max(0)),
        }),
    })
}

fn decode(conn: &mut Conn, keys: &KeyCache, token: &str) -> ScimResult<CursorClaims> {
    let kid = cursor::key_id(token).map_err(cursor_fault)?;
    let key = keys
        .get(conn, &kid)
        .map_err(|e| ScimError::about(e, "cursor"))?
        .ok_or_else(|| cursor_fault(CursorFault::Invalid))?;
    cursor::verify(token, &key).map_err(cursor_fault)
}

fn cursor_fault(f: CursorFault) -> ScimError {
    match f {
        CursorFault::Invalid => {
            ScimError::bad("invalidCursor", "the cursor is not one this server issued")
        }
        CursorFault::Expired => {
            ScimError::bad("expiredCursor", "the cursor has expired; start again")
        }
    }
}

/// The claims of a cursor signed with `key` (the half of decoding after the key lookup),
/// for tests and fuzzing: `Ok` with the boundary and page size it names.
pub fn verify_cursor(token: &str, key: &[u8]) -> ScimResult<(i64, i64)> {
    let claims: CursorClaims = cursor::verify(token, key).map_err(cursor_fault)?;
    Ok((claims.k, claims.c))
}

fn encode(
    conn: &mut Conn,
    keys: &KeyCache,
    hash: &str,
    count: i64,
    dir: &str,
    k: i64,
) -> ScimResult<String> {
    let (kid, key) = keys
        .current(conn)
        .map_err(|e| ScimError::about(e, "cursor"))?;
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let claims = CursorClaims {
        q: hash.to_string(),
        c: count,
        d: dir.to_string(),
        k,
        iat: now,
        exp: now + CURSOR_TIMEOUT,
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid);
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&key)).map_err(|_| {
        ScimError::status(
            poem::http::StatusCode::INTERNAL_SERVER_ERROR,
            "cannot sign the cursor",
        )
    })
}

/// Rows fetched for a plan (ids in order), trimmed to the page, with the cursors to go on.
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: Option<i64>,
    pub next: Option<String>,
    pub previous: Option<String>,
}

pub fn paginate<T, F>(
    conn: &mut Conn,
    keys: &KeyCache,
    plan: &Plan<F>,
    mut rows: Vec<T>,
    total: Option<i64>,
    id: impl Fn(&T) -> i64,
) -> ScimResult<Page<T>> {
    let Some(c) = &plan.cursor else {
        return Ok(Page {
            rows,
            total,
            next: None,
            previous: None,
        });
    };
    let more = rows.len() as i64 > plan.count;
    if more {
        if c.backwards && c.offset.is_none() {
            rows.remove(0);
        } else {
            rows.truncate(plan.count as usize);
        }
    }
    let (mut next, mut previous) = (None, None);
    match c.offset {
        Some(offset) => {
            if more {
                next = Some(encode(
                    conn,
                    keys,
                    &c.hash,
                    plan.count,
                    "n",
                    offset + plan.count,
                )?);
            }
            if offset > 0 {
                previous = Some(encode(
                    conn,
                    keys,
                    &c.hash,
                    plan.count,
                    "p",
                    (offset - plan.count).max(0),
                )?);
            }
        }
        None => {
            let (first, last) = (rows.first().map(&id), rows.last().map(&id));
            let has_next = if c.backwards { true } else { more };
            let has_prev = if c.backwards { more } else { !c.first_page };
            if has_next {
                if let Some(l) = last {
                    next = Some(encode(conn, keys, &c.hash, plan.count, "n", l)?);
                }
            }
            if has_prev {
                if let Some(f) = first {
                    previous = Some(encode(conn, keys, &c.hash, plan.count, "p", f)?);
                }
            }
        }
    }
    Ok(Page {
        rows,
        total,
        next,
        previous,
    })
}

pub fn response(
    resources: Vec<Value>,
    page_total: Option<i64>,
    start: i64,
    next: Option<String>,
    previous: Option<String>,
    cursor_mode: bool,
) -> Value {
    let mut body = json!({
        "schemas": [LIST_RESPONSE],
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    if let Some(t) = page_total {
        body["totalResults"] = json!(t);
    }
    if !cursor_mode {
        body["startIndex"] = json!(start);
    }
    if let Some(n) = next {
        body["nextCursor"] = json!(n);
    }
    if let Some(p) = previous {
        body["previousCursor"] = json!(p);
    }
    body
}

pub fn is_cursor<F>(plan: &Plan<F>) -> bool {
    plan.cursor.is_some()
}

/// Plan and run a user query on the caller's connection.
/// The groups of the page's users come in the same statement as their values when asked.
pub fn users(
    conn: &mut Conn,
    keys: &KeyCache,
    org: &OrgId,
    rt: &ResourceType,
    params: Params,
    groups: Groups,
) -> ScimResult<(Page<crate::domain::User>, Plan<UserFilter>, UserGroups)> {
    let mut plan = plan(conn, keys, org, Target::Users, rt, &params, |f| {
        UserFilter::scim(f, rt, org)
    })?;
    let (loaded, total) = user_dir::search(
        conn,
        org,
        &Search {
            filter: std::mem::take(&mut plan.filter),
            order: std::mem::take(&mut plan.order),
            window: plan.window,
            total: plan.with_total,
            groups,
        },
    )
    .map_err(|e| ScimError::about(e, "user"))?;
    let page = paginate(conn, keys, &plan, loaded.users, total, |u| u.id)?;
    Ok((page, plan, loaded.groups))
}

/// Groups by user id.
pub type UserGroups = std::collections::HashMap<i64, Vec<crate::domain::GroupRef>>;

/// Plan and run a group query on the caller's connection.
pub fn groups(
    conn: &mut Conn,
    keys: &KeyCache,
    org: &OrgId,
    rt: &ResourceType,
    params: Params,
    with_members: bool,
) -> ScimResult<(Page<crate::domain::Group>, Plan<GroupFilter>)> {
    let mut plan = plan(conn, keys, org, Target::Groups, rt, &params, |f| {
        GroupFilter::scim(f, rt, org)
    })?;
    let (rows, total) = group_dir::search(
        conn,
        org,
        &GroupSearch {
            filter: std::mem::take(&mut plan.filter),
            order: std::mem::take(&mut plan.order),
            window: plan.window,
            total: plan.with_total,
            members: with_members,
        },
    )
    .map_err(|e| ScimError::about(e, "group"))?;
    let page = paginate(conn, keys, &plan, rows, total, |g| g.id)?;
    Ok((page, plan))
}
