//! Sign-in and sign-out. An admin signs in with their organization, user name (or email)
//! and password — they must hold a role with the `orgs:admin` capability and be active —
//! or with an API token that has `orgs:admin`. Passwords are checked against the stored
//! hashes (bcrypt, or an imported digest) under a brute-force limit of the console's own
//! (`Throttle::console_key`: failures through an API never lock an admin out of the
//! console); names that match no user have a limit of their own and cost a bcrypt check
//! too, and a wrong password, an unknown name and a user who is not an active
//! administrator get the same message, so neither timing, the limit nor the words tell
//! which names exist or confirm a password. Each attempt (success, failure, throttled) and
//! each sign-out is in the activity log. The sign-in form is protected against login CSRF
//! by a double-submit cookie that every open sign-in tab shares; the session cookie is
//! HttpOnly, SameSite=Strict, a browser-session cookie (no Max-Age), and over HTTPS
//! `__Host-` prefixed and Secure. The organization last signed in to is remembered.

use maud::html;
use poem::http::{header, StatusCode};
use poem::web::{Data, Form, Query};
use poem::{handler, Request, Response};
use serde::Deserialize;

use super::view;
use super::{cookie, session_secret, Fail};
use crate::auth::{self, session};
use crate::directory::audit::record_console;
use crate::directory::users::Groups;
use crate::domain::{OrgId, Scope};
use crate::http::throttle::Throttle;
use crate::request::AppState;

const LOGIN_COOKIE: &str = "muster_console_login";
/// The organization last signed in to, to fill in the form next time.
const ORG_COOKIE: &str = "muster_console_org";

/// A bcrypt hash (at the configured cost) of a random password nobody knows: checked when
/// no user matches, so a wrong name costs what a wrong password does.
fn dummy_hash(cost: u32) -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash(auth::generate_secret(""), cost).unwrap_or_default())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct LoginQuery {
    out: Option<String>,
    /// The console page to go back to after signing in.
    next: String,
    /// Why the admin is here: `expired` (a page asked with an ended session), `lost` (a
    /// form posted into one).
    why: String,
    org: String,
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
    next: String,
}

fn https(state: &AppState) -> bool {
    state.config.base_url.scheme() == "https"
}

pub(crate) fn secure_attr(state: &AppState) -> &'static str {
    if https(state) {
        "; Secure"
    } else {
        ""
    }
}

/// The session cookie: `__Host-` prefixed, Secure and `Path=/` over HTTPS; over plain HTTP
/// (a development setup, where a browser would drop a Secure cookie) `Path=/console`. No
/// Max-Age: it ends with the browser session, and the server ends it sooner (idle, absolute).
pub(crate) fn session_cookie(state: &AppState, secret: &str) -> String {
    if https(state) {
        format!(
            "{}={secret}; Path=/; Secure; HttpOnly; SameSite=Strict",
            session::HOST_COOKIE
        )
    } else {
        format!(
            "{}={secret}; Path=/console; HttpOnly; SameSite=Strict",
            session::COOKIE
        )
    }
}

/// The header that removes the session cookie.
pub(crate) fn session_cookie_gone(state: &AppState) -> String {
    if https(state) {
        format!(
            "{}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
            session::HOST_COOKIE
        )
    } else {
        format!(
            "{}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
            session::COOKIE
        )
    }
}

fn add_cookie(resp: &mut Response, c: &str) {
    if let Ok(v) = c.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A console path to return to after signing in (`None` for anything else: another site,
/// the sign-in page itself).
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    let ok = (next == "/console/" || next.starts_with("/console/"))
        && next.len() <= 2048
        && !next.contains("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && !next.starts_with("/console/login")
        && !next.starts_with("/console/logout");
    ok.then_some(next)
}

struct FormState<'a> {
    csrf: &'a str,
    org: &'a str,
    login: &'a str,
    next: &'a str,
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
                input type="hidden" name="next" value=(f.next);
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
                input type="hidden" name="next" value=(f.next);
                div.field {
                    label for="f-token" { "API token" }
                    input id="f-token" name="token" type="password" autocomplete="off";
                }
                button type="submit" { "Sign in with token" }
            }
        },
    )
}

