//! The SCIM query benchmark: seeds 100,000 users (by default) and measures, over real HTTP
//! against the real server, on SQLite and (when `MUSTER_BENCH_POSTGRES_URL` or
//! `MUSTER_TEST_POSTGRES_URL` names a server) PostgreSQL:
//! GET by id, `userName eq` and `externalId eq` lookups, an
//! `emails[type eq "work" and value co "..."]` query, a `meta.lastModified gt` query, sorted
//! pages, and full cursor walks at 25%, 50% and 100% of the directory (linear scaling).
//!
//! Run: `cargo bench --bench scim` (or `bench/run.sh`). `MUSTER_BENCH_USERS` sets the size.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use muster::domain::{id_to_hex, OrgId, Scopes};
use muster::store::{self, Store};
use muster::{AppState, Config};

const TOKEN: &str = "bench-admin-token-0123456789";

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Seed users `from..to` with plain multi-row INSERTs in one transaction (the bench measures
/// queries, not the write path). Every 7th user's `updated_at` is recent.
fn seed(store: &Store, from: usize, to: usize) -> Vec<i64> {
    let mut conn = store.conn().unwrap();
    let base = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let mut ids = Vec::with_capacity(to - from);
    let mut sql = String::from("BEGIN;");
    for chunk_start in (from..to).step_by(1000) {
        let end = (chunk_start + 1000).min(to);
        let mut users = String::from(
            "INSERT INTO users (id, org_id, user_name, user_name_lower, external_id, display_name, display_name_lower, name_given, name_family, active, custom_data, profile_extra, is_locked, mfa_enabled, version, created_at, updated_at) VALUES ",
        );
        let mut values = String::from(
            "INSERT INTO user_values (user_id, attribute, position, org_id, value, value_lower, type, is_primary) VALUES ",
        );
        for i in chunk_start..end {
            let id = (i as i64 + 1) * 7919 + 0x1000_0000;
            ids.push(id);
            let t = base + chrono::Duration::seconds(i as i64 * 60);
            let modified = if i % 100 == 7 {
                base + chrono::Duration::days(700)
            } else {
                t
            };
            let sep = if i == chunk_start { "" } else { "," };
            users.push_str(&format!(
                "{sep}({id}, 'default', 'user{i:06}@example.com', 'user{i:06}@example.com', 'ext-{i:06}', 'User {i:06}', 'user {i:06}', 'Given{}', 'Family{}', TRUE, '{{}}', '{{}}', FALSE, FALSE, 1, '{}', '{}')",
                i % 997,
                i % 1009,
                t.format("%Y-%m-%d %H:%M:%S"),
                modified.format("%Y-%m-%d %H:%M:%S")
            ));
            values.push_str(&format!(
                "{sep}({id}, 'emails', 0, 'default', 'user{i:06}@work{}.example', 'user{i:06}@work{}.example', 'work', TRUE)",
                i % 50,
                i % 50
            ));
        }
        sql.push_str(&users);
        sql.push(';');
        sql.push_str(&values);
        sql.push(';');
    }
    sql.push_str("COMMIT;");
    conn.db().batch_execute(&sql).unwrap();
    let analyze = match store.backend() {
        store::Backend::Sqlite { .. } => "ANALYZE; PRAGMA optimize;",
        store::Backend::Postgres { .. } => "ANALYZE users; ANALYZE user_values;",
    };
    conn.db().batch_execute(analyze).unwrap();
    ids
}

struct Stats {
    median: Duration,
    p95: Duration,
}

fn stats(mut d: Vec<Duration>) -> Stats {
    d.sort();
    Stats {
        median: d[d.len() / 2],
        p95: d[(d.len() * 95 / 100).min(d.len() - 1)],
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

async fn time_get(http: &reqwest::Client, url: &str, expect_total: Option<i64>) -> Duration {
    let started = Instant::now();
    let r = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    let body: serde_json::Value = r.json().await.unwrap();
    let elapsed = started.elapsed();
    if let Some(t) = expect_total {
        assert_eq!(body["totalResults"], t, "{url}");
    }
    elapsed
}

async fn walk(http: &reqwest::Client, base: &str, expected: usize) -> Duration {
    let started = Instant::now();
    let mut cursor = String::new();
    let mut seen = 0;
    loop {
        let url = format!(
            "{base}/scim/v2/Users?count=1000&attributes=userName&cursor={}",
            url_encode(&cursor)
        );
        let body: serde_json::Value = http
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen += body["Resources"].as_array().unwrap().len();
        match body.get("nextCursor").and_then(|c| c.as_str()) {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    started.elapsed()
}

async fn run(backend: &str, url: String, users: usize) {
    let store = Store::connect(&url).unwrap();
    let s2 = store.clone();
    tokio::task::spawn_blocking(move || muster::server::prepare(&s2, Some(TOKEN)).unwrap())
        .await
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut config = Config::for_base_url(&base).unwrap();
    config.max_body_bytes = 1 << 20;
    let app = muster::app(AppState::new(config, store.clone()));
    let acceptor = poem::listener::TcpAcceptor::from_std(listener).unwrap();
    tokio::spawn(async move { poem::Server::new_with_acceptor(acceptor).run(app).await });
    let http = reqwest::Client::new();
    let _ = OrgId::parse("default").unwrap();
    let _ = Scopes::all();

    // Cursor walks at a quarter, half and all of the directory: linear scaling.
    let mut walks = Vec::new();
    let mut ids = Vec::new();
    let mut seeded = 0;
    let seed_started = Instant::now();
    for size in [users / 4, users / 2, users] {
        let st = store.clone();
        let (from, to) = (seeded, size);
        ids.extend(
            tokio::task::spawn_blocking(move || seed(&st, from, to))
                .await
                .unwrap(),
        );
        seeded = size;
        let d = walk(&http, &base, size).await;
        walks.push((size, d));
    }
    let seed_time = seed_started.elapsed();

    let n = 200;
    let mut by_id = Vec::new();
    let mut by_name = Vec::new();
    let mut by_ext = Vec::new();
    let mut by_email = Vec::new();
    for k in 0..n {
        let i = (k * 7_919) % users;
        by_id.push(
            time_get(
                &http,
                &format!("{base}/scim/v2/Users/{}", id_to_hex(ids[i])),
                None,
            )
            .await,
        );
        let f = format!("userName eq \"USER{i:06}@example.com\"");
        by_name.push(
            time_get(
                &http,
                &format!("{base}/scim/v2/Users?filter={}", url_encode(&f)),
                Some(1),
            )
            .await,
        );
        let f = format!("externalId eq \"ext-{i:06}\"");
        by_ext.push(
            time_get(
                &http,
                &format!("{base}/scim/v2/Users?filter={}", url_encode(&f)),
                Some(1),
            )
            .await,
        );
        let f = format!(
            "emails[type eq \"work\"].value eq \"user{i:06}@work{}.example\"",
            i % 50
        );
        let url = format!("{base}/scim/v2/Users?filter={}", url_encode(&f));
        by_email.push(time_get(&http, &url, Some(1)).await);
    }
    let mut email_co = Vec::new();
    let mut modified = Vec::new();
    let mut sorted_first = Vec::new();
    let mut sorted_deep = Vec::new();
    for k in 0..20 {
        let i = (k * 4_001) % users;
        let f = format!("emails[type eq \"work\" and value co \"{i:06}@work\"]");
        email_co.push(
            time_get(
                &http,
                &format!("{base}/scim/v2/Users?filter={}", url_encode(&f)),
                Some(1),
            )
            .await,
        );
        let f = "meta.lastModified gt \"2026-01-01T00:00:00Z\"";
        modified.push(
            time_get(
                &http,
                &format!("{base}/scim/v2/Users?count=100&filter={}", url_encode(f)),
                Some((users / 100) as i64),
            )
            .await,
        );
        sorted_first.push(
            time_get(
                &http,
                &format!("{base}/scim/v2/Users?sortBy=displayName&count=100"),
                None,
            )
            .await,
        );
        sorted_deep.push(time_get(&http, &format!("{base}/scim/v2/Users?sortBy=name.givenName&sortOrder=descending&startIndex={}&count=100", users / 2), None).await);
    }
    let (id_s, name_s, ext_s) = (stats(by_id), stats(by_name), stats(by_ext));
    println!(
        "\n### {backend}: {users} users (seeded in {:.1} s)\n",
        seed_time.as_secs_f64()
    );
    println!("| query | median ms | p95 ms |");
    println!("| --- | --- | --- |");
    println!(
        "| GET /Users/{{id}} | {} | {} |",
        ms(id_s.median),
        ms(id_s.p95)
    );
    println!(
        "| filter userName eq | {} | {} |",
        ms(name_s.median),
        ms(name_s.p95)
    );
    println!(
        "| filter externalId eq | {} | {} |",
        ms(ext_s.median),
        ms(ext_s.p95)
    );
    for (label, d) in [
        (
            "filter emails[type eq \"work\"].value eq (Entra's match)",
            by_email,
        ),
        (
            "filter emails[type eq \"work\" and value co \"...\"]",
            email_co,
        ),
        (
            "filter meta.lastModified gt (1% match, count=100)",
            modified,
        ),
        ("sortBy=displayName, first page of 100", sorted_first),
        (
            "sortBy=name.givenName descending, page at the middle",
            sorted_deep,
        ),
    ] {
        let st = stats(d);
        println!("| {label} | {} | {} |", ms(st.median), ms(st.p95));
    }
    println!("\n| cursor walk (count=1000) | total s | µs per user |");
    println!("| --- | --- | --- |");
    for (size, d) in &walks {
        println!(
            "| {size} users | {:.2} | {:.1} |",
            d.as_secs_f64(),
            d.as_secs_f64() * 1e6 / *size as f64
        );
    }
    let ratio = name_s.median.as_secs_f64() / id_s.median.as_secs_f64();
    println!("\nuserName eq / GET by id (median): {ratio:.2}");
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let users: usize = std::env::var("MUSTER_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "Muster SCIM query benchmark — {} cores, {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        std::env::consts::ARCH
    );
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(run(
        "SQLite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
        users,
    ));
    let pg = std::env::var("MUSTER_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("MUSTER_TEST_POSTGRES_URL"))
        .ok();
    if let Some(admin) = pg {
        use diesel::{Connection, RunQueryDsl};
        let name = format!("muster_bench_{}", std::process::id());
        let mut c = diesel::PgConnection::establish(&admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        rt.block_on(run("PostgreSQL", url.to_string(), users));
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c);
    }
}
