//! The Sumo Logic dialect over real HTTP on SQLite and PostgreSQL: users and roles as the
//! Terraform provider and sumologic-sdk's generic calls make them, one identity shared with
//! SCIM, Logto and Domo, child organizations with their own keys and credit usage, and
//! Sumo's error body for every refusal.

use crate::common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    users_crud_paging_sorting_and_email_filter,
    user_actions_email_change_reset_unlock_mfa_and_delete,
    roles_crud_and_assignment_in_the_one_roles_model,
    a_sumo_user_is_the_scim_and_logto_user,
    child_organizations_have_their_own_keys_and_users,
    usage_comes_from_loaded_records,
    bad_input_gets_sumo_errors,
    deployments_and_organizations_as_sumo_types_them,
);

const ID: &str = "sumo_admin";
const KEY: &str = "sumo-secret-0123456789";

/// A Sumo client: HTTP Basic accessId:accessKey of an OAuth client.
struct Sumo<'a> {
    s: &'a TestServer,
    id: String,
    key: String,
}

impl<'a> Sumo<'a> {
    async fn connect(s: &'a TestServer) -> Sumo<'a> {
        s.credential("default", kind_client(), ID, KEY, "all").await;
        Sumo::with(s, ID, KEY)
    }

    fn with(s: &'a TestServer, id: &str, key: &str) -> Sumo<'a> {
        Sumo {
            s,
            id: id.into(),
            key: key.into(),
        }
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.s
            .http
            .request(method, self.s.url(&format!("/api/v1{path}")))
            .basic_auth(&self.id, Some(&self.key))
            .header("Accept", "application/json")
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
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
        self.call(Method::GET, path, None, 200).await
    }

    async fn user(&self, first: &str, last: &str, email: &str, roles: &[&str]) -> Value {
        self.call(
            Method::POST,
            "/users",
            Some(json!({"firstName": first, "lastName": last, "email": email, "roleIds": roles})),
            200,
        )
        .await
    }
}

/// Assert a Sumo error body: `{id: "XXXXX-XXXXX-XXXXX", errors: [{code, message}]}`.
fn sumo_error(body: &Value, code: &str) {
    let id = body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {body}"));
    let groups: Vec<&str> = id.split('-').collect();
    assert_eq!(groups.len(), 3, "{id}");
    assert!(
        groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_alphanumeric())),
        "{id}"
    );
    assert_eq!(body["errors"][0]["code"], code, "{body}");
    assert!(body["errors"][0]["message"].as_str().is_some(), "{body}");
}

fn scim(s: &TestServer, method: Method, path: &str) -> reqwest::RequestBuilder {
    s.http
        .request(method, s.url(&format!("/scim/v2{path}")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", SCIM_CT)
}

async fn set_flags(s: &TestServer, user_hex: &str, locked: bool, mfa: bool) {
    use diesel::prelude::*;
    use muster::store::schema::users;
    let store = s.store.clone();
    let id = i64::from_str_radix(user_hex, 16).unwrap();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        diesel::update(users::table.filter(users::id.eq(id)))
            .set((users::is_locked.eq(locked), users::mfa_enabled.eq(mfa)))
            .execute(conn.db())
            .unwrap();
    })
    .await
    .unwrap();
}

