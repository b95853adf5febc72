//! `/api/v1/users`: each operation runs in its request's one database trip, which the route
//! makes (`super::SumoApi`) after it has parsed what the request carries, as Sumo's caller:
//! it runs the directory operation and renders the user.

use serde_json::json;

use super::body::SumoJson;
use super::cursor::{self, After, Paging};
use super::error::{SumoError, SumoResult};
use super::model::{self, CreateUserBody, DisableMfaBody, EmailChangeBody, SumoUser};
use super::model::{SumoUserList, UpdateUserBody};
use crate::auth::schemes::BearerOrBasic;
use crate::config::Config;
use crate::directory::read::{Condition, Field, FieldSearch, Mode, SortKey, UserFilter};
use crate::directory::seam::{id_and, Dialect};
use crate::directory::users as dir;
use crate::directory::{roles, Expect};
use crate::directory::{Caller, Conn, StoreError, StoreResult};
use crate::domain::{id_from_hex, id_to_hex, Name, OrgId};
use crate::domain::{RoleValue, Scope, User, UserData};
use crate::http::throttle::Throttle;
use crate::request::AppState;

fn user_error(e: StoreError) -> SumoError {
    match e {
        StoreError::Conflict(_) | StoreError::Taken(_) => SumoError::conflict(
            "user_email_already_exists",
            "A user with this email already exists.",
        ),
        other => SumoError::about(other, "user"),
    }
}

/// Render users with their role ids (one statement for all of them).
fn render(conn: &mut Conn, org: &OrgId, users: &[User]) -> SumoResult<Vec<SumoUser>> {
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let role_ids = roles::ids_of_users(conn, org, &ids)?;
    Ok(users
        .iter()
        .map(|u| model::user(u, role_ids.get(&u.id)))
        .collect())
}

fn render_one(conn: &mut Conn, u: &User) -> SumoResult<SumoUser> {
    let mut out = render(conn, &u.org_id, std::slice::from_ref(u))?;
    out.pop()
        .ok_or_else(|| SumoError::not_found("user_not_found", "The user does not exist."))
}

/// The stored names of the roles `ids` name; 400 for an id that is not a role of the
/// organization.
fn role_names(conn: &mut Conn, org: &OrgId, ids: &[String]) -> SumoResult<Vec<RoleValue>> {
    let mut out: Vec<RoleValue> = Vec::with_capacity(ids.len());
    for s in ids {
        let unknown =
            || SumoError::invalid("role_not_found", format!("Role {s:?} does not exist."));
        let id = id_from_hex(s.trim()).ok_or_else(unknown)?;
        let name =
            roles::resolve(conn, org, &roles::RoleRef::Id(id), &[]).map_err(|_| unknown())?;
        if !out.iter().any(|r| r.name == name) {
            out.push(RoleValue {
                name,
                ..RoleValue::default()
            });
        }
    }
    Ok(out)
}

/// A text field, trimmed: `min` to `max` characters, no NUL.
pub fn text(field: &str, v: &str, min: usize, max: usize) -> SumoResult<String> {
    let t = v.trim();
    let n = t.chars().count();
    if n < min || n > max || t.contains('\0') {
        return Err(SumoError::invalid(
            "invalid_field",
            format!("{field} must be {min} to {max} characters."),
        ));
    }
    Ok(t.to_string())
}

pub fn email(v: &str) -> SumoResult<String> {
    let e = v.trim();
    let ok = e.len() <= 255
        && !e.contains(char::is_whitespace)
        && !e.contains('\0')
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'));
    if !ok {
        return Err(SumoError::invalid(
            "invalid_field",
            format!("email must be an email address of at most 255 characters, got {e:?}."),
        ));
    }
    Ok(e.to_string())
}

/// `First Last` as the display name other dialects show.
fn display(first: &str, last: &str) -> Option<String> {
    let d = format!("{first} {last}").trim().to_string();
    (!d.is_empty()).then_some(d)
}

pub struct ListParams {
    pub page: Paging,
    pub sort_by: Option<String>,
    pub email: Option<String>,
    pub include_service_accounts: Option<String>,
}

