//! Secrets stay secret, and guessing them is limited.
//!
//! - The real binary at `RUST_LOG=trace` is driven with known secrets in every place a client
//!   puts one (API tokens, client secrets in HTTP Basic and in token forms, access tokens,
//!   passwords and imported digests in bodies, wrong guesses, malformed bodies around a
//!   password); then its log, every response (bodies and headers), `/metrics`,
//!   `/openapi.json`, the audit log (`/api/logs` and every `audit_entries` row) are searched
//!   for each secret, its `Authorization` header value, its SHA-256 and any bcrypt hash.
//! - The brute-force limits: after `limit` failures a client (token endpoints, HTTP Basic)
//!   or a user's password (Logto verify, Sumo `mfa/disable`) gets 429 with `Retry-After`, in
//!   the caller's dialect; other clients and users are not affected.
//! - The bcrypt floor: `serve` refuses a cost below 10 unless told it is a test.

use crate::common;

use base64::Engine;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

both_backends!(
    no_secret_reaches_logs_bodies_audit_metrics_or_the_api_description,
    failed_secret_and_password_checks_are_limited_with_429_and_retry_after,
);

const BOOTSTRAP: &str = "bootstrap-Secret-Tok3n-9f8e7d6c5b4a";
const USER_PASSWORD: &str = "Us3r-Passw0rd-Secret-71";
const NEW_PASSWORD: &str = "N3w-Passw0rd-Secret-72";
const WRONG_PASSWORD: &str = "Wr0ng-Guess-Secret-73";
const BROKEN_JSON_PASSWORD: &str = "Br0ken-Json-Secret-74";
const TYPED_PASSWORD: &str = "Typ3d-Array-Secret-75";
const WRONG_CLIENT_SECRET: &str = "Wr0ng-Client-Secret-76";
const SHA_PASSWORD: &str = "Imp0rted-Sha-Secret-77";

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// One response as text: status, headers and body.
async fn text(r: reqwest::RequestBuilder) -> (u16, String, String) {
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let mut headers = String::new();
    for (k, v) in resp.headers() {
        headers.push_str(&format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())));
    }
    let body = resp.text().await.unwrap();
    (status, headers, body)
}

