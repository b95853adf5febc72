//! The real `muster` binary: first start, the command line, two processes sharing one
//! database, TLS, and shutdown on SIGTERM.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

both_backends!(
    first_start_creates_default_and_prints_one_admin_token,
    the_first_command_bootstraps_whichever_it_is,
    commands_name_their_database_and_refuse_a_missing_file,
    the_command_line_sets_up_organizations_and_credentials,
    a_token_minted_by_one_process_works_on_another,
    four_processes_starting_on_one_new_database_all_serve,
    console_jobs_and_imports_are_answered_by_every_instance,
    sigterm_stops_the_server_cleanly,
    sigterm_with_a_shutdown_delay_drains_first,
    a_reader_closing_early_ends_a_command_without_a_panic,
    serve_keeps_answering_when_its_stderr_is_closed,
    an_invalid_rust_log_is_refused_at_start,
    bind_accepts_a_host_name,
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

/// Run `muster ARGS` with `env` (nothing inherited of DATABASE_URL or the bootstrap
/// variables) in `dir`; on a pseudo-terminal through util-linux `script` when `tty`.
/// Returns (exit ok, stdout, stderr); on a terminal both streams are in stdout.
fn muster_in(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    tty: bool,
    args: &[&str],
) -> (bool, String, String) {
    let mut cmd = if tty {
        let line = std::iter::once(muster_bin())
            .chain(args.iter().copied())
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &line, "/dev/null"]);
        c
    } else {
        let mut c = std::process::Command::new(muster_bin());
        c.args(args);
        c
    };
    without_inherited_setup(cmd.current_dir(dir));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run muster");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// With no terminal and no token supplied (systemd, a container), `serve` makes `default`
/// but no secret for its log, and says how to finish. The first command on a terminal
/// then generates the admin token and shows it there, once; a supplied token is ensured.
async fn first_start_creates_default_and_prints_one_admin_token(b: Backend) {
    let db = TestDb::new(&b);
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", db.url.as_str())];
    let p = Process::serve(&db.url, &[], &[]).await;
    let log = p.stderr();
    assert_eq!(token_in(&log), None, "no secret in the log stream:\n{log}");
    assert!(
        log.contains("organization `default` has no admin credential yet")
            && log.contains("MUSTER_BOOTSTRAP_TOKEN"),
        "{log}"
    );
    assert!(
        log.contains("database opened"),
        "serve names its database:\n{log}"
    );
    drop(p);

    // The first command on a terminal finishes the step, whichever command it is.
    let (ok, shown, _) = muster_in(dir.path(), &env, true, &["org", "list"]);
    assert!(ok, "{shown}");
    let token = token_in(&shown).unwrap_or_else(|| panic!("no token on the terminal:\n{shown}"));
    assert!(shown.contains("shown once"), "{shown}");
    assert!(
        shown.contains("\"id\":\"default\""),
        "and the command's own output:\n{shown}"
    );
    let p = Process::serve(&db.url, &[], &[]).await;
    let (status, me) = whoami(&p.base, &token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["organization"], "default");
    assert_eq!(me["credential"], "bootstrap");
    assert_eq!(me["scopes"].as_array().unwrap().len(), 4);
    let log = p.stderr();
    assert!(
        !log.contains("no admin credential"),
        "the step is done:\n{log}"
    );
    drop(p);
    // Shown once: the next command on a terminal prints none.
    let (ok, shown, _) = muster_in(dir.path(), &env, true, &["org", "list"]);
    assert!(ok && token_in(&shown).is_none(), "{shown}");

    // MUSTER_BOOTSTRAP_TOKEN ensures a known token (the same credential), idempotently.
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
        assert_eq!(
            whoami(&p.base, &token).await.0,
            401,
            "replaced by the supplied one"
        );
        // Secrets never reach the log.
        assert!(!p.stderr().contains("automation-token-0123456789"));
        assert!(!p.stderr().contains(&token));
    }
}

