//! The request path's cost, counted: every SCIM request makes one trip to the blocking pool,
//! reads stay within their statement budgets (tighter than the 4 / 6 / 5: what the
//! code does today, so any regression fails) and write nothing, and a warm connection
//! reuses its prepared statements (none newly prepared). Counted by diesel's
//! instrumentation and read from `/metrics` around each request, on SQLite and PostgreSQL.

use crate::common;

use common::*;
use serde_json::{json, Value};

both_backends!(
    reads_fit_their_statement_budgets,
    domo_reads_fit_their_statement_budgets,
    adobe_reads_fit_their_statement_budgets,
    sumo_reads_fit_their_statement_budgets,
    writes_make_one_trip,
    large_group_changes_cost_what_they_change,
    the_event_feed_fits_its_budget,
    console_pages_fit_their_statement_budgets,
    extension_values_cost_no_statement_more,
    short_reads_run_without_the_blocking_pool_on_sqlite
);

#[derive(Debug, Clone, Copy, PartialEq)]
struct Cost {
    trips: u64,
    statements: u64,
    writes: u64,
    prepared: u64,
}

async fn counters(s: &TestServer) -> Cost {
    let text = s
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let read = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
            .trim()
            .parse()
            .unwrap()
    };
    Cost {
        trips: read("muster_db_trips_total"),
        statements: read("muster_db_statements_total"),
        writes: read("muster_db_writes_total"),
        prepared: read("muster_db_statements_prepared_total"),
    }
}

/// What one request cost, and its status and body.
async fn cost(s: &TestServer, req: reqwest::RequestBuilder) -> (Cost, u16, Value) {
    let before = counters(s).await;
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let after = counters(s).await;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (
        Cost {
            trips: after.trips - before.trips,
            statements: after.statements - before.statements,
            writes: after.writes - before.writes,
            prepared: after.prepared - before.prepared,
        },
        status,
        body,
    )
}

async fn create(s: &TestServer, path: &str, body: Value) -> Value {
    let r = scim(s, reqwest::Method::POST, path)
        .header("content-type", SCIM_CT)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    json(r, 201).await
}

/// Directory: 120 users with an email and a role each; user 0 is in a group nested in
/// another, so its `groups` has a direct and an indirect entry.
async fn seed(s: &TestServer) -> (String, String) {
    let mut first = String::new();
    for i in 0..120 {
        let u = create(
            s,
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "userName": format!("user{i:03}@example.com"),
                   "emails": [{"value": format!("user{i:03}@work.example"), "type": "work", "primary": true}],
                   "roles": [{"value": "reader"}]}),
        )
        .await;
        if i == 0 {
            first = u["id"].as_str().unwrap().to_string();
        }
    }
    let inner = create(
        s,
        "/Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
               "displayName": "inner", "members": [{"value": first}]}),
    )
    .await;
    let inner_id = inner["id"].as_str().unwrap().to_string();
    create(
        s,
        "/Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
               "displayName": "outer", "members": [{"value": inner_id}]}),
    )
    .await;
    (first, inner_id)
}

/// Run `req` on a fresh connection (empty statement cache), then again: the first run
/// prepares every statement it runs (so each is cacheable), the second prepares none. Both
/// make one trip, run at most `budget` statements and write nothing.
async fn check_read(
    s: &TestServer,
    what: &str,
    budget: u64,
    req: impl Fn() -> reqwest::RequestBuilder,
) -> Value {
    check_read_repeating(s, what, budget, 0, req).await
}

/// `check_read` for a request that runs `repeats` of its statements a second time (the
/// second run of a statement finds it prepared).
async fn check_read_repeating(
    s: &TestServer,
    what: &str,
    budget: u64,
    repeats: u64,
    req: impl Fn() -> reqwest::RequestBuilder,
) -> Value {
    s.store.recycle();
    let (first, status, _) = cost(s, req()).await;
    assert_eq!(status, 200, "{what}");
    let (warm, status, body) = cost(s, req()).await;
    assert_eq!(status, 200, "{what}");
    eprintln!("{what}: cold {first:?}, warm {warm:?}");
    for c in [first, warm] {
        assert_eq!(c.trips, 1, "{what}: one trip to the blocking pool");
        assert!(
            c.statements <= budget,
            "{what}: {} statements, budget {budget}",
            c.statements
        );
        assert_eq!(c.writes, 0, "{what}: a read writes nothing");
    }
    assert_eq!(
        first.prepared + repeats,
        first.statements,
        "{what}: every statement is cacheable"
    );
    assert_eq!(
        warm.prepared, 0,
        "{what}: a warm connection prepares nothing new"
    );
    assert_eq!(warm.statements, first.statements, "{what}");
    body
}

