//! SCIM over real HTTP on SQLite and PostgreSQL: request-by-request replays of what Entra ID
//! (default and `aadOptscim062020` dialects) and Okta send (scim.md §5.1, §5.2), errors,
//! ETags, tenancy, and the rows a SCIM write leaves behind.

use crate::common;

use common::*;
use serde_json::{json, Value};

both_backends!(
    entra_default_dialect_user_lifecycle,
    entra_aad_opt_dialect_and_group_push,
    okta_user_lifecycle,
    okta_group_push,
    errors_etags_and_deletes,
    a_tenant_never_sees_another_tenants_scim_resources,
    a_scim_user_is_a_row_of_the_one_schema,
    discovery_is_generated_from_the_registry,
    review_findings_on_the_request_path,
    a_bad_credential_is_401_before_any_parse_error,
    replace_is_a_diff_and_roles_show_their_stored_names,
    other_scim_versions_are_invalid_vers,
    entra_unqualified_enterprise_names,
);

struct Scim<'a> {
    s: &'a TestServer,
    token: String,
}

impl Scim<'_> {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.s
            .http
            .request(method, self.s.url(&format!("/scim/v2{path}")))
            .bearer_auth(&self.token)
    }
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.header("content-type", SCIM_CT).body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        let got = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        assert_eq!(got, status, "{path}: {text}");
        if text.is_empty() {
            return Value::Null;
        }
        assert_eq!(ct.as_deref(), Some(SCIM_CT), "{path}");
        serde_json::from_str(&text).unwrap()
    }
    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None, 200).await
    }
    /// POST, asserting 201 with `Location` = `meta.location` and `ETag` = `meta.version`.
    async fn post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .req(reqwest::Method::POST, path)
            .header("content-type", SCIM_CT)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let etag = resp
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        assert_eq!(status, 201, "{path}: {text}");
        let created: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            location.as_deref(),
            created["meta"]["location"].as_str(),
            "{path}"
        );
        assert_eq!(
            etag.as_deref(),
            created["meta"]["version"].as_str(),
            "{path}"
        );
        assert!(location.unwrap().ends_with(created["id"].as_str().unwrap()));
        created
    }
    async fn patch(&self, path: &str, ops: Value) -> Value {
        self.call(reqwest::Method::PATCH, path, Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})), 200).await
    }
}

use common::urlencode as q;

async fn entra_default_dialect_user_lifecycle(b: Backend) {
    let s = TestServer::start(b).await;
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    // Test Connection: a random GUID matches nothing, and that is a 200 ListResponse.
    let r = c
        .get(&format!(
            "/Users?filter={}",
            q("userName eq \"0c8f3e4e-4a44-4b5e-9ee0-6e0d1f0c1f6b\"")
        ))
        .await;
    assert_eq!(r["totalResults"], 0);
    assert_eq!(r["Resources"], json!([]));
    assert_eq!(
        r["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );

    let created = c.post("/Users", json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "externalId": "jyoung", "userName": "Test_User_ab6490ee@contoso.com", "active": true,
        "addresses": null, "roles": [], "meta": {"resourceType": "User"},
        "displayName": "Young, J", "name": {"formatted": "J Young", "familyName": "Young", "givenName": "J"},
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
        ENT: {"department": "Sales"}
    })).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 16);
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created[ENT]["department"], "Sales");
    assert!(created.get("roles").is_none() && created.get("addresses").is_none());

    // Matching: userName (case-insensitively), unquoted externalId, the work email form.
    for f in [
        "userName eq \"test_user_AB6490EE@contoso.com\"",
        "externalId eq jyoung",
        "emails[type eq \"work\"].value eq \"test_user_fd0ea19b@contoso.com\"",
    ] {
        let r = c.get(&format!("/Users?filter={}", q(f))).await;
        assert_eq!(r["totalResults"], 1, "{f}");
        assert_eq!(r["Resources"][0]["id"], id.as_str());
    }
    let r = c
        .get(&format!("/Users?filter={}", q("externalId eq \"JYOUNG\"")))
        .await;
    assert_eq!(r["totalResults"], 0, "externalId is caseExact");

    // Default dialect PATCH: capitalised ops, string booleans, value-path paths.
    let u = c.patch(&format!("/Users/{id}"), json!([
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"},
        {"op": "Replace", "path": format!("{ENT}:employeeNumber"), "value": "701984"},
    ])).await;
    assert_eq!(u["active"], false);
    assert_eq!(u["nickName"], "Babs");
    assert_eq!(
        u["emails"],
        json!([{"primary": true, "type": "work", "value": "new@contoso.com"}])
    );
    assert_eq!(u[ENT]["employeeNumber"], "701984");
    assert_eq!(u["meta"]["version"], "W/\"2\"");
    // An inactive user stays readable and listable.
    let got = c.get(&format!("/Users/{id}")).await;
    assert_eq!(got["active"], false);
    assert_eq!(c.get("/Users").await["totalResults"], 1);

    // Manager: set (bare string), change, clear with an empty value; rendered as an object.
    let mgr = c
        .post("/Users", json!({"userName": "manager@contoso.com"}))
        .await;
    let mgr_id = mgr["id"].as_str().unwrap();
    let u = c
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": format!("{ENT}:manager"), "value": mgr_id}]),
        )
        .await;
    assert_eq!(u[ENT]["manager"]["value"], mgr_id);
    assert!(u[ENT]["manager"]["$ref"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/scim/v2/Users/{mgr_id}")));
    let u = c.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": [{"value": "00000000000000AB", "$ref": null}]}])).await;
    assert_eq!(u[ENT]["manager"]["value"], "00000000000000AB");
    let u = c
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": ""}]),
        )
        .await;
    assert!(u[ENT].get("manager").is_none(), "{u}");

    // Null update test: "" then null clear optional attributes.
    for v in [json!(""), json!(null)] {
        c.patch(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "title", "value": "Boss"}]),
        )
        .await;
        let u = c.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "title", "value": v}, {"op": "Replace", "path": "nickName", "value": v}])).await;
        assert!(
            u.get("title").is_none() && u.get("nickName").is_none(),
            "{u}"
        );
        assert!(c.get(&format!("/Users/{id}")).await.get("title").is_none());
    }

    // Reactivate; deactivation can also arrive as Add.
    let u = c
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )
        .await;
    assert_eq!(u["active"], true);
    let u = c
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(u["active"], false);
    // Re-sending what is there changes nothing, not even the version.
    let before = c.get(&format!("/Users/{id}")).await;
    let after = c.patch(&format!("/Users/{id}"), json!([{"op": "Add", "path": "emails", "value": [{"value": "new@contoso.com", "type": "work", "primary": true}]}])).await;
    assert_eq!(before["meta"]["version"], after["meta"]["version"]);
    assert_eq!(
        before["meta"]["lastModified"],
        after["meta"]["lastModified"]
    );
}

