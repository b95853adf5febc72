//! `/Groups`. Membership changes become row-level deltas: adding or removing members never
//! reads or rewrites the rest of the member list, and members are loaded only when the
//! response shows them.

use poem_openapi::payload::Json;
use serde_json::{Map, Value};

use super::common::*;
use super::resources::{etag, group_data, group_json, member_ids};
use crate::domain::{id_from_hex, id_to_hex, Group, MemberChange, Principal};
use crate::scim::filter::{CompValue, CompareOp, Filter, PatchPath};
use crate::scim::patch::{self, Op, Operation};
use crate::scim::projection::Projection;
use crate::scim::schema::Registry;
use crate::scim::{normalize, ScimError, ScimResult};
use crate::store::{self, StoreError};
use crate::AppState;

async fn load(state: &AppState, p: &Principal, id: i64, with_members: bool) -> ScimResult<Group> {
    let org = p.org_id.clone();
    state
        .store
        .run(move |c| store::groups::get(c, &org, id, with_members))
        .await
        .map_err(|e| store_error(e, "group"))
}

fn render(state: &AppState, g: &Group, proj: &Projection) -> Value {
    let rt = Registry::get().group();
    crate::scim::projection::apply(&group_json(&state.config, g), rt, proj)
}

fn wants_members(proj: &Projection) -> bool {
    proj.wants(Registry::get().group(), "members")
}

pub async fn create(state: &AppState, p: Principal, body: Value, proj: Projection) -> Outcome {
    let rt = Registry::get().group();
    let canon = normalize::resource(&body, rt)?;
    normalize::check_required(&canon, rt)?;
    let data = group_data(&canon, None);
    let members = member_ids(canon.get("members"))?;
    let org = p.org_id.clone();
    let with = wants_members(&proj);
    let g = state
        .store
        .run(move |c| {
            let g = store::groups::insert(c, &org, &data, &members)?;
            store::groups::get(c, &org, g.id, with)
        })
        .await
        .map_err(|e| store_error(e, "group"))?;
    let location = state
        .config
        .url(&format!("/scim/v2/Groups/{}", id_to_hex(g.id)));
    Ok(ScimResponse::Created(
        Json(render(state, &g, &proj)),
        Some(etag(g.version)),
        location,
    ))
}

pub async fn get(
    state: &AppState,
    p: Principal,
    id: &str,
    proj: Projection,
    if_none_match: Option<&str>,
) -> Outcome {
    let id = parse_id(id, "group")?;
    let g = load(state, &p, id, false).await?;
    if none_match(if_none_match, g.version) {
        return Ok(ScimResponse::NotModified(etag(g.version)));
    }
    let g = if wants_members(&proj) {
        load(state, &p, id, true).await?
    } else {
        g
    };
    Ok(ScimResponse::Ok(
        Json(render(state, &g, &proj)),
        Some(etag(g.version)),
    ))
}

/// Write new data and a membership change, retrying on a concurrent change unless the
/// client pinned a version with `If-Match`.
async fn rewrite<F>(
    state: &AppState,
    p: &Principal,
    id: i64,
    wanted: Option<i64>,
    with_members: bool,
    change: F,
) -> ScimResult<Group>
where
    F: Fn(&Group) -> ScimResult<(crate::domain::GroupData, MemberChange)>,
{
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let current = load(state, p, id, false).await?;
        if wanted.is_some_and(|w| w != current.version) {
            return Err(store_error(StoreError::VersionMismatch, "group"));
        }
        let (data, members) = change(&current)?;
        let org = p.org_id.clone();
        let expected = current.version;
        let result = state
            .store
            .run(move |c| {
                store::groups::update(c, &org, id, Some(expected), &data, &members)?;
                store::groups::get(c, &org, id, with_members)
            })
            .await;
        match result {
            Ok(g) => return Ok(g),
            Err(StoreError::VersionMismatch) if wanted.is_none() => continue,
            Err(e) => return Err(store_error(e, "group")),
        }
    }
    Err(ScimError::status(
        poem::http::StatusCode::CONFLICT,
        "the group keeps changing; retry",
    ))
}

