//! `/api/users`: each operation is one database trip (`AppState::trip`) that checks the
//! credential, then judges the body or query (a bad credential is a 401 first), runs the
//! directory operation and renders the user in Logto's shape.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use serde_json::Value;

use super::body::LogtoJson;
use super::error::{LogtoError, LogtoResult};
use super::model::*;
use super::query::{self, Listing, Page};
use super::user::{self, LogtoUser, NewUserBody, UserPatchBody};
use crate::auth::schemes::BearerOrBasic;
use crate::auth::AuthError;
use crate::config::Config;
use crate::directory::read::{Groups, Order, Search, Window};
use crate::directory::seam::{id_and, Dialect};
use crate::directory::users as dir;
use crate::directory::{identities, Conn, StoreError, StoreResult};
use crate::directory::{Caller, Expect, NewPassword};
use crate::domain::{Identity, Principal, Scope, User};
use crate::http::throttle::Throttle;
use crate::request::AppState;

/// The user named `id` (16 hex digits) of the caller's organization.
pub fn load(conn: &mut Conn, p: &Principal, id: &str) -> LogtoResult<User> {
    let uid = LogtoError::id(id, "users")?;
    dir::get(conn, &p.org_id, uid, Groups::Skip)
        .map(|v| v.user)
        .map_err(LogtoError::from)
        .map_err(user_missing(id))
}

pub fn non_empty_password(pw: &str) -> LogtoResult<()> {
    if pw.is_empty() {
        return Err(LogtoError::body(
            "password",
            "(too_small) String must contain at least 1 character(s)",
        ));
    }
    Ok(())
}

/// `NotFound` of the user named `s` in Logto's words.
pub fn user_missing(s: &str) -> impl Fn(LogtoError) -> LogtoError + '_ {
    move |e| {
        if e.code == "entity.not_found" {
            LogtoError::not_found("users", s)
        } else {
            e
        }
    }
}

pub fn rendered(conn: &mut Conn, u: &User) -> LogtoResult<LogtoUser> {
    let identities = identities::of_user(conn, u.id)?;
    Ok(user::render(u, &identities))
}

/// Fill in `passwordDigest` / `passwordAlgorithm` of `users` (whose ids are `ids`, in
/// order): the directory reads them for a caller holding `users:write` and audits the read.
fn with_password_hashes(
    conn: &mut Conn,
    p: &Caller<'_>,
    ids: &[i64],
    users: &mut [LogtoUser],
) -> LogtoResult<()> {
    let mut hashes = dir::read_password_hashes(conn, p, ids)?;
    for (id, u) in ids.iter().zip(users.iter_mut()) {
        match hashes.remove(id) {
            Some(h) => {
                u.password_algorithm = MaybeUndefined::Value(
                    crate::directory::passwords::logto_name(&h.algorithm).to_string(),
                );
                u.password_digest = MaybeUndefined::Value(h.hash);
            }
            None => {
                u.password_digest = MaybeUndefined::Null;
                u.password_algorithm = MaybeUndefined::Null;
            }
        }
    }
    Ok(())
}

/// What `GET /api/users/{userId}` adds to the user: `includeSsoIdentities`,
/// `includePasswordHash` (their values as given, read after the credential is checked).
#[derive(Debug, Clone, Default)]
pub struct Include {
    pub sso_identities: Option<String>,
    pub password_hash: Option<String>,
}

/// A page of users, newest first, as the query `pairs` select.
pub async fn list(
    state: &AppState,
    auth: &BearerOrBasic,
    l: Listing,
) -> LogtoResult<UsersResponse> {
    let Listing { pairs, base } = l;
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let page = Page::parse(&pairs)?;
            let s = query::search(&pairs)?;
            let exclude = query::exclusions(&pairs)?;
            let search = Search {
                filter: super::search::filter(s, exclude.as_deref()),
                order: Order::newest_first(),
                window: Window::Offset {
                    offset: page.offset(),
                    limit: page.size,
                },
                total: true,
                groups: Groups::Skip,
            };
            let (loaded, total) = dir::search(conn, &p.org_id, &search)?;
            let total = total.unwrap_or(0);
            let ids: Vec<i64> = loaded.users.iter().map(|u| u.id).collect();
            let mut identities = identities::of_users(conn, &ids)?;
            let mut users: Vec<LogtoUser> = loaded
                .users
                .iter()
                .map(|u| user::render(u, &identities.remove(&u.id).unwrap_or_default()))
                .collect();
            if query::flag(&pairs, "includePasswordHash")? {
                with_password_hashes(conn, p, &ids, &mut users)?;
            }
            let link = page.link(&base, &pairs, total);
            Ok(UsersResponse::Ok(Json(users), total.to_string(), link))
        })
        .await
}

