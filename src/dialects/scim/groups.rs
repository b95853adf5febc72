//! `/Groups`. Membership changes become row-level deltas: adding or removing members never
//! reads or rewrites the rest of the member list, and members are loaded only when the
//! response shows them. Each handler makes one database trip (`AppState::trip`).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::common::*;
use super::resources::{etag, group_data, group_json, member_ids};
use crate::auth::schemes::BearerOrBasic;
use crate::config::Config;
use crate::directory::groups::{self as dir, Members};
use crate::directory::seam::Dialect;
use crate::directory::Caller;
use crate::domain::{id_from_hex, id_to_hex, Group, GroupData, MemberChange};
use crate::request::AppState;
use crate::scim::filter::{CompValue, CompareOp, Filter, PatchPath};
use crate::scim::patch::{self, Op, Operation};
use crate::scim::projection::Projection;
use crate::scim::schema::{Registry, ResourceType};
use crate::scim::{normalize, ScimError, ScimResult};

fn render(cfg: &Config, rt: &ResourceType, g: &Group, proj: &Projection) -> Value {
    crate::scim::projection::apply_owned(group_json(cfg, g), rt, proj)
}

/// The body of a single group: a large member list (default projection) is streamed
/// rather than built into the JSON tree.
fn group_body(cfg: &Config, rt: &ResourceType, mut g: Group, proj: &Projection) -> ScimJson {
    let large = g
        .members
        .as_ref()
        .is_some_and(|m| m.len() >= STREAM_MEMBERS_FROM);
    if large && proj.is_default() {
        let members = g.members.take().unwrap_or_default();
        ScimJson::with_members(cfg, render(cfg, rt, &g, proj), members)
    } else {
        ScimJson::new(render(cfg, rt, &g, proj))
    }
}

fn wants_members(proj: &Projection) -> Members {
    if proj.wants(Registry::builtin().group(), "members") {
        Members::Load
    } else {
        Members::Skip
    }
}

pub fn create(
    cfg: &Arc<Config>,
    tally: &Tally,
    body: Value,
    proj: Projection,
) -> ScimResult<Prepared> {
    let rt = Registry::builtin().group();
    let canon = normalize::resource(&body, rt)?;
    normalize::check_required(&canon, rt)?;
    let data = group_data(&canon, &GroupData::default());
    let members = member_ids(canon.get("members"))?;
    let cfg = cfg.clone();
    let tally = tally.clone();
    Ok(Prepared::new(
        move |conn, p| {
            let (mut g, skipped) =
                dir::create_with(conn, p, &data, &members, cfg.scim_unknown_members)
                    .map_err(|e| ScimError::about(e, "group"))?;
            tally.add(skipped.len());
            if wants_members(&proj) == Members::Load {
                g.members = Some(dir::members(conn, g.id)?);
            }
            let location = cfg.url(&format!("/scim/v2/Groups/{}", id_to_hex(g.id)));
            let version = g.version;
            let reg = p.schemas(conn)?;
            Ok(ScimResponse::Created(
                group_body(&cfg, reg.group(), g, &proj),
                Some(etag(version)),
                location,
            ))
        },
        false,
    ))
}

pub async fn get(
    state: &AppState,
    auth: &BearerOrBasic,
    id: &str,
    proj: ScimResult<Projection>,
    if_none_match: Option<String>,
) -> ScimResponse {
    let wanted = proj.and_then(|proj| Ok((ScimError::id(id, "group")?, proj)));
    let cfg = state.config.clone();
    trip(state, auth, false, wanted, move |conn, p, (id, proj)| {
        let mut g = dir::get(conn, &p.org_id, id, Members::Skip)
            .map_err(|e| ScimError::about(e, "group"))?;
        if none_match(if_none_match.as_deref(), g.version) {
            return Ok(ScimResponse::NotModified(etag(g.version)));
        }
        if wants_members(&proj) == Members::Load {
            g.members = Some(dir::members(conn, id)?);
        }
        let version = g.version;
        let reg = p.schemas(conn)?;
        Ok(ScimResponse::Ok(
            group_body(&cfg, reg.group(), g, &proj),
            Some(etag(version)),
        ))
    })
    .await
}

