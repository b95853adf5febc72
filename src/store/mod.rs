//! Everything diesel: the schema, the connection that serves both backends, the pool, the
//! migrations, and one module per aggregate. Nothing above this module sees diesel.

pub mod audit;
pub mod credentials;
pub mod filter_sql;
pub mod groups;
pub mod orgs;
pub mod raw;
pub mod schema;
pub mod signing_keys;
pub mod usage;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use tokio::sync::Semaphore;

/// One connection type for both backends; every query in `store/` is written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
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
    /// The request names something that cannot be (an unknown group member, say).
    #[error("{0}")]
    Invalid(String),
    #[error("the database is busy or unreachable: {0}")]
    Busy(String),
    #[error("database error: {0}")]
    Db(#[source] diesel::result::Error),
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
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().contains("database is locked") =>
            {
                StoreError::Busy(info.message().to_string())
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

/// An r2d2 manager that picks the backend from the URL and reports the real connection error
/// (diesel's derived `establish` hides it), and sets SQLite's pragmas on every connection.
#[derive(Debug, Clone)]
pub struct Manager {
    backend: Backend,
}

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA case_sensitive_like = ON;";

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match &self.backend {
            Backend::Postgres { url } => PgConnection::establish(url)
                .map(DbConn::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite { path } => {
                let mut c = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                c.batch_execute(SQLITE_PRAGMAS)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// The pool plus a semaphore sized to it: database work runs on tokio's blocking pool and
/// never waits for a connection while holding a blocking thread longer than it must.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<Manager>,
    permits: Arc<Semaphore>,
    backend: Backend,
}

impl Store {
    pub fn connect(url: &str) -> Result<Store, String> {
        let backend = Backend::from_url(url)?;
        let size = match backend {
            Backend::Sqlite { .. } => 8,
            Backend::Postgres { .. } => 10,
        };
        let pool = r2d2::Pool::builder()
            .max_size(size)
            // No idle minimum: r2d2 would replenish it from a background thread, and a
            // process exiting while that thread is inside libpq/OpenSSL crashes at exit.
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            .build(Manager {
                backend: backend.clone(),
            })
            .map_err(|e| format!("cannot open the {} database: {e}", backend.name()))?;
        Ok(Store {
            pool,
            permits: Arc::new(Semaphore::new(size as usize)),
            backend,
        })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// A connection for synchronous callers (the command line, migrations).
    pub fn conn(&self) -> StoreResult<r2d2::PooledConnection<Manager>> {
        Ok(self.pool.get()?)
    }

    /// Run `f` with a pooled connection on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> StoreResult<T> + Send + 'static,
    {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Busy(e.to_string()))?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Busy(format!("database task failed: {e}")))?
    }

    /// Apply pending migrations. On PostgreSQL an advisory lock keeps instances that start
    /// together from running them twice.
    pub fn migrate(&self) -> Result<usize, String> {
        let mut conn = self.conn().map_err(|e| e.to_string())?;
        run_migrations(&mut conn)
    }

    /// Is the database reachable (and, for SQLite, is its file still there)?
    pub fn ready(&self) -> StoreResult<()> {
        if let Backend::Sqlite { path } = &self.backend {
            if path != ":memory:" && !std::path::Path::new(path).exists() {
                return Err(StoreError::Busy(
                    "the SQLite database file is gone".to_string(),
                ));
            }
        }
        let mut conn = self
            .pool
            .get_timeout(Duration::from_secs(2))
            .map_err(StoreError::from)?;
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }
}

const MIGRATION_LOCK_KEY: i64 = 0x6d75_7374_6572; // "muster"

fn run_migrations(conn: &mut DbConn) -> Result<usize, String> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| e.to_string();
    match conn {
        // Two processes opening one SQLite file may both see a migration as pending; the
        // loser's CREATE fails once the winner commits, and a second look finds nothing to do.
        DbConn::Sqlite(c) => {
            let mut attempt = 0;
            loop {
                match c.run_pending_migrations(SQLITE_MIGRATIONS) {
                    Ok(v) => return Ok(v.len()),
                    Err(e) if attempt < 3 => {
                        tracing::debug!(error = %e, "retrying SQLite migrations");
                        attempt += 1;
                        std::thread::sleep(Duration::from_millis(100 * attempt));
                    }
                    Err(e) => return Err(err(e)),
                }
            }
        }
        DbConn::Pg(c) => {
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
pub fn write_tx<T, F>(conn: &mut DbConn, f: F) -> StoreResult<T>
where
    F: FnOnce(&mut DbConn) -> StoreResult<T>,
{
    type Tm = <DbConn as Connection>::TransactionManager;
    let nested = Tm::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_err(StoreError::from)?
        .is_some();
    match conn {
        // Inside a transaction already: a savepoint.
        _ if nested => Tm::begin_transaction(conn)?,
        DbConn::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConn::Pg(_) => Tm::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            let _ = Tm::rollback_transaction(conn);
            Err(e)
        }
    }
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
    pub key: Option<String>,
    pub descending: bool,
}

impl Order {
    fn sql(&self, id_col: &str) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        match &self.key {
            None => format!("{id_col} {dir}"),
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
