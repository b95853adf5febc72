//! Change events over real HTTP, on SQLite and PostgreSQL: every dialect's changes in the
//! one event log, the pull feed (paged, gap-free under concurrent writes, long poll, SETs),
//! Logto's webhooks (CRUD, signing key shown once, test endpoint, recent logs), delivery
//! (signed bodies verified in a test receiver, order per resource, retries with backoff,
//! Retry-After, give-up, a receiver down for a while), rolled-back work firing nothing,
//! and outbound safety.

use crate::common;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{json, kind_client, Backend, TestServer, ADMIN_TOKEN, BULK, GROUP, PATCH, USER};
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use poem::EndpointExt;
use serde_json::{json, Value};
use sha2::Sha256;

both_backends!(
    every_dialect_fires_its_events,
    the_feed_pages_and_renders_sets,
    the_feed_is_gap_free_under_concurrent_writes,
    a_long_poll_sees_a_change_at_once,
    rolled_back_work_fires_nothing,
    hooks_crud_and_the_signing_key_shown_once,
    webhooks_are_signed_in_order_and_logged,
    failing_receivers_are_retried_then_recorded,
    a_receiver_down_for_a_while_gets_everything,
    private_addresses_are_refused,
    three_instances_deliver_each_event_once,
    an_instance_killed_mid_delivery_leaves_it_to_another,
    sigkill_during_writes_and_deliveries_loses_no_event,
    an_idle_instance_runs_no_statement,
    a_starting_instance_numbers_what_waits,
    events_older_than_the_retention_are_pruned_and_the_feed_says_so,
);

async fn call(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let mut r = s.http.request(method, s.url(path)).bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    let got = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{path}: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
    }
}

async fn scim_user(s: &TestServer, name: &str) -> String {
    let u = call(
        s,
        reqwest::Method::POST,
        "/scim/v2/Users",
        Some(json!({"schemas": [USER], "userName": name, "displayName": name})),
        201,
    )
    .await;
    u["id"].as_str().unwrap().to_string()
}

/// Every event of the default organization, paging through the feed.
async fn all_events(s: &TestServer) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = call(
            s,
            reqwest::Method::GET,
            &format!("/admin/v1/events?after={after}&limit=50"),
            None,
            200,
        )
        .await;
        let events = page["events"].as_array().unwrap().clone();
        out.extend(events);
        after = page["next"].as_i64().unwrap();
        if !page["moreAvailable"].as_bool().unwrap() {
            return out;
        }
    }
}

