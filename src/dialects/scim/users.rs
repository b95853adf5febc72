//! `/Users`: create, read, replace, patch, delete, list. Each handler parses, then makes one
//! database trip (`AppState::trip`) that authenticates and runs the directory operation,
//! and renders the result on the same blocking thread.

use std::sync::Arc;

use serde_json::Value;

use super::common::*;
use super::resources::{etag, keep_derived_user_name, user_data, user_json};
use crate::auth::schemes::BearerOrBasic;
use crate::config::Config;
use crate::directory::seam::Dialect;
use crate::directory::users::{self as dir, Groups, UserView};
use crate::directory::Caller;
use crate::domain::{id_to_hex, User, UserData, VendorFields};
use crate::request::AppState;
use crate::scim::patch::{self, Op, Operation};
use crate::scim::projection::Projection;
use crate::scim::schema::{Registry, ResourceType, USER_SCHEMA};
use crate::scim::{normalize, ScimError, ScimResult};

fn wants_groups(proj: &Projection) -> Groups {
    if proj.wants(Registry::builtin().user(), "groups") {
        Groups::Load
    } else {
        Groups::Skip
    }
}

fn render(cfg: &Config, rt: &ResourceType, v: &UserView, proj: &Projection) -> Value {
    let full = user_json(cfg, &v.user, v.groups.as_deref());
    crate::scim::projection::apply_owned(full, rt, proj)
}

fn ok(cfg: &Config, rt: &ResourceType, v: &UserView, proj: &Projection) -> ScimResponse {
    ScimResponse::Ok(
        ScimJson::new(render(cfg, rt, v, proj)),
        Some(etag(v.user.version)),
    )
}

/// A user's groups for the response of a change, when the projection shows them.
fn view(conn: &mut crate::directory::Conn, user: User, proj: &Projection) -> ScimResult<UserView> {
    let groups = match wants_groups(proj) {
        Groups::Skip => None,
        Groups::Load => Some(dir::groups_of(conn, &user.org_id, user.id)?),
    };
    Ok(UserView { user, groups })
}

/// `pre`: passwords hashed ahead (Bulk hashes before its transaction begins); a password not
/// found there is hashed in the operation, before its own transaction.
pub fn create(
    cfg: &Arc<Config>,
    pre: &Prehashed,
    body: Value,
    proj: Projection,
) -> ScimResult<Prepared> {
    let rt = Registry::builtin().user();
    let canon = normalize::resource(&body, rt)?;
    normalize::check_required(&canon, rt)?;
    let (mut data, password) = user_data(&canon, VendorFields::default())?;
    // A user is active unless the request says otherwise; `active` is never left unset.
    data.active = Some(data.active.unwrap_or(true));
    let cfg = cfg.clone();
    let hashing = password.is_some();
    let batch = (!hashing).then(|| NewUser {
        data: data.clone(),
        proj: proj.clone(),
    });
    let pre = pre.clone();
    let op = move |conn: &mut crate::directory::Conn, p: &Caller<'_>| {
        let u = dir::create(conn, p, &data, password.map(|p| pre.take(p)))
            .map_err(|e| ScimError::about(e, "user"))?;
        let reg = p.schemas(conn)?;
        Ok(created(&cfg, reg.user(), u, &proj))
    };
    let mut prepared = Prepared::new(op, hashing);
    prepared.new_user = batch;
    Ok(prepared)
}

/// The answer to a create of `u`.
pub fn created(cfg: &Config, rt: &ResourceType, u: User, proj: &Projection) -> ScimResponse {
    let location = cfg.url(&format!("/scim/v2/Users/{}", id_to_hex(u.id)));
    let version = u.version;
    // A new user belongs to no group yet.
    let groups = (wants_groups(proj) == Groups::Load).then(Vec::new);
    let body = render(cfg, rt, &UserView { user: u, groups }, proj);
    ScimResponse::Created(ScimJson::new(body), Some(etag(version)), location)
}

pub async fn get(
    state: &AppState,
    auth: &BearerOrBasic,
    id: IdOrMe<'_>,
    proj: ScimResult<Projection>,
    if_none_match: Option<String>,
) -> ScimResponse {
    let wanted = proj.and_then(|proj| match id {
        IdOrMe::Id(s) => Ok((Some(ScimError::id(s, "user")?), proj)),
        IdOrMe::Me => Ok((None, proj)),
    });
    let cfg = state.config.clone();
    read_trip(state, auth, true, wanted, move |conn, p, (wanted, proj)| {
        let id = match wanted.or(p.user_id) {
            Some(id) => id,
            None => {
                return Ok(ScimResponse::from(ScimError::status(
                    poem::http::StatusCode::NOT_IMPLEMENTED,
                    "/Me for a credential that is not bound to a user is not implemented",
                )))
            }
        };
        let v = dir::get(conn, &p.org_id, id, wants_groups(&proj))
            .map_err(|e| ScimError::about(e, "user"))?;
        if none_match(if_none_match.as_deref(), v.user.version) {
            return Ok(ScimResponse::NotModified(etag(v.user.version)));
        }
        let reg = p.schemas(conn)?;
        Ok(ok(&cfg, reg.user(), &v, &proj))
    })
    .await
}

/// Which user a read names: an id in the path, or the caller's own (`/Me`).
pub enum IdOrMe<'a> {
    Id(&'a str),
    Me,
}

