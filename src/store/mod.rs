//! Everything diesel: the schema, the connection that serves both backends, the pool, the
//! migrations, and one module per aggregate. Nothing above this module sees diesel.

pub mod audit;
pub mod console_sessions;
pub mod console_work;
pub mod credentials;
pub mod events;
pub mod filter_sql;
pub mod gate;
pub mod groups;
pub mod identities;
pub mod orgs;
pub mod paging;
pub mod portable;
pub mod raw;
pub mod regexp;
pub mod roles;
pub mod schema;
pub mod schemas;
pub mod search;
pub mod signing_keys;
pub mod usage;
pub mod user_requests;
pub mod user_search;
pub mod users;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, SimpleConnection,
    TransactionManager,
};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
pub use gate::{Gate, GateLoad, QueueLimits};

/// Run a statically typed query on the concrete connection inside `DbConn`. diesel caches
/// such a query by its type and never renders its SQL again; through the multi-connection
/// wrapper it renders the text on every run to find the cached statement, which the profile
/// of `GET /Users/{id}` showed as a quarter of the request (43 column names, each quoted).
/// The hot reads (a user row, a credential) go through here; the body is written once and
/// compiled for each backend.
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $crate::store::DbConn::db($conn) {
            $crate::store::MultiConn::Pg($c) => $body,
            $crate::store::MultiConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// One diesel connection type for both backends; every query in `store/` is written once
/// against it.
#[derive(diesel::MultiConnection)]
pub enum MultiConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// A connection of a [`Store`] and the state of the work in progress on it: what everything
/// above `store` passes around as `&mut DbConn`. The state of a transaction lives here, and
/// not in thread-locals or process globals, so it goes wherever the connection goes (a trip
/// on any thread, a command-line connection), and two stores in one process (two test
/// servers, `muster copy`) share nothing but the process.
pub struct DbConn {
    db: MultiConn,
    tx: TxContext,
}

/// What a connection knows about the transaction it is in and the trip it serves.
struct TxContext {
    /// Write transactions (and savepoints) open ([`write_tx`], [`savepoint`]).
    depth: u32,
    /// Nested [`write_tx`] run in the transaction that encloses them ([`flattened`]).
    flattened: bool,
    /// The events written since the trip began, less those of transactions rolled back:
    /// what the trip wrote ([`Store::run_trip`]). `None` outside a trip, where nobody asks
    /// (a long-lived command-line connection would only pile them up).
    written: Option<Vec<events::Written>>,
    /// What every connection of this connection's store shares.
    shared: Arc<Shared>,
}

impl TxContext {
    /// A trip begins on this connection: nothing open, nothing flattened, and what it
    /// writes collected. (Nothing is left over from the trip before: a connection whose
    /// trip panicked midway is retired, and every other one ends with its transactions.)
    fn begin_trip(&mut self) {
        self.depth = 0;
        self.flattened = false;
        self.written = Some(Vec::new());
    }

    fn written_len(&self) -> usize {
        self.written.as_ref().map_or(0, Vec::len)
    }

    /// Forget the events of a transaction that rolled back (written after `mark`).
    fn unwrite(&mut self, mark: usize) {
        if let Some(w) = &mut self.written {
            w.truncate(mark);
        }
    }
}

/// What the connections of one [`Store`] share (and nothing outside it does).
#[derive(Debug, Default)]
struct Shared {
    stats: StoreStats,
    /// SQLite writers of this store take turns here (see `transaction`). One per store, so
    /// per database: writers of two databases never wait for each other.
    writer: parking_lot::Mutex<()>,
    /// Sampled page boundaries of unfiltered user lists (`paging`).
    pages: paging::PageCache,
    /// Each organization's schema registry (`schemas`).
    schemas: Arc<schemas::SchemaCache>,
    /// The SQLite file this store opened, and which file it was (see [`FileId`]).
    file: std::sync::OnceLock<(std::path::PathBuf, FileId)>,
    /// A write failed for want of disk space and none has succeeded since: the episode is
    /// logged once, when it begins and when it ends.
    disk_full: AtomicBool,
    /// The SQLite file was found deleted or replaced (logged once).
    file_gone: AtomicBool,
}

/// Which file a path named: its device and inode. A SQLite file deleted or replaced under
/// a running server keeps its old inode open; a write there would be lost at restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    pub fn of(path: &std::path::Path) -> std::io::Result<FileId> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

impl Shared {
    /// Whether the SQLite file this store opened is still the one at its path (one
    /// `stat`); always true for PostgreSQL and in-memory databases. The first time it is
    /// not, says so in the log.
    fn file_in_place(&self) -> bool {
        let Some((path, opened)) = self.file.get() else {
            return true;
        };
        if self.file_gone.load(Ordering::Relaxed) {
            return false;
        }
        if FileId::of(path).is_ok_and(|now| now == *opened) {
            return true;
        }
        if !self.file_gone.swap(true, Ordering::Relaxed) {
            tracing::error!(
                file = %path.display(),
                "the SQLite database file was deleted or replaced under the running server: \
                 writes are refused with 503 and /readyz answers 503 until it is restarted"
            );
        }
        false
    }

    /// A statement failed for want of disk space: the episode begins (logged once).
    fn note_disk_full(&self, message: &str) {
        if !self.disk_full.swap(true, Ordering::Relaxed) {
            tracing::error!(
                error = %message,
                "the database has no room left on its disk: writes are refused with 503 and \
                 Retry-After until a write succeeds again"
            );
        }
    }

    /// A write committed: a disk-full episode, if one was on, has ended.
    fn note_committed(&self) {
        if self.disk_full.load(Ordering::Relaxed) && self.disk_full.swap(false, Ordering::Relaxed) {
            tracing::warn!("the database has room again: writes succeed");
        }
    }
}

/// Whether a database error says the disk is full: SQLite's SQLITE_FULL ("database or
/// disk is full"), PostgreSQL's disk_full (SQLSTATE 53100: "could not extend file …: No
/// space left on device", hint "Check free disk space."; diesel keeps the text, not the
/// code) or a write failing with ENOSPC.
pub fn is_disk_full(info: &dyn diesel::result::DatabaseErrorInformation) -> bool {
    let m = info.message();
    m.contains("database or disk is full")
        || m.contains("No space left on device")
        || m.starts_with("could not extend file")
        || info
            .hint()
            .is_some_and(|h| h.contains("Check free disk space"))
}

impl DbConn {
    /// The diesel connection, for a statement of one's own (tests, tools).
    pub fn db(&mut self) -> &mut MultiConn {
        &mut self.db
    }

    /// This store's page cache (`paging`).
    pub(crate) fn pages(&self) -> &paging::PageCache {
        &self.tx.shared.pages
    }

    /// This store's schema registries (`schemas`).
    pub fn schema_cache(&self) -> Arc<schemas::SchemaCache> {
        self.tx.shared.schemas.clone()
    }
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Errors of the storage layer; each dialect maps them onto its own wire shape.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("version mismatch")]
    VersionMismatch,
    /// A unique field of a user (`domain::rules::UniqueField`) is another user's in the
    /// organization: each dialect names the field in its own words.
    #[error("{}", .0.taken_message())]
    Taken(crate::domain::UniqueField),
    /// A value an identity rule refuses (`domain::rules::prepare`): a 400 naming the field.
    #[error("{0}")]
    Refused(crate::domain::rules::Refused),
    /// The caller may not do this: it would give a user or a credential a scope the caller
    /// lacks (`directory::roles::check_grant`). A 403 in the dialect's shape.
    #[error("{0}")]
    Forbidden(String),
    /// The request names something that cannot be (an unknown group member, say).
    #[error("{0}")]
    Invalid(String),
    #[error("the database is busy or unreachable: {0}")]
    Busy(String),
    /// The database cannot take writes now: its disk is full, or (SQLite) its file was
    /// deleted or replaced under the server. A 503 with `Retry-After`; logged once per
    /// episode by the store, not per request.
    #[error("the database cannot take writes: {0}")]
    Unwritable(String),
    /// Every connection is in use and the line for one is full, or the wait ran out
    /// (`gate::Gate`): a 503 with `Retry-After`, at once, instead of an ever longer queue.
    #[error("too many requests are waiting for the database")]
    Overloaded,
    /// A bug: code on the blocking pool panicked. Logged and counted where it is caught.
    #[error("internal error")]
    Panicked,
    #[error("database error: {0}")]
    Db(#[source] diesel::result::Error),
}

impl StoreError {
    /// `e` as a `Conflict` saying `message` when it broke a unique key; any other error as
    /// `From` makes it.
    pub fn conflict_as(e: diesel::result::Error, message: impl FnOnce() -> String) -> StoreError {
        match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(message()),
            other => other,
        }
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => StoreError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.message().to_string())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                StoreError::Busy(info.message().to_string())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StoreError::Busy(info.message().to_string())
            }
            Error::DatabaseError(_, ref info) if is_disk_full(info.as_ref()) => {
                StoreError::Unwritable(format!("no room on the disk: {}", info.message()))
            }
            // SQLite's busy timeout, PostgreSQL's statement and lock timeouts.
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().contains("database is locked")
                    || info.message().starts_with("canceling statement due to")
                    || info.message().starts_with("deadlock detected") =>
            {
                StoreError::Busy(info.message().to_string())
            }
            // A client's pattern (Logto's posix / similar_to search) PostgreSQL cannot compile.
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().starts_with("invalid regular expression")
                    || info.message().starts_with("invalid escape string") =>
            {
                StoreError::Invalid(info.message().to_string())
            }
            other => StoreError::Db(other),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Busy(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which backend a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite { path: String },
    Postgres { url: String },
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres {
                url: url.to_string(),
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err("the sqlite database URL names no file".into());
        }
        if url.contains("://") && !url.starts_with("sqlite://") {
            return Err(format!(
                "unsupported database URL scheme in {:?}: use sqlite://PATH or postgres://...",
                url.split("://").next().unwrap_or("")
            ));
        }
        Ok(Backend::Sqlite {
            path: path.to_string(),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

/// What the pool hands out: the connection, and what the pool needs to know about it.
pub struct Pooled {
    pub conn: DbConn,
    last_used: Instant,
    broken: bool,
    health: Arc<ConnHealth>,
    generation: u64,
}

/// What the instrumentation learns about one connection.
#[derive(Debug, Default)]
struct ConnHealth {
    cached: AtomicUsize,
    /// A statement failed as if the server went away.
    gone: AtomicBool,
}

/// Counts of database work since start, shared by every connection of a store and shown at
/// `/metrics`: trips to the blocking pool, statements run, statements newly prepared into a
/// connection's statement cache, and panics caught on the blocking pool.
#[derive(Debug, Default)]
pub struct StoreStats {
    pub trips: AtomicU64,
    /// Of `trips`, the short reads run on the request's own thread (`Store::run_read_here`).
    pub trips_here: AtomicU64,
    pub statements: AtomicU64,
    /// Statements that change rows (INSERT, UPDATE, DELETE); counted in debug builds only.
    pub writes: AtomicU64,
    pub prepared: AtomicU64,
    pub panics: AtomicU64,
    /// Passwords hashed while a write transaction of this store was open ([`note_hashing`]).
    pub hashed_in_transaction: AtomicU64,
}

impl StoreStats {
    pub fn snapshot(&self) -> [u64; 5] {
        [
            self.trips.load(Ordering::Relaxed),
            self.statements.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
            self.prepared.load(Ordering::Relaxed),
            self.panics.load(Ordering::Relaxed),
        ]
    }
}

/// The first few bytes of a statement's text, without rendering all of it.
struct Head {
    buf: [u8; 8],
    len: usize,
}

impl std::fmt::Write for Head {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for b in s.bytes() {
            if self.len == self.buf.len() {
                return Err(std::fmt::Error);
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

fn is_write(query: &dyn std::fmt::Display) -> bool {
    use std::fmt::Write;
    let mut head = Head {
        buf: [0; 8],
        len: 0,
    };
    let _ = write!(head, "{query}");
    let h = &head.buf[..head.len];
    [&b"INSERT"[..], b"UPDATE", b"DELETE"]
        .iter()
        .any(|w| h.len() >= w.len() && h[..w.len()].eq_ignore_ascii_case(w))
}

/// diesel's instrumentation hook: counts statements and cache insertions.
struct Counter {
    shared: Arc<Shared>,
    health: Arc<ConnHealth>,
}

impl Instrumentation for Counter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        let stats = &self.shared.stats;
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                stats.statements.fetch_add(1, Ordering::Relaxed);
                // Telling a write from a read means rendering the statement's text, which
                // the profile showed costs a few percent of a read: debug builds (the tests)
                // only.
                if cfg!(debug_assertions) && is_write(query) {
                    stats.writes.fetch_add(1, Ordering::Relaxed);
                }
            }
            InstrumentationEvent::CacheQuery { .. } => {
                stats.prepared.fetch_add(1, Ordering::Relaxed);
                self.health.cached.fetch_add(1, Ordering::Relaxed);
            }
            InstrumentationEvent::FinishQuery {
                error:
                    Some(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::ClosedConnection
                        | diesel::result::DatabaseErrorKind::UnableToSendCommand,
                        _,
                    )),
                ..
            } => {
                self.health.gone.store(true, Ordering::Relaxed);
            }
            InstrumentationEvent::FinishQuery {
                error: Some(diesel::result::Error::DatabaseError(_, info)),
                ..
            } if is_disk_full(info.as_ref()) => {
                self.shared.note_disk_full(info.message());
            }
            _ => {}
        }
    }
}

/// A connection whose statement cache grew past this many statements (filters of many
/// different shapes) is retired and replaced, which bounds the cache's memory.
const MAX_CACHED_STATEMENTS: usize = 2000;

/// A connection used this recently is taken as alive without a round trip; an older one is
/// checked with `SELECT 1` at checkout (as HikariCP does), so a busy server never pays for
/// the check and a database restart during a quiet spell is noticed before a request fails.
const ALIVE_WITHOUT_CHECK: Duration = Duration::from_secs(5);

/// An r2d2 manager that picks the backend from the URL and reports the real connection error
/// (diesel's derived `establish` hides it), and sets SQLite's pragmas on every connection.
#[derive(Debug, Clone)]
pub struct Manager {
    backend: Backend,
    shared: Arc<Shared>,
    /// Connections made before the current generation are retired (`Store::recycle`).
    generation: Arc<AtomicU64>,
}

/// Per session: timeouts, and generic plans for prepared statements. Every statement
/// Muster prepares compares indexed columns with parameters, so one plan fits all values;
/// left to choose, PostgreSQL re-plans a statement for each execution while it guesses, and
/// planning the values-roles-groups statement (a recursive query inside a UNION ALL) costs
/// more than running it.
const PG_SESSION: &str = "SET statement_timeout = '30s'; SET lock_timeout = '10s'; \
     SET plan_cache_mode = force_generic_plan;";

/// The session's plan mode of `PG_SESSION`, restored after a read planned with its values.
pub(crate) const PG_GENERIC_PLANS: &str = "SET plan_cache_mode = force_generic_plan";

// The busy timeout first: switching to WAL waits for another process opening the same new
// file at the same moment instead of failing at once.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA case_sensitive_like = ON;";

/// Set `SQLITE_PRAGMAS` on a new connection. Switching a new file to WAL takes an exclusive
/// lock; where SQLite answers "locked" without waiting (another process is opening or
/// migrating the same new file), try again for a few seconds.
fn sqlite_pragmas(c: &mut SqliteConnection) -> diesel::QueryResult<()> {
    let mut attempt = 0u64;
    loop {
        match c.batch_execute(SQLITE_PRAGMAS) {
            Err(diesel::result::Error::DatabaseError(_, info))
                if attempt < 20 && info.message().contains("locked") =>
            {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(50 * attempt.min(4)));
            }
            other => return other,
        }
    }
}