async fn reads_fit_their_statement_budgets(b: Backend) {
    // One connection, so the second run of a request meets the statements the first cached.
    let s = TestServer::start_pooled(b, Some(1), |_| {}).await;
    let (first, inner) = seed(&s).await;
    // The credential's last_used_at was just written; within the minute it is not again.
    let user = check_read(&s, "GET /Users/{id}", 3, || {
        scim(&s, reqwest::Method::GET, &format!("/Users/{first}"))
    })
    .await;
    assert_eq!(user["userName"], "user000@example.com");
    assert_eq!(user["emails"][0]["value"], "user000@work.example");
    assert_eq!(user["roles"][0]["value"], "reader");
    let groups: Vec<(&str, &str)> = user["groups"]
        .as_array()
        .expect("groups shown")
        .iter()
        .map(|g| (g["display"].as_str().unwrap(), g["type"].as_str().unwrap()))
        .collect();
    assert_eq!(groups, vec![("inner", "direct"), ("outer", "indirect")]);

    let page = check_read(&s, "GET /Users?count=100", 4, || {
        scim(&s, reqwest::Method::GET, "/Users?count=100")
    })
    .await;
    assert_eq!(page["totalResults"], 120);
    assert_eq!(page["Resources"].as_array().unwrap().len(), 100);
    assert!(page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["emails"][0]["value"].as_str().is_some()));

    let found = check_read(&s, "userName eq", 4, || {
        scim(&s, reqwest::Method::GET, "/Users")
            .query(&[("filter", "userName eq \"user042@example.com\"")])
    })
    .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["userName"], "user042@example.com");
    // Another value, same statement shape: still nothing new to prepare.
    let (c, status, other) = cost(
        &s,
        scim(&s, reqwest::Method::GET, "/Users")
            .query(&[("filter", "userName eq \"user077@example.com\"")]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(other["Resources"][0]["userName"], "user077@example.com");
    assert_eq!(c.prepared, 0, "a filter's value is a bind parameter");

    let g = check_read(&s, "GET /Groups/{id}", 4, || {
        scim(&s, reqwest::Method::GET, &format!("/Groups/{inner}"))
    })
    .await;
    assert_eq!(g["members"][0]["value"], first.as_str());

    let groups = check_read(&s, "GET /Groups", 4, || {
        scim(&s, reqwest::Method::GET, "/Groups")
    })
    .await;
    assert_eq!(groups["totalResults"], 2);

    // Logto: a user (row, values, identities) and a page with its headers' count.
    let logto = |path: &str| s.get(path).bearer_auth(ADMIN_TOKEN);
    let u = check_read(&s, "Logto GET /api/users/{id}", 4, || {
        logto(&format!("/api/users/{first}"))
    })
    .await;
    assert_eq!(u["primaryEmail"], "user000@work.example");
    let page = check_read(&s, "Logto GET /api/users?page_size=100", 5, || {
        logto("/api/users?page_size=100")
    })
    .await;
    assert_eq!(page.as_array().unwrap().len(), 100);
    let found = check_read(&s, "Logto search.primaryEmail exact", 5, || {
        logto("/api/users?search.primaryEmail=USER042@work.example&mode.primaryEmail=exact")
    })
    .await;
    assert_eq!(found[0]["primaryEmail"], "user042@work.example");
}

/// The web console's pages: one trip, the session resolved in it (one statement), then the
/// page's reads, like any API read.
async fn console_pages_fit_their_statement_budgets(b: Backend) {
    let postgres = matches!(b, Backend::Postgres(_));
    let s = TestServer::start_pooled(b, Some(1), |_| {}).await;
    let (first, inner) = seed(&s).await;
    let (console, _) = common::console::signed_in(&s).await;
    let cookie = console.cookie.clone().unwrap();
    let page = |path: String| {
        let cookie = cookie.clone();
        let s = &s;
        move || s.get(&path).header("cookie", cookie.clone())
    };
    // Session, the total (the count kept by triggers, or one COUNT), the page's rows (in
    // an index's order), their values and roles.
    check_read(&s, "console users", 4, page("/console/users".into())).await;
    check_read(
        &s,
        "console users, plain search",
        4,
        page("/console/users?q=user04".into()),
    )
    .await;
    // On PostgreSQL a substring, range or boolean filter is planned with its values
    // (`UserFilter::plans_with_values`): two `SET plan_cache_mode` around the read, which are
    // not prepared statements.
    let sets = if postgres { 2 } else { 0 };
    check_read_repeating(
        &s,
        "console users, SCIM filter and sort",
        4 + sets,
        sets,
        page("/console/users?filter=userName%20sw%20%22user1%22&sort=-name".into()),
    )
    .await;
    // Session, the row, values/roles/groups, identities, the activity (its newest rows, no
    // count) and the names it mentions, the organization's groups and roles to offer.
    check_read(
        &s,
        "console user",
        8,
        page(format!("/console/users/{first}")),
    )
    .await;
    // Session, the group, its member counts (users, nested groups), a page of members and
    // their values, the nested groups, the groups that could be nested.
    check_read(
        &s,
        "console group",
        8,
        page(format!("/console/groups/{inner}")),
    )
    .await;
    // Session, the page, users and nested groups counted.
    check_read(&s, "console groups", 4, page("/console/groups".into())).await;
    // Session, users counted (triggers), suspended (partial index), groups counted, changes
    // per day, the latest changes, the names they mention (one statement, as the activity
    // page's).
    check_read(&s, "console dashboard", 7, page("/console/".into())).await;
    // Session, the count, the page, the names of the users, groups and credentials the
    // entries mention (one statement); a user to look up.
    check_read(&s, "console activity", 4, page("/console/activity".into())).await;
    check_read(
        &s,
        "console activity, filtered",
        5,
        page(format!(
            "/console/activity?dialect=scim&action=User&user={first}&from=2026-01-01"
        )),
    )
    .await;
    // Session, the children, their usage summed.
    check_read(
        &s,
        "console organizations",
        3,
        page("/console/organizations".into()),
    )
    .await;
    // Session, the user with groups (two), identities (Logto), role ids (Domo, then Sumo:
    // the same statement twice, each dialect's rendering its own).
    check_read_repeating(
        &s,
        "console user in each API",
        6,
        1,
        page(format!("/console/users/{first}/apis")),
    )
    .await;
    // The pages show what they should.
    let body = s
        .get("/console/users?q=user04")
        .header("cookie", console.cookie.clone().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body.matches("name=\"ids\" value=\"").count(), 10);
    let body = s
        .get("/console/users")
        .header("cookie", console.cookie.clone().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body.matches("name=\"ids\" value=\"").count(), 100);
    assert!(body.contains("rel=\"next\""));
}

fn domo(s: &TestServer, path: &str) -> reqwest::RequestBuilder {
    s.get(path)
        .header("Authorization", format!("bearer {ADMIN_TOKEN}"))
}

/// Domo's reads: a user is its row, its values, roles and groups (one statement) and its
/// role ids; a page the same for the page; a group its row and member count.
async fn domo_reads_fit_their_statement_budgets(b: Backend) {
    let s = TestServer::start_pooled(b, Some(1), |_| {}).await;
    let (first, inner) = seed(&s).await;
    let uid = i64::from_str_radix(&first, 16).unwrap();
    let gid = i64::from_str_radix(&inner, 16).unwrap();
    let user = check_read(&s, "GET /v1/users/{id}", 4, || {
        domo(&s, &format!("/v1/users/{uid}"))
    })
    .await;
    assert_eq!(user["id"], uid);
    assert_eq!(user["email"], "user000@work.example");
    assert_eq!(user["role"], "reader");
    assert!(user["roleId"].as_i64().is_some());
    assert_eq!(user["groups"], json!([{"id": gid, "name": "inner"}]));

    let page = check_read(&s, "GET /v1/users?limit=100", 4, || {
        domo(&s, "/v1/users?limit=100&offset=10")
    })
    .await;
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 100);
    assert!(page.iter().all(|u| u["roleId"].as_i64().is_some()));

    let g = check_read(&s, "GET /v1/groups/{id}", 3, || {
        domo(&s, &format!("/v1/groups/{gid}"))
    })
    .await;
    assert_eq!(g["memberCount"], 1);
    let groups = check_read(&s, "GET /v1/groups", 3, || domo(&s, "/v1/groups")).await;
    assert_eq!(groups.as_array().unwrap().len(), 2);
    let ids = check_read(&s, "GET /v1/groups/{id}/users", 2, || {
        domo(&s, &format!("/v1/groups/{gid}/users"))
    })
    .await;
    assert_eq!(ids, json!([uid]));
}

