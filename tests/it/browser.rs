//! The web console in a real browser: headless Chromium, driven over WebDriver (chromedriver,
//! fantoccini), against the real `muster` binary, on SQLite and PostgreSQL. Each step checks
//! what the page shows and what SCIM and Logto then answer over HTTP.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); without
//! `chromedriver` (at /usr/bin, or at `MUSTER_CHROMEDRIVER`) the test says so and passes,
//! unless `MUSTER_REQUIRE_BROWSER` is set (as `.ci/run` sets it).
//! Screenshots of the main pages go to `target/console-screenshots/`, and also to the
//! directory `MUSTER_CONSOLE_SCREENSHOTS` names (the README's come from
//! `MUSTER_CONSOLE_SCREENSHOTS=docs/console`).

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

both_backends!(
    an_admin_works_through_the_console_in_a_browser,
    an_admin_adds_acts_on_many_and_moves_users_by_csv_in_a_browser,
);

fn chromedriver_path() -> Option<String> {
    if let Ok(p) = std::env::var("MUSTER_CHROMEDRIVER") {
        return Some(p);
    }
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(path: &str) -> Driver {
        let port = free_port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = reqwest::Client::new();
        while http.get(format!("{url}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    browser_with(driver, profile, &[]).await
}

/// A browser with extra command-line switches (a dark color scheme).
async fn browser_with(driver: &Driver, profile: &std::path::Path, extra: &[&str]) -> Client {
    // Two providers are compiled in (through different crates): pick one for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,860",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend(extra.iter().map(|a| a.to_string()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": std::env::var("MUSTER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": args,
        }),
    );
    ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

struct Shots {
    dirs: Vec<std::path::PathBuf>,
    backend: &'static str,
}

impl Shots {
    /// Save the page as `name.png` (the SQLite run only writes the docs' copies).
    async fn take(&self, c: &Client, name: &str) {
        let png = c.screenshot().await.expect("screenshot");
        for (i, d) in self.dirs.iter().enumerate() {
            if i > 0 && self.backend != "sqlite" {
                continue;
            }
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join(format!("{name}.png")), &png).unwrap();
        }
    }
}