/// Create a user.
pub async fn create(
    state: &AppState,
    auth: &BearerOrBasic,
    body: LogtoJson<NewUserBody>,
) -> LogtoResult<UserResponse> {
    let body = body.into_result();
    let hashing = matches!(&body, Ok(b) if b.password.is_some());
    let op = move |conn: &mut Conn, p: &Caller<'_>, mut b: NewUserBody| {
        user::check_new(&b)?;
        if b.password.is_some() && b.password_digest.is_some() {
            return Err(LogtoError::new(
                StatusCode::BAD_REQUEST,
                "user.password_and_digest",
                "You cannot set both plain text password and password digest.",
            ));
        }
        let password = match (&b.password, &b.password_digest) {
            (Some(pw), _) => Some(NewPassword::Plain(pw.clone())),
            (None, Some(digest)) => {
                let Some(alg) = &b.password_algorithm else {
                    return Err(LogtoError::new(
                        StatusCode::BAD_REQUEST,
                        "user.password_algorithm_required",
                        "Password algorithm is required.",
                    ));
                };
                // An empty digest sets no password, as Logto takes it.
                if digest.is_empty() {
                    None
                } else {
                    Some(NewPassword::Digest(imported_digest(alg, digest)?))
                }
            }
            (None, None) => None,
        };
        if let Some(phone) = &b.primary_phone {
            b.primary_phone = Some(user::stored_phone(phone)?);
        }
        let data = user::new_user_data(&b);
        // Uniqueness of the username, email and phone is the directory's
        // (`domain::rules`), reported as Logto's `user.*_already_in_use`.
        let u = dir::create(conn, p, &data, password)?;
        Ok(UserResponse::Ok(Json(user::render(&u, &[]))))
    };
    state
        .trip(auth, Scope::UsersWrite)
        .hashing(hashing)
        .judged(body, op)
        .await
}

/// An imported `passwordDigest` in its `passwordAlgorithm`, refused in Logto's words.
fn imported_digest(alg: &str, digest: &str) -> LogtoResult<crate::domain::PasswordHash> {
    use crate::directory::passwords::{import, Refusal};
    import(alg, digest).map_err(|r| match r {
        Refusal::Invalid(m) => LogtoError::body("passwordDigest", m),
        Refusal::LegacyFormat => LogtoError::new(
            StatusCode::BAD_REQUEST,
            "password.invalid_legacy_password_format",
            "Invalid legacy password format.",
        ),
        Refusal::LegacyAlgorithm(a) => LogtoError::new(
            StatusCode::BAD_REQUEST,
            "password.unsupported_legacy_hash_algorithm",
            format!("Unsupported legacy hash algorithm: {a}."),
        ),
    })
}

pub async fn get(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    include: Include,
) -> LogtoResult<UserResponse> {
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let mut pairs = vec![];
            let given = [
                ("includeSsoIdentities", include.sso_identities),
                ("includePasswordHash", include.password_hash),
            ];
            for (k, v) in given {
                pairs.extend(v.map(|v| (k.to_string(), v)));
            }
            let sso = query::flag(&pairs, "includeSsoIdentities")?;
            let hash = query::flag(&pairs, "includePasswordHash")?;
            let u = load(conn, p, &id)?;
            let mut out = rendered(conn, &u)?;
            if sso {
                out.sso_identities = Some(vec![]);
            }
            if hash {
                with_password_hashes(conn, p, &[u.id], std::slice::from_mut(&mut out))?;
            }
            Ok(UserResponse::Ok(Json(out)))
        })
        .await
}

pub async fn update(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: LogtoJson<UserPatchBody>,
) -> LogtoResult<UserResponse> {
    let prepared = id_and(&id, "users", body.into_result());
    state
        .trip(auth, Scope::UsersWrite)
        .judged(prepared, move |conn, p, (uid, b)| {
            let patch = user::check_patch(&b)?;
            let changed =
                dir::update_as(conn, p, uid, &Expect::Any, None, "User.Update", |_, u| {
                    // The user is found first (404), then an empty change refused, as Logto.
                    if patch.is_empty() {
                        return Err(LogtoError::unprocessable(
                            "entity.invalid_input",
                            "Invalid input. Value list must not be empty.",
                        ));
                    }
                    Ok::<_, LogtoError>(patch.apply(&u.data))
                })
                .map_err(user_missing(&id))?;
            Ok(UserResponse::Ok(Json(rendered(conn, &changed.value)?)))
        })
        .await
}