async fn no_secret_reaches_logs_bodies_audit_metrics_or_the_api_description(b: Backend) {
    let db = TestDb::new(&b);
    let p = Process::serve(
        &db.url,
        &[],
        &[("MUSTER_BOOTSTRAP_TOKEN", BOOTSTRAP), ("RUST_LOG", "trace")],
    )
    .await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", p.base);
    // Everything the server answered, except the one answer that hands a secret out.
    let mut seen = String::new();
    let mut secrets: Vec<String> = vec![
        BOOTSTRAP.into(),
        USER_PASSWORD.into(),
        NEW_PASSWORD.into(),
        WRONG_PASSWORD.into(),
        BROKEN_JSON_PASSWORD.into(),
        TYPED_PASSWORD.into(),
        WRONG_CLIENT_SECRET.into(),
        SHA_PASSWORD.into(),
        sha256_hex(SHA_PASSWORD),
    ];
    macro_rules! drive {
        ($req:expr) => {{
            let (status, headers, body) = text($req).await;
            seen.push_str(&format!("{status}\n{headers}\n{body}\n"));
            (status, body)
        }};
    }

    // A client, shown once at creation (that answer is the one place its secret may be).
    let created = http
        .post(url("/admin/v1/credentials"))
        .bearer_auth(BOOTSTRAP)
        .json(&json!({"kind": "client", "label": "integration", "scopes": "all"}))
        .send()
        .await
        .unwrap();
    let created = json(created, 201).await;
    let client_id = created["id"].as_str().unwrap().to_string();
    let client_secret = created["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret in {created}"))
        .to_string();
    secrets.push(client_secret.clone());
    let listed = drive!(http
        .get(url("/admin/v1/credentials"))
        .bearer_auth(BOOTSTRAP));
    assert_eq!(listed.0, 200);
    assert!(listed.1.contains(&client_id), "{}", listed.1);

    // Access tokens from each token endpoint (their answers hand the token out).
    let mut access = Vec::new();
    for (path, form_secret) in [
        ("/oauth/token", false),
        ("/oidc/token", true),
        ("/ims/token/v3", true),
    ] {
        let mut form = vec![("grant_type", "client_credentials".to_string())];
        let mut r = http.post(url(path));
        if form_secret {
            form.push(("client_id", client_id.clone()));
            form.push(("client_secret", client_secret.clone()));
        } else {
            r = r.basic_auth(&client_id, Some(&client_secret));
        }
        let body = json(r.form(&form).send().await.unwrap(), 200).await;
        access.push(body["access_token"].as_str().unwrap().to_string());
        // A wrong secret: refused, and the guess is not echoed.
        let wrong = drive!(http.post(url(path)).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", WRONG_CLIENT_SECRET),
        ]));
        assert_eq!(wrong.0, 401, "{path}: {}", wrong.1);
    }
    // Domo's GET token request carries its parameters in the query.
    let q = drive!(http
        .get(url(&format!(
            "/oauth/token?grant_type=client_credentials&client_secret={WRONG_CLIENT_SECRET}"
        )))
        .basic_auth(&client_id, Some(WRONG_CLIENT_SECRET)));
    assert_eq!(q.0, 401);
    secrets.extend(access.iter().cloned());

    // A user with a password, through SCIM; then Logto sets, verifies and imports.
    let (status, body) = drive!(http
        .post(url("/scim/v2/Users"))
        .bearer_auth(BOOTSTRAP)
        .header("content-type", "application/scim+json")
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ann", "password": USER_PASSWORD,
                "emails": [{"value": "ann@example.com", "primary": true}],
            })
            .to_string()
        ));
    assert_eq!(status, 201, "{body}");
    let uid = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let logto = |m: Method, path: &str, token: &str| {
        http.request(m, url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
    };
    for (m, path, body, want) in [
        (
            Method::PATCH,
            format!("/api/users/{uid}/password"),
            json!({"password": NEW_PASSWORD}),
            200,
        ),
        (
            Method::POST,
            format!("/api/users/{uid}/password/verify"),
            json!({"password": NEW_PASSWORD}),
            204,
        ),
        (
            Method::POST,
            format!("/api/users/{uid}/password/verify"),
            json!({"password": WRONG_PASSWORD}),
            422,
        ),
        (
            Method::POST,
            "/api/users".to_string(),
            json!({"username": "imported", "passwordDigest": sha256_hex(SHA_PASSWORD), "passwordAlgorithm": "SHA256"}),
            200,
        ),
        (
            Method::POST,
            format!("/api/users/{uid}/password/verify"),
            json!({"password": [TYPED_PASSWORD]}),
            400,
        ),
    ] {
        let token = &access[1];
        let got = drive!(logto(m.clone(), &path, token).body(body.to_string()));
        assert_eq!(got.0, want, "{m} {path}: {}", got.1);
    }
    // Malformed JSON around a password, in three dialects.
    for (path, ct) in [
        (format!("/api/users/{uid}/password"), "application/json"),
        ("/scim/v2/Users".to_string(), "application/scim+json"),
        (
            format!("/api/v1/users/{uid}/mfa/disable"),
            "application/json",
        ),
    ] {
        let m = if path.starts_with("/api/users") {
            Method::PATCH
        } else if path.ends_with("/mfa/disable") {
            Method::PUT
        } else {
            Method::POST
        };
        let got = drive!(http
            .request(m, url(&path))
            .header("authorization", basic(&client_id, &client_secret))
            .header("content-type", ct)
            .body(format!("{{\"password\": \"{BROKEN_JSON_PASSWORD}\", ")));
        assert!((400..500).contains(&got.0), "{path}: {} {}", got.0, got.1);
    }
    // Sumo: Basic with the client, a wrong password for mfa/disable, a wrong key.
    let got = drive!(http
        .put(url(&format!("/api/v1/users/{uid}/mfa/disable")))
        .header("authorization", basic(&client_id, &client_secret))
        .json(&json!({"email": "ann@example.com", "password": WRONG_PASSWORD})));
    assert_eq!(got.0, 400, "{}", got.1);
    let got = drive!(http
        .get(url("/api/v1/users"))
        .header("authorization", basic(&client_id, WRONG_CLIENT_SECRET)));
    assert_eq!(got.0, 401, "{}", got.1);
    let got = drive!(http
        .get(url("/v1/users"))
        .header("authorization", basic(&client_id, &client_secret)));
    assert_eq!(got.0, 200, "{}", got.1);
    // Every dialect with a good and a bad bearer.
    for path in [
        "/scim/v2/Users",
        "/api/users",
        "/v1/users",
        "/api/v1/users",
        "/admin/v1/whoami",
    ] {
        for token in [access[0].as_str(), BOOTSTRAP, WRONG_CLIENT_SECRET] {
            drive!(http.get(url(path)).bearer_auth(token));
        }
    }
    let got = drive!(http
        .get(url("/v2/usermanagement/users/default/0"))
        .bearer_auth(&access[2])
        .header("x-api-key", &client_id));
    assert_eq!(got.0, 200, "{}", got.1);
    let got = drive!(http
        .get(url(&format!("/api/logs?userId={uid}")))
        .bearer_auth(BOOTSTRAP));
    assert_eq!(got.0, 200, "{}", got.1);
    assert!(
        got.1.contains("User."),
        "audit entries are there: {}",
        got.1
    );
    let audit_api = got.1.clone();
    let metrics = drive!(http.get(url("/metrics")));
    assert_eq!(metrics.0, 200);
    let openapi = drive!(http.get(url("/openapi.json")));
    assert_eq!(openapi.0, 200);

    // Give the log a moment, then stop the server (its last lines are written).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let log = p.stderr();
    drop(p);
    // (RUST_LOG=trace enables every level; the stack emits few events below info, and
    // whatever it emits is searched.)
    let audit_rows = rows_as_text(&db, "audit_entries", "1 = 1");
    assert!(!audit_rows.is_empty());
    let audit_rows = audit_rows.join("\n");
    let bcrypts = rows_as_text(&db, "users", "password_hash IS NOT NULL");
    assert!(
        bcrypts.iter().any(|r| r.contains("$2b$")),
        "bcrypt hashes stored: {bcrypts:?}"
    );

    let places = [
        ("the log (RUST_LOG=trace)", &log),
        ("responses", &seen),
        ("/api/logs", &audit_api),
        ("audit_entries rows", &audit_rows),
        ("/metrics", &metrics.1),
        ("/openapi.json", &openapi.1),
    ];
    let mut needles: Vec<(String, String)> = Vec::new();
    for s in &secrets {
        needles.push((s.clone(), s.clone()));
        needles.push((format!("sha256({s})"), sha256_hex(s)));
        needles.push((format!("Bearer {s}"), format!("Bearer {s}")));
    }
    for (id, secret) in [
        (client_id.as_str(), client_secret.as_str()),
        (client_id.as_str(), WRONG_CLIENT_SECRET),
    ] {
        let header = basic(id, secret);
        needles.push((
            format!("{header} (Basic)"),
            header["Basic ".len()..].to_string(),
        ));
    }
    for prefix in ["$2a$", "$2b$", "$2y$"] {
        needles.push((format!("a bcrypt hash ({prefix})"), prefix.to_string()));
    }
    let mut found = Vec::new();
    for (place, haystack) in places {
        for (what, needle) in &needles {
            if haystack.contains(needle.as_str()) {
                let at = haystack.find(needle.as_str()).unwrap();
                let from = haystack[..at]
                    .char_indices()
                    .rev()
                    .nth(200)
                    .map_or(0, |(i, _)| i);
                let context: String = haystack[from..].chars().take(400).collect();
                found.push(format!("{what} in {place}: …{context}…"));
            }
        }
    }
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n\n"));
    // The log did record the requests (so the search above looked at something).
    assert!(
        log.matches("served").count() >= 30,
        "{}",
        &log[..log.len().min(3000)]
    );
}