/// SQLite's own upkeep of the planner's statistics when a connection opens: `ANALYZE` (with
/// a row limit, a few milliseconds) of each table with an index never analyzed, or grown or
/// shrunk tenfold since it was; nothing for empty tables. A connection reads the statistics
/// when it opens, so each new connection both refreshes and sees them.
const SQLITE_OPTIMIZE: &str = "PRAGMA busy_timeout = 0; PRAGMA optimize = 0x10002;";

/// The busy timeout of `SQLITE_PRAGMAS`, to restore after a non-blocking attempt.
pub(crate) const SQLITE_BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 10000";

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        let mut db = match &self.backend {
            Backend::Postgres { url } => {
                let mut c =
                    PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
                // No statement may hold a connection (and its locks) for long, whatever the
                // filter: a runaway query is cancelled and the request answered.
                c.batch_execute(PG_SESSION)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                MultiConn::Pg(c)
            }
            Backend::Sqlite { path } => {
                // A new connection would open (or make) whatever file is at the path now:
                // not another file than the one this store opened (`Shared::file_in_place`).
                if !self.shared.file_in_place() {
                    return Err(diesel::r2d2::Error::ConnectionError(
                        diesel::ConnectionError::BadConnection(FILE_GONE.into()),
                    ));
                }
                let mut c = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                sqlite_pragmas(&mut c).map_err(diesel::r2d2::Error::QueryError)?;
                // Planner statistics, without which SQLite guesses ten users an organization
                // and walks them all rather than look a substring up in its trigram index
                // (docs/scim.md, "Filters and indexes"). Best effort, never waiting for the
                // write lock: a read-only or busy database keeps the statistics it has.
                let _ = c.batch_execute(SQLITE_OPTIMIZE);
                c.batch_execute(SQLITE_BUSY_TIMEOUT)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                // Logto's posix and similar_to searches (`store::regexp`).
                regexp::register(&mut c).map_err(diesel::r2d2::Error::QueryError)?;
                MultiConn::Sqlite(c)
            }
        };
        let health = Arc::new(ConnHealth::default());
        db.set_instrumentation(Counter {
            shared: self.shared.clone(),
            health: health.clone(),
        });
        Ok(Pooled {
            conn: DbConn {
                db,
                tx: TxContext {
                    depth: 0,
                    flattened: false,
                    written: None,
                    shared: self.shared.clone(),
                },
            },
            last_used: Instant::now(),
            broken: false,
            health,
            generation: self.generation.load(Ordering::Relaxed),
        })
    }

    fn is_valid(&self, c: &mut Pooled) -> Result<(), Self::Error> {
        if c.generation != self.generation.load(Ordering::Relaxed) {
            return Err(diesel::r2d2::Error::QueryError(
                diesel::result::Error::BrokenTransactionManager,
            ));
        }
        if c.last_used.elapsed() < ALIVE_WITHOUT_CHECK {
            return Ok(());
        }
        c.conn
            .db
            .batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)?;
        c.last_used = Instant::now();
        Ok(())
    }

    fn has_broken(&self, c: &mut Pooled) -> bool {
        c.broken
            || c.health.gone.load(Ordering::Relaxed)
            || c.health.cached.load(Ordering::Relaxed) > MAX_CACHED_STATEMENTS
            || <MultiConn as Connection>::TransactionManager::is_broken_transaction_manager(
                &mut c.conn.db,
            )
    }
}

