//! The Domo Users and Groups API over real HTTP on SQLite and PostgreSQL: the calls pydomo
//! makes (vendor-clients.md §1), one identity shared with SCIM, and Domo's error body for
//! every refusal.

use crate::common;

use common::*;
use serde_json::{json, Value};

both_backends!(
    a_domo_user_is_the_scim_user_of_its_email,
    domo_groups_are_the_scim_groups,
    users_page_update_and_invite,
    roles_by_name_and_id_in_the_one_roles_model,
    bad_input_gets_domo_errors,
);

/// A Domo client: an OAuth client's access token from `/oauth/token`, sent as
/// `Authorization: bearer` (lower case, as pydomo does).
struct Domo<'a> {
    s: &'a TestServer,
    token: String,
}

impl<'a> Domo<'a> {
    async fn connect(s: &'a TestServer) -> Domo<'a> {
        s.credential(
            "default",
            kind_client(),
            "domo_client",
            "domo-secret-0123456789",
            "users:read users:write",
        )
        .await;
        // As pydomo calls it: Basic client credentials, a form body with scope=user.
        let r = s
            .post("/oauth/token")
            .basic_auth("domo_client", Some("domo-secret-0123456789"))
            .form(&[("grant_type", "client_credentials"), ("scope", "user")])
            .send()
            .await
            .unwrap();
        let body = json(r, 200).await;
        let token = body["access_token"].as_str().unwrap().to_string();
        let claims = jwt_claims(&token);
        let exp = claims["exp"].as_i64().expect("exp claim");
        assert!(exp > chrono::Utc::now().timestamp(), "{claims}");
        Domo { s, token }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.s
            .http
            .request(method, self.s.url(path))
            .header("Authorization", format!("bearer {}", self.token))
            .header("Accept", "application/json")
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
            r = r.json(&b);
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

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None, 200).await
    }

    async fn create_user(&self, name: &str, email: &str, role: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/v1/users/?sendInvite=False",
            Some(json!({"name": name, "email": email, "role": role})),
            200,
        )
        .await
    }
}

async fn scim_call(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let mut r = scim(s, method, path);
    if let Some(b) = body {
        r = r.header("content-type", SCIM_CT).body(b.to_string());
    }
    json(r.send().await.unwrap(), status).await
}

