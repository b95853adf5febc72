//! Logto's Management API for users and logs (`/api/users`, `/api/logs`; vendor-apis.md §1).
//! Each handler authenticates and runs its directory operation in one database trip
//! (`AppState::call`); a bad body or query is judged inside it, after the credential.

pub mod body;
pub mod error;
pub mod hooks;
pub mod query;
pub mod user;

use std::collections::BTreeMap;

use poem::http::StatusCode;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use serde_json::Value;

use crate::auth::schemes::{BearerAuth, BearerOrBasic};
use crate::auth::AuthError;
use crate::config::Config;
use crate::directory::users as dir;
use crate::directory::{Caller, Expect, NewPassword};
use crate::domain::{id_from_hex, id_to_hex, AuditEntry, Identity, Principal, Scope, User};
use crate::http::throttle::Throttle;
use crate::request::AppState;
use crate::store::raw::Raw;
use crate::store::user_search::{self, Backend};
use crate::store::{self, DbConn, StoreError};
use body::LogtoJson;
use error::LogtoError;
use query::{Page, Pairs};
use user::{LogtoIdentity, LogtoProfile, LogtoUser, NewUserBody, UserPatchBody};

#[derive(Tags)]
enum Tag {
    /// Logto Management API: users and logs
    Logto,
}

type LogtoResult<T> = Result<T, LogtoError>;

#[derive(ApiResponse)]
pub enum UserResponse {
    /// The user.
    #[oai(status = 200)]
    Ok(Json<LogtoUser>),
}

#[derive(ApiResponse)]
pub enum UsersResponse {
    /// A page of users, newest first.
    #[oai(status = 200)]
    Ok(
        Json<Vec<LogtoUser>>,
        /// How many users match.
        #[oai(header = "Total-Number")]
        String,
        /// `first`, `prev`, `next`, `last` pages.
        #[oai(header = "Link")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum IdentitiesResponse {
    /// The identity replaced an existing one at the target; the user's identities.
    #[oai(status = 200)]
    Replaced(Json<BTreeMap<String, LogtoIdentity>>),
    /// The identity is new at the target; the user's identities.
    #[oai(status = 201)]
    Created(Json<BTreeMap<String, LogtoIdentity>>),
}

#[derive(ApiResponse)]
pub enum CustomDataResponse {
    /// The user's custom data.
    #[oai(status = 200)]
    Ok(Json<BTreeMap<String, Value>>),
}

#[derive(ApiResponse)]
pub enum ProfileResponse {
    /// The user's profile.
    #[oai(status = 200)]
    Ok(Json<LogtoProfile>),
}

#[derive(Object)]
#[oai(rename = "LogtoHasPassword", rename_all = "camelCase")]
pub struct HasPassword {
    pub has_password: bool,
}

#[derive(ApiResponse)]
pub enum HasPasswordResponse {
    /// Whether the user has a password.
    #[oai(status = 200)]
    Ok(Json<HasPassword>),
}

#[derive(Object)]
#[oai(rename = "LogtoErrorBody", rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

#[derive(ApiResponse)]
pub enum VerifyResponse {
    /// The password matches.
    #[oai(status = 204)]
    Match,
    /// The password does not match (or the user has none).
    #[oai(status = 422)]
    Mismatch(Json<ErrorBody>),
}

/// An audit entry as a Logto log.
#[derive(Object)]
#[oai(rename = "LogtoLog", rename_all = "camelCase")]
pub struct LogtoLog {
    /// The organization.
    pub tenant_id: String,
    pub id: String,
    pub key: String,
    /// `key`, `result`, `userId`, `dialect`, `credentialId` and `applicationId` (the
    /// credential that made the change), `action` and the change's own fields.
    pub payload: BTreeMap<String, Value>,
    /// Epoch milliseconds.
    pub created_at: i64,
}

#[derive(ApiResponse)]
pub enum LogsResponse {
    /// A page of logs, newest first.
    #[oai(status = 200)]
    Ok(
        Json<Vec<LogtoLog>>,
        #[oai(header = "Total-Number")] String,
        #[oai(header = "Link")] String,
    ),
}

#[derive(ApiResponse)]
pub enum LogResponse {
    /// The log.
    #[oai(status = 200)]
    Ok(Json<LogtoLog>),
}

#[derive(Object)]
#[oai(rename = "LogtoPassword", rename_all = "camelCase")]
pub struct PasswordBody {
    pub password: String,
}

#[derive(Object)]
#[oai(rename = "LogtoSuspension", rename_all = "camelCase")]
pub struct SuspensionBody {
    pub is_suspended: bool,
}

#[derive(Object)]
#[oai(rename = "LogtoCustomDataPatch", rename_all = "camelCase")]
pub struct CustomDataBody {
    pub custom_data: BTreeMap<String, Value>,
}

#[derive(Object)]
#[oai(rename = "LogtoProfilePatch", rename_all = "camelCase")]
pub struct ProfileBody {
    pub profile: LogtoProfile,
}

#[derive(Object)]
#[oai(rename = "LogtoIdentityBody", rename_all = "camelCase")]
pub struct IdentityBody {
    /// The user's id at the target.
    pub user_id: String,
    pub details: Option<BTreeMap<String, Value>>,
}

fn bearer(auth: BearerAuth) -> BearerOrBasic {
    BearerOrBasic::Bearer(auth)
}

fn caller<'a>(cfg: &Config, p: &'a Principal) -> Caller<'a> {
    Caller {
        principal: p,
        dialect: "logto",
        bcrypt_cost: cfg.bcrypt_cost,
    }
}

