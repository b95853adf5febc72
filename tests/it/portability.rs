//! `muster export`, `muster import` and `muster copy` through the real binary: a directory
//! seeded through several dialects moves to the other backend and every dialect reads it
//! back exactly as before; importing twice changes nothing; bad lines, newer formats and cut
//! dumps are refused with their reason; `copy` verifies counts and checksums.

use crate::common;

use std::io::Write;

use common::*;
use diesel::{Connection, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    a_directory_moves_to_the_other_backend_and_every_dialect_reads_it_the_same,
    a_bad_line_is_reported_by_number_and_nothing_of_its_batch_is_written,
    a_newer_format_a_foreign_file_and_a_cut_dump_are_refused,
    copy_moves_a_directory_and_verifies_counts_and_checksums,
    export_of_one_organization_takes_its_children_and_nothing_else,
);

const CLIENT: &str = "cli_port_test";
const SECRET: &str = "port-client-secret-0123456789";

/// The other backend: PostgreSQL for SQLite and the reverse (SQLite again when no
/// PostgreSQL server is named).
fn other(b: &Backend) -> Backend {
    match b {
        Backend::Sqlite => Backend::postgres().unwrap_or(Backend::Sqlite),
        Backend::Postgres(_) => Backend::Sqlite,
    }
}

fn run(url: &str, args: &[&str]) -> (String, String) {
    let (ok, out, err) = cli(url, args);
    assert!(ok, "muster {args:?} failed:\n{err}\n{out}");
    (out, err)
}

fn write_temp(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

/// A dump's lines after the header.
fn records(dump: &str) -> Vec<String> {
    dump.lines().skip(1).map(str::to_string).collect()
}

fn header(dump: &str) -> Value {
    serde_json::from_str(dump.lines().next().unwrap()).unwrap()
}

fn import_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn exec(db: &TestDb, sql: &str) {
    match &db.sqlite_path {
        Some(path) => {
            let mut c = diesel::SqliteConnection::establish(&path.display().to_string()).unwrap();
            diesel::sql_query(sql).execute(&mut c).unwrap();
        }
        None => {
            let mut c = diesel::PgConnection::establish(&db.url).unwrap();
            diesel::sql_query(sql).execute(&mut c).unwrap();
        }
    };
}

fn count(db: &TestDb, table: &str) -> i64 {
    query_text(
        db,
        &format!("SELECT CAST(COUNT(*) AS TEXT) AS text FROM {table}"),
    )[0]
    .parse()
    .unwrap()
}

/// What the tests seed: ids to read back.
struct Seeded {
    scim_users: Vec<String>,
    groups: Vec<String>,
    logto_user: String,
    child_org: String,
}

async fn call(
    _http: &reqwest::Client,
    req: reqwest::RequestBuilder,
    status: u16,
) -> (Value, Option<String>) {
    let r = req.send().await.unwrap();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string());
    (json(r, status).await, etag)
}

