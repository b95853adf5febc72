//! The rule book (docs/architecture.md): each identity rule of the directory tried through
//! every caller over HTTP — SCIM (and Bulk), Logto, Domo, Sumo Logic, Adobe, the admin API
//! and the console by form posts — on both backends. Each caller gets the same outcome in
//! its own shape, and a refused write leaves nothing behind.

use crate::common;

use common::console::{signed_in, Console};
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    uniqueness_holds_through_every_caller,
    duplicates_from_before_the_rule_stay_editable_and_are_listed,
    concurrent_creates_of_one_email_make_one_user,
    normalisation_holds_through_every_caller,
    a_user_without_a_login_name_is_editable_everywhere,
    stale_writes_are_refused_everywhere,
    derived_names_follow_their_parts,
    a_password_change_ends_console_sessions,
    no_caller_grants_what_it_lacks,
);

const DOMO: (&str, &str) = ("rules_domo", "rules-domo-secret-0123456789");
const SUMO: (&str, &str) = ("rules_sumo", "rules-sumo-secret-0123456789");
const ADOBE: (&str, &str) = ("rules_adobe", "rules-adobe-secret-0123456789");
const ADOBE_ORG: &str = "default@AdobeOrg";

/// Every caller's credentials on one server.
struct Callers {
    s: TestServer,
    domo: String,
    adobe: String,
}

impl Callers {
    async fn start(b: Backend) -> Callers {
        let s = TestServer::start(b).await;
        for (id, secret) in [DOMO, SUMO, ADOBE] {
            s.credential("default", kind_client(), id, secret, "all")
                .await;
        }
        let domo = token(&s, "/oauth/token", DOMO, "user").await;
        let adobe = token(&s, "/ims/token/v3", ADOBE, "openid,AdobeID").await;
        Callers { s, domo, adobe }
    }

    /// A request of one dialect, authenticated as that dialect's clients are.
    fn req(&self, dialect: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.s.request(method, path);
        match dialect {
            "domo" => r.bearer_auth(&self.domo),
            "sumo" => r.basic_auth(SUMO.0, Some(SUMO.1)),
            "adobe" => r.bearer_auth(&self.adobe).header("X-Api-Key", ADOBE.0),
            "scim" => r.bearer_auth(ADMIN_TOKEN).header("content-type", SCIM_CT),
            _ => r.bearer_auth(ADMIN_TOKEN),
        }
    }