async fn entra_aad_opt_dialect_and_group_push(b: Backend) {
    let s = TestServer::start(b).await;
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    let a = c.post("/Users", json!({"userName": "a@contoso.com"})).await;
    let bu = c.post("/Users", json!({"userName": "b@contoso.com"})).await;
    let (a, bu) = (
        a["id"].as_str().unwrap().to_string(),
        bu["id"].as_str().unwrap().to_string(),
    );

    // aadOptscim062020: lower-case ops, real booleans, path-less replace with dotted/URN keys.
    let u = c
        .patch(
            &format!("/Users/{a}?aadOptscim062020"),
            json!([{"op": "replace", "value": {
                "active": false, "name.givenName": "Alice", "name.familyName": "A",
                format!("{ENT}:employeeNumber"): "1", format!("{ENT}:manager"): bu.clone()
            }}]),
        )
        .await;
    assert_eq!(u["name"], json!({"givenName": "Alice", "familyName": "A"}));
    assert_eq!(u[ENT]["employeeNumber"], "1");
    assert_eq!(u[ENT]["manager"]["value"], bu.as_str());
    assert_eq!(
        u["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENT])
    );

    // Group push: extra Microsoft schema URN, empty members, then members PATCHed.
    let g = c.post("/Groups", json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0", "displayName": "Group1DisplayName", "members": []
    })).await;
    let gid = g["id"].as_str().unwrap().to_string();
    let r = c
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            q("displayName eq \"group1displayname\"")
        ))
        .await;
    assert_eq!(r["totalResults"], 1);
    assert!(r["Resources"][0].get("members").is_none());
    // Default dialect: Add with $ref null; Remove with path + value array.
    let g = c.patch(&format!("/Groups/{gid}"), json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": a}, {"$ref": null, "value": bu}]}])).await;
    assert_eq!(g["members"].as_array().unwrap().len(), 2);
    let g = c
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Remove", "path": "members", "value": [{"value": bu}]}]),
        )
        .await;
    // `display`: the member's displayName, else (as here) their userName.
    assert_eq!(
        g["members"],
        json!([{"value": a, "type": "User", "display": "a@contoso.com", "$ref": s.url(&format!("/scim/v2/Users/{a}"))}])
    );
    // aadOpt: removal by filter; excludedAttributes on GET by id.
    let g = c
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
        )
        .await;
    assert!(g.get("members").is_none());
    c.patch(
        &format!("/Groups/{gid}"),
        json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
    )
    .await;
    let g = c
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert!(g.get("members").is_none());
    assert_eq!(g["displayName"], "Group1DisplayName");

    // User.groups: direct, and indirect through a nested group.
    let parent = c
        .post(
            "/Groups",
            json!({"displayName": "Parent", "members": [{"value": gid, "type": "Group"}]}),
        )
        .await;
    let u = c.get(&format!("/Users/{a}")).await;
    let groups = u["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{u}");
    assert_eq!(groups[0]["value"], gid.as_str());
    assert_eq!(groups[0]["type"], "direct");
    assert_eq!(groups[1]["value"], parent["id"]);
    assert_eq!(groups[1]["type"], "indirect");
    // groups is read-only: ignored in a body, refused as a PATCH path.
    let e = c
        .call(
            reqwest::Method::PATCH,
            &format!("/Users/{a}"),
            Some(
                json!({"Operations": [{"op": "add", "path": "groups", "value": [{"value": gid}]}]}),
            ),
            400,
        )
        .await;
    assert_eq!(e["scimType"], "mutability");
    // Deleting the user removes it from the group.
    c.call(reqwest::Method::DELETE, &format!("/Users/{a}"), None, 204)
        .await;
    assert!(c
        .get(&format!("/Groups/{gid}"))
        .await
        .get("members")
        .is_none());
}

