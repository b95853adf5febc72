//! Errors the framework raises (no route, wrong method, unparsable body, body too large,
//! failed authentication) are plain text; this middleware renders them in the dialect of the
//! path, so a Logto client gets `{code, message}`, a SCIM client a SCIM error, and so on.
//! Handlers render their own domain errors; responses that are already JSON pass untouched.

use poem::http::{header, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use crate::dialects;
use crate::http::RequestId;

/// Which wire dialect a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Scim,
    Logto,
    Domo,
    Sumo,
    Adobe,
    OAuth,
    Admin,
    Other,
}

impl Dialect {
    pub fn of(path: &str) -> Dialect {
        let under = |prefix: &str| {
            path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        if under("/scim") {
            Dialect::Scim
        } else if under("/api/v1") {
            Dialect::Sumo
        } else if under("/api") {
            Dialect::Logto
        } else if under("/v1") {
            Dialect::Domo
        } else if under("/v2/usermanagement") {
            Dialect::Adobe
        } else if under("/oauth") || under("/oidc") || under("/ims") {
            Dialect::OAuth
        } else if under("/admin") {
            Dialect::Admin
        } else {
            Dialect::Other
        }
    }
}

/// What an error renderer may put in a body besides status and message.
pub struct ErrorContext<'a> {
    pub request_id: &'a str,
    pub path: &'a str,
    /// The scheme of the request's `Authorization` header (`Bearer`, `Basic`, ...), if any.
    pub authorization: Option<&'a str>,
}

pub fn render(
    dialect: Dialect,
    status: StatusCode,
    message: &str,
    ctx: &ErrorContext<'_>,
) -> Response {
    match dialect {
        Dialect::Scim => dialects::scim::error::framework_error(status, message),
        Dialect::Logto => dialects::logto::error::framework_error(status, message, ctx),
        Dialect::Domo => dialects::domo::error::framework_error(status, message, ctx),
        Dialect::Sumo => dialects::sumo::error::framework_error(status, message, ctx),
        Dialect::Adobe => dialects::adobe::error::framework_error(status, message),
        Dialect::OAuth => crate::auth::token_endpoints::framework_error(status, message),
        Dialect::Admin | Dialect::Other => dialects::admin::error::framework_error(status, message),
    }
}

pub struct DialectErrors;

impl<E: Endpoint> Middleware<E> for DialectErrors {
    type Output = DialectErrorsEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        DialectErrorsEndpoint { ep }
    }
}

pub struct DialectErrorsEndpoint<E> {
    ep: E,
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"))
}

/// Seconds a client is told to wait after a 503: the line in front of the pool drains in
/// milliseconds once load drops, and a database that went away is retried as soon.
pub const RETRY_AFTER_SECONDS: u64 = 1;

impl<E: Endpoint> Endpoint for DialectErrorsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let mut resp = self.render(req).await?;
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

impl<E: Endpoint> DialectErrorsEndpoint<E> {
    async fn render(&self, req: Request) -> Result<Response> {
        let path = req.uri().path().to_string();
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let scheme = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(' ').next().unwrap_or("").to_string());
        let resp = match self.ep.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
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
        let mut out = render(Dialect::of(&path), status, &message, &ctx);
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

#[cfg(test)]
mod tests {
    use super::Dialect;

    #[test]
    fn paths_map_to_dialects() {
        assert_eq!(Dialect::of("/scim/v2/Users"), Dialect::Scim);
        assert_eq!(Dialect::of("/api/v1/users"), Dialect::Sumo);
        assert_eq!(Dialect::of("/api/users/abc"), Dialect::Logto);
        assert_eq!(Dialect::of("/api/logs"), Dialect::Logto);
        assert_eq!(Dialect::of("/v1/groups"), Dialect::Domo);
        assert_eq!(Dialect::of("/v2/usermanagement/action/x"), Dialect::Adobe);
        assert_eq!(Dialect::of("/oidc/token"), Dialect::OAuth);
        assert_eq!(Dialect::of("/admin/v1/whoami"), Dialect::Admin);
        assert_eq!(Dialect::of("/apix"), Dialect::Other);
        assert_eq!(Dialect::of("/scimx"), Dialect::Other);
    }
}
