//! The web console at `/console`: server-rendered HTML (maud, escaped by construction) over
//! the same directory layer every dialect calls, with a little plain JavaScript served from
//! the binary. Every page is one trip through `AppState::session_trip` (the session is
//! resolved on the same connection as the page's reads); changes go through `directory`,
//! so they carry the same audit entries (dialect `console`) and rules as any dialect's.
//!
//! The core flows (sign in, list, view, edit, suspend, passwords, groups, credentials) are
//! plain forms and links: they work with JavaScript disabled. Every form carries the
//! session's CSRF token; every response carries a strict Content-Security-Policy (no inline
//! script or style), `X-Frame-Options: DENY`, `nosniff`, `no-referrer` and `no-store`.

mod activity;
mod add;
mod bulk;
pub(crate) mod confirm;
mod credentials;
mod csv;
mod dashboard;
mod delete;
mod extensions;
mod flash;
mod form;
mod groups;
mod memberships;
mod orgs;
mod schemas;
mod sessions;
mod signin;
mod user_list;
mod users;
mod view;

use poem::http::{header, HeaderValue, StatusCode};
use poem::{
    get, handler, post, Endpoint, EndpointExt, IntoResponse, Middleware, Request, Response, Route,
};

use crate::auth::{self, session::Session};
use crate::directory::seam::{Dialect, Failure};
use crate::directory::{Caller, Conn};
use crate::domain::Scope;
use crate::http::errors::ErrorContext;
use crate::request::AppState;

/// The console's routes, to be nested at `/console`.
pub fn routes() -> impl Endpoint {
    Route::new()
        .at("/", get(dashboard::show))
        .at("/login", get(signin::form).post(signin::submit))
        .at("/logout", post(signin::logout))
        .at("/users", get(user_list::list))
        .at("/users/new", get(add::new_form).post(add::submit))
        .at("/users/new/created", get(add::created))
        .at("/users/bulk", get(bulk::confirm).post(bulk::submit))
        .at("/users/export.csv", get(csv::export))
        .at("/users/import", get(csv::import_form).post(csv::upload))
        .at("/users/import/:id", get(csv::show).post(csv::commit))
        .at("/jobs/:id", get(bulk::job_page))
        .at("/users/:id/groups", post(memberships::set_groups))
        .at("/users/:id/roles", post(memberships::set_roles))
        .at("/users/:id", get(users::show).post(users::edit))
        .at(
            "/users/:id/active",
            get(users::confirm_active).post(users::set_active),
        )
        .at("/users/:id/password", post(users::password))
        .at(
            "/users/:id/admin",
            get(users::confirm_grant_admin).post(users::grant_admin),
        )
        .at(
            "/users/:id/admin/revoke",
            get(users::confirm_revoke_admin).post(users::revoke_admin),
        )
        .at(
            "/users/:id/identities/remove",
            get(users::confirm_remove_identity).post(users::remove_identity),
        )
        .at("/users/:id/apis", get(users::apis))
        .at("/users/:id/delete", deletion::<users::Users>())
        .at("/groups", get(groups::list).post(groups::create))
        .at("/groups/:id", get(groups::show).post(groups::rename))
        .at("/groups/:id/members/add", post(groups::add_member))
        .at("/groups/:id/extensions", post(groups::save_extensions))
        .at(
            "/groups/:id/members/remove",
            get(groups::confirm_remove_member).post(groups::remove_member),
        )
        .at("/groups/:id/delete", deletion::<groups::Groups>())
        .at("/organizations", get(orgs::list))
        .at(
            "/organizations/:id/deactivate",
            get(orgs::confirm_deactivate).post(orgs::deactivate),
        )
        .at(
            "/credentials",
            get(credentials::list).post(credentials::create),
        )
        .at(
            "/credentials/:id/revoke",
            get(credentials::confirm_revoke).post(credentials::revoke),
        )
        .at(
            "/credentials/:id/rotate",
            get(credentials::confirm_rotate).post(credentials::rotate),
        )
        .at("/sessions", get(sessions::list))
        .at("/sessions/end", post(sessions::end_one))
        .at("/sessions/end-all", post(sessions::end_all))
        .at("/schemas", get(schemas::list).post(schemas::create))
        .at(
            "/schemas/remove",
            get(schemas::remove_page).post(schemas::remove),
        )
        .at("/activity", get(activity::list))
        .at("/activity.csv", get(activity::csv))
        .at("/assets/console.css", get(css))
        .at("/assets/console.js", get(js))
        .with(SecurityHeaders)
}