/// A directory made through SCIM (users with the enterprise extension and multi-valued
/// attributes, groups with a nested group), Logto (password, customData, an identity), Sumo
/// (a role, a child organization, a pending email change) and the admin API (credit usage).
async fn seed(s: &TestServer) -> Seeded {
    s.credential("default", kind_client(), CLIENT, SECRET, "all")
        .await;
    let h = &s.http;
    let scim = |m: Method, p: &str| {
        h.request(m, s.url(&format!("/scim/v2{p}")))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", SCIM_CT)
    };
    let mut scim_users = Vec::new();
    // Each with a phone of their own: primary phone numbers are unique in an organization.
    for (name, first, phone) in [
        ("bjensen", "Barbara", "555-555-5555"),
        ("jsmith", "John", "555-555-5556"),
    ] {
        let (u, _) = call(
            h,
            scim(Method::POST, "/Users").json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
                "userName": name,
                "externalId": format!("ext-{name}"),
                "name": {"givenName": first, "familyName": "Jensen", "formatted": format!("{first} Jensen")},
                "displayName": format!("{first} J"),
                "title": "Tour Guide",
                "preferredLanguage": "en-US",
                "timezone": "America/Los_Angeles",
                "password": "t1meMachine!",
                "emails": [{"value": format!("{name}@example.com"), "type": "work", "primary": true},
                           {"value": format!("{name}@home.example"), "type": "home"}],
                "phoneNumbers": [{"value": phone, "type": "work"}],
                "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza",
                               "locality": "Hollywood", "region": "CA", "postalCode": "91608",
                               "country": "USA", "primary": true}],
                ENT: {"employeeNumber": "701984", "costCenter": "4130", "organization": "Universal",
                      "division": "Theme Park", "department": "Tour Operations",
                      "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}
            })),
            201,
        )
        .await;
        scim_users.push(u["id"].as_str().unwrap().to_string());
    }
    // A change, so versions are past 1.
    call(
        h,
        scim(Method::PATCH, &format!("/Users/{}", scim_users[0])).json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Lead Guide"}]
        })),
        200,
    )
    .await;
    let (inner, _) = call(
        h,
        scim(Method::POST, "/Groups").json(&json!({
            "displayName": "Guides",
            "members": [{"value": scim_users[0]}, {"value": scim_users[1]}]
        })),
        201,
    )
    .await;
    let inner = inner["id"].as_str().unwrap().to_string();
    let (outer, _) = call(
        h,
        scim(Method::POST, "/Groups").json(&json!({
            "displayName": "Staff",
            "members": [{"value": inner, "type": "Group"}, {"value": scim_users[1]}]
        })),
        201,
    )
    .await;
    let outer = outer["id"].as_str().unwrap().to_string();

    // Logto: a password, custom data, an identity.
    let logto = |m: Method, p: &str| h.request(m, s.url(p)).bearer_auth(ADMIN_TOKEN);
    let (l, _) = call(
        h,
        logto(Method::POST, "/api/users").json(&json!({
            "username": "alice", "password": "Wonderland-42", "primaryEmail": "alice@example.com",
            "name": "Alice L", "customData": {"plan": "gold", "seats": 3, "tags": ["a", "b"]}
        })),
        200,
    )
    .await;
    let logto_user = l["id"].as_str().unwrap().to_string();
    let r = logto(
        Method::PUT,
        &format!("/api/users/{logto_user}/identities/github"),
    )
    .json(&json!({"userId": "gh-1", "details": {"login": "alice", "id": 7}}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());

    // Sumo: a role held by a user, a child organization, a pending email change.
    let sumo = |m: Method, p: &str| {
        h.request(m, s.url(&format!("/api/v1{p}")))
            .basic_auth(CLIENT, Some(SECRET))
            .header("Accept", "application/json")
    };
    let (role, _) = call(
        h,
        sumo(Method::POST, "/roles").json(&json!({
            "name": "Analyst", "description": "reads dashboards",
            "filterPredicate": "_sourceCategory=prod", "users": [scim_users[1]],
            "capabilities": ["viewCollectors"]
        })),
        200,
    )
    .await;
    assert_eq!(role["users"], json!([scim_users[1]]));
    let r = sumo(
        Method::POST,
        &format!("/users/{}/email/requestChange", scim_users[1]),
    )
    .json(&json!({"email": "john.new@example.com"}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().await.unwrap());
    let (child, _) = call(
        h,
        sumo(Method::POST, "/organizations").json(&json!({
            "organizationName": "Child Co", "email": "admin@child.example",
            "firstName": "Chi", "lastName": "Ld", "deploymentId": "us2",
            "baselines": {"continuousIngest": 40000, "metrics": 60000}
        })),
        200,
    )
    .await;
    let child_org = child["orgId"].as_str().unwrap().to_string();
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let r = h
        .post(s.url(&format!(
            "/admin/v1/organizations/{child_org}/credit-usage"
        )))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!([
            {"date": today, "productVariable": "continuousIngest", "creditsUsed": 1000.25, "unit": "GB"},
            {"date": today, "productVariable": "metrics", "creditsUsed": 0.1, "unit": "DPM"}
        ]))
        .send()
        .await
        .unwrap();
    json(r, 201).await;
    Seeded {
        scim_users,
        groups: vec![inner, outer],
        logto_user,
        child_org,
    }
}