/// A login-CSRF token as a cookie carries it (one the server made: letters and digits).
fn login_token(req: &Request) -> Option<String> {
    cookie(req, LOGIN_COOKIE)
        .filter(|t| (16..=128).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// What the sign-in page shows besides the form.
struct Shown<'a> {
    status: StatusCode,
    org: &'a str,
    login: &'a str,
    next: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

/// The sign-in form with its login-CSRF token: the one the browser already has (so two
/// sign-in tabs both work), else a fresh one set as a cookie.
fn form_response(req: &Request, state: &AppState, f: Shown<'_>) -> Response {
    let existing = login_token(req);
    let token = existing
        .clone()
        .unwrap_or_else(|| auth::generate_secret(""));
    let org = if f.org.is_empty() {
        cookie(req, ORG_COOKIE).unwrap_or_default()
    } else {
        f.org.to_string()
    };
    let org = if OrgId::parse(&org).is_ok() {
        org
    } else {
        f.org.to_string()
    };
    let mut resp = view::html(
        f.status,
        render(FormState {
            csrf: &token,
            org: &org,
            login: f.login,
            next: safe_next(f.next).unwrap_or(""),
            error: f.error,
            notice: f.notice,
        }),
    );
    // Set (again) for an hour from now, so a tab left open a while still signs in.
    add_cookie(
        &mut resp,
        &format!(
            "{LOGIN_COOKIE}={token}; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=3600{}",
            secure_attr(state)
        ),
    );
    resp
}

/// What the sign-in page says when the admin was sent there from a page or a form.
fn why_notice(why: &str) -> Option<&'static str> {
    match why {
        "expired" => Some(
            "Your session ended (unused for too long, too old, or signed out elsewhere). \
             Sign in to go back to the page you were on.",
        ),
        "lost" => Some(
            "Your session ended before what you submitted could be saved: nothing was \
             changed. Sign in to go back to that page and submit it again.",
        ),
        _ => None,
    }
}

#[handler]
pub(crate) fn form(req: &Request, state: Data<&AppState>, q: Query<LoginQuery>) -> Response {
    let notice = match &q.out {
        Some(_) => Some("You are signed out."),
        None => why_notice(&q.why),
    };
    let shown = Shown {
        status: StatusCode::OK,
        org: &q.org,
        login: "",
        next: &q.next,
        error: None,
        notice,
    };
    form_response(req, &state, shown)
}

/// What a sign-in trip ended in.
enum Outcome {
    /// Signed in: the session's secret, and the organization (a password sign-in's, to
    /// remember).
    In(String, Option<String>),
    Refused(&'static str),
}

/// The one message for a wrong organization, name or password, and for a user who is not
/// an active administrator: which of these it was is not for whoever is guessing.
const WRONG: &str = "Wrong organization, user name or password.";

/// Whether the organization `org` exists (audit entries belong to one).
fn org_exists(conn: &mut crate::directory::Conn, org: &OrgId) -> bool {
    crate::directory::orgs::get(conn, org).is_ok()
}

#[handler]
pub(crate) async fn submit(req: &Request, state: Data<&AppState>, f: Form<SignIn>) -> Response {
    let f = f.0;
    let pre = login_token(req).unwrap_or_default();
    let csrf_ok = {
        use subtle::ConstantTimeEq;
        !pre.is_empty()
            && pre.len() == f.csrf.len()
            && bool::from(pre.as_bytes().ct_eq(f.csrf.as_bytes()))
    };
    if !csrf_ok {
        let shown = Shown {
            status: StatusCode::FORBIDDEN,
            org: &f.org,
            login: &f.login,
            next: &f.next,
            error: Some("The sign-in form expired. Please try again."),
            notice: None,
        };
        return form_response(req, &state, shown);
    }
    let throttle = state.throttle.clone();
    let retry = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let retry_in = retry.clone();
    let (org_text, login_text) = (f.org.trim().to_string(), f.login.trim().to_string());
    let cost = state.config.bcrypt_cost;
    let (method, token, password) = (f.method.clone(), f.token.clone(), f.password.clone());
    let result: Result<Outcome, Fail> = state
        .sign_in_trip()
        .run(move |conn, keys| {
            let secret = session::new_secret();
            let key_hash = session::hash(&secret);
            if method == "token" {
                let p = auth::Presented::bearer(token.trim().to_string())
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
                let actor = format!("console:{}", p.credential_id);
                record_console(
                    conn,
                    &p.org_id,
                    None,
                    "Console.SignIn",
                    "Success",
                    &actor,
                    serde_json::json!({"method": "token", "credentialId": p.credential_id}),
                )?;
                return Ok(Outcome::In(secret, None));
            }
            let (Ok(org), false, false) = (
                OrgId::parse(&org_text),
                login_text.is_empty(),
                password.is_empty() || password.len() > 4096,
            ) else {
                return Ok(Outcome::Refused(WRONG));
            };
            let uid = crate::directory::users::find_by_key(conn, &org, &login_text)?;
            let key = match uid {
                Some(uid) => Throttle::console_key(org.as_str(), uid),
                None => format!(
                    "console-login:{}:{}",
                    org.as_str(),
                    login_text.to_lowercase()
                ),
            };
            let actor = match uid {
                Some(u) => format!("console:user:{}", crate::domain::id_to_hex(u)),
                None => "console:anonymous".to_string(),
            };
            let attempt = serde_json::json!({"method": "password", "login": login_text});
            if let Err(s) = throttle.check_in_trip(&key, &retry_in) {
                return Err(auth::AuthError::Throttled(s).into());
            }
            let ok = match uid {
                Some(uid) => crate::directory::users::verify_password(conn, &org, uid, &password)?,
                None => {
                    let _ = bcrypt::verify(&password, dummy_hash(cost));
                    false
                }
            };
            // A failure is recorded; the one that reaches the limit as `Throttled` (later
            // attempts are refused before any check, and write nothing).
            let mut refuse = |conn: &mut crate::directory::Conn| -> Result<Outcome, Fail> {
                let result = if throttle.fail(&key) {
                    "Throttled"
                } else {
                    "Failure"
                };
                if org_exists(conn, &org) {
                    record_console(
                        conn,
                        &org,
                        uid,
                        "Console.SignIn",
                        result,
                        &actor,
                        attempt.clone(),
                    )?;
                }
                Ok(Outcome::Refused(WRONG))
            };
            let Some(uid) = uid.filter(|_| ok) else {
                return refuse(conn);
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
            // an admin role gets no session, and the same words as a wrong password.
            let seen = session::Seen::default();
            if session::resolve(conn, &secret, session::Lifetimes::default(), &seen).is_err() {
                session::end(conn, &key_hash)?;
                return refuse(conn);
            }
            record_console(
                conn,
                &org,
                Some(uid),
                "Console.SignIn",
                "Success",
                &actor,
                attempt,
            )?;
            Ok(Outcome::In(secret, Some(org.as_str().to_string())))
        })
        .await;
    Throttle::after_trip(&retry);
    let shown = |status, error| Shown {
        status,
        org: &f.org,
        login: &f.login,
        next: &f.next,
        error,
        notice: None,
    };
    match result {
        Ok(Outcome::In(secret, org)) => {
            let to = safe_next(&f.next).unwrap_or("/console/");
            let mut resp = super::see_other(to);
            add_cookie(&mut resp, &session_cookie(&state, &secret));
            if let Some(org) = org {
                add_cookie(
                    &mut resp,
                    &format!(
                        "{ORG_COOKIE}={org}; Path=/console/login; HttpOnly; SameSite=Strict; \
                         Max-Age=31536000{}",
                        secure_attr(&state)
                    ),
                );
            }
            resp
        }
        Ok(Outcome::Refused(why)) => {
            form_response(req, &state, shown(StatusCode::UNAUTHORIZED, Some(why)))
        }
        Err(Fail::Throttled(s)) => {
            let msg = format!("Too many failed attempts. Try again in {s} seconds.");
            let mut r = form_response(
                req,
                &state,
                shown(StatusCode::TOO_MANY_REQUESTS, Some(&msg)),
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
        .run(move |conn, s, c| {
            super::check_csrf(s, &csrf)?;
            if let Some(secret) = &secret {
                session::end(conn, &session::hash(secret))?;
                record_signout(conn, s, c, "this browser")?;
            }
            Ok::<_, Fail>(())
        })
        .await;
    match r {
        Ok(()) | Err(Fail::SignIn) => {
            let mut resp = super::see_other("/console/login?out=1");
            add_cookie(&mut resp, &session_cookie_gone(&state));
            resp
        }
        Err(f) => f.into_response(),
    }
}

/// Record a sign-out in the activity log (`which`: this browser, or every session).
pub(crate) fn record_signout(
    conn: &mut crate::directory::Conn,
    s: &session::Session,
    c: &crate::directory::Caller<'_>,
    which: &str,
) -> Result<(), Fail> {
    record_console(
        conn,
        &s.principal.org_id,
        s.principal.user_id,
        "Console.SignOut",
        "Success",
        &c.actor(),
        serde_json::json!({"sessions": which}),
    )?;
    Ok(())
}