/// HMAC keys by id, read from the database once per store: a key never changes once made
/// (a new key would get a new id), so caching it saves a query on every token and cursor.
#[derive(Default)]
pub struct KeyCache(RwLock<HashMap<String, Vec<u8>>>);

impl std::fmt::Debug for KeyCache {
    // Key ids only: the keys sign every access token and cursor.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self
            .0
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_tuple("KeyCache").field(&ids).finish()
    }
}

impl KeyCache {
    pub fn get(&self, conn: &mut DbConn, kid: &str) -> StoreResult<Option<Vec<u8>>> {
        if let Some(k) = self.0.read().ok().and_then(|m| m.get(kid).cloned()) {
            return Ok(Some(k));
        }
        let key = signing_keys::get(conn, kid)?;
        if let (Some(k), Ok(mut m)) = (&key, self.0.write()) {
            m.insert(kid.to_string(), k.clone());
        }
        Ok(key)
    }

    pub fn current(&self, conn: &mut DbConn) -> StoreResult<(String, Vec<u8>)> {
        if let Some(k) = self.get(conn, signing_keys::CURRENT_KEY_ID)? {
            return Ok((signing_keys::CURRENT_KEY_ID.to_string(), k));
        }
        let (kid, key) = signing_keys::current(conn)?;
        if let Ok(mut m) = self.0.write() {
            m.insert(kid.clone(), key.clone());
        }
        Ok((kid, key))
    }
}