/// What every dialect answers about the seeded directory, with the server's base URL
/// replaced (the two servers listen on different ports).
async fn readings(base: &str, seeded: &Seeded) -> Vec<(String, Value, Option<String>)> {
    let h = reqwest::Client::new();
    let mut out = Vec::new();
    let norm = |v: Value| -> Value {
        serde_json::from_str(&v.to_string().replace(base, "http://BASE")).unwrap()
    };
    let mut read = |what: String, v: Value, etag: Option<String>| out.push((what, norm(v), etag));
    for id in seeded.scim_users.iter().chain([&seeded.logto_user]) {
        let (v, etag) = call(
            &h,
            h.get(format!("{base}/scim/v2/Users/{id}"))
                .bearer_auth(ADMIN_TOKEN),
            200,
        )
        .await;
        assert!(etag.is_some(), "SCIM answers a user with an ETag");
        read(format!("scim user {id}"), v, etag);
        let (v, _) = call(
            &h,
            h.get(format!("{base}/api/users/{id}"))
                .bearer_auth(ADMIN_TOKEN),
            200,
        )
        .await;
        read(format!("logto user {id}"), v, None);
    }
    for id in &seeded.groups {
        let (v, etag) = call(
            &h,
            h.get(format!("{base}/scim/v2/Groups/{id}"))
                .bearer_auth(ADMIN_TOKEN),
            200,
        )
        .await;
        read(format!("scim group {id}"), v, etag);
    }
    for p in [
        "/users?limit=100".to_string(),
        "/roles?limit=100".to_string(),
        "/organizations".to_string(),
        format!("/organizations/usages/{}", seeded.child_org),
    ] {
        let (v, _) = call(
            &h,
            h.get(format!("{base}/api/v1{p}"))
                .basic_auth(CLIENT, Some(SECRET))
                .header("Accept", "application/json"),
            200,
        )
        .await;
        read(format!("sumo {p}"), v, None);
    }
    // Domo and Adobe: access tokens minted by this server (signing keys are not moved).
    let (t, _) = call(
        &h,
        h.post(format!("{base}/oauth/token"))
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[("grant_type", "client_credentials"), ("scope", "user")]),
        200,
    )
    .await;
    let token = t["access_token"].as_str().unwrap().to_string();
    let (v, _) = call(
        &h,
        h.get(format!("{base}/v1/users?limit=500"))
            .header("Authorization", format!("bearer {token}")),
        200,
    )
    .await;
    read("domo users".into(), v, None);
    let (t, _) = call(
        &h,
        h.post(format!("{base}/ims/token/v3")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", "openid,AdobeID,user_management_sdk"),
        ]),
        200,
    )
    .await;
    let token = t["access_token"].as_str().unwrap().to_string();
    let (v, _) = call(
        &h,
        h.get(format!("{base}/v2/usermanagement/users/default@AdobeOrg/0"))
            .bearer_auth(&token)
            .header("X-Api-Key", CLIENT),
        200,
    )
    .await;
    read("adobe users".into(), v, None);
    out
}

