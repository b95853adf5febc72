//! Concurrent writers over HTTP on SQLite and PostgreSQL: uniqueness is the database's, so
//! racing creates give one winner; PATCHes without If-Match never lose an update.

use crate::common;

use common::*;
use serde_json::{json, Value};

both_backends!(
    racing_creates_have_one_winner,
    concurrent_patches_lose_no_update,
    concurrent_member_adds_all_land,
    member_adds_through_two_instances_all_land,
);

async fn racing_creates_have_one_winner(b: Backend) {
    let s = TestServer::start(b).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let http = s.http.clone();
        let url = s.url("/scim/v2/Users");
        let name = if i % 2 == 0 {
            "race@x.com"
        } else {
            "RACE@X.COM"
        };
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"userName": name}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409, 409, 409]);
    let r = json(
        s.get("/scim/v2/Users?filter=userName%20eq%20%22race@x.com%22")
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(r["totalResults"], 1);
}

async fn concurrent_patches_lose_no_update(b: Backend) {
    let s = TestServer::start(b).await;
    let u = json(
        s.post("/scim/v2/Users")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"userName": "busy@x.com"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let id = u["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let http = s.http.clone();
        let url = s.url(&format!("/scim/v2/Users/{id}"));
        tasks.push(tokio::spawn(async move {
            let body = json!({"Operations": [{"op": "add", "path": "emails", "value": [{"value": format!("e{i}@x.com"), "type": "other"}]}]});
            http.patch(url).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let u: Value = json(
        s.get(&format!("/scim/v2/Users/{id}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let mut emails: Vec<&str> = u["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    emails.sort();
    assert_eq!(
        emails,
        vec!["e0@x.com", "e1@x.com", "e2@x.com", "e3@x.com", "e4@x.com", "e5@x.com"]
    );
    assert_eq!(u["meta"]["version"], "W/\"7\"", "six changes, six versions");
}

async fn concurrent_member_adds_all_land(b: Backend) {
    let s = TestServer::start(b).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let u = json(
            s.post("/scim/v2/Users")
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"userName": format!("m{i}@x.com")}))
                .send()
                .await
                .unwrap(),
            201,
        )
        .await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let g = json(
        s.post("/scim/v2/Groups")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"displayName": "Busy"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let gid = g["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let http = s.http.clone();
        let url = s.url(&format!("/scim/v2/Groups/{gid}?excludedAttributes=members"));
        // Every writer also adds the first user: the same row raced for by all.
        let body = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": id}, {"value": ids[0]}]}]});
        tasks.push(tokio::spawn(async move {
            let r = http
                .patch(url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            (i, r.status().as_u16())
        }));
    }
    for t in tasks {
        let (i, status) = t.await.unwrap();
        assert_eq!(status, 200, "writer {i}");
    }
    let g: Value = json(
        s.get(&format!("/scim/v2/Groups/{gid}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let mut members: Vec<String> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_string())
        .collect();
    members.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(members, want);
}

/// 64 clients add 64 different members to one group at once, half through each of two
/// `muster` processes on one database, without `If-Match`: every add is a 200 and every
/// member is there (writers queue on the group's row instead of losing a compare-and-set).
async fn member_adds_through_two_instances_all_land(b: Backend) {
    const N: usize = 64;
    let db = TestDb::new(&b);
    let token = "two-instances-token-0123456789";
    let env = [("MUSTER_BOOTSTRAP_TOKEN", token)];
    let one = Process::serve(&db.url, &[], &env).await;
    let two = Process::serve(&db.url, &[], &env).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(N)
        .build()
        .unwrap();
    let post = |base: &str, path: &str, body: Value| {
        http.post(format!("{base}/scim/v2{path}"))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
    };
    let group = json(
        post(&one.base, "/Groups", json!({"displayName": "crowd"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let gid = group["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for i in 0..N {
        let u = json(
            post(
                &one.base,
                "/Users",
                json!({"userName": format!("m{i}@x.com")}),
            )
            .send()
            .await
            .unwrap(),
            201,
        )
        .await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let base = if i % 2 == 0 { &one.base } else { &two.base };
        let req = http
            .patch(format!("{base}/scim/v2/Groups/{gid}"))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]})
                .to_string(),
            );
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }));
    }
    let mut failures = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        if status != 200 {
            failures.push((status, body));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {N} adds failed: {failures:?}",
        failures.len()
    );
    let g = json(
        http.get(format!("{}/scim/v2/Groups/{gid}", two.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let mut members: Vec<String> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_string())
        .collect();
    members.sort();
    ids.sort();
    assert_eq!(members, ids);
    // One version bump per add that changed something.
    assert_eq!(g["meta"]["version"], format!("W/\"{}\"", N + 1));
}
