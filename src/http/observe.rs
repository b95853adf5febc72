//! Request id, tracing span and metrics for every request. The id comes from a well-formed
//! incoming `X-Request-Id` (Adobe's clients send one and expect it back) or is made here; it is
//! on every response and in every log line of the request. Query strings are never logged:
//! some clients put credentials there.

use std::time::Instant;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument;

use super::metrics::{Metrics, RouteLabels};

/// The id of the request being served, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub struct Observe {
    pub metrics: Metrics,
    pub labels: std::sync::Arc<RouteLabels>,
}

impl<E: Endpoint> Middleware<E> for Observe {
    type Output = ObserveEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        ObserveEndpoint {
            ep,
            metrics: self.metrics.clone(),
            labels: self.labels.clone(),
        }
    }
}

pub struct ObserveEndpoint<E> {
    ep: E,
    metrics: Metrics,
    labels: std::sync::Arc<RouteLabels>,
}

fn incoming_id(req: &Request) -> Option<String> {
    let v = req.headers().get("x-request-id")?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b));
    ok.then(|| v.to_string())
}

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        req.extensions_mut().insert(RequestId(id.clone()));
        let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
        let result = self.ep.call(req).instrument(span.clone()).await;
        let mut resp = match result {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        let status = resp.status().as_u16();
        let elapsed = started.elapsed();
        self.metrics.observe(
            &method,
            &self.labels.label(&path, status),
            self.labels.dialect(&path),
            status,
            elapsed.as_secs_f64(),
        );
        span.in_scope(|| {
            tracing::info!(
                status,
                latency_ms = elapsed.as_secs_f64() * 1000.0,
                "served"
            )
        });
        Ok(resp)
    }
}