async fn a_directory_moves_to_the_other_backend_and_every_dialect_reads_it_the_same(b: Backend) {
    let s = TestServer::start(b.clone()).await;
    let seeded = seed(&s).await;
    let (dump, err) = run(&s.db.url, &["export"]);
    assert!(err.contains("export: done"), "a progress line: {err}");
    let h = header(&dump);
    assert_eq!(h["format"], "muster-dump");
    assert_eq!(h["version"], 2);
    assert_eq!(
        h["backend"],
        match b {
            Backend::Sqlite => "sqlite",
            _ => "postgres",
        }
    );
    // Every kind of row made it into the dump, hashes as hashes.
    for table in [
        "organizations",
        "roles",
        "users",
        "user_values",
        "user_roles",
        "identities",
        "user_requests",
        "groups",
        "group_users",
        "group_groups",
        "credentials",
        "credit_usage",
        "audit_entries",
    ] {
        assert!(
            dump.contains(&format!("{{\"table\":\"{table}\",\"row\":")),
            "no {table} in the dump"
        );
    }
    assert!(
        dump.contains("\"password_hash\":\"$2"),
        "bcrypt hashes kept"
    );
    for secret in [ADMIN_TOKEN, SECRET, "t1meMachine!", "Wonderland-42"] {
        assert!(!dump.contains(secret), "a secret in the dump: {secret}");
    }
    let before = readings(&s.base, &seeded).await;

    // Into the other backend, and out again: the same records.
    let target = TestDb::new(&other(&b));
    let file = write_temp(&dump);
    let path = file.path().to_str().unwrap();
    let (out, _) = run(&target.url, &["import", path]);
    let summary = import_lines(&out);
    let users = summary.iter().find(|t| t["table"] == "users").unwrap();
    assert_eq!(users["read"], 3);
    assert_eq!(users["inserted"], 3);
    let (again, _) = run(&target.url, &["export", "--quiet"]);
    assert_eq!(records(&again), records(&dump));

    // Importing twice changes nothing.
    let (out, _) = run(&target.url, &["import", "--quiet", path]);
    for t in import_lines(&out) {
        assert_eq!(t["inserted"], 0, "{t}");
        assert_eq!(t["present"], t["read"], "{t}");
    }
    let (third, _) = run(&target.url, &["export", "--quiet"]);
    assert_eq!(records(&third), records(&dump));

    // Every dialect reads the same: same ids, bodies, ETags; the password verifies.
    let p = Process::serve(&target.url, &[], &[]).await;
    let after = readings(&p.base, &seeded).await;
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "{} reads differently after the move", b.0);
    }
    let verify = |pw: &'static str| {
        reqwest::Client::new()
            .post(format!(
                "{}/api/users/{}/password/verify",
                p.base, seeded.logto_user
            ))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "password": pw }))
            .send()
    };
    assert_eq!(
        verify("Wonderland-42").await.unwrap().status().as_u16(),
        204
    );
    let wrong = verify("wrong-password").await.unwrap();
    assert_eq!(wrong.status().as_u16(), 422);
    // The SCIM user's password too (set through SCIM, checked by Logto).
    let r = reqwest::Client::new()
        .post(format!(
            "{}/api/users/{}/password/verify",
            p.base, seeded.scim_users[0]
        ))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"password": "t1meMachine!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
}

/// A dump of `n` extra users made from one exported user row (new ids and names).
fn dump_with_users(base: &str, n: usize) -> Vec<String> {
    let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
    let end = lines.pop().unwrap();
    assert!(end.starts_with("{\"table\":\"$end\""));
    let user: Value = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["table"] == "users")
        .expect("a user row");
    for i in 0..n {
        let mut u = user.clone();
        u["row"]["id"] = json!(1_000_000 + i as i64);
        u["row"]["user_name"] = json!(format!("bulk{i}"));
        u["row"]["user_name_lower"] = json!(format!("bulk{i}"));
        lines.push(u.to_string());
    }
    lines
}

