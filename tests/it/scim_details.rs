//! SCIM details an identity provider's tester trips on, over real HTTP on SQLite and
//! PostgreSQL: member adds naming unknown ids (skipped, audited, counted; or refused in strict
//! mode), unquoted filter values read whole, resource endpoints matched case-insensitively,
//! members' `display`, Bulk hashing passwords before its transaction.

use crate::common;

use common::*;
use muster::domain::UnknownMembers;
use serde_json::{json, Value};

both_backends!(
    member_adds_skip_unknown_ids,
    strict_mode_refuses_unknown_members,
    unquoted_filter_values_match_their_quoted_forms,
    resource_endpoints_match_case_insensitively,
    members_carry_their_display_names,
    bulk_hashes_passwords_before_its_transaction,
    deep_pages_are_exact_while_users_come_and_go
);

async fn call(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let mut r = s
        .http
        .request(method, s.url(&format!("/scim/v2{path}")))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        r = r.header("content-type", SCIM_CT).body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    if status == 204 {
        assert_eq!(resp.status().as_u16(), 204, "{path}");
        return Value::Null;
    }
    json(resp, status).await
}

async fn get(s: &TestServer, path: &str) -> Value {
    call(s, reqwest::Method::GET, path, None, 200).await
}

async fn post(s: &TestServer, path: &str, body: Value) -> Value {
    call(s, reqwest::Method::POST, path, Some(body), 201).await
}

