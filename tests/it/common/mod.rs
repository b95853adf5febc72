//! The integration-test harness: the real server on a free port over real HTTP, against a
//! fresh database per test — a temporary SQLite file, or a new PostgreSQL database when
//! `MUSTER_TEST_POSTGRES_URL` names a server (e.g. `postgres://postgres@127.0.0.1:5432/test`).
//! Each test is written once and instantiated for both backends by `both_backends!`.

#![allow(dead_code)]

pub mod console;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use muster::domain::{CredentialKind, OrgId, Scopes};
use muster::store::{self, Store};
use muster::{AppState, Config};
use serde_json::Value;

pub const PG_ENV: &str = "MUSTER_TEST_POSTGRES_URL";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub const SCIM_CT: &str = "application/scim+json";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// The PostgreSQL backend, if the environment names a server. When it does not, the
    /// PostgreSQL half of each test says so and passes; `.ci/run` always sets it.
    pub fn postgres() -> Option<Backend> {
        match std::env::var(PG_ENV) {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                eprintln!("{PG_ENV} is not set: PostgreSQL half skipped");
                None
            }
        }
    }
}

/// Instantiate each async test fn `name(Backend)` as `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(b) = $crate::common::Backend::postgres() {
                        super::$name(b).await
                    }
                }
            }
        )*
    };
}

/// A fresh, empty database; dropped (PostgreSQL) or deleted (SQLite) at the end.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pub sqlite_path: Option<std::path::PathBuf>,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn new(backend: &Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("muster.db");
                TestDb {
                    url: format!("sqlite://{}", path.display()),
                    backend: backend.clone(),
                    sqlite_path: Some(path),
                    _dir: Some(dir),
                    pg: None,
                }
            }
            Backend::Postgres(admin_url) => {
                let name = format!(
                    "muster_t_{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..16]
                );
                let mut conn = diesel::PgConnection::establish(admin_url)
                    .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin_url}: {e}"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let mut url = url::Url::parse(admin_url).expect("valid PostgreSQL URL");
                url.set_path(&format!("/{name}"));
                TestDb {
                    url: url.to_string(),
                    backend: backend.clone(),
                    sqlite_path: None,
                    _dir: None,
                    pg: Some((admin_url.clone(), name)),
                }
            }
        }
    }

    /// The same database, for another server (a second instance): dropping it drops nothing.
    pub fn shared(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            backend: self.backend.clone(),
            sqlite_path: self.sqlite_path.clone(),
            _dir: None,
            pg: None,
        }
    }

    /// Make the database disappear under a running server.
    pub fn destroy(&mut self) {
        if let Some(path) = &self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        if let Some((admin, name)) = self.pg.take() {
            drop_pg(&admin, &name);
        }
    }
}

fn drop_pg(admin: &str, name: &str) {
    if let Ok(mut conn) = diesel::PgConnection::establish(admin) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn);
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            drop_pg(&admin, &name);
        }
    }
}