/// Run a change in the directory and render it.
fn change<F>(
    cfg: &Arc<Config>,
    pre: &Prehashed,
    c: Change<'_>,
    password: Option<String>,
    compute: F,
) -> ScimResult<Prepared>
where
    F: FnOnce(&Config, &ResourceType, &User) -> ScimResult<UserData> + Send + 'static,
{
    let id = ScimError::id(c.id, "user")?;
    let expected = if_match(c.if_match)?;
    let proj = c.proj;
    let cfg: Arc<Config> = cfg.clone();
    let hashing = password.is_some();
    let pre = pre.clone();
    let op = move |conn: &mut crate::directory::Conn, c: &Caller<'_>| {
        let reg = c.schemas(conn)?;
        let rt = reg.user();
        let changed = dir::update(
            conn,
            c,
            id,
            &expected,
            password.map(|p| pre.take(p)),
            |current: &User| {
                let data = compute(&cfg, rt, current)?;
                Ok(keep_derived_user_name(current.id, &current.data, data))
            },
        )
        .map_err(|e| match e {
            ScimError { status, .. } if status == poem::http::StatusCode::NOT_FOUND => {
                ScimError::not_found(format!("user {:?} not found", id_to_hex(id)))
            }
            other => other,
        })?;
        let v = view(conn, changed.value, &proj)?;
        Ok(ok(&cfg, rt, &v, &proj))
    };
    Ok(Prepared::new(op, hashing))
}

pub fn replace(cfg: &Arc<Config>, pre: &Prehashed, c: Change<'_>) -> ScimResult<Prepared> {
    let rt = Registry::builtin().user();
    let canon = normalize::resource(&c.body, rt)?;
    normalize::check_required(&canon, rt)?;
    let password = canon
        .get("password")
        .and_then(Value::as_str)
        .map(str::to_string);
    change(cfg, pre, c, password, move |_, _, current| {
        let (mut data, _) = user_data(&canon, current.data.vendor.clone())?;
        // A PUT that leaves `active` out keeps it: omission never re-enables a user.
        if data.active.is_none() {
            data.active = current.data.active;
        }
        Ok(data)
    })
}

/// The password a POST, PUT (`patch: false`) or PATCH body sets, as the operation will read
/// it; `None` when it sets none or is malformed (the operation then answers the error).
pub fn password_in(body: &Value, patch: bool) -> Option<String> {
    if patch {
        return patch::parse_request(body)
            .ok()
            .and_then(|ops| patch_password(&ops));
    }
    let canon = normalize::resource(body, Registry::builtin().user()).ok()?;
    canon
        .get("password")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The password a PATCH sets, found in its operations (the rendered user carries none, so
/// the engine's result cannot show it).
fn patch_password(ops: &[Operation]) -> Option<String> {
    let is_password = |p: &str| {
        let name = p.rsplit(':').next().unwrap_or(p);
        name.eq_ignore_ascii_case("password")
    };
    ops.iter()
        .filter(|op| matches!(op.op, Op::Add | Op::Replace))
        .filter_map(|op| match (&op.path, &op.value) {
            (Some(path), Some(Value::String(s))) if is_password(path) => Some(s.clone()),
            // `password`, the URN-qualified key, or inside the core schema's object.
            (None, Some(Value::Object(o))) => o.iter().find_map(|(k, v)| match v {
                Value::String(s) if is_password(k) => Some(s.clone()),
                Value::Object(inner) if k.eq_ignore_ascii_case(USER_SCHEMA) => inner
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("password"))
                    .and_then(|(_, v)| v.as_str().map(str::to_string)),
                _ => None,
            }),
            _ => None,
        })
        .next_back()
}

pub fn modify(cfg: &Arc<Config>, pre: &Prehashed, c: Change<'_>) -> ScimResult<Prepared> {
    let ops = patch::parse_request(&c.body)?;
    let password = patch_password(&ops);
    change(cfg, pre, c, password, move |cfg, rt, current| {
        let before = user_json(cfg, current, None);
        let after = patch::apply(&before, &ops, rt)?;
        normalize::check_required(&after, rt)?;
        // Removing or clearing `active` leaves it unset, which is inactive
        // (`UserData::is_active`): only an explicit true enables a user.
        let (data, _) = user_data(&after, current.data.vendor.clone())?;
        Ok(data)
    })
}

/// A page of users as a ListResponse body, on the caller's connection.
pub fn list_in(
    conn: &mut crate::directory::Conn,
    keys: &crate::directory::KeyCache,
    cfg: &Config,
    c: &Caller<'_>,
    params: super::list::Params,
    proj: &Projection,
) -> ScimResult<Value> {
    let reg = c.schemas(conn)?;
    let rt = reg.user();
    let groups = wants_groups(proj);
    let (page, plan, mut groups) = super::list::users(conn, keys, c.org(), rt, params, groups)?;
    let with_groups = wants_groups(proj) == Groups::Load;
    let resources = page
        .rows
        .iter()
        .map(|u| {
            let g = groups.remove(&u.id).unwrap_or_default();
            let full = user_json(cfg, u, with_groups.then_some(g.as_slice()));
            crate::scim::projection::apply_owned(full, rt, proj)
        })
        .collect();
    Ok(super::list::response(
        resources,
        page.total,
        plan.start,
        page.next,
        page.previous,
        super::list::is_cursor(&plan),
    ))
}

/// The user as `GET /scim/v2/Users/{id}` returns it (for the console's side-by-side page,
/// `request::UserViews`).
pub fn console_view(
    _conn: &mut crate::directory::Conn,
    cfg: &Config,
    u: &User,
    groups: &[crate::domain::GroupRef],
) -> crate::directory::StoreResult<Value> {
    Ok(user_json(cfg, u, Some(groups)))
}
