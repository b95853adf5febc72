//! Adobe's User Management API over real HTTP, on SQLite and PostgreSQL: the action
//! endpoint (commands, per-step errors, partial batches, test mode, limits), the paged reads
//! and their headers, the deprecated reads, and the same users and groups seen through SCIM
//! and Domo.

use crate::common;

use common::*;
use serde_json::{json, Value};

both_backends!(
    action_lifecycle,
    partial_batches_and_step_errors,
    request_level_errors_change_nothing,
    test_mode_changes_nothing,
    paged_reads_with_headers,
    groups_profiles_and_deprecated_reads,
    one_identity_across_scim_domo_and_adobe,
    credentials_api_keys_and_org_ids,
    removing_a_reserved_group_not_held_is_a_no_op,
);

const CLIENT: &str = "cli_adobe_test";
const SECRET: &str = "adobe-client-secret-0123456789";
const ORG: &str = "default@AdobeOrg";

struct Adobe {
    s: TestServer,
    token: String,
}

impl Adobe {
    async fn start(b: Backend) -> Adobe {
        let s = TestServer::start(b).await;
        s.credential(
            "default",
            kind_client(),
            CLIENT,
            SECRET,
            "users:read users:write",
        )
        .await;
        let token = token(&s, CLIENT, SECRET).await;
        Adobe { s, token }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.s
            .get(&format!("/v2/usermanagement{path}"))
            .bearer_auth(&self.token)
            .header("X-Api-Key", CLIENT)
    }

    async fn read(&self, path: &str, status: u16) -> Value {
        json(self.get(path).send().await.unwrap(), status).await
    }

