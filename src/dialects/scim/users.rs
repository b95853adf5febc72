//! `/Users`: create, read, replace, patch, delete, list.

use poem_openapi::payload::Json;
use serde_json::Value;

use super::common::*;
use super::resources::{etag, user_data, user_json};
use crate::domain::{id_to_hex, PasswordHash, Principal, User, VendorFields};
use crate::scim::projection::Projection;
use crate::scim::schema::Registry;
use crate::scim::{normalize, patch, ScimError, ScimResult};
use crate::store::users::Actor;
use crate::store::{self, StoreError};
use crate::AppState;

const DIALECT_ACTOR_PREFIX: &str = "scim:";

/// bcrypt on the blocking pool, never on an async worker and never inside a transaction.
pub async fn hash_password(state: &AppState, plain: String) -> ScimResult<PasswordHash> {
    if plain.is_empty() || plain.len() > 72 {
        return Err(ScimError::invalid_value("password must be 1 to 72 bytes"));
    }
    let cost = state.config.bcrypt_cost;
    tokio::task::spawn_blocking(move || bcrypt::hash(plain, cost))
        .await
        .map_err(|_| {
            ScimError::status(
                poem::http::StatusCode::SERVICE_UNAVAILABLE,
                "hashing failed",
            )
        })?
        .map(|hash| PasswordHash {
            hash,
            algorithm: "bcrypt".into(),
        })
        .map_err(|_| ScimError::invalid_value("the password cannot be hashed"))
}

fn actor(p: &Principal) -> String {
    format!("{DIALECT_ACTOR_PREFIX}{}", p.credential_id)
}

async fn render(state: &AppState, p: &Principal, u: User, proj: &Projection) -> ScimResult<Value> {
    let rt = Registry::get().user();
    let groups = if proj.wants(rt, "groups") {
        let org = p.org_id.clone();
        let id = u.id;
        Some(
            state
                .store
                .run(move |c| store::users::groups_of(c, &org, id))
                .await
                .map_err(|e| store_error(e, "user"))?,
        )
    } else {
        None
    };
    let full = user_json(&state.config, &u, groups.as_deref());
    Ok(crate::scim::projection::apply(&full, rt, proj))
}

pub async fn create(state: &AppState, p: Principal, body: Value, proj: Projection) -> Outcome {
    let rt = Registry::get().user();
    let canon = normalize::resource(&body, rt)?;
    normalize::check_required(&canon, rt)?;
    let (data, password) = user_data(&canon, VendorFields::default())?;
    let hash = match password {
        Some(pw) => Some(hash_password(state, pw).await?),
        None => None,
    };
    let org = p.org_id.clone();
    let who = actor(&p);
    let user = state
        .store
        .run(move |c| {
            let u = store::users::insert(c, &org, &data, hash.as_ref(), Actor(&who))?;
            audit(c, &u, "User.Create", &who)?;
            Ok(u)
        })
        .await
        .map_err(|e| store_error(e, "user"))?;
    let version = user.version;
    let location = state
        .config
        .url(&format!("/scim/v2/Users/{}", id_to_hex(user.id)));
    let body = render(state, &p, user, &proj).await?;
    Ok(ScimResponse::Created(
        Json(body),
        Some(etag(version)),
        location,
    ))
}

fn audit(c: &mut store::DbConn, u: &User, key: &str, who: &str) -> store::StoreResult<()> {
    store::audit::record(
        c,
        store::audit::NewEntry {
            org_id: &u.org_id,
            user_id: Some(u.id),
            key,
            result: "Success",
            actor: who,
            dialect: "scim",
            payload: serde_json::json!({"userId": id_to_hex(u.id), "version": u.version}),
        },
    )?;
    Ok(())
}

async fn load(state: &AppState, p: &Principal, id: i64) -> ScimResult<User> {
    let org = p.org_id.clone();
    state
        .store
        .run(move |c| store::users::get(c, &org, id))
        .await
        .map_err(|e| store_error(e, "user"))
}

pub async fn get(
    state: &AppState,
    p: Principal,
    id: &str,
    proj: Projection,
    if_none_match: Option<&str>,
) -> Outcome {
    let id = parse_id(id, "user")?;
    let user = load(state, &p, id).await?;
    if none_match(if_none_match, user.version) {
        return Ok(ScimResponse::NotModified(etag(user.version)));
    }
    let version = user.version;
    let body = render(state, &p, user, &proj).await?;
    Ok(ScimResponse::Ok(Json(body), Some(etag(version))))
}

