//! Errors the framework raises (no route, wrong method, unparsable body, body too large,
//! failed authentication) are plain text; this middleware renders them in the dialect of the
//! path, so a Logto client gets `{code, message}`, a SCIM client a SCIM error, and so on.
//! Handlers render their own domain errors; responses that are already JSON (or, from the web
//! console, HTML) pass untouched.

use poem::http::{header, StatusCode};
use poem::{Endpoint, Request, Response, Result};

use std::sync::Arc;

use crate::http::{RequestId, Wrapped};

/// What an error renderer may put in a body besides status and message.
pub struct ErrorContext<'a> {
    pub request_id: &'a str,
    pub path: &'a str,
    /// The scheme of the request's `Authorization` header (`Bearer`, `Basic`, ...), if any.
    pub authorization: Option<&'a str>,
}

/// Renders a framework error (status and plain message) in one dialect's wire shape.
pub type RenderError = fn(StatusCode, &str, &ErrorContext<'_>) -> Response;

/// Which error shape each path prefix speaks, registered where the routes are assembled
/// (`crate::app`): `http/` knows no dialect, and a new dialect (or the console) adds its
/// shape there. The longest matching prefix wins (`/api/v1` is Sumo's inside Logto's `/api`);
/// a prefix matches itself and what lies below it (`/scim` and `/scim/v2`, not `/scimx`).
#[derive(Clone)]
pub struct ErrorShapes {
    /// Longest prefix first.
    by_prefix: Arc<Vec<(&'static str, &'static str, RenderError)>>,
    fallback: RenderError,
}

impl ErrorShapes {
    /// Shapes with `fallback` for paths under no registered prefix.
    pub fn new(fallback: RenderError) -> ErrorShapes {
        ErrorShapes {
            by_prefix: Arc::new(Vec::new()),
            fallback,
        }
    }

    /// Paths under `prefix` belong to the dialect `name` and render errors with `render`.
    pub fn with(mut self, prefix: &'static str, name: &'static str, render: RenderError) -> Self {
        let list = Arc::make_mut(&mut self.by_prefix);
        list.push((prefix, name, render));
        list.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.len()));
        self
    }

    fn entry(&self, path: &str) -> Option<&(&'static str, &'static str, RenderError)> {
        self.by_prefix.iter().find(|(prefix, _, _)| {
            path == *prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// The name of the dialect `path` belongs to, if any.
    pub fn dialect_of(&self, path: &str) -> Option<&'static str> {
        self.entry(path).map(|(_, name, _)| *name)
    }

    pub fn render(&self, status: StatusCode, message: &str, ctx: &ErrorContext<'_>) -> Response {
        let render = self.entry(ctx.path).map_or(self.fallback, |(_, _, r)| *r);
        render(status, message, ctx)
    }
}

#[derive(Clone)]
pub struct DialectErrors {
    pub shapes: ErrorShapes,
}

super::middleware!(DialectErrors);

/// Already rendered: JSON, or an HTML page (the console's error pages and forms).
fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json") || ct.starts_with("text/html"))
}

/// Seconds a client is told to wait after a 503: the line in front of the pool drains in
/// milliseconds once load drops, and a database that went away is retried as soon.
pub const RETRY_AFTER_SECONDS: u64 = 1;

impl<E: Endpoint> Endpoint for Wrapped<DialectErrors, E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let mut resp = self.render(req).await?;
        if resp.status().is_client_error() {
            resp = refused(resp).await;
        }
        // Every 503 (overload, a database away) says when to come back; the vendors'
        // clients (umapi-client, the Sumo SDK) honour it.
        if resp.status() == StatusCode::SERVICE_UNAVAILABLE
            && !resp.headers().contains_key(header::RETRY_AFTER)
        {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                poem::http::HeaderValue::from(RETRY_AFTER_SECONDS),
            );
        }
        Ok(resp)
    }
}

impl<E: Endpoint> Wrapped<DialectErrors, E> {
    async fn render(&self, req: Request) -> Result<Response> {
        let path = req.uri().path().to_string();
        let request_id = RequestId::of(&req);
        let scheme = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(' ').next().unwrap_or("").to_string());
        let resp = self.ep.get_response(req).await;
        let status = resp.status();
        if status.as_u16() < 400 {
            return Ok(resp);
        }
        if is_json(&resp) {
            let mut resp = resp;
            if status == StatusCode::UNAUTHORIZED
                && !resp.headers().contains_key(header::WWW_AUTHENTICATE)
            {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    poem::http::HeaderValue::from_static("Bearer realm=\"muster\""),
                );
            }
            return Ok(resp);
        }
        let (parts, body) = resp.into_parts();
        let text = body.into_string().await.unwrap_or_default();
        if text.is_empty() && !matches!(status.as_u16(), 404 | 405 | 413 | 415) {
            // Deliberately empty (Adobe's 401/403): leave it so.
            return Ok(Response::from_parts(parts, poem::Body::empty()));
        }
        let message = if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_string()
        } else {
            text
        };
        let ctx = ErrorContext {
            request_id: &request_id,
            path: &path,
            authorization: scheme.as_deref(),
        };
        let mut out = self.by.shapes.render(status, &message, &ctx);
        for name in [header::WWW_AUTHENTICATE, header::ALLOW] {
            if let Some(v) = parts.headers.get(&name) {
                out.headers_mut().insert(name, v.clone());
            }
        }
        if status == StatusCode::UNAUTHORIZED
            && !out.headers().contains_key(header::WWW_AUTHENTICATE)
        {
            out.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                poem::http::HeaderValue::from_static("Bearer realm=\"muster\""),
            );
        }
        Ok(out)
    }
}