pub async fn delete(state: &AppState, auth: &BearerOrBasic, id: String) -> LogtoResult<NoContent> {
    state
        .trip(auth, Scope::UsersWrite)
        .run(move |conn, p| {
            let uid = LogtoError::id(&id, "users")?;
            if p.user_id == Some(uid) {
                return Err(LogtoError::new(
                    StatusCode::BAD_REQUEST,
                    "user.cannot_delete_self",
                    "You cannot delete yourself.",
                ));
            }
            dir::delete(conn, p, uid, &Expect::Any)
                .map_err(LogtoError::from)
                .map_err(user_missing(&id))?;
            Ok(NoContent::NoContent)
        })
        .await
}

pub async fn set_password(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: LogtoJson<PasswordBody>,
) -> LogtoResult<UserResponse> {
    let prepared = id_and(&id, "users", body.into_result());
    state
        .trip(auth, Scope::UsersWrite)
        .hashing(true)
        .judged(prepared, move |conn, p, (uid, b)| {
            non_empty_password(&b.password)?;
            if b.password.len() > crate::directory::MAX_PASSWORD_BYTES {
                return Err(LogtoError::body(
                    "password",
                    "(too_big) a password is at most 72 bytes",
                ));
            }
            let u = dir::set_password(conn, p, uid, NewPassword::Plain(b.password))
                .map_err(LogtoError::from)
                .map_err(user_missing(&id))?;
            Ok(UserResponse::Ok(Json(rendered(conn, &u)?)))
        })
        .await
}

pub async fn verify_password(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: LogtoJson<PasswordBody>,
) -> LogtoResult<VerifyResponse> {
    let prepared = id_and(&id, "users", body.into_result());
    let throttle = state.throttle.clone();
    let retry = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let retry_in = retry.clone();
    let result = state
        .trip(auth, Scope::UsersRead)
        .hashing(true)
        .judged(prepared, move |conn, p, (uid, b)| {
            non_empty_password(&b.password)?;
            // Brute-force limit per user (`http::throttle`).
            let key = Throttle::password_key(p.org_id.as_str(), uid);
            throttle
                .check_in_trip(&key, &retry_in)
                .map_err(AuthError::Throttled)?;
            let ok = dir::verify_password(conn, &p.org_id, uid, &b.password)
                .map_err(LogtoError::from)
                .map_err(user_missing(&id))?;
            if !ok {
                throttle.fail(&key);
            }
            Ok(if ok {
                VerifyResponse::Match
            } else {
                VerifyResponse::Mismatch(Json(ErrorBody {
                    code: "session.invalid_credentials".into(),
                    message: "Wrong account or password.".into(),
                }))
            })
        })
        .await;
    Throttle::after_trip(&retry);
    result
}

pub async fn has_password(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
) -> LogtoResult<HasPasswordResponse> {
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let u = load(conn, p, &id)?;
            Ok(HasPasswordResponse::Ok(Json(HasPassword {
                has_password: u.has_password,
            })))
        })
        .await
}

pub async fn set_suspended(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: LogtoJson<SuspensionBody>,
) -> LogtoResult<UserResponse> {
    let prepared = id_and(&id, "users", body.into_result());
    state
        .trip(auth, Scope::UsersWrite)
        .judged(prepared, move |conn, p, (uid, b)| {
            let changed = dir::set_active(conn, p, uid, !b.is_suspended)
                .map_err(LogtoError::from)
                .map_err(user_missing(&id))?;
            Ok(UserResponse::Ok(Json(rendered(conn, &changed.value)?)))
        })
        .await
}

pub async fn get_custom_data(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
) -> LogtoResult<CustomDataResponse> {
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let u = load(conn, p, &id)?;
            Ok(CustomDataResponse::Ok(Json(
                user::render(&u, &[]).custom_data,
            )))
        })
        .await
}

