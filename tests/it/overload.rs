//! Overload: past the pool and the bounded line in front of it, requests are refused at once
//! with 503, `Retry-After` and the caller's dialect error shape; the server serves again as
//! soon as the load is gone. Deterministic without timing guesses: the test holds the
//! database's write lock from outside, so the server's writes hold their connections (the
//! pool is busy for as long as the test says), and it watches the line through the store.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use muster::domain::CredentialKind;
use muster::store::{GateLoad, QueueLimits};
use serde_json::{json, Value};

both_backends!(
    a_burst_past_the_line_is_refused_in_each_dialect_and_served_after,
    a_wait_that_runs_out_is_refused,
);

const POOL: u32 = 2;
const DEPTH: usize = 2;
const CLIENT: &str = "overload-client";
const SECRET: &str = "overload-client-secret-0123456789";

/// The database's write lock, held by the test: the server's writes wait for it (SQLite's
/// busy timeout and PostgreSQL's lock timeout are 10 s) holding their connections.
enum WriteLock {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

fn hold_write_lock(db: &TestDb) -> WriteLock {
    match &db.sqlite_path {
        Some(path) => {
            let mut c = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            c.batch_execute("BEGIN IMMEDIATE").unwrap();
            WriteLock::Sqlite(c)
        }
        None => {
            let mut c = diesel::PgConnection::establish(&db.url).unwrap();
            // Reads go on; INSERT and UPDATE on users wait.
            c.batch_execute("BEGIN; LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                .unwrap();
            WriteLock::Pg(c)
        }
    }
}

impl WriteLock {
    fn release(self) {
        match self {
            WriteLock::Sqlite(mut c) => c.batch_execute("ROLLBACK").unwrap(),
            WriteLock::Pg(mut c) => c.batch_execute("ROLLBACK").unwrap(),
        }
    }
}

/// Wait (polling the store's own figures, not guessing a duration) until `ok` holds.
async fn until(s: &TestServer, what: &str, ok: impl Fn(GateLoad) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok(s.store.load()) {
        assert!(
            Instant::now() < deadline,
            "{what}: still {:?} after 30 s",
            s.store.load()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

const DIALECTS: [&str; 7] = ["scim", "logto", "domo", "sumo", "adobe", "admin", "oauth"];

/// One read in `dialect`, authenticated as that dialect's clients are.
fn request(s: &TestServer, dialect: &str, adobe_token: &str) -> reqwest::RequestBuilder {
    match dialect {
        "scim" => s.get("/scim/v2/Users?count=1").bearer_auth(ADMIN_TOKEN),
        "logto" => s.get("/api/users").bearer_auth(ADMIN_TOKEN),
        "domo" => s.get("/v1/users").bearer_auth(ADMIN_TOKEN),
        "sumo" => s.get("/api/v1/users").basic_auth(CLIENT, Some(SECRET)),
        "adobe" => s
            .get("/v2/usermanagement/users/default/0")
            .bearer_auth(adobe_token)
            .header("X-Api-Key", CLIENT),
        "admin" => s.get("/admin/v1/whoami").bearer_auth(ADMIN_TOKEN),
        "oauth" => s
            .post("/oauth/token")
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[("grant_type", "client_credentials")]),
        other => unreachable!("{other}"),
    }
}

/// The 503 of an overloaded server, in `dialect`'s error shape, with `Retry-After`.
fn assert_overloaded(dialect: &str, path: &str, status: u16, retry: Option<&str>, body: &Value) {
    assert_eq!(status, 503, "{dialect}: {body}");
    assert_eq!(retry, Some("1"), "{dialect}: Retry-After");
    let message = unavailable_message(dialect, path, body);
    assert!(
        message.as_str().is_some_and(|m| m.contains("overloaded")),
        "{dialect}: {body}"
    );
}

/// A 503 body in `dialect`'s error shape (for a request to `path`): its message.
pub fn unavailable_message<'a>(dialect: &str, path: &str, body: &'a Value) -> &'a Value {
    match dialect {
        "scim" => {
            assert_eq!(
                body["schemas"],
                json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
                "{body}"
            );
            assert_eq!(body["status"], "503", "{body}");
            &body["detail"]
        }
        "logto" => {
            assert_eq!(body["code"], "request.general", "{body}");
            &body["message"]
        }
        "domo" => {
            assert_eq!(body["status"], 503, "{body}");
            assert_eq!(body["statusReason"], "Service Unavailable", "{body}");
            assert_eq!(body["path"], path, "{body}");
            assert!(
                body["toe"].as_str().is_some_and(|t| !t.is_empty()),
                "{body}"
            );
            &body["message"]
        }
        "sumo" => {
            assert!(body["id"].as_str().is_some(), "{body}");
            assert_eq!(body["errors"][0]["code"], "service.unavailable", "{body}");
            &body["errors"][0]["message"]
        }
        "adobe" => {
            assert_eq!(body["result"], "error.unavailable", "{body}");
            &body["message"]
        }
        "admin" => {
            assert!(
                matches!(body["code"].as_str(), Some("overloaded" | "unavailable")),
                "{body}"
            );
            &body["message"]
        }
        "oauth" => {
            assert_eq!(body["error"], "temporarily_unavailable", "{body}");
            &body["error_description"]
        }
        other => unreachable!("{other}"),
    }
}

/// Send `r`: (status, `Retry-After`, path, body as JSON or null).
pub async fn send(r: reqwest::RequestBuilder) -> (u16, Option<String>, String, Value) {
    let r = r.send().await.expect("the server answers");
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let path = r.url().path().to_string();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, retry, path, body)
}

async fn setup(s: &TestServer) -> String {
    s.credential("default", CredentialKind::Client, CLIENT, SECRET, "all")
        .await;
    let r = s
        .post("/ims/token/v3")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", "openid,AdobeID,user_management_sdk"),
        ])
        .send()
        .await
        .unwrap();
    json(r, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Writes that hold a connection each until the lock is released.
fn holders(s: &TestServer, n: usize) -> Vec<tokio::task::JoinHandle<(u16, Value)>> {
    (0..n)
        .map(|i| {
            let r = s
                .post("/scim/v2/Users")
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"userName": format!("holder-{i}@overload.example")}));
            tokio::spawn(async move {
                let (status, _, _, body) = send(r).await;
                (status, body)
            })
        })
        .collect()
}

