//! The real `muster` binary: first start, the command line, two processes sharing one
//! database, TLS, and shutdown on SIGTERM.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

both_backends!(
    first_start_creates_default_and_prints_one_admin_token,
    the_command_line_sets_up_organizations_and_credentials,
    a_token_minted_by_one_process_works_on_another,
    sigterm_stops_the_server_cleanly,
    sigterm_with_a_shutdown_delay_drains_first,
);

fn token_in(stderr: &str) -> Option<String> {
    stderr
        .split_whitespace()
        .find(|w| w.starts_with("mst_"))
        .map(str::to_string)
}

async fn whoami(base: &str, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{base}/admin/v1/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn first_start_creates_default_and_prints_one_admin_token(b: Backend) {
    let db = TestDb::new(&b);
    let p = Process::serve(&db.url, &[], &[]).await;
    let log = p.stderr();
    let token = token_in(&log).unwrap_or_else(|| panic!("no admin token printed:\n{log}"));
    let (status, me) = whoami(&p.base, &token).await;
    assert_eq!(status, 200);
    assert_eq!(me["organization"], "default");
    assert_eq!(me["scopes"].as_array().unwrap().len(), 4);
    drop(p);

    // Second start: nothing printed, the first token still works.
    let p = Process::serve(&db.url, &[], &[]).await;
    assert_eq!(token_in(&p.stderr()), None, "the token is shown once");
    assert_eq!(whoami(&p.base, &token).await.0, 200);
    drop(p);

    // MUSTER_BOOTSTRAP_TOKEN ensures a known token, idempotently.
    for _ in 0..2 {
        let p = Process::serve(
            &db.url,
            &[],
            &[("MUSTER_BOOTSTRAP_TOKEN", "automation-token-0123456789")],
        )
        .await;
        assert_eq!(token_in(&p.stderr()), None);
        let (status, me) = whoami(&p.base, "automation-token-0123456789").await;
        assert_eq!(status, 200);
        assert_eq!(me["credential"], "bootstrap");
        // Secrets never reach the log.
        assert!(!p.stderr().contains("automation-token-0123456789"));
        assert!(!p.stderr().contains(&token));
    }
}

async fn the_command_line_sets_up_organizations_and_credentials(b: Backend) {
    let db = TestDb::new(&b);
    let run = |args: &[&str]| {
        let (ok, out, err) = cli(&db.url, args);
        assert!(ok, "muster {args:?} failed: {err} / {out}");
        out
    };
    let parse = |out: &str| -> Value { serde_json::from_str(out.trim()).unwrap() };

    run(&["migrate"]);
    // `serve` was never run: `default` is made only at first start; org create works without it.
    let o = parse(&run(&[
        "org", "create", "--id", "acme", "--name", "Acme Inc",
    ]));
    assert_eq!(o["id"], "acme");
    let o = parse(&run(&[
        "org", "create", "--id", "acme-eu", "--parent", "acme",
    ]));
    assert_eq!(o["parent"], "acme");
    let (ok, _, err) = cli(&db.url, &["org", "create", "--id", "acme"]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = cli(&db.url, &["org", "create", "--id", "x", "--parent", "nope"]);
    assert!(!ok && err.contains("parent"), "{err}");
    let (ok, _, err) = cli(&db.url, &["org", "create", "--id", "bad id"]);
    assert!(!ok && err.contains("invalid organization id"), "{err}");
    let orgs = run(&["org", "list"]);
    assert_eq!(orgs.lines().count(), 2);

    let t = parse(&run(&[
        "token",
        "create",
        "--org",
        "acme",
        "--id",
        "tok_ci",
        "--secret",
        "ci-secret-0123456789",
        "--scopes",
        "scim users:read",
    ]));
    assert_eq!(t["id"], "tok_ci");
    assert_eq!(t["secret"], "ci-secret-0123456789");
    assert_eq!(t["scopes"], "scim users:read");
    let c = parse(&run(&[
        "client",
        "create",
        "--org",
        "acme",
        "--id",
        "cli_ci",
        "--secret",
        "ci-client-secret-0123",
    ]));
    assert_eq!(c["kind"], "client");
    let generated = parse(&run(&["token", "create", "--org", "acme"]));
    assert!(generated["secret"].as_str().unwrap().starts_with("mst_"));
    let (ok, _, err) = cli(&db.url, &["token", "create", "--org", "nope"]);
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, _, err) = cli(&db.url, &["token", "create", "--secret", "short"]);
    assert!(!ok && err.contains("16"), "{err}");
    let (ok, _, err) = cli(
        &db.url,
        &["token", "create", "--org", "acme", "--scopes", "root"],
    );
    assert!(!ok && err.contains("root"), "{err}");

    let listed = run(&["token", "list", "--org", "acme"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        !listed.contains("ci-secret-0123456789"),
        "lists never show secrets"
    );
    assert_eq!(run(&["client", "list"]).lines().count(), 1);

    // Usage records from CSV, all or nothing.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("usage.csv");
    std::fs::write(&csv, "date,product_variable,credits_used,unit\n2026-11-01,continuous_ingest,10.5,GB\n2026-11-02,metrics,3,DPM\n").unwrap();
    let u = parse(&run(&[
        "usage",
        "load",
        "--org",
        "acme-eu",
        csv.to_str().unwrap(),
    ]));
    assert_eq!(u["inserted"], 2);
    std::fs::write(&csv, "2026-11-03,metrics,1,DPM\nnot-a-date,metrics,1,DPM\n").unwrap();
    let (ok, _, err) = cli(
        &db.url,
        &["usage", "load", "--org", "acme-eu", csv.to_str().unwrap()],
    );
    assert!(!ok && err.contains("line 2"), "{err}");

    // The credentials work over HTTP, and revocation from the CLI takes effect.
    let p = Process::serve(&db.url, &[], &[]).await;
    let (status, me) = whoami(&p.base, "ci-secret-0123456789").await;
    assert_eq!(status, 200);
    assert_eq!(me["organization"], "acme");
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/oauth/token", p.base))
        .basic_auth("cli_ci", Some("ci-client-secret-0123"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let admin = token_in(&p.stderr()).expect("default org made at first start");
    let usage: Value = http
        .get(format!(
            "{}/admin/v1/organizations/acme-eu/credit-usage",
            p.base
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        usage["code"], "not_found",
        "default's admin cannot see acme's child"
    );
    let t = parse(&run(&[
        "token",
        "create",
        "--org",
        "acme",
        "--id",
        "tok_admin",
        "--secret",
        "acme-admin-0123456789",
        "--scopes",
        "orgs:admin",
    ]));
    assert_eq!(t["id"], "tok_admin");
    let usage: Value = http
        .get(format!(
            "{}/admin/v1/organizations/acme-eu/credit-usage",
            p.base
        ))
        .bearer_auth("acme-admin-0123456789")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(usage.as_array().unwrap().len(), 2, "{usage}");

    // A token bound to a user makes SCIM /Me that user.
    let u: Value = http
        .post(format!("{}/scim/v2/Users", p.base))
        .bearer_auth("ci-secret-0123456789")
        .json(&serde_json::json!({"userName": "me@acme.test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uid = u["id"].as_str().expect("created").to_string();
    let (ok, _, err) = cli(
        &db.url,
        &[
            "token",
            "create",
            "--org",
            "acme",
            "--id",
            "tok_me",
            "--secret",
            "me-token-0123456789",
            "--scopes",
            "scim",
            "--user",
            &uid,
        ],
    );
    assert!(ok, "{err}");
    let me: Value = http
        .get(format!("{}/scim/v2/Me", p.base))
        .bearer_auth("me-token-0123456789")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], uid.as_str());
    assert_eq!(me["userName"], "me@acme.test");
    let (ok, _, err) = cli(
        &db.url,
        &["token", "create", "--org", "acme-eu", "--user", &uid],
    );
    assert!(
        !ok && err.contains("no user"),
        "a user of another organization: {err}"
    );

    run(&["token", "revoke", "tok_ci"]);
    assert_eq!(whoami(&p.base, "ci-secret-0123456789").await.0, 401);
    let (ok, _, err) = cli(&db.url, &["client", "revoke", "tok_admin"]);
    assert!(!ok && err.contains("no client"), "{err}");
}

async fn a_token_minted_by_one_process_works_on_another(b: Backend) {
    let db = TestDb::new(&b);
    let env = [("MUSTER_BOOTSTRAP_TOKEN", "shared-admin-token-0123456")];
    let (first, second) = tokio::join!(
        Process::serve(&db.url, &[], &env),
        Process::serve(&db.url, &[], &env)
    );
    let (ok, _, err) = cli(
        &db.url,
        &[
            "client",
            "create",
            "--id",
            "cli_x",
            "--secret",
            "shared-client-secret-01",
        ],
    );
    assert!(ok, "{err}");
    let http = reqwest::Client::new();
    let body: Value = http
        .post(format!("{}/oidc/token", first.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "cli_x"),
            ("client_secret", "shared-client-secret-01"),
            ("scope", "all"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().expect("minted").to_string();
    let (status, me) = whoami(&second.base, &token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["credential"], "cli_x");
    // And the other way round, with a key both share.
    let body: Value = http
        .get(format!(
            "{}/oauth/token?grant_type=client_credentials",
            second.base
        ))
        .basic_auth("cli_x", Some("shared-client-secret-01"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token2 = body["access_token"].as_str().unwrap();
    assert_eq!(whoami(&first.base, token2).await.0, 200);
    // Revoked through one, refused by the other.
    let r = http
        .delete(format!("{}/admin/v1/credentials/cli_x", first.base))
        .bearer_auth("shared-admin-token-0123456")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(whoami(&second.base, &token).await.0, 401);
}

/// The process's exit status, waiting at most 15 s after the SIGTERM.
async fn exit_after_sigterm(p: &mut Process) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sigterm_stops_the_server_cleanly(b: Backend) {
    let db = TestDb::new(&b);
    let mut p = Process::serve(&db.url, &[], &[]).await;
    let pid = p.child.id().to_string();
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = exit_after_sigterm(&mut p).await;
    assert!(
        status.success(),
        "exit status {status}; stderr:\n{}",
        p.stderr()
    );
    assert!(p.stderr().contains("shutting down"));
}

/// `--shutdown-delay-ms`: after SIGTERM the instance says it is not ready (so a balancer
/// takes it out) but still serves, then stops.
async fn sigterm_with_a_shutdown_delay_drains_first(b: Backend) {
    let db = TestDb::new(&b);
    let mut p = Process::serve(&db.url, &["--shutdown-delay-ms", "1500"], &[]).await;
    let http = reqwest::Client::new();
    let ready = |http: reqwest::Client, base: String| async move {
        let r = http.get(format!("{base}/readyz")).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap())
    };
    assert_eq!(ready(http.clone(), p.base.clone()).await.0, 200);
    let pid = p.child.id().to_string();
    let signalled = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    // Within the delay: not ready, and still serving new connections.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, body) = ready(reqwest::Client::new(), p.base.clone()).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (503, Some("draining")),
        "{body}"
    );
    let r = reqwest::Client::new()
        .get(format!("{}/healthz", p.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(signalled.elapsed() < Duration::from_millis(1500));
    let status = exit_after_sigterm(&mut p).await;
    assert!(
        signalled.elapsed() >= Duration::from_millis(1500),
        "stopped before the delay"
    );
    assert!(
        status.success(),
        "exit status {status}; stderr:\n{}",
        p.stderr()
    );
    assert!(p.stderr().contains("not ready, still serving"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_rustls_when_given_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let db = TestDb::new(&Backend::Sqlite);
    let p = Process::serve(
        &db.url,
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
        &[("MUSTER_BOOTSTRAP_TOKEN", "tls-admin-token-0123456789")],
    )
    .await;
    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let https = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let resp = loop {
        match https.get(format!("{}/healthz", p.base)).send().await {
            Ok(r) => break r,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "no HTTPS: {e}; stderr:\n{}",
                    p.stderr()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(resp.status(), 200);
    let me: Value = https
        .get(format!("{}/admin/v1/whoami", p.base))
        .bearer_auth("tls-admin-token-0123456789")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["organization"], "default");
    // HTTPS only: plain HTTP on the same port gets no answer.
    let plain = p.base.replacen("https://", "http://", 1);
    let r = reqwest::Client::new()
        .get(format!("{plain}/healthz"))
        .send()
        .await;
    assert!(r.is_err() || !r.unwrap().status().is_success());
    // The default base URL follows the scheme.
    let spec: Value = https
        .get(format!("{}/openapi.json", p.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        spec["servers"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "{}",
        spec["servers"]
    );
}
