//! The request path: what every handler may reach (`AppState`) and a request's one trip to the
//! database (`call`, `call_hashing`). Dialects, the console and the token endpoints call it;
//! it calls down into `auth`, `http` and `store`, never up.

use std::sync::Arc;

use crate::config::Config;
use crate::store::Store;
use crate::{auth, domain, http, store};

/// What every handler may reach: configuration, the database, the metrics.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub metrics: http::metrics::Metrics,
    /// Brute-force limits on client secrets and passwords (per instance).
    pub throttle: Arc<http::throttle::Throttle>,
    /// As many as there are cores: requests that hash a password wait here, without a
    /// connection, so hashing never holds more than this many of the pool's connections.
    /// Its line is bounded like the pool's.
    hashing: Arc<store::Gate>,
    /// Wake-ups between requests that write change events and the event tasks
    /// (`events::spawn`) of this instance.
    pub events: Arc<EventSignals>,
    /// How each dialect renders a user, for the console's "how each API sees this user"
    /// page. The wiring (`crate::app`) fills it in, so the console shows the dialects'
    /// renderings without importing them (no route module imports another).
    pub user_views: UserViews,
    /// Set when the process has been asked to stop: `/readyz` answers 503 so a balancer
    /// stops sending new requests while the instance still serves (`server::serve`).
    pub draining: Arc<std::sync::atomic::AtomicBool>,
}

/// One dialect's rendering of a user with their groups, as its read of that user returns
/// it (the reads it needs, such as identities or role ids, on the connection given).
pub type UserRender = fn(
    &mut store::DbConn,
    &Config,
    &domain::User,
    &[domain::GroupRef],
) -> store::StoreResult<serde_json::Value>;

/// The dialects' renderings of a user: (name shown, the route it mirrors, render).
#[derive(Clone, Default)]
pub struct UserViews(pub Arc<Vec<(&'static str, &'static str, UserRender)>>);

/// In-process signals of the change-event log: a request that wrote an event pokes
/// `recorded` after its transaction ends (the sequencer wakes); the sequencer bumps
/// `sequenced` after numbering events (feed long-polls and the deliverer wake). Other
/// instances' changes are seen by the slow polls behind these.
pub struct EventSignals {
    pub recorded: tokio::sync::Notify,
    pub sequenced: tokio::sync::watch::Sender<u64>,
}

impl Default for EventSignals {
    fn default() -> Self {
        EventSignals {
            recorded: tokio::sync::Notify::new(),
            sequenced: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl AppState {
    pub fn new(config: Config, store: Store) -> AppState {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hashing = Arc::new(store::Gate::new(cores, store.queue_limits()));
        AppState {
            throttle: Arc::new(http::throttle::Throttle::new(
                config.auth_failure_limit,
                config.auth_failure_window,
            )),
            config: Arc::new(config),
            store,
            metrics: http::metrics::Metrics::new(),
            hashing,
            events: Arc::new(EventSignals::default()),
            user_views: UserViews::default(),
            draining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    /// Hashing slots in use, requests waiting for one, requests refused since start.
    pub fn hashing_load(&self) -> store::GateLoad {
        self.hashing.load()
    }

    /// `call` for a request that sets a password: bcrypt runs in the trip (after the
    /// credential is checked, before the write transaction), so it holds a connection
    /// meanwhile; at most one such request per core is let in at a time, and the others
    /// wait without a connection, so reads keep the rest of the pool.
    pub async fn call_hashing<T, E, F>(
        &self,
        auth: &auth::schemes::BearerOrBasic,
        scope: Option<domain::Scope>,
        op: F,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<auth::AuthError> + From<store::StoreError> + Send + 'static,
        F: FnOnce(&mut store::DbConn, domain::Principal) -> Result<T, E> + Send + 'static,
    {
        let _permit = self.hashing.enter().await?;
        self.call(auth, scope, op).await
    }

    /// A request's one trip to the database: on one blocking thread and one connection,
    /// check the presented credential (and `scope`, when given), then run `op` as that
    /// principal. Every dialect's handler calls this exactly once.
    pub async fn call<T, E, F>(
        &self,
        auth: &auth::schemes::BearerOrBasic,
        scope: Option<domain::Scope>,
        op: F,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<auth::AuthError> + From<store::StoreError> + Send + 'static,
        F: FnOnce(&mut store::DbConn, domain::Principal) -> Result<T, E> + Send + 'static,
    {
        let presented = auth.presented().clone();
        // A client's secret sent with HTTP Basic is a guessable check: limited per client.
        let client_key = match &presented {
            auth::Presented::Basic { id, .. } => Some(http::throttle::Throttle::client_key(id)),
            auth::Presented::Bearer(_) => None,
        };
        if let Some(key) = &client_key {
            self.throttle
                .check(key)
                .map_err(auth::AuthError::Throttled)?;
        }
        let refused = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let refused_in = refused.clone();
        let keys = self.store.keys();
        let (result, written) = self
            .store
            .run_trip(move |conn| {
                let p = auth::resolve(conn, &keys, &presented).inspect_err(|e| {
                    if matches!(e, auth::AuthError::Unauthorized) {
                        refused_in.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                })?;
                if let Some(scope) = scope {
                    auth::require(&p, scope)?;
                }
                op(conn, p)
            })
            .await;
        // The trip is over (its transaction committed or rolled back): an event it wrote
        // and committed is the sequencer's to number now.
        if !written.is_empty() {
            self.events.recorded.notify_one();
        }
        if let Some(key) = &client_key {
            if refused.load(std::sync::atomic::Ordering::Relaxed) {
                self.throttle.fail(key);
            }
        }
        result
    }

    /// A web console request's one trip: on one blocking thread and one connection, resolve
    /// the console session of `secret` (`auth::session::resolve`: the row, its timeouts, its
    /// holder still an admin), then run `op` as that session.
    pub async fn call_session<T, E, F>(&self, secret: Option<String>, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<auth::AuthError> + From<store::StoreError> + Send + 'static,
        F: FnOnce(&mut store::DbConn, auth::session::Session) -> Result<T, E> + Send + 'static,
    {
        let life = self.config.console_sessions;
        self.store
            .run_with(move |conn| {
                let secret = secret.ok_or(auth::AuthError::Unauthorized)?;
                let s = auth::session::resolve(conn, &secret, life)?;
                op(conn, s)
            })
            .await
    }

    /// `call_session` for a console request that hashes a password (set or reset): waits
    /// for a hashing slot first, as `call_hashing` does.
    pub async fn call_session_hashing<T, E, F>(&self, secret: Option<String>, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<auth::AuthError> + From<store::StoreError> + Send + 'static,
        F: FnOnce(&mut store::DbConn, auth::session::Session) -> Result<T, E> + Send + 'static,
    {
        let _permit = self.hashing.enter().await?;
        self.call_session(secret, op).await
    }

    /// The one trip of a request that presents no credential yet (the console's sign-in,
    /// which checks a password or a token itself): waits for a hashing slot, since it
    /// runs bcrypt, then runs `op` on one connection.
    pub async fn call_sign_in<T, E, F>(&self, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<auth::AuthError> + From<store::StoreError> + Send + 'static,
        F: FnOnce(&mut store::DbConn, &store::KeyCache) -> Result<T, E> + Send + 'static,
    {
        let _permit = self.hashing.enter().await?;
        let keys = self.store.keys();
        self.store.run_with(move |conn| op(conn, &keys)).await
    }
}
