//! The panic safety net: a panic while serving a request becomes a 500 in the dialect of the
//! path (a SCIM error under `/scim`, `{code, message}` under `/api`, ...), one `error` log line
//! with the path and the panic message, and one more `muster_panics_total`.
//!
//! poem's own `CatchPanic` hands its handler only the panic payload, not the request, so it
//! cannot pick the dialect or log the path; this is the same `catch_unwind` with both.
//! Request bodies, headers and query strings are never logged (some clients put credentials
//! in the query); the client gets a generic message, never the panic's.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response, Result};

use super::errors::{ErrorContext, ErrorShapes};
use super::metrics::Metrics;
use super::{RequestId, Wrapped};

#[derive(Clone)]
pub struct CatchPanics {
    pub metrics: Metrics,
    pub shapes: ErrorShapes,
}

impl CatchPanics {
    pub fn new(metrics: Metrics, shapes: ErrorShapes) -> CatchPanics {
        CatchPanics { metrics, shapes }
    }
}

super::middleware!(CatchPanics);

/// The text of a panic payload, cut (it may quote input).
fn message(payload: &(dyn Any + Send)) -> String {
    crate::store::panic_message(payload)
}

impl<E: Endpoint> Endpoint for Wrapped<CatchPanics, E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let path = req.uri().path().to_string();
        let request_id = RequestId::of(&req);
        match AssertUnwindSafe(self.ep.call(req)).catch_unwind().await {
            Ok(result) => result.map(IntoResponse::into_response),
            Err(payload) => {
                let panic = message(payload.as_ref());
                tracing::error!(path = %path, panic = %panic, "panic while serving a request");
                self.by.metrics.panicked();
                let ctx = ErrorContext {
                    request_id: &request_id,
                    path: &path,
                    authorization: None,
                };
                Ok(self.by.shapes.render(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal server error",
                    &ctx,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::{handler, EndpointExt, Route};

    #[handler]
    fn boom() -> String {
        // The kind of bug this net is for: a byte slice inside a multi-byte character.
        let s = std::hint::black_box(String::from("abcü"));
        s[..4].to_string()
    }

    #[handler]
    fn fine() -> &'static str {
        "ok"
    }

    fn app(metrics: &Metrics) -> impl Endpoint {
        Route::new()
            .at("/scim/v2/Users", boom)
            .at("/api/users", boom)
            .at("/scim/v2/ok", fine)
            .with(CatchPanics::new(metrics.clone(), crate::error_shapes()))
    }

    async fn call(ep: &impl Endpoint, path: &str) -> (StatusCode, String, String) {
        let resp = ep
            .call(Request::builder().uri_str(path).finish())
            .await
            .map(IntoResponse::into_response)
            .unwrap_or_else(|e| e.into_response());
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, ct, resp.into_body().into_string().await.unwrap())
    }

    #[tokio::test]
    async fn a_panicking_scim_handler_answers_500_as_a_scim_error() {
        let metrics = Metrics::new();
        let ep = app(&metrics);
        let (status, ct, body) = call(&ep, "/scim/v2/Users?filter=x").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(ct, "application/scim+json");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["schemas"],
            serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert_eq!(v["status"], "500");
        assert!(!body.contains("char boundary"), "no panic text to clients");
        assert_eq!(metrics.panics(), 1);
        assert!(metrics.render().contains("muster_panics_total 1"));

        // Another dialect, another shape; handlers that do not panic pass untouched.
        let (status, ct, _) = call(&ep, "/api/users").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(ct.contains("json"), "{ct}");
        assert_eq!(metrics.panics(), 2);
        let (status, _, body) = call(&ep, "/scim/v2/ok").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
        assert_eq!(metrics.panics(), 2);
    }

    #[test]
    fn logged_messages_are_cut_on_a_character() {
        let long: Box<dyn Any + Send> = Box::new("ü".repeat(600));
        let m = message(long.as_ref());
        assert_eq!(m.chars().count(), 500 + 1);
        assert!(m.ends_with('…'));
        let s: Box<dyn Any + Send> = Box::new("short");
        assert_eq!(message(s.as_ref()), "short");
        let other: Box<dyn Any + Send> = Box::new(42);
        assert_eq!(message(other.as_ref()), "(no message)");
    }
}