pub async fn patch_custom_data(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: LogtoJson<CustomDataBody>,
) -> LogtoResult<CustomDataResponse> {
    let prepared = id_and(&id, "users", body.into_result());
    state
        .trip(auth, Scope::UsersWrite)
        .judged(prepared, move |conn, p, (uid, b)| {
            let changed = dir::update_as(
                conn,
                p,
                uid,
                &Expect::Any,
                None,
                "User.CustomData",
                |_, u| {
                    let mut d = u.data.clone();
                    let mut merged = d
                        .vendor
                        .custom_data
                        .as_object()
                        .cloned()
                        .unwrap_or_default();
                    merged.extend(b.custom_data);
                    d.vendor.custom_data = Value::Object(merged);
                    Ok::<_, LogtoError>(d)
                },
            )
            .map_err(user_missing(&id))?;
            Ok(CustomDataResponse::Ok(Json(
                user::render(&changed.value, &[]).custom_data,
            )))
        })
        .await
}

pub async fn patch_profile(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: LogtoJson<ProfileBody>,
) -> LogtoResult<ProfileResponse> {
    let prepared = id_and(&id, "users", body.into_result());
    state
        .trip(auth, Scope::UsersWrite)
        .judged(prepared, move |conn, p, (uid, b)| {
            user::check_profile(&b.profile)?;
            let changed =
                dir::update_as(conn, p, uid, &Expect::Any, None, "User.Profile", |_, u| {
                    let mut d = u.data.clone();
                    user::apply_profile(&mut d, &b.profile, true);
                    Ok::<_, LogtoError>(d)
                })
                .map_err(user_missing(&id))?;
            Ok(ProfileResponse::Ok(Json(user::profile_of(
                &changed.value.data,
            ))))
        })
        .await
}

pub async fn put_identity(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    target: String,
    body: LogtoJson<IdentityBody>,
) -> LogtoResult<IdentitiesResponse> {
    let prepared = id_and(&id, "users", body.into_result());
    state
        .trip(auth, Scope::UsersWrite)
        .judged(prepared, move |conn, p, (uid, b)| {
            if target.is_empty() || target.len() > 128 || target.contains('\0') {
                return Err(LogtoError::guard("params", "target", "1 to 128 characters"));
            }
            if b.user_id.is_empty() || b.user_id.len() > 256 || b.user_id.contains('\0') {
                return Err(LogtoError::body(
                    "userId",
                    "(too_small) 1 to 256 characters",
                ));
            }
            let identity = Identity {
                target: target.clone(),
                external_user_id: b.user_id,
                details: user::custom_data_value(&b.details.unwrap_or_default()),
            };
            let created = dir::link_identity(conn, p, uid, &identity)
                .map_err(LogtoError::from)
                .map_err(user_missing(&id))?;
            // The link locked and checked the user; only the identities are new.
            let all = user::identities_map(&identities::of_user(conn, uid)?);
            Ok(if created {
                IdentitiesResponse::Created(Json(all))
            } else {
                IdentitiesResponse::Replaced(Json(all))
            })
        })
        .await
}

pub async fn delete_identity(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    target: String,
) -> LogtoResult<UserResponse> {
    state
        .trip(auth, Scope::UsersWrite)
        .run(move |conn, p| {
            let uid = LogtoError::id(&id, "users")?;
            match dir::unlink_identity(conn, p, uid, &target) {
                Ok(()) => {}
                Err(StoreError::NotFound) => {
                    // Which is missing: the user, or their identity at the target?
                    dir::get(conn, &p.org_id, uid, Groups::Skip)
                        .map_err(LogtoError::from)
                        .map_err(user_missing(&id))?;
                    return Err(LogtoError::new(
                        StatusCode::NOT_FOUND,
                        "user.identity_not_exist",
                        "The social account has not been registered yet.",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            let u = dir::get(conn, &p.org_id, uid, Groups::Skip)?.user;
            Ok(UserResponse::Ok(Json(rendered(conn, &u)?)))
        })
        .await
}

/// The user as `GET /api/users/{userId}` returns it (for the console's side-by-side page,
/// `request::UserViews`).
pub fn console_view(
    conn: &mut Conn,
    _cfg: &Config,
    u: &User,
    _groups: &[crate::domain::GroupRef],
) -> StoreResult<Value> {
    let identities = identities::of_user(conn, u.id)?;
    Ok(poem_openapi::types::ToJSON::to_json(&user::render(u, &identities)).unwrap_or_default())
}