/// The error code of a refused request (4xx), in its dialect's words: on the response for
/// `Observe`'s `served` line (at `info`).
#[derive(Debug, Clone)]
pub struct ErrorCode(pub String);

/// What an error body says, whatever its dialect: (code, reason). The code is Logto's and
/// the admin API's `code`, Sumo Logic's `errors[0].code`, SCIM's `scimType`, Adobe's
/// `result`, OAuth's `error`, else the status's reason phrase (Domo's `statusReason`, an
/// empty body); the reason is the body's message.
pub fn code_and_reason(status: StatusCode, body: &[u8]) -> (String, String) {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let first = &v["errors"][0];
    let code = text(&v["code"])
        .or_else(|| text(&first["code"]))
        .or_else(|| text(&v["scimType"]))
        .or_else(|| text(&v["result"]))
        .or_else(|| text(&v["error"]))
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase()
                .replace(' ', "_")
        });
    let reason = text(&v["message"])
        .or_else(|| text(&v["detail"]))
        .or_else(|| text(&first["message"]))
        .or_else(|| text(&v["error_description"]))
        .unwrap_or_else(|| {
            if v.is_null() {
                String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned()
            } else {
                String::new()
            }
        });
    (code, reason)
}

/// A refused request's reason in the log at `debug` (the message may quote input), and its
/// code on the response for the `info` line. The body is small (an error); it is read and
/// put back. An HTML page (the console's) is not read.
async fn refused(resp: Response) -> Response {
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let status = resp.status();
    let (code, resp) = if html {
        let (code, _) = code_and_reason(status, b"{}");
        (code, resp)
    } else {
        let (parts, body) = resp.into_parts();
        let bytes = body.into_bytes().await.unwrap_or_default();
        let (code, reason) = code_and_reason(status, &bytes);
        tracing::debug!(status = status.as_u16(), code = %code, reason = %reason, "refused");
        (code, Response::from_parts(parts, poem::Body::from(bytes)))
    };
    let mut resp = resp;
    resp.extensions_mut().insert(ErrorCode(code));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(status: StatusCode, message: &str, _: &ErrorContext<'_>) -> Response {
        Response::builder().status(status).body(message.to_string())
    }

    #[test]
    fn each_dialects_error_code_is_found() {
        let s = StatusCode::BAD_REQUEST;
        let code = |body: &str| code_and_reason(s, body.as_bytes());
        assert_eq!(
            code(r#"{"code":"user.not_found","message":"no such user"}"#),
            ("user.not_found".into(), "no such user".into())
        );
        assert_eq!(
            code(r#"{"id":"X","errors":[{"code":"bad.request","message":"why"}]}"#),
            ("bad.request".into(), "why".into())
        );
        assert_eq!(
            code(r#"{"schemas":[],"status":"400","scimType":"invalidFilter","detail":"d"}"#),
            ("invalidFilter".into(), "d".into())
        );
        assert_eq!(
            code(r#"{"result":"error.user.nonexistent","message":"m"}"#).0,
            "error.user.nonexistent"
        );
        assert_eq!(
            code(r#"{"error":"invalid_client","error_description":"e"}"#),
            ("invalid_client".into(), "e".into())
        );
        assert_eq!(
            code(r#"{"status":400,"statusReason":"Bad Request","message":"m"}"#),
            ("bad_request".into(), "m".into())
        );
        assert_eq!(code("").0, "bad_request");
    }

    #[test]
    fn the_longest_prefix_names_the_dialect() {
        let shapes = ErrorShapes::new(plain)
            .with("/api", "logto", plain)
            .with("/scim", "scim", plain)
            .with("/api/v1", "sumo", plain);
        assert_eq!(shapes.dialect_of("/scim/v2/Users"), Some("scim"));
        assert_eq!(shapes.dialect_of("/scim"), Some("scim"));
        assert_eq!(shapes.dialect_of("/api/v1/users"), Some("sumo"));
        assert_eq!(shapes.dialect_of("/api/users/abc"), Some("logto"));
        assert_eq!(shapes.dialect_of("/api/v10"), Some("logto"));
        assert_eq!(shapes.dialect_of("/apix"), None);
        assert_eq!(shapes.dialect_of("/scimx"), None);
    }
}
