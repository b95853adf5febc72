//! Running it (issue 30), over the real binary: database errors at once and precise, a
//! database that is not Muster's, `usage load` twice, on/off words, `copy` onto itself, help
//! text for every flag, the command line's JSON as the API's, the logs, a closed pipe under
//! `export`, a full disk, the SQLite file deleted under the server, SIGTERM during a long
//! poll, and the `process_*` metrics.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};

both_backends!(
    a_database_that_cannot_be_opened_fails_at_once_naming_it,
    a_database_that_is_not_musters_is_refused_unless_adopted,
    loading_the_same_usage_file_twice_changes_nothing,
    copy_refuses_the_same_database_however_it_is_spelled,
    the_command_line_prints_credentials_and_organizations_as_the_api_does,
    export_into_a_closed_pipe_exits_141,
    writes_are_refused_once_the_database_is_deleted_under_the_server,
    sigterm_answers_open_long_polls_at_once,
);

const TOKEN: &str = "ops-admin-token-0123456789";

/// Run `muster ARGS` with `env` (nothing inherited of DATABASE_URL or the bootstrap
/// variables): (exit code, stdout, stderr, how long it took).
fn run(env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String, Duration) {
    let mut cmd = std::process::Command::new(muster_bin());
    without_inherited_setup(cmd.args(args));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output().expect("run muster");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// Whether this machine lets the tests make a private mount (a read-only folder, a small
/// disk) with `unshare -m`, as root.
fn can_mount() -> bool {
    std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt"])
        .status()
        .is_ok_and(|s| s.success())
}

/// A command (and `serve` at start) that cannot open its database says why at once: no
/// five seconds of pool retries ending in a timeout, and the file or host is named.
async fn a_database_that_cannot_be_opened_fails_at_once_naming_it(b: Backend) {
    let fails_fast = |url: &str, args: &[&str], says: &[&str]| {
        let (code, _, err, took) = run(&[("DATABASE_URL", url)], args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        for s in says {
            assert!(err.contains(s), "{args:?} should say {s:?}: {err}");
        }
        assert!(!err.contains("timed out"), "{err}");
        assert!(
            took < Duration::from_millis(2500),
            "{args:?} took {took:?}: {err}"
        );
    };
    match &b {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            // A file that is not a database.
            let corrupt = dir.path().join("corrupt.db");
            std::fs::write(&corrupt, vec![0x5a; 8192]).unwrap();
            let url = format!("sqlite://{}", corrupt.display());
            for args in [&["org", "list"][..], &["migrate"], &["serve"]] {
                fails_fast(
                    &url,
                    args,
                    &[&corrupt.display().to_string(), "file is not a database"],
                );
            }
            // A folder that does not exist.
            let missing = dir.path().join("no-such-folder/muster.db");
            fails_fast(
                &format!("sqlite://{}", missing.display()),
                &["migrate"],
                &[
                    &missing.display().to_string(),
                    "Unable to open the database file",
                    "does its folder exist",
                ],
            );
            // A read-only folder (a read-only mount: root ignores file modes).
            if can_mount() {
                let ro = dir.path().join("ro");
                std::fs::create_dir(&ro).unwrap();
                let file = ro.join("muster.db");
                let script = format!(
                    "mount --bind {0} {0} && mount -o remount,bind,ro {0} && exec \"$@\"",
                    ro.display()
                );
                let started = Instant::now();
                let out = std::process::Command::new("unshare")
                    .args(["-m", "sh", "-c", &script, "sh", muster_bin(), "migrate"])
                    .env("DATABASE_URL", format!("sqlite://{}", file.display()))
                    .env("RUST_LOG", "warn")
                    .env_remove("MUSTER_BOOTSTRAP_TOKEN")
                    .output()
                    .unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(1), "{err}");
                assert!(err.contains(&file.display().to_string()), "{err}");
                assert!(err.contains("Unable to open the database file"), "{err}");
                assert!(started.elapsed() < Duration::from_millis(2500), "{err}");
            } else {
                eprintln!("no private mounts here: the read-only folder case is skipped");
            }
        }
        Backend::Postgres(admin) => {
            let mut missing = url::Url::parse(admin).unwrap();
            missing.set_path("/muster_no_such_database");
            fails_fast(
                missing.as_str(),
                &["org", "list"],
                &["database \"muster_no_such_database\" does not exist"],
            );
            fails_fast(
                missing.as_str(),
                &["serve", "--bind", "127.0.0.1:0"],
                &["database \"muster_no_such_database\" does not exist"],
            );
            let mut bad_host = url::Url::parse(admin).unwrap();
            bad_host.set_host(Some("no-such-host.invalid")).unwrap();
            fails_fast(bad_host.as_str(), &["migrate"], &["no-such-host.invalid"]);
        }
    }

    // A port in use names the address.
    let db = TestDb::new(&b);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err, _) = run(
        &[("DATABASE_URL", &db.url), ("MUSTER_BOOTSTRAP_TOKEN", TOKEN)],
        &["serve", "--bind", &addr],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("cannot listen on {addr}: the address is in use")),
        "{err}"
    );
}