async fn users_crud_paging_sorting_and_email_filter(b: Backend) {
    let s = TestServer::start(b).await;
    let sumo = Sumo::connect(&s).await;
    let firsts = ["Carol", "alice", "Bob", "dave", "Eve"];
    let mut ids = Vec::new();
    for (i, f) in firsts.iter().enumerate() {
        let u = sumo
            .user(
                f,
                &format!("Last{}", 5 - i),
                &format!("{f}@Example.com"),
                &[],
            )
            .await;
        assert_eq!(u["firstName"], *f);
        assert_eq!(u["email"], format!("{f}@Example.com"));
        assert_eq!(u["isActive"], true);
        assert_eq!(u["isLocked"], false);
        assert_eq!(u["isMfaEnabled"], false);
        assert_eq!(u["roleIds"], json!([]));
        assert_eq!(u["lastLoginTimestamp"], Value::Null);
        let id = u["id"].as_str().unwrap().to_string();
        assert_eq!(id.len(), 16);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        assert!(u["createdAt"].as_str().unwrap().ends_with('Z'), "{u}");
        assert_eq!(u["createdBy"], ID);
        ids.push(id);
    }
    let got = sumo.get(&format!("/users/{}", ids[0])).await;
    assert_eq!(got["lastName"], "Last5");

    // Paging by `next` to the end: every user once, `next` null on the last page.
    for sort in ["", "firstName", "lastName", "email"] {
        let mut seen: Vec<String> = Vec::new();
        let mut path = format!("/users?limit=2&sortBy={sort}");
        let mut pages = 0;
        loop {
            let page = sumo.get(&path).await;
            pages += 1;
            let data = page["data"].as_array().unwrap();
            assert!(data.len() <= 2);
            seen.extend(
                data.iter()
                    .map(|u| u["firstName"].as_str().unwrap().to_string()),
            );
            match page["next"].as_str() {
                Some(t) => path = format!("/users?limit=2&sortBy={sort}&token={t}"),
                None => break,
            }
        }
        assert_eq!(pages, 3, "{sort}");
        let mut sorted = seen.clone();
        match sort {
            "firstName" => sorted.sort(),
            "email" => sorted.sort_by_key(|f| f.to_lowercase()),
            "lastName" => sorted.sort_by_key(|f| {
                let i = firsts.iter().position(|x| x == f).unwrap();
                5 - i
            }),
            _ => {}
        }
        assert_eq!(seen, sorted, "sortBy={sort}");
        seen.sort();
        let mut all: Vec<String> = firsts.iter().map(|f| f.to_string()).collect();
        all.sort();
        assert_eq!(seen, all, "sortBy={sort}: each user once");
    }

    // The email filter is exact and case-insensitive, and returns a list.
    let found = sumo.get("/users?email=BOB@example.COM").await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    assert_eq!(found["data"][0]["firstName"], "Bob");
    assert_eq!(found["next"], Value::Null);
    let none = sumo.get("/users?email=nobody@example.com").await;
    assert_eq!(none["data"], json!([]));

    // PUT: names and isActive; email ignored, as Sumo does.
    let bob = &ids[2];
    let put = sumo
        .call(
            Method::PUT,
            &format!("/users/{bob}"),
            Some(
                json!({"firstName": "Robert", "lastName": "Builder", "isActive": false,
                        "roleIds": [], "email": "other@example.com"}),
            ),
            200,
        )
        .await;
    assert_eq!(put["firstName"], "Robert");
    assert_eq!(put["email"], "Bob@Example.com");
    assert_eq!(put["isActive"], false);
    // Terraform's PUT (id and email blanked) is accepted too.
    let put = sumo
        .call(
            Method::PUT,
            &format!("/users/{bob}"),
            Some(
                json!({"id": "", "email": "", "firstName": "Robert", "lastName": "Builder",
                        "isActive": true, "roleIds": []}),
            ),
            200,
        )
        .await;
    assert_eq!(put["isActive"], true);

    // A duplicate email is a 409.
    let r = sumo
        .call(
            Method::POST,
            "/users",
            Some(json!({"firstName": "X", "lastName": "Y", "email": "alice@example.com", "roleIds": []})),
            409,
        )
        .await;
    sumo_error(&r, "user_email_already_exists");

    // Delete: 204, then 404.
    sumo.call(Method::DELETE, &format!("/users/{}", ids[4]), None, 204)
        .await;
    let r = sumo
        .call(Method::GET, &format!("/users/{}", ids[4]), None, 404)
        .await;
    sumo_error(&r, "user_not_found");
}

