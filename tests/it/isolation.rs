//! The tenant isolation matrix. Every (path, method) of `/openapi.json` — so a route added
//! later is covered without editing this file, unless it has a path parameter or a body this
//! file does not know, and then the test fails and says which — is sent by each kind of
//! attacker against the victim organization's real objects:
//!
//! - a credential of an unrelated organization, of the victim's parent and of the victim's
//!   child (API token as Bearer, OAuth client as HTTP Basic, an access token of that client);
//! - the victim's own revoked token, an expired access token, an access token whose client was
//!   revoked since, the revoked client's Basic pair, no credential and a garbage one;
//! - a victim credential lacking the route's scope.
//!
//! Required: dead credentials get 401, scope-less ones 403, foreign ones 401/403/404 (Adobe's
//! documented 400 `error.organization.invalid_id` for another `{orgId}`) on every route that
//! names a victim object, and the same status as for an object that does not exist (no
//! existence oracle); never a 5xx; no victim string (ids, emails, names, group and role names,
//! credential ids) in any body or header unless the attacker sent it himself; and every row of
//! the victim tenant (every table with an `org_id` column, discovered from the database, and
//! its organization row) unchanged at the end. A control pass then sends the same requests
//! with the victim's own credential, which must get past authentication with its bodies
//! accepted — so the refusals above came from isolation, not from a malformed request.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const VICTIM: &str = "victim";
const PARENT: &str = "vparent";
const CHILD: &str = "vchild";
const OTHER: &str = "other";
const SECRET: &str = "-secret-0123456789abcdef";
const VICTIM_PASSWORD: &str = "Victim-Passw0rd!";
/// A schema extension the victim registered (`/admin/v1/schemas/{urn}`).
const VICTIM_EXT: &str = "urn:victim:vaultkeepers:2.0:User";

both_backends!(every_route_refuses_every_foreign_or_dead_credential);

/// The victim's objects, as each dialect names them.
#[derive(Default, Debug)]
struct Victim {
    user_hex: String,
    user_num: String,
    user_email: String,
    user2_hex: String,
    group_hex: String,
    group_num: String,
    group_name: String,
    role_id: String,
    log_id: String,
    identity: String,
    credential_id: String,
    hook_id: String,
    /// Strings no other tenant may ever see.
    strings: BTreeSet<String>,
}

#[derive(Clone, Debug)]
enum Auth {
    None,
    Bearer(String),
    Basic(String, String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Another organization's good credential.
    Foreign { parent: bool },
    /// Revoked, expired, garbage or absent: authentication itself fails.
    Dead,
    /// A live victim credential without the route's scope.
    LacksScope,
}

#[derive(Clone, Debug)]
struct Attacker {
    label: &'static str,
    auth: Auth,
    /// `X-Api-Key` (Adobe): the attacker's own credential id.
    api_key: String,
    kind: Kind,
}

struct Route {
    method: String,
    template: String,
    params: Vec<String>,
    has_body: bool,
    /// Security schemes: none means the route is public by design.
    secured: bool,
}

fn routes(doc: &Value) -> Vec<Route> {
    let mut out = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let params = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            out.push(Route {
                method: method.to_uppercase(),
                template: template.clone(),
                params,
                has_body: !op["requestBody"].is_null(),
                secured: op["security"].as_array().is_some_and(|s| !s.is_empty()),
            });
        }
    }
    // Deletes last, so the control pass reaches every other route while objects exist.
    out.sort_by_key(|r| (r.method == "DELETE", r.template.clone(), r.method.clone()));
    out
}

/// Routes public by design: health, readiness, metrics, the token endpoints (which
/// authenticate the client themselves and are tested on their own).
fn public_by_design(r: &Route) -> bool {
    matches!(
        r.template.as_str(),
        "/healthz" | "/readyz" | "/metrics" | "/oauth/token" | "/oidc/token"
    ) || r.template.starts_with("/ims/token/")
}

/// Routes by which a parent organization manages its child (product §3): the parent
/// credential is let in there by design, so the parent attacker skips them.
fn parent_manages(r: &Route) -> bool {
    (r.template.starts_with("/api/v1/organizations/") && r.params.iter().any(|p| p == "org_id"))
        || (r.template.starts_with("/admin/v1/organizations/") && r.template.contains("{org_id}"))
}

