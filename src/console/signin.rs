//! Sign-in and sign-out. An admin signs in with their organization, user name (or email)
//! and password — they must hold a role with the `orgs:admin` capability and be active —
//! or with an API token that has `orgs:admin`. Passwords are checked against the stored
//! hashes (bcrypt, or an imported digest) under the same brute-force limit as Logto's
//! `password/verify` (the user's key in `http::throttle`); names that match no user have a
//! limit of their own and cost a bcrypt check too, so neither timing nor the limit tells
//! which names exist. The sign-in form is protected against login CSRF by a double-submit
//! cookie; the session cookie is HttpOnly, SameSite=Strict, Secure over HTTPS.

use maud::html;
use poem::http::{header, StatusCode};
use poem::web::{Data, Form, Query};
use poem::{handler, Request, Response};
use serde::Deserialize;

use super::view;
use super::{cookie, session_secret, Fail};
use crate::auth::{self, session};
use crate::directory::users::Groups;
use crate::domain::{OrgId, Scope};
use crate::http::throttle::Throttle;
use crate::request::AppState;

const LOGIN_COOKIE: &str = "muster_console_login";

/// A bcrypt hash (at the configured cost) of a random password nobody knows: checked when
/// no user matches, so a wrong name costs what a wrong password does.
fn dummy_hash(cost: u32) -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash(auth::generate_secret(""), cost).unwrap_or_default())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct SignedOut {
    out: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct SignIn {
    csrf: String,
    method: String,
    org: String,
    login: String,
    password: String,
    token: String,
}

pub(crate) fn secure_attr(state: &AppState) -> &'static str {
    if state.config.base_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    }
}

struct FormState<'a> {
    csrf: &'a str,
    org: &'a str,
    login: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

fn render(f: FormState<'_>) -> maud::Markup {
    view::bare(
        "Sign in",
        html! {
            h1 { "Muster console" }
            (view::notice(f.notice))
            @if let Some(e) = f.error {
                p.error role="alert" id="signin-error" { (e) }
            }
            form.card method="post" action="/console/login" aria-label="Sign in with a password" {
                h2 { "Sign in" }
                input type="hidden" name="csrf" value=(f.csrf);
                input type="hidden" name="method" value="password";
                (view::field("Organization", "org", "text", f.org, None))
                (view::field("User name or email", "login", "text", f.login, None))
                div.field {
                    label for="f-password" { "Password" }
                    input id="f-password" name="password" type="password" autocomplete="current-password";
                }
                button type="submit" { "Sign in" }
            }
            form.card method="post" action="/console/login" aria-label="Sign in with an API token" {
                h2 { "Or with an API token" }
                p.hint { "A token with the orgs:admin scope (for example the bootstrap token)." }
                input type="hidden" name="csrf" value=(f.csrf);
                input type="hidden" name="method" value="token";
                div.field {
                    label for="f-token" { "API token" }
                    input id="f-token" name="token" type="password" autocomplete="off";
                }
                button type="submit" { "Sign in with token" }
            }
        },
    )
}

