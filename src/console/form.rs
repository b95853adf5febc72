//! Form bodies with repeated fields (several users or groups picked at once), a value
//! shown once after a redirect (a generated password), and whose kept work is.

use poem::http::header;
use poem::{FromRequest, Request, RequestBody, Response};

use crate::request::AppState;

/// The longest form body read (a bulk selection of a page of 200 users is ~4 KiB).
const MAX_FORM: usize = 256 * 1024;

/// A form body as its name/value pairs, in order, repeated names kept.
pub(crate) struct Pairs(pub(crate) Vec<(String, String)>);

impl<'a> FromRequest<'a> for Pairs {
    async fn from_request(_req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = body.take()?.into_bytes_limit(MAX_FORM).await.map_err(|_| {
            poem::Error::from_string(
                "The form is too large.",
                poem::http::StatusCode::PAYLOAD_TOO_LARGE,
            )
        })?;
        Ok(Pairs(
            url::form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

impl Pairs {
    /// The first value of `name` ("" when absent).
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Every value of `name` that is an id (hex), deduplicated, in order.
    pub(crate) fn ids(&self, name: &str) -> Vec<i64> {
        let mut out = Vec::new();
        for id in self
            .all(name)
            .into_iter()
            .filter_map(crate::domain::id_from_hex)
        {
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }
}

/// The cookie that carries a value to be shown once, on the page a form redirects to.
const FLASH: &str = "muster_console_flash";

/// Attach `value` to the redirect `resp`, for the page at `path` to show once: an HttpOnly,
/// SameSite=Strict cookie scoped to that path, living two minutes. It is set only when the
/// form did redirect there (not when it failed and shows its page, or its session ended).
pub(crate) fn flash(state: &AppState, resp: &mut Response, path: &str, value: &str) {
    let to_path = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|l| l.split('?').next() == Some(path));
    if resp.status() != poem::http::StatusCode::SEE_OTHER || !to_path {
        return;
    }
    let c = format!(
        "{FLASH}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age=120{}",
        super::signin::secure_attr(state)
    );
    if let Ok(v) = c.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The value flashed to this page, if any; `clear` drops it from `resp` so a reload does not
/// show it again.
pub(crate) fn flashed(req: &Request) -> Option<String> {
    super::cookie(req, FLASH).filter(|v| !v.is_empty())
}

pub(crate) fn clear_flash(state: &AppState, resp: &mut Response, path: &str) {
    let c = format!(
        "{FLASH}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0{}",
        super::signin::secure_attr(state)
    );
    if let Ok(v) = c.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Whose a piece of the console's work kept between requests (a bulk job, an import
/// preview: `directory::console_work`) is: the session's holder, the admin (`user:<hex id>`)
/// or the token it signed in with. Another admin of the organization, or another
/// organization, does not find it.
pub(crate) fn owner(s: &crate::auth::session::Session) -> &str {
    &s.principal.credential_id
}

/// Keep a piece of work for this session's holder (`owner`): a new row of `kind` in `state`,
/// titled, with `body` as JSON and its `total`; its id (random, for its page's URL).
pub(crate) fn keep(
    conn: &mut crate::directory::Conn,
    s: &crate::auth::session::Session,
    (kind, state): (&str, &str),
    (title, total): (&str, i64),
    body: &impl serde::Serialize,
) -> Result<String, super::Fail> {
    let id = crate::auth::generate_id("");
    crate::directory::console_work::insert(
        conn,
        crate::directory::console_work::NewWork {
            id: &id,
            org_id: &s.principal.org_id,
            owner: owner(s),
            kind,
            state,
            title,
            body: serde_json::to_string(body).map_err(|_| super::Fail::Internal)?,
            total,
        },
    )?;
    Ok(id)
}