/// Routes that need a credential but no scope: they show nothing of the tenant.
fn scope_free(r: &Route) -> bool {
    r.template == "/admin/v1/whoami"
        || [
            "/scim/v2/ServiceProviderConfig",
            "/scim/v2/ResourceTypes",
            "/scim/v2/Schemas",
        ]
        .iter()
        .any(|p| r.template.starts_with(p))
}

/// The victim object a path parameter names (`ghost`: an object that does not exist).
fn fill(v: &Victim, template: &str, name: &str, ghost: bool) -> Option<String> {
    let g = |real: &str, fake: &str| Some(if ghost { fake } else { real }.to_string());
    let hex = |real: &str| g(real, "7E57000000000001");
    let num = |real: &str| g(real, "9100000000000000001");
    let t = template;
    match name {
        "org_id" => g(VICTIM, "ghost-org"),
        "page" => Some("0".into()),
        "name" if t.starts_with("/scim/v2/ResourceTypes") => Some("User".into()),
        "urn" if t.starts_with("/scim/v2/Schemas") => {
            Some("urn:ietf:params:scim:schemas:core:2.0:User".into())
        }
        "id" if t.starts_with("/scim/v2/Users") => hex(&v.user_hex),
        "id" if t.starts_with("/scim/v2/Groups") => hex(&v.group_hex),
        "id" if t.starts_with("/api/v1/users") => hex(&v.user_hex),
        "id" if t.starts_with("/api/v1/roles") => hex(&v.role_id),
        "role_id" if t.starts_with("/api/v1/roles") => hex(&v.role_id),
        "user_id" if t.starts_with("/api/v1/roles") => hex(&v.user_hex),
        "id" if t.starts_with("/v1/users") => num(&v.user_num),
        "id" if t.starts_with("/v1/groups") => num(&v.group_num),
        "user_id" if t.starts_with("/v1/groups") => num(&v.user_num),
        "id" if t.starts_with("/api/logs") => g(&v.log_id, "ghost-log-id"),
        "id" if t.starts_with("/api/hooks") => g(&v.hook_id, "ghosthook0000000"),
        "id" if t.starts_with("/admin/v1/credentials") => g(&v.credential_id, "tok_ghost"),
        "urn" if t.starts_with("/admin/v1/schemas") => g(VICTIM_EXT, "urn:ghost:ext:2.0:User"),
        "user_id" if t.starts_with("/admin/v1/users") => hex(&v.user_hex),
        "userId" if t.starts_with("/api/users") => hex(&v.user_hex),
        "roleId" if t.starts_with("/api/users") => hex(&v.role_id),
        "id" if t.starts_with("/api/roles") => hex(&v.role_id),
        "target" if t.starts_with("/api/users") => g(&v.identity, "ghostidp"),
        "user" | "userString" if t.starts_with("/v2/usermanagement") => {
            g(&v.user_email, "ghost@nowhere.example")
        }
        // The deprecated reads name a group by its number, the others by its name.
        "group_id" if t.starts_with("/v2/usermanagement") => num(&v.group_num),
        "group" | "groupName" if t.starts_with("/v2/usermanagement") => {
            g(&v.group_name, "Ghost Group")
        }
        _ => None,
    }
}