pub fn list(conn: &mut Conn, p: &Caller<'_>, q: ListParams) -> SumoResult<SumoUserList> {
    let limit = q.page.limit()?;
    let sort_name = q.sort_by.as_deref().map(str::trim).unwrap_or("");
    let key = match sort_name {
        "" => SortKey::Id,
        "firstName" => SortKey::GivenName,
        "lastName" => SortKey::FamilyName,
        "email" => SortKey::Email,
        other => {
            return Err(SumoError::invalid(
                "invalid_parameter",
                format!("sortBy must be firstName, lastName or email, got {other:?}."),
            ))
        }
    };
    match q.include_service_accounts.as_deref().map(str::trim) {
        None | Some("") | Some("true") | Some("false") => {}
        Some(other) => {
            return Err(SumoError::invalid(
                "invalid_parameter",
                format!("includeServiceAccounts must be true or false, got {other:?}."),
            ))
        }
    }
    let email = match q.email.as_deref() {
        None => None,
        Some(e) if e.trim().is_empty() || e.contains('\0') => {
            return Err(SumoError::invalid(
                "invalid_parameter",
                "email must not be empty.",
            ))
        }
        Some(e) => Some(e.trim().to_string()),
    };
    let hash = cursor::query_hash(&[
        "users",
        p.org_id.as_str(),
        sort_name,
        email.as_deref().unwrap_or("\u{0}"),
    ]);
    let after = q.page.after(conn, &hash)?;
    let filter = email.map_or_else(UserFilter::all, |e| {
        UserFilter::fields(FieldSearch::one(Condition {
            field: Field::PrimaryEmail,
            mode: Mode::Exact,
            values: vec![e],
            case_sensitive: false,
        }))
    });
    let mut loaded = dir::page_by_key(
        conn,
        &p.org_id,
        &filter,
        key,
        after.map(|a| (a.key, a.id)),
        limit + 1,
    )?;
    let next = q
        .page
        .next(conn, &hash, &mut loaded.users, limit, |u| After {
            key: key.value_of(u),
            id: u.id,
        })?;
    Ok(SumoUserList {
        data: render(conn, &p.org_id, &loaded.users)?,
        next,
    })
}

pub fn create(conn: &mut Conn, p: &Caller<'_>, b: CreateUserBody) -> SumoResult<SumoUser> {
    let first = text("firstName", &b.first_name, 1, 128)?;
    let last = text("lastName", &b.last_name, 0, 128)?;
    let email = email(&b.email)?;
    let roles = role_names(conn, &p.org_id, &b.role_ids)?;
    let mut data = UserData {
        active: Some(true),
        display_name: display(&first, &last),
        name: Name {
            given: Some(first),
            family: (!last.is_empty()).then_some(last),
            ..Name::default()
        },
        roles,
        ..UserData::default()
    };
    data.set_primary_email(Some(email));
    let u = dir::create(conn, p, &data, None).map_err(user_error)?;
    render_one(conn, &u)
}

pub fn get(conn: &mut Conn, p: &Caller<'_>, id: i64) -> SumoResult<SumoUser> {
    let u = dir::get(conn, &p.org_id, id, dir::Groups::Skip)
        .map_err(user_error)?
        .user;
    render_one(conn, &u)
}

pub fn update(
    conn: &mut Conn,
    p: &Caller<'_>,
    (id, b): (i64, UpdateUserBody),
) -> SumoResult<SumoUser> {
    let first = text("firstName", &b.first_name, 1, 128)?;
    let last = text("lastName", &b.last_name, 0, 128)?;
    let roles = b
        .role_ids
        .as_deref()
        .map(|r| role_names(conn, &p.org_id, r))
        .transpose()?;
    let changed = dir::update_as(
        conn,
        p,
        id,
        &Expect::Any,
        None,
        "User.Update",
        |_, u: &User| {
            // The display name Sumo made from the names follows them
            // (`domain::rules::derive`); one set elsewhere stays.
            let mut d = u.data.clone();
            d.name.given = Some(first.clone());
            d.name.family = (!last.is_empty()).then(|| last.clone());
            if let Some(a) = b.is_active {
                d.active = Some(a);
            }
            if let Some(r) = &roles {
                // Keep the attributes of roles the user keeps (SCIM's display, type).
                let mut next: Vec<RoleValue> = Vec::with_capacity(r.len());
                for want in r {
                    let kept = d
                        .roles
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(&want.name))
                        .cloned();
                    next.push(kept.unwrap_or_else(|| want.clone()));
                }
                d.roles = next;
            }
            Ok::<_, StoreError>(d)
        },
    )
    .map_err(user_error)?;
    render_one(conn, &changed.value)
}

fn flag(name: &str, v: Option<&str>) -> SumoResult<bool> {
    match v.map(str::trim) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(SumoError::invalid(
            "invalid_parameter",
            format!("{name} must be true or false, got {other:?}."),
        )),
    }
}

