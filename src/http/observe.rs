//! Request id, tracing span and metrics for every request. The id comes from a well-formed
//! incoming `X-Request-Id` (Adobe's clients send one and expect it back) or is made here; it is
//! on every response and in every log line of the request. Query strings are never logged:
//! some clients put credentials there.

use std::time::Instant;

use poem::http::HeaderValue;
use poem::{Endpoint, Request, Response, Result};
use tracing::Instrument;

use super::metrics::{Metrics, RouteLabels};
use super::Wrapped;

/// The id of the request being served, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id of `req` (empty before `Observe` has seen it).
    pub fn of(req: &Request) -> String {
        req.extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct Observe {
    pub metrics: Metrics,
    pub labels: std::sync::Arc<RouteLabels>,
}

super::middleware!(Observe);

fn incoming_id(req: &Request) -> Option<String> {
    let v = req.headers().get("x-request-id")?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b));
    ok.then(|| v.to_string())
}

impl<E: Endpoint> Endpoint for Wrapped<Observe, E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        req.extensions_mut().insert(RequestId(id.clone()));
        let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
        let mut resp = self.ep.get_response(req).instrument(span.clone()).await;
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        let status = resp.status().as_u16();
        let elapsed = started.elapsed();
        let Observe { metrics, labels } = &self.by;
        metrics.observe(
            &method,
            &labels.label(&path, status),
            labels.dialect(&path),
            status,
            elapsed.as_secs_f64(),
        );
        // A refused request's code (its reason is at debug: `errors::refused`).
        let code = resp
            .extensions()
            .get::<super::errors::ErrorCode>()
            .map(|c| c.0.clone());
        span.in_scope(|| {
            tracing::info!(
                status,
                code = code.as_deref(),
                latency_ms = elapsed.as_secs_f64() * 1000.0,
                "served"
            )
        });
        Ok(resp)
    }
}