/// The server, in this process, on 127.0.0.1 and a free port.
pub struct TestServer {
    pub base: String,
    pub store: Store,
    pub db: TestDb,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        TestServer::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_pooled(backend, None, tweak).await
    }

    /// With a pool of `pool` connections (default when `None`).
    pub async fn start_pooled(
        backend: Backend,
        pool: Option<u32>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        TestServer::start_queued(backend, pool, store::QueueLimits::default(), tweak).await
    }

    /// With a pool of `pool` connections and `limits` on the line in front of it.
    pub async fn start_queued(
        backend: Backend,
        pool: Option<u32>,
        limits: store::QueueLimits,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        TestServer::start_inner(backend, pool, limits, tweak, false).await
    }

    /// With the change-event tasks running (the sequencer and the deliverer, as `serve`
    /// runs them), webhooks allowed to reach 127.0.0.1, and short backoffs.
    /// Other servers run without them, so nothing but the request moves the counters the
    /// budget tests read.
    pub async fn start_events(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_inner(
            backend,
            None,
            store::QueueLimits::default(),
            |c| {
                events_config(c);
                tweak(c)
            },
            true,
        )
        .await
    }

    /// Another instance on this server's database, with the event tasks running (several
    /// instances on one PostgreSQL, as behind a load balancer).
    pub async fn another_instance(&self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let db = self.db.shared();
        TestServer::start_on(
            db,
            None,
            store::QueueLimits::default(),
            |c| {
                events_config(c);
                tweak(c)
            },
            true,
        )
        .await
    }

    async fn start_inner(
        backend: Backend,
        pool: Option<u32>,
        limits: store::QueueLimits,
        tweak: impl FnOnce(&mut Config),
        events: bool,
    ) -> TestServer {
        TestServer::start_on(TestDb::new(&backend), pool, limits, tweak, events).await
    }

    async fn start_on(
        db: TestDb,
        pool: Option<u32>,
        limits: store::QueueLimits,
        tweak: impl FnOnce(&mut Config),
        events: bool,
    ) -> TestServer {
        let store = Store::connect_with(&db.url, pool)
            .expect("connect")
            .with_queue(limits);
        let url = db.url.clone();
        let store2 = store.clone();
        tokio::task::spawn_blocking(move || {
            muster::server::prepare(&store2, Some(ADMIN_TOKEN))
                .unwrap_or_else(|e| panic!("prepare {url}: {e}"))
        })
        .await
        .expect("prepare task");
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let mut config = Config::for_base_url(&base).expect("config");
        tweak(&mut config);
        let state = AppState::new(config, store.clone());
        let tasks = if events {
            muster::events::spawn(state.clone())
        } else {
            vec![]
        };
        let app = muster::app(state);
        let acceptor = poem::listener::TcpAcceptor::from_std(std_listener).expect("poem acceptor");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    app,
                    async {
                        let _ = rx.await;
                    },
                    Some(Duration::from_secs(5)),
                )
                .await;
        });
        TestServer {
            base,
            store,
            db,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            shutdown: Some(tx),
            tasks,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stop this instance's event tasks at once, as if its process were killed: deliveries
    /// in flight end unrecorded (the server still answers requests).
    pub fn kill_events(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path))
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.delete(self.url(path))
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub fn patch(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::PATCH, path)
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::PUT, path)
    }

    /// Create an organization directly in the store (as `muster org create` does).
    pub async fn org(&self, id: &str, parent: Option<&str>) {
        let store = self.store.clone();
        let id = OrgId::parse(id).unwrap();
        let parent = parent.map(|p| OrgId::parse(p).unwrap());
        tokio::task::spawn_blocking(move || {
            let mut conn = store.conn().unwrap();
            store::orgs::create(&mut conn, &id, id.as_str(), parent.as_ref()).unwrap();
        })
        .await
        .unwrap();
    }

    /// Create a credential directly in the store (as `muster token|client create` does).
    pub async fn credential(
        &self,
        org: &str,
        kind: CredentialKind,
        id: &str,
        secret: &str,
        scopes: &str,
    ) {
        let store = self.store.clone();
        let (org, id, secret) = (
            OrgId::parse(org).unwrap(),
            id.to_string(),
            secret.to_string(),
        );
        let scopes = Scopes::parse(scopes).unwrap();
        tokio::task::spawn_blocking(move || {
            let mut conn = store.conn().unwrap();
            store::credentials::create(
                &mut conn,
                store::credentials::NewCredential {
                    id: &id,
                    org_id: &org,
                    kind,
                    label: "test",
                    secret: &secret,
                    scopes: &scopes,
                    user_id: None,
                    expires_at: None,
                },
            )
            .unwrap();
        })
        .await
        .unwrap();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The event tasks' settings for tests: webhooks may reach 127.0.0.1, short backoffs and
/// timeouts. The safety poll stays at its 30 s: the tasks are woken (in-process, and by
/// `LISTEN/NOTIFY` on PostgreSQL), and a test that passes does not lean on the poll.
fn events_config(c: &mut Config) {
    c.webhooks.allow_private = true;
    c.webhooks.base_backoff = Duration::from_millis(100);
    c.webhooks.max_backoff = Duration::from_millis(800);
    c.webhooks.timeout = Duration::from_secs(2);
}

/// Read a response as JSON, asserting its status first (and showing the body if it differs).
pub async fn json(resp: reqwest::Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

/// A SCIM request as the bootstrap admin, `path` under `/scim/v2`.
pub fn scim(s: &TestServer, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    s.http
        .request(method, s.url(&format!("/scim/v2{path}")))
        .bearer_auth(ADMIN_TOKEN)
}

/// A counter of the server's `/metrics` (unlabelled), which must be there.
pub async fn metric(s: &TestServer, name: &str) -> u64 {
    let text = s
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
        .trim()
        .parse()
        .unwrap()
}

/// `s` form-urlencoded, for a query string.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The header of a JWT.
pub fn jwt_header(token: &str) -> Value {
    use base64::Engine;
    let header = token.split('.').next().expect("a JWT has a header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url header");
    serde_json::from_slice(&bytes).expect("JSON header")
}

/// The claims of a JWT, without checking its signature.
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// A `muster` process (the real binary), killed when dropped.
pub struct Process {
    pub child: Child,
    pub base: String,
    pub stderr_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn muster_bin() -> &'static str {
    env!("CARGO_BIN_EXE_muster")
}

impl Process {
    /// Start `muster serve` with `args` and `env`, and wait until `/healthz` answers.
    pub async fn serve(db_url: &str, extra: &[&str], env: &[(&str, &str)]) -> Process {
        Process::serve_through(&[], db_url, extra, env).await
    }

    /// [`Process::serve`] through a `wrapper` command that ends by running the rest of its
    /// arguments (`unshare -m sh -c '…; exec "$@"' sh`, say); none when empty.
    pub async fn serve_through(
        wrapper: &[&str],
        db_url: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Process {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let stderr_path = dir.path().join("stderr.log");
        let https = extra.contains(&"--tls-cert");
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(muster_bin());
                c
            }
            None => Command::new(muster_bin()),
        };
        cmd.arg("serve")
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .env("DATABASE_URL", db_url)
            .env("MUSTER_BCRYPT_COST", "4")
            .env("MUSTER_ALLOW_WEAK_BCRYPT", "true")
            .env("RUST_LOG", "info")
            .env_remove("MUSTER_BOOTSTRAP_TOKEN")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn muster");
        let scheme = if https { "https" } else { "http" };
        let p = Process {
            child,
            base: format!("{scheme}://127.0.0.1:{port}"),
            stderr_path,
            _dir: dir,
        };
        if !https {
            p.wait_healthy().await;
        }
        p
    }

    pub async fn wait_healthy(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "muster did not become healthy; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cmd` (a `muster` command) with nothing of the test's own environment's database and
/// bootstrap settings, logging warnings only, reading nothing.
pub fn without_inherited_setup(cmd: &mut Command) -> &mut Command {
    cmd.env_remove("DATABASE_URL")
        .env_remove("MUSTER_BOOTSTRAP_TOKEN")
        .env_remove("MUSTER_BOOTSTRAP_TOKEN_FILE")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
}

/// Run the `muster` command line against `db_url`; returns (exit ok, stdout, stderr).
pub fn cli(db_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(muster_bin())
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run muster");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        format!("{}\n[{}]", String::from_utf8_lossy(&out.stderr), out.status),
    )
}

pub fn kind_token() -> CredentialKind {
    CredentialKind::Token
}

pub fn kind_client() -> CredentialKind {
    CredentialKind::Client
}

#[derive(diesel::QueryableByName)]
struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

/// Run `sql` (one `text` column) on the test database, on its own connection.
pub fn query_text(db: &TestDb, sql: &str) -> Vec<String> {
    let rows: Vec<TextRow> = match &db.sqlite_path {
        Some(path) => {
            let mut c = diesel::SqliteConnection::establish(&path.display().to_string())
                .expect("open the SQLite file");
            diesel::sql_query(sql).load(&mut c)
        }
        None => {
            let mut c = diesel::PgConnection::establish(&db.url).expect("connect");
            diesel::sql_query(sql).load(&mut c)
        }
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|r| r.text).collect()
}

/// The tables that have a column `column` (found in the database itself).
pub fn tables_with_column(db: &TestDb, column: &str) -> Vec<String> {
    let sql = match db.sqlite_path {
        Some(_) => format!(
            "SELECT m.name AS text FROM sqlite_master m WHERE m.type = 'table' AND \
             EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = '{column}') \
             ORDER BY 1"
        ),
        None => format!(
            "SELECT CAST(table_name AS TEXT) AS text FROM information_schema.columns \
             WHERE table_schema = 'public' AND column_name = '{column}' ORDER BY 1"
        ),
    };
    query_text(db, &sql)
}

/// Every row of `table` matching `condition` (SQL), each as `table:col1|col2|...` text, sorted;
/// `skip` columns left out.
pub fn rows_as_text_except(
    db: &TestDb,
    table: &str,
    condition: &str,
    skip: &[&str],
) -> Vec<String> {
    let sql = match db.sqlite_path {
        Some(_) => format!("SELECT name AS text FROM pragma_table_info('{table}')"),
        None => format!(
            "SELECT CAST(column_name AS TEXT) AS text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
        ),
    };
    let columns = query_text(db, &sql);
    assert!(!columns.is_empty(), "no table {table}");
    let expr = columns
        .iter()
        .filter(|c| !skip.contains(&c.as_str()))
        .map(|c| format!("COALESCE(CAST({c} AS TEXT), '<null>')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let mut rows = query_text(
        db,
        &format!("SELECT ('{table}:' || {expr}) AS text FROM {table} WHERE {condition}"),
    );
    rows.sort();
    rows
}

pub fn rows_as_text(db: &TestDb, table: &str, condition: &str) -> Vec<String> {
    rows_as_text_except(db, table, condition, &[])
}
