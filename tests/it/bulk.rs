//! SCIM Bulk (RFC 7644 §3.7) over real HTTP, on SQLite and PostgreSQL: bulkId references in
//! any order (paths and PATCH values too), cycles and unknown references, per-operation
//! errors that leave the other operations standing, failOnErrors, versions, limits.

use crate::common;

use common::*;
use serde_json::{json, Value};

both_backends!(
    references_resolve_in_any_order,
    errors_are_per_operation,
    limits_and_malformed_requests,
    batched_creates_are_single_creates
);

async fn bulk(s: &TestServer, body: Value, status: u16) -> Value {
    json(
        s.post("/scim/v2/Bulk")
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap(),
        status,
    )
    .await
}

async fn scim_get(s: &TestServer, path: &str, status: u16) -> Value {
    json(
        s.get(&format!("/scim/v2{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        status,
    )
    .await
}

fn trips(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("muster_db_trips_total "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn references_resolve_in_any_order(b: Backend) {
    let s = TestServer::start(b).await;
    let before = trips(
        &s.get("/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let r = bulk(
        &s,
        json!({"schemas": [BULK], "Operations": [
            // A group whose member is created later in the request (forward reference).
            {"method": "POST", "path": "/Groups", "bulkId": "team",
             "data": {"schemas": [GROUP], "displayName": "Team", "members": [{"value": "bulkId:ann"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "ann",
             "data": {"schemas": [USER], "userName": "ann@example.com"}},
            {"method": "POST", "path": "/Users", "bulkId": "bob",
             "data": {"schemas": [USER], "userName": "bob@example.com"}},
            // A PATCH of a user named by bulkId, and a reference inside a PATCH value.
            {"method": "PATCH", "path": "/Users/bulkId:ann",
             "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Ann"}]}},
            {"method": "PATCH", "path": "/Groups/bulkId:team",
             "data": {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:bob"}]}]}},
            // A group nested in another, both new (backward reference).
            {"method": "POST", "path": "/Groups", "bulkId": "org",
             "data": {"schemas": [GROUP], "displayName": "Org", "members": [{"value": "bulkId:team"}]}}
        ]}),
        200,
    )
    .await;
    let after = trips(
        &s.get("/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(
        after - before,
        1,
        "one Bulk request, one trip to the blocking pool"
    );
    assert_eq!(
        r["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    let ops = r["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 6);
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "201", "200", "200", "201"], "{r}");
    assert_eq!(ops[0]["bulkId"], "team");
    assert_eq!(ops[0]["method"], "POST");
    let loc = |i: usize| ops[i]["location"].as_str().unwrap().to_string();
    let id_of = |i: usize| loc(i).rsplit('/').next().unwrap().to_string();
    assert!(loc(1).starts_with(&s.url("/scim/v2/Users/")));
    assert_eq!(loc(3), loc(1), "a PATCH's location is its resource");
    assert_eq!(ops[3]["version"], "W/\"2\"");
    let (team, ann, bob, org) = (id_of(0), id_of(1), id_of(2), id_of(5));

    let g = scim_get(&s, &format!("/Groups/{team}"), 200).await;
    let mut members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    let mut want = vec![ann.as_str(), bob.as_str()];
    want.sort();
    assert_eq!(members, want);
    let u = scim_get(&s, &format!("/Users/{ann}"), 200).await;
    assert_eq!(u["displayName"], "Ann");
    let groups: Vec<&str> = u["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["display"].as_str().unwrap())
        .collect();
    assert!(groups.contains(&"Team") && groups.contains(&"Org"), "{u}");
    assert_eq!(
        scim_get(&s, &format!("/Groups/{org}"), 200).await["members"][0]["value"],
        team.as_str()
    );
    // Through the directory: each operation has its audit entry.
    let logs = json(
        s.get(&format!("/api/logs?userId={ann}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let keys: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["Scim.User.Update", "Scim.User.Create"]);

    // Advertised.
    let spc = scim_get(&s, "/ServiceProviderConfig", 200).await;
    assert_eq!(spc["bulk"]["supported"], true);
    assert_eq!(spc["bulk"]["maxOperations"], 1000);
    assert!(spc["bulk"]["maxPayloadSize"].as_u64().unwrap() >= 8 * 1024 * 1024);
}

async fn errors_are_per_operation(b: Backend) {
    let s = TestServer::start(b).await;
    let r = bulk(
        &s,
        json!({"schemas": [BULK], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "a@x.example"}},
            // Taken: 409, and the rest goes on.
            {"method": "POST", "path": "/Users", "bulkId": "a2", "data": {"schemas": [USER], "userName": "A@x.example"}},
            // Depends on the failed POST: 409, nothing made.
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:a2"}]}},
            // A cycle: 409 for both.
            {"method": "POST", "path": "/Groups", "bulkId": "c1", "data": {"schemas": [GROUP], "displayName": "C1", "members": [{"value": "bulkId:c2"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "c2", "data": {"schemas": [GROUP], "displayName": "C2", "members": [{"value": "bulkId:c1"}]}},
            // No such bulkId.
            {"method": "DELETE", "path": "/Users/bulkId:nobody"},
            // A stale version: 412.
            {"method": "PUT", "path": "/Users/bulkId:a", "version": "W/\"7\"", "data": {"schemas": [USER], "userName": "a@x.example", "title": "x"}},
            // Unknown user: 404; bad path: 400.
            {"method": "DELETE", "path": "/Users/0000000000000001"},
            {"method": "PATCH", "path": "/Things/1", "data": {"schemas": [PATCH], "Operations": []}},
            // A PATCH the engine refuses: 400, and the user keeps its name.
            {"method": "PATCH", "path": "/Users/bulkId:a", "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": null}]}},
            {"method": "DELETE", "path": "/Users/bulkId:a"}
        ]}),
        200,
    )
    .await;
    let ops = r["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["201", "409", "409", "409", "409", "409", "412", "404", "400", "400", "204"],
        "{r}"
    );
    assert_eq!(ops[1]["response"]["scimType"], "uniqueness");
    assert_eq!(
        ops[1]["response"]["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert!(ops[5]["response"]["detail"]
        .as_str()
        .unwrap()
        .contains("nobody"));
    let groups = scim_get(&s, "/Groups", 200).await;
    assert_eq!(groups["totalResults"], 0, "no group was made: {groups}");
    assert_eq!(scim_get(&s, "/Users", 200).await["totalResults"], 0);

    // failOnErrors: stop after that many errors, answer what ran.
    let r = bulk(
        &s,
        json!({"schemas": [BULK], "failOnErrors": 1, "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"schemas": [USER], "userName": "x@x.example"}},
            {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"schemas": [USER], "userName": "x@x.example"}},
            {"method": "POST", "path": "/Users", "bulkId": "z", "data": {"schemas": [USER], "userName": "z@x.example"}}
        ]}),
        200,
    )
    .await;
    let statuses: Vec<&str> = r["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["201", "409"]);
    let users = scim_get(&s, "/Users", 200).await;
    assert_eq!(users["totalResults"], 1);
    assert_eq!(users["Resources"][0]["userName"], "x@x.example");
}

async fn limits_and_malformed_requests(b: Backend) {
    let s = TestServer::start(b).await;
    let op = json!({"method": "DELETE", "path": "/Users/0000000000000001"});
    let r = bulk(
        &s,
        json!({"schemas": [BULK], "Operations": vec![op; 1001]}),
        413,
    )
    .await;
    assert_eq!(r["status"], "413");
    assert!(r["detail"].as_str().unwrap().contains("1000"), "{r}");
    // Larger than other requests may be, within the Bulk limit.
    let big: Vec<Value> = (0..600)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                   "data": {"schemas": [USER], "userName": format!("user{i}@x.example"),
                            "title": "t".repeat(2000)}})
        })
        .collect();
    let body = json!({"schemas": [BULK], "Operations": big});
    assert!(body.to_string().len() > 1024 * 1024);
    let r = bulk(&s, body, 200).await;
    assert!(r["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["status"] == "201"));
    assert_eq!(
        scim_get(&s, "/Users?count=1", 200).await["totalResults"],
        600
    );
    // Past the Bulk limit: 413, read by the client.
    let huge = format!(
        "{{\"schemas\":[\"{BULK}\"],\"Operations\":[],\"pad\":\"{}\"}}",
        "x".repeat(9 * 1024 * 1024)
    );
    let resp = s
        .post("/scim/v2/Bulk")
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/scim+json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    for (body, what) in [
        (json!([1]), "not an object"),
        (json!({"schemas": [BULK]}), "no Operations"),
        (
            json!({"schemas": ["urn:x"], "Operations": []}),
            "wrong schema",
        ),
        (
            json!({"schemas": [BULK], "Operations": [{"method": "POST", "path": "/Users", "data": {}}]}),
            "POST without bulkId",
        ),
        (
            json!({"schemas": [BULK], "Operations": [{"method": "GET", "path": "/Users"}]}),
            "GET",
        ),
        (
            json!({"schemas": [BULK], "failOnErrors": 0, "Operations": []}),
            "failOnErrors 0",
        ),
        (
            json!({"schemas": [BULK], "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "d", "data": {"userName": "d1"}},
                {"method": "POST", "path": "/Users", "bulkId": "d", "data": {"userName": "d2"}}]}),
            "duplicate bulkId",
        ),
    ] {
        let r = bulk(&s, body, 400).await;
        assert_eq!(r["status"], "400", "{what}: {r}");
    }
    // A bad credential is a 401 whatever the body.
    let r = s
        .post("/scim/v2/Bulk")
        .bearer_auth("wrong-token-0123456789")
        .header("content-type", "application/scim+json")
        .body("[1]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

async fn audit_keys(s: &TestServer, user: &str) -> Vec<String> {
    let logs = json(
        s.get(&format!("/api/logs?userId={user}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    logs.as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_string())
        .collect()
}

/// Bulk writes runs of user creates together (multi-row INSERTs): what it stores is what a
/// single POST stores — every multi-valued attribute, roles, the enterprise extension —
/// each with its own audit entry; a name taken inside such a run fails that operation
/// alone, and the run's first attempt leaves nothing behind (no second audit entry).
async fn batched_creates_are_single_creates(b: Backend) {
    let s = TestServer::start(b).await;
    let rich = |name: &str| {
        json!({"schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
               "userName": name, "externalId": format!("ext-{name}"),
               "name": {"givenName": "Ren", "familyName": "Ichi", "formatted": "Ren Ichi"},
               "displayName": "Ren", "title": "Engineer", "active": false,
               "emails": [{"value": format!("{name}@work.example"), "type": "work", "primary": true},
                          {"value": format!("{name}@home.example"), "type": "home"}],
               // A phone of their own: primary phone numbers are unique like emails.
               "phoneNumbers": [{"value": format!("+1 555 0100 x{name}"), "type": "mobile"}],
               "addresses": [{"streetAddress": "1 Main St", "locality": "Springfield",
                              "postalCode": "12345", "country": "US", "type": "work"}],
               "roles": [{"value": "reader"}, {"value": "auditor", "primary": true}],
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                   {"employeeNumber": "42", "department": "R&D"}})
    };
    let single = json(
        s.post("/scim/v2/Users")
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/scim+json")
            .body(rich("single").to_string())
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let posts = |names: &[&str]| -> Value {
        let ops: Vec<Value> = names
            .iter()
            .map(|n| json!({"method": "POST", "path": "/Users", "bulkId": format!("k{n}"), "data": rich(n)}))
            .collect();
        json!({"schemas": [BULK], "Operations": ops})
    };
    // Nothing fails: written together.
    let first = bulk(&s, posts(&["b0", "b1", "b2"]), 200).await;
    // Two taken names: the others still stand.
    let second = bulk(&s, posts(&["single", "b3", "B1"]), 200).await;
    let statuses = |out: &Value| -> Vec<String> {
        out["Operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(statuses(&first), ["201", "201", "201"], "{first}");
    assert_eq!(statuses(&second), ["409", "201", "409"], "{second}");
    let second = second["Operations"].as_array().unwrap();
    assert_eq!(second[0]["response"]["scimType"], "uniqueness");
    assert_eq!(
        second[2]["response"]["scimType"], "uniqueness",
        "user names are case-insensitive"
    );
    let mut ops: Vec<&Value> = first["Operations"].as_array().unwrap().iter().collect();
    ops.push(&second[1]);
    let strip = |mut v: Value| {
        let o = v.as_object_mut().unwrap();
        for k in [
            "id",
            "meta",
            "userName",
            "externalId",
            "emails",
            "phoneNumbers",
        ] {
            o.remove(k);
        }
        v
    };
    let want = strip(
        scim_get(
            &s,
            &format!("/Users/{}", single["id"].as_str().unwrap()),
            200,
        )
        .await,
    );
    for op in ops {
        let id = op["location"].as_str().unwrap().rsplit('/').next().unwrap();
        let got = scim_get(&s, &format!("/Users/{id}"), 200).await;
        assert_eq!(got["meta"]["version"], op["version"], "{op}");
        let name = got["userName"].as_str().unwrap().to_string();
        assert_eq!(got["externalId"], format!("ext-{name}"));
        assert_eq!(
            got["emails"],
            json!([{"value": format!("{name}@work.example"), "type": "work", "primary": true},
                   {"value": format!("{name}@home.example"), "type": "home"}])
        );
        assert_eq!(strip(got), want);
        assert_eq!(audit_keys(&s, id).await, ["Scim.User.Create"]);
    }
    let all = scim_get(&s, "/Users?count=0", 200).await;
    assert_eq!(all["totalResults"], 5, "single, b0…b3 and nothing else");

    // A run with no failure is written whole, in one go, and answers in request order.
    let ops: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("r{i}"),
                        "data": {"schemas": [USER], "userName": format!("run{i:04}"),
                                 "emails": [{"value": format!("run{i:04}@example.com")}]}})
        })
        .collect();
    let out = bulk(&s, json!({"schemas": [BULK], "Operations": ops}), 200).await;
    let ops = out["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 1000);
    for (i, op) in ops.iter().enumerate() {
        assert_eq!(op["status"], "201", "{op}");
        assert_eq!(op["bulkId"], format!("r{i}"));
    }
    let id = ops[999]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let u = scim_get(&s, &format!("/Users/{id}"), 200).await;
    assert_eq!(u["userName"], "run0999");
    assert_eq!(u["emails"][0]["value"], "run0999@example.com");
    assert_eq!(
        scim_get(&s, "/Users?count=0", 200).await["totalResults"],
        1005
    );
}