/// Adobe's reads: a page of users is its count, its rows and their values and groups (one
/// statement); a group's users add the group's lookup; a user is found by email, then read
/// with its values and groups; a page of groups is its count, rows and member counts.
async fn adobe_reads_fit_their_statement_budgets(b: Backend) {
    let s = TestServer::start_pooled(b, Some(1), |_| {}).await;
    seed(&s).await;
    let (id, secret) = ("cli_budget", "budget-secret-0123456789");
    s.credential("default", kind_client(), id, secret, "users:read")
        .await;
    let r = s
        .post("/ims/token/v3")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    let token = json(r, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let adobe = |path: &str| {
        s.get(&format!("/v2/usermanagement{path}"))
            .bearer_auth(&token)
            .header("X-Api-Key", id)
    };
    let page = check_read(&s, "GET /users/{org}/0", 4, || adobe("/users/default/0")).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 120);
    assert_eq!(page["lastPage"], true);
    let inner = check_read(&s, "GET /users/{org}/0/{group}", 5, || {
        adobe("/users/default/0/inner?directOnly=false")
    })
    .await;
    assert_eq!(inner["users"][0]["email"], "user000@work.example");
    assert_eq!(inner["users"][0]["groups"], json!(["inner", "outer"]));
    let user = check_read(&s, "GET /organizations/{org}/users/{email}", 4, || {
        adobe("/organizations/default/users/USER042@work.example")
    })
    .await;
    assert_eq!(user["user"]["username"], "user042@example.com");
    let groups = check_read(&s, "GET /groups/{org}/0", 4, || adobe("/groups/default/0")).await;
    assert_eq!(groups["groups"].as_array().unwrap().len(), 2);
}