async fn user_actions_email_change_reset_unlock_mfa_and_delete(b: Backend) {
    let s = TestServer::start(b).await;
    let sumo = Sumo::connect(&s).await;
    let u = sumo.user("Ann", "Lee", "ann@example.com", &[]).await;
    let id = u["id"].as_str().unwrap().to_string();
    let other = sumo.user("Ben", "Ko", "ben@example.com", &[]).await;
    let other_id = other["id"].as_str().unwrap().to_string();

    // email/requestChange: pending until an operator confirms it.
    sumo.call(
        Method::POST,
        &format!("/users/{id}/email/requestChange"),
        Some(json!({"email": "ann.lee@example.com"})),
        204,
    )
    .await;
    assert_eq!(
        sumo.get(&format!("/users/{id}")).await["email"],
        "ann@example.com"
    );
    let r = sumo
        .call(
            Method::POST,
            &format!("/users/{id}/email/requestChange"),
            Some(json!({"email": "ben@example.com"})),
            409,
        )
        .await;
    sumo_error(&r, "user_email_already_exists");
    let confirmed = s
        .post(&format!("/admin/v1/users/{id}/email-change"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let confirmed = json(confirmed, 200).await;
    assert_eq!(confirmed["email"], "ann.lee@example.com");
    assert_eq!(
        sumo.get(&format!("/users/{id}")).await["email"],
        "ann.lee@example.com"
    );
    // Applied once: nothing is pending any more.
    let again = s
        .post(&format!("/admin/v1/users/{id}/email-change"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 404);

    // password/reset and resendWelcomeEmail are recorded; nothing else changes.
    sumo.call(
        Method::POST,
        &format!("/users/{id}/password/reset"),
        None,
        204,
    )
    .await;
    sumo.call(
        Method::POST,
        &format!("/users/{id}/resendWelcomeEmail"),
        None,
        204,
    )
    .await;
    let logs = s
        .get(&format!("/api/logs?userId={id}&page_size=100"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let logs = json(logs, 200).await;
    let keys: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap())
        .collect();
    for k in [
        "Sumo.User.Create",
        "Sumo.User.Email.RequestChange",
        "Admin.User.Email.Confirm",
        "Sumo.User.Password.Reset",
        "Sumo.User.Invite",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }

    // unlock clears isLocked.
    set_flags(&s, &id, true, true).await;
    let locked = sumo.get(&format!("/users/{id}")).await;
    assert_eq!(
        (locked["isLocked"].clone(), locked["isMfaEnabled"].clone()),
        (json!(true), json!(true))
    );
    sumo.call(Method::POST, &format!("/users/{id}/unlock"), None, 204)
        .await;
    assert_eq!(sumo.get(&format!("/users/{id}")).await["isLocked"], false);

    // mfa/disable checks the user's own email and password.
    let r = s
        .http
        .patch(s.url(&format!("/scim/v2/Users/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", SCIM_CT)
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "password", "value": "s3cret-Pass"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = sumo
        .call(
            Method::PUT,
            &format!("/users/{id}/mfa/disable"),
            Some(json!({"email": "ann.lee@example.com", "password": "wrong"})),
            400,
        )
        .await;
    sumo_error(&r, "invalid_credentials");
    assert_eq!(
        sumo.get(&format!("/users/{id}")).await["isMfaEnabled"],
        true
    );
    sumo.call(
        Method::PUT,
        &format!("/users/{id}/mfa/disable"),
        Some(json!({"email": "ANN.LEE@example.com", "password": "s3cret-Pass"})),
        204,
    )
    .await;
    assert_eq!(
        sumo.get(&format!("/users/{id}")).await["isMfaEnabled"],
        false
    );

    // DELETE with transferTo: validated, recorded.
    let r = sumo
        .call(
            Method::DELETE,
            &format!("/users/{id}?transferTo={id}"),
            None,
            400,
        )
        .await;
    sumo_error(&r, "invalid_parameter");
    let r = sumo
        .call(
            Method::DELETE,
            &format!("/users/{id}?transferTo={other_id}&deleteContent=true"),
            None,
            400,
        )
        .await;
    sumo_error(&r, "invalid_parameter");
    sumo.call(
        Method::DELETE,
        &format!("/users/{id}?transferTo={other_id}&deleteContent=false"),
        None,
        204,
    )
    .await;
    let logs = s
        .get(&format!("/api/logs?userId={id}&page_size=100"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let logs = json(logs, 200).await;
    let deleted = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["key"] == "Sumo.User.Delete")
        .expect("delete entry");
    assert_eq!(deleted["payload"]["transferTo"], other_id.as_str());
    assert_eq!(deleted["payload"]["deleteContent"], false);
}

async fn roles_crud_and_assignment_in_the_one_roles_model(b: Backend) {
    let s = TestServer::start(b).await;
    let sumo = Sumo::connect(&s).await;
    let u = sumo.user("Rita", "Role", "rita@example.com", &[]).await;
    let uid = u["id"].as_str().unwrap().to_string();
    let role = sumo
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "Analyst", "description": "reads dashboards",
                        "filterPredicate": "_sourceCategory=prod", "users": [uid],
                        "capabilities": ["viewCollectors", "viewCollectors"],
                        "autofillDependencies": true})),
            200,
        )
        .await;
    let rid = role["id"].as_str().unwrap().to_string();
    assert_eq!(role["name"], "Analyst");
    assert_eq!(role["users"], json!([uid]));
    assert_eq!(role["capabilities"], json!(["viewCollectors"]));
    assert_eq!(role["systemDefined"], false);
    assert_eq!(role["createdBy"], ID);
    assert_eq!(
        sumo.get(&format!("/users/{uid}")).await["roleIds"],
        json!([rid])
    );
    // SCIM roles and Domo's role read the same role.
    let scim_user = json(
        scim(&s, Method::GET, &format!("/Users/{uid}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(scim_user["roles"][0]["value"], "Analyst");
    let domo_id = i64::from_str_radix(&uid, 16).unwrap();
    let domo = s
        .get(&format!("/v1/users/{domo_id}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let domo = json(domo, 200).await;
    assert_eq!(domo["role"], "Analyst");
    assert_eq!(domo["roleId"], i64::from_str_radix(&rid, 16).unwrap());

    // A duplicate name is a 409; an unknown user a 400.
    let r = sumo
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "analyst"})),
            409,
        )
        .await;
    sumo_error(&r, "role_name_already_exists");
    let r = sumo
        .call(
            Method::POST,
            "/roles",
            Some(json!({"name": "Other", "users": ["00000000000000AB"]})),
            400,
        )
        .await;
    sumo_error(&r, "user_not_found");

    // A user created with the role; list by name, paged.
    let v = sumo.user("Vic", "Two", "vic@example.com", &[&rid]).await;
    let vid = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["roleIds"], json!([rid]));
    for n in ["Zeta", "Beta", "Gamma"] {
        sumo.call(Method::POST, "/roles", Some(json!({"name": n})), 200)
            .await;
    }
    let mut names = Vec::new();
    let mut path = "/roles?limit=3&sortBy=name".to_string();
    loop {
        let page = sumo.get(&path).await;
        names.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string()),
        );
        match page["next"].as_str() {
            Some(t) => path = format!("/roles?limit=3&sortBy=name&token={t}"),
            None => break,
        }
    }
    assert_eq!(names, ["Analyst", "Beta", "Gamma", "Zeta"]);
    let byname = sumo.get("/roles?name=gamma").await;
    assert_eq!(byname["data"].as_array().unwrap().len(), 1);

    // Unassign and assign.
    sumo.call(
        Method::DELETE,
        &format!("/roles/{rid}/users/{uid}"),
        None,
        204,
    )
    .await;
    assert_eq!(
        sumo.get(&format!("/users/{uid}")).await["roleIds"],
        json!([])
    );
    let r = sumo
        .call(
            Method::DELETE,
            &format!("/roles/{rid}/users/{uid}"),
            None,
            404,
        )
        .await;
    sumo_error(&r, "role_assignment_not_found");
    let assigned = sumo
        .call(Method::PUT, &format!("/roles/{rid}/users/{uid}"), None, 200)
        .await;
    let mut holders: Vec<String> = assigned["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    holders.sort();
    let mut want = vec![uid.clone(), vid.clone()];
    want.sort();
    assert_eq!(holders, want);

    // PUT replaces fields and holders; a rename shows in SCIM.
    let put = sumo
        .call(
            Method::PUT,
            &format!("/roles/{rid}"),
            Some(
                json!({"name": "Senior Analyst", "description": "", "filterPredicate": "",
                        "users": [vid], "capabilities": ["manageUsersAndRoles"]}),
            ),
            200,
        )
        .await;
    assert_eq!(put["users"], json!([vid]));
    assert_eq!(put["description"], "");
    assert_eq!(
        sumo.get(&format!("/users/{uid}")).await["roleIds"],
        json!([])
    );
    let scim_v = json(
        scim(&s, Method::GET, &format!("/Users/{vid}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(scim_v["roles"][0]["value"], "Senior Analyst");
    // A PUT missing a required field is a 400.
    let r = sumo
        .call(
            Method::PUT,
            &format!("/roles/{rid}"),
            Some(json!({"name": "x"})),
            400,
        )
        .await;
    sumo_error(&r, "invalid_field");

    // Users' PUT replaces their roles by id.
    let beta = sumo.get("/roles?name=Beta").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let put = sumo
        .call(
            Method::PUT,
            &format!("/users/{vid}"),
            Some(json!({"firstName": "Vic", "lastName": "Two", "roleIds": [beta]})),
            200,
        )
        .await;
    assert_eq!(put["roleIds"], json!([beta]));

    // Delete: 204; holders lose it; then 404.
    sumo.call(Method::DELETE, &format!("/roles/{beta}"), None, 204)
        .await;
    assert_eq!(
        sumo.get(&format!("/users/{vid}")).await["roleIds"],
        json!([])
    );
    let r = sumo
        .call(Method::GET, &format!("/roles/{beta}"), None, 404)
        .await;
    sumo_error(&r, "role_not_found");
}

async fn a_sumo_user_is_the_scim_and_logto_user(b: Backend) {
    let s = TestServer::start(b).await;
    let sumo = Sumo::connect(&s).await;
    let role = sumo
        .call(Method::POST, "/roles", Some(json!({"name": "Viewer"})), 200)
        .await;
    let rid = role["id"].as_str().unwrap();
    let u = sumo.user("Sam", "Cross", "sam@example.com", &[rid]).await;
    let uid = u["id"].as_str().unwrap().to_string();

    // Found by a SCIM filter on userName (the email) with the role in `roles`.
    let found = json(
        scim(&s, Method::GET, "/Users")
            .query(&[("filter", "userName eq \"SAM@example.com\"")])
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], uid.as_str());
    assert_eq!(found["Resources"][0]["roles"][0]["value"], "Viewer");
    assert_eq!(found["Resources"][0]["name"]["givenName"], "Sam");

    // Deactivated over Sumo: SCIM active false, Logto isSuspended true.
    sumo.call(
        Method::PUT,
        &format!("/users/{uid}"),
        Some(json!({"firstName": "Sam", "lastName": "Cross", "isActive": false})),
        200,
    )
    .await;
    let su = json(
        scim(&s, Method::GET, &format!("/Users/{uid}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(su["active"], false);
    assert_eq!(
        su["roles"][0]["value"], "Viewer",
        "roleIds absent: roles kept"
    );
    let lu = json(
        s.get(&format!("/api/users/{uid}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(lu["isSuspended"], true);

    // Renamed and reactivated over SCIM: Sumo reads the new names and isActive.
    let r = scim(&s, Method::PATCH, &format!("/Users/{uid}"))
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "value": {"name": {"givenName": "Samuel",
                   "familyName": "Crossing"}, "active": true}}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let back = sumo.get(&format!("/users/{uid}")).await;
    assert_eq!(back["firstName"], "Samuel");
    assert_eq!(back["lastName"], "Crossing");
    assert_eq!(back["isActive"], true);
    assert_eq!(back["roleIds"], json!([rid]));

    // A SCIM-made user is listed by Sumo with its email.
    json(
        scim(&s, Method::POST, "/Users")
            .body(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": "scimmy", "name": {"givenName": "Sc", "familyName": "Im"},
                       "emails": [{"value": "scimmy@example.com", "primary": true}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let found = sumo.get("/users?email=scimmy@example.com").await;
    assert_eq!(found["data"][0]["firstName"], "Sc");
}

async fn child_organizations_have_their_own_keys_and_users(b: Backend) {
    let s = TestServer::start(b).await;
    let sumo = Sumo::connect(&s).await;
    let parent_user = sumo.user("Pat", "Parent", "pat@example.com", &[]).await;
    let parent_uid = parent_user["id"].as_str().unwrap().to_string();

    let child = sumo
        .call(
            Method::POST,
            "/organizations",
            Some(
                json!({"organizationName": "Child Co (EU)", "email": "admin@child.example",
                        "firstName": "Chi", "lastName": "Ld", "deploymentId": "eu",
                        "trialPlanPeriod": 30,
                        "baselines": {"continuousIngest": 100, "metrics": 50,
                                      "featureActivation": {"cse": true}}}),
            ),
            200,
        )
        .await;
    let cid = child["orgId"].as_str().unwrap().to_string();
    assert!(cid.starts_with("eu-") && cid.len() == 19, "{cid}");
    assert_eq!(child["subscription"]["plan"]["planName"], "Trial");
    assert_eq!(child["subscription"]["plan"]["daysLeft"], 30);
    assert_eq!(child["subscription"]["credits"], 150);
    assert_eq!(
        child["subscription"]["baselines"]["featureActivation"]["cse"],
        true
    );
    // The org id round-trips.
    let got = sumo.get(&format!("/organizations/{cid}")).await;
    assert_eq!(got["organizationName"], "Child Co (EU)");
    assert_eq!(got["deploymentId"], "eu");
    let list = sumo.get("/organizations").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["next"], Value::Null);

    // A key of the child: works with Basic on the child's users, nowhere else.
    let key = sumo
        .call(
            Method::POST,
            &format!("/organizations/{cid}/accessKey"),
            Some(json!({"label": "child admin", "corsHeaders": []})),
            200,
        )
        .await;
    assert_eq!(key["label"], "child admin");
    assert_eq!(key["disabled"], false);
    let child_sumo = Sumo::with(
        &s,
        key["id"].as_str().unwrap(),
        key["key"].as_str().unwrap(),
    );
    let cu = child_sumo
        .user("Cy", "Child", "cy@child.example", &[])
        .await;
    let cuid = cu["id"].as_str().unwrap().to_string();
    let page = child_sumo.get("/users").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    // The parent's credential does not see the child's users, nor the child the parent's.
    let r = sumo
        .call(Method::GET, &format!("/users/{cuid}"), None, 404)
        .await;
    sumo_error(&r, "user_not_found");
    let r = child_sumo
        .call(Method::GET, &format!("/users/{parent_uid}"), None, 404)
        .await;
    sumo_error(&r, "user_not_found");
    let parent_page = sumo.get("/users").await;
    assert!(parent_page["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["id"] != cuid.as_str()));
    // The child key has no orgs:admin: it cannot reach organizations at all.
    let r = child_sumo
        .call(Method::GET, "/organizations", None, 403)
        .await;
    sumo_error(&r, "forbidden");
    // A key asking for a scope the caller lacks, or an unknown scope, is refused.
    let r = sumo
        .call(
            Method::POST,
            &format!("/organizations/{cid}/accessKey"),
            Some(json!({"label": "x", "scopes": ["viewCollectors"]})),
            400,
        )
        .await;
    sumo_error(&r, "invalid_scope");

    // PUT baselines: the subscription follows.
    let put = sumo
        .call(
            Method::PUT,
            &format!("/organizations/{cid}"),
            Some(json!({"continuousIngest": 200, "totalCreditsAllocated": 500})),
            200,
        )
        .await;
    assert_eq!(put["subscription"]["credits"], 500);
    assert_eq!(put["subscription"]["baselines"]["continuousIngest"], 200);
    let prov = sumo
        .get(&format!("/organizations/provisioning/{cid}"))
        .await;
    assert_eq!(
        prov["cse"]["isProvisioned"], false,
        "featureActivation replaced"
    );
    let url = sumo
        .get(&format!("/organizations/{cid}/subdomainLoginUrl"))
        .await;
    assert!(url["subdomainLoginUrl"].as_str().unwrap().contains(&cid));
    let deps = sumo.get("/deployments").await;
    assert!(deps
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["deploymentId"] == "us2"));
    let parent = sumo.get("/organizations/parentOrg").await;
    assert_eq!(parent["isEligibleForTrialOrgs"], true);

    // A child that is another tenant's, or the parent itself, is not manageable.
    s.org("elsewhere", None).await;
    s.org("elsewhere-kid", Some("elsewhere")).await;
    let r = sumo
        .call(Method::GET, "/organizations/elsewhere-kid", None, 404)
        .await;
    sumo_error(&r, "org_not_found");
    let r = sumo
        .call(Method::GET, "/organizations/default", None, 404)
        .await;
    sumo_error(&r, "org_not_found");

    // Delink refuses an active child; deactivate revokes its keys and returns the document.
    let r = sumo
        .call(
            Method::PUT,
            "/organizations/delink",
            Some(json!({"orgIds": [cid]})),
            400,
        )
        .await;
    sumo_error(&r, "invalid_field");
    let gone = sumo
        .call(Method::DELETE, &format!("/organizations/{cid}"), None, 200)
        .await;
    assert_eq!(gone["orgId"], cid.as_str());
    assert_eq!(gone["subscription"]["status"], "Canceled");
    let r = child_sumo.call(Method::GET, "/users", None, 401).await;
    sumo_error(&r, "unauthorized");
    assert_eq!(sumo.get("/organizations").await["data"], json!([]));
    let inactive = sumo.get("/organizations?status=Inactive").await;
    assert_eq!(inactive["data"][0]["orgId"], cid.as_str());
    assert_eq!(
        sumo.get("/organizations?status=All").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let msg = sumo
        .call(
            Method::PUT,
            "/organizations/delink",
            Some(json!({"orgIds": [cid]})),
            200,
        )
        .await;
    assert!(msg.as_str().unwrap().contains('1'));
    assert_eq!(
        sumo.get("/organizations?status=All").await["data"],
        json!([])
    );
    let r = sumo
        .call(Method::GET, &format!("/organizations/{cid}"), None, 404)
        .await;
    sumo_error(&r, "org_not_found");
}

async fn usage_comes_from_loaded_records(b: Backend) {
    let s = TestServer::start(b).await;
    let sumo = Sumo::connect(&s).await;
    let mut kids = Vec::new();
    for name in ["Alpha", "Beta"] {
        let c = sumo
            .call(
                Method::POST,
                "/organizations",
                Some(
                    json!({"organizationName": name, "email": "a@b.example", "firstName": "A",
                            "deploymentId": "us2",
                            "baselines": {"continuousIngest": 40000, "metrics": 60000}}),
                ),
                200,
            )
            .await;
        assert_eq!(c["subscription"]["plan"]["planName"], "Enterprise");
        assert_eq!(c["subscription"]["credits"], 100000);
        kids.push(c["orgId"].as_str().unwrap().to_string());
    }
    let today = chrono::Utc::now().date_naive();
    let day = |d: i64| {
        (today - chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let load = |org: String, body: Value| {
        let s = &s;
        async move {
            let r = s
                .post(&format!("/admin/v1/organizations/{org}/credit-usage"))
                .bearer_auth(ADMIN_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            json(r, 201).await
        }
    };
    load(
        kids[0].clone(),
        json!([
            {"date": day(0), "productVariable": "continuousIngest", "creditsUsed": 1000.0, "unit": "GB"},
            {"date": day(0), "productVariable": "metrics", "creditsUsed": 3000.0, "unit": "DPM"},
            {"date": day(1), "productVariable": "continuousIngest", "creditsUsed": 1000.0, "unit": "GB"},
        ]),
    )
    .await;
    load(
        "default".into(),
        json!([{"date": day(0), "productVariable": "continuousIngest", "creditsUsed": 7.5, "unit": "GB"}]),
    )
    .await;
    sumo.user("Active", "One", "one@example.com", &[]).await;

    let own = sumo.get("/organizations/usages").await;
    assert_eq!(own["totalCreditsUsed"], 7.5);
    assert_eq!(own["creditsAllocated"], 200000.0);
    assert_eq!(own["activeUsers"], 1);

    // Within the subscription (it began today): yesterday's record is not counted.
    let detailed = sumo
        .get(&format!("/organizations/usages/{}", kids[0]))
        .await;
    assert_eq!(detailed["totalCapacity"], 100000.0);
    assert_eq!(detailed["totalCreditsUsed"], 4000.0);
    let usages = detailed["usages"].as_array().unwrap();
    let ci = usages
        .iter()
        .find(|u| u["productVariable"] == "continuousIngest")
        .unwrap();
    assert_eq!(ci["creditsUsed"], 1000.0);
    assert_eq!(ci["utilization"], 2.5);
    assert_eq!(ci["unit"], "GB");

    // The array shape, paged.
    let first = sumo
        .call(
            Method::POST,
            "/organizations/usages?limit=1",
            Some(json!([kids[0], kids[1]])),
            200,
        )
        .await;
    assert_eq!(first["data"][0]["orgId"], kids[0].as_str());
    assert_eq!(first["data"][0]["totalCreditsUsed"], 4000.0);
    let token = first["next"].as_str().unwrap();
    let second = sumo
        .call(
            Method::POST,
            &format!("/organizations/usages?limit=1&token={token}"),
            Some(json!([kids[0], kids[1]])),
            200,
        )
        .await;
    assert_eq!(second["data"][0]["orgId"], kids[1].as_str());
    assert_eq!(second["data"][0]["totalCreditsUsed"], 0.0);
    assert_eq!(second["next"], Value::Null);
    // The token is bound to its body.
    let r = sumo
        .call(
            Method::POST,
            &format!("/organizations/usages?limit=1&token={token}"),
            Some(json!([kids[1]])),
            400,
        )
        .await;
    sumo_error(&r, "invalid_token");

    // The date-range shape: every child, with its status.
    let range = sumo
        .call(
            Method::POST,
            "/organizations/usages",
            Some(json!({"startDate": day(0), "endDate": day(0)})),
            200,
        )
        .await;
    let a = range["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["orgId"] == kids[0].as_str())
        .unwrap();
    assert_eq!(a["status"], "Active");
    assert_eq!(a["orgName"], "Alpha");
    assert_eq!(a["usages"]["totalCreditsUsed"], 4000.0);
    assert_eq!(a["usages"]["usagePercentage"], 4.0);
    // Yesterday's 1000 against today's 4000: +300%.
    assert_eq!(a["usages"]["usagePercentChange"], 300.0);
    let allocated = sumo.get("/organizations/allocatedCredits").await;
    assert_eq!(allocated["creditsAllocated"], 200000.0);
}

async fn bad_input_gets_sumo_errors(b: Backend) {
    let s = TestServer::start(b).await;
    let sumo = Sumo::connect(&s).await;
    let u = sumo.user("Bad", "Input", "bad@example.com", &[]).await;
    let uid = u["id"].as_str().unwrap().to_string();

    // Wrong key: 401 in Sumo's shape.
    let wrong = Sumo::with(&s, ID, "not-the-key");
    let r = wrong.call(Method::GET, "/users", None, 401).await;
    sumo_error(&r, "unauthorized");
    let r = s.get("/api/v1/users").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    sumo_error(&r.json::<Value>().await.unwrap(), "unauthorized");
    // A bad credential is a 401 whatever the body.
    let r = wrong
        .req(Method::POST, "/users")
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // A credential without the scope: 403.
    s.credential(
        "default",
        kind_client(),
        "reader",
        "reader-secret-0123456789",
        "users:read",
    )
    .await;
    let reader = Sumo::with(&s, "reader", "reader-secret-0123456789");
    let r = reader
        .call(
            Method::POST,
            "/users",
            Some(json!({"firstName": "a", "lastName": "b", "email": "c@d.e", "roleIds": []})),
            403,
        )
        .await;
    sumo_error(&r, "forbidden");
    let r = reader.call(Method::GET, "/organizations", None, 403).await;
    sumo_error(&r, "forbidden");

    // Unknown role id, malformed JSON, wrong types, missing fields.
    let r = sumo
        .call(
            Method::POST,
            "/users",
            Some(
                json!({"firstName": "a", "lastName": "b", "email": "new@example.com",
                        "roleIds": ["00000000000000AA"]}),
            ),
            400,
        )
        .await;
    sumo_error(&r, "role_not_found");
    let r = sumo
        .req(Method::POST, "/users")
        .header("content-type", "application/json")
        .body("{\"firstName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    sumo_error(&r.json::<Value>().await.unwrap(), "invalid_json");
    let r = sumo
        .call(
            Method::POST,
            "/users",
            Some(json!({"firstName": 5, "lastName": "b", "email": "x@example.com", "roleIds": []})),
            400,
        )
        .await;
    sumo_error(&r, "invalid_json");
    let r = sumo
        .call(
            Method::POST,
            "/users",
            Some(json!({"firstName": "a", "email": "x@example.com", "roleIds": []})),
            400,
        )
        .await;
    sumo_error(&r, "invalid_field");
    let r = sumo
        .call(
            Method::POST,
            "/users",
            Some(
                json!({"firstName": "", "lastName": "b", "email": "x@example.com", "roleIds": []}),
            ),
            400,
        )
        .await;
    sumo_error(&r, "invalid_field");
    let r = sumo
        .call(
            Method::POST,
            "/users",
            Some(
                json!({"firstName": "a", "lastName": "b", "email": "not-an-email", "roleIds": []}),
            ),
            400,
        )
        .await;
    sumo_error(&r, "invalid_field");
    let r = sumo
        .req(Method::POST, "/users")
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    sumo_error(&r.json::<Value>().await.unwrap(), "contenttype.invalid");

    // Paging values and tokens.
    for q in [
        "limit=0",
        "limit=1001",
        "limit=abc",
        "sortBy=age",
        "token=garbage",
    ] {
        let r = sumo
            .call(Method::GET, &format!("/users?{q}"), None, 400)
            .await;
        let code = if q.starts_with("limit") {
            "invalid_limit"
        } else if q.starts_with("token") {
            "invalid_token"
        } else {
            "invalid_parameter"
        };
        sumo_error(&r, code);
    }
    sumo.user("Other", "User", "other@example.com", &[]).await;
    let page = sumo.get("/users?limit=1").await;
    let token = page["next"].as_str().unwrap().to_string();
    // Tampered: one character of the signature changed.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let r = sumo
        .call(
            Method::GET,
            &format!("/users?limit=1&token={tampered}"),
            None,
            400,
        )
        .await;
    sumo_error(&r, "invalid_token");
    // A token of another query (another sort) is refused.
    let r = sumo
        .call(
            Method::GET,
            &format!("/users?limit=1&sortBy=email&token={token}"),
            None,
            400,
        )
        .await;
    sumo_error(&r, "invalid_token");
    let r = sumo.call(Method::GET, "/roles?limit=0", None, 400).await;
    sumo_error(&r, "invalid_limit");
    let r = sumo
        .call(Method::GET, "/organizations?status=Gone", None, 400)
        .await;
    sumo_error(&r, "invalid_parameter");

    // Not found, in every form of id.
    for id in ["nothex", "0000000000000000", "7FFFFFFFFFFFFFFF"] {
        let r = sumo
            .call(Method::GET, &format!("/users/{id}"), None, 404)
            .await;
        sumo_error(&r, "user_not_found");
    }
    let r = sumo.call(Method::GET, "/roles/XYZ", None, 404).await;
    sumo_error(&r, "role_not_found");
    let r = sumo.call(Method::GET, "/nowhere", None, 404).await;
    sumo_error(&r, "notfound");
    let r = sumo
        .call(Method::PATCH, &format!("/users/{uid}"), None, 405)
        .await;
    sumo_error(&r, "method.unsupported");

    // Bad organizations input.
    let good = json!({"organizationName": "Ok", "email": "a@b.example", "firstName": "A",
                      "deploymentId": "us2", "trialPlanPeriod": 10});
    for (patch, code) in [
        (
            json!({"baselines": {"continuousIngest": -1}}),
            "invalid_baselines",
        ),
        (
            json!({"baselines": {"metrics": 5000001}}),
            "invalid_baselines",
        ),
        (
            json!({"trialPlanPeriod": null, "baselines": {"continuousIngest": 10}}),
            "invalid_baselines",
        ),
        (
            json!({"baselines": {"continuousIngest": "10"}}),
            "invalid_json",
        ),
        (json!({"organizationName": "bad/name"}), "invalid_field"),
        (json!({"deploymentId": "mars"}), "invalid_field"),
        (json!({"trialPlanPeriod": 61}), "invalid_field"),
    ] {
        let mut body = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        let r = sumo
            .call(Method::POST, "/organizations", Some(body.clone()), 400)
            .await;
        sumo_error(&r, code);
    }
    let r = sumo
        .call(Method::POST, "/organizations/usages", Some(json!("x")), 400)
        .await;
    sumo_error(&r, "invalid_json");
    let r = sumo
        .call(
            Method::POST,
            "/organizations/usages",
            Some(json!({"startDate": "yesterday"})),
            400,
        )
        .await;
    sumo_error(&r, "invalid_field");
    let r = sumo
        .call(
            Method::POST,
            "/organizations/usages",
            Some(json!(["no-such-org"])),
            404,
        )
        .await;
    sumo_error(&r, "org_not_found");
}

/// As Sumo Logic's OpenAPI document types them (its generated Go SDK reads these keys): a
/// deployment's `apiURL` and `serviceURL`; an organization's `lastName`, a string, left out
/// when there is none (create, get and list).
async fn deployments_and_organizations_as_sumo_types_them(b: Backend) {
    let s = TestServer::start(b).await;
    let sumo = Sumo::connect(&s).await;
    let deps = sumo.get("/deployments").await;
    let us2 = deps
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deploymentId"] == "us2")
        .unwrap()
        .clone();
    let base = us2["serviceURL"].as_str().unwrap();
    assert!(base.starts_with("http"), "{us2}");
    assert_eq!(
        us2,
        json!({"deploymentId": "us2", "serviceURL": base, "apiURL": format!("{base}/api")})
    );
    let nameless = sumo
        .call(
            Method::POST,
            "/organizations",
            Some(
                json!({"organizationName": "No Last Name", "email": "admin@nolast.example",
                        "firstName": "Solo", "deploymentId": "us2", "trialPlanPeriod": 30,
                        "baselines": {"continuousIngest": 100}}),
            ),
            200,
        )
        .await;
    assert!(nameless.get("lastName").is_none(), "{nameless}");
    assert_eq!(nameless["firstName"], "Solo");
    let named = sumo
        .call(
            Method::POST,
            "/organizations",
            Some(
                json!({"organizationName": "Last Name", "email": "admin@last.example",
                        "firstName": "Duo", "lastName": "Named", "deploymentId": "us2",
                        "trialPlanPeriod": 30, "baselines": {"continuousIngest": 100}}),
            ),
            200,
        )
        .await;
    assert_eq!(named["lastName"], "Named");
    let id = nameless["orgId"].as_str().unwrap();
    let got = sumo.get(&format!("/organizations/{id}")).await;
    assert!(got.get("lastName").is_none(), "{got}");
    let list = sumo.get("/organizations").await;
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for o in data {
        if o["orgId"] == id {
            assert!(o.get("lastName").is_none(), "{o}");
        } else {
            assert_eq!(o["lastName"], "Named");
        }
    }
}