/// The pool plus a gate sized to it: database work runs on tokio's blocking pool and never
/// waits for a connection while holding a blocking thread longer than it must; requests
/// beyond the pool wait in a bounded line (`gate`), and beyond that are refused.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<Manager>,
    permits: Arc<Gate>,
    size: usize,
    backend: Backend,
    /// Counters, the SQLite writers' turn, the page cache: shared with every connection.
    shared: Arc<Shared>,
    keys: Arc<KeyCache>,
    generation: Arc<AtomicU64>,
}

impl Store {
    pub fn connect(url: &str) -> Result<Store, String> {
        Store::connect_with(url, None)
    }

    /// `pool_size` overrides the default (8 on SQLite, 10 on PostgreSQL).
    pub fn connect_with(url: &str, pool_size: Option<u32>) -> Result<Store, String> {
        let backend = Backend::from_url(url)?;
        let size = pool_size.unwrap_or(match backend {
            Backend::Sqlite { .. } => 8,
            Backend::Postgres { .. } => 10,
        });
        if size == 0 {
            return Err("the database pool needs at least one connection".into());
        }
        let shared = Arc::new(Shared::default());
        let generation = Arc::new(AtomicU64::new(0));
        let manager = Manager {
            backend: backend.clone(),
            shared: shared.clone(),
            generation: generation.clone(),
        };
        // One connection now, so a database that cannot be opened (no such database, a
        // host that does not resolve, a folder the file cannot be made in, a file that is
        // not a database) is reported at once with the database's own reason, instead of
        // after the pool's five seconds of retries as a timeout.
        drop(r2d2::ManageConnection::connect(&manager).map_err(|e| connect_error(&backend, &e))?);
        if let Backend::Sqlite { path } = &backend {
            if path != ":memory:" && !path.starts_with("file:") {
                let path = std::path::PathBuf::from(path);
                if let Ok(id) = FileId::of(&path) {
                    let _ = shared.file.set((path, id));
                }
            }
        }
        let pool = r2d2::Pool::builder()
            .max_size(size)
            // No idle minimum: r2d2 would replenish it from a background thread, and a
            // process exiting while that thread is inside libpq/OpenSSL crashes at exit.
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .map_err(|e| format!("cannot open the {} database: {e}", backend.name()))?;
        Ok(Store {
            pool,
            permits: Arc::new(Gate::new(size as usize, QueueLimits::default())),
            size: size as usize,
            backend,
            shared,
            keys: Arc::new(KeyCache::default()),
            generation,
        })
    }