/// Make a table of another application's in the test database.
fn foreign_table(db: &TestDb) {
    let sql = "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)";
    match &db.sqlite_path {
        Some(path) => diesel::SqliteConnection::establish(path.to_str().unwrap())
            .unwrap()
            .batch_execute(sql)
            .unwrap(),
        None => diesel::PgConnection::establish(&db.url)
            .unwrap()
            .batch_execute(sql)
            .unwrap(),
    }
}

fn has_table(db: &TestDb, table: &str) -> bool {
    let sql = match db.sqlite_path {
        Some(_) => format!("SELECT name AS text FROM sqlite_master WHERE name = '{table}'"),
        None => format!(
            "SELECT CAST(table_name AS TEXT) AS text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
    };
    !query_text(db, &sql).is_empty()
}

/// Muster does not add its tables to another application's database unless told to.
async fn a_database_that_is_not_musters_is_refused_unless_adopted(b: Backend) {
    let db = TestDb::new(&b);
    foreign_table(&db);
    let env = [("DATABASE_URL", db.url.as_str())];
    for args in [&["migrate"][..], &["serve", "--bind", "127.0.0.1:0"]] {
        let (code, _, err, _) = run(&env, args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains("is not a Muster database"), "{err}");
        assert!(err.contains("invoices"), "names the tables: {err}");
        assert!(err.contains("--adopt-database"), "says how: {err}");
        assert!(!has_table(&db, "organizations"), "nothing was changed");
    }
    // Told to (the variable takes yes), it adds its tables beside the others.
    let (code, out, err, _) = run(
        &[("DATABASE_URL", &db.url), ("MUSTER_ADOPT_DATABASE", "yes")],
        &["migrate"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("is up to date"), "{out}");
    assert!(has_table(&db, "organizations") && has_table(&db, "invoices"));
    // From then on it is Muster's: no flag needed.
    let (code, _, err, _) = run(&env, &["org", "list"]);
    assert_eq!(code, Some(0), "{err}");
    // An empty database is Muster's to make.
    let empty = TestDb::new(&b);
    let (code, _, err, _) = run(&[("DATABASE_URL", &empty.url)], &["migrate"]);
    assert_eq!(code, Some(0), "{err}");
}

/// `muster usage load` keys a record by organization, date, product variable and unit: the
/// same file twice changes nothing, a changed figure replaces the old one, and lines of one
/// file with one key add up.
async fn loading_the_same_usage_file_twice_changes_nothing(b: Backend) {
    let db = TestDb::new(&b);
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("MUSTER_BOOTSTRAP_TOKEN", TOKEN),
    ];
    assert_eq!(run(&env, &["migrate"]).0, Some(0));
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("usage.csv");
    std::fs::write(
        &csv,
        "date,product_variable,credits_used,unit\n\
         2026-11-01,continuous_ingest,10.5,GB\n\
         2026-11-02,metrics,3,DPM\n\
         2026-11-02,metrics,2,DPM\n",
    )
    .unwrap();
    let load = || {
        let (code, out, err, _) = run(
            &env,
            &["usage", "load", "--org", "default", csv.to_str().unwrap()],
        );
        assert_eq!(code, Some(0), "{err}");
        serde_json::from_str::<Value>(out.trim()).unwrap()
    };
    assert_eq!(
        load(),
        json!({"organization": "default", "inserted": 2, "replaced": 0, "unchanged": 0})
    );
    assert_eq!(
        load(),
        json!({"organization": "default", "inserted": 0, "replaced": 0, "unchanged": 2})
    );
    let p = Process::serve(&db.url, &[], &[("MUSTER_BOOTSTRAP_TOKEN", TOKEN)]).await;
    let listed = || async {
        let r = reqwest::Client::new()
            .get(format!(
                "{}/admin/v1/organizations/default/credit-usage",
                p.base
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        json(r, 200).await
    };
    assert_eq!(
        listed().await,
        json!([
            {"date": "2026-11-01", "productVariable": "continuous_ingest", "creditsUsed": 10.5, "unit": "GB"},
            {"date": "2026-11-02", "productVariable": "metrics", "creditsUsed": 5.0, "unit": "DPM"},
        ])
    );
    // A corrected figure replaces the record; the other is left as it was.
    std::fs::write(&csv, "2026-11-01,continuous_ingest,11,GB\n").unwrap();
    assert_eq!(
        load(),
        json!({"organization": "default", "inserted": 0, "replaced": 1, "unchanged": 0})
    );
    let now = listed().await;
    assert_eq!(now[0]["creditsUsed"], 11.0, "{now}");
    assert_eq!(now.as_array().unwrap().len(), 2, "{now}");
}

/// `muster copy` onto the database it copies from is refused, however the two are spelled.
async fn copy_refuses_the_same_database_however_it_is_spelled(b: Backend) {
    let db = TestDb::new(&b);
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("MUSTER_BOOTSTRAP_TOKEN", TOKEN),
    ];
    assert_eq!(run(&env, &["migrate"]).0, Some(0));
    let refused = |from: &str, to: &str, cwd: &std::path::Path| {
        let out = std::process::Command::new(muster_bin())
            .args(["copy", "--from", from, "--to", to])
            .current_dir(cwd)
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{from} → {to}: {err}");
        assert!(
            err.contains("--from and --to name the same database"),
            "{from} → {to}: {err}"
        );
    };
    match &db.sqlite_path {
        Some(path) => {
            let folder = path.parent().unwrap();
            let links = tempfile::tempdir().unwrap();
            let link = links.path().join("link");
            std::os::unix::fs::symlink(folder, &link).unwrap();
            let file_link = links.path().join("file-link.db");
            std::os::unix::fs::symlink(path, &file_link).unwrap();
            let plain = format!("sqlite://{}", path.display());
            refused(&plain, &plain, links.path());
            // Through a linked folder, a linked file, a relative path, and `..`.
            refused(
                &plain,
                &format!("sqlite://{}/muster.db", link.display()),
                links.path(),
            );
            refused(
                &format!("sqlite://{}", file_link.display()),
                &plain,
                links.path(),
            );
            refused(&plain, "sqlite://link/muster.db", links.path());
            refused(
                &plain,
                &format!(
                    "sqlite://{}/../{}/muster.db",
                    folder.display(),
                    folder.file_name().unwrap().to_str().unwrap()
                ),
                links.path(),
            );
        }
        None => {
            let mut other = url::Url::parse(&db.url).unwrap();
            let host = other.host_str().unwrap().to_string();
            let swapped = if host == "localhost" {
                "127.0.0.1"
            } else {
                "localhost"
            };
            other.set_host(Some(swapped)).unwrap();
            if other.port().is_none() {
                other.set_port(Some(5432)).unwrap();
            }
            let cwd = tempfile::tempdir().unwrap();
            refused(&db.url, &db.url, cwd.path());
            refused(&db.url, other.as_str(), cwd.path());
        }
    }
    // A different database is copied to.
    let target = TestDb::new(&b);
    let (code, _, err, _) = run(
        &[],
        &["copy", "--quiet", "--from", &db.url, "--to", &target.url],
    );
    assert_eq!(code, Some(0), "{err}");
}

/// The admin API's view of the same credential and organization, and the command line's:
/// the same JSON (camelCase names, the same time format, scopes as an array), the command
/// line adding only the organization a credential belongs to (and its secret at creation).
async fn the_command_line_prints_credentials_and_organizations_as_the_api_does(b: Backend) {
    let db = TestDb::new(&b);
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("MUSTER_BOOTSTRAP_TOKEN", TOKEN),
    ];
    let cli_json = |args: &[&str]| -> Vec<Value> {
        let (code, out, err, _) = run(&env, args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(run(&env, &["migrate"]).0, Some(0));
    let created = cli_json(&[
        "token",
        "create",
        "--id",
        "tok_compare",
        "--scopes",
        "scim users:read",
        "--label",
        "compare me",
    ]);
    assert_eq!(
        created[0]["secret"].as_str().map(|s| s.len() > 16),
        Some(true)
    );
    assert_eq!(created[0]["scopes"], json!(["scim", "users:read"]));
    assert!(created[0].get("created_at").is_none(), "{}", created[0]);
    let listed = cli_json(&["token", "list", "--org", "default"]);
    let cli_cred = listed
        .iter()
        .find(|c| c["id"] == "tok_compare")
        .unwrap()
        .clone();
    let orgs = cli_json(&["org", "list"]);

    let p = Process::serve(&db.url, &[], &[("MUSTER_BOOTSTRAP_TOKEN", TOKEN)]).await;
    let get = |path: &str| {
        let url = format!("{}{path}", p.base);
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            json(r, 200).await
        }
    };
    let api_creds = get("/admin/v1/credentials").await;
    let api_cred = api_creds
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "tok_compare")
        .unwrap()
        .clone();
    let mut expected = api_cred.clone();
    expected["organization"] = json!("default");
    assert_eq!(cli_cred, expected, "the CLI's (left) and the API's (right)");
    assert!(
        api_cred["createdAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == "2026-12-07T20:00:00.000Z".len()),
        "{api_cred}"
    );
    let mut created = created[0].clone();
    created.as_object_mut().unwrap().remove("secret");
    assert_eq!(created, expected, "at creation too, less the secret");
    let api_orgs = get("/admin/v1/organizations").await;
    assert_eq!(Value::Array(orgs), api_orgs);
}

/// `muster export | head -c1`: a small dump fits in the output buffer, so the closed pipe
/// shows only when it is flushed; the command then stops with 141 and no message, as the
/// others do, instead of 0 with its output lost.
async fn export_into_a_closed_pipe_exits_141(b: Backend) {
    let db = TestDb::new(&b);
    assert_eq!(
        run(
            &[("DATABASE_URL", &db.url), ("MUSTER_BOOTSTRAP_TOKEN", TOKEN)],
            &["migrate"]
        )
        .0,
        Some(0)
    );
    let (code, out, err, _) = run(&[("DATABASE_URL", &db.url)], &["export", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.len() < 60_000, "a small dump: {} bytes", out.len());
    let mut child = std::process::Command::new(muster_bin())
        .args(["export", "--quiet"])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(
        !stderr.contains("error") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

async fn post_user(base: &str, name: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/scim/v2/Users"))
        .bearer_auth(TOKEN)
        .header("content-type", SCIM_CT)
        .body(json!({"schemas": [USER], "userName": name}).to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The database deleted (SQLite: the file and its -wal and -shm; PostgreSQL: the database
/// dropped) under a running server: `/readyz` says so, and a write is refused with 503
/// instead of acknowledged into a file no one will open again. A file put back at the path
/// is another file: still refused, until a restart opens it.
async fn writes_are_refused_once_the_database_is_deleted_under_the_server(b: Backend) {
    let mut db = TestDb::new(&b);
    let p = Process::serve(&db.url, &[], &[("MUSTER_BOOTSTRAP_TOKEN", TOKEN)]).await;
    assert_eq!(post_user(&p.base, "before@example.com").await.0, 201);
    db.destroy();
    let http = reqwest::Client::new();
    let ready = http.get(format!("{}/readyz", p.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let (status, body) = post_user(&p.base, "after@example.com").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "503", "SCIM's error shape: {body}");
    if let Some(path) = &db.sqlite_path {
        // Another file at the path (as a restore would put there).
        std::fs::write(path, b"").unwrap();
        let (status, body) = post_user(&p.base, "again@example.com").await;
        assert_eq!(status, 503, "{body}");
        let log = p.stderr();
        assert_eq!(
            log.matches("was deleted or replaced under the running server")
                .count(),
            1,
            "said once:\n{log}"
        );
    }
}

/// SIGTERM while a consumer long-polls the change feed: the poll is answered at once with
/// an empty page and the position to poll on from, and the process exits, instead of
/// holding the shutdown for the whole wait.
async fn sigterm_answers_open_long_polls_at_once(b: Backend) {
    let db = TestDb::new(&b);
    let mut p = Process::serve(&db.url, &[], &[("MUSTER_BOOTSTRAP_TOKEN", TOKEN)]).await;
    assert_eq!(post_user(&p.base, "first@example.com").await.0, 201);
    // Past every event there is: the poll waits.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let last = loop {
        let r = http
            .get(format!("{}/admin/v1/events", p.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let page = json(r, 200).await;
        if page["lastSequence"].as_i64().unwrap_or(0) > 0 {
            break page["lastSequence"].as_i64().unwrap();
        }
        assert!(Instant::now() < deadline, "no event numbered: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let poll = http
        .get(format!("{}/admin/v1/events?after={last}&wait=60", p.base))
        .bearer_auth(TOKEN)
        .send();
    let poll = tokio::spawn(async move {
        let r = poll.await.unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap(), Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!poll.is_finished(), "the poll waits");
    let signalled = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let (status, page, answered) = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("the poll is answered")
        .unwrap();
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["events"], json!([]), "{page}");
    assert_eq!(page["next"], last, "{page}");
    assert_eq!(page["moreAvailable"], false, "{page}");
    assert!(
        answered - signalled < Duration::from_secs(3),
        "answered {:?} after the signal",
        answered - signalled
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "still running:\n{}", p.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit}: {}", p.stderr());
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "exited {:?} after the signal",
        signalled.elapsed()
    );
}

/// On/off variables and flags take 1/0/true/false/yes/no (and on/off), and refuse
/// anything else naming the words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_off_settings_take_the_usual_words() {
    let db = TestDb::new(&Backend::Sqlite);
    for word in ["yes", "1", "on", "TRUE"] {
        let p = Process::serve(
            &db.url,
            &[],
            &[
                ("MUSTER_ALLOW_WEAK_BCRYPT", word),
                ("MUSTER_BOOTSTRAP_TOKEN", TOKEN),
            ],
        )
        .await;
        let r = reqwest::get(format!("{}/healthz", p.base)).await.unwrap();
        assert_eq!(r.status(), 200, "{word}");
    }
    for word in ["no", "0", "false", "off"] {
        let (code, _, err, _) = run(
            &[
                ("DATABASE_URL", &db.url),
                ("MUSTER_BCRYPT_COST", "4"),
                ("MUSTER_ALLOW_WEAK_BCRYPT", word),
            ],
            &["serve", "--bind", "127.0.0.1:0"],
        );
        assert_eq!(code, Some(1), "{word}: {err}");
        assert!(err.contains("is below 10"), "{word}: {err}");
    }
    let (code, _, err, _) = run(
        &[
            ("DATABASE_URL", &db.url),
            ("MUSTER_ALLOW_WEAK_BCRYPT", "maybe"),
        ],
        &["serve", "--bind", "127.0.0.1:0"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("maybe"), "{err}");
    // A flag takes a word too: `--quiet=no` shows the progress lines, `--quiet=yes` not.
    let (code, _, err, _) = run(&[("DATABASE_URL", &db.url)], &["export", "--quiet=no"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.trim().is_empty(), "progress shown");
    let (code, _, err, _) = run(&[("DATABASE_URL", &db.url)], &["export", "--quiet=yes"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("users"), "no progress: {err}");
}

/// The subcommands `muster PATH… -h` lists.
fn subcommands(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if line.ends_with(':') && !line.starts_with(' ') {
            inside = line == "Commands:";
            continue;
        }
        if inside && line.starts_with("  ") && !line.starts_with("   ") {
            let name = line.split_whitespace().next().unwrap_or("");
            if !name.is_empty() && name != "help" {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// Every entry of the Arguments, Options and Commands sections of `help` that has no help
/// text, only its name and bracketed notes. clap puts an entry's text on its line after two
/// spaces, or on the lines below it indented further.
fn without_help(help: &str) -> Vec<String> {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if !line.starts_with(' ') {
            inside = matches!(line, "Arguments:" | "Options:" | "Commands:");
            continue;
        }
        if !inside || line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let entry = line.trim_start();
        match entries.last_mut() {
            Some((_, text)) if indent >= 10 => {
                text.push(' ');
                text.push_str(entry);
            }
            _ => {
                let (name, text) = entry.split_once("  ").unwrap_or((entry, ""));
                entries.push((name.trim().to_string(), text.to_string()));
            }
        }
    }
    entries
        .into_iter()
        .filter(|(_, text)| {
            let mut text = text.clone();
            // Drop the notes clap adds ([default: …], [env: …], [possible values: …]).
            while let (Some(a), Some(b)) = (text.find('['), text.find(']')) {
                if a > b {
                    break;
                }
                text.replace_range(a..=b, "");
            }
            text.trim().is_empty()
        })
        .map(|(name, _)| name)
        .collect()
}

/// `muster … -h` for every subcommand: each argument, option and subcommand has help text.
#[test]
fn every_flag_and_subcommand_has_help_text() {
    let mut todo = vec![Vec::<String>::new()];
    let mut seen = 0;
    let mut missing = Vec::new();
    while let Some(path) = todo.pop() {
        let out = std::process::Command::new(muster_bin())
            .args(&path)
            .arg("-h")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{path:?}: {help}");
        seen += 1;
        for name in without_help(&help) {
            missing.push(format!("muster {} {name}", path.join(" ")));
        }
        for sub in subcommands(&help) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
    }
    assert!(seen >= 20, "walked {seen} commands");
    assert!(missing.is_empty(), "no help text: {missing:#?}");
    // The walk would see one missing.
    assert_eq!(
        without_help("Options:\n      --label <LABEL>  [default: ]\n  -h, --help  Print help\n"),
        ["--label <LABEL>"]
    );
    assert_eq!(
        without_help(
            "Options:\n      --org <ORG>\n          Its organization\n      --label <LABEL>\n          \
             [default: \"\"]\n  -h, --help\n          Print help\n"
        ),
        ["--label <LABEL>"]
    );
}

/// The `served` line of a refused request carries its error code at `info`; its reason is
/// at `debug` only. `--log-format json` writes each line as one JSON object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_give_a_refusals_code_at_info_and_its_reason_at_debug() {
    let db = TestDb::new(&Backend::Sqlite);
    let refuse = |base: String| async move {
        let http = reqwest::Client::new();
        let r = http
            .get(format!("{base}/api/users/00000000000000ff"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = http
            .get(format!(
                "{base}/scim/v2/Users?filter=userName%20zz%20%22x%22"
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        json(r, 400).await["detail"].as_str().unwrap().to_string()
    };
    // Text, at info: codes, no reasons.
    let p = Process::serve(&db.url, &[], &[("MUSTER_BOOTSTRAP_TOKEN", TOKEN)]).await;
    let detail = refuse(p.base.clone()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = p.stderr();
    let served: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("served") && l.contains("status=4"))
        .collect();
    assert_eq!(served.len(), 2, "{log}");
    assert!(
        served[0].contains("code=\"entity.not_found\"")
            || served[0].contains("code=entity.not_found"),
        "{log}"
    );
    assert!(served[1].contains("invalidFilter"), "{log}");
    assert!(!log.contains(&detail), "no reason at info: {log}");
    drop(p);

    // JSON, at debug: one object a line; the reason too.
    let p = Process::serve(
        &db.url,
        &["--log-format", "json"],
        &[("MUSTER_BOOTSTRAP_TOKEN", TOKEN), ("RUST_LOG", "debug")],
    )
    .await;
    let detail = refuse(p.base.clone()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = p.stderr();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let served: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "served" && l["status"].as_u64().is_some_and(|s| s >= 400))
        .collect();
    assert_eq!(served.len(), 2, "{log}");
    assert_eq!(served[0]["level"], "INFO");
    assert_eq!(served[0]["code"], "entity.not_found", "{}", served[0]);
    assert_eq!(served[1]["code"], "invalidFilter", "{}", served[1]);
    assert!(served[1]["span"]["request_id"].is_string(), "{}", served[1]);
    let refused: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "refused" && l["level"] == "DEBUG")
        .collect();
    assert!(
        refused.iter().any(|l| l["reason"] == detail.as_str()),
        "the reason at debug: {log}"
    );
}

/// `/metrics` in the exposition format's content type, with the `process_*` families every
/// Prometheus client exports, read from /proc.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_include_the_process_families() {
    let db = TestDb::new(&Backend::Sqlite);
    let p = Process::serve(&db.url, &[], &[("MUSTER_BOOTSTRAP_TOKEN", TOKEN)]).await;
    let r = reqwest::get(format!("{}/metrics", p.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    let value = |name: &str| -> f64 {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "no TYPE line for {name}"
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name}:\n{text}"))
            .parse()
            .unwrap()
    };
    let pid = p.child.id();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let max: f64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(value("process_max_fds"), max);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as f64;
    let open = value("process_open_fds");
    assert!(open >= 5.0 && (open - fds).abs() <= 4.0, "{open} vs {fds}");
    assert!(value("process_resident_memory_bytes") > 1e6);
    assert!(value("process_virtual_memory_bytes") > value("process_resident_memory_bytes"));
    let cpu = value("process_cpu_seconds_total");
    assert!(cpu > 0.0 && cpu < 600.0, "{cpu}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = value("process_start_time_seconds");
    assert!(
        started <= now && now - started < 120.0,
        "{started} vs {now}"
    );
    assert!(text.contains("# TYPE process_cpu_seconds_total counter"));
}

/// One write in `dialect`: its status, `Retry-After`, path and body.
async fn full_disk_write(
    base: &str,
    dialect: &str,
    n: usize,
    adobe_token: &str,
) -> (u16, Option<String>, String, Value) {
    let http = reqwest::Client::new();
    let email = format!("{dialect}-{n}@full.example");
    let r = match dialect {
        "scim" => http
            .post(format!("{base}/scim/v2/Users"))
            .bearer_auth(TOKEN)
            .header("content-type", SCIM_CT)
            .body(json!({"schemas": [USER], "userName": email}).to_string()),
        "logto" => http
            .post(format!("{base}/api/users"))
            .bearer_auth(TOKEN)
            .json(&json!({"primaryEmail": email})),
        "domo" => http
            .post(format!("{base}/v1/users"))
            .bearer_auth(TOKEN)
            .json(&json!({"name": "Full Disk", "email": email, "role": "Participant"})),
        "sumo" => http
            .post(format!("{base}/api/v1/users"))
            .basic_auth("full-client", Some("full-client-secret-0123456789"))
            .json(&json!({"firstName": "Full", "lastName": "Disk", "email": email, "roleIds": []})),
        "adobe" => http
            .post(format!("{base}/v2/usermanagement/action/default@AdobeOrg"))
            .bearer_auth(adobe_token)
            .header("X-Api-Key", "full-client")
            .json(&json!([{"user": email, "do": [{"createFederatedID": {
                "email": email, "firstname": "Full", "lastname": "Disk", "country": "US"}}]}])),
        "admin" => http
            .post(format!("{base}/admin/v1/credentials"))
            .bearer_auth(TOKEN)
            .json(&json!({"kind": "token", "label": email, "scopes": "scim"})),
        other => unreachable!("{other}"),
    };
    crate::overload::send(r).await
}

/// A full disk (SQLite on a small tmpfs, filled up from outside): every dialect's write is
/// refused with 503, `Retry-After` and its own error shape, reads go on, the episode is
/// logged once; once there is room, writes succeed again and the log says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_503_with_retry_after_in_each_dialect() {
    if !can_mount() {
        eprintln!("no private mounts here (unshare -m): skipped");
        return;
    }
    // The database made outside, with a client for Sumo; copied into an 8 MB tmpfs.
    let db = TestDb::new(&Backend::Sqlite);
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("MUSTER_BOOTSTRAP_TOKEN", TOKEN),
    ];
    assert_eq!(run(&env, &["migrate"]).0, Some(0));
    let (code, _, err, _) = run(
        &env,
        &[
            "client",
            "create",
            "--label",
            "test",
            "--id",
            "full-client",
            "--secret",
            "full-client-secret-0123456789",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let disk = tempfile::tempdir().unwrap();
    let d = disk.path().display().to_string();
    let script = format!(
        "mount -t tmpfs -o size=8m none {d} && cp {} {d}/muster.db && exec \"$@\"",
        db.sqlite_path.as_ref().unwrap().display()
    );
    let url = format!("sqlite://{d}/muster.db");
    let p = Process::serve_through(
        &["unshare", "-m", "sh", "-c", &script, "sh"],
        &url,
        &[],
        &[("MUSTER_BOOTSTRAP_TOKEN", TOKEN)],
    )
    .await;
    let r = reqwest::Client::new()
        .post(format!("{}/ims/token/v3", p.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "full-client"),
            ("client_secret", "full-client-secret-0123456789"),
            ("scope", "openid,AdobeID,user_management_sdk"),
        ])
        .send()
        .await
        .unwrap();
    let adobe = json(r, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    const DIALECTS: [&str; 6] = ["scim", "logto", "domo", "sumo", "adobe", "admin"];
    for dialect in DIALECTS {
        let (status, _, _, body) = full_disk_write(&p.base, dialect, 0, &adobe).await;
        assert!(status == 200 || status == 201, "{dialect}: {status} {body}");
    }
    // Fill the disk, from outside, through the server's view of its mounts.
    let filler = format!("/proc/{}/root{d}/filler", p.child.id());
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.flush();
    }
    for n in 1..=2 {
        for dialect in DIALECTS {
            let (status, retry, path, body) = full_disk_write(&p.base, dialect, n, &adobe).await;
            assert_eq!(status, 503, "{dialect}: {body}");
            assert_eq!(retry.as_deref(), Some("1"), "{dialect}");
            let message = crate::overload::unavailable_message(dialect, &path, &body);
            assert!(
                message
                    .as_str()
                    .is_some_and(|m| m.contains("unavailable") || m.contains("busy")),
                "{dialect}: {body}"
            );
        }
    }
    // Reads go on.
    let r = reqwest::Client::new()
        .get(format!("{}/scim/v2/Users?count=1", p.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = p.stderr();
    assert_eq!(
        log.matches("no room left on its disk").count(),
        1,
        "one line for the episode:\n{log}"
    );
    assert!(!log.contains("internal error"), "{log}");
    // Room again: writes succeed, nothing was half-written.
    std::fs::remove_file(&filler).unwrap();
    for dialect in DIALECTS {
        let (status, _, _, body) = full_disk_write(&p.base, dialect, 9, &adobe).await;
        assert!(status == 200 || status == 201, "{dialect}: {status} {body}");
    }
    let log = p.stderr();
    assert_eq!(log.matches("has room again").count(), 1, "{log}");
    let r = reqwest::Client::new()
        .get(format!(
            "{}/scim/v2/Users?filter=userName%20sw%20%22scim-%22",
            p.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let names: Vec<String> = json(r, 200).await["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 2, "the refused writes left nothing: {names:?}");
}