/// A body the route would accept from the victim, aimed at the victim's objects.
fn body(v: &Victim, r: &Route) -> Option<Value> {
    let (m, t) = (r.method.as_str(), r.template.as_str());
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "mallory.scim", "name": {"givenName": "Mal", "familyName": "Lory"},
        "emails": [{"value": "mallory.scim@attacker.example", "primary": true}],
    });
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Pwned"}],
    });
    Some(match (m, t) {
        ("POST", "/scim/v2/Users") | ("PUT", "/scim/v2/Users/{id}") | ("PUT", "/scim/v2/Me") => {
            user
        }
        ("PATCH", "/scim/v2/Users/{id}") | ("PATCH", "/scim/v2/Me") => patch,
        ("PATCH", "/scim/v2/Groups/{id}") => json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", v.user_hex)}],
        }),
        ("POST", "/scim/v2/Groups") | ("PUT", "/scim/v2/Groups/{id}") => json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Mallory Group", "members": [{"value": v.user_hex}],
        }),
        ("POST", "/scim/v2/Users/.search")
        | ("POST", "/scim/v2/Groups/.search")
        | ("POST", "/scim/v2/.search") => json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "meta.resourceType pr or id pr",
        }),
        ("POST", "/scim/v2/Bulk") => json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {"method": "PATCH", "path": format!("/Users/{}", v.user_hex), "data": patch},
                {"method": "DELETE", "path": format!("/Groups/{}", v.group_hex)},
                {"method": "DELETE", "path": format!("/Users/{}", v.user2_hex)},
            ],
        }),
        ("POST", "/api/users") => {
            json!({"name": "Mallory", "primaryEmail": "mallory.logto@attacker.example"})
        }
        ("PATCH", "/api/users/{userId}") => json!({"name": "Pwned"}),
        ("POST", "/api/roles") => json!({"name": "Mallory Logto Role", "description": ""}),
        ("PATCH", "/api/roles/{id}") => json!({"name": "Pwned Logto Role"}),
        ("POST", "/api/users/{userId}/roles") | ("PUT", "/api/users/{userId}/roles") => {
            json!({"roleIds": [v.role_id]})
        }
        ("POST", "/api/hooks") => json!({"name": "mallory hook", "events": ["User.Created"],
                                         "config": {"url": "https://mallory-hooks.example.com/x"}}),
        ("PATCH", "/api/hooks/{id}") => json!({"name": "Pwned", "enabled": false}),
        ("POST", "/api/hooks/{id}/test") => json!({"events": ["User.Created"],
            "config": {"url": "https://victim-hooks.example.com/x"}}),
        ("PATCH", "/api/users/{userId}/password") => json!({"password": "Pwn3d-Passw0rd!"}),
        ("POST", "/api/users/{userId}/password/verify") => json!({"password": VICTIM_PASSWORD}),
        ("PATCH", "/api/users/{userId}/is-suspended") => json!({"isSuspended": true}),
        ("PATCH", "/api/users/{userId}/custom-data") => json!({"customData": {"pwned": true}}),
        ("PATCH", "/api/users/{userId}/profile") => json!({"profile": {"nickname": "pwned"}}),
        ("PUT", "/api/users/{userId}/identities/{target}") => {
            json!({"userId": "pwned", "details": {}})
        }
        ("POST", "/v1/users") => {
            json!({"email": "mallory.domo@attacker.example", "name": "Mallory", "role": "Admin"})
        }
        ("PUT", "/v1/users/{id}") => {
            json!({"email": v.user_email, "name": "Pwned", "role": "Admin"})
        }
        ("POST", "/v1/groups") => json!({"name": "Mallory Domo Group"}),
        ("PUT", "/v1/groups/{id}") => json!({"name": "Pwned", "active": false}),
        ("PUT", "/v1/groups/{id}/users/{user_id}") => json!({}),
        ("POST", "/api/v1/users") => json!({
            "firstName": "Mal", "lastName": "Lory", "email": "mallory.sumo@attacker.example",
            "roleIds": [v.role_id],
        }),
        ("PUT", "/api/v1/users/{id}") => {
            json!({"firstName": "Pwned", "lastName": "Pwned", "isActive": false, "roleIds": []})
        }
        ("POST", "/api/v1/users/{id}/email/requestChange") => {
            json!({"email": "pwned@attacker.example"})
        }
        ("PUT", "/api/v1/users/{id}/mfa/disable") => {
            json!({"email": v.user_email, "password": VICTIM_PASSWORD})
        }
        ("POST", "/api/v1/roles") => {
            json!({"name": "Mallory Role", "users": [v.user_hex]})
        }
        ("PUT", "/api/v1/roles/{id}") => json!({
            "name": "Pwned", "description": "", "filterPredicate": "", "users": [],
            "capabilities": [], "autofillDependencies": false,
        }),
        ("POST", "/api/v1/organizations") => json!({
            "organizationName": "Mallory Co", "email": "mallory@attacker.example",
            "firstName": "Mal", "lastName": "Lory", "deploymentId": "us2",
            "trialPlanPeriod": 30,
        }),
        ("PUT", "/api/v1/organizations/delink") => json!({"orgIds": [VICTIM]}),
        ("POST", "/api/v1/organizations/usages") => json!({"orgIds": [VICTIM]}),
        ("PUT", "/api/v1/organizations/{org_id}") => json!({"totalCreditsAllocated": 40000}),
        ("POST", "/api/v1/organizations/{org_id}/accessKey") => {
            json!({"label": "mallory", "corsHeaders": []})
        }
        ("POST", "/v2/usermanagement/action/{org_id}") => json!([
            {"user": v.user_email, "do": [{"removeFromOrg": {}}]},
            {"usergroup": v.group_name, "do": [{"deleteUserGroup": {}}]},
        ]),
        ("POST", "/admin/v1/credentials") => json!({"kind": "token", "label": "mallory"}),
        ("POST", "/admin/v1/credentials/{id}/rotate") => json!({"graceSeconds": 3600}),
        ("POST", "/admin/v1/schemas") => json!({"schema": {
            "id": "urn:mallory:ext:2.0:User", "attributes": [{"name": "pwned", "type": "string"}]
        }}),
        ("POST", "/admin/v1/groups") => {
            json!({"name": "Mallory Profile", "kind": "product_profile"})
        }
        ("POST", "/admin/v1/organizations/{org_id}/credit-usage") => json!([
            {"date": "2026-11-01", "productVariable": "continuous_ingest", "creditsUsed": 1, "unit": "GB"},
        ]),
        _ => return None,
    })
}