async fn a_burst_past_the_line_is_refused_in_each_dialect_and_served_after(b: Backend) {
    let s = TestServer::start_queued(
        b,
        Some(POOL),
        QueueLimits {
            depth: DEPTH,
            wait: Duration::from_secs(60),
        },
        |_| {},
    )
    .await;
    let adobe_token = setup(&s).await;
    for d in DIALECTS {
        let (status, _, _, body) = send(request(&s, d, &adobe_token)).await;
        assert_eq!(status, 200, "{d} before the burst: {body}");
    }

    // Fill the pool and the line: POOL writes wait for the lock on their connections, DEPTH
    // more wait in line for a connection.
    let lock = hold_write_lock(&s.db);
    let held = holders(&s, POOL as usize + DEPTH);
    until(&s, "pool and line full", |l| {
        l.in_use == POOL as usize && l.waiting == DEPTH
    })
    .await;
    let refused_before = s.store.load().refused;

    // The burst: 5 requests in each dialect at once. Every one is refused at once (nothing
    // can finish while the lock is held, so the line stays full), in its own dialect.
    let burst: Vec<_> = (0..5)
        .flat_map(|_| DIALECTS)
        .map(|d| {
            let r = request(&s, d, &adobe_token);
            tokio::spawn(async move { (d, send(r).await) })
        })
        .collect();
    let mut refused = 0;
    for t in burst {
        let (d, (status, retry, path, body)) = t.await.unwrap();
        assert_overloaded(d, &path, status, retry.as_deref(), &body);
        refused += 1;
    }
    assert_eq!(refused, 5 * DIALECTS.len());
    let l = s.store.load();
    assert_eq!(l.refused - refused_before, refused as u64);
    assert_eq!((l.in_use, l.waiting), (POOL as usize, DEPTH), "{l:?}");
    let metrics = s
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!("muster_db_queue_waiting {DEPTH}\n")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("muster_db_connections_in_use {POOL}\n")),
        "{metrics}"
    );

    // Load gone: the writers that were served or waited all succeed...
    lock.release();
    for t in held {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "a held write: {body}");
        assert!(body["userName"]
            .as_str()
            .is_some_and(|n| n.starts_with("holder-")));
    }
    until(&s, "line empty", |l| l.in_use == 0 && l.waiting == 0).await;
    // ...and every dialect is served again at once.
    for d in DIALECTS {
        let (status, retry, _, body) = send(request(&s, d, &adobe_token)).await;
        assert_eq!(status, 200, "{d} after the burst: {body}");
        assert_eq!(retry, None);
    }
    let r = s
        .get("/scim/v2/Users?filter=userName%20sw%20%22holder-%22")
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(r, 200).await["totalResults"],
        POOL as usize + DEPTH,
        "each held write happened once"
    );
}

async fn a_wait_that_runs_out_is_refused(b: Backend) {
    let wait = Duration::from_millis(300);
    let s = TestServer::start_queued(b, Some(1), QueueLimits { depth: 8, wait }, |_| {}).await;
    let adobe_token = setup(&s).await;
    let lock = hold_write_lock(&s.db);
    let held = holders(&s, 1);
    until(&s, "the one connection held", |l| l.in_use == 1).await;
    // Room in line, but the connection is not freed in time: refused after the wait.
    let started = Instant::now();
    let (status, retry, path, body) = send(request(&s, "logto", &adobe_token)).await;
    assert_overloaded("logto", &path, status, retry.as_deref(), &body);
    assert!(started.elapsed() >= wait, "{:?}", started.elapsed());
    assert_eq!(s.store.load().waiting, 0);
    lock.release();
    let (status, body) = held.into_iter().next().unwrap().await.unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, _, _, body) = send(request(&s, "domo", &adobe_token)).await;
    assert_eq!(status, 200, "{body}");
}