async fn okta_user_lifecycle(b: Backend) {
    let s = TestServer::start(b).await;
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    let r = c
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=100",
            q("userName eq \"isabell.lee@example.com\"")
        ))
        .await;
    assert_eq!(r["totalResults"], 0);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "Isabell.Lee@example.com", "name": {"givenName": "Isabell", "familyName": "Lee"},
        "emails": [{"primary": true, "value": "isabell.lee@example.com", "type": "work"}],
        "displayName": "Isabell Lee", "locale": "en-US", "externalId": "00u1dhhb1fkIGP7RL1d8",
        "groups": [], "password": "1mz050nq", "active": true
    });
    let u = c.post("/Users", body.clone()).await;
    let id = u["id"].as_str().unwrap().to_string();
    assert!(u.get("password").is_none(), "password is never returned");
    assert_eq!(u["userName"], "Isabell.Lee@example.com");
    // Same userName in another case: 409 uniqueness.
    let mut dup = body.clone();
    dup["userName"] = json!("ISABELL.LEE@EXAMPLE.COM");
    let e = c
        .call(reqwest::Method::POST, "/Users", Some(dup), 409)
        .await;
    assert_eq!(e["scimType"], "uniqueness");
    assert_eq!(e["status"], "409");
    // Upper-cased filter finds it (Okta SPEC test).
    let r = c
        .get(&format!(
            "/Users?filter={}",
            q("userName eq \"ISABELL.LEE@EXAMPLE.COM\"")
        ))
        .await;
    assert_eq!(r["totalResults"], 1);
    assert_eq!(r["startIndex"], 1);
    assert_eq!(r["itemsPerPage"], 1);

    // Profile update: GET, then PUT the whole object back with changes (id, meta, groups included).
    let mut full = c.get(&format!("/Users/{id}")).await;
    full["name"]["familyName"] = json!("Lee-Smith");
    full["groups"] = json!([]);
    let put = c
        .call(
            reqwest::Method::PUT,
            &format!("/Users/{id}"),
            Some(full),
            200,
        )
        .await;
    assert_eq!(put["name"]["familyName"], "Lee-Smith");
    assert_eq!(put["id"], id.as_str());
    assert_eq!(put["meta"]["version"], "W/\"2\"");

    // Deactivate: path-less replace.
    let u = c
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(u["active"], false);
    // Password sync through PATCH; stored as bcrypt, never shown.
    let u = c
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"password": "n3w-Passw0rd"}}]),
        )
        .await;
    assert!(u.get("password").is_none());
    let hash = password_hash(&s, &id).await.expect("a hash is stored");
    assert!(hash.starts_with("$2b$"), "{hash}");
    assert!(bcrypt::verify("n3w-Passw0rd", &hash).unwrap());

    // Import: pages of a stable order.
    for i in 0..7 {
        c.post(
            "/Users",
            json!({"userName": format!("user{i}@example.com")}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page = c.get(&format!("/Users?startIndex={start}&count=3")).await;
        assert_eq!(page["totalResults"], 8);
        let items = page["Resources"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        assert_eq!(page["itemsPerPage"], items.len());
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        start += 3;
    }
    assert_eq!(seen.len(), 8);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 8, "no user twice across pages");
    let r = c.get("/Users?count=0").await;
    assert_eq!(r["totalResults"], 8);
    assert_eq!(r["Resources"], json!([]));
}

async fn password_hash(s: &TestServer, id: &str) -> Option<String> {
    use diesel::prelude::*;
    use muster::store::schema::users;
    let store = s.store.clone();
    let id = muster::domain::id_from_hex(id).unwrap();
    tokio::task::spawn_blocking(move || {
        let mut c = store.conn().unwrap();
        users::table
            .find(id)
            .select(users::password_hash)
            .first::<Option<String>>(c.db())
            .unwrap()
    })
    .await
    .unwrap()
}

async fn okta_group_push(b: Backend) {
    let s = TestServer::start(b).await;
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            c.post(
                "/Users",
                json!({"userName": format!("u{i}@x.com"), "displayName": format!("U{i}")}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let g = c.post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2", "members": []})).await;
    let gid = g["id"].as_str().unwrap().to_string();
    // Rename: path-less replace carrying id.
    let g = c
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2 renamed"}}]),
        )
        .await;
    assert_eq!(g["displayName"], "Test SCIMv2 renamed");
    // Membership push: add with display, remove by filter, then a full replace.
    let g = c.patch(&format!("/Groups/{gid}"), json!([
        {"op": "add", "path": "members", "value": [{"value": ids[0], "display": "U0"}, {"value": ids[1], "display": "U1"}]}
    ])).await;
    assert_eq!(g["members"].as_array().unwrap().len(), 2);
    let g = c
        .patch(
            &format!("/Groups/{gid}"),
            json!([
                {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])},
                {"op": "add", "path": "members", "value": [{"value": ids[2], "display": "U2"}]}
            ]),
        )
        .await;
    let members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    let mut want = vec![ids[1].as_str(), ids[2].as_str()];
    want.sort();
    let mut got = members.clone();
    got.sort();
    assert_eq!(got, want);
    let g = c
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "replace", "path": "members", "value": [{"value": ids[0]}]}]),
        )
        .await;
    assert_eq!(g["members"].as_array().unwrap().len(), 1);
    assert_eq!(g["members"][0]["value"], ids[0].as_str());
    // An unknown member id is skipped (the default, --scim-unknown-members=skip): the known
    // one is added, no row names the unknown one, and the other rows are left alone.
    let before = membership_rows(&s, &gid).await;
    let g = c
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "add", "path": "members", "value": [{"value": ids[1]}, {"value": "7FFFFFFFFFFFFFF0"}]}]),
        )
        .await;
    let shown: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), 2, "{g}");
    assert!(shown.contains(&ids[1].as_str()) && !shown.contains(&"7FFFFFFFFFFFFFF0"));
    let after = membership_rows(&s, &gid).await;
    assert_eq!(after.len(), 2);
    assert!(
        after.contains(&before[0]),
        "the existing row was not rewritten"
    );
    // Group DELETE.
    c.call(
        reqwest::Method::DELETE,
        &format!("/Groups/{gid}"),
        None,
        204,
    )
    .await;
    c.call(reqwest::Method::GET, &format!("/Groups/{gid}"), None, 404)
        .await;
}