    /// Retire every pooled connection: each is replaced by a fresh one (with an empty
    /// statement cache) when next checked out. For operators after a database failover,
    /// and for tests that measure statement preparation from a cold cache.
    pub fn recycle(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// This store with another line in front of its pool (`--db-queue-depth`,
    /// `--db-queue-wait-ms`). Call before the store is shared: clones made earlier keep the
    /// old line.
    pub fn with_queue(mut self, limits: QueueLimits) -> Store {
        self.permits = Arc::new(Gate::new(self.size, limits));
        self
    }

    pub fn queue_limits(&self) -> QueueLimits {
        self.permits.limits()
    }

    /// Connections in use, requests waiting for one, requests refused since start.
    pub fn load(&self) -> GateLoad {
        self.permits.load()
    }

    pub fn stats(&self) -> &StoreStats {
        &self.shared.stats
    }

    /// Deep pages that sought to a sampled boundary, and sample sets built (`paging`).
    pub fn page_stats(&self) -> (u64, u64) {
        self.shared.pages.stats()
    }

    /// The signing keys of this database, cached.
    pub fn keys(&self) -> Arc<KeyCache> {
        self.keys.clone()
    }

    /// This store's schema registries: `configure` them with the schema files and the
    /// unknown-extension mode before serving.
    pub fn schema_cache(&self) -> Arc<schemas::SchemaCache> {
        self.shared.schemas.clone()
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// A connection for synchronous callers (the command line, migrations).
    pub fn conn(&self) -> StoreResult<Conn> {
        Ok(Conn(self.pool.get()?))
    }

    /// Run `f` with a pooled connection on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> StoreResult<T> + Send + 'static,
    {
        self.run_with(f).await
    }

    /// One trip to the blocking pool: take a permit, then on a blocking thread take a
    /// connection and run `f` on it. A panic in `f` is caught, logged and counted, and comes
    /// back as `StoreError::Panicked` (a 500), so the connection is answered instead of dropped.
    /// A connection that failed as if the database went away is checked and, if dead, retired.
    pub async fn run_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        self.run_trip(f).await.0
    }

    /// [`run_with`](Store::run_with), and what the trip wrote: the change events it recorded
    /// and committed (an event of a transaction that rolled back is not among them; a trip
    /// that panicked wrote nothing).
    pub async fn run_trip<T, E, F>(&self, f: F) -> (Result<T, E>, Vec<events::Written>)
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        let permit = match self.permits.enter().await {
            Ok(p) => p,
            Err(e) => return (Err(e.into()), Vec::new()),
        };
        let pool = self.pool.clone();
        let shared = self.shared.clone();
        shared.stats.trips.fetch_add(1, Ordering::Relaxed);
        let task = tokio::task::spawn_blocking(move || {
            // Held by the task, not the request: a client that goes away does not free a
            // permit while its work still holds a connection.
            let _permit = permit;
            on_connection(&pool, &shared, f)
        });
        match task.await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "database task failed");
                (Err(StoreError::Panicked.into()), Vec::new())
            }
        }
    }

    /// Whether [`run_read_here`](Store::run_read_here) runs its read where it is called:
    /// on SQLite, whose reads of a few indexed rows take microseconds and never wait for
    /// a lock (WAL), where the hand-off to a blocking thread and back costs more than the
    /// read. On PostgreSQL a read waits for a network round trip, which must not hold a
    /// runtime worker.
    pub fn reads_here(&self) -> bool {
        matches!(self.backend, Backend::Sqlite { .. })
    }

    /// [`run_trip`](Store::run_trip) for a *short* read — a few rows found by an index,
    /// answering one resource (GET by id, `userName eq`) — on the calling thread when
    /// [`reads_here`](Store::reads_here), else on the blocking pool. It takes a permit of the
    /// same line first, so a connection is free when it asks for one and it never waits for
    /// the pool on a runtime worker. `f` must not write anything that waits (the credential's
    /// once-a-minute touch does not wait on SQLite: `credentials::touch_if_stale`).
    pub async fn run_read_here<T, E, F>(&self, f: F) -> (Result<T, E>, Vec<events::Written>)
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        if !self.reads_here() {
            return self.run_trip(f).await;
        }
        let _permit = match self.permits.enter().await {
            Ok(p) => p,
            Err(e) => return (Err(e.into()), Vec::new()),
        };
        self.shared.stats.trips.fetch_add(1, Ordering::Relaxed);
        self.shared.stats.trips_here.fetch_add(1, Ordering::Relaxed);
        on_connection(&self.pool, &self.shared, f)
    }

    /// Apply pending migrations. On PostgreSQL an advisory lock keeps instances that start
    /// together from running them twice.
    pub fn migrate(&self) -> Result<usize, String> {
        let mut conn = self.conn().map_err(|e| e.to_string())?;
        run_migrations(&mut conn)
    }

    /// The tables of a database that is not Muster's: it has tables, but no record of
    /// Muster's first migration (diesel's `__diesel_schema_migrations` is missing, or
    /// another application's). Empty for an empty database or Muster's own.
    pub fn foreign_tables(&self) -> Result<Vec<String>, String> {
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let mut conn = self.conn().map_err(|e| e.to_string())?;
        let sql = match self.backend {
            Backend::Sqlite { .. } => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            }
            Backend::Postgres { .. } => {
                "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() ORDER BY 1"
            }
        };
        let tables: Vec<String> = diesel::sql_query(sql)
            .load::<Name>(conn.db())
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|n| n.name)
            .collect();
        // Diesel's table alone is a migration another process has begun (its tables are not
        // visible until it commits): Muster's.
        if tables.iter().all(|t| t == "__diesel_schema_migrations") {
            return Ok(Vec::new());
        }
        if tables.iter().any(|t| t == "__diesel_schema_migrations") {
            let first = first_migration_version(&self.backend);
            let ours: Vec<Name> = diesel::sql_query(format!(
                "SELECT version AS name FROM __diesel_schema_migrations WHERE version = '{first}'"
            ))
            .load(conn.db())
            .map_err(|e| e.to_string())?;
            if !ours.is_empty() {
                return Ok(Vec::new());
            }
        }
        Ok(tables)
    }

    /// Is the database reachable (and, for SQLite, is the file it opened still the one at
    /// its path)?
    pub fn ready(&self) -> StoreResult<()> {
        if let Backend::Sqlite { path } = &self.backend {
            if path != ":memory:" && !std::path::Path::new(path).exists() {
                return Err(StoreError::Busy(
                    "the SQLite database file is gone".to_string(),
                ));
            }
        }
        if !self.shared.file_in_place() {
            return Err(StoreError::Unwritable(FILE_GONE.into()));
        }
        let mut conn = self
            .pool
            .get_timeout(Duration::from_secs(2))
            .map_err(StoreError::from)?;
        let alive = conn
            .conn
            .db
            .batch_execute("SELECT 1")
            .map_err(StoreError::from);
        if alive.is_err() {
            conn.broken = true;
        }
        alive
    }
}