    async fn send(&self, dialect: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .req(dialect, method, path)
            .body(body.to_string())
            .header("content-type", "application/json");
        let r = if dialect == "scim" {
            r.header("content-type", SCIM_CT)
        } else {
            r
        };
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn scim(&self, method: Method, path: &str, body: Value, status: u16) -> Value {
        let (got, v) = self
            .send("scim", method, &format!("/scim/v2{path}"), body)
            .await;
        assert_eq!(got, status, "SCIM {path}: {v}");
        v
    }

    async fn scim_get(&self, path: &str) -> Value {
        json(
            self.req("scim", Method::GET, &format!("/scim/v2{path}"))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await
    }

    /// How many users SCIM finds with `filter`.
    async fn count(&self, filter: &str) -> i64 {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", filter)
            .finish();
        self.scim_get(&format!("/Users?{q}")).await["totalResults"]
            .as_i64()
            .unwrap()
    }

    /// Make a user through SCIM; its id.
    async fn user(&self, body: Value) -> String {
        let mut body = body;
        body["schemas"] = json!([USER]);
        self.scim(Method::POST, "/Users", body, 201).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

async fn token(s: &TestServer, path: &str, (id, secret): (&str, &str), scope: &str) -> String {
    let r = s
        .post(path)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap();
    json(r, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn email(v: &str) -> Value {
    json!([{"value": v, "type": "work", "primary": true}])
}

/// The version the console's edit form carries.
fn form_version(body: &str) -> String {
    let at = body
        .find("name=\"version\" value=\"")
        .expect("a version field");
    let rest = &body[at + "name=\"version\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// One expected refusal: the caller's status and a piece of its body that names the field
/// in its own words.
struct Expect {
    caller: &'static str,
    status: u16,
    has: &'static str,
}

fn check(e: &Expect, got: (u16, Value)) {
    let text = got.1.to_string();
    assert_eq!(got.0, e.status, "{}: {text}", e.caller);
    assert!(
        text.contains(e.has),
        "{}: wanted {:?} in {text}",
        e.caller,
        e.has
    );
}

async fn uniqueness_holds_through_every_caller(b: Backend) {
    let c = Callers::start(b).await;
    let ann = c
        .user(json!({"userName": "ann", "emails": email("Ann@X.example"),
                     "phoneNumbers": [{"value": "1 (555) 010-0100", "type": "work"}]}))
        .await;
    let other = c
        .user(json!({"userName": "other", "emails": email("other@x.example")}))
        .await;
    let bulk = |data: Value| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
               "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b1",
                               "data": data}]})
    };
    // Rule × caller: a second user with Ann's email (another case) or phone (other
    // punctuation), made or changed to it.
    let cases: Vec<(&str, Method, String, Value, Expect)> = vec![
        (
            "scim",
            Method::POST,
            "/scim/v2/Users".into(),
            json!({"schemas": [USER], "userName": "ann2", "emails": email("ANN@x.example")}),
            Expect {
                caller: "SCIM POST",
                status: 409,
                has: "\"scimType\":\"uniqueness\"",
            },
        ),
        (
            "scim",
            Method::POST,
            "/scim/v2/Users".into(),
            json!({"schemas": [USER], "userName": "ann3",
                   "phoneNumbers": [{"value": "1.555.010.0100"}]}),
            Expect {
                caller: "SCIM POST phone",
                status: 409,
                has: "phoneNumbers",
            },
        ),
        (
            "scim",
            Method::PATCH,
            format!("/scim/v2/Users/{other}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value",
                                   "value": "ann@x.EXAMPLE"}]}),
            Expect {
                caller: "SCIM PATCH",
                status: 409,
                has: "emails: this email is already",
            },
        ),
        (
            "logto",
            Method::POST,
            "/api/users".into(),
            json!({"username": "ann4", "primaryEmail": "ann@x.example"}),
            Expect {
                caller: "Logto email",
                status: 422,
                has: "user.email_already_in_use",
            },
        ),
        (
            "logto",
            Method::POST,
            "/api/users".into(),
            json!({"username": "ann5", "primaryPhone": "15550100100"}),
            Expect {
                caller: "Logto phone",
                status: 422,
                has: "user.phone_already_in_use",
            },
        ),
        (
            "logto",
            Method::POST,
            "/api/users".into(),
            json!({"username": "ANN"}),
            Expect {
                caller: "Logto username",
                status: 422,
                has: "user.username_already_in_use",
            },
        ),
        (
            "domo",
            Method::POST,
            "/v1/users".into(),
            json!({"name": "Ann Again", "email": "ann@x.example", "role": "Participant"}),
            Expect {
                caller: "Domo",
                status: 409,
                has: "this email is already",
            },
        ),
        (
            "domo",
            Method::PUT,
            format!("/v1/users/{}", i64::from_str_radix(&other, 16).unwrap()),
            json!({"email": "ANN@x.example"}),
            Expect {
                caller: "Domo PUT",
                status: 409,
                has: "this email is already",
            },
        ),
        (
            "sumo",
            Method::POST,
            "/api/v1/users".into(),
            json!({"firstName": "Ann", "lastName": "Again", "email": "ann@x.example",
                   "roleIds": []}),
            Expect {
                caller: "Sumo",
                status: 409,
                has: "user_email_already_exists",
            },
        ),
        (
            "sumo",
            Method::POST,
            format!("/api/v1/users/{other}/email/requestChange"),
            json!({"email": "ann@x.example"}),
            Expect {
                caller: "Sumo email change",
                status: 409,
                has: "user_email_already_exists",
            },
        ),
        (
            "adobe",
            Method::POST,
            format!("/v2/usermanagement/action/{ADOBE_ORG}"),
            json!([{"user": "other@x.example", "do": [{"update": {"email": "ann@x.example"}}]}]),
            Expect {
                caller: "Adobe",
                status: 200,
                has: "error.user.already_exists",
            },
        ),
    ];
    for (dialect, method, path, body, e) in &cases {
        check(e, c.send(dialect, method.clone(), path, body.clone()).await);
    }
    // SCIM Bulk: the operation's own 409.
    let (status, out) = c
        .send(
            "scim",
            Method::POST,
            "/scim/v2/Bulk",
            bulk(json!({"schemas": [USER], "userName": "ann6", "emails": email("ann@x.example")})),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["Operations"][0]["status"], "409", "{out}");
    assert_eq!(out["Operations"][0]["response"]["scimType"], "uniqueness");
    // The console: the message by the field it names.
    let (console, _) = signed_in(&c.s).await;
    let page = console
        .post(
            &format!("/console/users/{other}"),
            &[("user_name", "other"), ("email", "ANN@x.example")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.has("Another user of the organization has this email.")
        .has("id=\"f-email-error\"");
    let page = console
        .post(
            &format!("/console/users/{other}"),
            &[
                ("user_name", "other"),
                ("phone", "+1 555 010 0100"),
                ("email", "other@x.example"),
            ],
        )
        .await;
    // `+1…` is another number than `1…` (the + says a country code follows): saved.
    assert_eq!(page.status, 303, "{}", page.body);
    let page = console
        .post(
            &format!("/console/users/{other}"),
            &[
                ("user_name", "other"),
                ("phone", "1-555-010-0100"),
                ("email", "other@x.example"),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.has("Another user of the organization has this phone number.");
    // Nothing written by any refusal: one user with the email, one with the phone key, the
    // other user as it was.
    assert_eq!(c.count("emails.value eq \"ann@x.example\"").await, 1);
    assert_eq!(c.count("userName sw \"ann\"").await, 1);
    let o = c.scim_get(&format!("/Users/{other}")).await;
    assert_eq!(o["emails"][0]["value"], "other@x.example", "{o}");
    assert_eq!(o["phoneNumbers"][0]["value"], "+1 555 010 0100", "{o}");
    let a = c.scim_get(&format!("/Users/{ann}")).await;
    assert_eq!(a["meta"]["version"], "W/\"1\"", "{a}");
    // Ann's own email again (another case) is no conflict.
    c.scim(
        Method::PATCH,
        &format!("/Users/{ann}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "emails", "value": email("ANN@x.example")}]}),
        200,
    )
    .await;
}

async fn duplicates_from_before_the_rule_stay_editable_and_are_listed(b: Backend) {
    let c = Callers::start(b).await;
    let first = c
        .user(json!({"userName": "dup1", "emails": email("dup@x.example")}))
        .await;
    // A duplicate written before the rule (straight into the store, as an old release did).
    let store = c.s.store.clone();
    let second = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        let data = muster::domain::UserData {
            user_name: Some("dup2".into()),
            values: vec![(
                muster::domain::MultiAttr::Emails,
                muster::domain::MultiValue {
                    value: Some("DUP@x.example".into()),
                    primary: Some(true),
                    ..Default::default()
                },
            )],
            ..Default::default()
        };
        let org = muster::domain::OrgId::parse("default").unwrap();
        muster::store::users::insert(
            &mut conn,
            &org,
            &data,
            None,
            muster::store::users::Actor("old"),
        )
        .unwrap()
        .id
    })
    .await
    .unwrap();
    let second = muster::domain::id_to_hex(second);
    // The server keeps answering; a write that leaves the email as it is goes through, in
    // SCIM and in the console alike.
    c.scim(
        Method::PATCH,
        &format!("/Users/{second}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "title", "value": "Twin"}]}),
        200,
    )
    .await;
    let (console, _) = signed_in(&c.s).await;
    let page = console
        .post(
            &format!("/console/users/{first}"),
            &[
                ("user_name", "dup1"),
                ("email", "dup@x.example"),
                ("title", "First"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // `muster conflicts` lists them (exit status 3), per organization, field and value.
    let (ok, out, err) = cli(&c.s.db.url, &["conflicts"]);
    assert!(!ok && err.contains("exit status: 3"), "{out}\n{err}");
    let line: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(line["org"], "default");
    assert_eq!(line["field"], "emails");
    assert_eq!(line["value"], "dup@x.example");
    let ids: Vec<&str> = line["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    let mut want = vec![first.as_str(), second.as_str()];
    want.sort();
    let mut got = ids.clone();
    got.sort();
    assert_eq!(got, want, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    // Another organization has none; once resolved, none at all (exit 0).
    c.s.org("clean", None).await;
    let (ok, out, err) = cli(&c.s.db.url, &["conflicts", "--org", "clean"]);
    assert!(ok && out.is_empty(), "{out}\n{err}");
    c.scim(
        Method::PATCH,
        &format!("/Users/{second}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "emails", "value": email("dup2@x.example")}]}),
        200,
    )
    .await;
    let (ok, out, err) = cli(&c.s.db.url, &["conflicts"]);
    assert!(
        ok && out.is_empty() && err.contains("no conflicts"),
        "{out}\n{err}"
    );
}

async fn concurrent_creates_of_one_email_make_one_user(b: Backend) {
    let c = Callers::start(b).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let r = c.req("scim", Method::POST, "/scim/v2/Users").body(
            json!({"schemas": [USER], "userName": format!("racer{i}"),
                   "emails": email(&format!("RACE@x.example{}", if i % 2 == 0 { "" } else { " " }))})
            .to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = r.send().await.unwrap();
            resp.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(c.count("emails.value eq \"race@x.example\"").await, 1);
}

async fn normalisation_holds_through_every_caller(b: Backend) {
    let c = Callers::start(b).await;
    // Trimmed and in NFC: `José` written with a combining accent is stored composed.
    let id = c
        .user(json!({"userName": "  Jose\u{301}  ", "displayName": " Jose\u{301} Ruiz "}))
        .await;
    let u = c.scim_get(&format!("/Users/{id}")).await;
    assert_eq!(u["userName"], "Jos\u{e9}");
    assert_eq!(u["displayName"], "Jos\u{e9} Ruiz");
    assert_eq!(c.count("userName eq \"jos\u{e9}\"").await, 1);
    let other = c
        .user(json!({"userName": "plain", "emails": email("plain@x.example")}))
        .await;
    let cases: Vec<(&str, Method, String, Value, Expect)> = vec![
        (
            "scim",
            Method::POST,
            "/scim/v2/Users".into(),
            json!({"schemas": [USER], "userName": "zero\u{200B}width"}),
            Expect {
                caller: "SCIM zero-width",
                status: 400,
                has: "userName: the user name contains an invisible or control character (U+200B)",
            },
        ),
        (
            "scim",
            Method::POST,
            "/scim/v2/Users".into(),
            json!({"schemas": [USER], "userName": "p\u{430}ypal"}),
            Expect {
                caller: "SCIM mixed script",
                status: 400,
                has: "writing systems",
            },
        ),
        (
            "scim",
            Method::PATCH,
            format!("/scim/v2/Users/{other}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "userName", "value": "evil\u{202E}gpj.exe"}]}),
            Expect {
                caller: "SCIM PATCH bidi",
                status: 400,
                has: "\"scimType\":\"invalidValue\"",
            },
        ),
        (
            "logto",
            Method::POST,
            "/api/users".into(),
            json!({"primaryEmail": "ann\u{200B}@x.example"}),
            Expect {
                caller: "Logto email",
                status: 400,
                has: "Error in key path \\\"primaryEmail\\\"",
            },
        ),
        (
            "domo",
            Method::POST,
            "/v1/users".into(),
            json!({"name": "Zed", "email": "zed\u{2066}@x.example", "role": "Participant"}),
            Expect {
                caller: "Domo",
                status: 400,
                has: "emails: the email contains",
            },
        ),
        (
            "sumo",
            Method::POST,
            "/api/v1/users".into(),
            json!({"firstName": "Zed", "lastName": "Z", "email": "zed\u{FEFF}@x.example",
                   "roleIds": []}),
            Expect {
                caller: "Sumo",
                status: 400,
                has: "invalid_field",
            },
        ),
        (
            "adobe",
            Method::POST,
            format!("/v2/usermanagement/action/{ADOBE_ORG}"),
            json!([{"user": "plain@x.example", "do": [{"update": {"email": "pl\u{AD}ain2@x.example"}}]}]),
            Expect {
                caller: "Adobe",
                status: 200,
                has: "error.user.email.invalid",
            },
        ),
    ];
    for (dialect, method, path, body, e) in &cases {
        check(e, c.send(dialect, method.clone(), path, body.clone()).await);
    }
    // The console: by the field, with nothing saved.
    let (console, _) = signed_in(&c.s).await;
    let page = console
        .post(
            &format!("/console/users/{other}"),
            &[("user_name", "pl\u{430}in"), ("email", "plain@x.example")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.has("id=\"f-user_name-error\"").has("writing systems");
    let u = c.scim_get(&format!("/Users/{other}")).await;
    assert_eq!(u["userName"], "plain");
    assert_eq!(u["emails"][0]["value"], "plain@x.example");
    assert_eq!(u["meta"]["version"], "W/\"1\"", "{u}");
    assert_eq!(c.count("userName pr").await, 3, "ada, José and plain only");
}

async fn a_user_without_a_login_name_is_editable_everywhere(b: Backend) {
    let c = Callers::start(b).await;
    // Made by Domo: no login name; SCIM shows the email as its userName.
    let (status, made) = c
        .send(
            "domo",
            Method::POST,
            "/v1/users",
            json!({"name": "Dee Domo", "email": "Dee@x.example", "role": "Participant"}),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let hex = format!("{:016X}", made["id"].as_i64().unwrap());
    assert_eq!(
        c.scim_get(&format!("/Users/{hex}")).await["userName"],
        "Dee@x.example"
    );
    // The console shows the same name, and saves the form without a user name.
    let (console, _) = signed_in(&c.s).await;
    let page = console.get(&format!("/console/users/{hex}")).await;
    assert_eq!(page.status, 200);
    page.has("<h1>Dee@x.example").lacks(&format!("<h1>{hex}"));
    console
        .get("/console/users?q=dee")
        .await
        .has(">Dee@x.example</a>");
    let page = console
        .post(
            &format!("/console/users/{hex}"),
            &[
                ("user_name", ""),
                ("email", "Dee@x.example"),
                ("title", "CFO"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let u = c.scim_get(&format!("/Users/{hex}")).await;
    assert_eq!(u["title"], "CFO");
    assert_eq!(u["userName"], "Dee@x.example");
    // Logto and Sumo edit it too.
    let (status, v) = c
        .send(
            "logto",
            Method::PATCH,
            &format!("/api/users/{hex}"),
            json!({"name": "Dee"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["username"], Value::Null);
    let (status, v) = c
        .send(
            "sumo",
            Method::PUT,
            &format!("/api/v1/users/{hex}"),
            json!({"firstName": "Dee", "lastName": "Domo", "isActive": true}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    // A user with a login name and no email may not drop it (in any caller).
    let named = c.user(json!({"userName": "solo"})).await;
    let page = console
        .post(&format!("/console/users/{named}"), &[("user_name", " ")])
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.has("A user name is required");
    let (status, v) = c
        .send(
            "logto",
            Method::PATCH,
            &format!("/api/users/{named}"),
            json!({"username": null}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["details"].as_str().unwrap().contains("username"), "{v}");
    assert_eq!(
        c.scim_get(&format!("/Users/{named}")).await["userName"],
        "solo"
    );
}

async fn stale_writes_are_refused_everywhere(b: Backend) {
    let c = Callers::start(b).await;
    let id = c
        .user(
            json!({"userName": "stale", "name": {"givenName": "Sta", "familyName": "Le"},
                     "emails": email("stale@x.example")}),
        )
        .await;
    // The console form is opened at version 1; SCIM then sets a phone.
    let (console, _) = signed_in(&c.s).await;
    let page = console.get(&format!("/console/users/{id}")).await;
    let version = form_version(&page.body);
    assert_eq!(version, "1");
    c.scim(
        Method::PATCH,
        &format!("/Users/{id}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "add", "path": "phoneNumbers",
                               "value": [{"value": "+44 20 7946 0000", "type": "work"}]}]}),
        200,
    )
    .await;
    // Saving the old form is refused with the fresh values shown; nothing is undone.
    let page = console
        .post(
            &format!("/console/users/{id}"),
            &[
                ("version", &version),
                ("user_name", "stale"),
                ("given_name", "Stan"),
                ("family_name", "Le"),
                ("email", "stale@x.example"),
            ],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    page.has("changed since you opened it")
        .has("value=\"+44 20 7946 0000\"")
        .has("name=\"version\" value=\"2\"");
    let u = c.scim_get(&format!("/Users/{id}")).await;
    assert_eq!(u["phoneNumbers"][0]["value"], "+44 20 7946 0000", "{u}");
    assert_eq!(u["name"]["givenName"], "Sta", "{u}");
    // With the fresh version it saves, and keeps the phone.
    let page = console
        .post(
            &format!("/console/users/{id}"),
            &[
                ("version", "2"),
                ("user_name", "stale"),
                ("given_name", "Stan"),
                ("family_name", "Le"),
                ("email", "stale@x.example"),
                ("phone", "+44 20 7946 0000"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // The console's group rename form carries its version too.
    let g = c
        .scim(
            Method::POST,
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "Ops"}),
            201,
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_string();
    let page = console.get(&format!("/console/groups/{gid}")).await;
    let gversion = form_version(&page.body);
    c.scim(
        Method::PATCH,
        &format!("/Groups/{gid}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "displayName", "value": "Operations"}]}),
        200,
    )
    .await;
    let page = console
        .post(
            &format!("/console/groups/{gid}"),
            &[("version", &gversion), ("name", "Ops team")],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    page.has("changed since you opened it")
        .has("value=\"Operations\"");
    assert_eq!(
        c.scim_get(&format!("/Groups/{gid}")).await["displayName"],
        "Operations"
    );
    // SCIM: If-Match.
    let r = c
        .req("scim", Method::PATCH, &format!("/scim/v2/Users/{id}"))
        .header("If-Match", "W/\"1\"")
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "title", "value": "X"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 412);
    // The admin API: If-Match on the email change it confirms.
    let (status, v) = c
        .send(
            "sumo",
            Method::POST,
            &format!("/api/v1/users/{id}/email/requestChange"),
            json!({"email": "new@x.example"}),
        )
        .await;
    assert!(status < 300, "{v}");
    let confirm = |tag: &'static str| {
        c.req(
            "admin",
            Method::POST,
            &format!("/admin/v1/users/{id}/email-change"),
        )
        .header("If-Match", tag)
    };
    let r = confirm("W/\"2\"").send().await.unwrap();
    let v = json(r, 412).await;
    assert_eq!(v["code"], "version_mismatch", "{v}");
    assert_eq!(
        c.scim_get(&format!("/Users/{id}")).await["emails"][0]["value"],
        "stale@x.example"
    );
    let r = confirm("W/\"3\"").send().await.unwrap();
    assert_eq!(json(r, 200).await["email"], "new@x.example");
}

async fn derived_names_follow_their_parts(b: Backend) {
    let c = Callers::start(b).await;
    let id = c
        .user(json!({"userName": "countess", "displayName": "Ada Byron",
                     "name": {"givenName": "Ada", "familyName": "Byron", "formatted": "Ada Byron"},
                     "emails": email("ada@x.example")}))
        .await;
    // The console changes the family name: formatted and display name follow.
    let (console, _) = signed_in(&c.s).await;
    let page = console.get(&format!("/console/users/{id}")).await;
    let version = form_version(&page.body);
    let page = console
        .post(
            &format!("/console/users/{id}"),
            &[
                ("version", &version),
                ("user_name", "countess"),
                ("display_name", "Ada Byron"),
                ("given_name", "Ada"),
                ("family_name", "Lovelace"),
                ("email", "ada@x.example"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let u = c.scim_get(&format!("/Users/{id}")).await;
    assert_eq!(u["name"]["formatted"], "Ada Lovelace", "{u}");
    assert_eq!(u["displayName"], "Ada Lovelace", "{u}");
    // Sumo Logic changes the first name: the same.
    let (status, v) = c
        .send(
            "sumo",
            Method::PUT,
            &format!("/api/v1/users/{id}"),
            json!({"firstName": "Augusta", "lastName": "Lovelace"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let u = c.scim_get(&format!("/Users/{id}")).await;
    assert_eq!(u["name"]["formatted"], "Augusta Lovelace", "{u}");
    assert_eq!(u["displayName"], "Augusta Lovelace", "{u}");
    // A display name a caller set to something else is theirs.
    c.scim(
        Method::PATCH,
        &format!("/Users/{id}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "displayName", "value": "The Countess"}]}),
        200,
    )
    .await;
    let (status, v) = c
        .send(
            "logto",
            Method::PATCH,
            &format!("/api/users/{id}"),
            json!({"profile": {"givenName": "Ada", "familyName": "King"}}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let u = c.scim_get(&format!("/Users/{id}")).await;
    assert_eq!(u["displayName"], "The Countess", "{u}");
    assert_eq!(u["name"]["formatted"], "Ada King", "{u}");
}

/// Bob, an administrator signed in to the console; his session cookie's console.
async fn bob_signed_in(c: &Callers, bob: &str, password: &str) -> Console {
    let mut console = Console::new(&c.s.base);
    let r = console.sign_in("default", "bob", password).await;
    assert_eq!(r.status, 303, "sign-in of {bob}: {}", r.body);
    assert_eq!(console.get("/console/users").await.status, 200);
    console
}

async fn a_password_change_ends_console_sessions(b: Backend) {
    let c = Callers::start(b).await;
    let bob = common::console::scim_user(&c.s, ADMIN_TOKEN, "bob", "first password 1").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    common::console::grant_admin(&c.s, "default", &bob).await;
    // Through SCIM PATCH, SCIM PUT, Logto and the console (another admin's), each ends Bob's
    // session; a change of anything else does not.
    let mut password = "first password 1".to_string();
    for (n, via) in ["scim patch", "scim put", "logto", "console", "title only"]
        .into_iter()
        .enumerate()
    {
        let console = bob_signed_in(&c, &bob, &password).await;
        let next = format!("next password {n}");
        match via {
            "scim patch" => {
                c.scim(
                    Method::PATCH,
                    &format!("/Users/{bob}"),
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "replace", "path": "password", "value": next}]}),
                    200,
                )
                .await;
            }
            "scim put" => {
                let mut u = c.scim_get(&format!("/Users/{bob}")).await;
                u["password"] = json!(next);
                c.scim(Method::PUT, &format!("/Users/{bob}"), u, 200).await;
            }
            "logto" => {
                let (status, v) = c
                    .send(
                        "logto",
                        Method::PATCH,
                        &format!("/api/users/{bob}/password"),
                        json!({"password": next}),
                    )
                    .await;
                assert_eq!(status, 200, "{v}");
            }
            "console" => {
                let (admin, _) = signed_in(&c.s).await;
                let page = admin
                    .post(
                        &format!("/console/users/{bob}/password"),
                        &[("mode", "set"), ("password", &next)],
                    )
                    .await;
                assert_eq!(page.status, 303, "{}", page.body);
            }
            _ => {
                c.scim(
                    Method::PATCH,
                    &format!("/Users/{bob}"),
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}),
                    200,
                )
                .await;
                assert_eq!(console.get("/console/users").await.status, 200, "{via}");
                continue;
            }
        }
        let after = console.get("/console/users").await;
        assert_eq!(after.status, 303, "{via}: the session should have ended");
        assert_eq!(
            after.location(),
            "/console/login?next=%2Fconsole%2Fusers&why=expired",
            "{via}"
        );
        password = next;
    }
}

async fn no_caller_grants_what_it_lacks(b: Backend) {
    let c = Callers::start(b).await;
    let target = c
        .user(json!({"userName": "target", "emails": email("t@x.example")}))
        .await;
    // A console session of a token with orgs:admin but not users:write.
    c.s.credential(
        "default",
        kind_token(),
        "tok_weak",
        "weak-token-0123456789",
        "orgs:admin users:read",
    )
    .await;
    let mut weak = Console::new(&c.s.base);
    assert_eq!(
        weak.sign_in_token("weak-token-0123456789").await.status,
        303
    );
    // (Its token given again, as making an administrator asks.)
    let page = weak
        .post(
            &format!("/console/users/{target}/admin"),
            &[("current_password", "weak-token-0123456789")],
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    page.has("scim, users:write");
    // Nor may it mint a credential with more than it has, in the console or the admin API.
    let page = weak
        .post(
            "/console/credentials",
            &[("kind", "token"), ("label", "more"), ("users_write", "on")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.has("A credential cannot have a scope this session lacks.");
    let r =
        c.s.post("/admin/v1/credentials")
            .bearer_auth("weak-token-0123456789")
            .json(&json!({"kind": "token", "label": "more", "scopes": "all"}))
            .send()
            .await
            .unwrap();
    let v = json(r, 403).await;
    assert_eq!(v["code"], "forbidden", "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("users:write"),
        "{v}"
    );
    // A SCIM client with scim alone cannot give the Administrator role (orgs:admin) through
    // a user's roles; Domo's users:write client cannot either.
    c.s.credential(
        "default",
        kind_token(),
        "tok_scim",
        "scim-token-0123456789",
        "scim",
    )
    .await;
    let (console, _) = signed_in(&c.s).await; // makes the Administrator role
    drop(console);
    let r = c
        .s
        .patch(&format!("/scim/v2/Users/{target}"))
        .bearer_auth("scim-token-0123456789")
        .header("content-type", SCIM_CT)
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "add", "path": "roles", "value": [{"value": "Administrator"}]}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let v = json(r, 403).await;
    assert!(
        v["detail"].as_str().unwrap().contains("granting this role"),
        "{v}"
    );
    // Sumo Logic: a users:write client cannot make a role whose capability gives every scope.
    c.s.credential(
        "default",
        kind_client(),
        "sumo_writer",
        "sumo-writer-secret-0123456789",
        "users:read users:write",
    )
    .await;
    let r =
        c.s.post("/api/v1/roles")
            .basic_auth("sumo_writer", Some("sumo-writer-secret-0123456789"))
            .json(&json!({"name": "Backdoor", "capabilities": ["orgs:admin"]}))
            .send()
            .await
            .unwrap();
    let v = json(r, 403).await;
    assert_eq!(v["errors"][0]["code"], "forbidden", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("scim, orgs:admin"),
        "{v}"
    );
    let (status, roles) = c
        .send("sumo", Method::GET, "/api/v1/roles", Value::Null)
        .await;
    assert_eq!(status, 200, "{roles}");
    assert!(!roles.to_string().contains("Backdoor"), "{roles}");
    // Nothing was written: no role, no new credential.
    let u = c.scim_get(&format!("/Users/{target}")).await;
    assert!(u["roles"].as_array().is_none_or(|a| a.is_empty()), "{u}");
    let creds = json(
        c.s.get("/admin/v1/credentials")
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(!creds.to_string().contains("\"more\""), "{creds}");
    // A caller with every scope may; the grant and the minting are audited with the actor.
    c.scim(
        Method::PATCH,
        &format!("/Users/{target}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "add", "path": "roles", "value": [{"value": "Administrator"}]}]}),
        200,
    )
    .await;
    let r =
        c.s.post("/admin/v1/credentials")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"kind": "token", "label": "ok", "scopes": "scim"}))
            .send()
            .await
            .unwrap();
    json(r, 201).await;
    let store = c.s.store.clone();
    let uid = muster::domain::id_from_hex(&target).unwrap();
    let (user_entries, org_entries) = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        let org = muster::domain::OrgId::parse("default").unwrap();
        let mine = muster::store::audit::list(&mut conn, &org, Some(uid), 10).unwrap();
        let all = muster::store::audit::list(&mut conn, &org, None, 50).unwrap();
        (mine, all)
    })
    .await
    .unwrap();
    let grant = user_entries
        .iter()
        .find(|e| e.payload.get("rolesGranted").is_some())
        .expect("an audited grant");
    assert_eq!(grant.payload["rolesGranted"], json!(["Administrator"]));
    assert!(grant.actor.starts_with("scim:"), "{grant:?}");
    let minted = org_entries
        .iter()
        .find(|e| e.payload["action"] == "Credential.Create")
        .expect("an audited credential");
    assert_eq!(minted.payload["scopes"], "scim");
    assert!(minted.actor.starts_with("admin:"), "{minted:?}");
}