async fn membership_rows(s: &TestServer, gid: &str) -> Vec<(i64, chrono::NaiveDateTime)> {
    use diesel::prelude::*;
    use muster::store::schema::group_users;
    let store = s.store.clone();
    let gid = muster::domain::id_from_hex(gid).unwrap();
    tokio::task::spawn_blocking(move || {
        let mut c = store.conn().unwrap();
        group_users::table
            .filter(group_users::group_id.eq(gid))
            .select((group_users::user_id, group_users::created_at))
            .order(group_users::user_id)
            .load(c.db())
            .unwrap()
    })
    .await
    .unwrap()
}

async fn errors_etags_and_deletes(b: Backend) {
    let s = TestServer::start(b).await;
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    let e = c
        .call(reqwest::Method::GET, "/Users/00000000000000AA", None, 404)
        .await;
    assert_eq!(e["status"], "404");
    assert!(e["detail"].is_string());
    c.call(reqwest::Method::GET, "/Users/not-an-id", None, 404)
        .await;

    let u = c.post("/Users", json!({"userName": "etag@x.com"})).await;
    let id = u["id"].as_str().unwrap().to_string();
    let r = c
        .req(reqwest::Method::GET, &format!("/Users/{id}"))
        .send()
        .await
        .unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(tag, u["meta"]["version"].as_str().unwrap());
    let r = c
        .req(reqwest::Method::GET, &format!("/Users/{id}"))
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    // Stale If-Match: 412 on PUT, PATCH and DELETE; nothing changes.
    c.patch(
        &format!("/Users/{id}"),
        json!([{"op": "add", "path": "title", "value": "T"}]),
    )
    .await;
    for (method, body) in [
        (
            reqwest::Method::PUT,
            Some(json!({"userName": "etag@x.com"})),
        ),
        (
            reqwest::Method::PATCH,
            Some(json!({"Operations": [{"op": "add", "path": "title", "value": "X"}]})),
        ),
        (reqwest::Method::DELETE, None),
    ] {
        let mut r = c
            .req(method.clone(), &format!("/Users/{id}"))
            .header("If-Match", &tag);
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        assert_eq!(resp.status(), 412, "{method}");
    }
    assert_eq!(c.get(&format!("/Users/{id}")).await["title"], "T");
    // A current If-Match works.
    let cur = c.get(&format!("/Users/{id}")).await["meta"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .req(reqwest::Method::DELETE, &format!("/Users/{id}"))
        .header("If-Match", cur)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    c.call(reqwest::Method::GET, &format!("/Users/{id}"), None, 404)
        .await;
    c.call(reqwest::Method::DELETE, &format!("/Users/{id}"), None, 404)
        .await;
    // Re-creating the same userName after delete is fine.
    c.post("/Users", json!({"userName": "etag@x.com"})).await;

    // Bad input, in SCIM's shape.
    let cases = vec![
        (reqwest::Method::POST, "/Users", "{", "invalidSyntax"),
        (
            reqwest::Method::POST,
            "/Users",
            r#"{"displayName": "no user name"}"#,
            "invalidValue",
        ),
        (
            reqwest::Method::POST,
            "/Users",
            r#"{"userName": "x", "active": "maybe"}"#,
            "invalidValue",
        ),
        (
            reqwest::Method::POST,
            "/Groups",
            r#"{"members": []}"#,
            "invalidValue",
        ),
        (
            reqwest::Method::POST,
            "/Users/.search",
            r#"{"filter": "userName eq"}"#,
            "invalidFilter",
        ),
        // NUL cannot be stored by PostgreSQL: refused up front on both backends, never a 500.
        (
            reqwest::Method::POST,
            "/Users",
            r#"{"userName": "nul\u0000byte"}"#,
            "invalidValue",
        ),
        (
            reqwest::Method::POST,
            "/Users/.search",
            r#"{"filter": "userName eq \"a\u0000\""}"#,
            "invalidFilter",
        ),
    ];
    for (method, path, body, t) in cases {
        let r = c
            .req(method, path)
            .header("content-type", "application/scim+json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path} {body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["scimType"], t, "{body}: {e}");
        assert_eq!(e["status"], "400");
    }
    let e = c
        .call(
            reqwest::Method::GET,
            &format!("/Users?filter={}", q("userName xx \"a\"")),
            None,
            400,
        )
        .await;
    assert_eq!(e["scimType"], "invalidFilter");
    assert!(e["detail"].as_str().unwrap().contains("position 9"), "{e}");
    // Group displayName is unique, case-insensitively.
    c.post("/Groups", json!({"displayName": "Admins"})).await;
    let e = c
        .call(
            reqwest::Method::POST,
            "/Groups",
            Some(json!({"displayName": "ADMINS"})),
            409,
        )
        .await;
    assert_eq!(e["scimType"], "uniqueness");
    // /Me without a user-bound credential: 501.
    let e = c.call(reqwest::Method::GET, "/Me", None, 501).await;
    assert_eq!(e["status"], "501");
    // No token: 401 in SCIM's shape.
    let r = s.get("/scim/v2/Users").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["status"], "401");
}

async fn a_tenant_never_sees_another_tenants_scim_resources(b: Backend) {
    let s = TestServer::start(b).await;
    s.org("other", None).await;
    s.credential(
        "other",
        kind_token(),
        "tok_other",
        "other-token-0123456789",
        "scim",
    )
    .await;
    s.credential(
        "default",
        kind_token(),
        "tok_noscim",
        "no-scim-token-0123456789",
        "users:read",
    )
    .await;
    let mine = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    let theirs = Scim {
        s: &s,
        token: "other-token-0123456789".into(),
    };
    let u = mine
        .post("/Users", json!({"userName": "shared@x.com"}))
        .await;
    let g = mine.post("/Groups", json!({"displayName": "Shared"})).await;
    let (uid, gid) = (u["id"].as_str().unwrap(), g["id"].as_str().unwrap());
    for path in [format!("/Users/{uid}"), format!("/Groups/{gid}")] {
        theirs.call(reqwest::Method::GET, &path, None, 404).await;
        theirs.call(reqwest::Method::PATCH, &path, Some(json!({"Operations": [{"op": "replace", "path": "displayName", "value": "pwned"}]})), 404).await;
        theirs
            .call(
                reqwest::Method::PUT,
                &path,
                Some(json!({"userName": "pwned", "displayName": "pwned"})),
                404,
            )
            .await;
        theirs.call(reqwest::Method::DELETE, &path, None, 404).await;
    }
    assert_eq!(theirs.get("/Users").await["totalResults"], 0);
    assert_eq!(
        theirs
            .get(&format!(
                "/Users?filter={}",
                q("userName eq \"shared@x.com\"")
            ))
            .await["totalResults"],
        0
    );
    assert_eq!(theirs.get("/Groups").await["totalResults"], 0);
    // The same userName may exist in both tenants.
    theirs
        .post("/Users", json!({"userName": "shared@x.com"}))
        .await;
    // Another tenant's user cannot be made a member: to this tenant the id names nobody, so
    // it is skipped (and the group is unchanged).
    let tg = theirs
        .post("/Groups", json!({"displayName": "Theirs"}))
        .await;
    let g = theirs.call(reqwest::Method::PATCH, &format!("/Groups/{}", tg["id"].as_str().unwrap()), Some(json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]})), 200).await;
    assert!(g.get("members").is_none(), "{g}");
    assert_eq!(g["meta"]["version"], tg["meta"]["version"]);
    assert_eq!(
        mine.get(&format!("/Users/{uid}")).await["userName"],
        "shared@x.com"
    );
    assert!(mine
        .get(&format!("/Users/{uid}"))
        .await
        .get("groups")
        .is_none());
    // A credential without the scim scope is refused.
    let nos = Scim {
        s: &s,
        token: "no-scim-token-0123456789".into(),
    };
    let e = nos.call(reqwest::Method::GET, "/Users", None, 403).await;
    assert_eq!(e["status"], "403");
}

type UserRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<bool>,
);
type ValueRow = (
    String,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<String>,
);

async fn a_scim_user_is_a_row_of_the_one_schema(b: Backend) {
    use diesel::prelude::*;
    use muster::store::schema::{user_values, users};
    let s = TestServer::start(b).await;
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    let u = c.post("/Users", json!({
        "userName": "Row.User@x.com", "name": {"givenName": "Row", "familyName": "User"}, "title": "Eng",
        "emails": [{"value": "Row@x.com", "type": "work", "primary": true}, {"value": "alt@x.com", "type": "other"}],
        "phoneNumbers": [{"value": "tel:+1-555-555-5555", "type": "work"}],
        "addresses": [{"country": "DE", "locality": "Berlin", "primary": true}],
        "roles": [{"value": "Admin", "primary": "True"}],
        ENT: {"employeeNumber": "42", "department": "R&D"}
    })).await;
    let id = muster::domain::id_from_hex(u["id"].as_str().unwrap()).unwrap();
    let store = s.store.clone();
    let (row, values) = tokio::task::spawn_blocking(move || {
        let mut c = store.conn().unwrap();
        let row: UserRow = users::table
            .find(id)
            .select((
                users::user_name,
                users::user_name_lower,
                users::name_given,
                users::name_family,
                users::employee_number,
                users::department,
                users::active,
            ))
            .first(c.db())
            .unwrap();
        let values: Vec<ValueRow> = user_values::table
            .filter(user_values::user_id.eq(id))
            .select((
                user_values::attribute,
                user_values::value,
                user_values::value_lower,
                user_values::is_primary,
                user_values::country,
            ))
            .order((user_values::attribute, user_values::position))
            .load(c.db())
            .unwrap();
        (row, values)
    })
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            Some("Row.User@x.com".into()),
            Some("row.user@x.com".into()),
            Some("Row".into()),
            Some("User".into()),
            Some("42".into()),
            Some("R&D".into()),
            // Created without `active`: stored as active, never left unset.
            Some(true)
        )
    );
    assert_eq!(
        values,
        vec![
            (
                "addresses".into(),
                None,
                None,
                Some(true),
                Some("DE".into())
            ),
            (
                "emails".into(),
                Some("Row@x.com".into()),
                Some("row@x.com".into()),
                Some(true),
                None
            ),
            (
                "emails".into(),
                Some("alt@x.com".into()),
                Some("alt@x.com".into()),
                None,
                None
            ),
            (
                "phoneNumbers".into(),
                Some("tel:+1-555-555-5555".into()),
                Some("tel:+1-555-555-5555".into()),
                None,
                None
            ),
        ]
    );
    assert_eq!(u["roles"], json!([{"value": "Admin", "primary": true}]));
    assert_eq!(
        u["phoneNumbers"][0]["value"], "tel:+1-555-555-5555",
        "stored as sent"
    );
}