/// The body of a trip: take a connection and run `f` on it. A panic in `f` is caught, logged
/// and counted, and comes back as `StoreError::Panicked` (a 500), so the connection is
/// answered instead of dropped; the connection it panicked on is retired.
fn on_connection<T, E, F>(
    pool: &r2d2::Pool<Manager>,
    shared: &Shared,
    f: F,
) -> (Result<T, E>, Vec<events::Written>)
where
    E: From<StoreError>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    let mut pooled = match pool.get() {
        Ok(p) => p,
        Err(e) => return (Err(StoreError::from(e).into()), Vec::new()),
    };
    let conn = &mut pooled.conn;
    conn.tx.begin_trip();
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *conn)));
    let written = conn.tx.written.take().unwrap_or_default();
    pooled.last_used = Instant::now();
    match out {
        Ok(result) => (result, written),
        Err(panic) => {
            pooled.broken = true;
            shared.stats.panics.fetch_add(1, Ordering::Relaxed);
            tracing::error!(panic = %panic_message(panic.as_ref()), "panic on a database trip");
            (Err(StoreError::Panicked.into()), Vec::new())
        }
    }
}

/// The version diesel records for Muster's first migration on `backend`.
fn first_migration_version(backend: &Backend) -> String {
    use diesel::migration::MigrationSource;
    let versions: Vec<String> = match backend {
        Backend::Sqlite { .. } => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
                .unwrap_or_default()
        }
        Backend::Postgres { .. } => MigrationSource::<diesel::pg::Pg>::migrations(&PG_MIGRATIONS)
            .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
            .unwrap_or_default(),
    };
    versions.into_iter().min().unwrap_or_default()
}

const FILE_GONE: &str = "the SQLite database file was deleted or replaced since the server \
     opened it; restart the server to open the file now at its path";

/// The reason a database could not be opened, with a hint where SQLite's words are terse.
fn connect_error(backend: &Backend, e: &diesel::r2d2::Error) -> String {
    let text = e.to_string().trim().to_string();
    if !matches!(backend, Backend::Sqlite { .. }) {
        return text;
    }
    let lower = text.to_ascii_lowercase();
    let hint = if lower.contains("unable to open") {
        " (does its folder exist, and may this user write there? SQLite makes the file and \
         its -wal and -shm files beside it)"
    } else if lower.contains("readonly database") {
        " (the file or its folder is read-only to this user)"
    } else if lower.contains("file is not a database") {
        " (it is not an SQLite database, or it is damaged)"
    } else if lower.contains("malformed") {
        " (the file is damaged)"
    } else {
        ""
    };
    format!("{text}{hint}")
}