async fn a_bad_line_is_reported_by_number_and_nothing_of_its_batch_is_written(b: Backend) {
    let s = TestServer::start(b.clone()).await;
    let r = s
        .post("/scim/v2/Users")
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", SCIM_CT)
        .json(&json!({"userName": "template", "emails": [{"value": "t@example.com"}]}))
        .send()
        .await
        .unwrap();
    json(r, 201).await;
    let (dump, _) = run(&s.db.url, &["export", "-q"]);

    // 2,500 extra users; line 1,500 (in the second batch of 1,000) is broken.
    let mut lines = dump_with_users(&dump, 2500);
    let bad_line = 1500;
    lines[bad_line - 1] = r#"{"table":"users","row":{"id":"not a number"}}"#.into();
    let target = TestDb::new(&other(&b));
    let file = write_temp(&(lines.join("\n") + "\n"));
    let (ok, out, err) = cli(&target.url, &["import", file.path().to_str().unwrap()]);
    assert!(!ok, "a bad line fails the import: {out}");
    assert!(
        err.contains(&format!("line {bad_line}: not a record of this format")),
        "{err}"
    );
    assert!(
        err.contains("nothing of lines 1002-"),
        "the batch is named: {err}"
    );
    // The first batch (lines 2-1001) is in; nothing of the second.
    let first_batch_users = lines[1..1001]
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["table"] == "users")
        .count() as i64;
    assert!(first_batch_users > 900);
    assert_eq!(count(&target, "users"), first_batch_users);
    let second: Vec<i64> = lines[1001..2001]
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["row"]["id"].as_i64())
        .collect();
    let found = query_text(
        &target,
        &format!(
            "SELECT CAST(COUNT(*) AS TEXT) AS text FROM users WHERE id IN ({})",
            second
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
    );
    assert_eq!(found, vec!["0"]);

    // A line the database refuses (its organization is nowhere): found by number too.
    let mut lines = dump_with_users(&dump, 10);
    let refused = lines.len() - 3;
    let mut v: Value = serde_json::from_str(&lines[refused - 1]).unwrap();
    v["row"]["org_id"] = json!("nowhere");
    lines[refused - 1] = v.to_string();
    let target = TestDb::new(&other(&b));
    let file = write_temp(&(lines.join("\n") + "\n"));
    let (ok, _, err) = cli(&target.url, &["import", file.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains(&format!("line {refused}: the row refers to a row")),
        "{err}"
    );
    assert_eq!(count(&target, "users"), 0, "nothing of the batch");
    assert_eq!(count(&target, "organizations"), 0, "nothing of the batch");

    // A user name taken by another user already in the database: a conflict, by line.
    let target = TestDb::new(&other(&b));
    let (ok, _, err) = cli(
        &target.url,
        &["import", write_temp(&dump).path().to_str().unwrap()],
    );
    assert!(ok, "{err}");
    let mut lines: Vec<String> = dump.lines().map(str::to_string).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("{\"table\":\"users\""))
        .unwrap();
    let mut v: Value = serde_json::from_str(&lines[at]).unwrap();
    v["row"]["id"] = json!(42);
    lines[at] = v.to_string();
    let (ok, _, err) = cli(
        &target.url,
        &[
            "import",
            write_temp(&lines.join("\n")).path().to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains(&format!("line {}: the row conflicts", at + 1)),
        "{err}"
    );
    assert_eq!(count(&target, "users"), 1);
}

async fn a_newer_format_a_foreign_file_and_a_cut_dump_are_refused(b: Backend) {
    let s = TestServer::start(b.clone()).await;
    let (dump, _) = run(&s.db.url, &["export", "-q"]);
    let target = TestDb::new(&other(&b));
    let import = |text: String| {
        let f = write_temp(&text);
        cli(&target.url, &["import", f.path().to_str().unwrap()])
    };

    let mut h = header(&dump);
    h["version"] = json!(3);
    let newer = std::iter::once(h.to_string())
        .chain(records(&dump))
        .collect::<Vec<_>>()
        .join("\n");
    let (ok, _, err) = import(newer);
    assert!(!ok);
    assert!(
        err.contains("line 1: this dump has format version 3, newer than this muster"),
        "{err}"
    );
    assert_eq!(count(&target, "organizations"), 0);

    let (ok, _, err) = import("date,product_variable\n".into());
    assert!(!ok);
    assert!(err.contains("line 1: not a muster dump"), "{err}");

    let (ok, _, err) = import(String::new());
    assert!(!ok);
    assert!(err.contains("the dump is empty"), "{err}");

    // Cut before its end line: what came before is in, and the exit says it was cut.
    let mut lines: Vec<String> = dump.lines().map(str::to_string).collect();
    lines.pop();
    let (ok, _, err) = import(lines.join("\n"));
    assert!(!ok);
    assert!(err.contains("without its end line"), "{err}");

    // A row edited after export: the end line's checksum catches it.
    let mut lines: Vec<String> = dump.lines().map(str::to_string).collect();
    let at = lines
        .iter()
        .position(|l| l.contains("\"table\":\"organizations\""))
        .unwrap();
    let mut v: Value = serde_json::from_str(&lines[at]).unwrap();
    v["row"]["name"] = json!("edited");
    lines[at] = v.to_string();
    let target2 = TestDb::new(&other(&b));
    let f = write_temp(&lines.join("\n"));
    let (ok, _, err) = cli(&target2.url, &["import", f.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("do not match its end line"), "{err}");
}

async fn copy_moves_a_directory_and_verifies_counts_and_checksums(b: Backend) {
    let s = TestServer::start(b.clone()).await;
    seed(&s).await;
    let target = TestDb::new(&other(&b));
    let (out, err) = run(
        "sqlite://unused.db",
        &["copy", "--from", &s.db.url, "--to", &target.url],
    );
    assert!(
        err.contains("export: done") && err.contains("import: done"),
        "{err}"
    );
    let table: Vec<&str> = out.lines().filter(|l| !l.starts_with('{')).collect();
    assert!(table[0].starts_with("table"), "{out}");
    assert_eq!(table.len(), 16, "a line per table: {out}");
    for line in &table[1..] {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f[1], f[2], "counts match: {line}");
        assert_eq!(f[4], "yes", "{line}");
    }
    let users = table.iter().find(|l| l.starts_with("users ")).unwrap();
    assert_eq!(users.split_whitespace().nth(1), Some("3"));
    assert_eq!(count(&target, "users"), 3);
    let (a, _) = run(&s.db.url, &["export", "-q"]);
    let (c, _) = run(&target.url, &["export", "-q"]);
    assert_eq!(records(&a), records(&c));

    // A target that differs afterwards: copy names the table and exits non-zero.
    exec(
        &target,
        "UPDATE users SET title = 'changed' WHERE user_name = 'jsmith'",
    );
    let (ok, out, err) = cli(
        "sqlite://unused.db",
        &["copy", "-q", "--from", &s.db.url, "--to", &target.url],
    );
    assert!(!ok, "{out}");
    assert!(
        err.contains("the target differs from the source: users: 3 rows"),
        "{err}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("users ") && l.ends_with("NO")),
        "{out}"
    );

    let (ok, _, err) = cli(
        "sqlite://unused.db",
        &["copy", "--from", &s.db.url, "--to", &s.db.url],
    );
    assert!(!ok);
    assert!(err.contains("name the same database"), "{err}");
}

async fn export_of_one_organization_takes_its_children_and_nothing_else(b: Backend) {
    let s = TestServer::start(b.clone()).await;
    s.org("acme", None).await;
    s.org("acme-eu", Some("acme")).await;
    s.org("acme-eu-1", Some("acme-eu")).await;
    s.org("other", None).await;
    let (dump, _) = run(&s.db.url, &["export", "-q", "--org", "acme-eu"]);
    assert_eq!(header(&dump)["organizations"], json!(["acme-eu"]));
    let orgs: Vec<String> = records(&dump)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["table"] == "organizations")
        .map(|v| v["row"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(orgs, ["acme-eu", "acme-eu-1"], "parents first");
    // Without its parent, acme-eu arrives top-level, with a warning.
    let target = TestDb::new(&other(&b));
    let f = write_temp(&dump);
    let (_, err) = run(&target.url, &["import", f.path().to_str().unwrap()]);
    assert!(
        err.contains("organization acme-eu: its parent acme is neither"),
        "{err}"
    );
    assert_eq!(
        query_text(
            &target,
            "SELECT id || ':' || COALESCE(parent_id, '-') AS text FROM organizations ORDER BY id"
        ),
        ["acme-eu:-", "acme-eu-1:acme-eu"]
    );
    // copy --org: the same, and the target matches what was written.
    let target = TestDb::new(&other(&b));
    let (out, err) = run(
        "sqlite://unused.db",
        &[
            "copy",
            "-q",
            "--org",
            "acme-eu",
            "--from",
            &s.db.url,
            "--to",
            &target.url,
        ],
    );
    assert!(err.contains("its parent acme is neither"), "{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("organizations ") && l.ends_with("yes")),
        "{out}"
    );
    let (ok, _, err) = cli(&s.db.url, &["export", "--org", "nowhere"]);
    assert!(!ok);
    assert!(err.contains("no organization \"nowhere\""), "{err}");
}