/// Run a change in the directory and render it. Unknown ids among the members it adds are
/// treated as `--scim-unknown-members` says, and the skipped ones counted in `tally`.
fn change<F>(
    cfg: &Arc<Config>,
    tally: &Tally,
    c: Change<'_>,
    input: Members,
    compute: F,
) -> ScimResult<Prepared>
where
    F: FnOnce(&Config, &ResourceType, &Group) -> ScimResult<(GroupData, MemberChange)>
        + Send
        + 'static,
{
    let id = ScimError::id(c.id, "group")?;
    let expected = if_match(c.if_match)?;
    let proj = c.proj;
    let cfg = cfg.clone();
    let tally = tally.clone();
    Ok(Prepared::new(
        move |conn, p| {
            let reg = p.schemas(conn)?;
            let rt = reg.group();
            let output = wants_members(&proj);
            let changed = dir::update(conn, p, id, &expected, input, output, |current: &Group| {
                let (data, mut members) = compute(&cfg, rt, current)?;
                members.unknown = cfg.scim_unknown_members;
                Ok((data, members))
            })
            .map_err(|e| match e {
                ScimError { status, .. } if status == poem::http::StatusCode::NOT_FOUND => {
                    ScimError::not_found(format!("group {:?} not found", id_to_hex(id)))
                }
                other => other,
            })?;
            tally.add(changed.skipped.len());
            let g = changed.value;
            let version = g.version;
            Ok(ScimResponse::Ok(
                group_body(&cfg, rt, g, &proj),
                Some(etag(version)),
            ))
        },
        false,
    ))
}

pub fn replace(cfg: &Arc<Config>, tally: &Tally, c: Change<'_>) -> ScimResult<Prepared> {
    let rt = Registry::builtin().group();
    let canon = normalize::resource(&c.body, rt)?;
    normalize::check_required(&canon, rt)?;
    let members = member_ids(canon.get("members"))?;
    change(cfg, tally, c, Members::Skip, move |_, _, current| {
        let data = group_data(&canon, &current.data);
        Ok((data, MemberChange::replace_with(members)))
    })
}

/// Accumulates member operations in order into one row-level change.
#[derive(Default)]
struct Delta(MemberChange);

impl Delta {
    fn clear(&mut self) {
        self.0 = MemberChange::replace_with(vec![]);
    }
    // Linear in the ids of the operation (a body may name tens of thousands of members).
    fn add(&mut self, ids: Vec<i64>) {
        let new: std::collections::HashSet<i64> = ids.iter().copied().collect();
        self.0.remove.retain(|r| !new.contains(r));
        let mut have: std::collections::HashSet<i64> = self.0.add.iter().copied().collect();
        for id in ids {
            if have.insert(id) {
                self.0.add.push(id);
            }
        }
    }
    fn remove(&mut self, ids: Vec<i64>) {
        let gone: std::collections::HashSet<i64> = ids.iter().copied().collect();
        self.0.add.retain(|a| !gone.contains(a));
        let mut have: std::collections::HashSet<i64> = self.0.remove.iter().copied().collect();
        for id in ids {
            if have.insert(id) {
                self.0.remove.push(id);
            }
        }
    }
}

fn members_attr() -> &'static crate::scim::schema::Attribute {
    Registry::builtin()
        .group()
        .resolve(None, "members")
        .expect("members")
        .attr
}

/// Member ids in a PATCH value (one object or an array; T4, T9).
fn ids_in(value: Option<&Value>) -> ScimResult<Vec<i64>> {
    let coerced = normalize::coerce(value.unwrap_or(&Value::Null), members_attr())?;
    member_ids(coerced.as_ref())
}

/// Member ids named in a remove value; values that are not ids match no member.
fn removed_ids(value: &Value) -> ScimResult<Vec<i64>> {
    let coerced = normalize::coerce(value, members_attr())?;
    let Some(Value::Array(items)) = coerced else {
        return Ok(vec![]);
    };
    Ok(items
        .iter()
        .filter_map(|m| m.get("value").and_then(Value::as_str).and_then(id_from_hex))
        .collect())
}

/// `value eq "x"` or an `or` of them: the member ids a remove filter names.
fn value_eq_ids(f: &Filter, out: &mut Vec<i64>) -> bool {
    match f {
        Filter::Or(a, b) => value_eq_ids(a, out) && value_eq_ids(b, out),
        Filter::Compare(p, CompareOp::Eq, CompValue::String(s))
            if p.name.eq_ignore_ascii_case("value") && p.sub.is_none() =>
        {
            // An id that is not ours matches no member.
            if let Some(id) = id_from_hex(s) {
                out.push(id);
            }
            true
        }
        _ => false,
    }
}