/// The feed once the sequencer has numbered everything written (the events tasks run).
async fn settled_events(s: &TestServer, at_least: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = all_events(s).await;
        if all.len() >= at_least || Instant::now() > deadline {
            // A little longer, to see that nothing more comes.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return all_events(s).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn types(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["dialect"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn domo_token(s: &TestServer) -> String {
    s.credential(
        "default",
        kind_client(),
        "domo_client",
        "domo-secret-0123456789",
        "users:read users:write",
    )
    .await;
    let r = s
        .post("/oauth/token")
        .basic_auth("domo_client", Some("domo-secret-0123456789"))
        .form(&[("grant_type", "client_credentials"), ("scope", "user")])
        .send()
        .await
        .unwrap();
    json(r, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn adobe_token(s: &TestServer) -> String {
    s.credential(
        "default",
        kind_client(),
        "cli_adobe_events",
        "adobe-client-secret-0123456789",
        "users:read users:write",
    )
    .await;
    let r = s
        .post("/ims/token/v3")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "cli_adobe_events"),
            ("client_secret", "adobe-client-secret-0123456789"),
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

async fn adobe(s: &TestServer, token: &str, query: &str, body: Value) -> Value {
    let r = s
        .post(&format!(
            "/v2/usermanagement/action/default@AdobeOrg{query}"
        ))
        .bearer_auth(token)
        .header("X-Api-Key", "cli_adobe_events")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    json(r, 200).await
}

async fn every_dialect_fires_its_events(b: Backend) {
    let s = TestServer::start_events(b, |_| {}).await;
    // SCIM: create, change, suspend (Entra's PATCH of active), a group and a member, delete.
    let id = scim_user(&s, "ann@example.com").await;
    let patch = |ops: Value| Some(json!({"schemas": [PATCH], "Operations": ops}));
    let path = format!("/scim/v2/Users/{id}");
    call(
        &s,
        reqwest::Method::PATCH,
        &path,
        patch(json!([{"op": "replace", "path": "displayName", "value": "Ann A"}])),
        200,
    )
    .await;
    call(
        &s,
        reqwest::Method::PATCH,
        &path,
        patch(json!([{"op": "replace", "path": "active", "value": false}])),
        200,
    )
    .await;
    // No change: no event.
    call(
        &s,
        reqwest::Method::PATCH,
        &path,
        patch(json!([{"op": "replace", "path": "active", "value": false}])),
        200,
    )
    .await;
    let g = call(
        &s,
        reqwest::Method::POST,
        "/scim/v2/Groups",
        Some(json!({"schemas": [GROUP], "displayName": "Eng"})),
        201,
    )
    .await;
    let gid = g["id"].as_str().unwrap().to_string();
    call(
        &s,
        reqwest::Method::PATCH,
        &format!("/scim/v2/Groups/{gid}"),
        patch(json!([{"op": "add", "path": "members", "value": [{"value": id}]}])),
        200,
    )
    .await;
    call(&s, reqwest::Method::DELETE, &path, None, 204).await;

    // Logto: create, change, suspend, delete.
    let lu = call(
        &s,
        reqwest::Method::POST,
        "/api/users",
        Some(json!({"username": "bob", "primaryEmail": "bob@example.com"})),
        200,
    )
    .await;
    let lid = lu["id"].as_str().unwrap().to_string();
    call(
        &s,
        reqwest::Method::PATCH,
        &format!("/api/users/{lid}"),
        Some(json!({"name": "Bob B"})),
        200,
    )
    .await;
    call(
        &s,
        reqwest::Method::PATCH,
        &format!("/api/users/{lid}/is-suspended"),
        Some(json!({"isSuspended": true})),
        200,
    )
    .await;
    call(
        &s,
        reqwest::Method::DELETE,
        &format!("/api/users/{lid}"),
        None,
        204,
    )
    .await;

    // Domo: create and delete.
    let dt = domo_token(&s).await;
    let r = s
        .post("/v1/users?sendInvite=false")
        .header("Authorization", format!("bearer {dt}"))
        .json(&json!({"name": "Cat", "email": "cat@example.com", "role": "Participant"}))
        .send()
        .await
        .unwrap();
    let du = json(r, 200).await;
    let did = du["id"].as_i64().unwrap();
    let r = s
        .delete(&format!("/v1/users/{did}"))
        .header("Authorization", format!("bearer {dt}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);

    // Adobe: create, update, removeFromOrg.
    let at = adobe_token(&s).await;
    adobe(
        &s,
        &at,
        "",
        json!([{"user": "dan@example.com", "do": [{"createFederatedID": {
        "email": "dan@example.com", "firstname": "Dan", "lastname": "D", "country": "US"}}]}]),
    )
    .await;
    adobe(
        &s,
        &at,
        "",
        json!([{"user": "dan@example.com", "do": [{"update": {"firstname": "Daniel"}}]}]),
    )
    .await;
    adobe(
        &s,
        &at,
        "",
        json!([{"user": "dan@example.com", "do": [{"removeFromOrg": {}}]}]),
    )
    .await;

    let events = settled_events(&s, 17).await;
    let want: Vec<(String, String)> = [
        ("User.Created", "scim"),
        ("User.Data.Updated", "scim"),
        ("User.SuspensionStatus.Updated", "scim"),
        ("Group.Created", "scim"),
        ("Group.Membership.Updated", "scim"),
        ("User.Deleted", "scim"),
        ("User.Created", "logto"),
        ("User.Data.Updated", "logto"),
        ("User.SuspensionStatus.Updated", "logto"),
        ("User.Deleted", "logto"),
        ("User.Created", "domo"),
        ("User.Deleted", "domo"),
        ("User.Created", "adobe"),
        ("User.Data.Updated", "adobe"),
        ("User.Deleted", "adobe"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(types(&events), want, "{events:#?}");
    // Numbered 1, 2, 3, ... in the order of the changes; each with its own id.
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=want.len() as i64).collect::<Vec<_>>());
    let ids: HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len());
    // The new state, in Logto's user shape, and who made the change.
    assert_eq!(events[0]["resourceType"], "User");
    assert_eq!(events[0]["resourceId"], id);
    assert_eq!(events[0]["data"]["username"], "ann@example.com");
    assert_eq!(events[0]["data"]["isSuspended"], false);
    // Logto's user type: `cimdClientId` is there, null.
    assert!(events[0]["data"].as_object().unwrap()["cimdClientId"].is_null());
    assert_eq!(events[0]["actor"], "scim:bootstrap");
    assert_eq!(events[1]["data"]["name"], "Ann A");
    assert_eq!(events[2]["data"]["isSuspended"], true);
    assert_eq!(events[4]["data"]["addedMemberIds"], json!([id]));
    assert_eq!(events[4]["resourceId"], gid);
    assert_eq!(events[5]["data"]["id"], id);
    assert_eq!(events[7]["data"]["name"], "Bob B");
    assert_eq!(events[8]["data"]["isSuspended"], true);
    assert_eq!(events[13]["data"]["profile"]["givenName"], "Daniel");
    assert_eq!(events[14]["action"], "User.Delete");
}

async fn the_feed_pages_and_renders_sets(b: Backend) {
    let s = TestServer::start_events(b, |_| {}).await;
    for i in 0..7 {
        scim_user(&s, &format!("u{i}@example.com")).await;
    }
    settled_events(&s, 7).await;
    let p1 = call(
        &s,
        reqwest::Method::GET,
        "/admin/v1/events?limit=3",
        None,
        200,
    )
    .await;
    assert_eq!(p1["events"].as_array().unwrap().len(), 3);
    assert_eq!(p1["next"], 3);
    assert_eq!(p1["moreAvailable"], true);
    assert_eq!(p1["lastSequence"], 7);
    let p3 = call(
        &s,
        reqwest::Method::GET,
        "/admin/v1/events?after=6&limit=3",
        None,
        200,
    )
    .await;
    assert_eq!(p3["events"].as_array().unwrap().len(), 1);
    assert_eq!(p3["events"][0]["sequence"], 7);
    assert_eq!(p3["moreAvailable"], false);
    let end = call(
        &s,
        reqwest::Method::GET,
        "/admin/v1/events?after=7",
        None,
        200,
    )
    .await;
    assert_eq!(end["events"], json!([]));
    assert_eq!(end["next"], 7);

    // As Security Event Tokens (RFC 8417) in RFC 8936's poll response.
    let sets = call(
        &s,
        reqwest::Method::GET,
        "/admin/v1/events?limit=2&format=set",
        None,
        200,
    )
    .await;
    let map = sets["sets"].as_object().unwrap();
    assert_eq!(map.len(), 2);
    assert_eq!(sets["moreAvailable"], true);
    let (jti, jwt) = map.iter().next().unwrap();
    let jwt = jwt.as_str().unwrap();
    assert!(jwt.ends_with('.'), "unsecured JWT: {jwt}");
    let header = common::jwt_header(jwt);
    assert_eq!(header, json!({"alg": "none", "typ": "secevent+jwt"}));
    let claims = common::jwt_claims(jwt);
    assert_eq!(claims["jti"], jti.as_str());
    assert_eq!(claims["aud"], json!(["default"]));
    assert!(claims["sub"].as_str().unwrap().starts_with("Users/"));
    let ev = &claims["events"]["urn:ietf:params:SCIM:event:prov:create:full"];
    assert!(
        ev["data"]["username"]
            .as_str()
            .unwrap()
            .ends_with("@example.com"),
        "{claims}"
    );

    // Bad parameters: clear 400s in the admin dialect's shape.
    for q in [
        "after=-1",
        "after=x",
        "limit=0",
        "limit=1001",
        "wait=61",
        "format=xml",
    ] {
        let e = call(
            &s,
            reqwest::Method::GET,
            &format!("/admin/v1/events?{q}"),
            None,
            400,
        )
        .await;
        assert_eq!(e["code"], "invalid_request", "{q}: {e}");
    }
    // Another organization sees none of these.
    s.org("other", None).await;
    s.credential(
        "other",
        common::kind_token(),
        "tok_other",
        "other-token-0123456789",
        "users:read",
    )
    .await;
    let r = s
        .get("/admin/v1/events")
        .bearer_auth("other-token-0123456789")
        .send()
        .await
        .unwrap();
    let other = json(r, 200).await;
    assert_eq!(other["events"], json!([]));
    assert_eq!(other["lastSequence"], 0);
}

async fn the_feed_is_gap_free_under_concurrent_writes(b: Backend) {
    let s = Arc::new(TestServer::start_events(b, |_| {}).await);
    const WRITERS: usize = 6;
    const EACH: usize = 15;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let s = s.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                scim_user(&s, &format!("w{w}-{i}@example.com")).await;
            }
        }));
    }
    // A reader paging the feed while they write: every event once, in order, no gap.
    let reader = {
        let s = s.clone();
        tokio::spawn(async move {
            let mut seen: Vec<i64> = Vec::new();
            let mut names = HashSet::new();
            let mut after = 0;
            let deadline = Instant::now() + Duration::from_secs(60);
            while seen.len() < WRITERS * EACH && Instant::now() < deadline {
                let page = call(
                    &s,
                    reqwest::Method::GET,
                    &format!("/admin/v1/events?after={after}&limit=7&wait=2"),
                    None,
                    200,
                )
                .await;
                for e in page["events"].as_array().unwrap() {
                    seen.push(e["sequence"].as_i64().unwrap());
                    assert!(names.insert(e["data"]["username"].as_str().unwrap().to_string()));
                }
                after = page["next"].as_i64().unwrap();
            }
            seen
        })
    };
    for w in writers {
        w.await.unwrap();
    }
    let seen = reader.await.unwrap();
    assert_eq!(seen, (1..=(WRITERS * EACH) as i64).collect::<Vec<_>>());
}