/// The text of a caught panic, cut to 500 characters: it may quote input.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    const MAX: usize = 500;
    let text = if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.as_str()
    } else {
        "(no message)"
    };
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

/// A pooled connection for synchronous callers; derefs to the connection.
pub struct Conn(r2d2::PooledConnection<Manager>);

impl std::ops::Deref for Conn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.0.conn
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.0.conn
    }
}

const MIGRATION_LOCK_KEY: i64 = 0x6d75_7374_6572; // "muster"

fn run_migrations(conn: &mut DbConn) -> Result<usize, String> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| e.to_string();
    match &mut conn.db {
        // One process migrates a file at a time: the whole run is one `BEGIN IMMEDIATE`
        // transaction, which takes the write lock before diesel reads what is pending (a
        // second process waits out the busy timeout instead of reading a snapshot the first
        // one's commits make stale, which SQLite refuses at once without waiting) and then
        // finds nothing to do. A failed attempt is retried a few times all the same.
        MultiConn::Sqlite(c) => {
            let mut attempt = 0;
            loop {
                let run = c.immediate_transaction(|c| {
                    c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len())
                });
                match run {
                    Ok(n) => return Ok(n),
                    Err(e) if attempt < 5 => {
                        tracing::debug!(error = %e, "retrying SQLite migrations");
                        attempt += 1;
                        std::thread::sleep(Duration::from_millis(100 * attempt));
                    }
                    Err(e) => return Err(err(e)),
                }
            }
        }
        MultiConn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .map_err(|e| e.to_string())?;
            let result = c
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|v| v.len())
                .map_err(err);
            let _ = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
            result
        }
    }
}

/// Run `f` in a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so a
/// transaction that reads before it writes takes the write lock up front instead of failing
/// with "database is locked" when it upgrades.
///
/// Inside a transaction already, `f` runs in a savepoint of its own, unless the caller
/// flattened nested transactions ([`flattened`]): then it runs in the enclosing one.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    E: From<StoreError>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    let flatten = conn.tx.flattened;
    transaction(conn, f, flatten)
}

/// Run `f` in a savepoint of the enclosing transaction (or a transaction of its own when
/// there is none), whether or not nested transactions are [`flattened`].
pub fn savepoint<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    E: From<StoreError>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    transaction(conn, f, false)
}

/// Whether a write transaction ([`write_tx`], [`savepoint`]) is open on `conn`.
pub fn in_write_tx(conn: &DbConn) -> bool {
    conn.tx.depth > 0
}

/// Note a password hashed at this point on `conn`: when a write transaction is open there,
/// the slow hash held its locks (SQLite's one writer) meanwhile, which no path should do.
/// Counted per store, for `muster_passwords_hashed_in_transaction_total` and the tests.
pub fn note_hashing(conn: &DbConn) {
    if in_write_tx(conn) {
        conn.tx
            .shared
            .stats
            .hashed_in_transaction
            .fetch_add(1, Ordering::Relaxed);
        tracing::warn!("a password was hashed inside a write transaction");
    }
}

/// Run `f` with every nested [`write_tx`] on `conn` flattened into the transaction that
/// encloses it (no savepoint of its own): for a caller that undoes that whole transaction,
/// or its own [`savepoint`], whenever `f` or anything in it fails (SCIM Bulk).
pub fn flattened<T>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> T) -> T {
    // Not restored if `f` panics: a trip that panicked retires its connection, and the
    // next trip on a connection starts with a fresh context.
    let was = std::mem::replace(&mut conn.tx.flattened, true);
    let out = f(conn);
    conn.tx.flattened = was;
    out
}

fn transaction<T, E, F>(conn: &mut DbConn, f: F, flatten: bool) -> Result<T, E>
where
    E: From<StoreError>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    type Tm = <MultiConn as Connection>::TransactionManager;
    let nested = Tm::transaction_manager_status_mut(&mut conn.db)
        .transaction_depth()
        .map_err(StoreError::from)?
        .is_some();
    if nested && flatten {
        return f(conn);
    }
    // SQLite has one writer at a time: writers of this store take turns on a mutex (woken
    // the moment the writer before them ends) instead of in SQLite's busy handler, which
    // sleeps in steps of up to 100 ms. Bounded like the busy timeout; past it the
    // transaction goes ahead and SQLite's own lock decides.
    let shared = match conn.db {
        MultiConn::Sqlite(_) if !nested => Some(conn.tx.shared.clone()),
        _ => None,
    };
    if shared
        .as_ref()
        .is_some_and(|s| s.file_gone.load(Ordering::Relaxed))
    {
        return Err(StoreError::Unwritable(FILE_GONE.into()).into());
    }
    let _writer = shared
        .as_ref()
        .and_then(|s| s.writer.try_lock_for(Duration::from_secs(10)));
    let begun = match &mut conn.db {
        // Inside a transaction already: a savepoint.
        db if nested => Tm::begin_transaction(db),
        MultiConn::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")
        }
        db @ MultiConn::Pg(_) => Tm::begin_transaction(db),
    };
    begun.map_err(StoreError::from)?;
    let mark = conn.tx.written_len();
    conn.tx.depth += 1;
    let out = f(conn);
    // A SQLite file deleted or replaced since it was opened would take the write and lose
    // it at the next start: refused instead (one stat, on the outermost transaction only).
    let out = match out {
        Ok(_) if shared.as_ref().is_some_and(|s| !s.file_in_place()) => {
            Err(StoreError::Unwritable(FILE_GONE.into()).into())
        }
        other => other,
    };
    let committed = match out {
        Ok(value) => Tm::commit_transaction(&mut conn.db)
            .map(|()| value)
            .map_err(|e| StoreError::from(e).into()),
        Err(e) => {
            let _ = Tm::rollback_transaction(&mut conn.db);
            Err(e)
        }
    };
    if committed.is_ok() && !nested {
        conn.tx.shared.note_committed();
    }
    conn.tx.depth -= 1;
    if committed.is_err() {
        conn.tx.unwrite(mark);
    }
    committed
}