/// A command run before the first `serve` bootstraps the database as `serve` would: the
/// token from a file, checked before anything is written; a too-short one leaves nothing
/// behind; and a database that has credentials already gets no generated token.
async fn the_first_command_bootstraps_whichever_it_is(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(&b);
    let env = [("DATABASE_URL", db.url.as_str())];

    // Too short: refused before anything is written.
    let short = [
        ("DATABASE_URL", db.url.as_str()),
        ("MUSTER_BOOTSTRAP_TOKEN", "short"),
    ];
    let (ok, _, err) = muster_in(dir.path(), &short, false, &["migrate"]);
    assert!(!ok && err.contains("at least 16 characters"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    if let Some(path) = &db.sqlite_path {
        assert!(!path.exists(), "no database file made");
    } else {
        let tables = query_text(
            &db,
            "SELECT table_name::text AS text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'organizations'",
        );
        assert!(tables.is_empty(), "no migrations ran: {tables:?}");
    }

    // Both given: refused.
    let file = dir.path().join("bootstrap-token");
    std::fs::write(&file, "file-admin-token-0123456789\n").unwrap();
    let file_s = file.to_str().unwrap();
    let both = [
        ("DATABASE_URL", db.url.as_str()),
        ("MUSTER_BOOTSTRAP_TOKEN", "env-admin-token-0123456789"),
        ("MUSTER_BOOTSTRAP_TOKEN_FILE", file_s),
    ];
    let (ok, _, err) = muster_in(dir.path(), &both, false, &["migrate"]);
    assert!(!ok && err.contains("not both"), "{err}");

    // From a file (its line break dropped), at `migrate`, on a terminal: nothing generated.
    let from_file = [
        ("DATABASE_URL", db.url.as_str()),
        ("MUSTER_BOOTSTRAP_TOKEN_FILE", file_s),
    ];
    let (ok, shown, _) = muster_in(dir.path(), &from_file, true, &["migrate"]);
    assert!(ok, "{shown}");
    assert_eq!(token_in(&shown), None, "a token was supplied: {shown}");
    assert!(shown.contains("is up to date"), "{shown}");
    assert!(!shown.contains("file-admin-token"), "{shown}");
    let (ok, out, _) = muster_in(dir.path(), &env, false, &["org", "list"]);
    assert!(ok);
    let orgs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(orgs.len(), 1, "{out}");
    assert_eq!(
        (&orgs[0]["id"], &orgs[0]["name"], orgs[0].get("parentId")),
        (&json!("default"), &json!("Default organization"), None),
        "{out}"
    );
    let p = Process::serve(&db.url, &[], &[]).await;
    let (status, me) = whoami(&p.base, "file-admin-token-0123456789").await;
    assert_eq!(
        (status, me["credential"].as_str()),
        (200, Some("bootstrap")),
        "{me}"
    );
    drop(p);

    // `token create` for `default` on a fresh database makes the first credential itself.
    let db2 = TestDb::new(&b);
    let env2 = [("DATABASE_URL", db2.url.as_str())];
    let (ok, _, err) = muster_in(dir.path(), &env2, false, &["migrate"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("no admin credential yet"),
        "no terminal: the step waits, and says so: {err}"
    );
    let (ok, shown, _) = muster_in(
        dir.path(),
        &env2,
        true,
        &[
            "token",
            "create",
            "--label",
            "test",
            "--id",
            "tok_ops",
            "--secret",
            "ops-admin-token-0123456",
        ],
    );
    assert!(ok, "{shown}");
    assert_eq!(token_in(&shown), None, "only the token asked for: {shown}");
    let (ok, out, _) = muster_in(dir.path(), &env2, true, &["token", "list"]);
    assert!(ok);
    assert_eq!(out.matches("\"id\":").count(), 1, "{out}");
    assert!(out.contains("\"id\":\"tok_ops\""), "{out}");
}

/// Every command says which database it opened; one that only reads or changes a
/// directory refuses a SQLite file that is not there instead of making an empty one in
/// whatever folder it ran from; a PostgreSQL password is never shown.
async fn commands_name_their_database_and_refuse_a_missing_file(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path().canonicalize().unwrap();
    let file = here.join("muster.db");
    if let Backend::Sqlite = b {
        // The default URL, sqlite://muster.db, is relative to the current folder.
        for args in [
            &["org", "list"][..],
            &["token", "list"],
            &["export"],
            &["user", "grant-admin", "alice"],
        ] {
            let (ok, out, err) = muster_in(&here, &[], false, args);
            assert!(!ok, "{args:?}: {out}");
            assert!(
                err.contains(&format!("no database at sqlite://{}", file.display()))
                    && err.contains("muster migrate"),
                "{args:?}: {err}"
            );
            assert!(!file.exists(), "{args:?} made an empty database");
        }
        let (ok, out, err) = muster_in(&here, &[], false, &["migrate"]);
        assert!(ok, "{err}");
        assert!(
            err.contains(&format!("database: sqlite://{} (new file)", file.display())),
            "{err}"
        );
        assert!(
            out.contains(&format!("sqlite://{}", file.display())),
            "{out}"
        );
        let (ok, out, err) = muster_in(&here, &[], false, &["org", "list"]);
        assert!(ok, "{err}");
        assert!(
            err.starts_with(&format!("database: sqlite://{}\n", file.display())),
            "{err}"
        );
        assert!(out.contains("\"id\":\"default\""), "{out}");
        return;
    }
    let db = TestDb::new(&b);
    let with_password = db.url.replacen(
        "postgres://postgres@",
        "postgres://postgres:hunter2-secret@",
        1,
    );
    assert_ne!(
        with_password, db.url,
        "the test URL has the expected shape: {}",
        db.url
    );
    let env = [("DATABASE_URL", with_password.as_str())];
    let (ok, out, err) = muster_in(&here, &env, false, &["org", "list"]);
    assert!(ok, "{err}");
    assert!(err.contains("database: postgres://postgres:***@"), "{err}");
    assert!(
        !err.contains("hunter2") && !out.contains("hunter2"),
        "{err}{out}"
    );
    assert!(out.contains("\"id\":\"default\""), "{out}");
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
    // `migrate` ran the first-run step: `default` exists (its admin token waits for a
    // terminal or a supplied one); org create works beside it.
    let o = parse(&run(&[
        "org", "create", "--id", "acme", "--name", "Acme Inc",
    ]));
    assert_eq!(o["id"], "acme");
    let o = parse(&run(&[
        "org", "create", "--id", "acme-eu", "--parent", "acme",
    ]));
    assert_eq!(o["parentId"], "acme");
    let (ok, _, err) = cli(&db.url, &["org", "create", "--id", "acme"]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = cli(&db.url, &["org", "create", "--id", "x", "--parent", "nope"]);
    assert!(!ok && err.contains("parent"), "{err}");
    let (ok, _, err) = cli(&db.url, &["org", "create", "--id", "bad id"]);
    assert!(!ok && err.contains("invalid organization id"), "{err}");
    let orgs = run(&["org", "list"]);
    assert_eq!(orgs.lines().count(), 3, "{orgs}");

    let t = parse(&run(&[
        "token",
        "create",
        "--label",
        "test",
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
    assert_eq!(t["scopes"], json!(["scim", "users:read"]));
    let c = parse(&run(&[
        "client",
        "create",
        "--label",
        "test",
        "--org",
        "acme",
        "--id",
        "cli_ci",
        "--secret",
        "ci-client-secret-0123",
    ]));
    assert_eq!(c["kind"], "client");
    let generated = parse(&run(&[
        "token", "create", "--label", "test", "--org", "acme",
    ]));
    assert!(generated["secret"].as_str().unwrap().starts_with("mst_"));
    let (ok, _, err) = cli(
        &db.url,
        &["token", "create", "--label", "test", "--org", "nope"],
    );
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, _, err) = cli(
        &db.url,
        &["token", "create", "--label", "test", "--secret", "short"],
    );
    assert!(!ok && err.contains("16"), "{err}");
    // The label is required (a breaking change: it was "command line" when omitted).
    let (ok, _, err) = cli(&db.url, &["token", "create", "--org", "acme"]);
    assert!(!ok && err.contains("--label"), "{err}");
    let (ok, _, err) = cli(
        &db.url,
        &["client", "create", "--org", "acme", "--label", " "],
    );
    assert!(!ok && err.contains("--label is 1-255 characters"), "{err}");
    let (ok, _, err) = cli(
        &db.url,
        &[
            "token", "create", "--label", "test", "--org", "acme", "--scopes", "root",
        ],
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
    let admin = parse(&run(&[
        "token",
        "create",
        "--label",
        "test",
        "--id",
        "tok_default",
        "--secret",
        "default-admin-0123456789",
    ]))["secret"]
        .as_str()
        .unwrap()
        .to_string();
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
        "--label",
        "test",
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
            "--label",
            "test",
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
        &[
            "token", "create", "--label", "test", "--org", "acme-eu", "--user", &uid,
        ],
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

/// Four servers started at the same instant on one database nobody has opened yet: one
/// migrates, the others wait for it (SQLite: the migration's `BEGIN IMMEDIATE` and the busy
/// timeout; PostgreSQL: an advisory lock), and all four serve the same directory.
async fn four_processes_starting_on_one_new_database_all_serve(b: Backend) {
    let db = TestDb::new(&b);
    let env = [("MUSTER_BOOTSTRAP_TOKEN", "shared-admin-token-0123456")];
    let servers =
        futures_util::future::join_all((0..4).map(|_| Process::serve(&db.url, &[], &env))).await;
    let mut orgs = Vec::new();
    for p in &servers {
        let (status, me) = whoami(&p.base, "shared-admin-token-0123456").await;
        assert_eq!(status, 200, "{me}");
        orgs.push(me["organization"].clone());
    }
    assert!(
        orgs.iter().all(|o| *o == orgs[0] && !o.is_null()),
        "{orgs:?}"
    );
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
            "--label",
            "test",
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

/// A SCIM user of `default` made through `base` (as the bootstrap token `token`): its id.
async fn scim_user_at(base: &str, token: &str, body: Value) -> String {
    let mut body = body;
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    let r = reqwest::Client::new()
        .post(format!("{base}/scim/v2/Users"))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// Behind a load balancer that is not sticky, the console's next request may reach another
/// instance: a bulk job started on one is followed to its end on the other, and an import
/// previewed on one is confirmed on the other, exactly once however often and wherever it
/// is confirmed. Neither is found by another admin.
async fn console_jobs_and_imports_are_answered_by_every_instance(b: Backend) {
    use common::console::Console;
    const TOKEN: &str = "shared-admin-token-0123456";
    let db = TestDb::new(&b);
    let env = [("MUSTER_BOOTSTRAP_TOKEN", TOKEN)];
    let (first, second) = tokio::join!(
        Process::serve(&db.url, &[], &env),
        Process::serve(&db.url, &[], &env)
    );
    for name in ["ada", "bob"] {
        scim_user_at(
            &first.base,
            TOKEN,
            json!({"userName": name, "password": "correct horse 1"}),
        )
        .await;
        let (ok, _, err) = cli(&db.url, &["user", "grant-admin", name]);
        assert!(ok, "{err}");
    }
    // Ada's one session, through either instance.
    let mut one = Console::new(&first.base);
    let r = one.sign_in("default", "ada", "correct horse 1").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mut two = Console::new(&second.base);
    two.cookie = one.cookie.clone();
    // Bob, another admin of the organization.
    let mut bob = Console::new(&second.base);
    assert_eq!(
        bob.sign_in("default", "bob", "correct horse 1")
            .await
            .status,
        303
    );

    // More users than a chunk, so the job's row is written several times.
    let workers = 230;
    for i in 0..workers {
        scim_user_at(
            &first.base,
            TOKEN,
            json!({"userName": format!("worker{i:03}")}),
        )
        .await;
    }
    let users = || {
        query_text(&db, "SELECT CAST(COUNT(*) AS TEXT) AS text FROM users")[0]
            .parse::<i64>()
            .unwrap()
    };
    assert_eq!(users(), 2 + workers);

    // Started on the first, followed on the second.
    let r = one
        .post(
            "/console/users/bulk",
            &[("action", "suspend"), ("scope", "all"), ("q", "worker")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let job = r.location().to_string();
    assert!(job.starts_with("/console/jobs/"), "{job}");
    let done = two.wait_for_job(&job).await;
    done.has(&format!("Done: {workers} users suspended."));
    assert_eq!(one.get(&job).await.status, 200);
    assert_eq!(bob.get(&job).await.status, 404, "another admin's job");
    let suspended = query_text(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) AS text FROM users WHERE active = FALSE",
    );
    assert_eq!(suspended[0], workers.to_string());
    // One row for the job, whichever instance reads it.
    let rows = query_text(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) AS text FROM console_work WHERE kind = 'job'",
    );
    assert_eq!(rows[0], "1");

    // Previewed on the first, confirmed on the second, then again on the first: once.
    let file = "userName,email,groups\ncarol,carol@example.com,pilots\ndave,dave@example.com,\nerin,not an email,\n";
    let r = one
        .post_file("/console/users/import", "people.csv", file)
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let preview = r.location().to_string();
    two.get(&preview)
        .await
        .has("2 users can be added; 1 row has errors")
        .has("Groups to create: pilots.");
    assert_eq!(
        bob.get(&preview).await.status,
        404,
        "another admin's import"
    );
    assert_eq!(bob.post(&preview, &[]).await.status, 404);
    let before = users();
    let r = two.post(&preview, &[]).await;
    assert_eq!(
        (r.status, r.location()),
        (303, preview.as_str()),
        "{}",
        r.body
    );
    assert_eq!(users(), before + 2);
    let r = one.post(&preview, &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(users(), before + 2, "a second confirmation writes nothing");
    one.get(&preview).await.has("Imported: 2 users added.");

    // Two confirmations at once, one on each instance: one import.
    let file = "userName\nfrank\ngrace\nheidi\n";
    let r = two
        .post_file("/console/users/import", "more.csv", file)
        .await;
    let preview = r.location().to_string();
    let before = users();
    let (a, b2) = tokio::join!(one.post(&preview, &[]), two.post(&preview, &[]));
    assert_eq!((a.status, b2.status), (303, 303), "{} {}", a.body, b2.body);
    assert_eq!(users(), before + 3, "written once");
    let created = query_text(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) AS text FROM audit_entries WHERE key LIKE '%User.Create' \
         AND dialect = 'console'",
    );
    assert_eq!(created[0], "5", "two users, then three: each once");
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

/// `muster serve --bind BIND` with its stderr to `stderr`, stdout discarded.
fn spawn_serve(db_url: &str, bind: &str, stderr: std::process::Stdio) -> std::process::Child {
    std::process::Command::new(muster_bin())
        .args(["serve", "--bind", bind])
        .env("DATABASE_URL", db_url)
        .env("MUSTER_BCRYPT_COST", "4")
        .env("MUSTER_ALLOW_WEAK_BCRYPT", "true")
        .env("RUST_LOG", "info")
        .env_remove("MUSTER_BOOTSTRAP_TOKEN")
        .env_remove("MUSTER_BOOTSTRAP_TOKEN_FILE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn muster")
}

/// Wait until `{base}/healthz` answers 200 with a JSON body; the body. Fails when `child`
/// exits first.
async fn healthz(child: &mut std::process::Child, base: &str) -> Value {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("muster exited with {status} before answering /healthz");
        }
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return r.json().await.expect("/healthz answers JSON");
            }
        }
        assert!(Instant::now() < deadline, "muster did not become healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `muster org list | head -0`: the reader has gone before the first line; the command
/// stops quietly with status 141 (as if killed by SIGPIPE), without a panic.
async fn a_reader_closing_early_ends_a_command_without_a_panic(b: Backend) {
    let db = TestDb::new(&b);
    assert!(cli(&db.url, &["migrate"]).0);
    let (ok, out, err) = cli(&db.url, &["org", "list"]);
    assert!(ok && out.contains("\"default\""), "{out}{err}");
    for args in [
        &["org", "list"][..],
        &["token", "list", "--org", "default"][..],
    ] {
        let mut child = std::process::Command::new(muster_bin())
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("RUST_LOG", "warn")
            .env(
                "MUSTER_BOOTSTRAP_TOKEN",
                "a-bootstrap-token-listed-by-token-list",
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader closes its end at once
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
    }
}

/// `muster serve 2>&1 | head`: once the reader of the log has gone, the server keeps
/// serving (log lines are dropped) instead of panicking on the closed stderr.
async fn serve_keeps_answering_when_its_stderr_is_closed(b: Backend) {
    let db = TestDb::new(&b);
    let port = free_port();
    let mut child = spawn_serve(
        &db.url,
        &format!("127.0.0.1:{port}"),
        std::process::Stdio::piped(),
    );
    drop(child.stderr.take()); // closed before the first log line
    let base = format!("http://127.0.0.1:{port}");
    let body = healthz(&mut child, &base).await;
    assert!(body.is_object(), "{body}");
    let http = reqwest::Client::new();
    for _ in 0..20 {
        // Requests that log (an unauthorized call is logged at info or warn).
        let r = http
            .get(format!("{base}/admin/v1/whoami"))
            .bearer_auth("mst_not_a_token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    assert_eq!(healthz(&mut child, &base).await, body);
    assert!(child.try_wait().unwrap().is_none(), "the server exited");
    let _ = child.kill();
    let _ = child.wait();
}

/// A RUST_LOG that does not parse is an error at start naming the value and the reason,
/// for `serve` and for a command alike, not silently replaced by `info`.
async fn an_invalid_rust_log_is_refused_at_start(b: Backend) {
    let db = TestDb::new(&b);
    assert!(cli(&db.url, &["migrate"]).0);
    for args in [
        &["org", "list"][..],
        &["serve", "--bind", "127.0.0.1:0"][..],
    ] {
        let out = std::process::Command::new(muster_bin())
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("RUST_LOG", "muster=loud")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: invalid RUST_LOG \"muster=loud\": "),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("\"warn\""), "the valid levels: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A valid one with a target works.
    let out = std::process::Command::new(muster_bin())
        .args(["org", "list"])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn,muster=debug")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"default\""), "{stdout}");
}

/// `--bind localhost:PORT`: a host name is resolved (its IPv4 address first).
async fn bind_accepts_a_host_name(b: Backend) {
    let db = TestDb::new(&b);
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut child = spawn_serve(
        &db.url,
        &format!("localhost:{port}"),
        std::fs::File::create(&log).unwrap().into(),
    );
    let body = healthz(&mut child, &format!("http://127.0.0.1:{port}")).await;
    assert!(body.is_object(), "{body}");
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")),
        "the resolved address is logged: {stderr}"
    );
    let _ = child.kill();
    let _ = child.wait();
    // A name that does not resolve is refused, naming it.
    let out = std::process::Command::new(muster_bin())
        .args(["serve", "--bind", "no-such-host.invalid:8080"])
        .env("DATABASE_URL", &db.url)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("cannot resolve \"no-such-host.invalid:8080\""),
        "{stderr}"
    );
}
