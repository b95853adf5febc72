//! Start-up and the listener: migrations, the first organization and admin token, plain HTTP
//! or HTTPS with rustls, and graceful shutdown on SIGINT/SIGTERM.

use std::time::Duration;

use poem::listener::{Listener, RustlsCertificate, RustlsConfig, TcpListener};
use poem::Server;

use crate::app;
use crate::auth;
use crate::config::{Config, ServeArgs};
use crate::domain::{CredentialKind, OrgId, Scopes};
use crate::request::AppState;
use crate::store::{self, Store};

pub const BOOTSTRAP_TOKEN_ID: &str = "bootstrap";

/// Run migrations and make sure the `default` organization exists. Returns the admin token
/// made for it when this call created it (and no bootstrap token was configured), so the
/// caller can show it once. With `bootstrap_token`, ensures that token instead.
pub fn prepare(store: &Store, bootstrap_token: Option<&str>) -> Result<Option<String>, String> {
    let applied = store.migrate()?;
    if applied > 0 {
        tracing::info!(
            applied,
            backend = store.backend().name(),
            "migrations applied"
        );
    }
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let created = store::orgs::ensure_default(&mut conn).map_err(|e| e.to_string())?;
    let default = OrgId::parse(store::orgs::DEFAULT_ORG).expect("literal slug");
    if let Some(secret) = bootstrap_token {
        if secret.len() < 16 {
            return Err("MUSTER_BOOTSTRAP_TOKEN must be at least 16 characters".into());
        }
        store::credentials::ensure_token(
            &mut conn,
            BOOTSTRAP_TOKEN_ID,
            &default,
            secret,
            &Scopes::all(),
        )
        .map_err(|e| e.to_string())?;
        return Ok(None);
    }
    if !created {
        return Ok(None);
    }
    let secret = auth::generate_secret("mst_");
    store::credentials::create(
        &mut conn,
        store::credentials::NewCredential {
            id: &auth::generate_id("tok_"),
            org_id: &default,
            kind: CredentialKind::Token,
            label: "initial admin token",
            secret: &secret,
            scopes: &Scopes::all(),
            user_id: None,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(Some(secret))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// The signal, then the lame-duck `delay`: `/readyz` answers 503 (the balancer takes the
/// instance out) while requests are still accepted; then the listener closes and requests
/// in flight finish.
async fn drain_then_stop(draining: std::sync::Arc<std::sync::atomic::AtomicBool>, delay: Duration) {
    shutdown_signal().await;
    draining.store(true, std::sync::atomic::Ordering::SeqCst);
    if !delay.is_zero() {
        tracing::info!(
            delay_ms = delay.as_millis() as u64,
            "stopping: not ready, still serving"
        );
        tokio::time::sleep(delay).await;
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Serve until SIGINT/SIGTERM; requests in flight get up to 30 seconds to finish.
pub async fn serve(args: &ServeArgs, store: Store) -> Result<(), String> {
    let config = Config::from_args(args)?;
    let schemas = args.schema_settings()?;
    for f in &schemas.files {
        tracing::info!(schema = %f.schema.id, resource_type = f.kind.as_str(), "schema extension from a file");
    }
    store.schema_cache().configure(schemas);
    let base = config.base_url.to_string();
    let store = store.with_queue(args.queue_limits());
    let state = AppState::new(config, store);
    // The change-event sequencer and webhook deliverer (docs/events.md); they end with the
    // process.
    let _events = crate::events::spawn(state.clone());
    let stop = drain_then_stop(
        state.draining.clone(),
        Duration::from_millis(args.shutdown_delay_ms),
    );
    let endpoint = app(state);
    let listener = TcpListener::bind(args.bind);
    let grace = Some(Duration::from_secs(30));
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let cert =
                std::fs::read(cert).map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
            let key =
                std::fs::read(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?;
            let tls = RustlsConfig::new().fallback(RustlsCertificate::new().cert(cert).key(key));
            let listener = listener.rustls(tls);
            tracing::info!(bind = %args.bind, base_url = %base, "listening (HTTPS)");
            Server::new(listener)
                .run_with_graceful_shutdown(endpoint, stop, grace)
                .await
        }
        _ => {
            tracing::info!(bind = %args.bind, base_url = %base, "listening (HTTP)");
            Server::new(listener)
                .run_with_graceful_shutdown(endpoint, stop, grace)
                .await
        }
    }
    .map_err(|e| format!("server error: {e}"))
}