fn sumo(s: &TestServer, path: &str) -> reqwest::RequestBuilder {
    s.get(path)
        .basic_auth("sumo_budget", Some("sumo-budget-secret-0123456789"))
}

/// Sumo Logic's reads: a user is the credential, its row, its values and roles (one
/// statement) and its role ids; a page (keyset, sorted or not, with the email filter) the
/// same for the page; a role its row and holders.
async fn sumo_reads_fit_their_statement_budgets(b: Backend) {
    let s = TestServer::start_pooled(b, Some(1), |_| {}).await;
    let (first, _) = seed(&s).await;
    s.credential(
        "default",
        kind_client(),
        "sumo_budget",
        "sumo-budget-secret-0123456789",
        "all",
    )
    .await;
    // The credential's first use writes its last_used_at; within the minute it is not again.
    // A first token makes the database's signing key (once per database, not per request).
    assert_eq!(
        sumo(&s, "/api/v1/users?limit=1")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let user = check_read(&s, "Sumo GET /api/v1/users/{id}", 4, || {
        sumo(&s, &format!("/api/v1/users/{first}"))
    })
    .await;
    assert_eq!(user["email"], "user000@work.example");
    assert_eq!(user["roleIds"].as_array().unwrap().len(), 1);
    let page = check_read(&s, "Sumo GET /api/v1/users?limit=100", 5, || {
        sumo(&s, "/api/v1/users?limit=100")
    })
    .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 100);
    let token = page["next"].as_str().unwrap().to_string();
    let rest = check_read(&s, "Sumo GET /api/v1/users?token=", 4, || {
        sumo(&s, &format!("/api/v1/users?limit=100&token={token}"))
    })
    .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 20);
    assert_eq!(rest["next"], Value::Null);
    let sorted = check_read(&s, "Sumo GET /api/v1/users?sortBy=email", 4, || {
        sumo(&s, "/api/v1/users?limit=100&sortBy=email")
    })
    .await;
    assert_eq!(sorted["data"][0]["email"], "user000@work.example");
    let found = check_read(&s, "Sumo GET /api/v1/users?email=", 4, || {
        sumo(&s, "/api/v1/users?email=USER042@work.example")
    })
    .await;
    assert_eq!(found["data"][0]["email"], "user042@work.example");
    let rid = user["roleIds"][0].as_str().unwrap().to_string();
    let role = check_read(&s, "Sumo GET /api/v1/roles/{id}", 3, || {
        sumo(&s, &format!("/api/v1/roles/{rid}"))
    })
    .await;
    assert_eq!(role["users"].as_array().unwrap().len(), 120);
    let roles = check_read(&s, "Sumo GET /api/v1/roles", 3, || {
        sumo(&s, "/api/v1/roles")
    })
    .await;
    assert_eq!(roles["data"].as_array().unwrap().len(), 1);
}