async fn patch(s: &TestServer, path: &str, ops: Value, status: u16) -> Value {
    call(
        s,
        reqwest::Method::PATCH,
        path,
        Some(json!({"schemas": [PATCH], "Operations": ops})),
        status,
    )
    .await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn member_ids(g: &Value) -> Vec<String> {
    let mut ids: Vec<String> = g["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut v = ids.to_vec();
    v.sort();
    v
}

/// Five users, the last deleted (through SCIM here; through Domo, Adobe or Sumo in real life).
async fn five_users_one_deleted(s: &TestServer, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..5 {
        let u = post(
            s,
            "/Users",
            json!({"schemas": [USER], "userName": format!("{prefix}{i}@example.com")}),
        )
        .await;
        ids.push(id(&u));
    }
    call(
        s,
        reqwest::Method::DELETE,
        &format!("/Users/{}", ids[4]),
        None,
        204,
    )
    .await;
    ids
}

/// Rows in the membership tables of group `gid` (by SQL: a dangling row would show here).
fn membership_rows(s: &TestServer, gid: &str) -> usize {
    let gid = muster::domain::id_from_hex(gid).unwrap();
    rows_as_text(&s.db, "group_users", &format!("group_id = {gid}")).len()
        + rows_as_text(&s.db, "group_groups", &format!("group_id = {gid}")).len()
}

/// The SCIM group-change audit entries (Logto's view of the audit trail), newest first.
async fn group_updates(s: &TestServer) -> Vec<Value> {
    let logs = json(
        s.get("/api/logs?logKey=Scim.Group.Update&page_size=100")
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    logs.as_array().unwrap().clone()
}

fn skipped_in(entry: &Value) -> Vec<String> {
    let payload = &entry["payload"];
    payload["skippedMembers"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

async fn member_adds_skip_unknown_ids(b: Backend) {
    let s = TestServer::start(b).await;
    let ids = five_users_one_deleted(&s, "skip").await;
    let (known, gone) = (ids[..4].to_vec(), ids[4].clone());
    let g = post(
        &s,
        "/Groups",
        json!({"schemas": [GROUP], "displayName": "Batch"}),
    )
    .await;
    let gid = id(&g);
    let counted = metric(&s, "muster_scim_skipped_members_total").await;

    // A batch of 5 adds, one of a deleted user: the 4 others are added.
    let all: Vec<Value> = ids.iter().map(|i| json!({"value": i})).collect();
    let r = patch(
        &s,
        &format!("/Groups/{gid}"),
        json!([{"op": "add", "path": "members", "value": all}]),
        200,
    )
    .await;
    assert_eq!(member_ids(&r), sorted(&known), "{r}");
    assert_eq!(r["meta"]["version"], "W/\"2\"");
    assert_eq!(membership_rows(&s, &gid), 4, "no dangling row");
    assert_eq!(
        member_ids(&get(&s, &format!("/Groups/{gid}")).await),
        sorted(&known)
    );
    assert_eq!(
        metric(&s, "muster_scim_skipped_members_total").await,
        counted + 1
    );
    let updates = group_updates(&s).await;
    assert_eq!(
        skipped_in(&updates[0]),
        vec![gone.clone()],
        "{}",
        updates[0]
    );
    assert_eq!(updates[0]["payload"]["skippedMemberCount"], 1);

    // Only unknown members: 200, no change, no version bump; the skip is still recorded.
    let r = patch(
        &s,
        &format!("/Groups/{gid}"),
        json!([{"op": "add", "path": "members", "value": [{"value": gone}, {"value": "7FFFFFFFFFFFFFF1"}]}]),
        200,
    )
    .await;
    assert_eq!(r["meta"]["version"], "W/\"2\"", "{r}");
    assert_eq!(member_ids(&r), sorted(&known));
    assert_eq!(
        metric(&s, "muster_scim_skipped_members_total").await,
        counted + 3
    );
    let updates = group_updates(&s).await;
    assert_eq!(
        skipped_in(&updates[0]),
        vec![gone.clone(), "7FFFFFFFFFFFFFF1".to_string()]
    );
    assert_eq!(updates[0]["payload"]["changed"], false);

    // Removing an unknown member still succeeds (no change).
    let r = patch(
        &s,
        &format!("/Groups/{gid}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{gone}\"]")}]),
        200,
    )
    .await;
    assert_eq!(r["meta"]["version"], "W/\"2\"");
    let r = patch(
        &s,
        &format!("/Groups/{gid}"),
        json!([{"op": "remove", "path": "members", "value": [{"value": gone}]}]),
        200,
    )
    .await;
    assert_eq!(member_ids(&r), sorted(&known));

    // `replace` of members, and PUT: the same.
    let r = patch(
        &s,
        &format!("/Groups/{gid}"),
        json!([{"op": "replace", "path": "members", "value": [{"value": known[0]}, {"value": gone}]}]),
        200,
    )
    .await;
    assert_eq!(member_ids(&r), vec![known[0].clone()]);
    assert_eq!(membership_rows(&s, &gid), 1);
    let r = call(
        &s,
        reqwest::Method::PUT,
        &format!("/Groups/{gid}"),
        Some(json!({"schemas": [GROUP], "displayName": "Batch",
                    "members": [{"value": known[1]}, {"value": gone}, {"value": known[2]}]})),
        200,
    )
    .await;
    assert_eq!(member_ids(&r), sorted(&known[1..3]));
    assert_eq!(membership_rows(&s, &gid), 2);
    assert_eq!(skipped_in(&group_updates(&s).await[0]), vec![gone.clone()]);
    // A path-less replace carrying members.
    let r = patch(
        &s,
        &format!("/Groups/{gid}"),
        json!([{"op": "replace", "value": {"displayName": "Batch 2", "members": [{"value": gone}, {"value": known[3]}]}}]),
        200,
    )
    .await;
    assert_eq!(member_ids(&r), vec![known[3].clone()]);
    assert_eq!(r["displayName"], "Batch 2");

    // POST of a group naming an unknown member.
    let g2 = post(
        &s,
        "/Groups",
        json!({"schemas": [GROUP], "displayName": "New",
               "members": [{"value": known[0]}, {"value": gone}]}),
    )
    .await;
    assert_eq!(member_ids(&g2), vec![known[0].clone()]);
    assert_eq!(membership_rows(&s, &id(&g2)), 1);

    // Bulk runs the same paths: a PATCH in a Bulk request skips too, and is counted once.
    let before = metric(&s, "muster_scim_skipped_members_total").await;
    let r = call(
        &s,
        reqwest::Method::POST,
        "/Bulk",
        Some(json!({"schemas": [BULK], "Operations": [
            {"method": "PATCH", "path": format!("/Groups/{}", id(&g2)),
             "data": {"schemas": [PATCH], "Operations": [
                 {"op": "add", "path": "members", "value": [{"value": known[1]}, {"value": gone}]}]}},
            // A failing operation makes Bulk run again with savepoints: still counted once.
            {"method": "DELETE", "path": "/Users/7FFFFFFFFFFFFFF2"}
        ]})),
        200,
    )
    .await;
    assert_eq!(r["Operations"][0]["status"], "200", "{r}");
    assert_eq!(r["Operations"][1]["status"], "404", "{r}");
    assert_eq!(
        member_ids(&get(&s, &format!("/Groups/{}", id(&g2))).await),
        sorted(&known[..2])
    );
    assert_eq!(
        metric(&s, "muster_scim_skipped_members_total").await,
        before + 1
    );
}

async fn strict_mode_refuses_unknown_members(b: Backend) {
    let s = TestServer::start_with(b, |c| c.scim_unknown_members = UnknownMembers::Reject).await;
    let ids = five_users_one_deleted(&s, "strict").await;
    let gone = ids[4].clone();
    let g = post(
        &s,
        "/Groups",
        json!({"schemas": [GROUP], "displayName": "Strict"}),
    )
    .await;
    let gid = id(&g);
    let all: Vec<Value> = ids.iter().map(|i| json!({"value": i})).collect();
    let e = patch(
        &s,
        &format!("/Groups/{gid}"),
        json!([{"op": "add", "path": "members", "value": all}]),
        400,
    )
    .await;
    assert_eq!(e["scimType"], "invalidValue");
    assert!(e["detail"].as_str().unwrap().contains(&gone), "{e}");
    // None added, no version bump.
    let g = get(&s, &format!("/Groups/{gid}")).await;
    assert!(g.get("members").is_none(), "{g}");
    assert_eq!(g["meta"]["version"], "W/\"1\"");
    assert_eq!(membership_rows(&s, &gid), 0);
    // PUT and POST likewise.
    let e = call(
        &s,
        reqwest::Method::PUT,
        &format!("/Groups/{gid}"),
        Some(json!({"schemas": [GROUP], "displayName": "Strict", "members": all})),
        400,
    )
    .await;
    assert_eq!(e["scimType"], "invalidValue");
    assert_eq!(membership_rows(&s, &gid), 0);
    let e = call(
        &s,
        reqwest::Method::POST,
        "/Groups",
        Some(json!({"schemas": [GROUP], "displayName": "Strict 2", "members": all})),
        400,
    )
    .await;
    assert_eq!(e["scimType"], "invalidValue");
    assert_eq!(get(&s, "/Groups").await["totalResults"], 1);
    // Removing an unknown member still succeeds.
    patch(
        &s,
        &format!("/Groups/{gid}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{gone}\"]")}]),
        200,
    )
    .await;
    assert_eq!(metric(&s, "muster_scim_skipped_members_total").await, 0);
}

