//! The request path: what every handler may reach (`AppState`) and a request's one trip to the
//! database (`Trip`: `state.trip(&auth, scope).run(…)`). Dialects, the console and the
//! token endpoints call it; it calls down into `directory`, `auth`, `http` and `store`, never
//! up.

use std::sync::Arc;

use crate::config::Config;
use crate::directory::seam::Dialect;
use crate::directory::Caller;
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
    /// Becomes true when the process has been asked to stop (SIGTERM, SIGINT): long polls
    /// of the change feed answer at once instead of holding the shutdown.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
    /// When each console session last served a request on this instance (the idle timeout
    /// runs from it: `auth::session::Seen`).
    pub console_seen: Arc<auth::session::Seen>,
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
/// `sequenced` after numbering events (feed long-polls wake) and pokes `deliveries` when it
/// made deliveries (the deliverer wakes). On PostgreSQL the listener (`events::listen`)
/// pokes the same signals for every instance's commits and rounds.
pub struct EventSignals {
    pub recorded: tokio::sync::Notify,
    pub sequenced: tokio::sync::watch::Sender<u64>,
    pub deliveries: tokio::sync::Notify,
}

impl Default for EventSignals {
    fn default() -> Self {
        EventSignals {
            recorded: tokio::sync::Notify::new(),
            sequenced: tokio::sync::watch::Sender::new(0),
            deliveries: tokio::sync::Notify::new(),
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
            stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
            console_seen: Arc::default(),
        }
    }

    /// Hashing slots in use, requests waiting for one, requests refused since start.
    pub fn hashing_load(&self) -> store::GateLoad {
        self.hashing.load()
    }

    /// A request's one trip to the database, admitted by the credential it presents and
    /// requiring `scope` of it (`None`: any valid credential, for what shows nothing of the
    /// tenant). The scope is an argument, not an option, so no trip forgets it:
    /// `state.trip(&auth, Scope::Scim).hashing(sets_password).run(|conn, caller| …)`.
    pub fn trip(
        &self,
        auth: &auth::schemes::BearerOrBasic,
        scope: impl Into<Option<domain::Scope>>,
    ) -> Trip<'_, ByCredential> {
        Trip::new(self, ByCredential(auth.presented().clone()), scope.into())
    }

    /// A web console request's one trip, admitted by its session cookie's `secret`
    /// (`auth::session::resolve`: the row, its timeouts, its holder still an admin) and
    /// requiring `scope` of the session (`None`: a form checks it after its CSRF token).
    pub fn session_trip(
        &self,
        secret: Option<String>,
        scope: impl Into<Option<domain::Scope>>,
    ) -> Trip<'_, BySession> {
        Trip::new(self, BySession(secret), scope.into())
    }

    /// The one trip of a request that presents no credential yet (the console's sign-in,
    /// which checks a password or a token itself, so it hashes).
    pub fn sign_in_trip(&self) -> Trip<'_, BySignIn> {
        Trip::new(self, BySignIn, None).hashing(true)
    }
}

/// A credential presented with the request (`Authorization`).
pub struct ByCredential(auth::Presented);
/// A console session cookie's secret, if the request has one.
pub struct BySession(Option<String>);
/// No credential: the operation checks one itself.
pub struct BySignIn;

/// A request's one trip to the blocking pool, built by [`AppState::trip`] (or
/// `session_trip`, `sign_in_trip`): on one blocking thread and one connection, admit the
/// request and check its scope, then run the operation as the dialect's
/// `directory::Caller`. A trip that `hashing` waits for a hashing slot first, without a
/// connection: bcrypt runs in the trip (after the credential, before the write transaction)
/// and holds a connection meanwhile, so at most one such request per core is let in at a
/// time and reads keep the rest of the pool. Every handler makes exactly one.
pub struct Trip<'a, A> {
    state: &'a AppState,
    admit: A,
    scope: Option<domain::Scope>,
    hashing: bool,
    short_read: bool,
}

impl<'a, A> Trip<'a, A> {
    fn new(state: &'a AppState, admit: A, scope: Option<domain::Scope>) -> Self {
        Trip {
            state,
            admit,
            scope,
            hashing: false,
            short_read: false,
        }
    }

    /// Whether the operation is a short read: one resource found by an index (GET by id,
    /// `userName eq`), which on SQLite runs where the request is instead of being handed to
    /// the blocking pool and back (`Store::run_read_here`). Never for a write, a hashing trip
    /// or a read whose size the caller chooses (a page, a group's members).
    pub fn short_read(mut self, short: bool) -> Self {
        self.short_read = short;
        self
    }

    /// Whether the operation hashes a password (see [`Trip`]).
    pub fn hashing(mut self, hashing: bool) -> Self {
        self.hashing = hashing;
        self
    }

    /// Wait for a hashing slot if asked, then run `f` on a connection of the blocking pool;
    /// a change event it committed wakes the sequencer once the trip is over.
    async fn go<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<store::StoreError> + Send + 'static,
        F: FnOnce(&mut store::DbConn) -> Result<T, E> + Send + 'static,
    {
        let _permit = if self.hashing {
            Some(self.state.hashing.enter().await?)
        } else {
            None
        };
        let (result, written) = if self.short_read && !self.hashing {
            self.state.store.run_read_here(f).await
        } else {
            self.state.store.run_trip(f).await
        };
        if !written.is_empty() {
            self.state.events.recorded.notify_one();
        }
        result
    }
}

