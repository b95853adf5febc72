//! The foundation over real HTTP, on SQLite and PostgreSQL: authentication, tenancy, the token
//! endpoints, body limits, malformed input, readiness, metrics, the API description.

use crate::common;

use common::*;
use serde_json::{json, Value};

both_backends!(
    requests_without_valid_credentials_get_401,
    framework_errors_come_in_each_dialects_shape,
    a_tenant_never_sees_another_tenants_data,
    token_endpoints_mint_tokens_that_work,
    access_tokens_die_with_their_client_and_respect_scopes,
    oversized_bodies_get_413_and_malformed_json_400,
    readyz_fails_when_the_database_is_gone,
    metrics_request_ids_and_the_api_description,
    admin_checks_the_credential_before_the_body,
);

async fn requests_without_valid_credentials_get_401(b: Backend) {
    let s = TestServer::start(b).await;
    s.credential(
        "default",
        kind_token(),
        "tok_revoked",
        "revoked-secret-0123456789",
        "all",
    )
    .await;

    // The bootstrap token works, with the scheme in any case.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let body = json(
            s.get("/admin/v1/whoami")
                .header("Authorization", format!("{scheme} {ADMIN_TOKEN}"))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(body["organization"], "default");
        assert_eq!(body["credential"], "bootstrap");
    }

    // Revoke one token through the API; it stops working at once.
    json(
        s.get("/admin/v1/whoami")
            .bearer_auth("revoked-secret-0123456789")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let r = s
        .delete("/admin/v1/credentials/tok_revoked")
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("wrong token", Some(format!("Bearer {ADMIN_TOKEN}x"))),
        (
            "revoked token",
            Some("Bearer revoked-secret-0123456789".into()),
        ),
        ("wrong scheme", Some(format!("Token {ADMIN_TOKEN}"))),
        (
            "basic with a token",
            Some(format!(
                "Basic {}",
                b64(&format!("bootstrap:{ADMIN_TOKEN}"))
            )),
        ),
        ("empty bearer", Some("Bearer ".into())),
        (
            "forged JWT",
            Some(
                "Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJib290c3RyYXAifQ.AAAA".into(),
            ),
        ),
    ];
    for (what, header) in cases {
        let mut req = s.get("/admin/v1/whoami");
        if let Some(h) = header {
            req = req.header("Authorization", h);
        }
        let resp = req.send().await.unwrap();
        assert!(
            resp.headers().contains_key("www-authenticate"),
            "{what}: 401 carries WWW-Authenticate"
        );
        let body = json(resp, 401).await;
        assert_eq!(body["code"], "unauthorized", "{what}: {body}");
    }
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn framework_errors_come_in_each_dialects_shape(b: Backend) {
    let s = TestServer::start(b).await;
    let get = |p: &str| s.get(p).bearer_auth(ADMIN_TOKEN).send();

    let r = get("/scim/v2/NoSuchThing").await.unwrap();
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/scim+json"
    );
    let body = json(r, 404).await;
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], "404", "SCIM status is a string");

    let body = json(get("/api/no-such-thing").await.unwrap(), 404).await;
    assert_eq!(body["code"], "entity.not_found");
    assert!(body["message"].is_string());

    let r = get("/v1/no-such-thing").await.unwrap();
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let body = json(r, 404).await;
    assert_eq!(body["status"], 404);
    assert_eq!(body["statusReason"], "Not Found");
    assert_eq!(body["path"], "/v1/no-such-thing");
    assert_eq!(body["toe"], rid.as_str(), "Domo's toe is the request id");

    let body = json(get("/api/v1/no-such-thing").await.unwrap(), 404).await;
    assert_eq!(body["errors"][0]["code"], "notfound");
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        id.len(),
        17,
        "Sumo error ids are three dash-separated groups: {id}"
    );

    let body = json(get("/v2/usermanagement/no-such-thing").await.unwrap(), 404).await;
    assert!(body["result"].as_str().unwrap().starts_with("error"));

    // Adobe's 401 is empty, with IMS's WWW-Authenticate.
    let r = s.get("/v2/usermanagement/anything").send().await.unwrap();
    assert_eq!(r.status(), 404, "unknown Adobe paths are 404 before auth");
    let body = json(s.post("/oidc/token").body("x").send().await.unwrap(), 415).await;
    assert_eq!(
        body["error"], "invalid_request",
        "OAuth error shape: {body}"
    );

    // Wrong method on a known path is 405 in the dialect's shape.
    let body = json(s.delete("/oauth/token").send().await.unwrap(), 405).await;
    assert_eq!(body["error"], "invalid_request");
}