async fn text_of(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

/// Click something that loads a page, and wait until the new page has loaded (so nothing
/// is read off the old one).
async fn click_el(c: &Client, e: fantoccini::elements::Element) {
    c.execute("window.__musterOld = true; return true;", vec![])
        .await
        .unwrap();
    e.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let done = c
            .execute(
                "return window.__musterOld === undefined && document.readyState === 'complete';",
                vec![],
            )
            .await
            .map(|v| v == Value::Bool(true))
            .unwrap_or(false);
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "no new page after a click");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn click(c: &Client, css: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    click_el(c, e).await;
}

async fn click_link(c: &Client, text: &str) {
    let e = c
        .find(Locator::LinkText(text))
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    click_el(c, e).await;
}

async fn path_of(c: &Client) -> String {
    let u = c.current_url().await.unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn scim_post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/scim/v2{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        json(r, 201).await
    }

    /// A request with a JSON body: bearer `auth`, or Basic `id:secret` when it has a colon.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: &str,
        body: Value,
    ) -> (u16, Value) {
        let r = self.http.request(method, format!("{}{path}", self.base));
        let r = match auth.split_once(':') {
            Some((id, secret)) => r.basic_auth(id, Some(secret)),
            None => r.bearer_auth(auth),
        };
        let r = if body.is_null() { r } else { r.json(&body) };
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn verify(&self, id: &str, password: &str) -> u16 {
        self.http
            .post(format!("{}/api/users/{id}/password/verify", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "password": password }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

async fn an_admin_works_through_the_console_in_a_browser(b: Backend) {
    let Some(driver_path) = chromedriver_path() else {
        assert!(
            std::env::var_os("MUSTER_REQUIRE_BROWSER").is_none(),
            "MUSTER_REQUIRE_BROWSER is set but chromedriver is missing"
        );
        eprintln!(
            "chromedriver not found (apt-get install chromium chromium-driver): browser test skipped"
        );
        return;
    };
    let backend = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    };
    let db = TestDb::new(&b);
    let server = Process::serve(&db.url, &["--bootstrap-token", ADMIN_TOKEN], &[]).await;
    let api = Api {
        base: server.base.clone(),
        http: reqwest::Client::new(),
    };
    let user = |name: &str, given: &str, family: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name, "password": "correct horse 1",
            "name": {"givenName": given, "familyName": family},
            "displayName": format!("{given} {family}"),
            "emails": [{"value": format!("{name}@example.com"), "type": "work", "primary": true}],
            "title": "Engineer"
        })
    };
    api.scim_post("/Users", user("ada", "Ada", "Lovelace"))
        .await;
    let grace = api
        .scim_post("/Users", user("grace", "Grace", "Brewster"))
        .await;
    let grace_id = grace["id"].as_str().unwrap().to_string();
    for (n, g, f) in [
        ("alan", "Alan", "Turing"),
        ("barbara", "Barbara", "Liskov"),
        ("edsger", "Edsger", "Dijkstra"),
        ("katherine", "Katherine", "Johnson"),
        ("ken", "Ken", "Thompson"),
        ("margaret", "Margaret", "Hamilton"),
    ] {
        api.scim_post("/Users", user(n, g, f)).await;
    }
    let pilots = api
        .scim_post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "pilots"}),
        )
        .await;
    let pilots_id = pilots["id"].as_str().unwrap().to_string();
    let (ok, _, err) = cli(&db.url, &["user", "grant-admin", "--org", "default", "ada"]);
    assert!(ok, "{err}");

    let driver = Driver::start(&driver_path).await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("../console-screenshots")
        .join(backend)];
    if let Ok(d) = std::env::var("MUSTER_CONSOLE_SCREENSHOTS") {
        dirs.push(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(d));
    }
    let shots = Shots { dirs, backend };
    let base = server.base.clone();

    // Sign in: an unknown session goes to the form; a wrong password says so.
    c.goto(&format!("{base}/console/")).await.unwrap();
    assert_eq!(path_of(&c).await, "/console/login");
    shots.take(&c, "sign-in").await;
    fill(&c, "#f-org", "default").await;
    fill(&c, "#f-login", "ada").await;
    fill(&c, "#f-password", "not her password").await;
    click(&c, "form[aria-label='Sign in with a password'] button").await;
    assert!(text_of(&c, "#signin-error")
        .await
        .contains("Wrong organization"));
    fill(&c, "#f-org", "default").await;
    fill(&c, "#f-login", "ada").await;
    fill(&c, "#f-password", "correct horse 1").await;
    click(&c, "form[aria-label='Sign in with a password'] button").await;
    assert_eq!(path_of(&c).await, "/console/");
    assert_eq!(text_of(&c, "span.who").await, "ada");
    // The dashboard: counts, the chart, the latest changes, requests by dialect.
    assert_eq!(text_of(&c, "a.stat:first-child .n").await, "8");
    assert_eq!(text_of(&c, "a.stat:nth-child(3) .n").await, "0");
    assert!(c.find(Locator::Css("svg.chart rect")).await.is_ok());
    let latest = text_of(&c, "table[aria-labelledby=latest-h] tbody tr").await;
    assert!(
        latest.contains("Admin.User.Role.Assign") || latest.contains("Role"),
        "{latest}"
    );
    shots.take(&c, "dashboard").await;
    click(&c, "nav[aria-label=Sections] a[href='/console/users']").await;
    let rows = c
        .find_all(Locator::Css("table.list tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 8);
    shots.take(&c, "users").await;

    // Search.
    fill(&c, "#f-q", "BREWSTER").await;
    click(&c, "form.search button[type=submit]").await;
    let rows = c
        .find_all(Locator::Css("table.list tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].text().await.unwrap().contains("grace@example.com"));

    // Open the user.
    click_link(&c, "grace").await;
    assert_eq!(path_of(&c).await, format!("/console/users/{grace_id}"));
    assert!(text_of(&c, "h1").await.starts_with("grace"));
    assert!(text_of(&c, "h1 .badge").await.contains("Active"));

    // Edit a field (and see a validation message first).
    fill(&c, "#f-email", "grace at navy").await;
    click(&c, "section[aria-labelledby=edit-h] form.card button").await;
    assert!(text_of(&c, "#f-email-error")
        .await
        .contains("Enter an email address"));
    let (_, u) = api
        .get(&format!("/scim/v2/Users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(
        u["emails"][0]["value"], "grace@example.com",
        "nothing written"
    );
    fill(&c, "#f-email", "grace@navy.example").await;
    fill(&c, "#f-family_name", "Hopper").await;
    fill(&c, "#f-display_name", "Grace Hopper").await;
    click(&c, "section[aria-labelledby=edit-h] form.card button").await;
    assert_eq!(text_of(&c, "p.notice").await, "Changes saved.");
    let (_, u) = api
        .get(&format!("/scim/v2/Users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(u["name"]["familyName"], "Hopper");
    assert_eq!(u["emails"][0]["value"], "grace@navy.example");
    let (_, l) = api
        .get(&format!("/api/users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(l["name"], "Grace Hopper");
    assert_eq!(l["primaryEmail"], "grace@navy.example");

    // An edit that meets a newer change from SCIM: refused, and the form shows the fresh
    // values (with their version) instead of undoing the change between.
    fill(&c, "#f-title", "Rear Admiral").await;
    api.send(
        reqwest::Method::PATCH,
        &format!("/scim/v2/Users/{grace_id}"),
        ADMIN_TOKEN,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "title", "value": "Commodore"}]}),
    )
    .await;
    click(&c, "section[aria-labelledby=edit-h] form.card button").await;
    assert!(text_of(&c, "p.error")
        .await
        .contains("changed since you opened it"));
    let shown = c
        .find(Locator::Css("#f-title"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(shown.as_deref(), Some("Commodore"));
    let (_, u) = api
        .get(&format!("/scim/v2/Users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(u["title"], "Commodore", "the newer change stays");
    shots.take(&c, "user-conflict").await;
    c.goto(&format!("{base}/console/users/{grace_id}"))
        .await
        .unwrap();

    // Suspend: the page asks first, saying what it does.
    click(&c, "a[href$='/active?to=false']").await;
    assert!(text_of(&c, "h1").await.starts_with("Suspend grace?"));
    shots.take(&c, "confirm-suspend").await;
    let (_, u) = api
        .get(&format!("/scim/v2/Users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(u["active"], true, "asking changes nothing");
    click(&c, "form.confirm button.danger").await;
    assert_eq!(text_of(&c, "p.notice").await, "User suspended.");
    assert_eq!(text_of(&c, "h1 .badge").await, "Suspended");
    let (_, u) = api
        .get(&format!("/scim/v2/Users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(u["active"], false);
    let (_, l) = api
        .get(&format!("/api/users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(l["isSuspended"], true);

    // Reset the password: generated, shown once.
    click(&c, "button[name=mode][value=generate]").await;
    let generated = text_of(&c, "#generated-secret").await;
    assert_eq!(generated.len(), 20);
    // The copy button appears only with JavaScript (it is hidden in the HTML).
    assert!(c
        .find(Locator::Css("button.copy"))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap());
    assert_eq!(api.verify(&grace_id, &generated).await, 204);
    assert_eq!(api.verify(&grace_id, "correct horse 1").await, 422);
    // The form redirected (post/redirect/get): a reload shows the page again without the
    // password, and sets none.
    assert_eq!(
        path_of(&c).await,
        format!("/console/users/{grace_id}?done=password")
    );
    c.refresh().await.unwrap();
    assert_eq!(text_of(&c, "p.notice").await, "Password set.");
    assert!(
        c.find(Locator::Css("#generated-secret")).await.is_err(),
        "shown once"
    );
    assert_eq!(
        api.verify(&grace_id, &generated).await,
        204,
        "not set again"
    );
    let sets = query_text(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) AS text FROM audit_entries WHERE key = 'Console.User.Password'",
    );
    assert_eq!(sets, vec!["1".to_string()]);
    let activity = text_of(&c, "section[aria-labelledby=activity-h] tbody tr").await;
    assert!(activity.contains("Console.User.Password"), "{activity}");
    shots.take(&c, "user").await;

    // Remove an identity (linked through Logto), then see the user as each API does.
    let (status, _) = api
        .send(
            reqwest::Method::PUT,
            &format!("/api/users/{grace_id}/identities/github"),
            ADMIN_TOKEN,
            json!({"userId": "gh-grace"}),
        )
        .await;
    assert_eq!(status, 201);
    c.goto(&format!("{base}/console/users/{grace_id}"))
        .await
        .unwrap();
    click(&c, "a[aria-label='Remove identity github']").await;
    click(&c, "form.confirm button.danger").await;
    assert_eq!(text_of(&c, "p.notice").await, "Identity removed.");
    let (_, l) = api
        .get(&format!("/api/users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(l["identities"], json!({}));
    click_link(&c, "How each API sees this user").await;
    assert_eq!(path_of(&c).await, format!("/console/users/{grace_id}/apis"));
    let panes = c.find_all(Locator::Css("section.api")).await.unwrap();
    assert_eq!(panes.len(), 5);
    let scim_pane = text_of(&c, "section.api[aria-label=SCIM] pre").await;
    let shown: Value = serde_json::from_str(&scim_pane).unwrap();
    let (_, u) = api
        .get(&format!("/scim/v2/Users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(shown, u);
    let logto_pane = text_of(&c, "section.api[aria-label=Logto] pre").await;
    let shown: Value = serde_json::from_str(&logto_pane).unwrap();
    assert_eq!(shown["isSuspended"], true);
    assert_eq!(shown["primaryEmail"], "grace@navy.example");
    shots.take(&c, "user-apis").await;

    // Add a group member, searching as you type.
    click(&c, "nav[aria-label=Sections] a[href='/console/groups']").await;
    click_link(&c, "pilots").await;
    c.find(Locator::Css("#f-find"))
        .await
        .unwrap()
        .send_keys("hopp")
        .await
        .unwrap();
    let tick = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("div.found input[type=checkbox][name=user]"))
        .await
        .expect("live search offers grace");
    assert!(text_of(&c, "div.found li").await.contains("grace"));
    tick.click().await.unwrap();
    click(&c, "div.found button[type=submit]").await;
    assert_eq!(text_of(&c, "p.notice").await, "Member added.");
    assert_eq!(text_of(&c, "#members-h").await, "Members (1)");
    let (_, g) = api
        .get(&format!("/scim/v2/Groups/{pilots_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(g["members"][0]["value"], grace_id.as_str());
    let (_, u) = api
        .get(&format!("/scim/v2/Users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(u["groups"][0]["display"], "pilots");
    shots.take(&c, "group").await;

    // Create a token (secret shown once) and revoke it.
    click(
        &c,
        "nav[aria-label=Sections] a[href='/console/credentials']",
    )
    .await;
    fill(&c, "#f-label", "provisioning").await;
    click(&c, "form.card button[type=submit]").await;
    let secret = text_of(&c, "#new-secret").await;
    assert!(secret.starts_with("mst_"), "{secret}");
    let (status, list) = api.get("/scim/v2/Users", &secret).await;
    assert_eq!(status, 200);
    assert_eq!(list["totalResults"], 8);
    shots.take(&c, "credentials").await;
    let id_text = text_of(&c, "div.secret p code").await;
    // A reload of the page the form led to mints nothing and shows the secret no more.
    c.refresh().await.unwrap();
    assert!(
        !c.source().await.unwrap().contains(&secret),
        "shown only once"
    );
    let tokens = query_text(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) AS text FROM credentials WHERE label = 'provisioning'",
    );
    assert_eq!(tokens, vec!["1".to_string()]);
    // Revoking asks first, with the password again, and says the token was used.
    click(&c, &format!("a[aria-label='Revoke {id_text}']")).await;
    assert!(text_of(&c, ".consequence").await.contains("last used"));
    fill(&c, "#f-current_password", "not her password").await;
    click(&c, "form.confirm button.danger").await;
    assert!(text_of(&c, "#f-current_password-error")
        .await
        .contains("not your password"));
    assert_eq!(
        api.get("/scim/v2/Users", &secret).await.0,
        200,
        "not revoked"
    );
    fill(&c, "#f-current_password", "correct horse 1").await;
    click(&c, "form.confirm button.danger").await;
    assert_eq!(text_of(&c, "p.notice").await, "Credential revoked.");
    let (status, _) = api.get("/scim/v2/Users", &secret).await;
    assert_eq!(status, 401);

    // Activity, filtered to the console's own changes.
    click(&c, "nav[aria-label=Sections] a[href='/console/activity']").await;
    c.find(Locator::Css("#f-dialect"))
        .await
        .unwrap()
        .select_by_value("console")
        .await
        .unwrap();
    fill(&c, "#f-action", "Password").await;
    click(&c, "form.filters button[type=submit]").await;
    assert_eq!(
        path_of(&c).await,
        "/console/activity?dialect=console&action=Password&user=&from=&to="
    );
    assert_eq!(
        text_of(&c, "#activity-count").await,
        "Showing 1–1 of 1, newest first."
    );
    let row = text_of(&c, "table.list tbody tr").await;
    assert!(row.contains("Console.User.Password"), "{row}");
    fill(&c, "#f-action", "").await;
    click(&c, "form.filters button[type=submit]").await;
    shots.take(&c, "activity").await;

    // Child organizations (made through Sumo Logic's API): usage, then deactivate one.
    let (status, client) = api
        .send(
            reqwest::Method::POST,
            "/admin/v1/credentials",
            ADMIN_TOKEN,
            json!({"kind": "client", "label": "sumo"}),
        )
        .await;
    assert_eq!(status, 201, "{client}");
    let basic = format!(
        "{}:{}",
        client["id"].as_str().unwrap(),
        client["secret"].as_str().unwrap()
    );
    let mut kids = vec![];
    for name in ["Acme EU", "Acme US"] {
        let (status, child) = api
            .send(
                reqwest::Method::POST,
                "/api/v1/organizations",
                &basic,
                json!({"organizationName": name, "email": "ops@acme.example", "firstName": "Op",
                       "deploymentId": "us2",
                       "baselines": {"continuousIngest": 40000, "metrics": 60000}}),
            )
            .await;
        assert_eq!(status, 200, "{child}");
        kids.push(child["orgId"].as_str().unwrap().to_string());
    }
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            &format!("/admin/v1/organizations/{}/credit-usage", kids[0]),
            ADMIN_TOKEN,
            json!([{"date": today, "productVariable": "continuousIngest", "creditsUsed": 1250.0, "unit": "GB"}]),
        )
        .await;
    assert_eq!(status, 201);
    click(
        &c,
        "nav[aria-label=Sections] a[href='/console/organizations']",
    )
    .await;
    let rows = c
        .find_all(Locator::Css("table.list tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    // (In id order, and the ids are random: find each by name.)
    let mut texts = vec![];
    for r in &rows {
        texts.push(r.text().await.unwrap());
    }
    let eu = texts.iter().find(|t| t.contains("Acme EU")).unwrap();
    assert!(eu.contains(&kids[0]) && eu.contains("1250.00"), "{eu}");
    let us = texts.iter().find(|t| t.contains("Acme US")).unwrap();
    assert!(us.contains(&kids[1]) && us.contains("0.00"), "{us}");
    shots.take(&c, "organizations").await;
    click(&c, &format!("a[aria-label='Deactivate {}']", kids[0])).await;
    click(&c, "form[action$='/deactivate'] button.danger").await;
    assert!(text_of(&c, "p.notice")
        .await
        .starts_with("Organization deactivated"));
    let (_, got) = api
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/organizations/{}", kids[0]),
            &basic,
            Value::Null,
        )
        .await;
    assert_eq!(got["subscription"]["status"], "Canceled", "{got}");

    // Schema extensions: register one by pasting its document, then edit a user's values
    // with inputs by type; what SCIM serves follows.
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
    click(&c, "nav[aria-label=Sections] a[href='/console/schemas']").await;
    assert!(text_of(&c, "p.empty").await.contains("No schema extension"));
    let doc = json!({"id": EXT, "name": "Custom", "attributes": [
        {"name": "costCenter", "type": "string"},
        {"name": "level", "type": "integer"},
        {"name": "remote", "type": "boolean"},
        {"name": "badges", "type": "complex", "multiValued": true,
         "subAttributes": [{"name": "label", "type": "string"}]}
    ]});
    // A malformed one first: the error names the attribute, the pasted text stays.
    let mut bad = doc.clone();
    bad["attributes"][1]["type"] = json!("int");
    fill(&c, "#f-document", &bad.to_string()).await;
    click(&c, "form.card button[type=submit]").await;
    assert!(text_of(&c, "span.message")
        .await
        .contains("attribute \"level\""));
    fill(&c, "#f-document", &doc.to_string()).await;
    click(&c, "form.card button[type=submit]").await;
    assert_eq!(text_of(&c, "p.notice").await, "Schema registered.");
    assert!(text_of(&c, "section.card")
        .await
        .contains("badges (complex): multi-valued"));
    shots.take(&c, "schemas").await;
    c.goto(&format!("{base}/console/users/{grace_id}"))
        .await
        .unwrap();
    fill(&c, &format!("[name='x.{EXT}:costCenter']"), "CC-42").await;
    fill(&c, &format!("[name='x.{EXT}:level']"), "7").await;
    c.find(Locator::Css(&format!(
        "[name='x.{EXT}:remote'] option[value=true]"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let save = c
        .find(Locator::XPath("//button[text()='Save changes']"))
        .await
        .unwrap();
    click_el(&c, save).await;
    let (_, u) = api
        .get(&format!("/scim/v2/Users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(
        u[EXT],
        json!({"costCenter": "CC-42", "level": 7, "remote": true}),
        "{u}"
    );
    let page = text_of(&c, "#main").await;
    assert!(
        page.contains("Schema extensions") && page.contains("CC-42"),
        "{page}"
    );
    shots.take(&c, "user-extensions").await;

    // Removing the schema asks first, with the count of values that go with it.
    c.goto(&format!("{base}/console/schemas")).await.unwrap();
    click(&c, "section.card a.danger").await;
    let ask = text_of(&c, "#main").await;
    assert!(ask.contains("3 values"), "{ask}");
    shots.take(&c, "schema-remove").await;
    click(&c, "form.card button.danger").await;
    assert_eq!(text_of(&c, "p.notice").await, "Schema removed.");
    let (_, u) = api
        .get(&format!("/scim/v2/Users/{grace_id}"), ADMIN_TOKEN)
        .await;
    assert!(u.get(EXT).is_none(), "{u}");

    // Her own branch: the page that would take her administrator role refuses.
    let ada_id = query_text(
        &db,
        "SELECT user_name AS text FROM users WHERE user_name = 'ada'",
    );
    assert_eq!(ada_id.len(), 1);
    click(&c, "nav[aria-label=Sections] a[href='/console/users']").await;
    click_link(&c, "ada").await;
    let me = text_of(&c, "#main").await;
    assert!(me.contains("You cannot suspend yourself"), "{me}");
    let my_path = path_of(&c).await;
    c.goto(&format!("{base}{my_path}/admin/revoke"))
        .await
        .unwrap();
    assert!(text_of(&c, "p.error")
        .await
        .contains("cannot take the Administrator role from yourself"));
    shots.take(&c, "refused-self-demotion").await;
    let (_, me) = api
        .get(
            &format!("/scim/v2{}", my_path.replace("/console/users", "/Users")),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(me["roles"][0]["value"], "Administrator");

    // Times show in the browser's zone, the UTC value on hover.
    c.goto(&format!("{base}/console/activity")).await.unwrap();
    let title = c
        .find(Locator::Css("table.list time[data-utc]"))
        .await
        .expect("a converted time")
        .attr("title")
        .await
        .unwrap()
        .unwrap();
    assert!(title.ends_with(" UTC"), "{title}");

    // Phone width (390 px): every section of the navigation is on screen, none cut off.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/console/users")).await.unwrap();
    let links = c
        .find_all(Locator::Css("nav[aria-label=Sections] a"))
        .await
        .unwrap();
    assert_eq!(links.len(), 7);
    let width: f64 = c
        .execute("return document.documentElement.clientWidth;", vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    for l in &links {
        assert!(l.is_displayed().await.unwrap());
        let r = c
            .execute(
                "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right];",
                vec![serde_json::to_value(l).unwrap()],
            )
            .await
            .unwrap();
        let (left, right) = (r[0].as_f64().unwrap(), r[1].as_f64().unwrap());
        let name = l.text().await.unwrap();
        assert!(
            left >= 0.0 && right <= width,
            "{name}: {left}..{right} of {width}"
        );
    }
    shots.take(&c, "users-phone").await;
    c.goto(&format!("{base}/console/credentials"))
        .await
        .unwrap();
    shots.take(&c, "credentials-phone").await;
    c.set_window_size(1200, 860).await.unwrap();

    // Sign out: the session ends.
    click(&c, "form.signout button").await;
    assert_eq!(path_of(&c).await, "/console/login?out=1");
    assert_eq!(text_of(&c, "p.notice").await, "You are signed out.");
    c.goto(&format!("{base}/console/users")).await.unwrap();
    assert_eq!(path_of(&c).await, "/console/login?next=%2Fconsole%2Fusers");
    let rows = query_text(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) AS text FROM console_sessions",
    );
    assert_eq!(rows, vec!["0".to_string()]);

    c.close().await.unwrap();

    // Dark mode, by the system's color scheme: the same page in dark colors.
    let dark_profile = tempfile::tempdir().unwrap();
    let d = browser_with(
        &driver,
        dark_profile.path(),
        &[
            "--force-dark-mode",
            "--blink-settings=preferredColorScheme=0",
        ],
    )
    .await;
    d.goto(&format!("{base}/console/login")).await.unwrap();
    fill(&d, "#f-org", "default").await;
    fill(&d, "#f-login", "ada").await;
    fill(&d, "#f-password", "correct horse 1").await;
    click(&d, "form[aria-label='Sign in with a password'] button").await;
    d.goto(&format!("{base}/console/users/{grace_id}"))
        .await
        .unwrap();
    let dark = d
        .execute(
            "return [matchMedia('(prefers-color-scheme: dark)').matches, \
             getComputedStyle(document.documentElement).backgroundColor];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(dark[0], true, "{dark}");
    assert_eq!(dark[1], "rgb(17, 22, 28)", "the dark background");
    shots.take(&d, "user-dark").await;
    d.close().await.unwrap();
}

/// Issue 29's flows in a browser: add a user and see it in SCIM and Logto at once; suspend a
/// filtered selection; export the list as CSV and import it into another organization.
async fn an_admin_adds_acts_on_many_and_moves_users_by_csv_in_a_browser(b: Backend) {
    let Some(driver_path) = chromedriver_path() else {
        assert!(std::env::var_os("MUSTER_REQUIRE_BROWSER").is_none());
        eprintln!("chromedriver not found: browser test skipped");
        return;
    };
    let backend = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    };
    let db = TestDb::new(&b);
    let server = Process::serve(&db.url, &["--bootstrap-token", ADMIN_TOKEN], &[]).await;
    let api = Api {
        base: server.base.clone(),
        http: reqwest::Client::new(),
    };
    let person = |name: &str, title: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name, "password": "correct horse 1", "title": title,
            "displayName": format!("{} {title}", name[..1].to_uppercase() + &name[1..]),
            "emails": [{"value": format!("{name}@example.com"), "primary": true}]
        })
    };
    api.scim_post("/Users", person("ada", "Countess")).await;
    let mut engineers = vec![];
    for n in ["alan", "barbara", "edsger"] {
        let u = api.scim_post("/Users", person(n, "Engineer")).await;
        engineers.push(u["id"].as_str().unwrap().to_string());
    }
    let ken = api.scim_post("/Users", person("ken", "Operator")).await;
    let ken_id = ken["id"].as_str().unwrap().to_string();
    api.scim_post(
        "/Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "pilots"}),
    )
    .await;
    let (ok, _, err) = cli(&db.url, &["user", "grant-admin", "--org", "default", "ada"]);
    assert!(ok, "{err}");

    let driver = Driver::start(&driver_path).await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("../console-screenshots")
        .join(backend)];
    if let Ok(d) = std::env::var("MUSTER_CONSOLE_SCREENSHOTS") {
        dirs.push(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(d));
    }
    let shots = Shots { dirs, backend };
    let base = server.base.clone();
    let sign_in = |org: &'static str, login: &'static str| {
        let (c, base) = (&c, base.clone());
        async move {
            c.goto(&format!("{base}/console/login")).await.unwrap();
            fill(c, "#f-org", org).await;
            fill(c, "#f-login", login).await;
            fill(c, "#f-password", "correct horse 1").await;
            click(c, "form[aria-label='Sign in with a password'] button").await;
            assert_eq!(path_of(c).await, "/console/");
        }
    };
    sign_in("default", "ada").await;

    // Add a user, with a generated password and a group: SCIM and Logto see them at once.
    c.goto(&format!("{base}/console/users")).await.unwrap();
    assert_eq!(text_of(&c, "p.total").await, "5 users");
    click_link(&c, "Add user").await;
    fill(&c, "#f-user_name", "hedy").await;
    fill(&c, "#f-email", "hedy@example.com").await;
    fill(&c, "#f-given_name", "Hedy").await;
    fill(&c, "#f-family_name", "Lamarr").await;
    fill(&c, "#f-title", "Engineer").await;
    c.find(Locator::Css("input[name=password_mode][value=generate]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("#f-groups option"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shots.take(&c, "user-add").await;
    click(&c, "form.card button[type=submit]").await;
    assert!(text_of(&c, "p.notice").await.contains("hedy was added"));
    let generated = text_of(&c, "#generated-secret").await;
    assert_eq!(generated.len(), 20);
    let (status, found) = api
        .get(
            "/scim/v2/Users?filter=userName%20eq%20%22hedy%22",
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(status, 200);
    let hedy = &found["Resources"][0];
    let hedy_id = hedy["id"].as_str().unwrap().to_string();
    assert_eq!(hedy["groups"][0]["display"], "pilots");
    let (status, l) = api.get(&format!("/api/users/{hedy_id}"), ADMIN_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(l["primaryEmail"], "hedy@example.com");
    assert_eq!(api.verify(&hedy_id, &generated).await, 204);
    shots.take(&c, "user-added").await;
    // "How each API sees this user": Adobe's long route stays inside its card.
    c.goto(&format!("{base}/console/users/{hedy_id}/apis"))
        .await
        .unwrap();
    let inside = c
        .execute(
            "const card = document.querySelector('section.api[aria-label=Adobe]');\
             card.scrollIntoView();\
             const code = card.querySelector('p.hint code').getBoundingClientRect();\
             return code.right <= card.getBoundingClientRect().right;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(inside, json!(true));
    shots.take(&c, "user-apis-adobe").await;
    c.back().await.unwrap();
    // Shown once: a reload no longer has it.
    c.refresh().await.unwrap();
    assert!(c.find(Locator::Css("#generated-secret")).await.is_err());

    // Bulk-suspend a filtered selection: search as you type, tick the page, review, go.
    c.goto(&format!("{base}/console/users")).await.unwrap();
    c.find(Locator::Css("#f-q"))
        .await
        .unwrap()
        .send_keys("engineer")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let total = || async {
        c.execute(
            "const e = document.querySelector('p.total'); return e ? e.textContent : '';",
            vec![],
        )
        .await
        .unwrap()
    };
    while total().await != json!("4 users match") {
        assert!(
            Instant::now() < deadline,
            "live search did not narrow the list"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        path_of(&c).await.contains("q=engineer"),
        "the address follows the search"
    );
    c.find(Locator::Css("#select-page"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text_of(&c, "form.bulk .selected-count").await.trim(), "(4)");
    // Leave Hedy out: untick her row.
    c.find(Locator::Css(&format!("input[name=ids][value='{hedy_id}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shots.take(&c, "users-selected").await;
    click(&c, "form.bulk button[type=submit]").await;
    assert_eq!(text_of(&c, "h1").await, "Suspend 3 users?");
    shots.take(&c, "bulk-confirm").await;
    click(&c, "form.card button.danger").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = text_of(&c, "div.job").await;
        if t.contains("Done:") {
            assert!(t.contains("3 users suspended"), "{t}");
            break;
        }
        assert!(Instant::now() < deadline, "the job did not end: {t}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shots.take(&c, "bulk-done").await;
    for id in &engineers {
        let (_, u) = api.get(&format!("/scim/v2/Users/{id}"), ADMIN_TOKEN).await;
        assert_eq!(u["active"], false, "{id}");
    }
    for id in [&hedy_id, &ken_id] {
        let (_, u) = api.get(&format!("/scim/v2/Users/{id}"), ADMIN_TOKEN).await;
        assert_eq!(u["active"], true, "{id}");
    }
    let (_, l) = api
        .get(&format!("/api/users/{}", engineers[0]), ADMIN_TOKEN)
        .await;
    assert_eq!(l["isSuspended"], true);

    // Export the list as CSV (the link's file, fetched as the browser would)...
    c.goto(&format!("{base}/console/users?sort=user"))
        .await
        .unwrap();
    let href = c
        .find(Locator::Css("a[href^='/console/users/export.csv']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let csv = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done);",
            vec![json!(href)],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap().to_string();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv.contains("hedy,hedy@example.com,"), "{csv}");
    let file = profile.path().join("users.csv");
    std::fs::write(&file, &csv).unwrap();

    // ... and import it into another organization, as its administrator.
    let (ok, _, err) = cli(&db.url, &["org", "create", "--id", "acme"]);
    assert!(ok, "{err}");
    let acme_token = "acme-admin-secret-0123456789";
    let (ok, _, err) = cli(
        &db.url,
        &[
            "token", "create", "--label", "test", "--org", "acme", "--secret", acme_token,
        ],
    );
    assert!(ok, "{err}");
    let r = api
        .http
        .post(format!("{base}/scim/v2/Users"))
        .bearer_auth(acme_token)
        .header("content-type", "application/scim+json")
        .body(person("eve", "Admin").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (ok, _, err) = cli(&db.url, &["user", "grant-admin", "--org", "acme", "eve"]);
    assert!(ok, "{err}");
    click(&c, "form.signout button").await;
    sign_in("acme", "eve").await;
    c.goto(&format!("{base}/console/users/import"))
        .await
        .unwrap();
    c.find(Locator::Css("#f-file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "form.card button[type=submit]").await;
    assert_eq!(
        text_of(&c, "#import-summary").await,
        "6 users can be added. Groups to create: pilots."
    );
    shots.take(&c, "import-preview").await;
    let (_, before) = api.get("/scim/v2/Users", acme_token).await;
    assert_eq!(
        before["totalResults"], 1,
        "nothing written before the confirmation"
    );
    click(&c, "form.inline button[type=submit]").await;
    assert_eq!(text_of(&c, "p.notice").await, "Imported: 6 users added.");
    let (_, after) = api.get("/scim/v2/Users?count=100", acme_token).await;
    assert_eq!(after["totalResults"], 7);
    let (_, h) = api
        .get(
            "/scim/v2/Users?filter=userName%20eq%20%22hedy%22",
            acme_token,
        )
        .await;
    assert_eq!(h["Resources"][0]["groups"][0]["display"], "pilots");
    assert_ne!(h["Resources"][0]["id"], hedy_id.as_str());
    let (_, a) = api
        .get(
            "/scim/v2/Users?filter=userName%20eq%20%22alan%22",
            acme_token,
        )
        .await;
    assert_eq!(a["Resources"][0]["active"], false, "suspended as exported");
    // Back in the list, the imported users are there.
    click_link(&c, "See the users").await;
    assert_eq!(text_of(&c, "p.total").await, "7 users");
    shots.take(&c, "users-imported").await;

    // Back after a delete does not show the deleted user.
    click_link(&c, "ken").await;
    let ken_page = path_of(&c).await;
    click_link(&c, "Delete this user…").await;
    click(&c, "form.inline button.danger").await;
    assert_eq!(path_of(&c).await, "/console/users?done=deleted");
    c.back().await.unwrap();
    c.back().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(path_of(&c).await, ken_page);
    let h1 = text_of(&c, "h1").await;
    assert!(
        h1 == "Not found",
        "the deleted user's page is asked for again: {h1}"
    );

    c.close().await.unwrap();
}