/// Split operations on `members` (as deltas) from the rest; `None` when some member operation
/// needs the whole list (a filter other than `value eq`).
fn split(ops: &[Operation]) -> ScimResult<Option<(Delta, Vec<Operation>)>> {
    let mut delta = Delta::default();
    let mut rest = Vec::new();
    for op in ops {
        match &op.path {
            Some(path) => {
                let Ok(pp) = PatchPath::parse(path) else {
                    rest.push(op.clone());
                    continue;
                };
                let is_members =
                    pp.attr.name.eq_ignore_ascii_case("members")
                        && pp.attr.urn.as_deref().is_none_or(|u| {
                            u.eq_ignore_ascii_case(crate::scim::schema::GROUP_SCHEMA)
                        });
                if !is_members {
                    rest.push(op.clone());
                    continue;
                }
                match (op.op, &pp.filter, pp.attr.sub.is_some() || pp.sub.is_some()) {
                    (Op::Add, None, false) => delta.add(ids_in(op.value.as_ref())?),
                    (Op::Replace, None, false) => {
                        let ids = ids_in(op.value.as_ref())?;
                        delta.clear();
                        delta.add(ids);
                    }
                    (Op::Remove, None, false) => match &op.value {
                        // T3: remove + path "members" + value [{value}]. A value that is not
                        // one of our ids names no member, as in the filter form.
                        Some(v) if !v.is_null() => delta.remove(removed_ids(v)?),
                        _ => delta.clear(),
                    },
                    (Op::Remove, Some(f), false) => {
                        let mut ids = Vec::new();
                        if !value_eq_ids(f, &mut ids) {
                            return Ok(None);
                        }
                        delta.remove(ids);
                    }
                    _ => return Ok(None),
                }
            }
            None => {
                let Some(Value::Object(values)) = &op.value else {
                    rest.push(op.clone());
                    continue;
                };
                let mut others = Map::new();
                for (k, v) in values {
                    if k.eq_ignore_ascii_case("members") {
                        let ids = ids_in(Some(v))?;
                        if op.op == Op::Replace {
                            delta.clear();
                        }
                        delta.add(ids);
                    } else {
                        others.insert(k.clone(), v.clone());
                    }
                }
                if !others.is_empty() {
                    rest.push(Operation {
                        op: op.op,
                        path: None,
                        value: Some(Value::Object(others)),
                    });
                }
            }
        }
    }
    Ok(Some((delta, rest)))
}

pub fn modify(cfg: &Arc<Config>, tally: &Tally, c: Change<'_>) -> ScimResult<Prepared> {
    let ops = patch::parse_request(&c.body)?;
    match split(&ops)? {
        Some((delta, rest)) => change(cfg, tally, c, Members::Skip, move |cfg, rt, current| {
            let before = group_json(cfg, current);
            let after = if rest.is_empty() {
                before
            } else {
                patch::apply(&before, &rest, rt)?
            };
            normalize::check_required(&after, rt)?;
            Ok((group_data(&after, &current.data), delta.0))
        }),
        // A member filter the delta path cannot express: apply on the full list, read under
        // the same row lock as the write, so a concurrent change waits instead of failing.
        None => change(cfg, tally, c, Members::Load, move |cfg, rt, current| {
            let before = group_json(cfg, current);
            let after = patch::apply(&before, &ops, rt)?;
            normalize::check_required(&after, rt)?;
            let members = member_ids(after.get("members"))?;
            let data = group_data(&after, &current.data);
            Ok((data, MemberChange::replace_with(members)))
        }),
    }
}

/// A page of groups as a ListResponse body, on the caller's connection.
pub fn list_in(
    conn: &mut crate::directory::Conn,
    keys: &crate::directory::KeyCache,
    cfg: &Config,
    c: &Caller<'_>,
    params: super::list::Params,
    proj: &Projection,
) -> ScimResult<Value> {
    let reg = c.schemas(conn)?;
    let rt = reg.group();
    let with = wants_members(proj) == Members::Load;
    let (page, plan) = super::list::groups(conn, keys, c.org(), rt, params, with)?;
    let resources = page.rows.iter().map(|g| render(cfg, rt, g, proj)).collect();
    Ok(super::list::response(
        resources,
        page.total,
        plan.start,
        page.next,
        page.previous,
        super::list::is_cursor(&plan),
    ))
}