/// The landing page at `/` (`GET` and `HEAD`): where the console, the API documentation and
/// SCIM are. The configured base URL is shown as SCIM's.
pub struct Landing(pub String);

impl<E: Endpoint> Middleware<E> for Landing {
    type Output = LandingEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        LandingEndpoint(ep, self.0.clone())
    }
}

pub struct LandingEndpoint<E>(E, String);

impl<E: Endpoint> Endpoint for LandingEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let m = req.method();
        if req.uri().path() == "/"
            && (m == poem::http::Method::GET || m == poem::http::Method::HEAD)
        {
            let mut resp = view::html(StatusCode::OK, view::landing(&self.1));
            secure(&mut resp);
            return Ok(resp);
        }
        self.0.call(req).await.map(IntoResponse::into_response)
    }
}

/// An item's delete route: the page that asks, and the form that deletes.
fn deletion<K: delete::Deletable>() -> impl Endpoint {
    get(delete::confirm::<K>::default()).post(delete::submit::<K>::default())
}

#[handler]
fn css() -> Response {
    asset(
        include_str!("assets/console.css"),
        "text/css; charset=utf-8",
    )
}

#[handler]
fn js() -> Response {
    asset(
        include_str!("assets/console.js"),
        "text/javascript; charset=utf-8",
    )
}

fn asset(body: &'static str, ty: &'static str) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, ty)
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .body(body)
}

/// The policy every console response carries: only this origin's script and style, no
/// inline code, no framing, forms only to this origin.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";

/// Adds the security headers to every console response (errors included).
struct SecurityHeaders;

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        SecurityHeadersEndpoint(ep)
    }
}

struct SecurityHeadersEndpoint<E>(E);

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let mut resp = match self.0.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        secure(&mut resp);
        Ok(resp)
    }
}