async fn a_long_poll_sees_a_change_at_once(b: Backend) {
    let s = Arc::new(
        TestServer::start_events(b, |c| {
            // The slow poll is far off: only the in-process wake-ups can be this quick.
            c.webhooks.poll = Duration::from_secs(30);
        })
        .await,
    );
    let poller = {
        let s = s.clone();
        tokio::spawn(async move {
            let v = call(
                &s,
                reqwest::Method::GET,
                "/admin/v1/events?wait=20",
                None,
                200,
            )
            .await;
            (v, Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!poller.is_finished(), "the long poll waits for an event");
    scim_user(&s, "late@example.com").await;
    let written = Instant::now();
    let (v, answered) = poller.await.unwrap();
    assert_eq!(v["events"][0]["data"]["username"], "late@example.com");
    let lag = answered.saturating_duration_since(written);
    assert!(lag < Duration::from_secs(1), "seen after {lag:?}");
    // With nothing to see, wait=1 answers empty after about a second.
    let t = Instant::now();
    let v = call(
        &s,
        reqwest::Method::GET,
        "/admin/v1/events?after=1&wait=1",
        None,
        200,
    )
    .await;
    assert_eq!(v["events"], json!([]));
    assert!(t.elapsed() >= Duration::from_millis(900));
}

async fn rolled_back_work_fires_nothing(b: Backend) {
    let s = TestServer::start_events(b, |_| {}).await;
    // Bulk: the first attempt (one transaction) fails on the duplicate and is rolled back;
    // the second, with a savepoint per operation, keeps x and z. Two events, not five.
    let r = call(&s, reqwest::Method::POST, "/scim/v2/Bulk", Some(json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"schemas": [USER], "userName": "x@x.example"}},
        {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"schemas": [USER], "userName": "x@x.example"}},
        {"method": "POST", "path": "/Users", "bulkId": "z", "data": {"schemas": [USER], "userName": "z@x.example"}}
    ]})), 200).await;
    let statuses: Vec<&str> = r["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["201", "409", "201"]);
    // Adobe's testOnly runs everything and rolls it back.
    let at = adobe_token(&s).await;
    let r = adobe(
        &s,
        &at,
        "?testOnly=true",
        json!([{"user": "t@example.com", "do": [{"createFederatedID": {
        "email": "t@example.com", "firstname": "T", "lastname": "T", "country": "US"}}]}]),
    )
    .await;
    assert_eq!(r["completedInTestMode"], 1);
    // A failed change (a taken userName) neither.
    call(
        &s,
        reqwest::Method::POST,
        "/scim/v2/Users",
        Some(json!({"schemas": [USER], "userName": "z@x.example"})),
        409,
    )
    .await;
    // A change that is marked: the feed then holds exactly the two creates and it.
    scim_user(&s, "mark@example.com").await;
    let events = settled_events(&s, 3).await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["data"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["x@x.example", "z@x.example", "mark@example.com"],
        "{events:#?}"
    );
}

// ------------------------------------------------------------------------------------------
// A test receiver.

#[derive(Clone, Debug)]
enum Reply {
    Status(u16),
    RetryAfter(u16, u64),
    Sleep(Duration),
}

#[derive(Clone, Debug)]
struct Got {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

#[poem::handler]
async fn receive(
    req: &poem::Request,
    body: Vec<u8>,
    poem::web::Data(r): poem::web::Data<&Receiver>,
) -> poem::Response {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    r.got.lock().push(Got { headers, body });
    let reply = r.script.lock().pop_front().unwrap_or(Reply::Status(200));
    match reply {
        Reply::Status(s) => poem::Response::builder()
            .status(poem::http::StatusCode::from_u16(s).unwrap())
            .body("{\"ok\":true}"),
        Reply::RetryAfter(s, secs) => poem::Response::builder()
            .status(poem::http::StatusCode::from_u16(s).unwrap())
            .header("retry-after", secs.to_string())
            .body("slow down"),
        Reply::Sleep(d) => {
            tokio::time::sleep(d).await;
            poem::Response::builder().body("late")
        }
    }
}

impl Receiver {
    /// Serve on `port` (0: any free one); the URL of its hook path.
    async fn start(&self, port: u16) -> (String, tokio::task::JoinHandle<()>) {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let acceptor = poem::listener::TcpAcceptor::from_std(listener).unwrap();
        let app = poem::Route::new()
            .at("/hook", poem::post(receive))
            .data(self.clone());
        let task = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
        });
        (format!("http://127.0.0.1:{port}/hook"), task)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().clone()
    }

    async fn wait_for(&self, n: usize, within: Duration) -> Vec<Got> {
        let deadline = Instant::now() + within;
        while self.got.lock().len() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.got()
    }
}

fn verify(key: &str, got: &Got) {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(&got.body);
    let want = hex::encode(mac.finalize().into_bytes());
    assert_eq!(got.headers["logto-signature-sha-256"], want, "signature");
    assert_eq!(got.headers["content-type"], "application/json");
}

async fn hook(s: &TestServer, url: &str, events: Value, retries: Option<i64>) -> Value {
    let mut config = json!({"url": url, "headers": {"x-tenant": "t1"}});
    if let Some(r) = retries {
        config["retries"] = json!(r);
    }
    call(
        s,
        reqwest::Method::POST,
        "/api/hooks",
        Some(json!({"name": "test", "events": events, "config": config})),
        201,
    )
    .await
}

