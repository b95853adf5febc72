//! Logto's Management API over real HTTP, on SQLite and PostgreSQL: users, search and
//! paging, passwords (set, verify, imported digests), suspension, custom data, profile,
//! identities, logs; one user crossing SCIM and Logto; every bad input in Logto's shape.

use crate::common;

use common::*;
use serde_json::{json, Value};
use sha2::Digest;

both_backends!(
    user_lifecycle,
    search_and_paging,
    one_user_across_scim_and_logto,
    passwords_and_imported_digests,
    bad_input_gets_logto_errors,
    tokens_and_scopes,
    phone_numbers_normalise_as_logto,
    search_errors_carry_logtos_wording,
    regular_expressions_on_both_backends,
    unknown_users_and_empty_changes,
    password_hashes_and_imported_digests,
    roles_through_logtos_routes,
    usernames_are_one_identity_whatever_their_case,
);

fn api(s: &TestServer, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    s.http.request(method, s.url(path)).bearer_auth(ADMIN_TOKEN)
}

async fn send(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> reqwest::Response {
    api(s, method, path).json(&body).send().await.unwrap()
}

async fn create(s: &TestServer, body: Value) -> Value {
    json(
        send(s, reqwest::Method::POST, "/api/users", body).await,
        200,
    )
    .await
}

async fn get(s: &TestServer, path: &str, status: u16) -> Value {
    json(
        api(s, reqwest::Method::GET, path).send().await.unwrap(),
        status,
    )
    .await
}

/// A Logto error: status, code, and a message.
async fn logto_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    let body = json(resp, status).await;
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

const USER_KEYS: [&str; 16] = [
    "id",
    "username",
    "primaryEmail",
    "primaryPhone",
    "name",
    "avatar",
    "customData",
    "identities",
    "lastSignInAt",
    "createdAt",
    "updatedAt",
    "profile",
    "applicationId",
    "cimdClientId",
    "isSuspended",
    "hasPassword",
];

async fn user_lifecycle(b: Backend) {
    let s = TestServer::start(b).await;
    let before = chrono::Utc::now().timestamp_millis();
    let u = create(
        &s,
        json!({"username": "alice", "primaryEmail": "Alice@Example.com", "primaryPhone": "15550100",
               "name": "Alice Liddell", "avatar": "https://img.example/a.png", "password": "abc",
               "customData": {"plan": "gold", "seats": 3},
               "profile": {"givenName": "Alice", "familyName": "Liddell", "website": "https://alice.example",
                           "zoneinfo": "Europe/London", "address": {"country": "GB", "locality": "Oxford"}},
               "unknownKey": "stripped"}),
    )
    .await;
    for k in USER_KEYS {
        assert!(u.get(k).is_some(), "{k} missing from {u}");
    }
    let id = u["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 16);
    assert_eq!(u["username"], "alice");
    assert_eq!(u["primaryEmail"], "Alice@Example.com");
    assert_eq!(u["primaryPhone"], "15550100");
    assert_eq!(u["avatar"], "https://img.example/a.png");
    assert_eq!(u["hasPassword"], true);
    assert_eq!(u["isSuspended"], false);
    assert_eq!(u["customData"], json!({"plan": "gold", "seats": 3}));
    assert_eq!(u["identities"], json!({}));
    assert_eq!(u["lastSignInAt"], Value::Null);
    assert_eq!(u["applicationId"], Value::Null);
    assert_eq!(u["profile"]["website"], "https://alice.example");
    assert_eq!(u["profile"]["address"]["locality"], "Oxford");
    assert!(u.get("unknownKey").is_none());
    assert!(u.get("password").is_none() && u.get("passwordDigest").is_none());
    let created = u["createdAt"].as_i64().unwrap();
    assert!(
        created >= before - 1000 && created <= before + 60_000,
        "epoch ms"
    );

    // The profile claims land on SCIM's columns; the rest is kept whole.
    let scim = get(&s, &format!("/scim/v2/Users/{id}"), 200).await;
    assert_eq!(scim["name"]["givenName"], "Alice");
    assert_eq!(scim["name"]["familyName"], "Liddell");
    assert_eq!(scim["timezone"], "Europe/London");
    assert_eq!(scim["displayName"], "Alice Liddell");
    assert_eq!(scim["addresses"][0]["country"], "GB");
    assert_eq!(scim["phoneNumbers"][0]["value"], "15550100");

    // PATCH: given fields change, "" and null clear, customData / profile replace whole.
    let p = json(
        send(
            &s,
            reqwest::Method::PATCH,
            &format!("/api/users/{id}"),
            json!({"name": "Alice L.", "primaryPhone": "", "avatar": null,
                   "customData": {"tier": 1}, "profile": {"nickname": "al"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(p["name"], "Alice L.");
    assert_eq!(p["primaryPhone"], Value::Null);
    assert_eq!(p["avatar"], Value::Null);
    assert_eq!(p["username"], "alice", "omitted fields keep their value");
    assert_eq!(p["customData"], json!({"tier": 1}));
    assert_eq!(p["profile"], json!({"nickname": "al"}));
    assert!(p["updatedAt"].as_i64().unwrap() >= created);

    // Dedicated routes merge.
    let cd = json(
        send(
            &s,
            reqwest::Method::PATCH,
            &format!("/api/users/{id}/custom-data"),
            json!({"customData": {"theme": "dark"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cd, json!({"tier": 1, "theme": "dark"}));
    assert_eq!(
        get(&s, &format!("/api/users/{id}/custom-data"), 200).await,
        json!({"tier": 1, "theme": "dark"})
    );
    let prof = json(
        send(
            &s,
            reqwest::Method::PATCH,
            &format!("/api/users/{id}/profile"),
            json!({"profile": {"givenName": "Al"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(prof, json!({"nickname": "al", "givenName": "Al"}));

    // Suspension.
    let sus = json(
        send(
            &s,
            reqwest::Method::PATCH,
            &format!("/api/users/{id}/is-suspended"),
            json!({"isSuspended": true}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(sus["isSuspended"], true);
    assert_eq!(
        get(&s, &format!("/scim/v2/Users/{id}"), 200).await["active"],
        false
    );

    // Identities: 201 new, 200 replaced, the map back; DELETE answers the user.
    let path = format!("/api/users/{id}/identities/github");
    let r = send(
        &s,
        reqwest::Method::PUT,
        &path,
        json!({"userId": "gh-1", "details": {"login": "alice"}}),
    )
    .await;
    let ids = json(r, 201).await;
    assert_eq!(
        ids,
        json!({"github": {"userId": "gh-1", "details": {"login": "alice"}}})
    );
    let r = send(&s, reqwest::Method::PUT, &path, json!({"userId": "gh-2"})).await;
    assert_eq!(json(r, 200).await["github"]["userId"], "gh-2");
    assert_eq!(
        get(&s, &format!("/api/users/{id}"), 200).await["identities"]["github"]["userId"],
        "gh-2"
    );
    let after = json(
        api(&s, reqwest::Method::DELETE, &path)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(after["identities"], json!({}));
    logto_error(
        api(&s, reqwest::Method::DELETE, &path)
            .send()
            .await
            .unwrap(),
        404,
        "user.identity_not_exist",
    )
    .await;

    // Logs: every change above, newest first, in Logto's shape.
    let logs = get(&s, &format!("/api/logs?userId={id}"), 200).await;
    let keys: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.last(), Some(&"User.Created"), "{keys:?}");
    assert!(keys.contains(&"User.SuspensionStatus.Updated"), "{keys:?}");
    assert_eq!(
        keys.iter().filter(|k| **k == "User.Data.Updated").count(),
        6,
        "patch, custom data, profile, two links, one unlink: {keys:?}"
    );
    let first = &logs[0];
    assert_eq!(first["payload"]["userId"], id.as_str());
    assert_eq!(first["payload"]["result"], "Success");
    assert_eq!(first["payload"]["dialect"], "logto");
    assert_eq!(first["payload"]["key"], first["key"]);
    assert!(first["payload"]["credentialId"].is_string());
    assert!(first["createdAt"].as_i64().unwrap() >= created);
    let one = get(
        &s,
        &format!("/api/logs/{}", first["id"].as_str().unwrap()),
        200,
    )
    .await;
    assert_eq!(one["key"], first["key"]);
    let by_key = get(
        &s,
        &format!("/api/logs?userId={id}&logKey=User.SuspensionStatus.Updated"),
        200,
    )
    .await;
    assert_eq!(by_key.as_array().unwrap().len(), 1);
    let future = chrono::Utc::now().timestamp_millis() + 3_600_000;
    let none = get(
        &s,
        &format!("/api/logs?userId={id}&start_time={future}"),
        200,
    )
    .await;
    assert_eq!(none, json!([]));

    // Delete: 204 with an empty body, then 404 in Logto's words, over SCIM too.
    let r = api(&s, reqwest::Method::DELETE, &format!("/api/users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert!(r.text().await.unwrap().is_empty());
    let gone = logto_error(
        api(&s, reqwest::Method::GET, &format!("/api/users/{id}"))
            .send()
            .await
            .unwrap(),
        404,
        "entity.not_found",
    )
    .await;
    assert_eq!(gone["message"], "The resource does not exist.");
    get(&s, &format!("/scim/v2/Users/{id}"), 404).await;
    let logs = get(&s, &format!("/api/logs?userId={id}"), 200).await;
    assert_eq!(logs[0]["key"], "User.Deleted");
}

async fn search_and_paging(b: Backend) {
    let postgres = matches!(b, Backend::Postgres(_));
    let s = TestServer::start(b).await;
    let mut ids = vec![];
    for i in 0..45 {
        let u = create(
            &s,
            json!({"username": format!("user_{i:02}"), "primaryEmail": format!("u{i:02}@Corp.example"),
                   "name": if i % 2 == 0 { format!("Even {i}") } else { format!("Odd {i}") }}),
        )
        .await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    create(&s, json!({"username": "tom", "name": "100% Tom_"})).await;
    create(
        &s,
        json!({"name": "Élodie Ünal", "primaryEmail": "ÉLODIE@Café.example"}),
    )
    .await;

    // Newest first, default page size 20, Total-Number and Link.
    let r = api(&s, reqwest::Method::GET, "/api/users?page=2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["total-number"], "47");
    let link = r.headers()["link"].to_str().unwrap().to_string();
    let page = json(r, 200).await;
    assert_eq!(page.as_array().unwrap().len(), 20);
    assert_eq!(
        page[0]["username"], "user_26",
        "newest first: élodie, tom, 44..27 on page 1"
    );
    for (rel, p) in [("first", 1), ("prev", 1), ("next", 3), ("last", 3)] {
        assert!(
            link.contains(&format!("{}?page={p}>; rel=\"{rel}\"", s.url("/api/users"))),
            "{rel} in {link}"
        );
    }
    // Walk every page by `next`.
    let mut url = s.url("/api/users?page_size=7");
    let mut seen = 0;
    loop {
        let r = s
            .http
            .get(&url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let link = r.headers()["link"].to_str().unwrap().to_string();
        seen += json(r, 200).await.as_array().unwrap().len();
        let next = link
            .split(", ")
            .find(|l| l.ends_with("rel=\"next\""))
            .map(|l| l[1..l.find('>').unwrap()].to_string());
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    assert_eq!(seen, 47);
    assert_eq!(get(&s, "/api/users?page=99", 200).await, json!([]));

    let names = |v: &Value| -> Vec<String> {
        let mut n: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap_or("-").to_string())
            .collect();
        n.sort();
        n
    };
    // like: no implicit wildcards, case-insensitive unless asked.
    assert_eq!(
        names(&get(&s, "/api/users?search=USER_07", 200).await),
        ["user_07"]
    );
    assert_eq!(get(&s, "/api/users?search=user", 200).await, json!([]));
    let r = get(&s, "/api/users?search.username=user_4%25", 200).await;
    assert_eq!(
        names(&r),
        ["user_40", "user_41", "user_42", "user_43", "user_44"]
    );
    // `_` is a wildcard, `\_` a literal underscore; `%` likewise.
    assert_eq!(
        names(&get(&s, "/api/users?search.username=t_m", 200).await),
        ["tom"]
    );
    assert_eq!(
        get(&s, "/api/users?search.username=t%5C_m", 200).await,
        json!([])
    );
    assert_eq!(
        names(&get(&s, "/api/users?search.name=100%5C%25%20Tom%5C_", 200).await),
        ["tom"]
    );
    assert_eq!(
        get(
            &s,
            "/api/users?search.username=USER_07&isCaseSensitive=true",
            200
        )
        .await,
        json!([])
    );
    // Case folds beyond ASCII, on SQLite too.
    let r = get(&s, "/api/users?search.name=%C3%A9LODIE%25", 200).await;
    assert_eq!(r[0]["name"], "Élodie Ünal", "{r}");
    let r = get(
        &s,
        "/api/users?search.primaryEmail=%C3%A9lodie@caf%C3%A9.example&mode=exact",
        200,
    )
    .await;
    assert_eq!(r.as_array().unwrap().len(), 1, "{r}");
    // exact, several values, on the primary email.
    let r = get(
        &s,
        "/api/users?search.primaryEmail=U01@corp.example&search.primaryEmail=u02@CORP.example&mode.primaryEmail=exact",
        200,
    )
    .await;
    assert_eq!(names(&r), ["user_01", "user_02"]);
    // By id, exact.
    let r = get(
        &s,
        &format!(
            "/api/users?search.id={}&search.id={}&mode=exact",
            ids[3], ids[4]
        ),
        200,
    )
    .await;
    assert_eq!(names(&r), ["user_03", "user_04"]);
    // joint: and / or across fields.
    let and = get(
        &s,
        "/api/users?search.username=user_1%25&search.name=Even%25&joint=and",
        200,
    )
    .await;
    assert_eq!(
        names(&and),
        ["user_10", "user_12", "user_14", "user_16", "user_18"]
    );
    let r = api(
        &s,
        reqwest::Method::GET,
        "/api/users?search.username=user_1%25&search.name=Even%25&jointMode=or",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        r.headers()["total-number"],
        "28",
        "10 user_1x + 23 even - 5 both"
    );
    // excludeRoleId: roles given over SCIM are the same roles; Domo shows the role's id.
    for id in &ids[..3] {
        json(
            api(&s, reqwest::Method::PATCH, &format!("/scim/v2/Users/{id}"))
                .header("content-type", "application/scim+json")
                .body(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "add", "path": "roles", "value": [{"value": "Privileged"}]}]})
                    .to_string(),
                )
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
    }
    let domo_id = i64::from_str_radix(&ids[0], 16).unwrap();
    let role_id = get(&s, &format!("/v1/users/{domo_id}"), 200).await["roleId"]
        .as_i64()
        .expect("Domo shows the role's id");
    let hex_role = format!("{role_id:016X}");
    for rid in [role_id.to_string(), hex_role] {
        let r = api(
            &s,
            reqwest::Method::GET,
            &format!("/api/users?excludeRoleId={rid}&search.username=user_0%25"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.headers()["total-number"], "7", "user_03..user_09");
        let left = names(&json(r, 200).await);
        assert_eq!(left.first().map(String::as_str), Some("user_03"));
    }
    // similar_to and posix: PostgreSQL runs them; SQLite says it cannot, clearly.
    let sim = api(
        &s,
        reqwest::Method::GET,
        "/api/users?search.username=user_0(1|2)&mode=similar_to&isCaseSensitive=true",
    )
    .send()
    .await
    .unwrap();
    let posix = api(
        &s,
        reqwest::Method::GET,
        "/api/users?search.username=%5EUSER_0%5B34%5D%24&mode=posix",
    )
    .send()
    .await
    .unwrap();
    // Both backends run them alike (SQLite through the `regex` crate).
    let _ = postgres;
    assert_eq!(names(&json(sim, 200).await), ["user_01", "user_02"]);
    assert_eq!(names(&json(posix, 200).await), ["user_03", "user_04"]);
    logto_error(
        api(
            &s,
            reqwest::Method::GET,
            "/api/users?search.username=(&mode=posix",
        )
        .send()
        .await
        .unwrap(),
        400,
        "request.invalid_input",
    )
    .await;
    logto_error(
        api(
            &s,
            reqwest::Method::GET,
            "/api/users?search=a&mode=similar_to",
        )
        .send()
        .await
        .unwrap(),
        400,
        "request.invalid_input",
    )
    .await;
}

async fn one_user_across_scim_and_logto(b: Backend) {
    let s = TestServer::start(b).await;
    let scim = |m: reqwest::Method, path: &str| {
        api(&s, m, &format!("/scim/v2{path}")).header("content-type", "application/scim+json")
    };
    let u = json(
        scim(reqwest::Method::POST, "/Users")
            .body(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": "bjensen", "displayName": "Barbara", "password": "t1meMachine",
                       "emails": [{"value": "bjensen@example.com", "primary": true}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let id = u["id"].as_str().unwrap().to_string();
    // Logto sees the same user, and verifies the SCIM password.
    let l = get(&s, &format!("/api/users/{id}"), 200).await;
    assert_eq!(l["username"], "bjensen");
    assert_eq!(l["primaryEmail"], "bjensen@example.com");
    assert_eq!(l["hasPassword"], true);
    let verify = |pw: &str| {
        api(
            &s,
            reqwest::Method::POST,
            &format!("/api/users/{id}/password/verify"),
        )
        .json(&json!({ "password": pw }))
        .send()
    };
    assert_eq!(verify("t1meMachine").await.unwrap().status().as_u16(), 204);
    logto_error(
        verify("wrong").await.unwrap(),
        422,
        "session.invalid_credentials",
    )
    .await;
    // Suspended by Logto: SCIM reads active false, and a PUT without `active` keeps it.
    json(
        send(
            &s,
            reqwest::Method::PATCH,
            &format!("/api/users/{id}/is-suspended"),
            json!({"isSuspended": true}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        get(&s, &format!("/scim/v2/Users/{id}"), 200).await["active"],
        false
    );
    let put = json(
        scim(reqwest::Method::PUT, &format!("/Users/{id}"))
            .body(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": "bjensen", "displayName": "Babs Jensen",
                       "emails": [{"value": "bjensen@example.com", "primary": true}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(put["active"], false);
    // Renamed over SCIM: Logto reads the new name, still suspended.
    let l = get(&s, &format!("/api/users/{id}"), 200).await;
    assert_eq!(l["name"], "Babs Jensen");
    assert_eq!(l["isSuspended"], true);
    // Reinstated by Logto: SCIM says active.
    json(
        send(
            &s,
            reqwest::Method::PATCH,
            &format!("/api/users/{id}/is-suspended"),
            json!({"isSuspended": false}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        get(&s, &format!("/scim/v2/Users/{id}"), 200).await["active"],
        true
    );
    // Logto finds the SCIM user by its email; its username is taken for Logto too.
    let found = get(
        &s,
        "/api/users?search.primaryEmail=BJENSEN@example.com",
        200,
    )
    .await;
    assert_eq!(found[0]["id"], id.as_str());
    logto_error(
        send(
            &s,
            reqwest::Method::POST,
            "/api/users",
            json!({"username": "BJensen"}),
        )
        .await,
        422,
        "user.username_already_in_use",
    )
    .await;
    // Deleted by Logto: gone from SCIM.
    let r = api(&s, reqwest::Method::DELETE, &format!("/api/users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    get(&s, &format!("/scim/v2/Users/{id}"), 404).await;
    // Every step is in the user's logs, SCIM's under `Scim.<verb>`.
    let logs = get(&s, &format!("/api/logs?userId={id}"), 200).await;
    let steps: Vec<(String, String)> = logs
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|l| {
            (
                l["payload"]["dialect"].as_str().unwrap().to_string(),
                l["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("scim", "Scim.User.Create"),
        ("logto", "User.SuspensionStatus.Updated"),
        ("scim", "Scim.User.Update"),
        ("logto", "User.SuspensionStatus.Updated"),
        ("logto", "User.Deleted"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(steps, want);
}

async fn passwords_and_imported_digests(b: Backend) {
    let s = TestServer::start_with(b, |c| c.bcrypt_cost = 4).await;
    let verify = |id: String, pw: &'static str| {
        let req = api(
            &s,
            reqwest::Method::POST,
            &format!("/api/users/{id}/password/verify"),
        )
        .json(&json!({ "password": pw }));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let sha = hex::encode(sha2::Sha256::digest(b"imported-pw"));
    let bc = bcrypt::hash("imported-pw", 4).unwrap();
    let argon = {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"saltsaltsaltsalt").unwrap();
        argon2::Argon2::default()
            .hash_password(b"imported-pw", &salt)
            .unwrap()
            .to_string()
    };
    for (alg, digest) in [("SHA256", sha), ("Bcrypt", bc.clone()), ("Argon2id", argon)] {
        let u = create(
            &s,
            json!({"passwordDigest": digest, "passwordAlgorithm": alg}),
        )
        .await;
        let id = u["id"].as_str().unwrap().to_string();
        assert_eq!(u["hasPassword"], true, "{alg}");
        assert_eq!(verify(id.clone(), "imported-pw").await, 204, "{alg}");
        assert_eq!(verify(id.clone(), "other").await, 422, "{alg}");
        // Set a new one: bcrypt, the old one no longer matches.
        let r = send(
            &s,
            reqwest::Method::PATCH,
            &format!("/api/users/{id}/password"),
            json!({"password": "new-pw"}),
        )
        .await;
        assert_eq!(json(r, 200).await["hasPassword"], true);
        assert_eq!(verify(id.clone(), "new-pw").await, 204, "{alg}");
        assert_eq!(verify(id, "imported-pw").await, 422, "{alg}");
    }
    // An imported bcrypt hash signs the user in over SCIM's password too: one hash model.
    let nopw = create(&s, json!({"username": "nopw"})).await;
    assert_eq!(nopw["hasPassword"], false);
    let hp = get(
        &s,
        &format!("/api/users/{}/has-password", nopw["id"].as_str().unwrap()),
        200,
    )
    .await;
    assert_eq!(hp, json!({"hasPassword": false}));
    assert_eq!(verify(nopw["id"].as_str().unwrap().into(), "x").await, 422);
    // The rules, in Logto's order.
    logto_error(
        send(
            &s,
            reqwest::Method::POST,
            "/api/users",
            json!({"password": "a", "passwordDigest": bc, "passwordAlgorithm": "Bcrypt"}),
        )
        .await,
        400,
        "user.password_and_digest",
    )
    .await;
    logto_error(
        send(
            &s,
            reqwest::Method::POST,
            "/api/users",
            json!({"passwordDigest": bc}),
        )
        .await,
        400,
        "user.password_algorithm_required",
    )
    .await;
    for (alg, digest) in [
        ("Bcrypt", "nope"),
        ("MD5", &*"a".repeat(257)),
        ("ROT13", "a"),
    ] {
        let e = logto_error(
            send(
                &s,
                reqwest::Method::POST,
                "/api/users",
                json!({"passwordDigest": digest, "passwordAlgorithm": alg}),
            )
            .await,
            400,
            "guard.invalid_input",
        )
        .await;
        assert!(
            e["details"].as_str().unwrap().contains("passwordDigest"),
            "{e}"
        );
    }
}

async fn bad_input_gets_logto_errors(b: Backend) {
    let s = TestServer::start_with(b, |c| c.max_body_bytes = 64 * 1024).await;
    let u = create(
        &s,
        json!({"username": "target", "primaryEmail": "t@x.example", "primaryPhone": "123"}),
    )
    .await;
    let id = u["id"].as_str().unwrap().to_string();
    let get_err = |path: &'static str| api(&s, reqwest::Method::GET, path).send();
    for (path, code) in [
        ("/api/users?page_size=0", "guard.invalid_pagination"),
        ("/api/users?page_size=101", "guard.invalid_pagination"),
        ("/api/users?page=0", "guard.invalid_pagination"),
        ("/api/users?page=abc", "guard.invalid_pagination"),
        ("/api/users?search.age=3", "request.invalid_input"),
        ("/api/users?search.name.first=a", "request.invalid_input"),
        ("/api/users?search.name=", "request.invalid_input"),
        ("/api/users?search=a&mode=fuzzy", "request.invalid_input"),
        ("/api/users?search=a&search=b", "request.invalid_input"),
        ("/api/users?search=a&joint=xor", "request.invalid_input"),
        ("/api/users?search=a%5C", "request.invalid_input"),
        (
            "/api/users?excludeRoleId=a&excludeOrganizationId=b",
            "request.invalid_input",
        ),
        ("/api/logs?page_size=101", "guard.invalid_pagination"),
        ("/api/logs?start_time=10&end_time=5", "guard.invalid_input"),
        ("/api/logs?start_time=soon", "guard.invalid_input"),
        ("/api/users/ZZZ", "entity.not_found"),
        ("/api/users/0000000000000001", "entity.not_found"),
        ("/api/logs/nope", "entity.not_exists_with_id"),
        ("/api/nothing-here", "entity.not_found"),
    ] {
        let r = get_err(path).await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert!((400..500).contains(&status), "{path}: {status} {body}");
        assert_eq!(body["code"], code, "{path}: {body}");
    }
    let post = |body: String| {
        api(&s, reqwest::Method::POST, "/api/users")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (body, status, code) in [
        ("{\"username\": ".to_string(), 400, "guard.invalid_input"),
        ("[1, 2]".to_string(), 400, "guard.invalid_input"),
        (
            json!({"username": 5}).to_string(),
            400,
            "guard.invalid_input",
        ),
        (
            json!({"username": "1abc"}).to_string(),
            400,
            "guard.invalid_input",
        ),
        (
            json!({"primaryEmail": "not-an-email"}).to_string(),
            400,
            "guard.invalid_input",
        ),
        (
            json!({"primaryPhone": "+1 555"}).to_string(),
            400,
            "guard.invalid_input",
        ),
        (
            json!({"avatar": "javascript:x"}).to_string(),
            400,
            "guard.invalid_input",
        ),
        (
            json!({"customData": [1]}).to_string(),
            400,
            "guard.invalid_input",
        ),
        (
            json!({"profile": {"givenName": 7}}).to_string(),
            400,
            "guard.invalid_input",
        ),
        (
            json!({"password": ""}).to_string(),
            400,
            "guard.invalid_input",
        ),
        (
            json!({"username": "TARGET"}).to_string(),
            422,
            "user.username_already_in_use",
        ),
        (
            json!({"primaryEmail": "T@X.example"}).to_string(),
            422,
            "user.email_already_in_use",
        ),
        (
            json!({"primaryPhone": "123"}).to_string(),
            422,
            "user.phone_already_in_use",
        ),
        (
            json!({"name": "x".repeat(100 * 1024)}).to_string(),
            413,
            "guard.invalid_input",
        ),
    ] {
        let r = post(body.clone()).await.unwrap();
        let got = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
        assert_eq!(got, status, "{}: {v}", &body[..body.len().min(60)]);
        assert_eq!(v["code"], code, "{v}");
    }
    let e = logto_error(
        post(json!({"username": 5}).to_string()).await.unwrap(),
        400,
        "guard.invalid_input",
    )
    .await;
    assert!(e["details"].as_str().unwrap().contains("username"), "{e}");
    // Wrong types on the other bodies.
    for (m, path, body) in [
        (
            reqwest::Method::PATCH,
            format!("/api/users/{id}/is-suspended"),
            json!({"isSuspended": "yes"}),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/users/{id}/is-suspended"),
            json!({}),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/users/{id}/password"),
            json!({"password": 12}),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/users/{id}/custom-data"),
            json!({"customData": "x"}),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/users/{id}"),
            json!({"name": ["x"]}),
        ),
        (
            reqwest::Method::PUT,
            format!("/api/users/{id}/identities/gh"),
            json!({"userId": 1}),
        ),
        (
            reqwest::Method::PUT,
            format!("/api/users/{id}/identities/gh"),
            json!({"userId": ""}),
        ),
    ] {
        logto_error(send(&s, m, &path, body).await, 400, "guard.invalid_input").await;
    }
    // PATCH collisions: email, phone, username, in that order.
    let other = create(&s, json!({"username": "other"})).await;
    let op = format!("/api/users/{}", other["id"].as_str().unwrap());
    logto_error(
        send(
            &s,
            reqwest::Method::PATCH,
            &op,
            json!({"username": "target", "primaryEmail": "t@x.example"}),
        )
        .await,
        422,
        "user.email_already_in_use",
    )
    .await;
    logto_error(
        send(
            &s,
            reqwest::Method::PATCH,
            &op,
            json!({"username": "Target"}),
        )
        .await,
        422,
        "user.username_already_in_use",
    )
    .await;
    // A user without a login name answers to their email over SCIM: a Logto user whose
    // email is that name collides on the email.
    json(
        api(&s, reqwest::Method::POST, "/scim/v2/Users")
            .header("content-type", "application/scim+json")
            .body(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                         "userName": "login@x.example"})
                .to_string(),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    logto_error(
        send(
            &s,
            reqwest::Method::POST,
            "/api/users",
            json!({"primaryEmail": "Login@x.example"}),
        )
        .await,
        422,
        "user.email_already_in_use",
    )
    .await;
    // A PATCH that keeps the user's own email is no collision.
    json(
        send(
            &s,
            reqwest::Method::PATCH,
            &format!("/api/users/{id}"),
            json!({"primaryEmail": "t@x.example"}),
        )
        .await,
        200,
    )
    .await;
    // Nothing above changed the target.
    let now = get(&s, &format!("/api/users/{id}"), 200).await;
    assert_eq!(now["username"], "target");
    assert_eq!(now["updatedAt"], u["updatedAt"]);
    logto_error(
        send(
            &s,
            reqwest::Method::PATCH,
            "/api/users/0000000000000001",
            json!({"name": "x"}),
        )
        .await,
        404,
        "entity.not_found",
    )
    .await;
}

async fn tokens_and_scopes(b: Backend) {
    let s = TestServer::start(b).await;
    s.credential(
        "default",
        kind_client(),
        "m2m-app",
        "m2m-secret-0123456789",
        "all",
    )
    .await;
    s.credential(
        "default",
        kind_token(),
        "tok_reader",
        "reader-secret-0123456789",
        "users:read",
    )
    .await;
    // The routes are in the API description, with their schemas.
    let spec = json(s.get("/openapi.json").send().await.unwrap(), 200).await;
    for (path, method) in [
        ("/api/users", "get"),
        ("/api/users", "post"),
        ("/api/users/{userId}", "patch"),
        ("/api/users/{userId}/password/verify", "post"),
        ("/api/users/{userId}/identities/{target}", "put"),
        ("/api/logs", "get"),
    ] {
        assert!(
            spec["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    assert!(spec["components"]["schemas"]["LogtoUser"]["properties"]["primaryEmail"].is_object());
    assert!(
        spec["components"]["schemas"]["LogtoNewUser"]["properties"]["passwordDigest"].is_object()
    );
    // An M2M token, client secret in the form (client_secret_post, as @logto/api sends it).
    let tok = json(
        s.post("/oidc/token")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "m2m-app"),
                ("client_secret", "m2m-secret-0123456789"),
                ("resource", "https://default.logto.app/api"),
                ("scope", "all"),
            ])
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(tok["scope"], "all");
    let access = tok["access_token"].as_str().unwrap().to_string();
    let u = json(
        s.post("/api/users")
            .bearer_auth(&access)
            .json(&json!({"username": "m2m_made"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let logs = get(
        &s,
        &format!("/api/logs?userId={}", u["id"].as_str().unwrap()),
        200,
    )
    .await;
    assert_eq!(logs[0]["payload"]["applicationId"], "m2m-app");
    let by_app = get(&s, "/api/logs?applicationId=m2m-app", 200).await;
    assert_eq!(by_app.as_array().unwrap().len(), 1);
    // users:read reads but cannot write: 403 auth.forbidden, nothing made.
    let r = s
        .get("/api/users")
        .bearer_auth("reader-secret-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(json(r, 200).await.as_array().unwrap().len(), 1);
    logto_error(
        s.post("/api/users")
            .bearer_auth("reader-secret-0123456789")
            .json(&json!({"username": "nope"}))
            .send()
            .await
            .unwrap(),
        403,
        "auth.forbidden",
    )
    .await;
    // 401s say why; a bad credential is a 401 whatever the body.
    logto_error(
        s.get("/api/users").send().await.unwrap(),
        401,
        "auth.authorization_header_missing",
    )
    .await;
    logto_error(
        s.get("/api/users")
            .basic_auth("m2m-app", Some("m2m-secret-0123456789"))
            .send()
            .await
            .unwrap(),
        401,
        "auth.authorization_token_type_not_supported",
    )
    .await;
    logto_error(
        s.post("/api/users")
            .bearer_auth("wrong-token-0123456789")
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
        401,
        "auth.unauthorized",
    )
    .await;
    // Another organization's credential sees none of these users.
    s.org("acme", None).await;
    s.credential(
        "acme",
        kind_token(),
        "tok_acme",
        "acme-secret-0123456789",
        "all",
    )
    .await;
    let r = s
        .get("/api/users")
        .bearer_auth("acme-secret-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["total-number"], "0");
    logto_error(
        s.get(&format!("/api/users/{}", u["id"].as_str().unwrap()))
            .bearer_auth("acme-secret-0123456789")
            .send()
            .await
            .unwrap(),
        404,
        "entity.not_found",
    )
    .await;
    assert_eq!(
        get(&s, "/api/logs?page_size=100", 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ---- issue 32: Logto as Logto itself behaves ----

/// An error with Logto's status, code and exact message.
async fn logto_says(resp: reqwest::Response, status: u16, code: &str, message: &str) -> Value {
    let body = logto_error(resp, status, code).await;
    assert_eq!(body["message"], message, "{body}");
    body
}

async fn phone_numbers_normalise_as_logto(b: Backend) {
    let s = TestServer::start(b).await;
    // Stored as Logto stores them: country code and national number, the `0` dropped.
    let au = create(
        &s,
        json!({"username": "au", "primaryPhone": "610412345678"}),
    )
    .await;
    assert_eq!(au["primaryPhone"], "61412345678");
    let uk = create(
        &s,
        json!({"username": "uk", "primaryPhone": "4407911123456"}),
    )
    .await;
    assert_eq!(uk["primaryPhone"], "447911123456");
    let uk_id = uk["id"].as_str().unwrap().to_string();
    let got = get(&s, &format!("/api/users/{uk_id}"), 200).await;
    assert_eq!(got["primaryPhone"], "447911123456");
    // Uniqueness compares the normalised numbers, either way round.
    create(
        &s,
        json!({"username": "one", "primaryPhone": "61498765432"}),
    )
    .await;
    let taken = "This phone number is associated with an existing account.";
    logto_says(
        send(
            &s,
            reqwest::Method::POST,
            "/api/users",
            json!({"username": "two", "primaryPhone": "610498765432"}),
        )
        .await,
        422,
        "user.phone_already_in_use",
        taken,
    )
    .await;
    logto_says(
        send(
            &s,
            reqwest::Method::PATCH,
            &format!("/api/users/{uk_id}"),
            json!({"primaryPhone": "610412345678"}),
        )
        .await,
        422,
        "user.phone_already_in_use",
        taken,
    )
    .await;
    // The rule is the directory's: SCIM's digits collide with Logto's number too.
    let r = scim(&s, reqwest::Method::POST, "/Users")
        .json(&json!({"schemas": [USER], "userName": "scim_au",
                      "phoneNumbers": [{"value": "610412345678", "primary": true}]}))
        .send()
        .await
        .unwrap();
    let e = json(r, 409).await;
    assert_eq!(e["scimType"], "uniqueness", "{e}");
    // A number stored in the other form (SCIM keeps what it is given) is found by either.
    let legacy = json(
        scim(&s, reqwest::Method::POST, "/Users")
            .json(&json!({"schemas": [USER], "userName": "legacy",
                          "phoneNumbers": [{"value": "4407911654321", "primary": true}]}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let legacy_id = legacy["id"].as_str().unwrap();
    for q in [
        "search.primaryPhone=447911654321&mode.primaryPhone=exact",
        "search.primaryPhone=4407911654321",
        "search=447911654321",
    ] {
        let found = get(&s, &format!("/api/users?{q}"), 200).await;
        let ids: Vec<&str> = found
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [legacy_id], "{q}");
    }
    let found = get(&s, "/api/users?search.primaryPhone=610412345678", 200).await;
    assert_eq!(found[0]["id"], au["id"]);
    assert_eq!(found.as_array().unwrap().len(), 1);
    // Digits libphonenumber cannot read as a number: Logto's 422.
    logto_says(
        send(
            &s,
            reqwest::Method::POST,
            "/api/users",
            json!({"primaryPhone": "0123456"}),
        )
        .await,
        422,
        "user.invalid_phone",
        "Invalid phone number.",
    )
    .await;
}

async fn search_errors_carry_logtos_wording(b: Backend) {
    let s = TestServer::start(b).await;
    create(&s, json!({"username": "Sam_Case"})).await;
    let input = |d: &str| format!("Input is invalid. {d}");
    for (q, message) in [
        (
            "search.name=a&search.name=b",
            input("Only one search value is allowed when search mode is not `exact`."),
        ),
        ("search.name=", input("Search value cannot be empty.")),
        (
            "search.name=a&search.name=&mode.name=exact",
            input("Search value cannot be empty."),
        ),
        (
            "search=a&mode=similar_to",
            input("Cannot use case-insensitive match for `similar to`."),
        ),
        (
            "search=a&mode=fuzzy",
            input("Search match mode `fuzzy` is not valid, expect one of exact, like, similar_to, posix."),
        ),
        (
            "search.name=a&mode.name=fuzzy",
            input("Search match mode `fuzzy` for field `name` is not valid, expect one of exact, like, similar_to, posix."),
        ),
        (
            "search.age=1",
            input("Search field `age` is not valid, expect one of id, primary_email, primary_phone, username, name."),
        ),
        (
            "search.primaryPets=1",
            input("Search field `primary_pets` is not valid, expect one of id, primary_email, primary_phone, username, name."),
        ),
        (
            "search=a&joint=xor",
            input("Search joint mode `xor` is not valid, expect one of or, and."),
        ),
        (
            "search.name.first=a",
            input("Unsupported nested search field path `name.first` detected. Only the first level field is supported."),
        ),
    ] {
        let r = api(&s, reqwest::Method::GET, &format!("/api/users?{q}"))
            .send()
            .await
            .unwrap();
        logto_says(r, 400, "request.invalid_input", &message).await;
    }
    // Several exact values are fine; a mode for a field nobody searches changes nothing.
    let r = get(
        &s,
        "/api/users?search.username=x&search.username=sam_case&mode.username=exact&mode.age=like",
        200,
    )
    .await;
    assert_eq!(r[0]["username"], "Sam_Case");
}

async fn regular_expressions_on_both_backends(b: Backend) {
    let s = TestServer::start(b).await;
    for n in ["ann_lee", "Anna_Bell", "bob_ann"] {
        create(&s, json!({"username": n})).await;
    }
    let names = |v: &Value| {
        let mut n: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    for (q, want) in [
        // posix: anywhere in the value; case-insensitive unless asked.
        (
            "search.username=%5Eann&mode=posix",
            vec!["Anna_Bell", "ann_lee"],
        ),
        (
            "search.username=%5Eann&mode=posix&isCaseSensitive=true",
            vec!["ann_lee"],
        ),
        ("search.username=ann%24&mode=posix", vec!["bob_ann"]),
        (
            "search.username=_(lee%7Cbell)%24&mode=posix",
            vec!["Anna_Bell", "ann_lee"],
        ),
        // similar_to: the whole value, `%` and `_`, alternatives; case-sensitive.
        (
            "search.username=%25ann%25&mode=similar_to&isCaseSensitive=true",
            vec!["ann_lee", "bob_ann"],
        ),
        (
            "search.username=(ann%7CAnna)_%25&mode=similar_to&isCaseSensitive=true",
            vec!["Anna_Bell", "ann_lee"],
        ),
        (
            "search.username=ann&mode=similar_to&isCaseSensitive=true",
            vec![],
        ),
    ] {
        assert_eq!(
            names(&get(&s, &format!("/api/users?{q}"), 200).await),
            want,
            "{q}"
        );
    }
    // A lone escape at the end of a similar_to pattern is dropped, as PostgreSQL does.
    assert_eq!(
        names(
            &get(
                &s,
                "/api/users?search.username=bob_ann%5C&mode=similar_to&isCaseSensitive=true",
                200
            )
            .await
        ),
        ["bob_ann"]
    );
    for q in [
        "search.username=(&mode=posix",
        "search.username=(ann&mode=similar_to&isCaseSensitive=true",
    ] {
        let r = api(&s, reqwest::Method::GET, &format!("/api/users?{q}"))
            .send()
            .await
            .unwrap();
        logto_error(r, 400, "request.invalid_input").await;
    }
}

async fn unknown_users_and_empty_changes(b: Backend) {
    let s = TestServer::start(b).await;
    let missing = "The resource does not exist.";
    for (method, path) in [
        (reqwest::Method::GET, "/api/users/0000000000000ABC"),
        (reqwest::Method::PATCH, "/api/users/0000000000000ABC"),
        (reqwest::Method::DELETE, "/api/users/0000000000000ABC"),
        (reqwest::Method::GET, "/api/users/invalid-user-id"),
        (reqwest::Method::PATCH, "/api/users/invalid-user-id"),
    ] {
        let r = api(&s, method.clone(), path)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        logto_says(r, 404, "entity.not_found", missing).await;
    }
    // An unknown user with nothing to change is still the 404.
    logto_says(
        send(
            &s,
            reqwest::Method::PATCH,
            "/api/users/0000000000000ABC",
            json!({}),
        )
        .await,
        404,
        "entity.not_found",
        missing,
    )
    .await;
    let u = create(&s, json!({"username": "still", "name": "Still"})).await;
    let id = u["id"].as_str().unwrap().to_string();
    for body in [json!({}), json!({"unknownKey": 1})] {
        logto_says(
            send(
                &s,
                reqwest::Method::PATCH,
                &format!("/api/users/{id}"),
                body,
            )
            .await,
            422,
            "entity.invalid_input",
            "Invalid input. Value list must not be empty.",
        )
        .await;
    }
    let after = get(&s, &format!("/api/users/{id}"), 200).await;
    assert_eq!(after["updatedAt"], u["updatedAt"]);
    assert_eq!(after["name"], "Still");
    // Logto's current user body: `cimdClientId` null; `ssoIdentities` only when asked.
    assert_eq!(after["cimdClientId"], Value::Null);
    assert!(after.as_object().unwrap().contains_key("cimdClientId"));
    assert!(after.get("ssoIdentities").is_none());
    let with = get(
        &s,
        &format!("/api/users/{id}?includeSsoIdentities=true"),
        200,
    )
    .await;
    assert_eq!(with["ssoIdentities"], json!([]));
    let without = get(
        &s,
        &format!("/api/users/{id}?includeSsoIdentities=false"),
        200,
    )
    .await;
    assert!(without.get("ssoIdentities").is_none());
    let listed = get(&s, "/api/users", 200).await;
    assert_eq!(listed[0]["cimdClientId"], Value::Null);
}

async fn password_hashes_and_imported_digests(b: Backend) {
    let s = TestServer::start_with(b, |c| c.bcrypt_cost = 4).await;
    s.credential(
        "default",
        kind_token(),
        "tok_reader",
        "reader-secret-0123456789",
        "users:read",
    )
    .await;
    let verify = |id: String, pw: &'static str| {
        let req = api(
            &s,
            reqwest::Method::POST,
            &format!("/api/users/{id}/password/verify"),
        )
        .json(&json!({ "password": pw }));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let id_of = |u: &Value| u["id"].as_str().unwrap().to_string();
    // Muster's own hash: Bcrypt.
    let own = create(&s, json!({"username": "own", "password": "s3cret"})).await;
    assert!(own.get("passwordDigest").is_none() && own.get("passwordAlgorithm").is_none());
    let plain = get(&s, &format!("/api/users/{}", id_of(&own)), 200).await;
    assert!(plain.get("passwordDigest").is_none() && plain.get("passwordAlgorithm").is_none());
    let with = get(
        &s,
        &format!("/api/users/{}?includePasswordHash=true", id_of(&own)),
        200,
    )
    .await;
    assert_eq!(with["passwordAlgorithm"], "Bcrypt");
    let digest = with["passwordDigest"].as_str().unwrap();
    assert!(
        digest.starts_with("$2") && bcrypt::verify("s3cret", digest).unwrap(),
        "{with}"
    );
    // Imported digests: any string up to 256 characters for the fast hashes, as given.
    let md5 = create(
        &s,
        json!({"username": "md5", "passwordDigest": "5f4dcc3b5aa765d61d8327deb882cf99",
               "passwordAlgorithm": "MD5"}),
    )
    .await;
    assert_eq!(verify(id_of(&md5), "password").await, 204);
    assert_eq!(verify(id_of(&md5), "Password").await, 422);
    let long = create(
        &s,
        json!({"passwordDigest": "a".repeat(256), "passwordAlgorithm": "MD5"}),
    )
    .await;
    assert_eq!(long["hasPassword"], true);
    let e = logto_error(
        send(
            &s,
            reqwest::Method::POST,
            "/api/users",
            json!({"passwordDigest": "a".repeat(257), "passwordAlgorithm": "MD5"}),
        )
        .await,
        400,
        "guard.invalid_input",
    )
    .await;
    assert!(
        e["details"].as_str().unwrap().contains("passwordDigest"),
        "{e}"
    );
    // Legacy: Logto's hash expression, stored and verified.
    let expr = "[\"sha512\", [\"@\"], \"b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb980b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86\"]";
    let legacy = create(
        &s,
        json!({"username": "legacy", "passwordDigest": expr, "passwordAlgorithm": "Legacy"}),
    )
    .await;
    assert_eq!(verify(id_of(&legacy), "password").await, 204);
    assert_eq!(verify(id_of(&legacy), "passwords").await, 422);
    let salted = format!(
        "[\"sha256\", [\"pepper:\", \"@\", \":salt\"], \"{}\"]",
        hex::encode(sha2::Sha256::digest(b"pepper:hunter2:salt"))
    );
    let salted = create(
        &s,
        json!({"passwordDigest": salted, "passwordAlgorithm": "Legacy"}),
    )
    .await;
    assert_eq!(verify(id_of(&salted), "hunter2").await, 204);
    for (digest, code, message) in [
        (
            "[\"sha512\", [\"salt\"], \"x\"]",
            "password.invalid_legacy_password_format",
            "Invalid legacy password format.",
        ),
        (
            "not json",
            "password.invalid_legacy_password_format",
            "Invalid legacy password format.",
        ),
        (
            "[\"whirlpool\", [\"@\"], \"x\"]",
            "password.unsupported_legacy_hash_algorithm",
            "Unsupported legacy hash algorithm: whirlpool.",
        ),
    ] {
        logto_says(
            send(
                &s,
                reqwest::Method::POST,
                "/api/users",
                json!({"passwordDigest": digest, "passwordAlgorithm": "Legacy"}),
            )
            .await,
            400,
            code,
            message,
        )
        .await;
    }
    // Each imported digest shows with its own algorithm; no password is null / null.
    let nopw = create(&s, json!({"username": "nopw"})).await;
    for (u, alg, digest) in [
        (
            &md5,
            json!("MD5"),
            json!("5f4dcc3b5aa765d61d8327deb882cf99"),
        ),
        (&legacy, json!("Legacy"), json!(expr)),
        (&nopw, Value::Null, Value::Null),
    ] {
        let got = get(
            &s,
            &format!("/api/users/{}?includePasswordHash=true", id_of(u)),
            200,
        )
        .await;
        assert_eq!(got["passwordAlgorithm"], alg, "{got}");
        assert_eq!(got["passwordDigest"], digest, "{got}");
        assert!(got.as_object().unwrap().contains_key("passwordDigest"));
    }
    // The list takes the flag too.
    let page = get(
        &s,
        "/api/users?search.username=md5&includePasswordHash=true",
        200,
    )
    .await;
    assert_eq!(page[0]["passwordAlgorithm"], "MD5");
    let page = get(&s, "/api/users?search.username=md5", 200).await;
    assert!(page[0].get("passwordDigest").is_none());
    // Only to a credential that may change users; a reader gets Logto's 403.
    let r = s
        .get(&format!(
            "/api/users/{}?includePasswordHash=true",
            id_of(&md5)
        ))
        .bearer_auth("reader-secret-0123456789")
        .send()
        .await
        .unwrap();
    logto_error(r, 403, "auth.forbidden").await;
    let r = s
        .get(&format!("/api/users/{}", id_of(&md5)))
        .bearer_auth("reader-secret-0123456789")
        .send()
        .await
        .unwrap();
    assert!(json(r, 200).await.get("passwordDigest").is_none());
    // Every read of a digest is in the audit trail, with who read it.
    let logs = get(
        &s,
        &format!(
            "/api/logs?userId={}&logKey=Logto.PasswordHash.Read",
            id_of(&md5)
        ),
        200,
    )
    .await;
    let logs = logs.as_array().unwrap();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert_eq!(logs[0]["payload"]["action"], "PasswordHash.Read");
    assert_eq!(logs[0]["payload"]["algorithm"], "MD5");
    assert!(logs[0]["payload"].get("hash").is_none());
    assert!(!logs[0]
        .to_string()
        .contains("5f4dcc3b5aa765d61d8327deb882cf99"));
}

async fn roles_through_logtos_routes(b: Backend) {
    let s = TestServer::start(b).await;
    s.credential(
        "default",
        kind_client(),
        "sumo_admin",
        "sumo-secret-0123456789",
        "all",
    )
    .await;
    let sumo_user = |id: String| {
        let r = s
            .get(&format!("/api/v1/users/{id}"))
            .basic_auth("sumo_admin", Some("sumo-secret-0123456789"));
        async move { json(r.send().await.unwrap(), 200).await }
    };
    let ann = create(
        &s,
        json!({"username": "ann", "name": "Ann", "avatar": "https://img.example/ann.png"}),
    )
    .await;
    let bob = create(&s, json!({"username": "bob"})).await;
    let ann_id = ann["id"].as_str().unwrap().to_string();
    let bob_id = bob["id"].as_str().unwrap().to_string();

    // Create, get, change, list.
    let editor = json(
        send(
            &s,
            reqwest::Method::POST,
            "/api/roles",
            json!({"name": "Editor", "description": "Edits things"}),
        )
        .await,
        200,
    )
    .await;
    let editor_id = editor["id"].as_str().unwrap().to_string();
    assert_eq!(
        editor,
        json!({"tenantId": "default", "id": editor_id, "name": "Editor",
               "description": "Edits things", "type": "User", "isDefault": false})
    );
    let viewer = json(
        send(
            &s,
            reqwest::Method::POST,
            "/api/roles",
            json!({"name": "Viewer", "description": "", "type": "User", "scopeIds": []}),
        )
        .await,
        200,
    )
    .await;
    let viewer_id = viewer["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&s, &format!("/api/roles/{editor_id}"), 200).await,
        editor
    );
    logto_says(
        send(
            &s,
            reqwest::Method::POST,
            "/api/roles",
            json!({"name": "editor", "description": "again"}),
        )
        .await,
        422,
        "role.name_in_use",
        "This role name editor is already in use",
    )
    .await;
    for body in [
        json!({"name": "Bot", "description": "", "type": "MachineToMachine"}),
        json!({"name": "Dflt", "description": "", "isDefault": true}),
        json!({"name": "Scoped", "description": "", "scopeIds": ["read:x"]}),
        json!({"name": "", "description": ""}),
        json!({"name": "NoDescription"}),
    ] {
        logto_error(
            send(&s, reqwest::Method::POST, "/api/roles", body).await,
            400,
            "guard.invalid_input",
        )
        .await;
    }
    let changed = json(
        send(
            &s,
            reqwest::Method::PATCH,
            &format!("/api/roles/{viewer_id}"),
            json!({"description": "Reads things"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["name"], "Viewer");
    assert_eq!(changed["description"], "Reads things");

    // A user's roles: add (those held stay), list, replace, remove.
    let added = json(
        send(
            &s,
            reqwest::Method::POST,
            &format!("/api/users/{ann_id}/roles"),
            json!({"roleIds": [editor_id]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        added,
        json!({"roleIds": [editor_id], "addedRoleIds": [editor_id]})
    );
    let added = json(
        send(
            &s,
            reqwest::Method::POST,
            &format!("/api/users/{ann_id}/roles"),
            json!({"roleIds": [editor_id, viewer_id]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        added,
        json!({"roleIds": [editor_id, viewer_id], "addedRoleIds": [viewer_id]})
    );
    let r = api(
        &s,
        reqwest::Method::GET,
        &format!("/api/users/{ann_id}/roles"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.headers()["total-number"], "2");
    let held = json(r, 200).await;
    let held_ids: Vec<&str> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut want = vec![editor_id.as_str(), viewer_id.as_str()];
    want.sort();
    assert_eq!(held_ids, want);
    assert_eq!(held[0]["type"], "User");
    let searched = get(
        &s,
        &format!("/api/users/{ann_id}/roles?search=%25edit%25"),
        200,
    )
    .await;
    assert_eq!(searched.as_array().unwrap().len(), 1);
    assert_eq!(searched[0]["name"], "Editor");
    // The same roles everywhere: SCIM's `roles`, Sumo Logic's `roleIds`.
    let scim_ann = get(&s, &format!("/scim/v2/Users/{ann_id}"), 200).await;
    let mut scim_roles: Vec<&str> = scim_ann["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    scim_roles.sort();
    assert_eq!(scim_roles, ["Editor", "Viewer"]);
    let mut sumo_roles: Vec<String> = sumo_user(ann_id.clone()).await["roleIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    sumo_roles.sort();
    assert_eq!(sumo_roles, want);
    // The list: counts and featured users; excludeUserId; and users lacking a role.
    let listed = get(&s, "/api/roles", 200).await;
    let ed = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == editor_id.as_str())
        .unwrap();
    assert_eq!(ed["usersCount"], 1);
    assert_eq!(
        ed["featuredUsers"],
        json!([{"id": ann_id, "avatar": "https://img.example/ann.png", "name": "Ann"}])
    );
    assert_eq!(ed["applicationsCount"], 0);
    assert_eq!(ed["featuredApplications"], json!([]));
    assert_eq!(
        get(&s, &format!("/api/roles?excludeUserId={ann_id}"), 200).await,
        json!([])
    );
    assert_eq!(
        get(&s, "/api/roles?type=MachineToMachine", 200).await,
        json!([])
    );
    let lacking = get(&s, &format!("/api/users?excludeRoleId={editor_id}"), 200).await;
    let lacking: Vec<&str> = lacking
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(lacking, [bob_id.as_str()]);
    // Replace: exactly these.
    let replaced = json(
        send(
            &s,
            reqwest::Method::PUT,
            &format!("/api/users/{ann_id}/roles"),
            json!({"roleIds": [viewer_id, viewer_id]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(replaced, json!({"roleIds": [viewer_id]}));
    let held = get(&s, &format!("/api/users/{ann_id}/roles"), 200).await;
    assert_eq!(held.as_array().unwrap().len(), 1);
    assert_eq!(held[0]["id"], viewer_id.as_str());
    // Remove one; removing it again is Logto's 404.
    let r = api(
        &s,
        reqwest::Method::DELETE,
        &format!("/api/users/{ann_id}/roles/{viewer_id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(sumo_user(ann_id.clone()).await["roleIds"], json!([]));
    let r = api(
        &s,
        reqwest::Method::DELETE,
        &format!("/api/users/{ann_id}/roles/{viewer_id}"),
    )
    .send()
    .await
    .unwrap();
    logto_says(r, 404, "entity.not_found", "The resource does not exist.").await;
    // Unknown roles and users in Logto's words.
    logto_says(
        send(
            &s,
            reqwest::Method::POST,
            &format!("/api/users/{bob_id}/roles"),
            json!({"roleIds": ["00000000000FFFFF"]}),
        )
        .await,
        404,
        "entity.not_exists_with_id",
        "The roles with ID `00000000000FFFFF` does not exist.",
    )
    .await;
    logto_says(
        send(
            &s,
            reqwest::Method::POST,
            "/api/users/00000000000FFFFF/roles",
            json!({"roleIds": [editor_id]}),
        )
        .await,
        404,
        "entity.not_found",
        "The resource does not exist.",
    )
    .await;
    logto_error(
        api(&s, reqwest::Method::GET, "/api/roles/nope")
            .send()
            .await
            .unwrap(),
        404,
        "entity.not_exists_with_id",
    )
    .await;
    // Deleting a role takes it from its holders.
    send(
        &s,
        reqwest::Method::POST,
        &format!("/api/users/{bob_id}/roles"),
        json!({"roleIds": [editor_id]}),
    )
    .await;
    let r = api(
        &s,
        reqwest::Method::DELETE,
        &format!("/api/roles/{editor_id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        get(&s, &format!("/api/users/{bob_id}/roles"), 200).await,
        json!([])
    );
    logto_error(
        api(&s, reqwest::Method::GET, &format!("/api/roles/{editor_id}"))
            .send()
            .await
            .unwrap(),
        404,
        "entity.not_exists_with_id",
    )
    .await;
}

/// A deliberate difference (docs/logto.md): Logto's default username policy is
/// case-sensitive; Muster keeps one identity per name whatever its case.
async fn usernames_are_one_identity_whatever_their_case(b: Backend) {
    let s = TestServer::start(b).await;
    let tom = create(&s, json!({"username": "Tom_a"})).await;
    logto_says(
        send(
            &s,
            reqwest::Method::POST,
            "/api/users",
            json!({"username": "TOM_A"}),
        )
        .await,
        422,
        "user.username_already_in_use",
        "This username is already in use.",
    )
    .await;
    let found = get(&s, "/api/users?search.username=tom_a&mode=exact", 200).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], tom["id"]);
    assert_eq!(found[0]["username"], "Tom_a", "stored as written");
    // The routes are in the API description.
    let spec = json(s.get("/openapi.json").send().await.unwrap(), 200).await;
    for (path, method) in [
        ("/api/roles", "get"),
        ("/api/roles", "post"),
        ("/api/roles/{id}", "patch"),
        ("/api/users/{userId}/roles", "put"),
        ("/api/users/{userId}/roles/{roleId}", "delete"),
    ] {
        assert!(
            spec["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    assert!(spec["components"]["schemas"]["LogtoRole"]["properties"]["isDefault"].is_object());
}