fn secure(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The framework's errors under `/console` (no such page, wrong method, body too large) as
/// an HTML page.
pub fn framework_error(status: StatusCode, message: &str, ctx: &ErrorContext<'_>) -> Response {
    let mut resp = if status == StatusCode::NOT_FOUND {
        view::not_found(ctx.path)
    } else {
        view::bare_page(status, message)
    };
    secure(&mut resp);
    resp
}

/// The session cookie's value, if the request has one.
pub(crate) fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The session cookie's secret: the `__Host-` cookie (HTTPS), else the plain one.
pub(crate) fn session_secret(req: &Request) -> Option<String> {
    cookie(req, auth::session::HOST_COOKIE)
        .or_else(|| cookie(req, auth::session::COOKIE))
        .filter(|s| !s.is_empty())
}

/// The page a form at `path` was on: the item (`/console/users/{id}`) for an action on it
/// (`/console/users/{id}/password`), else the section (`/console/credentials`).
fn page_of_form(path: &str) -> String {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    // ["", "console", section, id, action…]
    match parts.len() {
        0..=3 => parts.join("/"),
        _ => parts[..4].join("/"),
    }
}

/// Where a request that met no (or an ended) session goes: the sign-in page, which then
/// returns to the page (for a form, the page it was on) and says why.
fn to_sign_in(path: &str, post: bool, had_cookie: bool) -> Response {
    let next = if post {
        page_of_form(path.split('?').next().unwrap_or(path))
    } else {
        path.to_string()
    };
    let why = match (had_cookie, post) {
        (_, true) => "lost",
        (true, false) => "expired",
        (false, false) => "",
    };
    let mut to = String::from("/console/login");
    let mut sep = '?';
    if signin::safe_next(&next).is_some() && next != "/console/" {
        to.push_str(&format!("?next={}", query_escape(&next)));
        sep = '&';
    }
    if !why.is_empty() {
        to.push_str(&format!("{sep}why={why}"));
    }
    see_other(&to)
}

/// `s` escaped for a URL's query.
pub(crate) fn query_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A redirect after a form (or to a page).
pub(crate) fn see_other(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .finish()
}

/// Why a console request did not do what it asked.
#[derive(Debug)]
pub(crate) enum Fail {
    /// No session, or it ended: back to the sign-in page.
    SignIn,
    /// The session's credential may not do this.
    Forbidden(String),
    /// The form's CSRF token is missing or wrong.
    Csrf,
    NotFound,
    Throttled(u64),
    /// The database is busy or away (503).
    Busy,
    Internal,
    /// A page rendered with what was wrong (a form and its messages).
    Page(StatusCode, maud::Markup),
}

/// The console's words for each failure: a page (or the sign-in page).
impl Dialect for Fail {
    const NAME: &'static str = "console";

    fn failure(f: Failure, _what: &str) -> Fail {
        match f {
            Failure::Unauthorized => Fail::SignIn,
            Failure::Forbidden(s) => Fail::Forbidden(format!("this session lacks the {s} scope")),
            Failure::NotAllowed(m) => Fail::Forbidden(m),
            Failure::Throttled(s) => Fail::Throttled(s),
            Failure::NotFound | Failure::MalformedId(_) => Fail::NotFound,
            Failure::Busy | Failure::Overloaded => Fail::Busy,
            Failure::Internal => Fail::Internal,
            // The console's forms judge these themselves before the directory sees them.
            other => {
                tracing::warn!(error = %other, "console: unexpected directory error");
                Fail::Internal
            }
        }
    }
}

crate::directory::seam::dialect_errors!(Fail);

impl Fail {
    pub(crate) fn into_response(self) -> Response {
        match self {
            Fail::SignIn => see_other("/console/login"),
            Fail::Forbidden(m) => view::bare_page(StatusCode::FORBIDDEN, &m),
            Fail::Csrf => view::bare_page(
                StatusCode::FORBIDDEN,
                "The form has expired or did not come from this console. Reload the page and try again.",
            ),
            Fail::NotFound => view::not_found(""),
            Fail::Throttled(s) => {
                let mut r = view::bare_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("Too many failed attempts. Try again in {s} seconds."),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(s));
                r
            }
            Fail::Busy => view::bare_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The directory is busy. Try again in a moment.",
            ),
            Fail::Internal => view::bare_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong; it has been logged.",
            ),
            Fail::Page(status, m) => view::html(status, m),
        }
    }
}

/// What a console request answers.
pub(crate) enum Out {
    Page(maud::Markup),
    Redirect(String),
    /// A redirect carrying a one-time message (a new secret) to the page it leads to.
    Flash(String, flash::Flash),
    /// A CSV download.
    Csv(String),
}

pub(crate) fn respond(r: Result<Out, Fail>) -> Response {
    match r {
        Ok(Out::Page(m)) => view::html(StatusCode::OK, m),
        Ok(Out::Redirect(to) | Out::Flash(to, _)) => see_other(&to),
        Ok(Out::Csv(body)) => Response::builder()
            .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .header(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"activity.csv\"",
            )
            .body(body),
        Err(f) => f.into_response(),
    }
}

/// Refuse a form whose CSRF token is not the session's.
pub(crate) fn check_csrf(s: &Session, presented: &str) -> Result<(), Fail> {
    use subtle::ConstantTimeEq;
    let ok = s.csrf.len() == presented.len()
        && bool::from(s.csrf.as_bytes().ct_eq(presented.as_bytes()));
    if ok {
        Ok(())
    } else {
        Err(Fail::Csrf)
    }
}

/// What every console handler starts from: the app and the request's session cookie. Its
/// `page` and `form` make the handler's one trip through `AppState::session_trip`.
pub(crate) struct Console<'a> {
    pub(crate) state: &'a AppState,
    secret: Option<String>,
    hashing: bool,
    /// The request's path and query: where an ended session returns to after sign-in.
    path: String,
    post: bool,
    /// The flash cookie, if the request has one (`flash`).
    flash: Option<String>,
}

