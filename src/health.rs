//! Health, readiness and metrics: no token needed.

use poem::web::Data;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::request::AppState;

#[derive(Tags)]
enum Tag {
    /// Operations: liveness, readiness, metrics
    Operations,
}

#[derive(Object)]
struct Status {
    status: String,
    #[oai(skip_serializing_if_is_none)]
    backend: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    reason: Option<String>,
}

#[derive(ApiResponse)]
enum Readiness {
    /// The database answers.
    #[oai(status = 200)]
    Ready(Json<Status>),
    /// The database does not answer, or the instance is shutting down.
    #[oai(status = 503)]
    NotReady(Json<Status>),
}

#[derive(ApiResponse)]
enum Metrics {
    /// The metrics, in Prometheus's text exposition format.
    #[oai(
        status = 200,
        content_type = "text/plain; version=0.0.4; charset=utf-8"
    )]
    Text(PlainText<String>),
}

pub struct HealthApi;

#[OpenApi(tag = "Tag::Operations")]
impl HealthApi {
    /// The process is up.
    #[oai(path = "/healthz", method = "get")]
    async fn healthz(&self) -> Json<Status> {
        Json(Status {
            status: "ok".into(),
            backend: None,
            reason: None,
        })
    }

    /// The database is reachable.
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self, state: Data<&AppState>) -> Readiness {
        let store = state.store.clone();
        let backend = Some(store.backend().name().to_string());
        if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
            return Readiness::NotReady(Json(Status {
                status: "draining".into(),
                backend,
                reason: Some("the instance is shutting down".into()),
            }));
        }
        let checked = tokio::task::spawn_blocking(move || store.ready()).await;
        match checked {
            Ok(Ok(())) => Readiness::Ready(Json(Status {
                status: "ready".into(),
                backend,
                reason: None,
            })),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "not ready");
                Readiness::NotReady(Json(Status {
                    status: "unavailable".into(),
                    backend,
                    reason: Some("the database is unreachable".into()),
                }))
            }
            Err(_) => Readiness::NotReady(Json(Status {
                status: "unavailable".into(),
                backend,
                reason: Some("the readiness check failed".into()),
            })),
        }
    }

    /// Prometheus metrics (text exposition format 0.0.4): request counts and latency
    /// histograms by route and status, the database and its line, and the process's own
    /// `process_*` figures.
    #[oai(path = "/metrics", method = "get")]
    async fn metrics(&self, state: Data<&AppState>) -> Metrics {
        let mut text = state.metrics.render();
        text.push_str(&crate::http::metrics::store_text(state.store.stats()));
        text.push_str(&crate::http::metrics::counter_text(
            "muster_scim_unknown_extensions_total",
            "Schema extensions no one registered that writes kept as sent \
             (--scim-unknown-extensions=keep)",
            state.store.schema_cache().unknown_kept(),
        ));
        text.push_str(&crate::http::metrics::queue_text(state.store.load()));
        text.push_str(&crate::http::metrics::hashing_text(state.hashing_load()));
        text.push_str(&crate::http::metrics::process_text());
        Metrics::Text(PlainText(text))
    }
}