async fn hooks_crud_and_the_signing_key_shown_once(b: Backend) {
    let s = TestServer::start_events(b, |_| {}).await;
    let rx = Receiver::default();
    let (url, _t) = rx.start(0).await;
    let h = hook(
        &s,
        &url,
        json!(["User.Created", "User.Created", "User.Deleted"]),
        None,
    )
    .await;
    let id = h["id"].as_str().unwrap().to_string();
    let key = h["signingKey"].as_str().unwrap().to_string();
    assert!(key.len() >= 32);
    assert_eq!(h["events"], json!(["User.Created", "User.Deleted"]));
    assert_eq!(h["enabled"], true);
    assert_eq!(h["config"]["url"], url);
    assert_eq!(h["config"]["headers"]["x-tenant"], "t1");
    assert_eq!(h["tenantId"], "default");
    // Read back: never the key.
    let got = call(
        &s,
        reqwest::Method::GET,
        &format!("/api/hooks/{id}"),
        None,
        200,
    )
    .await;
    assert!(got.get("signingKey").is_none(), "{got}");
    let list = call(
        &s,
        reqwest::Method::GET,
        "/api/hooks?includeExecutionStats=true",
        None,
        200,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("signingKey").is_none());
    assert_eq!(
        list[0]["executionStats"],
        json!({"requestCount": 0, "successCount": 0})
    );
    // Update.
    let up = call(
        &s,
        reqwest::Method::PATCH,
        &format!("/api/hooks/{id}"),
        Some(json!({"name": "renamed", "events": ["User.Data.Updated"], "enabled": false})),
        200,
    )
    .await;
    assert_eq!(up["name"], "renamed");
    assert_eq!(up["events"], json!(["User.Data.Updated"]));
    assert_eq!(up["enabled"], false);
    assert!(up.get("signingKey").is_none());
    // A new signing key, shown once.
    let rot = call(
        &s,
        reqwest::Method::PATCH,
        &format!("/api/hooks/{id}/signing-key"),
        None,
        200,
    )
    .await;
    let key2 = rot["signingKey"].as_str().unwrap().to_string();
    assert_ne!(key, key2);
    // The test endpoint: Logto's test payload, signed with the hook's key.
    call(
        &s,
        reqwest::Method::POST,
        &format!("/api/hooks/{id}/test"),
        Some(json!({"events": ["User.Created", "PostSignIn"], "config": {"url": url}})),
        204,
    )
    .await;
    let got = rx.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2);
    for g in &got {
        verify(&key2, g);
        assert_eq!(g.json()["hookId"], id.as_str());
    }
    let events: HashSet<String> = got
        .iter()
        .map(|g| g.json()["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        events,
        ["User.Created", "PostSignIn"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    rx.script.lock().push_back(Reply::Status(500));
    let e = call(
        &s,
        reqwest::Method::POST,
        &format!("/api/hooks/{id}/test"),
        Some(json!({"events": ["User.Created"], "config": {"url": url}})),
        422,
    )
    .await;
    assert_eq!(e["code"], "hook.endpoint_responded_with_error");
    assert_eq!(e["data"]["responseStatus"], 500);
    let e = call(
        &s,
        reqwest::Method::POST,
        &format!("/api/hooks/{id}/test"),
        Some(json!({"events": ["User.Created"], "config": {"url": "http://127.0.0.1:9/none"}})),
        422,
    )
    .await;
    assert_eq!(e["code"], "hook.send_test_payload_failed");
    // Bad input: Logto's 400s.
    for (body, code) in [
        (json!({"config": {"url": url}}), "hook.missing_events"),
        (
            json!({"events": [], "config": {"url": url}}),
            "guard.invalid_input",
        ),
        (
            json!({"events": ["User.Exploded"], "config": {"url": url}}),
            "guard.invalid_input",
        ),
        (
            json!({"events": ["User.Created"], "config": {"url": "ftp://x"}}),
            "guard.invalid_input",
        ),
        (
            json!({"events": ["User.Created"], "config": {"url": url, "retries": 99}}),
            "guard.invalid_input",
        ),
        (
            json!({"events": ["User.Created"], "config": {"url": url, "headers": {"bad name": "x"}}}),
            "guard.invalid_input",
        ),
        (json!({"events": ["User.Created"]}), "guard.invalid_input"),
    ] {
        let e = call(
            &s,
            reqwest::Method::POST,
            "/api/hooks",
            Some(body.clone()),
            400,
        )
        .await;
        assert_eq!(e["code"], code, "{body}: {e}");
    }
    // Delete; then it is gone.
    call(
        &s,
        reqwest::Method::DELETE,
        &format!("/api/hooks/{id}"),
        None,
        204,
    )
    .await;
    let e = call(
        &s,
        reqwest::Method::GET,
        &format!("/api/hooks/{id}"),
        None,
        404,
    )
    .await;
    assert_eq!(e["code"], "entity.not_exists_with_id");
    call(
        &s,
        reqwest::Method::DELETE,
        &format!("/api/hooks/{id}"),
        None,
        404,
    )
    .await;
    // Another organization cannot see or touch this organization's hooks.
    let h = hook(&s, &url, json!(["User.Created"]), None).await;
    s.org("other", None).await;
    s.credential(
        "other",
        common::kind_token(),
        "tok_other",
        "other-token-0123456789",
        "orgs:admin",
    )
    .await;
    let r = s
        .get(&format!("/api/hooks/{}", h["id"].as_str().unwrap()))
        .bearer_auth("other-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = s
        .get("/api/hooks")
        .bearer_auth("other-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(json(r, 200).await, json!([]));
}

async fn webhooks_are_signed_in_order_and_logged(b: Backend) {
    let s = TestServer::start_events(b, |_| {}).await;
    let rx = Receiver::default();
    let (url, _t) = rx.start(0).await;
    let h = hook(
        &s,
        &url,
        json!([
            "User.Created",
            "User.Data.Updated",
            "User.SuspensionStatus.Updated",
            "User.Deleted"
        ]),
        None,
    )
    .await;
    let (hid, key) = (
        h["id"].as_str().unwrap().to_string(),
        h["signingKey"].as_str().unwrap().to_string(),
    );
    // Another hook for groups only: it gets the group's event and no user's.
    let grx = Receiver::default();
    let (gurl, _gt) = grx.start(0).await;
    hook(&s, &gurl, json!(["Group.Created"]), None).await;

    let id = scim_user(&s, "ann@example.com").await;
    let path = format!("/scim/v2/Users/{id}");
    for name in ["A1", "A2", "A3"] {
        call(
            &s,
            reqwest::Method::PATCH,
            &path,
            Some(json!({"schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "displayName", "value": name}]})),
            200,
        )
        .await;
    }
    call(
        &s,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "active", "value": false}]})),
        200,
    )
    .await;
    call(
        &s,
        reqwest::Method::POST,
        "/scim/v2/Groups",
        Some(json!({"schemas": [GROUP], "displayName": "Eng"})),
        201,
    )
    .await;
    // The same person deleted through Domo.
    let dt = domo_token(&s).await;
    let r = s
        .post("/v1/users?sendInvite=false")
        .header("Authorization", format!("bearer {dt}"))
        .json(&json!({"name": "Cat", "email": "cat@example.com", "role": "Participant"}))
        .send()
        .await
        .unwrap();
    let did = json(r, 200).await["id"].as_i64().unwrap();
    let r = s
        .delete(&format!("/v1/users/{did}"))
        .header("Authorization", format!("bearer {dt}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    call(&s, reqwest::Method::DELETE, &path, None, 204).await;

    let got = rx.wait_for(8, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = if rx.got().len() > got.len() {
        rx.got()
    } else {
        got
    };
    assert_eq!(
        got.len(),
        8,
        "{:#?}",
        got.iter().map(Got::json).collect::<Vec<_>>()
    );
    for g in &got {
        verify(&key, g);
        assert_eq!(g.headers["x-tenant"], "t1");
        assert_eq!(
            g.headers["muster-event-id"],
            g.json()["eventId"].as_str().unwrap()
        );
    }
    // Ann's events in the order they happened.
    let ann: Vec<Value> = got
        .iter()
        .map(Got::json)
        .filter(|b| b["params"]["id"] == id.as_str())
        .collect();
    let evs: Vec<&str> = ann.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(
        evs,
        [
            "User.Created",
            "User.Data.Updated",
            "User.Data.Updated",
            "User.Data.Updated",
            "User.SuspensionStatus.Updated",
            "User.Deleted"
        ]
    );
    let names: Vec<&str> = ann[1..4]
        .iter()
        .map(|b| b["data"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["A1", "A2", "A3"]);
    let seqs: Vec<i64> = ann
        .iter()
        .map(|b| b["sequence"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // Logto's body.
    let first = &ann[0];
    assert_eq!(first["hookId"], hid.as_str());
    assert_eq!(first["data"]["username"], "ann@example.com");
    assert_eq!(first["muster"]["dialect"], "scim");
    assert!(chrono::DateTime::parse_from_rfc3339(first["createdAt"].as_str().unwrap()).is_ok());
    // The Domo user's delete reached the same hook as User.Deleted.
    let domo: Vec<Value> = got
        .iter()
        .map(Got::json)
        .filter(|b| b["muster"]["dialect"] == "domo")
        .collect();
    let evs: Vec<&str> = domo.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(evs, ["User.Created", "User.Deleted"]);
    // The group hook got only the group.
    let g = grx.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].json()["event"], "Group.Created");
    assert_eq!(g[0].json()["data"]["name"], "Eng");

    // Recent logs: one success per delivery, with the request and the answer.
    let deadline = Instant::now() + Duration::from_secs(5);
    let logs = loop {
        let r = s
            .get(&format!("/api/hooks/{hid}/recent-logs?page_size=100"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let total: usize = r.headers()["total-number"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let logs = json(r, 200).await;
        assert_eq!(total, logs.as_array().unwrap().len());
        if logs.as_array().unwrap().len() == 8 || Instant::now() > deadline {
            break logs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let logs = logs.as_array().unwrap();
    assert_eq!(logs.len(), 8);
    assert!(logs.iter().all(|l| l["payload"]["result"] == "Success"));
    assert!(logs[0]["key"]
        .as_str()
        .unwrap()
        .starts_with("TriggerHook.User."));
    assert_eq!(logs[0]["payload"]["response"]["statusCode"], 200);
    assert_eq!(
        logs[0]["payload"]["hookRequest"]["body"]["hookId"],
        hid.as_str()
    );
    let text = serde_json::to_string(logs).unwrap();
    assert!(!text.contains(&key), "the signing key is never in the logs");
    let r = s
        .get(&format!(
            "/api/hooks/{hid}/recent-logs?logKey=TriggerHook.User.Deleted"
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(json(r, 200).await.as_array().unwrap().len(), 2);
    let stats = call(
        &s,
        reqwest::Method::GET,
        &format!("/api/hooks/{hid}?includeExecutionStats=true"),
        None,
        200,
    )
    .await;
    assert_eq!(
        stats["executionStats"],
        json!({"requestCount": 8, "successCount": 8})
    );
}

async fn metric(s: &TestServer, outcome: &str) -> u64 {
    let text = s
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!("muster_webhook_deliveries_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&line))
        .map_or(0, |v| v.trim().parse().unwrap())
}

async fn failing_receivers_are_retried_then_recorded(b: Backend) {
    let s = TestServer::start_events(b, |c| {
        c.webhooks.timeout = Duration::from_millis(500);
    })
    .await;
    let rx = Receiver::default();
    let (url, _t) = rx.start(0).await;
    // 500, a timeout, 429 with Retry-After 1 s, then 200: delivered on the fourth attempt.
    {
        let mut sc = rx.script.lock();
        sc.push_back(Reply::Status(500));
        sc.push_back(Reply::Sleep(Duration::from_millis(1500)));
        sc.push_back(Reply::RetryAfter(429, 1));
    }
    let h = hook(&s, &url, json!(["User.Created"]), None).await;
    let hid = h["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    scim_user(&s, "ann@example.com").await;
    let got = rx.wait_for(4, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 4);
    let ids: HashSet<String> = got
        .iter()
        .map(|g| g.headers["muster-event-id"].clone())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "the same event each time, with its id to de-duplicate"
    );
    let attempts: Vec<&str> = got
        .iter()
        .map(|g| g.headers["muster-delivery-attempt"].as_str())
        .collect();
    assert_eq!(attempts, ["1", "2", "3", "4"]);
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.got().len(), 4, "delivered: not sent again");
    // A receiver that keeps failing, on a hook with retries: 1, is recorded failed after
    // two attempts.
    let bad = Receiver::default();
    let (burl, _bt) = bad.start(0).await;
    for _ in 0..10 {
        bad.script.lock().push_back(Reply::Status(503));
    }
    let bh = hook(&s, &burl, json!(["User.Created"]), Some(1)).await;
    let bhid = bh["id"].as_str().unwrap().to_string();
    let failed_before = metric(&s, "given_up").await;
    scim_user(&s, "bob@example.com").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let logs = loop {
        let logs = call(
            &s,
            reqwest::Method::GET,
            &format!("/api/hooks/{bhid}/recent-logs"),
            None,
            200,
        )
        .await;
        let done = logs
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["payload"]["outcome"] == "given_up");
        if done || Instant::now() > deadline {
            break logs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let outcomes: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["payload"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["given_up", "retry"], "newest first: {logs:#}");
    assert_eq!(logs[0]["payload"]["result"], "Error");
    assert_eq!(logs[0]["payload"]["response"]["statusCode"], 503);
    assert_eq!(bad.got().len(), 2);
    assert_eq!(metric(&s, "given_up").await, failed_before + 1);
    assert!(metric(&s, "retry").await >= 4);
    // A 4xx other than 408/429 is not retried.
    let no = Receiver::default();
    let (nurl, _nt) = no.start(0).await;
    no.script.lock().push_back(Reply::Status(410));
    hook(&s, &nurl, json!(["User.Created"]), None).await;
    scim_user(&s, "cat@example.com").await;
    no.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(no.got().len(), 1);
    // The first hook got Bob and Cat too, once each (it never blocked on the others).
    let got = rx.wait_for(6, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 6);
    let _ = hid;
}

async fn a_receiver_down_for_a_while_gets_everything(b: Backend) {
    let s = TestServer::start_events(b, |_| {}).await;
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let h = hook(&s, &url, json!(["User.Created", "User.Data.Updated"]), None).await;
    let key = h["signingKey"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(scim_user(&s, &format!("u{i}@example.com")).await);
    }
    for id in &ids {
        call(
            &s,
            reqwest::Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            Some(json!({"schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "title", "value": "later"}]})),
            200,
        )
        .await;
    }
    // Down for a while: attempts fail and back off.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(metric(&s, "retry").await >= 8);
    let rx = Receiver::default();
    let (_, _t) = rx.start(port).await;
    let got = rx.wait_for(8, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = if rx.got().len() > got.len() {
        rx.got()
    } else {
        got
    };
    assert_eq!(got.len(), 8);
    for g in &got {
        verify(&key, g);
    }
    // Per user: created, then updated.
    for id in &ids {
        let evs: Vec<String> = got
            .iter()
            .map(Got::json)
            .filter(|b| b["params"]["id"] == id.as_str())
            .map(|b| b["event"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(evs, ["User.Created", "User.Data.Updated"]);
    }
}

async fn private_addresses_are_refused(b: Backend) {
    let s = TestServer::start_events(b, |c| c.webhooks.allow_private = false).await;
    for url in [
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[fd00::1]/x",
    ] {
        let e = call(
            &s,
            reqwest::Method::POST,
            "/api/hooks",
            Some(json!({"events": ["User.Created"], "config": {"url": url}})),
            400,
        )
        .await;
        assert_eq!(e["code"], "guard.invalid_input", "{url}: {e}");
        assert!(e["details"].as_str().unwrap().contains("private"), "{e}");
    }
    // A public name is accepted (it is checked again on its address at delivery).
    let h = call(
        &s,
        reqwest::Method::POST,
        "/api/hooks",
        Some(json!({"events": ["User.Created"], "config": {"url": "https://hooks.example.com/x"}})),
        201,
    )
    .await;
    let e = call(
        &s,
        reqwest::Method::POST,
        &format!("/api/hooks/{}/test", h["id"].as_str().unwrap()),
        Some(json!({"events": ["User.Created"], "config": {"url": "http://127.0.0.1:9/x"}})),
        400,
    )
    .await;
    assert_eq!(e["code"], "guard.invalid_input");
    call(
        &s,
        reqwest::Method::DELETE,
        &format!("/api/hooks/{}", h["id"].as_str().unwrap()),
        None,
        204,
    )
    .await;

    // A name that passes the URL check but resolves to a private address (this machine's
    // own name, when it resolves to loopback or a private address, as in a container): the
    // delivery's resolver drops the address (as it would a DNS rebinding), so the receiver
    // listening there gets nothing.
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim().to_string();
    let resolved: Vec<std::net::SocketAddr> = tokio::net::lookup_host((name.as_str(), 80))
        .await
        .map(|a| a.collect())
        .unwrap_or_default();
    let private = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v) => v.is_loopback() || v.is_private() || v.is_link_local(),
        std::net::IpAddr::V6(v) => v.is_loopback(),
    };
    if name.is_empty() || resolved.is_empty() || !resolved.iter().all(|a| private(a.ip())) {
        eprintln!("{name:?} does not resolve to private addresses only: rebinding half skipped");
        return;
    }
    let rx = Receiver::default();
    let (url, _t) = rx.start(0).await;
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let h = call(
        &s,
        reqwest::Method::POST,
        "/api/hooks",
        Some(json!({"events": ["User.Created"],
        "config": {"url": format!("http://{name}:{port}/hook")}})),
        201,
    )
    .await;
    let hid = h["id"].as_str().unwrap().to_string();
    scim_user(&s, "ann@example.com").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let logs = loop {
        let logs = call(
            &s,
            reqwest::Method::GET,
            &format!("/api/hooks/{hid}/recent-logs"),
            None,
            200,
        )
        .await;
        if !logs.as_array().unwrap().is_empty() || Instant::now() > deadline {
            break logs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(logs.as_array().unwrap().len(), 1, "{logs}");
    assert_eq!(logs[0]["payload"]["outcome"], "failed");
    assert!(
        logs[0]["payload"]["error"]
            .as_str()
            .unwrap()
            .contains("private"),
        "{logs}"
    );
    assert!(rx.got().is_empty(), "nothing reached the private address");
}

async fn three_instances_deliver_each_event_once(b: Backend) {
    let a = Arc::new(TestServer::start_events(b, |_| {}).await);
    let others = [
        Arc::new(a.another_instance(|_| {}).await),
        Arc::new(a.another_instance(|_| {}).await),
    ];
    let rx = Receiver::default();
    let (url, _t) = rx.start(0).await;
    hook(&a, &url, json!(["User.Created", "User.Data.Updated"]), None).await;
    // Writes through all three instances at once.
    const EACH: usize = 15;
    let mut writers = Vec::new();
    for (n, s) in [a.clone(), others[0].clone(), others[1].clone()]
        .into_iter()
        .enumerate()
    {
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let id = scim_user(&s, &format!("i{n}-{i}@example.com")).await;
                call(
                    &s,
                    reqwest::Method::PATCH,
                    &format!("/scim/v2/Users/{id}"),
                    Some(json!({"schemas": [PATCH], "Operations": [
                         {"op": "replace", "path": "title", "value": "t"}]})),
                    200,
                )
                .await;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let total = 3 * EACH * 2;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ids: HashSet<String> = rx
            .got()
            .iter()
            .map(|g| g.headers["muster-event-id"].clone())
            .collect();
        if ids.len() >= total || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = rx.got();
    let ids: HashSet<String> = got
        .iter()
        .map(|g| g.headers["muster-event-id"].clone())
        .collect();
    assert_eq!(ids.len(), total, "every event delivered");
    let duplicates = got.len() - ids.len();
    eprintln!(
        "3 instances: {} deliveries of {total} events, {duplicates} duplicates",
        got.len()
    );
    assert_eq!(duplicates, 0, "leases keep two instances off one delivery");
    // Per user, created before updated, whichever instances delivered them.
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for g in &got {
        let b = g.json();
        seen.entry(b["params"]["id"].as_str().unwrap().to_string())
            .or_default()
            .push(b["event"].as_str().unwrap().to_string());
    }
    assert!(
        seen.values()
            .all(|e| e == &["User.Created", "User.Data.Updated"]),
        "{seen:?}"
    );
    // The feed, through any instance, is the same gap-free sequence.
    let via_a = all_events(&a).await;
    let via_b = all_events(&others[1]).await;
    assert_eq!(via_a.len(), total);
    assert_eq!(via_a, via_b);
    let seqs: Vec<i64> = via_a
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>());
}

async fn an_instance_killed_mid_delivery_leaves_it_to_another(b: Backend) {
    let timeout = Duration::from_millis(1500);
    let mut a = TestServer::start_events(b, |c| {
        c.webhooks.timeout = timeout;
        c.webhooks.lease_margin = Duration::from_millis(200);
    })
    .await;
    let rx = Receiver::default();
    let (url, _t) = rx.start(0).await;
    // The first request hangs (within the timeout); the instance dies meanwhile.
    rx.script
        .lock()
        .push_back(Reply::Sleep(Duration::from_millis(1200)));
    let h = hook(&a, &url, json!(["User.Created"]), None).await;
    let hid = h["id"].as_str().unwrap().to_string();
    scim_user(&a, "ann@example.com").await;
    rx.wait_for(1, Duration::from_secs(5)).await;
    a.kill_events();
    let killed = Instant::now();
    let b2 = a
        .another_instance(|c| {
            c.webhooks.timeout = timeout;
            c.webhooks.lease_margin = Duration::from_millis(200);
        })
        .await;
    let got = rx.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2, "delivered again by the other instance");
    assert!(
        killed.elapsed() >= Duration::from_millis(1500),
        "after the lease ran out"
    );
    assert_eq!(
        got[0].headers["muster-event-id"],
        got[1].headers["muster-event-id"]
    );
    assert_eq!(got[1].headers["muster-delivery-attempt"], "2");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let logs = call(
            &b2,
            reqwest::Method::GET,
            &format!("/api/hooks/{hid}/recent-logs"),
            None,
            200,
        )
        .await;
        let logs = logs.as_array().unwrap().clone();
        if !logs.is_empty() || Instant::now() > deadline {
            // Only the attempt that finished is logged: the killed one never came back.
            assert_eq!(logs.len(), 1, "{logs:?}");
            assert_eq!(logs[0]["payload"]["result"], "Success");
            assert_eq!(logs[0]["payload"]["attempt"], 2);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sigkill_during_writes_and_deliveries_loses_no_event(b: Backend) {
    let db = common::TestDb::new(&b);
    const TOKEN: &str = "crash-admin-token-0123456789";
    let env = [
        ("MUSTER_BOOTSTRAP_TOKEN", TOKEN),
        ("MUSTER_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("MUSTER_WEBHOOK_TIMEOUT_MS", "1000"),
    ];
    let rx = Receiver::default();
    let (url, _t) = rx.start(0).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut p = common::Process::serve(&db.url, &[], &env).await;
    let r = http
        .post(format!("{}/api/hooks", p.base))
        .bearer_auth(TOKEN)
        .json(&json!({"events": ["User.Created"], "config": {"url": url}}))
        .send()
        .await
        .unwrap();
    let key = json(r, 201).await["signingKey"]
        .as_str()
        .unwrap()
        .to_string();
    // Writers until the process dies under them; what was acknowledged must have its event.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, base, acked) = (http.clone(), p.base.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("k{w}-{i}@example.com");
                let r = http
                    .post(format!("{base}/scim/v2/Users"))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/scim+json")
                    .body(json!({"schemas": [USER], "userName": name}).to_string())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => acked.lock().push(name),
                    _ => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    p.child.kill().unwrap(); // SIGKILL
    p.child.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().clone();
    assert!(
        acked.len() > 10,
        "only {} writes before the kill",
        acked.len()
    );
    let p2 = common::Process::serve(&db.url, &[], &env).await;
    // Every committed user has exactly one User.Created in the feed, numbered 1..n.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (events, users) = loop {
        let feed = json(
            http.get(format!("{}/admin/v1/events?limit=1000", p2.base))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        let users = json(
            http.get(format!(
                "{}/scim/v2/Users?count=1000&attributes=userName",
                p2.base
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
            200,
        )
        .await;
        let events = feed["events"].as_array().unwrap().clone();
        let total = users["totalResults"].as_u64().unwrap() as usize;
        if events.len() >= total || Instant::now() > deadline {
            break (events, users);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let committed: HashSet<String> = users["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect();
    let in_feed: Vec<String> = events
        .iter()
        .map(|e| e["data"]["username"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        in_feed.len(),
        committed.len(),
        "one event per committed change"
    );
    assert_eq!(in_feed.iter().cloned().collect::<HashSet<_>>(), committed);
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    for a in &acked {
        assert!(committed.contains(a), "acknowledged {a} is committed");
    }
    // And every event reaches the receiver at least once after the restart (deliveries
    // leased by the killed process wait out their lease).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got: HashSet<String> = rx
            .got()
            .iter()
            .map(|g| g.json()["data"]["username"].as_str().unwrap().to_string())
            .collect();
        if got.is_superset(&committed) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} events delivered",
            got.intersection(&committed).count(),
            committed.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = rx.got();
    for g in &got {
        verify(&key, g);
    }
    eprintln!(
        "SIGKILL: {} acknowledged, {} committed, {} deliveries ({} duplicates)",
        acked.len(),
        committed.len(),
        got.len(),
        got.len() - committed.len()
    );
}

/// A short measurement, not a test: `cargo test --test it -- --ignored --nocapture
/// events::measure`. Creates users from 8 concurrent clients with a hook subscribed and reports
/// events per second from the first create to the last delivery, commit-to-delivery latency
/// (from the create's response to the receiver's arrival) p50/p99, and PATCH latency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure() {
    let mut backends = vec![Backend::Sqlite];
    backends.extend(Backend::postgres());
    for b in backends {
        let s = Arc::new(TestServer::start_events(b.clone(), |_| {}).await);
        let rx = Receiver::default();
        let (url, _t) = rx.start(0).await;
        hook(&s, &url, json!(["User.Created", "User.Data.Updated"]), None).await;
        const CLIENTS: usize = 8;
        const EACH: usize = 50;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut done = Vec::new();
                for i in 0..EACH {
                    let id = scim_user(&s, &format!("m{c}-{i}@example.com")).await;
                    done.push((id, Instant::now()));
                }
                done
            }));
        }
        let mut committed: HashMap<String, Instant> = HashMap::new();
        for t in tasks {
            committed.extend(t.await.unwrap());
        }
        let total = CLIENTS * EACH;
        let arrived = {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut arrived: HashMap<String, Instant> = HashMap::new();
            let mut read = 0;
            while arrived.len() < total && Instant::now() < deadline {
                let got = rx.got();
                for g in &got[read..] {
                    let id = g.json()["params"]["id"].as_str().unwrap().to_string();
                    arrived.entry(id).or_insert_with(Instant::now);
                }
                read = got.len();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            arrived
        };
        let elapsed = start.elapsed();
        let mut lat: Vec<Duration> = committed
            .iter()
            .filter_map(|(id, t)| arrived.get(id).map(|a| a.saturating_duration_since(*t)))
            .collect();
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        // PATCH latency, sequential, with the hook subscribed to the change.
        let ids: Vec<String> = committed.keys().take(200).cloned().collect();
        let mut patch = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let t = Instant::now();
            call(
                &s,
                reqwest::Method::PATCH,
                &format!("/scim/v2/Users/{id}"),
                Some(json!({"schemas": [PATCH], "Operations": [
                     {"op": "replace", "path": "title", "value": format!("t{i}")}]})),
                200,
            )
            .await;
            patch.push(t.elapsed());
        }
        patch.sort();
        eprintln!(
            "{b:?}: {total} creates -> {} delivered in {:.2} s ({:.0} events/s); commit->delivery p50 {:?} p99 {:?}; PATCH p50 {:?} p99 {:?}",
            arrived.len(),
            elapsed.as_secs_f64(),
            arrived.len() as f64 / elapsed.as_secs_f64(),
            pct(0.5),
            pct(0.99),
            patch[patch.len() / 2],
            patch[patch.len() * 99 / 100],
        );
    }
}

/// Transactions committed in the test database so far, as PostgreSQL counts them
/// (`pg_stat_database.xact_commit`, read through the admin database so the reading itself
/// is not counted); `None` on SQLite.
async fn pg_commits(s: &TestServer) -> Option<i64> {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Commits {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let common::Backend::Postgres(admin) = &s.db.backend else {
        return None;
    };
    let (admin, url) = (admin.clone(), s.db.url.clone());
    tokio::task::spawn_blocking(move || {
        let name = url::Url::parse(&url)
            .unwrap()
            .path()
            .trim_start_matches('/')
            .to_string();
        let mut c = diesel::PgConnection::establish(&admin).unwrap();
        let n: Commits =
            diesel::sql_query("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1")
                .bind::<diesel::sql_types::Text, _>(name)
                .get_result(&mut c)
                .unwrap();
        Some(n.n)
    })
    .await
    .unwrap()
}

/// Statements this instance ran (its own counter) and, on PostgreSQL, transactions the
/// database committed, over `d` of idleness.
async fn idle_cost(s: &TestServer, d: Duration) -> (u64, Option<i64>) {
    let (st, tx) = (
        common::metric(s, "muster_db_statements_total").await,
        pg_commits(s).await,
    );
    tokio::time::sleep(d).await;
    let (st2, tx2) = (
        common::metric(s, "muster_db_statements_total").await,
        pg_commits(s).await,
    );
    (st2 - st, tx2.zip(tx).map(|(a, b)| a - b))
}

/// An idle instance runs no statement (apart from the 30 s safety poll, far off here):
/// with no hook; and with a hook once its deliveries are done. Its event tasks still wake
/// at once for a write.
async fn an_idle_instance_runs_no_statement(b: Backend) {
    let s = TestServer::start_events(b, |c| c.webhooks.poll = Duration::from_secs(30)).await;
    // The tasks' first rounds at start, and PostgreSQL's statistics catching up (a backend
    // reports its counts when it goes idle, at most once a second).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (statements, commits) = idle_cost(&s, Duration::from_secs(4)).await;
    assert_eq!(statements, 0, "statements in 4 s idle, no hook");
    assert_eq!(
        commits.unwrap_or(0),
        0,
        "PostgreSQL commits in 4 s idle, no hook"
    );

    let rx = Receiver::default();
    let (url, _t) = rx.start(0).await;
    hook(&s, &url, json!(["User.Created"]), None).await;
    let t = Instant::now();
    scim_user(&s, "woken@example.com").await;
    let got = rx.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1, "delivered");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "woken, not polled: {:?}",
        t.elapsed()
    );
    // PostgreSQL counts a backend's commits when it has been idle for up to 10 s after a
    // busy moment (PGSTAT_IDLE_INTERVAL): wait for the delivery's to be counted.
    let settle = if commits.is_some() { 11_000 } else { 2500 };
    tokio::time::sleep(Duration::from_millis(settle)).await;
    let (statements, commits) = idle_cost(&s, Duration::from_secs(4)).await;
    assert_eq!(
        statements, 0,
        "statements in 4 s idle, one hook, nothing pending"
    );
    assert_eq!(
        commits.unwrap_or(0),
        0,
        "PostgreSQL commits in 4 s idle, one hook"
    );
    assert_eq!(rx.got().len(), 1, "delivered once");
}

/// Events committed while no sequencer ran (an instance stopped, or one without event
/// tasks) are numbered as soon as an instance starts, not at its first safety poll.
async fn a_starting_instance_numbers_what_waits(b: Backend) {
    let writer = TestServer::start(b).await; // no event tasks
    scim_user(&writer, "waiting@example.com").await;
    let t = Instant::now();
    let other = writer
        .another_instance(|c| c.webhooks.poll = Duration::from_secs(30))
        .await;
    let events = settled_events(&other, 1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["sequence"], 1);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

/// On PostgreSQL a commit on one instance wakes the sequencer and the deliverer of another
/// through `LISTEN/NOTIFY`: the writer runs no event tasks, the other instance's safety poll
/// is 30 s, and the event is numbered and delivered within a second; a long poll on the
/// other instance is answered as promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_instance_wakes_another_through_postgres() {
    let Some(b) = Backend::postgres() else { return };
    let writer = TestServer::start(b).await; // no event tasks: it numbers nothing
    let other = Arc::new(
        writer
            .another_instance(|c| c.webhooks.poll = Duration::from_secs(30))
            .await,
    );
    let rx = Receiver::default();
    let (url, _t) = rx.start(0).await;
    hook(&other, &url, json!(["User.Created"]), None).await;
    // Past the other instance's first rounds, so only a notification can wake it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for i in 0..5 {
        let poller = {
            let other = other.clone();
            let after = i;
            tokio::spawn(async move {
                let v = call(
                    &other,
                    reqwest::Method::GET,
                    &format!("/admin/v1/events?after={after}&wait=20"),
                    None,
                    200,
                )
                .await;
                (v, Instant::now())
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let name = format!("cross{i}@example.com");
        let t = Instant::now();
        scim_user(&writer, &name).await;
        let got = rx.wait_for(i as usize + 1, Duration::from_secs(10)).await;
        let lag = t.elapsed();
        assert_eq!(got.len(), i as usize + 1, "delivered");
        assert_eq!(got[i as usize].json()["data"]["username"], name);
        assert!(lag < Duration::from_secs(1), "delivered after {lag:?}");
        let (v, answered) = poller.await.unwrap();
        assert_eq!(v["events"][0]["sequence"], i + 1);
        let lag = answered.saturating_duration_since(t);
        assert!(
            lag < Duration::from_secs(1),
            "the long poll answered after {lag:?}"
        );
    }
}

/// Events older than the retention go, with their deliveries, in the background; the feed
/// answers a position among them 410 `events_pruned` (JSON and SET formats alike) and goes
/// on from what is kept.
async fn events_older_than_the_retention_are_pruned_and_the_feed_says_so(b: Backend) {
    let s = TestServer::start_events(b, |c| {
        c.webhooks.retention = Duration::from_secs(3);
        c.webhooks.prune_every = Duration::from_millis(200);
    })
    .await;
    let rx = Receiver::default();
    let (url, _t) = rx.start(0).await;
    hook(&s, &url, json!(["User.Created"]), None).await;
    for i in 0..3 {
        scim_user(&s, &format!("old{i}@example.com")).await;
    }
    assert_eq!(rx.wait_for(3, Duration::from_secs(5)).await.len(), 3);
    let page = call(&s, reqwest::Method::GET, "/admin/v1/events", None, 200).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 3, "kept for now");
    // Past the retention: the three go.
    let deadline = Instant::now() + Duration::from_secs(10);
    let gone = loop {
        let r = s
            .get("/admin/v1/events?after=0")
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        // The three age one after the other: wait until the last has gone too.
        if r.status() == 410 {
            let v = json(r, 410).await;
            if v["prunedThrough"] == 3 || Instant::now() > deadline {
                break v;
            }
        } else if Instant::now() > deadline {
            break json(r, 410).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(gone["code"], "events_pruned", "{gone}");
    assert_eq!(gone["prunedThrough"], 3, "{gone}");
    assert_eq!(gone["lastSequence"], 3, "{gone}");
    assert_eq!(gone["after"], 0, "{gone}");
    let message = gone["message"].as_str().unwrap();
    assert!(message.contains("resynchronise"), "{message}");
    assert!(message.contains("after=3"), "{message}");
    // The same in the SET format, and for any position below what is kept.
    for q in ["after=2&format=set", "after=1", "after=0&wait=5"] {
        let r = s
            .get(&format!("/admin/v1/events?{q}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let v = json(r, 410).await;
        assert_eq!(v["code"], "events_pruned", "{q}: {v}");
    }
    assert!(common::metric(&s, "muster_events_pruned_total").await >= 3);
    // Their deliveries went with them.
    let store = s.store.clone();
    let deliveries = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        muster::store::events::delivery_counts(&mut conn).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(deliveries, vec![], "no delivery of a pruned event is left");
    // From the last position, the feed goes on: a new event is 4.
    let poll = {
        let (base, http) = (s.base.clone(), s.http.clone());
        tokio::spawn(async move {
            let r = http
                .get(format!("{base}/admin/v1/events?after=3&wait=10"))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap();
            json(r, 200).await
        })
    };
    scim_user(&s, "new@example.com").await;
    let page = poll.await.unwrap();
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!(events[0]["sequence"], 4);
    assert_eq!(events[0]["data"]["username"], "new@example.com");
    assert_eq!(page["lastSequence"], 4);
}