async fn discovery_is_generated_from_the_registry(b: Backend) {
    let s = TestServer::start(b).await;
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    let spc = c.get("/ServiceProviderConfig").await;
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], true);
    assert_eq!(spc["sort"]["supported"], true);
    assert_eq!(spc["pagination"]["cursor"], true);
    assert_eq!(spc["pagination"]["maxPageSize"], 1000);
    let rts = c.get("/ResourceTypes").await;
    assert_eq!(rts["totalResults"], 2);
    let user_rt = c.get("/ResourceTypes/User").await;
    assert_eq!(user_rt["schemaExtensions"][0]["schema"], ENT);
    let schemas = c.get("/Schemas").await;
    assert_eq!(schemas["totalResults"], 3);
    let user = c
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    let pw = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "password")
        .unwrap();
    assert_eq!(pw["returned"], "never");
    assert_eq!(pw["mutability"], "writeOnly");
    c.call(reqwest::Method::GET, "/Schemas/urn:nope", None, 404)
        .await;
    c.call(reqwest::Method::GET, "/ResourceTypes/Nope", None, 404)
        .await;
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        for m in [
            reqwest::Method::POST,
            reqwest::Method::PUT,
            reqwest::Method::PATCH,
            reqwest::Method::DELETE,
        ] {
            let e = c.call(m.clone(), path, Some(json!({})), 405).await;
            assert_eq!(e["status"], "405", "{m} {path}");
        }
    }
    // Trailing slashes and doubled slashes reach the same routes.
    let r = s
        .http
        .get(s.url("/scim/v2//Users/"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Review findings fixed with the request path: `active` is never re-enabled by omission,
/// Bulk answers, `If-Match` lists, the Group PATCH slow path without `If-Match`, and a
/// member remove by value naming a non-id.
async fn review_findings_on_the_request_path(b: Backend) {
    let s = TestServer::start(b).await;
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    // (1) Created without `active`: active, and shown.
    let u = c.post("/Users", json!({"userName": "act@x.com"})).await;
    assert_eq!(u["active"], true);
    let id = u["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    c.patch(
        &path,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    // A PUT that leaves `active` out keeps the user deactivated.
    let put = c
        .call(
            reqwest::Method::PUT,
            &path,
            Some(json!({"userName": "act@x.com", "displayName": "Act"})),
            200,
        )
        .await;
    assert_eq!(put["active"], false, "{put}");
    assert_eq!(put["displayName"], "Act");
    // Clearing it with null or "" (or removing it) unsets it, which never enables: the
    // user stays out of `active eq true`, and a PUT without `active` still keeps it so.
    for ops in [
        json!([{"op": "replace", "path": "active", "value": null}]),
        json!([{"op": "replace", "value": {"active": ""}}]),
        json!([{"op": "remove", "path": "active"}]),
    ] {
        c.patch(
            &path,
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
        let after = c.patch(&path, ops.clone()).await;
        // Unset (remove) or left false (a null replace the engine ignores): never true.
        assert_ne!(after["active"], true, "{ops} -> {after}");
        let filtered = c
            .get(&format!("/Users?filter={}", q("active eq true")))
            .await;
        assert_eq!(filtered["totalResults"], 0, "{ops}: {filtered}");
        let put = c
            .call(
                reqwest::Method::PUT,
                &path,
                Some(json!({"userName": "act@x.com", "displayName": "Act"})),
                200,
            )
            .await;
        assert_eq!(put.get("active"), after.get("active"), "{put}");
    }
    // The last of them removed it: gone from the resource (RFC 7644 §3.5.2.2).
    let gone = c.get(&path).await;
    assert!(gone.get("active").is_none(), "{gone}");
    let s2 = s.store.clone();
    let uid = muster::domain::id_from_hex(&id).unwrap();
    let cleared = tokio::task::spawn_blocking(move || {
        let mut conn = s2.conn().unwrap();
        muster::store::users::get(
            &mut conn,
            &muster::domain::OrgId::parse("default").unwrap(),
            uid,
        )
        .unwrap()
    })
    .await
    .unwrap();
    assert!(
        !cleared.data.is_active(),
        "a cleared active is inactive for every dialect"
    );
    let back = c
        .patch(
            &path,
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await;
    assert_eq!(back["active"], true);

    // (3) Bulk answers a BulkResponse (tests/it/bulk.rs covers it).
    let bulk = c
        .call(
            reqwest::Method::POST,
            "/Bulk",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []})),
            200,
        )
        .await;
    assert_eq!(bulk["Operations"], json!([]));

    // (4) If-Match with several tags matches when one of them is current.
    let version = back["meta"]["version"].as_str().unwrap().to_string();
    let resp = c
        .req(reqwest::Method::PATCH, &path)
        .header("content-type", SCIM_CT)
        .header("if-match", format!("W/\"999\", {version}"))
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "replace", "path": "title", "value": "T"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap()
    );
    let resp = c
        .req(reqwest::Method::PATCH, &path)
        .header("content-type", SCIM_CT)
        .header("if-match", "W/\"998\", W/\"999\"")
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "replace", "path": "title", "value": "U"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 412);

    // (5) A member filter other than `value eq` (the slow path), without If-Match: 200.
    let other = c.post("/Users", json!({"userName": "other@x.com"})).await;
    let oid = other["id"].as_str().unwrap().to_string();
    let g = c
        .post(
            "/Groups",
            json!({"displayName": "slow", "members": [{"value": id}, {"value": oid}]}),
        )
        .await;
    let gpath = format!("/Groups/{}", g["id"].as_str().unwrap());
    let after = c
        .patch(
            &gpath,
            json!([{"op": "remove", "path": format!("members[value eq \"{oid}\" or type eq \"Nothing\"]")}]),
        )
        .await;
    let members: Vec<&str> = after["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, vec![id.as_str()], "{after}");

    // (8) remove + path "members" + a value that is no id: 200, like the filter form.
    let after = c
        .patch(
            &gpath,
            json!([{"op": "remove", "path": "members", "value": [{"value": "not-an-id"}]}]),
        )
        .await;
    assert_eq!(after["members"].as_array().unwrap().len(), 1, "{after}");
    let after = c
        .patch(
            &gpath,
            json!([{"op": "remove", "path": "members[value eq \"not-an-id\"]"}]),
        )
        .await;
    assert_eq!(after["members"].as_array().unwrap().len(), 1, "{after}");
}

async fn other_scim_versions_are_invalid_vers(b: Backend) {
    let s = TestServer::start(b).await;
    for (method, path) in [
        (reqwest::Method::GET, "/scim/v1"),
        (reqwest::Method::GET, "/scim/v1/"),
        (reqwest::Method::GET, "/scim/v1/Users"),
        (
            reqwest::Method::GET,
            "/scim/v1/Users/00000000000000AB?attributes=userName",
        ),
        (reqwest::Method::POST, "/scim/v1/Users"),
        (reqwest::Method::PUT, "/scim/v1/Groups/x"),
        (reqwest::Method::PATCH, "/scim/v1/Groups/x"),
        (reqwest::Method::DELETE, "/scim/v1/Users/x"),
        (reqwest::Method::GET, "/scim/v1/ServiceProviderConfigs"),
        (reqwest::Method::GET, "/scim/v1/a/b/c/d"),
    ] {
        // With or without credentials: the version is wrong either way.
        for auth in [true, false] {
            let mut r = s
                .http
                .request(method.clone(), s.url(path))
                .header("content-type", SCIM_CT)
                .body("{}");
            if auth {
                r = r.bearer_auth(ADMIN_TOKEN);
            }
            let resp = r.send().await.unwrap();
            assert_eq!(resp.status(), 400, "{method} {path}");
            assert_eq!(
                resp.headers()["content-type"].to_str().unwrap(),
                SCIM_CT,
                "{method} {path}"
            );
            let e: Value = resp.json().await.unwrap();
            assert_eq!(e["scimType"], "invalidVers", "{method} {path}: {e}");
            assert_eq!(e["status"], "400");
            assert_eq!(
                e["schemas"],
                json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
            );
        }
    }
    // v2 is untouched, and a look-alike prefix is not a version.
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    c.get("/ServiceProviderConfig").await;
    let r = s
        .http
        .get(s.url("/scim/v1x/Users"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

async fn entra_unqualified_enterprise_names(b: Backend) {
    let s = TestServer::start(b).await;
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    let u = c
        .post("/Users", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "entra1"}))
        .await;
    let id = u["id"].as_str().unwrap();
    assert_eq!(
        u["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    // Entra's PATCH paths without the Enterprise URN.
    let u = c
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Add", "path": "employeeNumber", "value": "7"},
                {"op": "Replace", "path": "manager", "value": "00000000000000AB"},
                {"op": "Add", "path": "department", "value": "R&D"}
            ]),
        )
        .await;
    assert_eq!(u[ENT]["employeeNumber"], "7", "{u}");
    assert_eq!(u[ENT]["manager"]["value"], "00000000000000AB", "{u}");
    assert_eq!(u[ENT]["department"], "R&D", "{u}");
    assert!(u.get("employeeNumber").is_none());
    assert_eq!(
        u["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENT])
    );
    c.post("/Users", json!({"userName": "entra2"})).await;
    for f in [
        "employeeNumber eq \"7\"",
        "manager.value eq \"00000000000000AB\"",
        "department sw \"r\"",
        &format!("schemas eq \"{ENT}\""),
    ] {
        let r = c.get(&format!("/Users?filter={}", q(f))).await;
        assert_eq!(r["totalResults"], 1, "{f}: {r}");
        assert_eq!(r["Resources"][0]["userName"], "entra1", "{f}");
    }
    let r = c
        .get(&format!(
            "/Users?filter={}&attributes=employeeNumber",
            q("userName eq \"entra1\"")
        ))
        .await;
    assert_eq!(r["Resources"][0][ENT], json!({"employeeNumber": "7"}));
    // Removing the last enterprise attribute drops the URN from `schemas`.
    let u = c
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "remove", "path": "employeeNumber"},
                {"op": "remove", "path": "manager"},
                {"op": "remove", "path": "department"}
            ]),
        )
        .await;
    assert!(u.get(ENT).is_none(), "{u}");
    let r = c
        .get(&format!(
            "/Users?filter={}",
            q(&format!("schemas eq \"{ENT}\""))
        ))
        .await;
    assert_eq!(r["totalResults"], 0, "{r}");
}