fn path_of(v: &Victim, r: &Route, ghost: bool) -> String {
    let mut path = r.template.clone();
    for p in &r.params {
        let value = fill(v, &r.template, p, ghost).unwrap_or_else(|| {
            panic!(
                "{} {}: no victim object for the path parameter {p:?}; teach tests/it/isolation.rs",
                r.method, r.template
            )
        });
        path = path.replace(&format!("{{{p}}}"), &value);
    }
    path
}

struct Sent {
    status: u16,
    text: String,
    /// Body and header values.
    everything: String,
}

async fn send(
    s: &TestServer,
    a: &Attacker,
    method: &str,
    path: &str,
    body: &Option<Value>,
) -> Sent {
    let mut req = s
        .http
        .request(Method::from_bytes(method.as_bytes()).unwrap(), s.url(path))
        .header("X-Api-Key", &a.api_key)
        .header("Accept", "application/json");
    req = match &a.auth {
        Auth::None => req,
        Auth::Bearer(t) => req.bearer_auth(t),
        Auth::Basic(id, secret) => req.basic_auth(id, Some(secret)),
    };
    if let Some(b) = body {
        let ct = if path.starts_with("/scim/") {
            "application/scim+json"
        } else {
            "application/json"
        };
        req = req.header("Content-Type", ct).body(b.to_string());
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = resp.status().as_u16();
    let mut everything = String::new();
    for (k, v) in resp.headers() {
        everything.push_str(&format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())));
    }
    let text = resp.text().await.unwrap_or_default();
    everything.push_str(&text);
    Sent {
        status,
        text,
        everything,
    }
}

/// Every row of the victim tenant as text: each table with an `org_id` column (found in the
/// database, so a table added later is included) and the organization's own row. Only
/// `credentials.last_used_at` is left out: the scope-less victim credentials are used.
fn snapshot(db: &TestDb) -> Vec<String> {
    let tables = tables_with_column(db, "org_id");
    assert!(tables.len() >= 5, "tenant tables: {tables:?}");
    let mut out = rows_as_text(db, "organizations", &format!("id = '{VICTIM}'"));
    for t in tables {
        out.extend(rows_as_text_except(
            db,
            &t,
            &format!("org_id = '{VICTIM}'"),
            &["last_used_at"],
        ));
    }
    out
}