async fn failed_secret_and_password_checks_are_limited_with_429_and_retry_after(b: Backend) {
    const LIMIT: u32 = 3;
    let s = TestServer::start_with(b, |c| {
        c.auth_failure_limit = LIMIT;
        c.auth_failure_window = std::time::Duration::from_secs(120);
    })
    .await;
    let sec = |id: &str| format!("{id}-client-secret-0123456789abc");
    for id in ["cli_a", "cli_b", "cli_c"] {
        s.credential("default", kind_client(), id, &sec(id), "all")
            .await;
    }
    let retry_after = |r: &reqwest::Response| -> u64 {
        r.headers()
            .get("retry-after")
            .unwrap_or_else(|| panic!("no Retry-After: {:?}", r.headers()))
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let oauth = |path: &str, id: &str, secret: &str| {
        s.post(path).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
    };

    // Token endpoints: three wrong secrets, then even the right one waits; one count for the
    // client across endpoints and HTTP Basic.
    for path in ["/oidc/token", "/ims/token/v3", "/oauth/token"] {
        let r = oauth(path, "cli_a", "wrong-secret-xx")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    for path in ["/oidc/token", "/ims/token/v3"] {
        let r = oauth(path, "cli_a", &sec("cli_a")).send().await.unwrap();
        assert_eq!(r.status(), 429, "{path}");
        let wait = retry_after(&r);
        assert!((1..=120).contains(&wait), "{wait}");
        let body = json(r, 429).await;
        assert_eq!(body["error"], "slow_down", "{body}");
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("retry"));
    }
    let r = s
        .post("/oauth/token")
        .basic_auth("cli_a", Some(sec("cli_a")))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // Sumo Basic with the locked client: Sumo's shape.
    let r = s
        .get("/api/v1/users")
        .basic_auth("cli_a", Some(sec("cli_a")))
        .send()
        .await
        .unwrap();
    assert!(retry_after(&r) >= 1);
    let body = json(r, 429).await;
    assert_eq!(body["errors"][0]["code"], "rate_limit_exceeded", "{body}");
    assert!(body["id"].as_str().is_some(), "{body}");
    // Another client is not affected.
    let r = oauth("/oidc/token", "cli_b", &sec("cli_b"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // HTTP Basic failures count too: Sumo, then Domo (same client), then SCIM.
    for _ in 0..LIMIT {
        let r = s
            .get("/api/v1/users")
            .basic_auth("cli_c", Some("wrong-secret-xx"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = s
        .get("/v1/users")
        .basic_auth("cli_c", Some(sec("cli_c")))
        .send()
        .await
        .unwrap();
    assert!(retry_after(&r) >= 1);
    let body = json(r, 429).await;
    assert_eq!(body["status"], 429, "Domo's shape: {body}");
    let r = s
        .get("/scim/v2/Users")
        .basic_auth("cli_c", Some(sec("cli_c")))
        .send()
        .await
        .unwrap();
    assert!(retry_after(&r) >= 1);
    let body = json(r, 429).await;
    assert_eq!(body["status"], "429", "SCIM's shape: {body}");

    // Passwords: per user. Logto's verify, then Sumo's mfa/disable share the user's count.
    let mk = |name: &str| {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name, "password": "R1ght-Passw0rd",
            "emails": [{"value": format!("{name}@example.com"), "primary": true}],
        });
        s.post("/scim/v2/Users")
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
    };
    let ann = json(mk("ann").send().await.unwrap(), 201).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = json(mk("bob").send().await.unwrap(), 201).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let verify = |uid: &str, pw: &str| {
        s.post(&format!("/api/users/{uid}/password/verify"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"password": pw}))
    };
    assert_eq!(
        verify(&ann, "R1ght-Passw0rd")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    for _ in 0..LIMIT - 1 {
        assert_eq!(verify(&ann, "guess").send().await.unwrap().status(), 422);
    }
    let r = s
        .http
        .put(s.url(&format!("/api/v1/users/{ann}/mfa/disable")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"email": "ann@example.com", "password": "guess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "the third failure");
    let r = verify(&ann, "R1ght-Passw0rd").send().await.unwrap();
    assert!(retry_after(&r) >= 1);
    let body = json(r, 429).await;
    assert_eq!(
        body["code"], "guard.too_many_requests",
        "Logto's shape: {body}"
    );
    let r = s
        .http
        .put(s.url(&format!("/api/v1/users/{ann}/mfa/disable")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"email": "ann@example.com", "password": "R1ght-Passw0rd"}))
        .send()
        .await
        .unwrap();
    assert!(retry_after(&r) >= 1);
    let body = json(r, 429).await;
    assert_eq!(body["errors"][0]["code"], "rate_limit_exceeded", "{body}");
    // Bob is not affected; the admin token (a bearer API token) was never limited.
    assert_eq!(
        verify(&bob, "R1ght-Passw0rd")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
}

#[test]
fn serve_refuses_a_bcrypt_cost_below_10_unless_it_is_a_test() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    for (cost, allow, refused) in [
        ("9", None, true),
        ("4", Some("false"), true),
        ("4", Some("true"), false),
    ] {
        let mut cmd = std::process::Command::new(muster_bin());
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{}", free_port())])
            .env("DATABASE_URL", &db)
            .env("MUSTER_BCRYPT_COST", cost)
            .env_remove("MUSTER_ALLOW_WEAK_BCRYPT")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        if let Some(a) = allow {
            cmd.env("MUSTER_ALLOW_WEAK_BCRYPT", a);
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let exited = child.try_wait().unwrap();
        if refused {
            let status = exited.unwrap_or_else(|| {
                let _ = child.kill();
                panic!("cost {cost} (allow {allow:?}) was accepted")
            });
            assert!(!status.success());
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            assert!(err.contains("below 10"), "{err}");
        } else {
            assert!(
                exited.is_none(),
                "cost {cost} with the test switch should serve"
            );
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