/// Parsing happens before the trip, but a bad credential is still a 401 whatever else is
/// wrong with the request; a forged key id is a 401 (JWT) or `invalidCursor`, never a 500.
async fn a_bad_credential_is_401_before_any_parse_error(b: Backend) {
    let s = TestServer::start(b).await;
    let bogus = Scim {
        s: &s,
        token: "not-a-token-of-ours-0123456789".into(),
    };
    let patch =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": "nope"});
    for (method, path, body) in [
        (reqwest::Method::GET, "/Users/not-an-id".to_string(), None),
        (
            reqwest::Method::GET,
            format!("/Users?filter={}", q("userName eq")),
            None,
        ),
        (
            reqwest::Method::GET,
            "/Users?attributes=%C3%BC%C3%BC%C3%BC".to_string(),
            None,
        ),
        (
            reqwest::Method::POST,
            "/Users".to_string(),
            Some(json!({"userName": 7})),
        ),
        (
            reqwest::Method::PATCH,
            "/Users/0000000000000001".to_string(),
            Some(patch.clone()),
        ),
        (
            reqwest::Method::POST,
            "/Users/.search".to_string(),
            Some(json!([])),
        ),
    ] {
        let v = bogus.call(method.clone(), &path, body, 401).await;
        assert_eq!(v["status"], "401", "{method} {path}: {v}");
    }
    let r = bogus
        .req(reqwest::Method::GET, "/Users/not-an-id")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("www-authenticate").is_some());
    // With a good credential the same requests get their own errors.
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    c.call(reqwest::Method::GET, "/Users/not-an-id", None, 404)
        .await;
    let v = c
        .call(
            reqwest::Method::PATCH,
            "/Users/0000000000000001",
            Some(patch),
            400,
        )
        .await;
    assert_eq!(v["status"], "400");
    // A JWT whose key id is no id of ours (NUL cannot even be bound on PostgreSQL): 401.
    use base64::Engine;
    let b64 = |v: Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    let forged = format!(
        "{}.{}.{}",
        b64(json!({"alg": "HS256", "typ": "JWT", "kid": "\u{0}"})),
        b64(json!({"sub": "x", "exp": 4102444800u64, "org": "default", "scope": "scim"})),
        "c2ln"
    );
    let f = Scim {
        s: &s,
        token: forged.clone(),
    };
    f.call(reqwest::Method::GET, "/Users", None, 401).await;
    let v = c
        .call(
            reqwest::Method::GET,
            &format!("/Users?cursor={forged}"),
            None,
            400,
        )
        .await;
    assert_eq!(v["scimType"], "invalidCursor", "{v}");
}