async fn admin_call(s: &TestServer, token: &str, m: Method, path: &str, body: Value) -> Value {
    let ct = if path.starts_with("/scim/") {
        "application/scim+json"
    } else {
        "application/json"
    };
    let r = s
        .http
        .request(m.clone(), s.url(path))
        .bearer_auth(token)
        .header("Content-Type", ct)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert!(status < 300, "seeding {m} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The victim tenant: two users with passwords, a group, a role, an identity, a product
/// profile, audit entries; and its parent, its child and an unrelated organization.
async fn seed(s: &TestServer) -> Victim {
    s.org(PARENT, None).await;
    s.org(VICTIM, Some(PARENT)).await;
    s.org(CHILD, Some(VICTIM)).await;
    s.org(OTHER, None).await;
    let admin = format!("victim_admin{SECRET}");
    s.credential(VICTIM, kind_token(), "victim_admin", &admin, "all")
        .await;
    // The credential the routes name (`/admin/v1/credentials/{id}`): not the admin one, so
    // the control pass revoking it leaves the victim its admin.
    s.credential(
        VICTIM,
        kind_token(),
        "victim_spare",
        &format!("victim_spare{SECRET}"),
        "scim",
    )
    .await;
    let mut v = Victim {
        credential_id: "victim_spare".into(),
        ..Victim::default()
    };
    let mut users = Vec::new();
    for (given, family) in [("Vicky", "Tenantson"), ("Victor", "Privatus")] {
        let email = format!(
            "{}.{}@victim-corp.example",
            given.to_lowercase(),
            family.to_lowercase()
        );
        let u = admin_call(
            s,
            &admin,
            Method::POST,
            "/scim/v2/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": email, "name": {"givenName": given, "familyName": family},
                "displayName": format!("{given} {family}"),
                "emails": [{"value": email, "primary": true}],
                "password": VICTIM_PASSWORD,
            }),
        )
        .await;
        let hex = u["id"].as_str().unwrap().to_string();
        v.strings.extend([
            hex.clone(),
            i64::from_str_radix(&hex, 16).unwrap().to_string(),
            email.clone(),
            given.to_string(),
            family.to_string(),
        ]);
        users.push((hex, email));
    }
    v.user_hex = users[0].0.clone();
    v.user_num = i64::from_str_radix(&v.user_hex, 16).unwrap().to_string();
    v.user_email = users[0].1.clone();
    v.user2_hex = users[1].0.clone();
    v.group_name = "Victim Vault Keepers".into();
    let g = admin_call(
        s,
        &admin,
        Method::POST,
        "/scim/v2/Groups",
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": v.group_name,
            "members": [{"value": v.user_hex}, {"value": v.user2_hex}],
        }),
    )
    .await;
    v.group_hex = g["id"].as_str().unwrap().to_string();
    v.group_num = i64::from_str_radix(&v.group_hex, 16).unwrap().to_string();
    let role = admin_call(
        s,
        &admin,
        Method::POST,
        "/api/v1/roles",
        json!({"name": "Victim Auditor Role", "users": [v.user_hex]}),
    )
    .await;
    v.role_id = role["id"].as_str().unwrap().to_string();
    v.identity = "victimidp".into();
    admin_call(
        s,
        &admin,
        Method::PUT,
        &format!("/api/users/{}/identities/{}", v.user_hex, v.identity),
        json!({"userId": "victim-idp-subject", "details": {"login": "victim-idp-login"}}),
    )
    .await;
    admin_call(
        s,
        &admin,
        Method::POST,
        "/admin/v1/groups",
        json!({"name": "Victim Product Profile", "kind": "product_profile"}),
    )
    .await;
    let hook = admin_call(
        s,
        &admin,
        Method::POST,
        "/api/hooks",
        json!({"name": "Victim Hook", "events": ["User.Created"],
               "config": {"url": "https://victim-hooks.example.com/x"}}),
    )
    .await;
    v.hook_id = hook["id"].as_str().unwrap().to_string();
    admin_call(
        s,
        &admin,
        Method::POST,
        "/admin/v1/schemas",
        json!({"schema": {"id": VICTIM_EXT, "attributes": [{"name": "vaultCode", "type": "string"}]}}),
    )
    .await;
    let logs = s
        .get(&format!("/api/logs?userId={}", v.user_hex))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let logs = json(logs, 200).await;
    v.log_id = logs[0]["id"].as_str().expect("an audit entry").to_string();
    v.strings.extend([
        v.group_hex.clone(),
        v.group_num.clone(),
        v.group_name.clone(),
        "Victim Product Profile".into(),
        v.role_id.clone(),
        "Victim Auditor Role".into(),
        "victim-idp-subject".into(),
        "victim-idp-login".into(),
        v.log_id.clone(),
        v.hook_id.clone(),
        VICTIM_EXT.to_string(),
        "Victim Hook".into(),
        "victim-hooks.example.com".into(),
        "victim_admin".into(),
        "victim_spare".into(),
        "victim_revoked".into(),
        "victim_gone_client".into(),
        "victim_client".into(),
        "victim_noscim".into(),
        "victim_scimonly".into(),
        "victim_readonly".into(),
    ]);
    v
}