    async fn action_to(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .s
            .post(&format!("/v2/usermanagement/action/{path}"))
            .bearer_auth(&self.token)
            .header("X-Api-Key", CLIENT)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POST an action to the default organization; expect 200.
    async fn action(&self, body: Value) -> Value {
        let (status, v) = self.action_to(ORG, body).await;
        assert_eq!(status, 200, "{v}");
        v
    }

    async fn user(&self, email: &str) -> Value {
        self.read(&format!("/organizations/{ORG}/users/{email}"), 200)
            .await["user"]
            .clone()
    }

    async fn total_users(&self) -> i64 {
        let r = self.get(&format!("/users/{ORG}/0")).send().await.unwrap();
        r.headers()["x-total-count"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn scim(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.s
            .http
            .request(method, self.s.url(&format!("/scim/v2{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", SCIM_CT)
    }
}

async fn token(s: &TestServer, id: &str, secret: &str) -> String {
    let r = s
        .post("/ims/token/v3")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
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

fn federated(email: &str, first: &str, last: &str) -> Value {
    json!({"user": email, "do": [{"createFederatedID": {
        "email": email, "firstname": first, "lastname": last, "country": "US"}}]})
}

fn success(n: usize) -> Value {
    json!({"result": "success", "completed": n, "notCompleted": 0, "completedInTestMode": 0})
}

async fn action_lifecycle(b: Backend) {
    let a = Adobe::start(b).await;
    // One of each id type, and a user group, in one batch.
    let r = a
        .action(json!([
            {"user": "ann@example.com", "requestID": "r1", "do": [
                {"createFederatedID": {"email": "ann@example.com", "firstname": "Ann",
                 "lastname": "Lee", "country": "gb", "option": "ignoreIfAlreadyExists"}}]},
            {"user": "bob@example.com", "do": [
                {"createEnterpriseID": {"email": "bob@example.com", "firstname": "Bob",
                 "lastname": "Ray"}}]},
            {"user": "cat@example.org", "useAdobeID": true, "do": [
                {"addAdobeID": {"email": "cat@example.org", "country": "DE"}}]},
            {"usergroup": "Designers", "do": [
                {"createUserGroup": {"description": "People who design"}}]},
        ]))
        .await;
    assert_eq!(r, success(4));

    let ann = a.user("ANN@example.com").await;
    assert_eq!(
        ann,
        json!({"id": ann["id"], "email": "ann@example.com", "status": "active",
               "username": "ann@example.com", "domain": "example.com", "firstname": "Ann",
               "lastname": "Lee", "country": "GB", "type": "federatedID"})
    );
    let bob = a.user("bob@example.com").await;
    assert_eq!(bob["type"], "enterpriseID");
    assert!(bob.get("country").is_none(), "unset properties are omitted");
    assert_eq!(a.user("cat@example.org").await["type"], "adobeID");

    // A duplicate create is reported for its command; the others run.
    let r = a
        .action(json!([
            federated("ann@example.com", "Ann", "Lee"),
            {"user": "ann@example.com", "requestID": "upd", "do": [
                {"add": {"group": ["Designers"]}},
                {"update": {"firstname": "Anne", "lastname": "Lee-Smith"}}]},
        ]))
        .await;
    assert_eq!(
        r,
        json!({"result": "partial", "completed": 1, "notCompleted": 1, "completedInTestMode": 0,
               "errors": [{"index": 0, "step": 0, "user": "ann@example.com",
                           "errorCode": "error.user.already_exists",
                           "message": "User already exists: ann@example.com"}]})
    );
    let ann = a.user("ann@example.com").await;
    assert_eq!(ann["firstname"], "Anne");
    assert_eq!(ann["lastname"], "Lee-Smith");
    assert_eq!(ann["groups"], json!(["Designers"]));

    // updateIfAlreadyExists treats the create as an update.
    let r = a
        .action(json!([{"user": "bob@example.com", "do": [
            {"createEnterpriseID": {"email": "bob@example.com", "firstname": "Robert",
             "lastname": "Ray", "option": "updateIfAlreadyExists"}}]}]))
        .await;
    assert_eq!(r, success(1));
    assert_eq!(a.user("bob@example.com").await["firstname"], "Robert");

    // An Adobe ID cannot be updated; an email change moves the key.
    let r = a
        .action(json!([
            {"user": "cat@example.org", "do": [{"update": {"firstname": "Cat"}}]},
            {"user": "bob@example.com", "do": [{"update": {"email": "rob@example.com"}}]},
        ]))
        .await;
    assert_eq!(r["result"], "partial");
    assert_eq!(r["errors"][0]["errorCode"], "error.update.adobeid.no");
    assert_eq!(
        a.user("rob@example.com").await["username"],
        "rob@example.com"
    );
    a.read(&format!("/organizations/{ORG}/users/bob@example.com"), 404)
        .await;

    // Group steps: users added by the group's command; remove "all"; removeFromOrg.
    let r = a
        .action(json!([
            {"usergroup": "Designers", "do": [{"add": {"user": ["rob@example.com"]}},
                                              {"updateUserGroup": {"name": "Design"}}]},
        ]))
        .await;
    assert_eq!(r, success(1));
    let g = a.read(&format!("/users/{ORG}/0/design"), 200).await;
    let members: Vec<&str> = g["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(g["groupName"], "Design");
    assert_eq!(members.len(), 2);
    assert!(members.contains(&"ann@example.com") && members.contains(&"rob@example.com"));

    let r = a
        .action(json!([
            {"user": "ann@example.com", "do": [{"remove": "all"}]},
            {"user": "rob@example.com", "do": [{"remove": {"group": ["Design"]}},
                                               {"removeFromOrg": {"deleteAccount": false}}]},
            {"user": "nobody@example.com", "do": [{"removeFromOrg": {"deleteAccount": true}}]},
        ]))
        .await;
    assert_eq!(r, success(3), "removeFromOrg succeeds for unknown users");
    assert!(a.user("ann@example.com").await.get("groups").is_none());
    a.read(&format!("/organizations/{ORG}/users/rob@example.com"), 404)
        .await;
    let g = a.read(&format!("/users/{ORG}/0/Design"), 200).await;
    assert_eq!(g["users"], json!([]));

    let r = a
        .action(json!([{"usergroup": "Design", "do": [{"deleteUserGroup": {}}]}]))
        .await;
    assert_eq!(r, success(1));
    let missing = a.read(&format!("/users/{ORG}/0/Design"), 404).await;
    assert_eq!(
        missing,
        json!({"lastPage": false, "result": "error.group.not_found",
               "message": "Not found: Group Design"})
    );
}

async fn partial_batches_and_step_errors(b: Backend) {
    let a = Adobe::start(b).await;
    a.action(json!([federated("dan@example.com", "Dan", "Do")]))
        .await;
    // An entry's steps apply whole or not at all: the failing add undoes the update.
    let r = a
        .action(json!([
            {"user": "dan@example.com", "requestID": "a1", "do": [
                {"update": {"lastname": "Changed"}},
                {"add": {"group": ["No Such Group"]}}]},
            {"user": "ghost@example.com", "do": [{"update": {"firstname": "G"}}]},
            {"usergroup": "Team", "do": [{"createUserGroup": {}}]},
        ]))
        .await;
    assert_eq!(
        r,
        json!({"result": "partial", "completed": 1, "notCompleted": 2, "completedInTestMode": 0,
               "errors": [
                 {"index": 0, "step": 1, "requestID": "a1", "user": "dan@example.com",
                  "errorCode": "error.group.not_found", "message": "Group No Such Group was not found"},
                 {"index": 1, "step": 0, "user": "ghost@example.com",
                  "errorCode": "error.user.nonexistent",
                  "message": "User Id does not exist: ghost@example.com"}]})
    );
    assert_eq!(a.user("dan@example.com").await["lastname"], "Do");

    // Steps run in Adobe's order whatever order they are sent in: the add (sent first)
    // follows the group's creation in an earlier entry, and removes run before adds.
    let r = a
        .action(json!([{"user": "dan@example.com", "do": [
            {"add": {"group": ["Team"]}},
            {"remove": {"group": ["Team"]}},
            {"update": {"firstname": "Daniel"}}]}]))
        .await;
    assert_eq!(r, success(1));
    let dan = a.user("dan@example.com").await;
    assert_eq!(dan["groups"], json!(["Team"]), "remove ran before add");
    assert_eq!(dan["firstname"], "Daniel");

    // All failing: result error.
    let r = a
        .action(json!([federated("dan@example.com", "D", "D")]))
        .await;
    assert_eq!(r["result"], "error");
    assert_eq!(r["completed"], 0);
    assert_eq!(r["notCompleted"], 1);

    // Per-command validation: nothing of a bad command runs.
    let long = "x".repeat(251);
    let eleven: Vec<String> = (0..11).map(|i| format!("g{i}")).collect();
    let r = a
        .action(json!([
            {"user": "eve@example.com", "do": [{"createFederatedID": {"email": "eve@example.com",
                "firstname": "Eve", "lastname": "E", "country": "US"}}, {"resetPassword": {}}]},
            {"user": "eve@example.com", "do": [
                {"createFederatedID": {"email": "eve@example.com", "firstname": "Eve", "lastname": "E", "country": "US"}},
                {"createEnterpriseID": {"email": "eve@example.com", "firstname": "Eve", "lastname": "E"}}]},
            {"user": "eve@example.com", "do": [{"update": {"firstname": "E"}},
                {"createEnterpriseID": {"email": "eve@example.com", "firstname": "Eve", "lastname": "E"}}]},
            {"user": "eve@example.com", "do": [{"createFederatedID": {"email": "eve@example.com",
                "firstname": long, "lastname": "E", "country": "US"}}]},
            {"user": "eve@example.com", "do": [{"createFederatedID": {"email": "eve@example.com",
                "firstname": 5, "lastname": "E", "country": "USA"}}]},
            {"user": "dan@example.com", "do": [{"removeFromOrg": {}}, {"update": {"firstname": "X"}}]},
            {"user": "dan@example.com", "do": [{"add": {"group": eleven}}]},
            {"user": "dan@example.com", "do": [{"update": {"country": "FR"}}]},
            {"do": [{"update": {}}]},
            {"user": "dan@example.com", "do": ["update"]},
        ]))
        .await;
    let codes: Vec<(i64, i64, &str)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_i64().unwrap(),
                e["step"].as_i64().unwrap(),
                e["errorCode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            (0, 1, "error.command.step.unknown"),
            (1, 1, "error.command.create.more_than_one"),
            (2, 1, "error.command.create.not_first"),
            (3, 0, "error.command.string.too_long"),
            (4, 0, "error.command.steps.malformed"),
            (5, 0, "error.command.removefromorg.not_last"),
            (6, 0, "error.command.add_remove.list_too_long"),
            (7, 0, "error.update.country.no_update"),
            (8, 0, "error.command.malformed"),
            (9, 0, "error.command.steps.malformed"),
        ]
    );
    assert_eq!(
        r["errors"][3]["message"],
        "String too long in command for field: firstname, max length 250"
    );
    assert_eq!(r["result"], "error");
    assert_eq!(r["notCompleted"], 10);
    a.read(&format!("/organizations/{ORG}/users/eve@example.com"), 404)
        .await;
    assert_eq!(a.user("dan@example.com").await["firstname"], "Daniel");
}

async fn request_level_errors_change_nothing(b: Backend) {
    let a = Adobe::start(b).await;
    let eleven: Vec<Value> = (0..11)
        .map(|i| federated(&format!("u{i}@example.com"), "U", "U"))
        .collect();
    let (status, body) = a.action_to(ORG, Value::Array(eleven)).await;
    assert_eq!(status, 400);
    assert_eq!(body["result"], "error.command.malformed");
    assert_eq!(
        body["message"],
        "Too many commands: 11, at most 10 per request"
    );

    for bad in ["{not json", "{\"user\": \"x\"}", "\"text\"", ""] {
        let r =
            a.s.post(&format!("/v2/usermanagement/action/{ORG}"))
                .bearer_auth(&a.token)
                .header("X-Api-Key", CLIENT)
                .header("content-type", "application/json")
                .body(bad)
                .send()
                .await
                .unwrap();
        let v = json(r, 400).await;
        assert_eq!(v["result"], "error.command.malformed", "{bad}: {v}");
    }

    let (status, body) = a
        .action_to(
            "other@AdobeOrg",
            json!([federated("z@example.com", "Z", "Z")]),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"result": "error.organization.invalid_id", "message": "Bad organization Id"})
    );
    let (status, _) = a
        .action_to(
            "default?testOnly=maybe",
            json!([federated("z@example.com", "Z", "Z")]),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(a.total_users().await, 0, "nothing was created");

    // Bad read parameters are 400s in Adobe's shape.
    let v = a.read(&format!("/users/{ORG}/-1"), 400).await;
    assert_eq!(v["result"], "error.request.invalid");
    let v = a
        .read(&format!("/users/{ORG}/0?directOnly=perhaps"), 400)
        .await;
    assert_eq!(v["result"], "error.request.invalid");
    // NUL cannot be stored: a 400 or a per-command error, never a 500.
    let v = a.read(&format!("/users/{ORG}/0/a%00b"), 400).await;
    assert_eq!(v["result"], "error.request.invalid");
    let v = a
        .read(&format!("/organizations/{ORG}/users/a%00b"), 400)
        .await;
    assert_eq!(v["result"], "error.request.invalid");
    let r = a
        .action(
            json!([{"user": "n\u{0}@example.com", "do": [{"update": {}}]},
                       {"user": "n@example.com", "do": [{"createEnterpriseID": {
                           "email": "n@example.com", "firstname": "a\u{0}", "lastname": "b"}}]}]),
        )
        .await;
    assert_eq!(r["errors"][0]["errorCode"], "error.command.malformed");
    assert_eq!(r["errors"][1]["errorCode"], "error.command.steps.malformed");
    let v = a
        .read(&format!("/organizations/{ORG}/users/none@example.com"), 404)
        .await;
    assert_eq!(
        v,
        json!({"result": "error.user.not_found", "message": "User not found none@example.com"})
    );
}

async fn test_mode_changes_nothing(b: Backend) {
    let a = Adobe::start(b).await;
    a.action(json!([federated("tom@example.com", "Tom", "T")]))
        .await;
    let batch = json!([
        federated("new@example.com", "New", "N"),
        federated("new@example.com", "New", "N"),
        {"user": "new2@example.com", "do": [
            {"createFederatedID": {"email": "new2@example.com", "firstname": "A", "lastname": "B", "country": "US"}},
            {"update": {"firstname": "C"}}]},
        {"user": "ghost@example.com", "do": [{"update": {"firstname": "G"}}]},
        {"user": "tom@example.com", "do": [{"update": {"firstname": "Thomas"}}, {"removeFromOrg": {}}]},
        {"usergroup": "Testers", "do": [{"createUserGroup": {}}]},
        federated("tom@example.com", "Tom", "T"),
    ]);
    let (status, r) = a.action_to(&format!("{ORG}?testOnly=true"), batch).await;
    assert_eq!(status, 200);
    assert_eq!(r["result"], "partial");
    assert_eq!(r["completed"], 0);
    assert_eq!(r["completedInTestMode"], 6);
    assert_eq!(r["notCompleted"], 1);
    assert_eq!(r["errors"][0]["index"], 6);
    assert_eq!(r["errors"][0]["errorCode"], "error.user.already_exists");
    assert_eq!(a.total_users().await, 1);
    let tom = a.user("tom@example.com").await;
    assert_eq!(tom["firstname"], "Tom");
    let groups = a.read(&format!("/groups/{ORG}/0"), 200).await;
    assert_eq!(groups["groups"], json!([]));
}

async fn paged_reads_with_headers(b: Backend) {
    let a = Adobe::start(b).await;
    // 205 users: more than one page of 200.
    for batch in 0..21 {
        let entries: Vec<Value> = (0..10)
            .map(|i| batch * 10 + i)
            .filter(|n| *n < 205)
            .map(|n| {
                let domain = if n % 2 == 0 {
                    "even.example"
                } else {
                    "odd.example"
                };
                federated(&format!("user{n:03}@{domain}"), "U", &format!("N{n}"))
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        let n = entries.len();
        assert_eq!(a.action(Value::Array(entries)).await, success(n));
    }
    let r = a.get(&format!("/users/{ORG}/0")).send().await.unwrap();
    let h = |name: &str| r.headers()[name].to_str().unwrap().to_string();
    assert_eq!(
        (
            h("x-total-count"),
            h("x-page-count"),
            h("x-current-page"),
            h("x-page-size")
        ),
        ("205".into(), "2".into(), "0".into(), "200".into())
    );
    let page0 = json(r, 200).await;
    assert_eq!(page0["lastPage"], false);
    assert_eq!(page0["result"], "success");
    assert_eq!(page0["users"].as_array().unwrap().len(), 200);
    let page1 = a.read(&format!("/users/{ORG}/1"), 200).await;
    assert_eq!(page1["lastPage"], true);
    assert_eq!(page1["users"].as_array().unwrap().len(), 5);
    let mut emails: Vec<String> = page0["users"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page1["users"].as_array().unwrap())
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect();
    emails.sort();
    emails.dedup();
    assert_eq!(emails.len(), 205, "the pages cover every user once");
    // Past the end: the last page.
    let r = a.get(&format!("/users/{ORG}/9")).send().await.unwrap();
    assert_eq!(r.headers()["x-current-page"], "1");
    assert_eq!(json(r, 200).await, page1);
    // By domain.
    let r = a
        .get(&format!(
            "/users/{ORG}/0?domain=ODD.example&directOnly=False"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-total-count"], "102");
    let odd = json(r, 200).await;
    assert_eq!(odd["lastPage"], true);
    assert!(odd["users"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["domain"] == "odd.example"));
}

async fn groups_profiles_and_deprecated_reads(b: Backend) {
    let a = Adobe::start(b).await;
    // Product profiles come from the admin API (Adobe's own API cannot make them).
    let r =
        a.s.post("/admin/v1/groups")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": "Photoshop Default", "kind": "product_profile"}))
            .send()
            .await
            .unwrap();
    let profile = json(r, 201).await;
    assert_eq!(profile["kind"], "product_profile");
    let r =
        a.s.post("/admin/v1/groups")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": "x", "kind": "wizard"}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 400);

    let r = a
        .action(json!([
            federated("pia@example.com", "Pia", "P"),
            federated("quy@example.com", "Quy", "Q"),
            {"usergroup": "Creatives", "do": [
                {"createUserGroup": {"description": "Creative staff"}},
                {"add": {"user": ["pia@example.com"], "productConfiguration": ["Photoshop Default"]}}]},
            {"user": "quy@example.com", "do": [{"add": {"group": ["Photoshop Default"]}}]},
        ]))
        .await;
    assert_eq!(r, success(4));
    // A product profile named in a user group's place is no user group.
    let r = a
        .action(json!([{"usergroup": "Photoshop Default", "do": [{"deleteUserGroup": {}}]}]))
        .await;
    assert_eq!(r["errors"][0]["errorCode"], "error.usergroup.not_found");

    let r = a.get(&format!("/groups/{ORG}/0")).send().await.unwrap();
    assert_eq!(r.headers()["x-total-count"], "2");
    let groups = json(r, 200).await;
    let mut listed: Vec<Value> = groups["groups"].as_array().unwrap().clone();
    listed.sort_by_key(|g| g["groupName"].as_str().unwrap().to_string());
    for g in &mut listed {
        assert!(g["groupId"].as_i64().unwrap() > 0);
        g.as_object_mut().unwrap().remove("groupId");
    }
    assert_eq!(
        listed,
        vec![
            json!({"groupName": "Creatives", "type": "USER_GROUP", "memberCount": 1,
                   "userGroupName": "Creatives", "description": "Creative staff"}),
            json!({"groupName": "Photoshop Default", "type": "PRODUCT_PROFILE", "memberCount": 1,
                   "productProfileName": "Photoshop Default"}),
        ]
    );
    assert_eq!(groups["lastPage"], true);

    // Direct members of the profile, then also those through the user group.
    let direct = a
        .read(&format!("/users/{ORG}/0/Photoshop%20Default"), 200)
        .await;
    let emails = |v: &Value| -> Vec<String> {
        let mut e: Vec<String> = v["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect();
        e.sort();
        e
    };
    assert_eq!(emails(&direct), vec!["quy@example.com"]);
    let all = a
        .read(
            &format!("/users/{ORG}/0/Photoshop%20Default?directOnly=false&excludeGroups=true"),
            200,
        )
        .await;
    assert_eq!(emails(&all), vec!["pia@example.com", "quy@example.com"]);
    assert!(all["users"][0].get("groups").is_none());
    let pia = a
        .read(
            &format!("/users/{ORG}/0?directOnly=false&domain=example.com"),
            200,
        )
        .await;
    let pia = pia["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "pia@example.com")
        .unwrap()
        .clone();
    let mut g: Vec<&str> = pia["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    g.sort();
    assert_eq!(g, vec!["Creatives", "Photoshop Default"]);

    // The deprecated reads: bare arrays, camelCase fields.
    let r = a.get(&format!("/{ORG}/users?page=0")).send().await.unwrap();
    assert_eq!(r.headers()["x-total-count"], "2");
    let legacy = json(r, 200).await;
    let first = legacy
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "pia@example.com")
        .unwrap();
    assert_eq!(first["firstName"], "Pia");
    assert_eq!(first["countryCode"], "US");
    assert_eq!(first["userType"], "federatedID");
    assert_eq!(first["groups"], json!(["Creatives"]));
    let ugs = a.read(&format!("/{ORG}/user-groups"), 200).await;
    assert_eq!(ugs.as_array().unwrap().len(), 1, "user groups only");
    assert_eq!(ugs[0]["name"], "Creatives");
    assert_eq!(ugs[0]["type"], "USER_GROUP");
    assert_eq!(ugs[0]["userCount"], 1);
    let gid = ugs[0]["groupId"].as_i64().unwrap();
    let one = a.read(&format!("/{ORG}/user-groups/{gid}"), 200).await;
    assert_eq!(one, ugs[0]);
    let members = a
        .read(&format!("/{ORG}/user-groups/{gid}/users"), 200)
        .await;
    assert_eq!(
        members,
        json!([{"email": "pia@example.com", "firstName": "Pia", "lastName": "P",
                "countryCode": "US", "status": "active", "userType": "federatedID"}])
    );
    let v = a.read(&format!("/{ORG}/user-groups/12345"), 404).await;
    assert_eq!(v["result"], "error.usergroup.not_found");
}

async fn one_identity_across_scim_domo_and_adobe(b: Backend) {
    let a = Adobe::start(b).await;
    a.action(json!([federated("Ivy.Jones@Example.com", "Ivy", "Jones")]))
        .await;
    // SCIM finds the Adobe user by its email as userName, with its names.
    let r = a
        .scim(
            reqwest::Method::GET,
            "/Users?filter=userName%20eq%20%22ivy.jones@example.com%22",
        )
        .send()
        .await
        .unwrap();
    let found = json(r, 200).await;
    assert_eq!(found["totalResults"], 1);
    let u = &found["Resources"][0];
    assert_eq!(u["userName"], "Ivy.Jones@Example.com");
    assert_eq!(u["name"]["givenName"], "Ivy");
    assert_eq!(u["name"]["familyName"], "Jones");
    assert_eq!(u["addresses"][0]["country"], "US");
    let uid = u["id"].as_str().unwrap().to_string();

    // A SCIM group gets a member through an Adobe action; SCIM, Domo and Adobe agree.
    let r = a
        .scim(reqwest::Method::POST, "/Groups")
        .body(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "Engineering"})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let g = json(r, 201).await;
    let gid = g["id"].as_str().unwrap().to_string();
    let r = a
        .action(
            json!([{"user": "ivy.jones@example.com", "do": [{"add": {"group": ["engineering"]}}]}]),
        )
        .await;
    assert_eq!(r, success(1));
    let g = json(
        a.scim(reqwest::Method::GET, &format!("/Groups/{gid}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(g["members"][0]["value"], uid.as_str());
    let domo_gid = i64::from_str_radix(&gid, 16).unwrap();
    let domo_uid = i64::from_str_radix(&uid, 16).unwrap();
    let ids = json(
        a.s.get(&format!("/v1/groups/{domo_gid}/users"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(ids, json!([domo_uid]));
    let in_group = a.read(&format!("/users/{ORG}/0/Engineering"), 200).await;
    assert_eq!(in_group["users"][0]["email"], "Ivy.Jones@Example.com");
    assert_eq!(in_group["users"][0]["groups"], json!(["Engineering"]));
    let groups = a.read(&format!("/groups/{ORG}/0"), 200).await;
    assert_eq!(groups["groups"][0]["type"], "USER_GROUP");
    assert_eq!(groups["groups"][0]["memberCount"], 1);

    // SCIM deactivates: Adobe shows the user disabled.
    let r = a
        .scim(reqwest::Method::PATCH, &format!("/Users/{uid}"))
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "active", "value": false}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    json(r, 200).await;
    assert_eq!(a.user("ivy.jones@example.com").await["status"], "disabled");
    let inactive = a
        .read(&format!("/users/{ORG}/0/Engineering?status=inactive"), 200)
        .await;
    assert_eq!(inactive["users"].as_array().unwrap().len(), 1);
    let active = a
        .read(&format!("/users/{ORG}/0/Engineering?status=active"), 200)
        .await;
    assert_eq!(active["users"], json!([]));

    // A SCIM user is a Federated ID to Adobe, found by its email.
    let r = a
        .scim(reqwest::Method::POST, "/Users")
        .body(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "userName": "kim", "name": {"givenName": "Kim"},
                   "emails": [{"value": "kim@corp.example", "primary": true}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    json(r, 201).await;
    let kim = a.user("kim@corp.example").await;
    assert_eq!(kim["username"], "kim");
    assert_eq!(kim["type"], "federatedID");
    assert_eq!(kim["firstname"], "Kim");

    // removeFromOrg removes the user everywhere.
    let r = a
        .action(json!([{"user": "ivy.jones@example.com", "do": [{"removeFromOrg": {}}]}]))
        .await;
    assert_eq!(r, success(1));
    let r = a
        .scim(reqwest::Method::GET, &format!("/Users/{uid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let g = json(
        a.scim(reqwest::Method::GET, &format!("/Groups/{gid}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(
        g.get("members").is_none() || g["members"] == json!([]),
        "{g}"
    );
}

async fn credentials_api_keys_and_org_ids(b: Backend) {
    let a = Adobe::start(b).await;
    let path = format!("/v2/usermanagement/users/{ORG}/0");
    // No token, a bad token: 401, empty body, IMS's WWW-Authenticate.
    for r in [
        a.s.get(&path).header("X-Api-Key", CLIENT),
        a.s.get(&path)
            .bearer_auth("nope")
            .header("X-Api-Key", CLIENT),
    ] {
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), 401);
        let www = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(www.contains("realm=\"JIL\""), "{www}");
        assert_eq!(r.text().await.unwrap(), "");
    }
    // A missing or foreign API key: 403, empty body.
    for key in [None, Some("cli_someone_else")] {
        let mut r = a.s.get(&path).bearer_auth(&a.token);
        if let Some(k) = key {
            r = r.header("X-Api-Key", k);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(r.text().await.unwrap(), "");
    }
    // The org id with or without @AdobeOrg; another organization's id is refused.
    a.read("/users/default/0", 200).await;
    a.s.org("acme", None).await;
    let v = a.read("/users/acme@AdobeOrg/0", 400).await;
    assert_eq!(
        v,
        json!({"result": "error.organization.invalid_id", "message": "Bad organization Id"})
    );
    // A client of acme cannot reach default's users through acme's id either way.
    a.s.credential(
        "acme",
        kind_client(),
        "cli_acme",
        "acme-secret-0123456789",
        "users:read users:write",
    )
    .await;
    let acme = token(&a.s, "cli_acme", "acme-secret-0123456789").await;
    let r =
        a.s.get(&format!("/v2/usermanagement/users/{ORG}/0"))
            .bearer_auth(&acme)
            .header("X-Api-Key", "cli_acme")
            .send()
            .await
            .unwrap();
    assert_eq!(
        json(r, 400).await["result"],
        "error.organization.invalid_id"
    );
    // A read-only client cannot act.
    a.s.credential(
        "default",
        kind_client(),
        "cli_ro",
        "ro-secret-0123456789",
        "users:read",
    )
    .await;
    let ro = token(&a.s, "cli_ro", "ro-secret-0123456789").await;
    let r =
        a.s.post(&format!("/v2/usermanagement/action/{ORG}"))
            .bearer_auth(&ro)
            .header("X-Api-Key", "cli_ro")
            .body("[]")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 403);
    // X-Request-Id is echoed.
    let r = a
        .get(&format!("/users/{ORG}/0"))
        .header("X-Request-Id", "0b7c1e2a-uuid_1700000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "0b7c1e2a-uuid_1700000000000");
    // An empty batch is a success with nothing done.
    assert_eq!(a.action(json!([])).await, success(0));
}

/// The User Sync Tool's push mode: it removes every mapped group a user should not have,
/// `_org_admin` included, in the same command as the user's creation. Removing a reserved
/// group the user is not in changes nothing, so the entry completes with its other steps;
/// assigning one stays refused, as does removing one the user is in.
async fn removing_a_reserved_group_not_held_is_a_no_op(b: Backend) {
    let a = Adobe::start(b).await;
    let r = a
        .action(json!([
            {"usergroup": "design team", "do": [{"createUserGroup": {}}]},
            {"usergroup": "engineering team", "do": [{"createUserGroup": {}}]},
            {"usergroup": "acrobat pro", "do": [{"createUserGroup": {}}]},
        ]))
        .await;
    assert_eq!(r, success(3));
    let r = a
        .action(json!([{"user": "paula.pusher@example.com", "do": [
            {"createFederatedID": {"email": "paula.pusher@example.com", "firstname": "Paula",
             "lastname": "Pusher", "country": "US", "option": "updateIfAlreadyExists"}},
            {"remove": {"group": ["engineering team", "_org_admin", "acrobat pro"]}},
            {"add": {"group": ["design team"]}}]}]))
        .await;
    assert_eq!(r, success(1));
    let paula = a.user("paula.pusher@example.com").await;
    assert_eq!(paula["firstname"], "Paula");
    assert_eq!(paula["groups"], json!(["design team"]));
    // Assigning a reserved group is still refused, with Adobe's words.
    let r = a
        .action(json!([{"user": "paula.pusher@example.com", "do": [
            {"add": {"group": ["_org_admin"]}}]}]))
        .await;
    assert_eq!(r["completed"], 0, "{r}");
    assert_eq!(r["errors"][0]["errorCode"], "error.command.steps.malformed");
    assert_eq!(
        r["errors"][0]["message"],
        "_org_admin cannot be assigned or removed through the API"
    );
    // A user who is in a reserved group (made one elsewhere) is not taken out of it here.
    let g = json(
        a.scim(reqwest::Method::POST, "/Groups")
            .json(&json!({"schemas": [GROUP], "displayName": "_org_admin",
                          "members": [{"value": paula["id"]}]}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(g["members"].as_array().unwrap().len(), 1);
    let r = a
        .action(json!([{"user": "paula.pusher@example.com", "do": [
            {"remove": {"group": ["_org_admin"]}}]}]))
        .await;
    assert_eq!(r["completed"], 0, "{r}");
    assert_eq!(r["errors"][0]["errorCode"], "error.command.steps.malformed");
    let g = json(
        a.scim(
            reqwest::Method::GET,
            &format!("/Groups/{}", g["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(g["members"].as_array().unwrap().len(), 1);
}
