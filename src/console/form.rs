//! Form bodies with repeated fields (several users or groups picked at once), and a value
//! shown once after a redirect (a generated password).

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

/// Work kept in this process between requests (a bulk job's progress, an import's
/// preview), by a random id, for the organization it belongs to; dropped an hour after it
/// was last put.
pub(crate) struct Shelf<T> {
    items: std::sync::Mutex<std::collections::HashMap<String, Shelved<T>>>,
}

/// A shelved item: its organization, when it was put, the item.
type Shelved<T> = (String, std::time::Instant, std::sync::Arc<T>);

/// How long a shelved item stays.
const KEEP: std::time::Duration = std::time::Duration::from_secs(3600);

impl<T> Default for Shelf<T> {
    fn default() -> Self {
        Shelf {
            items: Default::default(),
        }
    }
}

impl<T> Shelf<T> {
    /// Keep `item` for `org`; its id.
    pub(crate) fn put(&self, org: &str, item: T) -> (String, std::sync::Arc<T>) {
        let id = crate::auth::generate_id("");
        let item = std::sync::Arc::new(item);
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.retain(|_, (_, at, _)| at.elapsed() < KEEP);
        items.insert(
            id.clone(),
            (org.to_string(), std::time::Instant::now(), item.clone()),
        );
        (id, item)
    }

    /// Item `id`, if it is `org`'s.
    pub(crate) fn get(&self, org: &str, id: &str) -> Option<std::sync::Arc<T>> {
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items
            .get(id)
            .filter(|(o, at, _)| o == org && at.elapsed() < KEEP)
            .map(|(_, _, item)| item.clone())
    }
}