/// An access token for `client` that expired a second ago, minted with the server's own key.
async fn expired_access_token(s: &TestServer, client: &str) -> String {
    let store = s.store.clone();
    let client = client.to_string();
    let token = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        let cred = muster::store::credentials::get(&mut conn, &client).unwrap();
        let keys = store.keys();
        muster::auth::jwt::mint(&mut conn, &keys, "http://x", &cred, &cred.scopes, None, 0)
            .unwrap()
            .access_token
    })
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    token
}

async fn access_token(s: &TestServer, id: &str, secret: &str) -> String {
    let r = s
        .post("/oauth/token")
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    json(r, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn revoke(s: &TestServer, id: &str) {
    let r = s
        .delete(&format!("/admin/v1/credentials/{id}"))
        .bearer_auth(format!("victim_admin{SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "revoke {id}");
}

async fn attackers(s: &TestServer) -> (Vec<Attacker>, [Attacker; 3]) {
    let mut out = Vec::new();
    for (org, parent) in [(OTHER, false), (PARENT, true), (CHILD, false)] {
        let tok = format!("{org}_token");
        let cli = format!("{org}_client");
        s.credential(org, kind_token(), &tok, &format!("{tok}{SECRET}"), "all")
            .await;
        s.credential(org, kind_client(), &cli, &format!("{cli}{SECRET}"), "all")
            .await;
        let jwt = access_token(s, &cli, &format!("{cli}{SECRET}")).await;
        let kind = Kind::Foreign { parent };
        let label =
            |what: &str| -> &'static str { Box::leak(format!("{org} {what}").into_boxed_str()) };
        out.push(Attacker {
            label: label("token"),
            auth: Auth::Bearer(format!("{tok}{SECRET}")),
            api_key: tok.clone(),
            kind,
        });
        out.push(Attacker {
            label: label("client (Basic)"),
            auth: Auth::Basic(cli.clone(), format!("{cli}{SECRET}")),
            api_key: cli.clone(),
            kind,
        });
        out.push(Attacker {
            label: label("access token"),
            auth: Auth::Bearer(jwt),
            api_key: cli.clone(),
            kind,
        });
    }
    // The victim's dead credentials.
    let revoked = format!("victim_revoked{SECRET}");
    s.credential(VICTIM, kind_token(), "victim_revoked", &revoked, "all")
        .await;
    revoke(s, "victim_revoked").await;
    let client = format!("victim_client{SECRET}");
    s.credential(VICTIM, kind_client(), "victim_client", &client, "all")
        .await;
    let gone = format!("victim_gone_client{SECRET}");
    s.credential(VICTIM, kind_client(), "victim_gone_client", &gone, "all")
        .await;
    let orphan = access_token(s, "victim_gone_client", &gone).await;
    revoke(s, "victim_gone_client").await;
    let expired = expired_access_token(s, "victim_client").await;
    let dead = |label, auth, key: &str| Attacker {
        label,
        auth,
        api_key: key.into(),
        kind: Kind::Dead,
    };
    out.push(dead(
        "revoked token",
        Auth::Bearer(revoked),
        "victim_revoked",
    ));
    out.push(dead(
        "expired access token",
        Auth::Bearer(expired),
        "victim_client",
    ));
    out.push(dead(
        "access token of a revoked client",
        Auth::Bearer(orphan),
        "victim_gone_client",
    ));
    out.push(dead(
        "revoked client (Basic)",
        Auth::Basic("victim_gone_client".into(), gone),
        "victim_gone_client",
    ));
    out.push(dead("no credential", Auth::None, "victim_client"));
    out.push(dead(
        "garbage bearer",
        Auth::Bearer("victim_admin".into()),
        "victim_admin",
    ));
    out.push(dead(
        "wrong client secret (Basic)",
        Auth::Basic("victim_client".into(), "not-the-secret-0123".into()),
        "victim_client",
    ));
    // Scope-less: SCIM routes get a token without `scim`, the others one with only `scim`.
    let noscim = format!("victim_noscim{SECRET}");
    s.credential(
        VICTIM,
        kind_token(),
        "victim_noscim",
        &noscim,
        "users:read users:write orgs:admin",
    )
    .await;
    let scimonly = format!("victim_scimonly{SECRET}");
    s.credential(VICTIM, kind_token(), "victim_scimonly", &scimonly, "scim")
        .await;
    let lacks = |label, secret: String, key: &str| Attacker {
        label,
        auth: Auth::Bearer(secret),
        api_key: key.into(),
        kind: Kind::LacksScope,
    };
    // A read-only token: every write outside SCIM needs `users:write` or `orgs:admin`.
    let readonly = format!("victim_readonly{SECRET}");
    s.credential(
        VICTIM,
        kind_token(),
        "victim_readonly",
        &readonly,
        "users:read",
    )
    .await;
    (
        out,
        [
            lacks("victim token without scim", noscim, "victim_noscim"),
            lacks("victim token with only scim", scimonly, "victim_scimonly"),
            lacks("victim read-only token", readonly, "victim_readonly"),
        ],
    )
}

/// Victim strings in `got` that the request did not carry itself.
fn leaked<'a>(v: &'a Victim, got: &str, sent: &str) -> Vec<&'a String> {
    v.strings
        .iter()
        .filter(|x| got.contains(x.as_str()) && !sent.contains(x.as_str()))
        .collect()
}

async fn every_route_refuses_every_foreign_or_dead_credential(b: Backend) {
    // Hundreds of failed Basic checks of two victim clients: no brute-force limit here
    // (tests/it/secrets.rs tests it).
    let s = TestServer::start_with(b, |c| c.auth_failure_limit = u32::MAX).await;
    let v = seed(&s).await;
    let doc = json(s.get("/openapi.json").send().await.unwrap(), 200).await;
    let routes = routes(&doc);
    assert!(
        routes.len() > 80,
        "only {} routes in /openapi.json",
        routes.len()
    );
    // Every route's parameters and body are known, or the test says which are not.
    let unknown: Vec<String> = routes
        .iter()
        .filter(|r| r.secured)
        .flat_map(|r| {
            let mut out: Vec<String> = r
                .params
                .iter()
                .filter(|p| fill(&v, &r.template, p, false).is_none())
                .map(|p| format!("{} {}: path parameter {p:?}", r.method, r.template))
                .collect();
            if r.has_body && body(&v, r).is_none() {
                out.push(format!("{} {}: a request body", r.method, r.template));
            }
            out
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "routes this matrix cannot attack yet; teach tests/it/isolation.rs:\n{}",
        unknown.join("\n")
    );
    let (attackers, [noscim, scimonly, readonly]) = attackers(&s).await;
    let before = snapshot(&s.db);
    assert!(before.len() > 10, "victim snapshot: {before:?}");

    let mut failures = Vec::new();
    let mut sent_count = 0usize;
    for r in &routes {
        if public_by_design(r) {
            assert!(
                !r.secured,
                "{} {} is public by design",
                r.method, r.template
            );
            continue;
        }
        if ["/openapi.json", "/docs"].contains(&r.template.as_str()) {
            continue;
        }
        assert!(
            r.secured,
            "{} {} declares no security scheme in /openapi.json",
            r.method, r.template
        );
        let body = if r.has_body {
            Some(body(&v, r).unwrap_or_else(|| {
                panic!(
                    "{} {}: no attack body; teach tests/it/isolation.rs",
                    r.method, r.template
                )
            }))
        } else {
            None
        };
        let path = path_of(&v, r, false);
        let ghost_path = path_of(&v, r, true);
        let names_victim = !r.params.is_empty() && path != ghost_path;
        let lacking = if r.template.starts_with("/scim/") {
            &noscim
        } else {
            &scimonly
        };
        // Writes (and the reads that need more than `users:read`) outside SCIM, against a
        // read-only token; Logto's password check is a read.
        let needs_more_than_read = !r.template.starts_with("/scim/")
            && (r.method != "GET"
                || r.template.starts_with("/admin/")
                || r.template.starts_with("/api/v1/organizations")
                || r.template == "/api/v1/deployments")
            && !r.template.ends_with("/password/verify")
            // The change feed is a read of what `users:read` may read anyway.
            && r.template != "/admin/v1/events"
            && !scope_free(r);
        let read_only = needs_more_than_read.then_some(&readonly);
        for a in attackers.iter().chain([lacking]).chain(read_only) {
            if a.kind == (Kind::Foreign { parent: true }) && parent_manages(r) {
                continue;
            }
            sent_count += 1;
            let got = send(&s, a, &r.method, &path, &body).await;
            let what = format!("{} {path} as {}", r.method, a.label);
            // What the attacker sent, and his own credential's id, he may see again.
            let sent_text = format!(
                "{path} {} {}",
                body.as_ref().map(|b| b.to_string()).unwrap_or_default(),
                a.api_key
            );
            let leaks = leaked(&v, &got.everything, &sent_text);
            if !leaks.is_empty() {
                failures.push(format!("{what}: leaked {leaks:?}: {}", got.everything));
            }
            // SCIM's /Me answers 501 for a credential not bound to a user, of any tenant.
            let me_501 = r.template == "/scim/v2/Me" && got.status == 501;
            if me_501 && a.kind != Kind::LacksScope {
                continue;
            }
            if got.status >= 500 {
                failures.push(format!("{what}: {} {}", got.status, got.text));
                continue;
            }
            let adobe_org = r.template.starts_with("/v2/usermanagement")
                && got.status == 400
                && got.text.contains("error.organization.invalid_id");
            let ok = match a.kind {
                Kind::Dead => got.status == 401,
                Kind::LacksScope => got.status == 403 || (scope_free(r) && got.status == 200),
                Kind::Foreign { .. } if names_victim => {
                    [401, 403, 404].contains(&got.status) || adobe_org
                }
                // Lists, searches and creates serve the attacker's own tenant.
                Kind::Foreign { .. } => true,
            };
            if !ok {
                failures.push(format!("{what}: status {} {}", got.status, got.text));
            }
            if names_victim && matches!(a.kind, Kind::Foreign { .. }) {
                let ghost = send(&s, a, &r.method, &ghost_path, &body).await;
                if ghost.status != got.status {
                    failures.push(format!(
                        "{what}: {} for the victim's object but {} for one that does not exist",
                        got.status, ghost.status
                    ));
                }
            }
        }
    }
    // `/metrics` is public: its route labels name no tenant, though every path above did.
    let metrics = s
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for x in v
        .strings
        .iter()
        .chain([&VICTIM.to_string(), &PARENT.to_string()])
    {
        if metrics.contains(x.as_str()) {
            failures.push(format!("/metrics names {x:?}"));
        }
    }
    let after = snapshot(&s.db);
    let changed: Vec<_> = before
        .iter()
        .filter(|l| !after.contains(l))
        .chain(after.iter().filter(|l| !before.contains(l)))
        .collect();
    assert!(
        failures.is_empty() && changed.is_empty(),
        "{} of {sent_count} attacks failed:\n{}\nvictim rows changed: {changed:#?}",
        failures.len(),
        failures.join("\n")
    );

    // Control: the victim's own credential gets through with the same paths and bodies.
    let owner = Attacker {
        label: "victim admin",
        auth: Auth::Bearer(format!("victim_admin{SECRET}")),
        api_key: "victim_admin".into(),
        kind: Kind::Dead,
    };
    let mut refused = Vec::new();
    for r in &routes {
        if public_by_design(r) || !r.secured {
            continue;
        }
        let body = if r.has_body { body(&v, r) } else { None };
        let path = path_of(&v, r, false);
        let got = send(&s, &owner, &r.method, &path, &body).await;
        // 404: the victim names itself where a child is expected, or a delete ran first;
        // 409: an object named twice (`Mallory Group` created and then replaced); a wrong
        // password (the control pass changed it first); /Me: 501 for a credential that is
        // not a user's.
        let wrong_password = (r.template.ends_with("/password/verify") && got.status == 422)
            || (r.template.ends_with("/mfa/disable") && got.text.contains("invalid_credentials"));
        let me = r.template == "/scim/v2/Me" && got.status == 501;
        // A hook's test reaches past the checks to its URL, which resolves nowhere here.
        let unreachable_hook = r.template == "/api/hooks/{id}/test"
            && got.status == 422
            && got.text.contains("hook.send_test_payload_failed");
        if ![200, 201, 202, 204, 404, 409].contains(&got.status)
            && !wrong_password
            && !me
            && !unreachable_hook
        {
            refused.push(format!("{} {path}: {} {}", r.method, got.status, got.text));
        }
    }
    assert!(
        refused.is_empty(),
        "the victim's own credential was refused, so the matrix above proves less:\n{}",
        refused.join("\n")
    );
    eprintln!(
        "isolation: {} routes, {sent_count} attacks, {} victim rows unchanged",
        routes.len(),
        before.len()
    );
}