pub async fn replace(
    state: &AppState,
    p: Principal,
    id: &str,
    body: Value,
    proj: Projection,
    if_match_h: Option<&str>,
) -> Outcome {
    let id = parse_id(id, "group")?;
    let wanted = if_match(if_match_h)?;
    let rt = Registry::get().group();
    let canon = normalize::resource(&body, rt)?;
    normalize::check_required(&canon, rt)?;
    let members = member_ids(canon.get("members"))?;
    let g = rewrite(state, &p, id, wanted, wants_members(&proj), |current| {
        Ok((
            group_data(&canon, current.data.description.clone()),
            MemberChange {
                clear: true,
                add: members.clone(),
                remove: vec![],
            },
        ))
    })
    .await?;
    Ok(ScimResponse::Ok(
        Json(render(state, &g, &proj)),
        Some(etag(g.version)),
    ))
}

/// Accumulates member operations in order into one row-level change.
#[derive(Default)]
struct Delta(MemberChange);

impl Delta {
    fn clear(&mut self) {
        self.0 = MemberChange {
            clear: true,
            add: vec![],
            remove: vec![],
        };
    }
    fn add(&mut self, ids: Vec<i64>) {
        for id in ids {
            self.0.remove.retain(|r| *r != id);
            if !self.0.add.contains(&id) {
                self.0.add.push(id);
            }
        }
    }
    fn remove(&mut self, ids: Vec<i64>) {
        for id in ids {
            self.0.add.retain(|a| *a != id);
            if !self.0.remove.contains(&id) {
                self.0.remove.push(id);
            }
        }
    }
}

fn members_attr() -> &'static crate::scim::schema::Attribute {
    Registry::get()
        .resolve(Registry::get().group(), None, "members")
        .expect("members")
        .attr
}

/// Member ids in a PATCH value (one object or an array; T4, T9).
fn ids_in(value: Option<&Value>) -> ScimResult<Vec<i64>> {
    let coerced = normalize::coerce(value.unwrap_or(&Value::Null), members_attr())?;
    member_ids(coerced.as_ref())
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
                        // T3: remove + path "members" + value [{value}].
                        Some(v) if !v.is_null() => delta.remove(ids_in(Some(v))?),
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

pub async fn modify(
    state: &AppState,
    p: Principal,
    id: &str,
    body: Value,
    proj: Projection,
    if_match_h: Option<&str>,
) -> Outcome {
    let id = parse_id(id, "group")?;
    let wanted = if_match(if_match_h)?;
    let rt = Registry::get().group();
    let ops = patch::parse_request(&body)?;
    let cfg = state.config.clone();
    let g = match split(&ops)? {
        Some((delta, rest)) => {
            rewrite(state, &p, id, wanted, wants_members(&proj), |current| {
                let before = group_json(&cfg, current);
                let after = if rest.is_empty() {
                    before
                } else {
                    patch::apply(&before, &rest, rt)?
                };
                normalize::check_required(&after, rt)?;
                Ok((
                    group_data(&after, current.data.description.clone()),
                    delta.0.clone(),
                ))
            })
            .await?
        }
        None => {
            // A member filter the delta path cannot express: apply on the full list.
            let full = load(state, &p, id, true).await?;
            let before = group_json(&cfg, &full);
            let after = patch::apply(&before, &ops, rt)?;
            normalize::check_required(&after, rt)?;
            let members = member_ids(after.get("members"))?;
            let pinned = wanted.or(Some(full.version));
            rewrite(state, &p, id, pinned, wants_members(&proj), |current| {
                Ok((
                    group_data(&after, current.data.description.clone()),
                    MemberChange {
                        clear: true,
                        add: members.clone(),
                        remove: vec![],
                    },
                ))
            })
            .await?
        }
    };
    Ok(ScimResponse::Ok(
        Json(render(state, &g, &proj)),
        Some(etag(g.version)),
    ))
}

pub async fn delete(state: &AppState, p: Principal, id: &str, if_match_h: Option<&str>) -> Outcome {
    let id = parse_id(id, "group")?;
    let wanted = if_match(if_match_h)?;
    let org = p.org_id.clone();
    state
        .store
        .run(move |c| store::groups::delete(c, &org, id, wanted))
        .await
        .map_err(|e| store_error(e, "group"))?;
    Ok(ScimResponse::NoContent)
}

pub async fn list(
    state: &AppState,
    p: Principal,
    params: super::list::Params,
    proj: Projection,
) -> Outcome {
    let (page, plan) = super::list::groups(state, &p, params, wants_members(&proj)).await?;
    let resources = page.rows.iter().map(|g| render(state, g, &proj)).collect();
    let body = super::list::response(
        resources,
        page.total,
        plan.start,
        page.next,
        page.previous,
        super::list::is_cursor(&plan),
    );
    Ok(ScimResponse::Ok(Json(body), None))
}
