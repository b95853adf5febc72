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

/// The shortest bootstrap token accepted (as for every credential's secret).
pub const BOOTSTRAP_TOKEN_MIN: usize = 16;

/// What the first-run step found or did for the `default` organization's admin credential.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// The operator supplied the token: it is the credential `bootstrap` (all scopes).
    Supplied,
    /// Nothing was supplied and `default` had no credential: this one was made (id
    /// `bootstrap`, all scopes), for the caller to show once.
    Generated(String),
    /// `default` already has a credential (live or revoked): nothing to do.
    Done,
    /// `default` has no credential, none was supplied and the caller may not show a
    /// generated one: the next command with a token supplied or a terminal finishes the step.
    Pending,
}

/// The first-run step, the same whichever command runs it first: migrations, the `default`
/// organization, and its first admin credential. With `supplied`, that token is ensured as
/// the credential `bootstrap` (idempotent; its secret is set again and it is live again).
/// Without it, when `default` has never had a credential, one is generated when `generate`
/// (the caller has a terminal to show it on), else the step is left [`Bootstrap::Pending`].
/// A supplied token too short is refused before anything is written.
pub fn bootstrap(
    store: &Store,
    supplied: Option<&str>,
    generate: bool,
) -> Result<Bootstrap, String> {
    if let Some(secret) = supplied {
        check_bootstrap_token(secret)?;
    }
    let applied = store.migrate()?;
    if applied > 0 {
        tracing::info!(
            applied,
            backend = store.backend().name(),
            "migrations applied"
        );
    }
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    if store::orgs::ensure_default(&mut conn).map_err(|e| e.to_string())? {
        tracing::info!("created organization `default`");
    }
    let default = OrgId::parse(store::orgs::DEFAULT_ORG).expect("literal slug");
    if let Some(secret) = supplied {
        store::credentials::ensure_token(
            &mut conn,
            BOOTSTRAP_TOKEN_ID,
            &default,
            secret,
            &Scopes::all(),
        )
        .map_err(|e| e.to_string())?;
        return Ok(Bootstrap::Supplied);
    }
    if !store::credentials::list(&mut conn, Some(&default))
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(Bootstrap::Done);
    }
    if !generate {
        return Ok(Bootstrap::Pending);
    }
    let secret = auth::generate_secret("mst_");
    // The fixed id settles a race between two first commands: one insert wins.
    match store::credentials::create(
        &mut conn,
        store::credentials::NewCredential {
            id: BOOTSTRAP_TOKEN_ID,
            org_id: &default,
            kind: CredentialKind::Token,
            label: "initial admin token",
            secret: &secret,
            scopes: &Scopes::all(),
            user_id: None,
            expires_at: None,
        },
    ) {
        Ok(_) => Ok(Bootstrap::Generated(secret)),
        Err(store::StoreError::Conflict(_)) => Ok(Bootstrap::Done),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether `secret` may be a bootstrap token: checked before anything is opened or written.
pub fn check_bootstrap_token(secret: &str) -> Result<(), String> {
    if secret.chars().count() < BOOTSTRAP_TOKEN_MIN {
        return Err(format!(
            "the bootstrap token (MUSTER_BOOTSTRAP_TOKEN or MUSTER_BOOTSTRAP_TOKEN_FILE) must be at least {BOOTSTRAP_TOKEN_MIN} characters; nothing was written"
        ));
    }
    if secret.chars().any(char::is_whitespace) {
        return Err(
            "the bootstrap token must not contain spaces or line breaks; nothing was written"
                .into(),
        );
    }
    Ok(())
}

/// [`bootstrap`] for tests and benchmarks: the admin token made (when this call made one).
pub fn prepare(store: &Store, bootstrap_token: Option<&str>) -> Result<Option<String>, String> {
    Ok(match bootstrap(store, bootstrap_token, true)? {
        Bootstrap::Generated(secret) => Some(secret),
        _ => None,
    })
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
async fn drain_then_stop(
    draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stopping: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    delay: Duration,
) {
    shutdown_signal().await;
    draining.store(true, std::sync::atomic::Ordering::SeqCst);
    // Long polls of the change feed answer now (an empty page and the next position).
    stopping.send_replace(true);
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
        state.stopping.clone(),
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
    .map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "cannot listen on {}: the address is in use (another process listens there; \
             choose another with --bind or MUSTER_BIND)",
            args.bind
        ),
        _ => format!("cannot serve on {}: {e}", args.bind),
    })
}