async fn unquoted_filter_values_match_their_quoted_forms(b: Backend) {
    let s = TestServer::start(b).await;
    let guid = "22fbc523-6032-4ad9-a3a5-4e3a5b3f6a1c";
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let a = post(
        &s,
        "/Users",
        json!({"schemas": [USER, ent], "userName": "OMalley", "externalId": guid,
               ent: {"employeeNumber": "007"}}),
    )
    .await;
    post(
        &s,
        "/Users",
        json!({"schemas": [USER, ent], "userName": "other", "externalId": "22fbc523",
               ent: {"employeeNumber": "7"}}),
    )
    .await;
    let created = a["meta"]["created"].as_str().unwrap().to_string();
    let names = |r: &Value| -> Vec<String> {
        let mut v: Vec<String> = r["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let list = |f: String| {
        let s = &s;
        async move {
            let r = json(
                s.get(&format!("/scim/v2/Users?filter={}", urlencode(&f)))
                    .bearer_auth(ADMIN_TOKEN)
                    .send()
                    .await
                    .unwrap(),
                200,
            )
            .await;
            (r["totalResults"].as_u64().unwrap(), names(&r))
        }
    };
    for (unquoted, quoted, want) in [
        (
            format!("externalId eq {guid}"),
            format!("externalId eq \"{guid}\""),
            vec!["omalley"],
        ),
        (
            "externalId sw 22fbc523-".to_string(),
            "externalId sw \"22fbc523-\"".to_string(),
            vec!["omalley"],
        ),
        (
            "userName eq OMalley".to_string(),
            "userName eq \"OMalley\"".to_string(),
            vec!["omalley"],
        ),
        (
            "employeeNumber eq 007".to_string(),
            "employeeNumber eq \"007\"".to_string(),
            vec!["omalley"],
        ),
        (
            "employeeNumber eq 7".to_string(),
            "employeeNumber eq \"7\"".to_string(),
            vec!["other"],
        ),
        (
            "meta.created gt 2015-10-10T14:38:21.8617979-07:00".to_string(),
            "meta.created gt \"2015-10-10T14:38:21.8617979-07:00\"".to_string(),
            vec!["omalley", "other"],
        ),
        (
            format!("meta.created le {created}"),
            format!("meta.created le \"{created}\""),
            vec!["omalley"],
        ),
        (
            format!("(externalId eq {guid}) or externalId eq 22fbc523"),
            format!("(externalId eq \"{guid}\") or externalId eq \"22fbc523\""),
            vec!["omalley", "other"],
        ),
    ] {
        let got = list(unquoted.clone()).await;
        assert_eq!(got, list(quoted.clone()).await, "{unquoted} vs {quoted}");
        let want: Vec<String> = want
            .iter()
            .map(|n| {
                if *n == "omalley" {
                    "OMalley".to_string()
                } else {
                    n.to_string()
                }
            })
            .collect();
        assert_eq!(got.1, want, "{unquoted}");
        assert_eq!(got.0 as usize, want.len(), "{unquoted}");
    }
}

async fn resource_endpoints_match_case_insensitively(b: Backend) {
    let s = TestServer::start(b).await;
    let u = call(
        &s,
        reqwest::Method::POST,
        "/users",
        Some(json!({"schemas": [USER], "userName": "lower@example.com"})),
        201,
    )
    .await;
    let uid = id(&u);
    // Location and meta stay canonical.
    assert_eq!(
        u["meta"]["location"],
        s.url(&format!("/scim/v2/Users/{uid}"))
    );
    for path in ["/users", "/USERS", "/Users", "/uSeRs?count=1"] {
        assert_eq!(get(&s, path).await["totalResults"], 1, "{path}");
    }
    assert_eq!(get(&s, &format!("/users/{uid}")).await["id"], uid.as_str());
    let g = call(
        &s,
        reqwest::Method::POST,
        "/GROUPS",
        Some(json!({"schemas": [GROUP], "displayName": "Upper", "members": [{"value": uid}]})),
        201,
    )
    .await;
    let gid = id(&g);
    assert_eq!(get(&s, "/groups").await["totalResults"], 1);
    assert_eq!(
        get(&s, &format!("/GROUPS/{gid}")).await["displayName"],
        "Upper"
    );
    patch(
        &s,
        &format!("/groups/{gid}"),
        json!([{"op": "replace", "path": "displayName", "value": "Renamed"}]),
        200,
    )
    .await;
    let r = call(
        &s,
        reqwest::Method::POST,
        "/users/.SEARCH",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName eq \"lower@example.com\""}),
        ),
        200,
    )
    .await;
    assert_eq!(r["totalResults"], 1);
    assert_eq!(
        get(&s, "/serviceproviderconfig").await["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    assert!(get(&s, "/resourcetypes").await["totalResults"].as_u64() >= Some(2));
    assert_eq!(get(&s, &format!("/schemas/{USER}")).await["id"], USER);
    let r = call(
        &s,
        reqwest::Method::POST,
        "/bulk",
        Some(json!({"schemas": [BULK], "Operations": [
            {"method": "DELETE", "path": format!("/Groups/{gid}")}]})),
        200,
    )
    .await;
    assert_eq!(r["Operations"][0]["status"], "204", "{r}");
    call(
        &s,
        reqwest::Method::DELETE,
        &format!("/USERS/{uid}"),
        None,
        204,
    )
    .await;
    // Still a SCIM 404 for what does not exist, in any case.
    let e = call(&s, reqwest::Method::GET, "/widgets", None, 404).await;
    assert_eq!(e["status"], "404");
}

async fn members_carry_their_display_names(b: Backend) {
    let s = TestServer::start(b).await;
    let named = post(
        &s,
        "/Users",
        json!({"schemas": [USER], "userName": "ann@example.com", "displayName": "Ann Smith"}),
    )
    .await;
    let plain = post(
        &s,
        "/Users",
        json!({"schemas": [USER], "userName": "bob@example.com"}),
    )
    .await;
    let inner = post(
        &s,
        "/Groups",
        json!({"schemas": [GROUP], "displayName": "Inner"}),
    )
    .await;
    let (a, bo, inner) = (id(&named), id(&plain), id(&inner));
    let display_of = |g: &Value| -> Vec<(String, String, String)> {
        let mut v: Vec<(String, String, String)> = g["members"]
            .as_array()
            .unwrap_or_else(|| panic!("no members: {g}"))
            .iter()
            .map(|m| {
                (
                    m["value"].as_str().unwrap().to_string(),
                    m["type"].as_str().unwrap().to_string(),
                    m["display"].as_str().unwrap_or("<none>").to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let want = |ids: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        let mut v: Vec<(String, String, String)> = ids
            .iter()
            .map(|(i, t, d)| (i.to_string(), t.to_string(), d.to_string()))
            .collect();
        v.sort();
        v
    };
    // POST: the client's own display is not stored (readOnly): ours is shown.
    let g = post(
        &s,
        "/Groups",
        json!({"schemas": [GROUP], "displayName": "Outer",
               "members": [{"value": a, "display": "whatever"}, {"value": inner}]}),
    )
    .await;
    let gid = id(&g);
    let two = want(&[(&a, "User", "Ann Smith"), (&inner, "Group", "Inner")]);
    assert_eq!(display_of(&g), two);
    assert_eq!(display_of(&get(&s, &format!("/Groups/{gid}")).await), two);
    // PATCH response: a user without displayName shows their userName.
    let g = patch(
        &s,
        &format!("/Groups/{gid}"),
        json!([{"op": "add", "path": "members", "value": [{"value": bo}]}]),
        200,
    )
    .await;
    let three = want(&[
        (&a, "User", "Ann Smith"),
        (&bo, "User", "bob@example.com"),
        (&inner, "Group", "Inner"),
    ]);
    assert_eq!(display_of(&g), three);
    // The list, and a filter on members.display.
    let r = get(&s, "/Groups?filter=displayName%20eq%20%22Outer%22").await;
    assert_eq!(display_of(&r["Resources"][0]), three);
    // Renaming a member shows at once (read with the members, never stored with them).
    patch(
        &s,
        &format!("/Users/{a}"),
        json!([{"op": "replace", "path": "displayName", "value": "Ann Jones"}]),
        200,
    )
    .await;
    patch(
        &s,
        &format!("/Groups/{inner}"),
        json!([{"op": "replace", "path": "displayName", "value": "Inner 2"}]),
        200,
    )
    .await;
    // PUT response.
    let g = call(
        &s,
        reqwest::Method::PUT,
        &format!("/Groups/{gid}"),
        Some(json!({"schemas": [GROUP], "displayName": "Outer",
                    "members": [{"value": a}, {"value": inner}]})),
        200,
    )
    .await;
    assert_eq!(
        display_of(&g),
        want(&[(&a, "User", "Ann Jones"), (&inner, "Group", "Inner 2")])
    );
    // Projection: only the display names.
    let g = get(&s, &format!("/Groups/{gid}?attributes=members.display")).await;
    let mut shown: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m.as_object().unwrap().len(), 1, "{m}");
            m["display"].as_str().unwrap()
        })
        .collect();
    shown.sort();
    assert_eq!(shown, vec!["Ann Jones", "Inner 2"]);
    // A value filter on display in a PATCH path (the member list is read to apply it).
    let g = patch(
        &s,
        &format!("/Groups/{gid}"),
        json!([{"op": "remove", "path": "members[display eq \"Inner 2\"]"}]),
        200,
    )
    .await;
    assert_eq!(display_of(&g), want(&[(&a, "User", "Ann Jones")]));
    // A group created by Bulk shows them too.
    let r = call(
        &s,
        reqwest::Method::POST,
        "/Bulk",
        Some(json!({"schemas": [BULK], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "c",
             "data": {"schemas": [USER], "userName": "cy@example.com", "displayName": "Cy"}},
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "Bulk group",
                      "members": [{"value": "bulkId:c"}, {"value": bo}]}}]})),
        200,
    )
    .await;
    let location = r["Operations"][1]["location"].as_str().unwrap();
    let bg = location.rsplit('/').next().unwrap();
    let g = get(&s, &format!("/Groups/{bg}")).await;
    let cy = r["Operations"][0]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        display_of(&g),
        want(&[(&cy, "User", "Cy"), (&bo, "User", "bob@example.com")])
    );
}