/// A user id of this dialect (16 hex digits); anything else names no user.
fn user_id(s: &str) -> LogtoResult<i64> {
    id_from_hex(s).ok_or_else(|| LogtoError::not_found("users", s))
}

/// The user named `id` (16 hex digits) of the caller's organization.
fn load(conn: &mut DbConn, p: &Principal, id: &str) -> LogtoResult<User> {
    let uid = user_id(id)?;
    store::users::get(conn, &p.org_id, uid)
        .map_err(LogtoError::from)
        .map_err(user_missing(id))
}

fn non_empty_password(pw: &str) -> LogtoResult<()> {
    if pw.is_empty() {
        return Err(LogtoError::body(
            "password",
            "(too_small) String must contain at least 1 character(s)",
        ));
    }
    Ok(())
}

/// `NotFound` of the user named `s` in Logto's words.
fn user_missing(s: &str) -> impl Fn(LogtoError) -> LogtoError + '_ {
    move |e| {
        if e.code == "entity.not_found" {
            LogtoError::not_found("users", s)
        } else {
            e
        }
    }
}

fn rendered(conn: &mut DbConn, u: &User) -> LogtoResult<LogtoUser> {
    let identities = store::identities::of_user(conn, u.id)?;
    Ok(user::render(u, &identities))
}