impl<'a> poem::FromRequest<'a> for Console<'a> {
    async fn from_request(req: &'a Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        let poem::web::Data(state) = poem::web::Data::<&AppState>::from_request(req, body).await?;
        // (The original URI: routes nested at `/console` see their path without it.)
        let path = req
            .original_uri()
            .path_and_query()
            .map_or("/console/", |p| p.as_str())
            .to_string();
        Ok(Console {
            state,
            secret: session_secret(req),
            hashing: false,
            path,
            post: req.method() == poem::http::Method::POST,
            flash: flash::of_request(req),
        })
    }
}

impl Console<'_> {
    /// The request's session cookie secret (for work that outlives the request: a bulk
    /// job's later trips run as the session that started it).
    pub(crate) fn secret(&self) -> Option<String> {
        self.secret.clone()
    }

    /// The trip hashes a password (`Trip::hashing`).
    pub(crate) fn hashing(self) -> Self {
        Console {
            hashing: true,
            ..self
        }
    }

    /// A page: one trip that resolves the session, requires `scope` of it, and answers
    /// what `f` makes.
    pub(crate) async fn page<F>(self, scope: Scope, f: F) -> Response
    where
        F: FnOnce(&mut Conn, &Session) -> Result<Out, Fail> + Send + 'static,
    {
        let had_flash = self.flash.is_some();
        let trip = self.state.session_trip(self.secret.clone(), scope);
        let r = trip.run(move |conn, s, _| f(conn, s)).await;
        let mut resp = self.answer(r);
        if had_flash {
            // Shown (by the page it was for) or not: never again.
            flash::clear(&mut resp);
        }
        resp
    }

    /// The one-time message for this page, if the request carries one sealed for this
    /// session (`flash`); the page's answer removes it.
    pub(crate) fn flash(&self) -> Option<flash::Flash> {
        let f = flash::open(self.secret.as_deref()?, self.flash.as_deref()?)?;
        let path = self.path.split('?').next().unwrap_or_default();
        (f.to == path).then_some(f)
    }

    /// The response to a trip's result: an ended session goes to the sign-in page (which
    /// comes back here), a flash is sealed for the session.
    fn answer(&self, r: Result<Out, Fail>) -> Response {
        match r {
            Err(Fail::SignIn) => to_sign_in(&self.path, self.post, self.secret.is_some()),
            Ok(Out::Flash(to, f)) => {
                let mut resp = see_other(&to);
                if let Some(secret) = &self.secret {
                    flash::set(&mut resp, &flash::seal(secret, &f));
                }
                resp
            }
            other => respond(other),
        }
    }

    /// A form that changes something: one trip that resolves the session, checks the
    /// form's CSRF token, then `scope`, and runs `f` with the session and its directory
    /// caller.
    pub(crate) async fn form<F>(self, csrf: String, scope: Scope, f: F) -> Response
    where
        F: FnOnce(&mut Conn, &Session, &Caller<'_>) -> Result<Out, Fail> + Send + 'static,
    {
        let trip = self.state.session_trip(self.secret.clone(), None);
        let trip = trip.hashing(self.hashing);
        let r = trip
            .run(move |conn, s, c| {
                check_csrf(s, &csrf)?;
                require(s, scope)?;
                f(conn, s, c)
            })
            .await;
        self.answer(r)
    }
}

/// A list's query: the page after this cursor, and what was just done (for its notice).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct ListQuery {
    after: String,
    done: String,
}

/// Cut the rows of a page, read one past `page`, to `page`: whether there are more.
pub(crate) fn cut<T>(rows: &mut Vec<T>, page: i64) -> bool {
    let more = rows.len() as i64 > page;
    rows.truncate(page as usize);
    more
}

/// Require a scope of the session (a token session has its token's scopes).
fn require(s: &Session, scope: Scope) -> Result<(), Fail> {
    auth::require(&s.principal, scope).map_err(Fail::from)
}

/// The version a form was filled from (its hidden `version` field): a save is made against
/// it (the rule book's optimistic concurrency); a form without one (not one this console
/// served) is made against whatever is current.
pub(crate) fn expected_version(field: &str) -> crate::directory::Expect {
    match field.trim().parse::<i64>() {
        Ok(v) => crate::directory::Expect::OneOf(vec![v]),
        Err(_) => crate::directory::Expect::Any,
    }
}