impl Trip<'_, ByCredential> {
    /// Check the credential (and scope), then run `op` as the dialect `E`'s caller.
    pub async fn run<T, E, F>(self, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Dialect + From<auth::AuthError> + From<store::StoreError>,
        F: FnOnce(&mut store::DbConn, &Caller<'_>) -> Result<T, E> + Send + 'static,
    {
        self.judged(Ok(()), move |conn, caller, ()| op(conn, caller))
            .await
    }

    /// `run` with what the request carries, prepared (parsed) before the trip: a request
    /// that could not be prepared is refused only once its credential checks out, so a bad
    /// credential is a 401 whatever else is wrong with the request, in every dialect.
    pub async fn judged<P, T, E, F>(self, prepared: Result<P, E>, op: F) -> Result<T, E>
    where
        P: Send + 'static,
        T: Send + 'static,
        E: Dialect + From<auth::AuthError> + From<store::StoreError>,
        F: FnOnce(&mut store::DbConn, &Caller<'_>, P) -> Result<T, E> + Send + 'static,
    {
        let presented = self.admit.0.clone();
        // A client's secret sent with HTTP Basic is a guessable check: limited per client.
        let client_key = match &presented {
            auth::Presented::Basic { id, .. } => Some(http::throttle::Throttle::client_key(id)),
            auth::Presented::Bearer(_) => None,
        };
        if let Some(key) = &client_key {
            self.state
                .throttle
                .check(key)
                .map_err(auth::AuthError::Throttled)?;
        }
        let refused = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let refused_in = refused.clone();
        let keys = self.state.store.keys();
        let (scope, cost) = (self.scope, self.state.config.bcrypt_cost);
        let result = self
            .go(move |conn| {
                let p = auth::resolve(conn, &keys, &presented).inspect_err(|e| {
                    if matches!(e, auth::AuthError::Unauthorized) {
                        refused_in.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                })?;
                if let Some(scope) = scope {
                    auth::require(&p, scope)?;
                }
                op(conn, &Caller::new(&p, E::NAME, cost), prepared?)
            })
            .await;
        if let Some(key) = &client_key {
            if refused.load(std::sync::atomic::Ordering::Relaxed) {
                self.state.throttle.fail(key);
            }
        }
        result
    }
}

impl Trip<'_, BySession> {
    /// Resolve the console session (and check scope), then run `op` with the session and
    /// its caller.
    pub async fn run<T, E, F>(self, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Dialect + From<auth::AuthError> + From<store::StoreError>,
        F: FnOnce(&mut store::DbConn, &auth::session::Session, &Caller<'_>) -> Result<T, E>
            + Send
            + 'static,
    {
        let secret = self.admit.0.clone();
        let life = self.state.config.console_sessions;
        let seen = self.state.console_seen.clone();
        let (scope, cost) = (self.scope, self.state.config.bcrypt_cost);
        self.go(move |conn| {
            let secret = secret.ok_or(auth::AuthError::Unauthorized)?;
            let s = auth::session::resolve(conn, &secret, life, &seen)?;
            if let Some(scope) = scope {
                auth::require(&s.principal, scope)?;
            }
            let caller = Caller::new(&s.principal, E::NAME, cost);
            op(conn, &s, &caller)
        })
        .await
    }
}

impl Trip<'_, BySignIn> {
    /// Run `op` with the process's signing keys; it checks what the request presents.
    pub async fn run<T, E, F>(self, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<store::StoreError> + Send + 'static,
        F: FnOnce(&mut store::DbConn, &store::KeyCache) -> Result<T, E> + Send + 'static,
    {
        let keys = self.state.store.keys();
        self.go(move |conn| op(conn, &keys)).await
    }
}

/// A dialect's `#[OpenApi]` impl whose every route takes the request's credential and the
/// state: the impl names them once, `impl Api(auth: Scheme, state)`, and each route is written
/// without them. poem-openapi's attribute reads the impl whole and cannot see a macro inside
/// it, so the macro makes the whole impl. The parameters pass as written (not as `ty`
/// fragments): poem-openapi tells a `Path` parameter by its type's written name.
macro_rules! routes {
    (
        #[OpenApi($($api:tt)*)]
        $(#[$($impl_attr:tt)*])*
        impl $name:ident($auth:ident: $scheme:ty, $state:ident) {
            $(
                $(#[$($attr:tt)*])*
                async fn $route:ident($($params:tt)*) -> $answer:ty $body:block
            )*
        }
    ) => {
        #[poem_openapi::OpenApi($($api)*)]
        $(#[$($impl_attr)*])*
        impl $name {
            $(
                $(#[$($attr)*])*
                async fn $route(
                    &self,
                    $auth: $scheme,
                    $state: poem::web::Data<&crate::request::AppState>,
                    $($params)*
                ) -> $answer $body
            )*
        }
    };
}
pub(crate) use routes;