fn log_of(e: AuditEntry) -> LogtoLog {
    let mut payload: BTreeMap<String, Value> = match e.payload {
        Value::Object(o) => o.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    let credential = e
        .actor
        .split_once(':')
        .map_or(e.actor.as_str(), |(_, c)| c)
        .to_string();
    payload.insert("key".into(), e.key.clone().into());
    payload.insert("result".into(), e.result.clone().into());
    payload.insert("dialect".into(), e.dialect.into());
    payload.insert("credentialId".into(), credential.clone().into());
    payload.insert("applicationId".into(), credential.into());
    if let Some(u) = e.user_id {
        payload.insert("userId".into(), id_to_hex(u).into());
    }
    LogtoLog {
        tenant_id: e.org_id.as_str().to_string(),
        id: id_to_hex(e.id),
        key: e.key,
        payload,
        created_at: user::millis(e.created_at),
    }
}

/// The search of `GET /api/users` as SQL on this connection's engine.
fn search_sql(
    backend: Backend,
    s: &query::Search,
    exclude_role: Option<&str>,
) -> LogtoResult<Option<Raw>> {
    let mut joined: Option<Raw> = None;
    for conds in &s.matches {
        let mut any: Option<Raw> = None;
        for c in conds {
            let sql = user_search::condition(c, &backend)?;
            any = Some(match any {
                None => sql,
                Some(prev) => Raw::join("OR", prev, sql),
            });
        }
        let Some(any) = any else { continue };
        joined = Some(match joined {
            None => any,
            Some(prev) => Raw::join(if s.joint_and { "AND" } else { "OR" }, prev, any),
        });
    }
    if let Some(role) = exclude_role {
        // A role's canonical id: 16 hex digits (as SCIM and Sumo show ids) or the integer
        // (as Domo's `roleId`). One that cannot exist excludes nobody.
        let rid = id_from_hex(role).or_else(|| role.parse::<i64>().ok().filter(|v| *v > 0));
        if let Some(rid) = rid {
            let without = user_search::without_role(rid);
            joined = Some(match joined {
                None => without,
                Some(prev) => Raw::join("AND", prev, without),
            });
        }
    }
    Ok(joined)
}

async fn respond<T>(f: impl std::future::Future<Output = LogtoResult<T>>) -> poem::Result<T> {
    f.await.map_err(poem::Error::from)
}

pub struct LogtoApi;

#[OpenApi(prefix_path = "/api", tag = "Tag::Logto")]
impl LogtoApi {
    /// List users, newest first: `page` (from 1), `page_size` (default 20, at most 100);
    /// `search` (all five fields) or `search.<field>` (`id`, `primaryEmail`, `primaryPhone`,
    /// `username`, `name`; repeat for several values), `mode` / `mode.<field>` (`like`
    /// (default; no implicit wildcards), `exact`, `similar_to`, `posix`), `joint`
    /// (`or`/`and`), `isCaseSensitive`, `excludeRoleId`.
    #[oai(path = "/users", method = "get", operation_id = "ListUsers")]
    #[allow(clippy::too_many_arguments)]
    async fn list_users(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        req: &Request,
        /// Page number, from 1.
        page: Query<Option<String>>,
        /// Page size, 1 to 100 (default 20).
        page_size: Query<Option<String>>,
        /// Search all searchable fields.
        search: Query<Option<String>>,
        /// Default match mode.
        mode: Query<Option<String>>,
        /// How conditions on several fields combine: `or` (default) or `and`.
        joint: Query<Option<String>>,
        #[oai(name = "isCaseSensitive")] is_case_sensitive: Query<Option<String>>,
        #[oai(name = "excludeRoleId")] exclude_role_id: Query<Option<String>>,
    ) -> poem::Result<UsersResponse> {
        let _ = (page, page_size, search, mode, joint, is_case_sensitive);
        let _ = exclude_role_id;
        let pairs = query::pairs(req.uri().query());
        let base = state.config.url(req.uri().path());
        respond(
            state.call(&bearer(auth), Some(Scope::UsersRead), move |conn, p| {
                let page = Page::parse(&pairs)?;
                let s = query::search(&pairs)?;
                let exclude = query::exclusions(&pairs)?;
                let filter = search_sql(Backend::of(conn), &s, exclude.as_deref())?;
                let order = store::Order {
                    key: Some("users.created_at".into()),
                    descending: true,
                };
                let window = store::Window::Offset {
                    offset: page.offset(),
                    limit: page.size,
                };
                let (loaded, total) = store::users::query(
                    conn,
                    &p.org_id,
                    filter.as_ref(),
                    &order,
                    window,
                    true,
                    store::users::GroupsToo::Skip,
                )?;
                let total = total.unwrap_or(0);
                let ids: Vec<i64> = loaded.users.iter().map(|u| u.id).collect();
                let mut identities = store::identities::of_users(conn, &ids)?;
                let users = loaded
                    .users
                    .iter()
                    .map(|u| user::render(u, &identities.remove(&u.id).unwrap_or_default()))
                    .collect();
                Ok(UsersResponse::Ok(
                    Json(users),
                    total.to_string(),
                    page.link(&base, &pairs, total),
                ))
            }),
        )
        .await
    }

    /// Create a user (200, as Logto answers). Every field is optional; `password`, or
    /// `passwordDigest` with `passwordAlgorithm` (imported unchanged).
    #[oai(path = "/users", method = "post", operation_id = "CreateUser")]
    async fn create_user(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        body: LogtoJson<NewUserBody>,
    ) -> poem::Result<UserResponse> {
        let body = body.into_result();
        let hashing = matches!(&body, Ok(b) if b.password.is_some());
        let cfg = state.config.clone();
        let op = move |conn: &mut DbConn, p: Principal| {
            let b = body?;
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
                    let hash = crate::directory::passwords::import(alg, digest)
                        .map_err(|m| LogtoError::body("passwordDigest", m))?;
                    Some(NewPassword::Digest(hash))
                }
                (None, None) => None,
            };
            let data = user::new_user_data(&b);
            let c = caller(&cfg, &p);
            // Uniqueness of the username, email and phone is the directory's
            // (`domain::rules`), reported as Logto's `user.*_already_in_use`.
            let u = dir::create(conn, &c, &data, password)?;
            Ok(UserResponse::Ok(Json(user::render(&u, &[]))))
        };
        let auth = bearer(auth);
        respond(async {
            if hashing {
                state.call_hashing(&auth, Some(Scope::UsersWrite), op).await
            } else {
                state.call(&auth, Some(Scope::UsersWrite), op).await
            }
        })
        .await
    }

    /// Get a user.
    #[oai(path = "/users/:userId", method = "get", operation_id = "GetUser")]
    async fn get_user(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
    ) -> poem::Result<UserResponse> {
        let id = id.0;
        respond(
            state.call(&bearer(auth), Some(Scope::UsersRead), move |conn, p| {
                let u = load(conn, &p, &id)?;
                Ok(UserResponse::Ok(Json(rendered(conn, &u)?)))
            }),
        )
        .await
    }

    /// Update a user: the fields given change (`""` or null clears one); `customData` and
    /// `profile` replace the whole object.
    #[oai(path = "/users/:userId", method = "patch", operation_id = "UpdateUser")]
    async fn update_user(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
        body: LogtoJson<UserPatchBody>,
    ) -> poem::Result<UserResponse> {
        let (id, body) = (id.0, body.into_result());
        let cfg = state.config.clone();
        respond(
            state.call(&bearer(auth), Some(Scope::UsersWrite), move |conn, p| {
                let uid = user_id(&id)?;
                let b = body?;
                let patch = user::check_patch(&b)?;
                let c = caller(&cfg, &p);
                let changed =
                    dir::update_as(conn, &c, uid, &Expect::Any, None, "User.Update", |_, u| {
                        Ok::<_, LogtoError>(patch.apply(&u.data))
                    })
                    .map_err(user_missing(&id))?;
                Ok(UserResponse::Ok(Json(rendered(conn, &changed.value)?)))
            }),
        )
        .await
    }

    /// Delete a user (204). A credential bound to a user cannot delete that user.
    #[oai(
        path = "/users/:userId",
        method = "delete",
        operation_id = "DeleteUser"
    )]
    async fn delete_user(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
    ) -> poem::Result<NoContent> {
        let id = id.0;
        let cfg = state.config.clone();
        respond(
            state.call(&bearer(auth), Some(Scope::UsersWrite), move |conn, p| {
                let uid = user_id(&id)?;
                if p.user_id == Some(uid) {
                    return Err(LogtoError::new(
                        StatusCode::BAD_REQUEST,
                        "user.cannot_delete_self",
                        "You cannot delete yourself.",
                    ));
                }
                dir::delete(conn, &caller(&cfg, &p), uid, &Expect::Any)
                    .map_err(LogtoError::from)
                    .map_err(user_missing(&id))?;
                Ok(NoContent::NoContent)
            }),
        )
        .await
    }

    /// Set a user's password (hashed with bcrypt).
    #[oai(
        path = "/users/:userId/password",
        method = "patch",
        operation_id = "UpdateUserPassword"
    )]
    async fn set_password(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
        body: LogtoJson<PasswordBody>,
    ) -> poem::Result<UserResponse> {
        let (id, body) = (id.0, body.into_result());
        let cfg = state.config.clone();
        respond(
            state.call_hashing(&bearer(auth), Some(Scope::UsersWrite), move |conn, p| {
                let uid = user_id(&id)?;
                let b = body?;
                non_empty_password(&b.password)?;
                if b.password.len() > crate::directory::MAX_PASSWORD_BYTES {
                    return Err(LogtoError::body(
                        "password",
                        "(too_big) a password is at most 72 bytes",
                    ));
                }
                let u =
                    dir::set_password(conn, &caller(&cfg, &p), uid, NewPassword::Plain(b.password))
                        .map_err(LogtoError::from)
                        .map_err(user_missing(&id))?;
                Ok(UserResponse::Ok(Json(rendered(conn, &u)?)))
            }),
        )
        .await
    }

    /// Check a password against the user's (204 when it matches, 422 when not). bcrypt and
    /// imported Argon2, SHA-1, SHA-256 and MD5 digests are checked.
    #[oai(path = "/users/:userId/password/verify", method = "post")]
    async fn verify_password(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
        body: LogtoJson<PasswordBody>,
    ) -> poem::Result<VerifyResponse> {
        let (id, body) = (id.0, body.into_result());
        let throttle = state.throttle.clone();
        let retry = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let retry_in = retry.clone();
        let result =
            respond(
                state.call_hashing(&bearer(auth), Some(Scope::UsersRead), move |conn, p| {
                    let uid = user_id(&id)?;
                    let b = body?;
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
                }),
            )
            .await;
        Throttle::after_trip(&retry);
        result
    }

    /// Whether the user has a password.
    #[oai(path = "/users/:userId/has-password", method = "get")]
    async fn has_password(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
    ) -> poem::Result<HasPasswordResponse> {
        let id = id.0;
        respond(
            state.call(&bearer(auth), Some(Scope::UsersRead), move |conn, p| {
                let u = load(conn, &p, &id)?;
                Ok(HasPasswordResponse::Ok(Json(HasPassword {
                    has_password: u.has_password,
                })))
            }),
        )
        .await
    }

    /// Suspend (`true`) or reinstate a user: SCIM's `active`, seen from the other side.
    #[oai(
        path = "/users/:userId/is-suspended",
        method = "patch",
        operation_id = "UpdateUserIsSuspended"
    )]
    async fn set_suspended(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
        body: LogtoJson<SuspensionBody>,
    ) -> poem::Result<UserResponse> {
        let (id, body) = (id.0, body.into_result());
        let cfg = state.config.clone();
        respond(
            state.call(&bearer(auth), Some(Scope::UsersWrite), move |conn, p| {
                let uid = user_id(&id)?;
                let b = body?;
                let changed = dir::set_active(conn, &caller(&cfg, &p), uid, !b.is_suspended)
                    .map_err(LogtoError::from)
                    .map_err(user_missing(&id))?;
                Ok(UserResponse::Ok(Json(rendered(conn, &changed.value)?)))
            }),
        )
        .await
    }

    /// A user's custom data.
    #[oai(path = "/users/:userId/custom-data", method = "get")]
    async fn get_custom_data(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
    ) -> poem::Result<CustomDataResponse> {
        let id = id.0;
        respond(
            state.call(&bearer(auth), Some(Scope::UsersRead), move |conn, p| {
                let u = load(conn, &p, &id)?;
                Ok(CustomDataResponse::Ok(Json(
                    user::render(&u, &[]).custom_data,
                )))
            }),
        )
        .await
    }

    /// Merge into a user's custom data (top-level keys given replace theirs).
    #[oai(path = "/users/:userId/custom-data", method = "patch")]
    async fn patch_custom_data(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
        body: LogtoJson<CustomDataBody>,
    ) -> poem::Result<CustomDataResponse> {
        let (id, body) = (id.0, body.into_result());
        let cfg = state.config.clone();
        respond(
            state.call(&bearer(auth), Some(Scope::UsersWrite), move |conn, p| {
                let uid = user_id(&id)?;
                let b = body?;
                let changed = dir::update_as(
                    conn,
                    &caller(&cfg, &p),
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
            }),
        )
        .await
    }

    /// Merge into a user's profile (the claims given replace theirs).
    #[oai(path = "/users/:userId/profile", method = "patch")]
    async fn patch_profile(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
        body: LogtoJson<ProfileBody>,
    ) -> poem::Result<ProfileResponse> {
        let (id, body) = (id.0, body.into_result());
        let cfg = state.config.clone();
        respond(
            state.call(&bearer(auth), Some(Scope::UsersWrite), move |conn, p| {
                let uid = user_id(&id)?;
                let b = body?;
                user::check_profile(&b.profile)?;
                let changed = dir::update_as(
                    conn,
                    &caller(&cfg, &p),
                    uid,
                    &Expect::Any,
                    None,
                    "User.Profile",
                    |_, u| {
                        let mut d = u.data.clone();
                        user::apply_profile(&mut d, &b.profile, true);
                        Ok::<_, LogtoError>(d)
                    },
                )
                .map_err(user_missing(&id))?;
                Ok(ProfileResponse::Ok(Json(user::profile_of(
                    &changed.value.data,
                ))))
            }),
        )
        .await
    }

    /// Link (or replace) the user's identity at `target`: 201 when the target is new, 200
    /// when it replaced one; the user's identities.
    #[oai(
        path = "/users/:userId/identities/:target",
        method = "put",
        operation_id = "ReplaceUserIdentity"
    )]
    async fn put_identity(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
        target: Path<String>,
        body: LogtoJson<IdentityBody>,
    ) -> poem::Result<IdentitiesResponse> {
        let (id, target, body) = (id.0, target.0, body.into_result());
        let cfg = state.config.clone();
        respond(
            state.call(&bearer(auth), Some(Scope::UsersWrite), move |conn, p| {
                let uid = user_id(&id)?;
                let b = body?;
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
                let created = dir::link_identity(conn, &caller(&cfg, &p), uid, &identity)
                    .map_err(LogtoError::from)
                    .map_err(user_missing(&id))?;
                // The link locked and checked the user; only the identities are new.
                let all = user::identities_map(&store::identities::of_user(conn, uid)?);
                Ok(if created {
                    IdentitiesResponse::Created(Json(all))
                } else {
                    IdentitiesResponse::Replaced(Json(all))
                })
            }),
        )
        .await
    }

    /// Remove the user's identity at `target`; the user (200).
    #[oai(
        path = "/users/:userId/identities/:target",
        method = "delete",
        operation_id = "DeleteUserIdentity"
    )]
    async fn delete_identity(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        #[oai(name = "userId")] id: Path<String>,
        target: Path<String>,
    ) -> poem::Result<UserResponse> {
        let (id, target) = (id.0, target.0);
        let cfg = state.config.clone();
        respond(
            state.call(&bearer(auth), Some(Scope::UsersWrite), move |conn, p| {
                let uid = user_id(&id)?;
                match dir::unlink_identity(conn, &caller(&cfg, &p), uid, &target) {
                    Ok(()) => {}
                    Err(StoreError::NotFound) => {
                        // Which is missing: the user, or their identity at the target?
                        store::users::get(conn, &p.org_id, uid)
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
                let u = store::users::get(conn, &p.org_id, uid)?;
                Ok(UserResponse::Ok(Json(rendered(conn, &u)?)))
            }),
        )
        .await
    }

    /// The audit trail as Logto logs, newest first: every change any dialect made.
    /// `userId`, `logKey`, `applicationId` (the credential), `start_time` / `end_time`
    /// (epoch ms, inclusive), `page`, `page_size`.
    #[oai(path = "/logs", method = "get", operation_id = "ListLogs")]
    #[allow(clippy::too_many_arguments)]
    async fn list_logs(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        req: &Request,
        #[oai(name = "userId")] user_id_q: Query<Option<String>>,
        #[oai(name = "logKey")] log_key: Query<Option<String>>,
        #[oai(name = "applicationId")] application_id: Query<Option<String>>,
        start_time: Query<Option<String>>,
        end_time: Query<Option<String>>,
        page: Query<Option<String>>,
        page_size: Query<Option<String>>,
    ) -> poem::Result<LogsResponse> {
        let _ = (user_id_q, log_key, application_id, start_time, end_time);
        let _ = (page, page_size);
        let pairs: Pairs = query::pairs(req.uri().query());
        let base = state.config.url(req.uri().path());
        respond(
            state.call(&bearer(auth), Some(Scope::UsersRead), move |conn, p| {
                let page = Page::parse(&pairs)?;
                let (from, to) = query::time_window(&pairs)?;
                let mut f = store::audit::Filter {
                    key: query::value(&pairs, "logKey").map(str::to_string),
                    credential: query::value(&pairs, "applicationId").map(str::to_string),
                    from,
                    to,
                    ..Default::default()
                };
                let mut nothing = false;
                if let Some(u) = query::value(&pairs, "userId") {
                    match id_from_hex(u) {
                        Some(id) => f.user_id = Some(id),
                        None => nothing = true,
                    }
                }
                let (entries, total) = if nothing {
                    (vec![], 0)
                } else {
                    store::audit::search(conn, &p.org_id, &f, page.offset(), page.size)?
                };
                Ok(LogsResponse::Ok(
                    Json(entries.into_iter().map(log_of).collect()),
                    total.to_string(),
                    page.link(&base, &pairs, total),
                ))
            }),
        )
        .await
    }

    /// One log.
    #[oai(path = "/logs/:id", method = "get", operation_id = "GetLog")]
    async fn get_log(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        id: Path<String>,
    ) -> poem::Result<LogResponse> {
        let id = id.0;
        respond(
            state.call(&bearer(auth), Some(Scope::UsersRead), move |conn, p| {
                let missing = || LogtoError::not_found("logs", &id);
                let lid = id_from_hex(&id).ok_or_else(missing)?;
                match store::audit::get(conn, &p.org_id, lid) {
                    Ok(e) => Ok(LogResponse::Ok(Json(log_of(e)))),
                    Err(StoreError::NotFound) => Err(missing()),
                    Err(e) => Err(e.into()),
                }
            }),
        )
        .await
    }
}

/// The user as `GET /api/users/{userId}` returns it (for the console's side-by-side page,
/// `request::UserViews`).
pub fn console_view(
    conn: &mut DbConn,
    _cfg: &Config,
    u: &User,
    _groups: &[crate::domain::GroupRef],
) -> store::StoreResult<Value> {
    let identities = store::identities::of_user(conn, u.id)?;
    Ok(poem_openapi::types::ToJSON::to_json(&user::render(u, &identities)).unwrap_or_default())
}