/// Compute the new state from the current one and write it if the version still matches.
/// Without `If-Match`, a concurrent change is retried on top of; with it, it is a 412.
async fn rewrite<F>(
    state: &AppState,
    p: &Principal,
    id: i64,
    wanted: Option<i64>,
    change: F,
) -> ScimResult<User>
where
    F: Fn(&User) -> ScimResult<(crate::domain::UserData, Option<String>)>,
{
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let current = load(state, p, id).await?;
        if wanted.is_some_and(|w| w != current.version) {
            return Err(store_error(StoreError::VersionMismatch, "user"));
        }
        let (data, password) = change(&current)?;
        let hash = match password {
            Some(pw) => Some(hash_password(state, pw).await?),
            None => None,
        };
        let org = p.org_id.clone();
        let who = actor(p);
        let expected = current.version;
        let result = state
            .store
            .run(move |c| {
                let (u, changed) = store::users::update(
                    c,
                    &org,
                    id,
                    Some(expected),
                    &data,
                    hash.as_ref(),
                    Actor(&who),
                )?;
                if changed {
                    audit(c, &u, "User.Update", &who)?;
                }
                Ok(u)
            })
            .await;
        match result {
            Ok(u) => return Ok(u),
            Err(StoreError::VersionMismatch) if wanted.is_none() => continue,
            Err(e) => return Err(store_error(e, "user")),
        }
    }
    Err(ScimError::status(
        poem::http::StatusCode::CONFLICT,
        "the user keeps changing; retry",
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
    let id = parse_id(id, "user")?;
    let wanted = if_match(if_match_h)?;
    let rt = Registry::get().user();
    let canon = normalize::resource(&body, rt)?;
    normalize::check_required(&canon, rt)?;
    let user = rewrite(state, &p, id, wanted, |current| {
        user_data(&canon, current.data.vendor.clone())
    })
    .await?;
    let version = user.version;
    let body = render(state, &p, user, &proj).await?;
    Ok(ScimResponse::Ok(Json(body), Some(etag(version))))
}

pub async fn modify(
    state: &AppState,
    p: Principal,
    id: &str,
    body: Value,
    proj: Projection,
    if_match_h: Option<&str>,
) -> Outcome {
    let id = parse_id(id, "user")?;
    let wanted = if_match(if_match_h)?;
    let rt = Registry::get().user();
    let ops = patch::parse_request(&body)?;
    let cfg = state.config.clone();
    let user = rewrite(state, &p, id, wanted, |current| {
        let before = user_json(&cfg, current, None);
        let after = patch::apply(&before, &ops, rt)?;
        normalize::check_required(&after, rt)?;
        user_data(&after, current.data.vendor.clone())
    })
    .await?;
    let version = user.version;
    let body = render(state, &p, user, &proj).await?;
    Ok(ScimResponse::Ok(Json(body), Some(etag(version))))
}

pub async fn delete(state: &AppState, p: Principal, id: &str, if_match_h: Option<&str>) -> Outcome {
    let id = parse_id(id, "user")?;
    let wanted = if_match(if_match_h)?;
    let org = p.org_id.clone();
    let who = actor(&p);
    state
        .store
        .run(move |c| {
            store::write_tx(c, |c| {
                let u = store::users::get(c, &org, id)?;
                store::users::delete(c, &org, id, wanted)?;
                audit(c, &u, "User.Delete", &who)
            })
        })
        .await
        .map_err(|e| store_error(e, "user"))?;
    Ok(ScimResponse::NoContent)
}

pub async fn list(
    state: &AppState,
    p: Principal,
    params: super::list::Params,
    proj: Projection,
) -> Outcome {
    let (page, plan) = super::list::users(state, &p, params).await?;
    let rt = Registry::get().user();
    let mut groups = if proj.wants(rt, "groups") && !page.rows.is_empty() {
        let org = p.org_id.clone();
        let ids: Vec<i64> = page.rows.iter().map(|u| u.id).collect();
        state
            .store
            .run(move |c| store::users::groups_of_many(c, &org, &ids))
            .await
            .map_err(|e| store_error(e, "user"))?
    } else {
        Default::default()
    };
    let with_groups = proj.wants(rt, "groups");
    let resources = page
        .rows
        .iter()
        .map(|u| {
            let g = groups.remove(&u.id).unwrap_or_default();
            let full = user_json(&state.config, u, with_groups.then_some(g.as_slice()));
            crate::scim::projection::apply(&full, rt, &proj)
        })
        .collect();
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