/// The sign-in form, with a fresh login-CSRF cookie.
fn form_response(
    state: &AppState,
    status: StatusCode,
    org: &str,
    login: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let token = auth::generate_secret("");
    let mut resp = view::html(
        status,
        render(FormState {
            csrf: &token,
            org,
            login,
            error,
            notice,
        }),
    );
    let c = format!(
        "{LOGIN_COOKIE}={token}; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        secure_attr(state)
    );
    if let Ok(v) = c.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[handler]
pub(crate) fn form(state: Data<&AppState>, q: Query<SignedOut>) -> Response {
    let notice = q.out.as_ref().map(|_| "You are signed out.");
    form_response(&state, StatusCode::OK, "", "", None, notice)
}

/// What a sign-in trip ended in.
enum Outcome {
    In(String),
    Refused(&'static str),
}

const WRONG: &str = "Wrong organization, user name or password.";

#[handler]
pub(crate) async fn submit(req: &Request, state: Data<&AppState>, f: Form<SignIn>) -> Response {
    let f = f.0;
    let pre = cookie(req, LOGIN_COOKIE).unwrap_or_default();
    let csrf_ok = {
        use subtle::ConstantTimeEq;
        !pre.is_empty()
            && pre.len() == f.csrf.len()
            && bool::from(pre.as_bytes().ct_eq(f.csrf.as_bytes()))
    };
    if !csrf_ok {
        return form_response(
            &state,
            StatusCode::FORBIDDEN,
            &f.org,
            &f.login,
            Some("The sign-in form expired. Please try again."),
            None,
        );
    }
    let throttle = state.throttle.clone();
    let retry = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let retry_in = retry.clone();
    let (org_text, login_text) = (f.org.trim().to_string(), f.login.trim().to_string());
    let cost = state.config.bcrypt_cost;
    let result: Result<Outcome, Fail> = state
        .sign_in_trip()
        .run(move |conn, keys| {
            let secret = session::new_secret();
            let key_hash = session::hash(&secret);
            if f.method == "token" {
                let p = auth::Presented::bearer(f.token.trim().to_string())
                    .and_then(|t| auth::resolve(conn, keys, &t));
                let p = match p {
                    Ok(p) => p,
                    Err(auth::AuthError::Unauthorized) => {
                        return Ok(Outcome::Refused("That token is not valid."))
                    }
                    Err(e) => return Err(e.into()),
                };
                if !p.has(Scope::OrgsAdmin) {
                    return Ok(Outcome::Refused(
                        "That token lacks the orgs:admin scope the console needs.",
                    ));
                }
                session::start(
                    conn,
                    session::NewSession {
                        token_hash: &key_hash,
                        org_id: &p.org_id,
                        user_id: None,
                        credential_id: Some(&p.credential_id),
                        label: &format!("token {}", p.credential_id),
                    },
                )?;
                return Ok(Outcome::In(secret));
            }
            let (Ok(org), false, false) = (
                OrgId::parse(&org_text),
                login_text.is_empty(),
                f.password.is_empty() || f.password.len() > 4096,
            ) else {
                return Ok(Outcome::Refused(WRONG));
            };
            let uid = crate::directory::users::find_by_key(conn, &org, &login_text)?;
            let key = match uid {
                Some(uid) => Throttle::password_key(org.as_str(), uid),
                None => format!(
                    "console-login:{}:{}",
                    org.as_str(),
                    login_text.to_lowercase()
                ),
            };
            throttle
                .check_in_trip(&key, &retry_in)
                .map_err(auth::AuthError::Throttled)?;
            let ok = match uid {
                Some(uid) => {
                    crate::directory::users::verify_password(conn, &org, uid, &f.password)?
                }
                None => {
                    let _ = bcrypt::verify(&f.password, dummy_hash(cost));
                    false
                }
            };
            let Some(uid) = uid.filter(|_| ok) else {
                throttle.fail(&key);
                return Ok(Outcome::Refused(WRONG));
            };
            let user = crate::directory::users::get(conn, &org, uid, Groups::Skip)?.user;
            let label = user.shown_name();
            session::start(
                conn,
                session::NewSession {
                    token_hash: &key_hash,
                    org_id: &org,
                    user_id: Some(uid),
                    credential_id: None,
                    label: &label,
                },
            )?;
            // The session row is checked like any other: an inactive user or one without
            // an admin role gets no session.
            if session::resolve(conn, &secret, session::Lifetimes::default()).is_err() {
                session::end(conn, &key_hash)?;
                return Ok(Outcome::Refused(
                    "This user is not an active administrator of the organization.",
                ));
            }
            Ok(Outcome::In(secret))
        })
        .await;
    Throttle::after_trip(&retry);
    let (org, login) = (f.org.clone(), f.login.clone());
    match result {
        Ok(Outcome::In(secret)) => {
            let mut resp = super::see_other("/console/");
            let max_age = state.config.console_sessions.absolute.as_secs();
            let c = format!(
                "{}={secret}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
                session::COOKIE,
                secure_attr(&state)
            );
            if let Ok(v) = c.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            let gone = format!("{LOGIN_COOKIE}=; Path=/console/login; Max-Age=0");
            if let Ok(v) = gone.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Ok(Outcome::Refused(why)) => form_response(
            &state,
            StatusCode::UNAUTHORIZED,
            &org,
            &login,
            Some(why),
            None,
        ),
        Err(Fail::Throttled(s)) => {
            let mut r = form_response(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &org,
                &login,
                Some(&format!(
                    "Too many failed attempts. Try again in {s} seconds."
                )),
                None,
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, poem::http::HeaderValue::from(s));
            r
        }
        Err(other) => other.into_response(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Csrf {
    csrf: String,
}

/// End the session (its row is deleted: signed out on every instance).
#[handler]
pub(crate) async fn logout(req: &Request, state: Data<&AppState>, f: Form<Csrf>) -> Response {
    let secret = session_secret(req);
    let csrf = f.0.csrf;
    let r = state
        .session_trip(secret.clone(), None)
        .run(move |conn, s, _| {
            super::check_csrf(s, &csrf)?;
            if let Some(secret) = &secret {
                session::end(conn, &session::hash(secret))?;
            }
            Ok::<_, Fail>(())
        })
        .await;
    match r {
        Ok(()) | Err(Fail::SignIn) => {
            let mut resp = super::see_other("/console/login?out=1");
            let c = format!(
                "{}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
                session::COOKIE
            );
            if let Ok(v) = c.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(f) => f.into_response(),
    }
}