async fn bulk_hashes_passwords_before_its_transaction(b: Backend) {
    let s = TestServer::start(b).await;
    let in_tx = metric(&s, "muster_passwords_hashed_in_transaction_total").await;
    let old1 = post(
        &s,
        "/Users",
        json!({"schemas": [USER], "userName": "old1@example.com"}),
    )
    .await;
    let old2 = post(
        &s,
        "/Users",
        json!({"schemas": [USER], "userName": "old2@example.com"}),
    )
    .await;
    let r = call(
        &s,
        reqwest::Method::POST,
        "/Bulk",
        Some(json!({"schemas": [BULK], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a",
             "data": {"schemas": [USER], "userName": "pa@example.com", "password": "Same-pass-1"}},
            {"method": "POST", "path": "/Users", "bulkId": "b",
             "data": {"schemas": [USER], "userName": "pb@example.com", "password": "Same-pass-1"}},
            {"method": "PUT", "path": format!("/Users/{}", id(&old1)),
             "data": {"schemas": [USER], "userName": "old1@example.com", "password": "Put-pass-2"}},
            {"method": "PATCH", "path": format!("/Users/{}", id(&old2)),
             "data": {"schemas": [PATCH], "Operations": [
                 {"op": "replace", "path": "password", "value": "Patch-pass-3"}]}},
            // A failing operation: the request runs again with savepoints, and the hashes made
            // ahead serve that attempt too.
            {"method": "DELETE", "path": "/Users/7FFFFFFFFFFFFFF3"}
        ]})),
        200,
    )
    .await;
    let ops = r["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["201", "201", "200", "200", "404"], "{r}");
    let user_of = |i: usize| {
        ops[i]["location"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string()
    };
    let (pa, pb) = (user_of(0), user_of(1));
    let verify = |uid: String, pw: &'static str| {
        let s = &s;
        async move {
            s.http
                .post(s.url(&format!("/api/users/{uid}/password/verify")))
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"password": pw}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(verify(pa.clone(), "Same-pass-1").await, 204);
    assert_eq!(verify(pb.clone(), "Same-pass-1").await, 204);
    assert_eq!(verify(pb.clone(), "Put-pass-2").await, 422);
    assert_eq!(verify(id(&old1), "Put-pass-2").await, 204);
    assert_eq!(verify(id(&old2), "Patch-pass-3").await, 204);
    // Two users given the same password got different salts.
    let hash = |uid: &str| {
        let n = muster::domain::id_from_hex(uid).unwrap();
        query_text(
            &s.db,
            &format!("SELECT password_hash AS text FROM users WHERE id = {n}"),
        )
    };
    let (ha, hb) = (hash(&pa), hash(&pb));
    assert!(hb[0].starts_with("$2"), "{hb:?}");
    assert_ne!(ha, hb);
    // No password was hashed while a write transaction was open.
    assert_eq!(
        metric(&s, "muster_passwords_hashed_in_transaction_total").await,
        in_tx
    );
}

async fn bulk_create(s: &TestServer, names: &[String]) -> Vec<String> {
    let mut ids = Vec::new();
    for chunk in names.chunks(1000) {
        let ops: Vec<Value> = chunk
            .iter()
            .map(|n| {
                json!({"method": "POST", "path": "/Users", "bulkId": n,
                       "data": {"schemas": [USER], "userName": n}})
            })
            .collect();
        let r = call(
            s,
            reqwest::Method::POST,
            "/Bulk",
            Some(json!({"schemas": [BULK], "Operations": ops})),
            200,
        )
        .await;
        for op in r["Operations"].as_array().unwrap() {
            assert_eq!(op["status"], "201", "{op}");
            ids.push(
                op["location"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    ids
}

/// The ids of a page, and its totalResults.
async fn page(s: &TestServer, query: &str) -> (Vec<String>, u64) {
    let r = get(s, &format!("/Users?{query}")).await;
    let ids = r["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    (ids, r["totalResults"].as_u64().unwrap())
}

/// Every id of the organization in id order, from the database.
fn all_ids(s: &TestServer) -> Vec<String> {
    let mut ids: Vec<i64> = query_text(
        &s.db,
        "SELECT CAST(id AS TEXT) AS text FROM users WHERE org_id = 'default'",
    )
    .iter()
    .map(|t| t.parse().unwrap())
    .collect();
    ids.sort_unstable();
    ids.into_iter().map(muster::domain::id_to_hex).collect()
}

/// Pages deep in an unfiltered list (past the sampled boundaries, `store::paging`) are the
/// same windows `OFFSET` gives, before and after users are created and deleted by SCIM,
/// Bulk and another dialect, and the total is exact throughout; filtered lists count theirs.
async fn deep_pages_are_exact_while_users_come_and_go(b: Backend) {
    let s = TestServer::start(b).await;
    let names: Vec<String> = (0..2600)
        .map(|i| format!("deep{i:05}@example.com"))
        .collect();
    let ids = bulk_create(&s, &names).await;
    let check = |label: &'static str| {
        let s = &s;
        async move {
            let all = all_ids(s);
            let n = all.len();
            let counted = query_text(
                &s.db,
                "SELECT CAST(SUM(users) AS TEXT) AS text FROM org_user_counts WHERE org_id = 'default'",
            );
            assert_eq!(counted, vec![n.to_string()], "{label}: kept count");
            for (start, count) in [
                (1, 10),
                (999, 5),
                (1000, 3),
                (1001, 100),
                (1500, 100),
                (1999, 4),
                (2001, 1000),
                (n - 1, 5),
                (n, 5),
                (n + 1, 5),
                (n + 1500, 5),
            ] {
                let (got, total) = page(s, &format!("startIndex={start}&count={count}")).await;
                let want: Vec<String> = all.iter().skip(start - 1).take(count).cloned().collect();
                assert_eq!(got, want, "{label}: startIndex={start} count={count}");
                assert_eq!(total as usize, n, "{label}: totalResults at {start}");
            }
        }
    };
    check("seeded").await;
    let (seeks, builds) = s.store.page_stats();
    assert!(
        seeks >= 7,
        "deep pages sought to sampled boundaries: {seeks}"
    );
    assert_eq!(builds, 1, "one sample set for the seeded directory");
    check("cached").await;
    assert_eq!(
        s.store.page_stats().1,
        1,
        "unchanged: the samples still hold"
    );
    // A deep page costs the statements of the first page: no COUNT(*), no statement more.
    let statements = || metric(&s, "muster_db_statements_total");
    let before = statements().await;
    page(&s, "startIndex=1&count=100").await;
    let first = statements().await - before;
    let before = statements().await;
    page(&s, "startIndex=1800&count=100").await;
    let deep = statements().await - before;
    assert_eq!(deep, first, "a deep page costs what the first costs");
    // Users come and go: deletes early in the order shift every later page.
    let mut sorted = ids.clone();
    sorted.sort();
    for gone in [&sorted[0], &sorted[1200], &sorted[2599]] {
        call(
            &s,
            reqwest::Method::DELETE,
            &format!("/Users/{gone}"),
            None,
            204,
        )
        .await;
    }
    check("after SCIM deletes").await;
    assert_eq!(s.store.page_stats().1, 2, "rebuilt once after the deletes");
    post(
        &s,
        "/Users",
        json!({"schemas": [USER], "userName": "late@example.com"}),
    )
    .await;
    let r = json(
        s.post("/api/users")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"username": "logto_user"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(r["id"].is_string(), "{r}");
    bulk_create(&s, &["bulk-late@example.com".to_string()]).await;
    check("after creates in two dialects").await;
    // A filtered list counts its own matches.
    let (got, total) = page(
        &s,
        &format!(
            "startIndex=1001&count=2&filter={}",
            urlencode("userName sw \"deep\"")
        ),
    )
    .await;
    assert_eq!(total, 2597);
    assert_eq!(got.len(), 2);
}