/// What becomes of a deleted user's content: `transferTo` (a user id) or `deleteContent`.
pub struct Content {
    pub transfer_to: Option<String>,
    pub delete_content: Option<String>,
}

pub fn delete(conn: &mut Conn, p: &Caller<'_>, (id, c): (i64, Content)) -> SumoResult<()> {
    let delete_content = flag("deleteContent", c.delete_content.as_deref())?;
    let transfer = match c.transfer_to.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => {
            let bad = || {
                SumoError::invalid(
                    "invalid_parameter",
                    format!("transferTo must be the id of another user, got {t:?}."),
                )
            };
            let to = id_from_hex(t).ok_or_else(bad)?;
            if to == id || !dir::exists(conn, &p.org_id, to)? {
                return Err(bad());
            }
            Some(to)
        }
    };
    if transfer.is_some() && delete_content {
        return Err(SumoError::invalid(
            "invalid_parameter",
            "Give transferTo or deleteContent=true, not both.",
        ));
    }
    let content_to = match transfer {
        Some(t) => json!(id_to_hex(t)),
        None if delete_content => serde_json::Value::Null,
        None => json!(p.credential_id),
    };
    dir::delete_recorded(
        conn,
        p,
        id,
        json!({"transferTo": content_to, "deleteContent": delete_content}),
    )
    .map_err(user_error)
}

pub fn request_email_change(
    conn: &mut Conn,
    p: &Caller<'_>,
    (id, b): (i64, EmailChangeBody),
) -> SumoResult<()> {
    let e = email(&b.email)?;
    dir::request_email_change(conn, p, id, &e).map_err(user_error)?;
    Ok(())
}

/// Record a password reset.
pub fn reset_password(conn: &mut Conn, p: &Caller<'_>, id: i64) -> SumoResult<()> {
    dir::request_password_reset(conn, p, id).map_err(user_error)?;
    Ok(())
}

pub fn unlock(conn: &mut Conn, p: &Caller<'_>, id: i64) -> SumoResult<()> {
    dir::unlock(conn, p, id).map_err(user_error)?;
    Ok(())
}

pub fn resend_welcome(conn: &mut Conn, p: &Caller<'_>, id: i64) -> SumoResult<()> {
    dir::resend_welcome(conn, p, id).map_err(user_error)
}

/// The one operation that keeps its trip: the password it checks is under the brute-force
/// limit per user, counted around the trip.
pub async fn disable_mfa(
    state: &AppState,
    auth: &BearerOrBasic,
    id: String,
    body: SumoJson<DisableMfaBody>,
) -> SumoResult<()> {
    let throttle = state.throttle.clone();
    let retry = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let retry_in = retry.clone();
    let result = state
        .trip(auth, Scope::UsersWrite)
        .hashing(true)
        .judged(
            id_and(&id, "user", body.into_result()),
            move |conn, p, (id, b)| {
                // The password is checked here: the brute-force limit per user applies.
                let key = Throttle::password_key(p.org_id.as_str(), id);
                throttle
                    .check_in_trip(&key, &retry_in)
                    .map_err(crate::auth::AuthError::Throttled)?;
                if b.password.len() > crate::directory::MAX_PASSWORD_BYTES {
                    throttle.fail(&key);
                    return Err(SumoError::invalid(
                        "invalid_credentials",
                        "The email and password are not the user's.",
                    ));
                }
                dir::disable_mfa(conn, p, id, &b.email, &b.password).map_err(|e| match e {
                    StoreError::Invalid(_) => {
                        throttle.fail(&key);
                        SumoError::invalid(
                            "invalid_credentials",
                            "The email and password are not the user's.",
                        )
                    }
                    other => user_error(other),
                })?;
                Ok(())
            },
        )
        .await;
    Throttle::after_trip(&retry);
    result
}

/// The user as `GET /api/v1/users/{id}` returns it (for the console's side-by-side page,
/// `request::UserViews`).
pub fn console_view(
    conn: &mut Conn,
    _cfg: &Config,
    u: &User,
    _groups: &[crate::domain::GroupRef],
) -> StoreResult<serde_json::Value> {
    let role_ids = roles::ids_of_users(conn, &u.org_id, &[u.id])?;
    let s = model::user(u, role_ids.get(&u.id));
    Ok(poem_openapi::types::ToJSON::to_json(&s).unwrap_or_default())
}