/// A group PUT that names the members it has changes nothing (no version bump); one that
/// drops a member removes only that row. A role named in another case shows the stored name.
async fn replace_is_a_diff_and_roles_show_their_stored_names(b: Backend) {
    let s = TestServer::start(b).await;
    let c = Scim {
        s: &s,
        token: ADMIN_TOKEN.into(),
    };
    let u1 = c
        .post(
            "/Users",
            json!({"userName": "r1@x.com", "roles": [{"value": "Admin"}]}),
        )
        .await;
    let u2 = c.post("/Users", json!({"userName": "r2@x.com", "roles": [{"value": "ADMIN"}, {"value": "zeta"}, {"value": "Alpha"}]})).await;
    let names: Vec<&str> = u2["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Admin", "Alpha", "zeta"], "{u2}");
    let again = c
        .get(&format!("/Users/{}", u2["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        again["roles"], u2["roles"],
        "a read shows what the write answered"
    );
    let (a, b2) = (u1["id"].as_str().unwrap(), u2["id"].as_str().unwrap());
    let g = c
        .post(
            "/Groups",
            json!({"displayName": "diff", "members": [{"value": a}, {"value": b2}]}),
        )
        .await;
    let path = format!("/Groups/{}", g["id"].as_str().unwrap());
    let same = c
        .call(
            reqwest::Method::PUT,
            &path,
            Some(json!({"displayName": "diff", "members": [{"value": b2}, {"value": a}]})),
            200,
        )
        .await;
    assert_eq!(same["meta"]["version"], g["meta"]["version"], "{same}");
    let fewer = c
        .call(
            reqwest::Method::PUT,
            &path,
            Some(json!({"displayName": "diff", "members": [{"value": b2}]})),
            200,
        )
        .await;
    assert_eq!(fewer["members"].as_array().unwrap().len(), 1);
    assert_eq!(fewer["members"][0]["value"], b2);
    assert_ne!(fewer["meta"]["version"], g["meta"]["version"]);

    // A password set through a path-less PATCH with the URN-qualified key takes effect.
    let upath = format!("/Users/{a}");
    c.patch(
        &upath,
        json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User:password": "n3w-secret"}}]),
    )
    .await;
    let st = s.store.clone();
    let uid = muster::domain::id_from_hex(a).unwrap();
    let ok = tokio::task::spawn_blocking(move || {
        let mut conn = st.conn().unwrap();
        let org = muster::domain::OrgId::parse("default").unwrap();
        muster::directory::users::verify_password(&mut conn, &org, uid, "n3w-secret").unwrap()
    })
    .await
    .unwrap();
    assert!(ok, "the URN-qualified password was set");
}