async fn a_tenant_never_sees_another_tenants_data(b: Backend) {
    let s = TestServer::start(b).await;
    s.org("acme", None).await;
    s.org("acme-child", Some("acme")).await;
    s.org("globex", None).await;
    s.credential(
        "acme",
        kind_token(),
        "tok_acme",
        "acme-token-0123456789",
        "all",
    )
    .await;
    s.credential(
        "acme-child",
        kind_token(),
        "tok_child",
        "child-token-0123456789",
        "all",
    )
    .await;
    s.credential(
        "globex",
        kind_token(),
        "tok_globex",
        "globex-token-0123456789",
        "all",
    )
    .await;
    s.credential(
        "globex",
        kind_client(),
        "cli_globex",
        "globex-client-secret-0123",
        "all",
    )
    .await;
    let acme = "acme-token-0123456789";
    let globex = "globex-token-0123456789";
    let child = "child-token-0123456789";

    // whoami: each token sees its own organization.
    let me = json(
        s.get("/admin/v1/whoami")
            .bearer_auth(acme)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["organization"], "acme");

    // Organizations: acme sees itself and its child, never globex.
    let orgs = json(
        s.get("/admin/v1/organizations")
            .bearer_auth(acme)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let ids: Vec<&str> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["acme", "acme-child"]);
    let orgs = json(
        s.get("/admin/v1/organizations")
            .bearer_auth(globex)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(orgs.as_array().unwrap().len(), 1);

    // Credentials: listing shows only one's own; revoking another tenant's is 404 and harmless.
    let creds = json(
        s.get("/admin/v1/credentials")
            .bearer_auth(acme)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let ids: Vec<&str> = creds
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["tok_acme"]);
    assert!(creds[0].get("secret").is_none(), "secrets are never listed");
    for id in ["tok_globex", "cli_globex", "bootstrap"] {
        let body = json(
            s.delete(&format!("/admin/v1/credentials/{id}"))
                .bearer_auth(acme)
                .send()
                .await
                .unwrap(),
            404,
        )
        .await;
        assert_eq!(body["code"], "not_found");
    }
    let me = json(
        s.get("/admin/v1/whoami")
            .bearer_auth(globex)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        me["organization"], "globex",
        "globex's token survived acme's attempt"
    );

    // Credit usage: a parent may load and read its child's; nobody else's.
    let records = json!([{"date": "2026-11-01", "productVariable": "continuous_ingest", "creditsUsed": 12.5, "unit": "GB"}]);
    let r = s
        .post("/admin/v1/organizations/acme-child/credit-usage")
        .bearer_auth(acme)
        .json(&records)
        .send()
        .await
        .unwrap();
    assert_eq!(json(r, 201).await["inserted"], 1);
    for (token, org) in [
        (globex, "acme-child"),
        (globex, "acme"),
        (child, "acme"),
        (acme, "globex"),
        (acme, "nope"),
    ] {
        let r = s
            .post(&format!("/admin/v1/organizations/{org}/credit-usage"))
            .bearer_auth(token)
            .json(&records)
            .send()
            .await
            .unwrap();
        assert_eq!(json(r, 404).await["code"], "not_found", "{org}");
        let r = s
            .get(&format!("/admin/v1/organizations/{org}/credit-usage"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{org}");
    }
    let mine = json(
        s.get("/admin/v1/organizations/acme-child/credit-usage")
            .bearer_auth(child)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        mine.as_array().unwrap().len(),
        1,
        "only acme's load landed: {mine}"
    );
    assert_eq!(mine[0]["creditsUsed"], 12.5);

    // A token minted by globex's client is globex's.
    let r = s
        .post("/oauth/token")
        .basic_auth("cli_globex", Some("globex-client-secret-0123"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let token = json(r, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let me = json(
        s.get("/admin/v1/whoami")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["organization"], "globex");
    let creds = json(
        s.get("/admin/v1/credentials")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(creds
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] != "tok_acme"));

    // A credential created through the API belongs to the creator's organization.
    let r = s
        .post("/admin/v1/credentials")
        .bearer_auth(acme)
        .json(&json!({"kind": "token", "label": "ci"}))
        .send()
        .await
        .unwrap();
    let made = json(r, 201).await;
    let secret = made["secret"].as_str().unwrap();
    let me = json(
        s.get("/admin/v1/whoami")
            .bearer_auth(secret)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["organization"], "acme");
}

async fn token_endpoints_mint_tokens_that_work(b: Backend) {
    let s = TestServer::start(b).await;
    s.credential(
        "default",
        kind_client(),
        "cli_one",
        "client-one-secret-0123",
        "all",
    )
    .await;
    let now = chrono::Utc::now().timestamp();

    let check = |body: &Value, scope: Option<&str>| {
        let token = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string();
        assert_eq!(body["token_type"], "Bearer");
        let expires_in = body["expires_in"].as_u64().expect("numeric expires_in");
        assert_eq!(expires_in, 3600);
        let claims = jwt_claims(&token);
        let exp = claims["exp"].as_i64().expect("exp claim");
        assert!(
            (exp - now - 3600).abs() < 60,
            "exp is now + expires_in: {claims}"
        );
        assert_eq!(claims["sub"], "cli_one");
        if let Some(scope) = scope {
            assert_eq!(body["scope"], scope);
        }
        token
    };
    let form = [("grant_type", "client_credentials"), ("scope", "user")];

    // Domo: Basic + POST form, and Basic + GET query.
    let r = s
        .post("/oauth/token")
        .basic_auth("cli_one", Some("client-one-secret-0123"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let domo_post = check(&json(r, 200).await, Some("user"));
    let r = s
        .get("/oauth/token?grant_type=client_credentials&scope=user")
        .basic_auth("cli_one", Some("client-one-secret-0123"))
        .send()
        .await
        .unwrap();
    let domo_get = check(&json(r, 200).await, Some("user"));

    // Logto: secret in the form (client_secret_post), and in Basic; scope=all echoed.
    let r = s
        .post("/oidc/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "cli_one"),
            ("client_secret", "client-one-secret-0123"),
            ("resource", "https://default.logto.app/api"),
            ("scope", "all"),
        ])
        .send()
        .await
        .unwrap();
    let logto_post = check(&json(r, 200).await, Some("all"));
    assert_eq!(
        jwt_claims(&logto_post)["aud"],
        "https://default.logto.app/api"
    );
    let r = s
        .post("/oidc/token")
        .basic_auth("cli_one", Some("client-one-secret-0123"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", "https://default.logto.app/api"),
            ("scope", "all"),
        ])
        .send()
        .await
        .unwrap();
    let logto_basic = check(&json(r, 200).await, Some("all"));

    // Adobe: form body, at /ims/token/v2/ (trailing slash, as umapi-client sends) and v3.
    let adobe_form = [
        ("grant_type", "client_credentials"),
        ("client_id", "cli_one"),
        ("client_secret", "client-one-secret-0123"),
        ("scope", "openid,AdobeID,user_management_sdk"),
    ];
    let r = s
        .post("/ims/token/v2/")
        .form(&adobe_form)
        .send()
        .await
        .unwrap();
    let adobe_v2 = check(&json(r, 200).await, None);
    let r = s
        .post("/ims/token/v3")
        .form(&adobe_form)
        .send()
        .await
        .unwrap();
    let adobe_v3 = check(&json(r, 200).await, None);

    for token in [
        domo_post,
        domo_get,
        logto_post,
        logto_basic,
        adobe_v2,
        adobe_v3,
    ] {
        let me = json(
            s.get("/admin/v1/whoami")
                .header("Authorization", format!("bearer {token}"))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(me["organization"], "default");
        assert_eq!(me["credential"], "cli_one");
    }

    // Refusals, in OAuth's shape.
    let bad = [
        (
            s.post("/oauth/token")
                .basic_auth("cli_one", Some("wrong"))
                .form(&form),
            401,
            "invalid_client",
        ),
        (
            s.post("/oauth/token")
                .basic_auth("nobody", Some("client-one-secret-0123"))
                .form(&form),
            401,
            "invalid_client",
        ),
        (
            s.post("/oidc/token")
                .form(&[("grant_type", "client_credentials")]),
            401,
            "invalid_client",
        ),
        (
            s.post("/oidc/token").form(&[
                ("client_id", "cli_one"),
                ("client_secret", "client-one-secret-0123"),
            ]),
            400,
            "invalid_request",
        ),
        (
            s.post("/oidc/token").form(&[
                ("grant_type", "password"),
                ("client_id", "cli_one"),
                ("client_secret", "client-one-secret-0123"),
            ]),
            400,
            "unsupported_grant_type",
        ),
        (
            s.post("/oidc/token")
                .basic_auth("cli_one", Some("client-one-secret-0123"))
                .form(&[("grant_type", "client_credentials"), ("client_id", "other")]),
            400,
            "invalid_request",
        ),
        (
            s.post("/ims/token/v3")
                .json(&json!({"client_id": "cli_one"})),
            415,
            "invalid_request",
        ),
    ];
    for (req, status, error) in bad {
        let body = json(req.send().await.unwrap(), status).await;
        assert_eq!(body["error"], error, "{body}");
        assert!(body["error_description"].is_string());
    }
    // An API token is not a client.
    let r = s
        .post("/oauth/token")
        .basic_auth("bootstrap", Some(ADMIN_TOKEN))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn access_tokens_die_with_their_client_and_respect_scopes(b: Backend) {
    let s = TestServer::start(b).await;
    s.credential(
        "default",
        kind_client(),
        "cli_two",
        "client-two-secret-0123",
        "all",
    )
    .await;
    s.credential(
        "default",
        kind_client(),
        "cli_ro",
        "client-ro-secret-01234",
        "users:read",
    )
    .await;
    let mint = |id: &'static str, secret: &'static str, scope: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ];
        if let Some(sc) = scope {
            form.push(("scope", sc));
        }
        s.post("/oidc/token").form(&form).send()
    };

    // Asking for Muster scopes narrows the token.
    let body = json(
        mint("cli_two", "client-two-secret-0123", Some("users:read"))
            .await
            .unwrap(),
        200,
    )
    .await;
    let narrow = body["access_token"].as_str().unwrap().to_string();
    let me = json(
        s.get("/admin/v1/whoami")
            .bearer_auth(&narrow)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["scopes"], json!(["users:read"]));
    let body = json(
        s.get("/admin/v1/credentials")
            .bearer_auth(&narrow)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert_eq!(body["code"], "forbidden");
    // A client cannot obtain scopes it does not hold.
    let body = json(
        mint("cli_ro", "client-ro-secret-01234", Some("orgs:admin"))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(body["error"], "invalid_scope");
    // ...nor can a credential create another with more scopes than its own.
    s.credential(
        "default",
        kind_token(),
        "tok_ro",
        "read-only-token-0123456",
        "users:read orgs:admin",
    )
    .await;
    let body = json(
        s.post("/admin/v1/credentials")
            .bearer_auth("read-only-token-0123456")
            .json(&json!({"kind": "client", "label": "more", "scopes": "all"}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert_eq!(body["code"], "forbidden");

    // Revoking the client ends the tokens it minted.
    let body = json(
        mint("cli_two", "client-two-secret-0123", None)
            .await
            .unwrap(),
        200,
    )
    .await;
    let full = body["access_token"].as_str().unwrap().to_string();
    json(
        s.get("/admin/v1/whoami")
            .bearer_auth(&full)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let r = s
        .delete("/admin/v1/credentials/cli_two")
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for token in [&full, &narrow] {
        let r = s
            .get("/admin/v1/whoami")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = mint("cli_two", "client-two-secret-0123", None)
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A token whose signature was tampered with is refused.
    let body = json(
        mint("cli_ro", "client-ro-secret-01234", None)
            .await
            .unwrap(),
        200,
    )
    .await;
    let t = body["access_token"].as_str().unwrap();
    let mut tampered = t.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let r = s
        .get("/admin/v1/whoami")
        .bearer_auth(&tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn oversized_bodies_get_413_and_malformed_json_400(b: Backend) {
    let s = TestServer::start_with(b, |c| c.max_body_bytes = 64 * 1024).await;
    let big = "x".repeat(100 * 1024);

    // Declared length over the limit.
    let body = json(
        s.post("/admin/v1/credentials")
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap(),
        413,
    )
    .await;
    assert_eq!(body["code"], "payload_too_large");
    // Chunked, with no Content-Length: counted as it is read.
    let chunks: Vec<Result<String, std::io::Error>> =
        (0..100).map(|_| Ok("y".repeat(1024))).collect();
    let stream = futures_util::stream::iter(chunks);
    let r = s
        .post("/scim/v2/Users")
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/scim+json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    let body = json(r, 413).await;
    assert_eq!(body["status"], "413", "SCIM-shaped 413: {body}");

    // Malformed JSON and wrong types: 400 in the admin shape, nothing created.
    for bad in ["{", "[]", "{\"kind\": 5}", "nonsense"] {
        let r = s
            .post("/admin/v1/credentials")
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(bad)
            .send()
            .await
            .unwrap();
        let body = json(r, 400).await;
        assert_eq!(body["code"], "invalid_request", "{bad}: {body}");
    }
    let body = json(
        s.post("/admin/v1/credentials")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"kind": "root"}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("kind"));
    let body = json(
        s.post("/admin/v1/organizations/default/credit-usage").bearer_auth(ADMIN_TOKEN)
            .json(&json!([{"date": "2026-11-01", "productVariable": "x", "creditsUsed": 1.0, "unit": "GB"},
                          {"date": "yesterday", "productVariable": "x", "creditsUsed": 1.0, "unit": "GB"}]))
            .send().await.unwrap(),
        400,
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("record 1"));
    let list = json(
        s.get("/admin/v1/organizations/default/credit-usage")
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list, json!([]), "a rejected batch writes nothing");
    let creds = json(
        s.get("/admin/v1/credentials")
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        creds.as_array().unwrap().len(),
        1,
        "only the bootstrap token exists"
    );
}

async fn readyz_fails_when_the_database_is_gone(b: Backend) {
    let mut s = TestServer::start(b).await;
    let body = json(s.get("/readyz").send().await.unwrap(), 200).await;
    assert_eq!(body["status"], "ready");
    s.db.destroy();
    let body = json(s.get("/readyz").send().await.unwrap(), 503).await;
    assert_eq!(body["status"], "unavailable");
    // Liveness is not readiness.
    json(s.get("/healthz").send().await.unwrap(), 200).await;
    // Authenticated calls fail cleanly (PostgreSQL) or go on against the unlinked file
    // (SQLite), never with a 500, a panic or a hang.
    let r = s
        .get("/admin/v1/whoami")
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(r.status().as_u16(), 200 | 401 | 503),
        "database gone: {}",
        r.status()
    );
}

async fn metrics_request_ids_and_the_api_description(b: Backend) {
    let s = TestServer::start(b).await;
    let r = s
        .get("/healthz")
        .header("X-Request-Id", "abc-123_x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-request-id"],
        "abc-123_x",
        "a well-formed incoming id is echoed"
    );
    let r = s
        .get("/healthz")
        .header("X-Request-Id", "bad id\twith spaces")
        .send()
        .await
        .unwrap();
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(rid.len(), 36, "a malformed id is replaced by a UUID: {rid}");
    s.get("/admin/v1/whoami")
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    s.get("/admin/v1/whoami").send().await.unwrap();

    let text = s
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"muster_http_requests_total{method="GET",route="/healthz",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"muster_http_requests_total{method="GET",route="/admin/v1/whoami",status="401"} 1"#
    ));
    assert!(text.contains("muster_http_request_duration_seconds_bucket{method=\"GET\",route=\"/admin/v1/whoami\",status=\"200\",le="));

    let spec = json(s.get("/openapi.json").send().await.unwrap(), 200).await;
    for path in [
        "/oauth/token",
        "/oidc/token",
        "/ims/token/v3",
        "/healthz",
        "/readyz",
        "/metrics",
        "/admin/v1/whoami",
        "/admin/v1/credentials",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} is described");
    }
    assert!(spec["components"]["securitySchemes"]
        .get("bearer")
        .is_some());
    let docs = s.get("/docs").send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

/// The admin API judges a request's body only after its credential: a bad credential with a
/// bad body is a 401; a good credential with it gets the 400.
async fn admin_checks_the_credential_before_the_body(b: Backend) {
    let s = TestServer::start(b).await;
    let bad = serde_json::json!({"kind": "neither", "label": "x"});
    let usage = serde_json::json!([{"date": "not-a-date", "productVariable": "p", "creditsUsed": 1.0, "unit": "u"}]);
    for token in ["wrong-token-0123456789", ADMIN_TOKEN] {
        let want = if token == ADMIN_TOKEN { 400 } else { 401 };
        let r = s
            .post("/admin/v1/credentials")
            .bearer_auth(token)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{token}");
        let r = s
            .post("/admin/v1/organizations/default/credit-usage")
            .bearer_auth(token)
            .json(&usage)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{token}");
        let r = s
            .get("/admin/v1/organizations/default/credit-usage?from=nope")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{token}");
    }
}