async fn writes_make_one_trip(b: Backend) {
    let s = TestServer::start_pooled(b, Some(1), |_| {}).await;
    let (first, inner) = seed(&s).await;
    let patch = |path: String, body: Value| {
        scim(&s, reqwest::Method::PATCH, &path)
            .header("content-type", SCIM_CT)
            .body(body.to_string())
    };
    let (c, status, body) = cost(
        &s,
        patch(
            format!("/Users/{first}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "displayName", "value": "First"}]}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["displayName"], "First");
    eprintln!("PATCH /Users/{{id}}: {c:?}");
    assert_eq!(c.trips, 1);
    // BEGIN, locked read (row + values/roles), UPDATE, audit INSERT, event INSERT, COMMIT,
    // groups.
    assert!(c.statements <= 9, "{c:?}");
    assert_eq!(
        c.writes, 3,
        "the row, its audit entry and its change event: {c:?}"
    );

    // Adding a member is a row delta: no member list is read or rewritten.
    let (c, status, body) = cost(
        &s,
        patch(
            format!("/Groups/{inner}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "add", "path": "members", "value": [{"value": first}]}]}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    eprintln!("PATCH /Groups/{{id}} (member already there): {c:?}");
    assert_eq!(c.trips, 1);
    // auth, BEGIN, locked read, member kinds, INSERT … ON CONFLICT DO NOTHING, COMMIT, members.
    assert!(c.statements <= 7, "{c:?}");
    assert_eq!(
        c.writes, 1,
        "the INSERT that found the row there; no version bump: {c:?}"
    );
    assert_eq!(
        body["meta"]["version"], "W/\"1\"",
        "nothing changed: {body}"
    );
}

/// Users `user{from}..user{to}` created through Bulk; their ids.
async fn bulk_users(s: &TestServer, from: usize, to: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for start in (from..to).step_by(1000) {
        let ops: Vec<Value> = (start..to.min(start + 1000))
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                       "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                "userName": format!("big{i:05}@example.com")}})
            })
            .collect();
        let r = scim(s, reqwest::Method::POST, "/Bulk")
            .header("content-type", SCIM_CT)
            .body(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                       "Operations": ops})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        let body = json(r, 200).await;
        for op in body["Operations"].as_array().unwrap() {
            assert_eq!(op["status"], "201", "{op}");
            let location = op["location"].as_str().unwrap();
            ids.push(location.rsplit('/').next().unwrap().to_string());
        }
    }
    ids
}

/// A member change or a member-less read of a group of 2,500 costs exactly what the same
/// request costs on a group of one: the same statements, the same rows written (counted by
/// the instrumentation, so a query that read or rewrote the member list would show). The
/// big group's members, when shown, are streamed (chunked, no `Content-Length`) and are
/// exactly its members.
async fn large_group_changes_cost_what_they_change(b: Backend) {
    const BIG: usize = 2500;
    let s = TestServer::start_pooled(b, Some(1), |_| {}).await;
    let ids = bulk_users(&s, 0, BIG + 2).await;
    let (extra, probe) = (ids[BIG].clone(), ids[BIG + 1].clone());
    let group = |name: &str, members: &[String]| {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
               "displayName": name, "members": members})
    };
    let small = create(&s, "/Groups", group("small", &ids[..1])).await;
    let big = create(&s, "/Groups", group("big", &ids[..BIG])).await;
    assert_eq!(
        big["members"].as_array().map(Vec::len),
        Some(BIG),
        "a created group of {BIG} shows its members"
    );
    let (small, big) = (small["id"].as_str().unwrap(), big["id"].as_str().unwrap());
    let patch = |gid: &str, op: Value| {
        scim(
            &s,
            reqwest::Method::PATCH,
            &format!("/Groups/{gid}?excludedAttributes=members"),
        )
        .header("content-type", SCIM_CT)
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [op]})
            .to_string(),
        )
    };
    let add = json!({"op": "add", "path": "members", "value": [{"value": extra}]});
    let remove = json!({"op": "remove", "path": format!("members[value eq \"{extra}\"]")});
    let mut costs = Vec::new();
    for gid in [small, big] {
        let (add_cost, status, body) = cost(&s, patch(gid, add.clone())).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("members").is_none(), "excluded: {body}");
        assert_eq!(body["meta"]["version"], "W/\"2\"", "{body}");
        let (remove_cost, status, body) = cost(&s, patch(gid, remove.clone())).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["meta"]["version"], "W/\"3\"", "{body}");
        let (read_cost, status, body) = cost(
            &s,
            scim(
                &s,
                reqwest::Method::GET,
                &format!("/Groups/{gid}?excludedAttributes=members"),
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("members").is_none(), "{body}");
        eprintln!("group {gid}: add {add_cost:?} remove {remove_cost:?} read {read_cost:?}");
        assert_eq!(add_cost.trips, 1);
        assert_eq!(
            add_cost.writes, 4,
            "membership, version, audit, event: {add_cost:?}"
        );
        assert_eq!(
            remove_cost.writes, 5,
            "user and nested-group membership DELETEs, version, audit, event: {remove_cost:?}"
        );
        assert_eq!(read_cost.writes, 0);
        // What was newly prepared depends on the order the two groups ran in; not the rest.
        let shape = |c: Cost| (c.trips, c.statements, c.writes);
        costs.push((shape(add_cost), shape(remove_cost), shape(read_cost)));
    }
    assert_eq!(
        costs[0], costs[1],
        "a group of {BIG} costs what a group of 1 costs"
    );

    // Shown: streamed, and exactly the members.
    let resp = scim(&s, reqwest::Method::GET, &format!("/Groups/{big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers().get("content-length").is_none(),
        "a large member list is streamed, not sized up front: {:?}",
        resp.headers()
    );
    assert_eq!(resp.headers()["content-type"], SCIM_CT);
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, "W/\"3\"");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], big);
    assert_eq!(body["displayName"], "big");
    assert_eq!(body["meta"]["version"], etag);
    let members = body["members"].as_array().unwrap();
    assert_eq!(members.len(), BIG);
    let mut shown: Vec<&str> = members
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    shown.sort_unstable();
    let mut want: Vec<&str> = ids[..BIG].iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(shown, want);
    let names: std::collections::HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    for m in members {
        let id = m["value"].as_str().unwrap();
        assert_eq!(m["type"], "User", "{m}");
        assert_eq!(m["$ref"], s.url(&format!("/scim/v2/Users/{id}")), "{m}");
        // `display`: these users have no displayName, so their userName.
        assert_eq!(
            m["display"],
            format!("big{:05}@example.com", names[id]),
            "{m}"
        );
        assert_eq!(m.as_object().unwrap().len(), 4, "{m}");
    }
    // Members with their display names cost the same statements for 2,500 as for one: the
    // names come with the membership rows, not a statement per member.
    let mut shown_costs = Vec::new();
    for gid in [small, big] {
        let (c, status, body) = cost(
            &s,
            scim(&s, reqwest::Method::GET, &format!("/Groups/{gid}")),
        )
        .await;
        assert_eq!(status, 200);
        assert!(body["members"][0]["display"].is_string(), "{body}");
        shown_costs.push((c.trips, c.statements, c.writes));
    }
    assert_eq!(
        shown_costs[0], shown_costs[1],
        "showing {BIG} members with their display names costs what one costs"
    );
    // A small group is one sized buffer, the same shape.
    let resp = scim(&s, reqwest::Method::GET, &format!("/Groups/{small}"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("content-length").is_some());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["members"],
        json!([{"value": ids[0], "$ref": s.url(&format!("/scim/v2/Users/{}", ids[0])), "type": "User", "display": "big00000@example.com"}])
    );
    // A PATCH answering with the members streams them too; a projection is honoured.
    let r = scim(&s, reqwest::Method::PATCH, &format!("/Groups/{big}"))
        .header("content-type", SCIM_CT)
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "add", "path": "members", "value": [{"value": probe}]}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let body = json(r, 200).await;
    assert_eq!(body["members"].as_array().unwrap().len(), BIG + 1);
    assert_eq!(body["meta"]["version"], "W/\"4\"");
    let r = scim(
        &s,
        reqwest::Method::GET,
        &format!("/Groups/{big}?attributes=members.value"),
    )
    .send()
    .await
    .unwrap();
    let body = json(r, 200).await;
    let members = body["members"].as_array().unwrap();
    assert_eq!(members.len(), BIG + 1);
    assert!(
        members.iter().all(|m| m.as_object().unwrap().len() == 1),
        "only value"
    );
    // `attributes=members.display`: only the display names (streamed or not, the same).
    for gid in [small, big] {
        let r = scim(
            &s,
            reqwest::Method::GET,
            &format!("/Groups/{gid}?attributes=members.display"),
        )
        .send()
        .await
        .unwrap();
        let body = json(r, 200).await;
        let members = body["members"].as_array().unwrap();
        assert!(!members.is_empty());
        assert!(
            members.iter().all(|m| m.as_object().unwrap().len() == 1
                && m["display"].as_str().unwrap().ends_with("@example.com")),
            "only display: {}",
            members[0]
        );
    }
}