/// Why a row is locked (PostgreSQL): a change takes `FOR NO KEY UPDATE`, which leaves
/// foreign-key checks on the row free; a delete takes `FOR UPDATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockFor {
    Change,
    Delete,
}

/// A random positive 63-bit id: no coordination between instances, nothing to enumerate.
pub fn new_id() -> i64 {
    use rand::Rng;
    rand::thread_rng().gen_range(1..=i64::MAX)
}

/// Now, in UTC, truncated to microseconds (PostgreSQL keeps no more; SQLite would).
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(now, chrono::Duration::microseconds(1)).unwrap_or(now)
}

/// How a list is ordered: by id, or by a sort key (SQL from `filter_sql::sort_key`) with the
/// id as tie-breaker. Missing keys sort last ascending, first descending.
#[derive(Debug, Clone, Default)]
pub struct Order {
    // Private: a caller names an order by its constructors (`search.rs`), never as SQL.
    key: Option<String>,
    descending: bool,
    /// The key is never NULL (a NOT NULL column, or a `COALESCE`): ordered by the key and
    /// the id alone, which an index on `(org_id, key, id)` serves on both backends.
    never_null: bool,
}

impl Order {
    fn sql(&self, id_col: &str) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        match &self.key {
            None => format!("{id_col} {dir}"),
            Some(k) if self.never_null => format!("{k} {dir}, {id_col} {dir}"),
            Some(k) => format!("({k}) IS NULL {dir}, {k} {dir}, {id_col} {dir}"),
        }
    }
}

/// Which rows of the ordered list: an offset page, or the rows after / before an id
/// (keyset paging; only with the id order).
#[derive(Debug, Clone, Copy)]
pub enum Window {
    Offset { offset: i64, limit: i64 },
    After { id: Option<i64>, limit: i64 },
    Before { id: i64, limit: i64 },
}

/// A window as SQL: an extra condition (keyset), the ORDER BY, offset and limit, and whether
/// the fetched rows come back reversed (paging backwards).
pub(crate) struct WindowSql {
    pub filter: Option<raw::Raw>,
    pub order: raw::RawOrder,
    pub offset: i64,
    pub limit: i64,
    pub reverse: bool,
}

impl Window {
    pub(crate) fn sql(self, order: &Order, id_col: &str) -> WindowSql {
        use raw::{Bind, Raw, RawOrder};
        let keyset = |op: &str, id: i64| Raw::sql(format!("{id_col} {op} ")).bind(Bind::Int(id));
        match self {
            Window::Offset { offset, limit } => WindowSql {
                filter: None,
                order: RawOrder(order.sql(id_col)),
                offset,
                limit,
                reverse: false,
            },
            Window::After { id, limit } => WindowSql {
                filter: id.map(|id| keyset(if order.descending { "<" } else { ">" }, id)),
                order: RawOrder(order.sql(id_col)),
                offset: 0,
                limit,
                reverse: false,
            },
            Window::Before { id, limit } => WindowSql {
                filter: Some(keyset(if order.descending { ">" } else { "<" }, id)),
                order: RawOrder(
                    Order {
                        key: None,
                        descending: !order.descending,
                        never_null: false,
                    }
                    .sql(id_col),
                ),
                offset: 0,
                limit,
                reverse: true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn db_error(kind: DatabaseErrorKind, message: &str) -> StoreError {
        StoreError::from(Error::DatabaseError(kind, Box::new(message.to_string())))
    }

    /// A full disk is a 503 (`Unwritable`) on both backends, not a 500: SQLite's
    /// SQLITE_FULL and PostgreSQL's disk_full (SQLSTATE 53100) as diesel reports them.
    #[test]
    fn a_full_disk_is_unwritable_on_both_backends() {
        for message in [
            "database or disk is full",
            "could not extend file \"base/16384/16397\": No space left on device",
            "could not write to file \"pg_wal/xlogtemp.123\": No space left on device",
        ] {
            assert!(
                matches!(
                    db_error(DatabaseErrorKind::Unknown, message),
                    StoreError::Unwritable(ref m) if m.contains(message)
                ),
                "{message}"
            );
        }
        assert!(matches!(
            db_error(DatabaseErrorKind::Unknown, "syntax error at or near \"x\""),
            StoreError::Db(_)
        ));
        assert!(matches!(
            crate::directory::seam::Failure::from(StoreError::Unwritable("full".into())),
            crate::directory::seam::Failure::Busy
        ));
    }

    #[test]
    fn the_first_migration_is_found_on_both_backends() {
        let sqlite = first_migration_version(&Backend::Sqlite {
            path: "x.db".into(),
        });
        let pg = first_migration_version(&Backend::Postgres {
            url: "postgres://x/y".into(),
        });
        assert_eq!(sqlite, "20261122000001");
        assert_eq!(pg, sqlite);
    }
}