async fn scim_filter(s: &TestServer, path: &str, filter: &str) -> Value {
    json(
        scim(s, reqwest::Method::GET, path)
            .query(&[("filter", filter)])
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

fn hex(id: &Value) -> String {
    format!("{:016X}", id.as_i64().expect("Domo ids are integers"))
}

/// Domo's error body, with the status and path of the request and a request id.
fn assert_domo_error(body: &Value, status: u16, path: &str, message_has: &str) {
    assert_eq!(body["status"], status, "{body}");
    let reason = reqwest::StatusCode::from_u16(status)
        .unwrap()
        .canonical_reason()
        .unwrap();
    assert_eq!(body["statusReason"], reason, "{body}");
    assert_eq!(body["path"], path, "{body}");
    assert!(
        body["toe"].as_str().is_some_and(|t| !t.is_empty()),
        "a request id: {body}"
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(message_has),
        "message {message:?} should mention {message_has:?}"
    );
}

async fn a_domo_user_is_the_scim_user_of_its_email(b: Backend) {
    let s = TestServer::start(b).await;
    let domo = Domo::connect(&s).await;
    let u = domo
        .create_user("Ann Example", "Ann@Example.com", "Participant")
        .await;
    let id = u["id"].as_i64().expect("an integer id");
    assert!(id > 0);
    assert_eq!(u["name"], "Ann Example");
    assert_eq!(u["email"], "Ann@Example.com");
    assert_eq!(u["role"], "Participant");
    assert!(u["roleId"].as_i64().is_some(), "{u}");
    assert_eq!(u["groups"], json!([]));
    let created = u["createdAt"].as_str().unwrap();
    assert_eq!(created.len(), "2017-06-12T20:16:59Z".len(), "{created}");
    assert!(created.ends_with('Z'));
    assert!(u["image"].as_str().unwrap().contains(&id.to_string()));

    // SCIM finds it by userName (its email, in any case) and by email, under the same id.
    let by_name = scim_filter(&s, "/Users", "userName eq \"ann@example.COM\"").await;
    assert_eq!(by_name["totalResults"], 1, "{by_name}");
    let scim_user = &by_name["Resources"][0];
    assert_eq!(scim_user["id"], hex(&u["id"]));
    assert_eq!(scim_user["userName"], "Ann@Example.com");
    assert_eq!(scim_user["displayName"], "Ann Example");
    assert_eq!(scim_user["roles"][0]["value"], "Participant");
    let by_email = scim_filter(&s, "/Users", "emails.value eq \"ann@example.com\"").await;
    assert_eq!(by_email["totalResults"], 1);
    assert_eq!(by_email["Resources"][0]["id"], hex(&u["id"]));
    let by_prefix = scim_filter(&s, "/Users", "userName sw \"ann@\"").await;
    assert_eq!(by_prefix["totalResults"], 1);

    // A SCIM create of the same person by userName is a conflict, not a second identity.
    let dup = scim_call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "ANN@example.com"}),
        ),
        409,
    )
    .await;
    assert_eq!(dup["scimType"], "uniqueness", "{dup}");
    // Nor may Domo make a second user with that email.
    let again = domo
        .call(
            reqwest::Method::POST,
            "/v1/users",
            Some(json!({"name": "Ann Again", "email": "ann@example.com", "role": "Admin"})),
            409,
        )
        .await;
    assert_domo_error(&again, 409, "/v1/users", "already");

    // An email a SCIM user has (with a login name of its own) is taken for Domo too, on
    // create and on update.
    scim_call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "carl", "emails": [{"value": "Carl@Example.com", "type": "work"}]}),
        ),
        201,
    )
    .await;
    let taken = domo
        .call(
            reqwest::Method::POST,
            "/v1/users",
            Some(json!({"name": "Carl", "email": "carl@example.com", "role": "Admin"})),
            409,
        )
        .await;
    assert_domo_error(
        &taken,
        409,
        "/v1/users",
        "user carl@example.com: this email is already another user's",
    );
    let path = format!("/v1/users/{id}");
    let taken = domo
        .call(
            reqwest::Method::PUT,
            &path,
            Some(json!({"email": "CARL@example.com"})),
            409,
        )
        .await;
    assert_domo_error(&taken, 409, &path, "this email is already another user's");
    // Its own email again is no conflict.
    domo.call(
        reqwest::Method::PUT,
        &path,
        Some(json!({"email": "Ann@Example.com", "name": "Ann Example"})),
        200,
    )
    .await;

    // Renamed over SCIM; Domo reads the new name.
    scim_call(
        &s,
        reqwest::Method::PATCH,
        &format!("/Users/{}", hex(&u["id"])),
        Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "Ann Renamed"}]})),
        200,
    )
    .await;
    let read = domo.get(&format!("/v1/users/{id}")).await;
    assert_eq!(read["name"], "Ann Renamed");
    assert_eq!(read["email"], "Ann@Example.com");

    // A change of email over Domo moves the SCIM userName with it (no login name stored).
    domo.call(
        reqwest::Method::PUT,
        &format!("/v1/users/{id}"),
        Some(json!({"email": "ann.new@example.com"})),
        200,
    )
    .await;
    let moved = scim_filter(&s, "/Users", "userName eq \"ann.new@example.com\"").await;
    assert_eq!(moved["totalResults"], 1);
    let old = scim_filter(&s, "/Users", "userName eq \"ann@example.com\"").await;
    assert_eq!(old["totalResults"], 0);
    // Now the old address is free for a SCIM user.
    scim_call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "ann@example.com"}),
        ),
        201,
    )
    .await;

    // A login name given over SCIM stays the userName; Domo still shows the email.
    scim_call(
        &s,
        reqwest::Method::PATCH,
        &format!("/Users/{}", hex(&u["id"])),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "userName", "value": "ann"}]}),
        ),
        200,
    )
    .await;
    let by_login = scim_filter(&s, "/Users", "userName eq \"ann\"").await;
    assert_eq!(by_login["Resources"][0]["id"], hex(&u["id"]));
    assert_eq!(
        domo.get(&format!("/v1/users/{id}")).await["email"],
        "ann.new@example.com"
    );

    // Deleted over Domo: 204, then gone from both.
    let r = domo
        .req(reqwest::Method::DELETE, &format!("/v1/users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let gone = domo
        .call(reqwest::Method::GET, &format!("/v1/users/{id}"), None, 404)
        .await;
    assert_domo_error(&gone, 404, &format!("/v1/users/{id}"), "not found");
    scim_call(
        &s,
        reqwest::Method::GET,
        &format!("/Users/{}", hex(&u["id"])),
        None,
        404,
    )
    .await;
}

async fn domo_groups_are_the_scim_groups(b: Backend) {
    let s = TestServer::start(b).await;
    let domo = Domo::connect(&s).await;
    let u = domo
        .create_user("Bo", "bo@example.com", "Participant")
        .await;
    let uid = u["id"].as_i64().unwrap();
    // pydomo's groups_create body: `active` as the string "true".
    let g = domo
        .call(
            reqwest::Method::POST,
            "/v1/groups/",
            Some(json!({"name": "Sales", "active": "true"})),
            200,
        )
        .await;
    let gid = g["id"].as_i64().expect("integer group id");
    assert_eq!(
        g,
        json!({"id": gid, "name": "Sales", "active": true, "default": false, "memberCount": 0})
    );

    let r = domo
        .req(
            reqwest::Method::PUT,
            &format!("/v1/groups/{gid}/users/{uid}"),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.text().await.unwrap(), "");
    // Adding again is no change, still 204.
    let r = domo
        .req(
            reqwest::Method::PUT,
            &format!("/v1/groups/{gid}/users/{uid}"),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);

    // SCIM's Group and User.groups show the membership.
    let sg = scim_call(
        &s,
        reqwest::Method::GET,
        &format!("/Groups/{}", hex(&g["id"])),
        None,
        200,
    )
    .await;
    assert_eq!(sg["displayName"], "Sales");
    assert_eq!(sg["members"][0]["value"], hex(&u["id"]));
    let su = scim_call(
        &s,
        reqwest::Method::GET,
        &format!("/Users/{}", hex(&u["id"])),
        None,
        200,
    )
    .await;
    assert_eq!(su["groups"][0]["value"], hex(&g["id"]));
    assert_eq!(su["groups"][0]["display"], "Sales");
    // Domo's user and group show it too.
    let du = domo.get(&format!("/v1/users/{uid}")).await;
    assert_eq!(du["groups"], json!([{"id": gid, "name": "Sales"}]));
    assert_eq!(
        domo.get(&format!("/v1/groups/{gid}")).await["memberCount"],
        1
    );
    assert_eq!(
        domo.get(&format!("/v1/groups/{gid}/users?limit=500&offset=0"))
            .await,
        json!([uid])
    );
    assert_eq!(
        domo.get(&format!("/v1/groups/{gid}/users?limit=500&offset=500"))
            .await,
        json!([])
    );

    // A group made over SCIM is a Domo group; paging walks both.
    let other = scim_call(
        &s,
        reqwest::Method::POST,
        "/Groups",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Support", "members": [{"value": hex(&u["id"])}]}),
        ),
        201,
    )
    .await;
    let list = domo.get("/v1/groups?limit=500&offset=0").await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Sales") && names.contains(&"Support"));
    let first = domo.get("/v1/groups?limit=1&offset=0").await;
    let second = domo.get("/v1/groups?limit=1&offset=1").await;
    assert_ne!(first[0]["id"], second[0]["id"]);
    assert_eq!(domo.get("/v1/groups?limit=1&offset=2").await, json!([]));
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_i64().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "groups in id order");
    let support_id = i64::from_str_radix(other["id"].as_str().unwrap(), 16).unwrap();
    assert!(ids.contains(&support_id));

    // Update: the name changes, `active` too; omitted fields keep their value.
    let renamed = domo
        .call(
            reqwest::Method::PUT,
            &format!("/v1/groups/{gid}"),
            Some(json!({"name": "Sales EMEA"})),
            200,
        )
        .await;
    assert_eq!(renamed["name"], "Sales EMEA");
    assert_eq!(renamed["active"], true);
    assert_eq!(renamed["memberCount"], 1);
    let inactive = domo
        .call(
            reqwest::Method::PUT,
            &format!("/v1/groups/{gid}"),
            Some(json!({"active": false})),
            200,
        )
        .await;
    assert_eq!(inactive["name"], "Sales EMEA");
    assert_eq!(inactive["active"], false);
    // SCIM's PUT of the group leaves Domo's `active` alone.
    scim_call(
        &s,
        reqwest::Method::PUT,
        &format!("/Groups/{}", hex(&g["id"])),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Sales EMEA", "members": [{"value": hex(&u["id"])}]}),
        ),
        200,
    )
    .await;
    assert_eq!(
        domo.get(&format!("/v1/groups/{gid}")).await["active"],
        false
    );
    let taken = domo
        .call(
            reqwest::Method::POST,
            "/v1/groups",
            Some(json!({"name": "support"})),
            409,
        )
        .await;
    assert_domo_error(&taken, 409, "/v1/groups", "already exists");

    // Remove the user: 204, gone from SCIM's members.
    let r = domo
        .req(
            reqwest::Method::DELETE,
            &format!("/v1/groups/{gid}/users/{uid}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        domo.get(&format!("/v1/groups/{gid}/users")).await,
        json!([])
    );
    let sg = scim_call(
        &s,
        reqwest::Method::GET,
        &format!("/Groups/{}", hex(&g["id"])),
        None,
        200,
    )
    .await;
    assert!(
        sg.get("members").is_none() || sg["members"] == json!([]),
        "{sg}"
    );

    // Delete: 204, then 404 in Domo's shape; the user stays.
    let r = domo
        .req(reqwest::Method::DELETE, &format!("/v1/groups/{gid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let gone = domo
        .call(
            reqwest::Method::GET,
            &format!("/v1/groups/{gid}"),
            None,
            404,
        )
        .await;
    assert_domo_error(&gone, 404, &format!("/v1/groups/{gid}"), "not found");
    domo.get(&format!("/v1/users/{uid}")).await;
}

async fn users_page_update_and_invite(b: Backend) {
    let s = TestServer::start(b).await;
    let domo = Domo::connect(&s).await;
    let mut made = Vec::new();
    for i in 0..7 {
        let u = domo
            .create_user(
                &format!("User {i}"),
                &format!("u{i}@example.com"),
                "Participant",
            )
            .await;
        made.push(u["id"].as_i64().unwrap());
    }
    made.sort();
    // Pages in id order; past the end an empty array (what list_all stops on).
    let mut seen = Vec::new();
    for offset in (0..).step_by(3) {
        let page = domo
            .get(&format!("/v1/users/?limit=3&offset={offset}"))
            .await;
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        seen.extend(page.iter().map(|u| u["id"].as_i64().unwrap()));
    }
    assert_eq!(seen, made);
    // Default limit 50: everything here.
    assert_eq!(domo.get("/v1/users").await.as_array().unwrap().len(), 7);

    // Every field, then a partial update that keeps the others.
    let full = domo
        .call(
            reqwest::Method::POST,
            "/v1/users?sendInvite=true",
            Some(json!({"name": "Cy Full", "email": "cy@example.com", "role": "Privileged",
                        "title": "CFO", "alternateEmail": "cy@home.example", "phone": "+1 801 555 0100",
                        "location": "American Fork", "timezone": "America/Denver", "locale": "en-US",
                        "employeeNumber": 23432})),
            200,
        )
        .await;
    let cy = full["id"].as_i64().unwrap();
    assert_eq!(full["employeeNumber"], 23432);
    assert_eq!(full["alternateEmail"], "cy@home.example");
    assert_eq!(full["location"], "American Fork");
    assert_eq!(full["timezone"], "America/Denver");
    let updated = domo
        .call(
            reqwest::Method::PUT,
            &format!("/v1/users/{cy}"),
            Some(json!({"title": "CEO", "employeeNumber": "E-17", "phone": null})),
            200,
        )
        .await;
    assert_eq!(updated["title"], "CEO");
    assert_eq!(updated["employeeNumber"], "E-17");
    assert!(updated.get("phone").is_none(), "{updated}");
    for (k, v) in [
        ("name", json!("Cy Full")),
        ("email", json!("cy@example.com")),
        ("role", json!("Privileged")),
        ("alternateEmail", json!("cy@home.example")),
        ("location", json!("American Fork")),
        ("locale", json!("en-US")),
    ] {
        assert_eq!(updated[k], v, "{k} kept: {updated}");
    }
    assert_eq!(domo.get(&format!("/v1/users/{cy}")).await, updated);
    // SCIM sees the same fields in its own names.
    let su = scim_call(
        &s,
        reqwest::Method::GET,
        &format!("/Users/{cy:016X}"),
        None,
        200,
    )
    .await;
    assert_eq!(su["title"], "CEO");
    assert_eq!(
        su["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
        "E-17"
    );
    let emails: Vec<(&str, &str)> = su["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["value"].as_str().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        emails,
        vec![("cy@example.com", "work"), ("cy@home.example", "other")]
    );

    // sendInvite=true is an audit entry (nothing is mailed); False makes none.
    let store = s.store.clone();
    let first = made[0];
    let (invited, plain) = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        let org = muster::domain::OrgId::parse("default").unwrap();
        let mut keys = |id| {
            muster::store::audit::list(&mut conn, &org, Some(id), 10)
                .unwrap()
                .into_iter()
                .map(|e| {
                    (
                        e.key,
                        e.payload["action"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect::<Vec<_>>()
        };
        (keys(cy), keys(first))
    })
    .await
    .unwrap();
    // Keys name the dialect (`Domo.User.Invite`); the payload names the directory action.
    assert!(
        invited.contains(&("Domo.User.Invite".to_string(), "User.Invite".to_string())),
        "{invited:?}"
    );
    assert!(invited.contains(&("Domo.User.Create".to_string(), "User.Create".to_string())));
    assert!(!plain.iter().any(|(_, a)| a == "User.Invite"), "{plain:?}");
}

async fn roles_by_name_and_id_in_the_one_roles_model(b: Backend) {
    let s = TestServer::start(b).await;
    let domo = Domo::connect(&s).await;
    // A custom role made by SCIM.
    let scim_user = scim_call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "dee", "roles": [{"value": "Auditor"}]}),
        ),
        201,
    )
    .await;
    let dee = i64::from_str_radix(scim_user["id"].as_str().unwrap(), 16).unwrap();
    let seen = domo.get(&format!("/v1/users/{dee}")).await;
    assert_eq!(seen["role"], "Auditor");
    let auditor_id = seen["roleId"].as_i64().unwrap();

    // By name (any case), by roleId; the built-ins are there from the first use.
    let by_name = domo.create_user("Ed", "ed@example.com", "auditor").await;
    assert_eq!(by_name["role"], "Auditor");
    assert_eq!(by_name["roleId"], auditor_id);
    let admin = domo.create_user("Flo", "flo@example.com", "Admin").await;
    let admin_id = admin["roleId"].as_i64().unwrap();
    let ed = by_name["id"].as_i64().unwrap();
    let changed = domo
        .call(
            reqwest::Method::PUT,
            &format!("/v1/users/{ed}"),
            Some(json!({"roleId": admin_id})),
            200,
        )
        .await;
    assert_eq!(changed["role"], "Admin");
    // SCIM's roles read the same model.
    let su = scim_call(
        &s,
        reqwest::Method::GET,
        &format!("/Users/{ed:016X}"),
        None,
        200,
    )
    .await;
    assert_eq!(su["roles"], json!([{"value": "Admin"}]), "{su}");
    // Over SCIM the role changes; Domo reads it.
    scim_call(
        &s,
        reqwest::Method::PATCH,
        &format!("/Users/{ed:016X}"),
        Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "roles", "value": [{"value": "Privileged"}]}]})),
        200,
    )
    .await;
    assert_eq!(
        domo.get(&format!("/v1/users/{ed}")).await["role"],
        "Privileged"
    );

    // Unknown roles, by name or id, are 400s in Domo's shape and change nothing.
    let path = format!("/v1/users/{ed}");
    for body in [json!({"role": "Wizard"}), json!({"roleId": 12345})] {
        let e = domo
            .call(reqwest::Method::PUT, &path, Some(body.clone()), 400)
            .await;
        assert_domo_error(&e, 400, &path, "role");
    }
    let e = domo
        .call(
            reqwest::Method::POST,
            "/v1/users",
            Some(json!({"name": "G", "email": "g@example.com", "role": "Wizard"})),
            400,
        )
        .await;
    assert_domo_error(&e, 400, "/v1/users", "unknown role \"Wizard\"");
    assert_eq!(domo.get(&path).await["role"], "Privileged");
    assert_eq!(
        domo.get("/v1/users?limit=500")
            .await
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

async fn bad_input_gets_domo_errors(b: Backend) {
    let s = TestServer::start(b).await;
    let domo = Domo::connect(&s).await;
    let u = domo.create_user("Hal", "hal@example.com", "Admin").await;
    let uid = u["id"].as_i64().unwrap();
    let g = domo
        .call(
            reqwest::Method::POST,
            "/v1/groups",
            Some(json!({"name": "Ops", "active": true})),
            200,
        )
        .await;
    let gid = g["id"].as_i64().unwrap();
    use reqwest::Method as M;
    let cases: Vec<(M, String, Option<Value>, u16, &str)> = vec![
        // Wrong types.
        (
            M::POST,
            "/v1/users".into(),
            Some(json!({"name": 5, "email": "x@example.com", "role": "Admin"})),
            400,
            "name must be a string",
        ),
        (
            M::POST,
            "/v1/users".into(),
            Some(
                json!({"name": "X", "email": "x@example.com", "role": "Admin", "employeeNumber": [1]}),
            ),
            400,
            "employeeNumber",
        ),
        (
            M::POST,
            "/v1/users".into(),
            Some(json!({"name": "X", "email": "not-an-email", "role": "Admin"})),
            400,
            "not an email",
        ),
        (
            M::POST,
            "/v1/users".into(),
            Some(json!({"name": "X", "role": "Admin"})),
            400,
            "email is required",
        ),
        (
            M::POST,
            "/v1/users".into(),
            Some(json!(["not", "an", "object"])),
            400,
            "JSON object",
        ),
        (
            M::PUT,
            format!("/v1/users/{uid}"),
            Some(json!({"name": null})),
            400,
            "name cannot be empty",
        ),
        (
            M::PUT,
            format!("/v1/users/{uid}"),
            Some(json!({"roleId": "x"})),
            400,
            "roleId",
        ),
        (
            M::POST,
            "/v1/groups".into(),
            Some(json!({"name": "Y", "active": "maybe"})),
            400,
            "active",
        ),
        (
            M::POST,
            "/v1/groups".into(),
            Some(json!({"active": true})),
            400,
            "name is required",
        ),
        (
            M::PUT,
            format!("/v1/groups/{gid}"),
            Some(json!({"name": ["Ops"]})),
            400,
            "name must be a string",
        ),
        // Paging.
        (M::GET, "/v1/users?limit=0".into(), None, 400, "limit"),
        (M::GET, "/v1/users?limit=501".into(), None, 400, "limit"),
        (
            M::GET,
            "/v1/users?limit=ten".into(),
            None,
            400,
            "limit must be an integer",
        ),
        (M::GET, "/v1/users?offset=-1".into(), None, 400, "offset"),
        (M::GET, "/v1/groups?limit=501".into(), None, 400, "limit"),
        (
            M::GET,
            format!("/v1/groups/{gid}/users?limit=0"),
            None,
            400,
            "limit",
        ),
        (
            M::POST,
            "/v1/users?sendInvite=maybe".into(),
            Some(json!({"name": "Z", "email": "z@example.com", "role": "Admin"})),
            400,
            "sendInvite",
        ),
        // Unknown and malformed ids.
        (
            M::GET,
            "/v1/users/12345".into(),
            None,
            404,
            "user 12345 not found",
        ),
        (
            M::PUT,
            "/v1/users/12345".into(),
            Some(json!({"title": "x"})),
            404,
            "not found",
        ),
        (M::DELETE, "/v1/users/12345".into(), None, 404, "not found"),
        (
            M::GET,
            "/v1/users/abc".into(),
            None,
            400,
            "positive integer",
        ),
        (M::GET, "/v1/users/-3".into(), None, 400, "positive integer"),
        (
            M::GET,
            "/v1/groups/12345".into(),
            None,
            404,
            "group 12345 not found",
        ),
        (M::DELETE, "/v1/groups/12345".into(), None, 404, "not found"),
        (
            M::GET,
            "/v1/groups/12345/users".into(),
            None,
            404,
            "group 12345 not found",
        ),
        (
            M::PUT,
            format!("/v1/groups/12345/users/{uid}"),
            Some(json!({})),
            404,
            "group 12345 not found",
        ),
        (
            M::PUT,
            format!("/v1/groups/{gid}/users/12345"),
            Some(json!({})),
            404,
            "user 12345 not found",
        ),
        (
            M::DELETE,
            format!("/v1/groups/{gid}/users/12345"),
            None,
            404,
            "user 12345 not found",
        ),
        // A group id where a user id belongs never nests the group.
        (
            M::PUT,
            format!("/v1/groups/{gid}/users/{gid}"),
            Some(json!({})),
            404,
            "not found",
        ),
        // No such route, wrong method: still Domo's shape.
        (M::GET, "/v1/nothing".into(), None, 404, ""),
        (M::PATCH, "/v1/users".into(), None, 405, ""),
    ];
    for (method, path, body, status, has) in cases {
        let e = domo.call(method.clone(), &path, body, status).await;
        let bare = path.split('?').next().unwrap();
        assert_domo_error(&e, status, bare, has);
    }

    // Malformed JSON: a 400 in Domo's shape.
    for (method, path) in [
        (M::POST, "/v1/users".to_string()),
        (M::PUT, format!("/v1/users/{uid}")),
        (M::POST, "/v1/groups".to_string()),
        (M::PUT, format!("/v1/groups/{gid}")),
    ] {
        let r = domo
            .req(method, &path)
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap();
        let e = json(r, 400).await;
        assert_domo_error(&e, 400, &path, "not valid JSON");
    }

    // A bad credential is a 401 first, whatever the body; in Domo's shape.
    let r = s
        .post("/v1/users")
        .header("Authorization", "bearer not-a-token")
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("www-authenticate"));
    let e = json(r, 401).await;
    assert_domo_error(&e, 401, "/v1/users", "");
    let r = s.get("/v1/users").send().await.unwrap();
    let e = json(r, 401).await;
    assert_domo_error(&e, 401, "/v1/users", "");
    // A read-only credential cannot write.
    s.credential(
        "default",
        kind_token(),
        "ro",
        "read-only-token-0123456789",
        "users:read",
    )
    .await;
    let r = s
        .post("/v1/users")
        .bearer_auth("read-only-token-0123456789")
        .json(&json!({"name": "R", "email": "r@example.com", "role": "Admin"}))
        .send()
        .await
        .unwrap();
    let e = json(r, 403).await;
    assert_domo_error(&e, 403, "/v1/users", "users:write");
    // Nothing of the refused writes was applied.
    let all = domo.get("/v1/users?limit=500").await;
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all[0]["name"], "Hal");
    assert_eq!(domo.get(&format!("/v1/groups/{gid}")).await["name"], "Ops");

    // The routes and their schemas are in the API description.
    let api = json(s.get("/openapi.json").send().await.unwrap(), 200).await;
    for (path, method) in [
        ("/v1/users", "post"),
        ("/v1/users", "get"),
        ("/v1/users/{id}", "put"),
        ("/v1/groups/{id}/users/{user_id}", "put"),
        ("/v1/groups/{id}/users", "get"),
    ] {
        assert!(api["paths"][path][method].is_object(), "{path} {method}");
    }
    let schemas = &api["components"]["schemas"];
    assert!(schemas["DomoUser"]["properties"]["employeeNumber"].is_object());
    assert!(schemas["DomoGroup"]["properties"]["memberCount"].is_object());
    assert!(schemas["DomoErrorBody"]["properties"]["toe"].is_object());
    assert!(schemas["DomoUserInput"]["properties"]["roleId"].is_object());
}