async fn the_event_feed_fits_its_budget(b: Backend) {
    let s = TestServer::start_pooled(b, Some(1), |_| {}).await;
    seed(&s).await;
    // No event tasks run here: number the seed's events as the sequencer would.
    let store = s.store.clone();
    let numbered = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        muster::store::events::sequence(&mut conn).unwrap()
    })
    .await
    .unwrap();
    assert!(numbered > 100, "{numbered}");
    // Credential, page, the organization's last number.
    let page = check_read(&s, "GET /admin/v1/events?limit=100", 3, || {
        s.get("/admin/v1/events?after=5&limit=100")
            .bearer_auth(ADMIN_TOKEN)
    })
    .await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 100);
    assert_eq!(events[0]["sequence"], 6);
    assert_eq!(page["moreAvailable"], true);
}

/// Custom schema extensions (docs/scim-extensions.md): a user's extension values come in the
/// statement that reads their other values, a group's only when its row says it has any, the
/// registry rides on the credential lookup, and a filter on an extension attribute is one
/// statement like any other.
async fn extension_values_cost_no_statement_more(b: Backend) {
    const EXT: &str = "urn:example:budget:2.0:User";
    const GEXT: &str = "urn:example:budget:2.0:Group";
    let s = TestServer::start_pooled(b, Some(1), |_| {}).await;
    for (urn, attrs) in [
        (
            EXT,
            json!([{"name": "costCenter", "type": "string"}, {"name": "level", "type": "integer"}]),
        ),
        (GEXT, json!([{"name": "code", "type": "string"}])),
    ] {
        let resp = s
            .post("/admin/v1/schemas")
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(json!({"schema": {"id": urn, "attributes": attrs}}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
    }
    let with = create(
        &s,
        "/Users",
        json!({"userName": "ext", EXT: {"costCenter": "CC-1", "level": 3}}),
    )
    .await;
    let without = create(&s, "/Users", json!({"userName": "plain"})).await;
    let g = create(
        &s,
        "/Groups",
        json!({"displayName": "g", GEXT: {"code": "G-1"}}),
    )
    .await;
    let (with, without, g) = (
        with["id"].as_str().unwrap().to_string(),
        without["id"].as_str().unwrap().to_string(),
        g["id"].as_str().unwrap().to_string(),
    );
    let u = check_read(&s, "GET /Users/{id} with extension values", 3, || {
        scim(&s, reqwest::Method::GET, &format!("/Users/{with}"))
    })
    .await;
    assert_eq!(u[EXT], json!({"costCenter": "CC-1", "level": 3}));
    let (a, _, _) = cost(
        &s,
        scim(&s, reqwest::Method::GET, &format!("/Users/{with}")),
    )
    .await;
    let (b2, _, _) = cost(
        &s,
        scim(&s, reqwest::Method::GET, &format!("/Users/{without}")),
    )
    .await;
    assert_eq!(
        a.statements, b2.statements,
        "extension values cost no statement"
    );
    let found = check_read(&s, "extension eq", 4, || {
        scim(&s, reqwest::Method::GET, "/Users")
            .query(&[("filter", format!("{EXT}:costCenter eq \"cc-1\""))])
    })
    .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["userName"], "ext");
    let got = check_read(&s, "GET /Groups/{id} with extension values", 5, || {
        scim(&s, reqwest::Method::GET, &format!("/Groups/{g}"))
    })
    .await;
    assert_eq!(got[GEXT], json!({"code": "G-1"}));
}

/// On SQLite, a read of one user found by a unique index (GET by id, `userName eq`, `id eq`)
/// runs on the request's own thread (`muster_db_trips_here_total`); a page, a group, a
/// broader filter and every write still go to the blocking pool, and on PostgreSQL (a network
/// round trip) everything does. Each is still one trip, and answers the same.
async fn short_reads_run_without_the_blocking_pool_on_sqlite(b: Backend) {
    let sqlite = matches!(b, Backend::Sqlite);
    let s = TestServer::start(b).await;
    let (first, inner) = seed(&s).await;
    let here = |s: &TestServer| {
        let s = s.get("/metrics");
        async move {
            let text = s.send().await.unwrap().text().await.unwrap();
            text.lines()
                .find_map(|l| l.strip_prefix("muster_db_trips_here_total "))
                .expect("muster_db_trips_here_total in /metrics")
                .trim()
                .parse::<u64>()
                .unwrap()
        }
    };
    let cases: Vec<(&str, reqwest::RequestBuilder, bool, Value)> = vec![
        (
            "GET /Users/{id}",
            scim(&s, reqwest::Method::GET, &format!("/Users/{first}")),
            true,
            json!("user000@example.com"),
        ),
        (
            "userName eq",
            scim(&s, reqwest::Method::GET, "/Users")
                .query(&[("filter", "userName eq \"USER042@example.com\"")]),
            true,
            json!("user042@example.com"),
        ),
        (
            "id eq",
            scim(&s, reqwest::Method::GET, "/Users")
                .query(&[("filter", format!("id eq \"{first}\""))]),
            true,
            json!("user000@example.com"),
        ),
        (
            "a page",
            scim(&s, reqwest::Method::GET, "/Users?count=5&sortBy=userName"),
            false,
            json!("user000@example.com"),
        ),
        (
            "userName sw",
            scim(&s, reqwest::Method::GET, "/Users")
                .query(&[("filter", "userName sw \"user000\"")]),
            false,
            json!("user000@example.com"),
        ),
        (
            "userName eq or userName eq",
            scim(&s, reqwest::Method::GET, "/Users").query(&[(
                "filter",
                "userName eq \"user000@example.com\" or userName eq \"nobody\"",
            )]),
            false,
            json!("user000@example.com"),
        ),
        (
            "GET /Groups/{id}",
            scim(&s, reqwest::Method::GET, &format!("/Groups/{inner}")),
            false,
            json!(null),
        ),
    ];
    for (what, req, short, user_name) in cases {
        let before = here(&s).await;
        let r = req.send().await.unwrap();
        let body = json(r, 200).await;
        let ran_here = here(&s).await - before;
        assert_eq!(ran_here, u64::from(short && sqlite), "{what}");
        if !user_name.is_null() {
            let found = body.get("Resources").map_or(&body, |r| &r[0]);
            assert_eq!(found["userName"], user_name, "{what}: {body}");
        } else {
            assert_eq!(body["displayName"], "inner", "{what}");
        }
    }
    // A write is never a short read.
    let before = here(&s).await;
    let r = scim(&s, reqwest::Method::PATCH, &format!("/Users/{first}"))
        .header("content-type", SCIM_CT)
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "title", "value": "Engineer"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(json(r, 200).await["title"], "Engineer");
    assert_eq!(here(&s).await, before, "a PATCH");
    // A bad credential on a short read is refused as before.
    let r = s
        .get(&format!("/scim/v2/Users/{first}"))
        .bearer_auth("mst_not_a_token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}
