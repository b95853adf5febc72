//! Custom SCIM schema extensions (docs/scim-extensions.md) over real HTTP on SQLite and
//! PostgreSQL: registration and its validation, discovery, the request shapes Entra ID and
//! Okta document for custom attributes (extension objects, flat `urn:…:attr` keys, PATCH on
//! URN paths and the bare URN), typing and the rule book (required, immutable, readOnly,
//! `uniqueness: server`, `returned`), filters and sorting in SQL, groups, extensions nobody
//! registered, and a second instance seeing a registration at once.

use crate::common;

use common::*;
use serde_json::{json, Value};

both_backends!(
    registration_is_validated_and_discovered,
    entra_and_okta_shapes_round_trip,
    the_rule_book_types_and_guards_extension_values,
    filters_and_sorting_run_on_extension_values,
    groups_carry_extensions,
    unregistered_extensions_keep_ignore_or_reject,
    removing_a_schema_with_values_needs_force,
    another_instance_sees_a_registration_at_once,
    the_command_line_registers_for_every_organization,
    edge_cases_an_integrator_meets,
    the_console_shows_and_edits_extension_values,
    the_console_edits_every_shape_of_extension_value
);

const EXT: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
const GEXT: &str = "urn:example:params:scim:schemas:extension:acme:2.0:Group";

fn schema_doc() -> Value {
    json!({
        "id": EXT,
        "name": "CustomExtension",
        "description": "What Entra's attribute mappings send",
        "attributes": [
            {"name": "costCenter", "type": "string"},
            {"name": "code", "type": "string", "caseExact": true},
            {"name": "level", "type": "integer"},
            {"name": "ratio", "type": "decimal"},
            {"name": "vip", "type": "boolean"},
            {"name": "hired", "type": "dateTime"},
            {"name": "site", "type": "reference", "referenceTypes": ["external"]},
            {"name": "badgeNumber", "type": "string", "uniqueness": "server"},
            {"name": "employeeKey", "type": "string", "mutability": "immutable"},
            {"name": "computed", "type": "string", "mutability": "readOnly"},
            {"name": "secretCode", "type": "string", "returned": "never"},
            {"name": "shoeSize", "type": "integer", "returned": "request"},
            {"name": "tags", "type": "string", "multiValued": true},
            {"name": "badges", "type": "complex", "multiValued": true, "subAttributes": [
                {"name": "label", "type": "string"},
                {"name": "kind", "type": "string"}
            ]},
            {"name": "desk", "type": "complex", "subAttributes": [
                {"name": "building", "type": "string"},
                {"name": "floor", "type": "integer"}
            ]}
        ]
    })
}

async fn admin(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = s
        .http
        .request(method, s.url(&format!("/admin/v1{path}")))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn register(s: &TestServer, body: Value) -> Value {
    let (status, v) = admin(s, reqwest::Method::POST, "/schemas", Some(body)).await;
    assert_eq!(status, 201, "{v}");
    v
}

async fn call(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = scim(s, method, path);
    if let Some(b) = body {
        r = r.header("content-type", SCIM_CT).body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn ok(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    want: u16,
) -> Value {
    let (status, v) = call(s, method, path, body).await;
    assert_eq!(status, want, "{path}: {v}");
    v
}

async fn create_user(s: &TestServer, body: Value) -> Value {
    ok(s, reqwest::Method::POST, "/Users", Some(body), 201).await
}

async fn patch_user(s: &TestServer, id: &str, ops: Value) -> (u16, Value) {
    call(
        s,
        reqwest::Method::PATCH,
        &format!("/Users/{id}"),
        Some(json!({"schemas": [PATCH], "Operations": ops})),
    )
    .await
}

/// The userNames a filter selects, in order.
async fn names(s: &TestServer, query: &str) -> Vec<String> {
    let v = ok(
        s,
        reqwest::Method::GET,
        &format!("/Users?{query}"),
        None,
        200,
    )
    .await;
    v["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_string())
        .collect()
}

async fn filtered(s: &TestServer, filter: &str) -> Vec<String> {
    let mut n = names(s, &format!("filter={}&count=100", urlencode(filter))).await;
    n.sort();
    n
}

async fn registration_is_validated_and_discovered(b: Backend) {
    let s = TestServer::start(b).await;
    // Malformed documents: a 400 that names what is wrong.
    for (body, words) in [
        (
            json!({"schema": {"name": "x", "attributes": []}}),
            "needs an \"id\"",
        ),
        (
            json!({"schema": {"id": "not-a-urn", "attributes": [{"name": "a", "type": "string"}]}}),
            "not a URN",
        ),
        (
            json!({"schema": {"id": "urn:ietf:params:scim:schemas:core:2.0:User", "attributes": [{"name": "a", "type": "string"}]}}),
            "built in",
        ),
        (
            json!({"schema": {"id": "urn:x:2.0:User", "attributes": [{"name": "cost center", "type": "string"}]}}),
            "\"cost center\"",
        ),
        (
            json!({"schema": {"id": "urn:x:2.0:User", "attributes": [{"name": "level", "type": "int"}]}}),
            "attribute \"level\"",
        ),
        (
            json!({"schema": {"id": "urn:x:2.0:User", "attributes": [{"name": "level"}]}}),
            "needs a \"type\"",
        ),
        (
            json!({"schema": {"id": "urn:x:2.0:User", "attributes": [{"name": "a", "type": "string"}, {"name": "A", "type": "string"}]}}),
            "defined twice",
        ),
        (
            json!({"schema": {"id": "urn:x:2.0:User", "attributes": [{"name": "desk", "type": "complex"}]}}),
            "needs \"subAttributes\"",
        ),
        (
            json!({"schema": {"id": "urn:x:2.0:User", "attributes": [{"name": "desk", "type": "complex", "subAttributes": [{"name": "inner", "type": "complex", "subAttributes": [{"name": "x", "type": "string"}]}]}]}}),
            "cannot be complex",
        ),
        (
            json!({"schema": {"id": "urn:x:2.0:User", "attributes": [{"name": "a", "type": "string", "mutability": "sometimes"}]}}),
            "attribute \"a\"",
        ),
        (
            json!({"schema": {"id": "urn:x:2.0:Thing", "attributes": [{"name": "a", "type": "string"}]}}),
            "resourceType",
        ),
        (
            json!({"schema": {"id": "urn:x:2.0:User", "attributes": [{"name": "a", "type": "string"}]}, "resourceType": "Device"}),
            "not User or Group",
        ),
    ] {
        let (status, v) = admin(&s, reqwest::Method::POST, "/schemas", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {v}");
        let msg = v["message"].as_str().unwrap_or_default();
        assert!(msg.contains(words), "{body}: {msg:?} lacks {words:?}");
    }
    // Nothing of it was registered.
    let (_, list) = admin(&s, reqwest::Method::GET, "/schemas", None).await;
    assert_eq!(list["schemas"], json!([]));

    let r = register(
        &s,
        json!({"schema": schema_doc(), "resourceType": "User", "required": false}),
    )
    .await;
    assert_eq!(r["id"], EXT);
    assert_eq!(r["resourceType"], "User");
    assert_eq!(r["scope"], "organization");
    assert_eq!(r["values"], 0);
    // Once per organization.
    let (status, v) = admin(
        &s,
        reqwest::Method::POST,
        "/schemas",
        Some(json!({"schema": schema_doc()})),
    )
    .await;
    assert_eq!(status, 409, "{v}");

    let (_, list) = admin(&s, reqwest::Method::GET, "/schemas", None).await;
    let ids: Vec<&str> = list["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [EXT]);
    let (status, one) = admin(
        &s,
        reqwest::Method::GET,
        &format!("/schemas/{}", EXT.to_uppercase()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["schema"]["attributes"].as_array().unwrap().len(), 15);

    // Discovery serves it at once, with every characteristic spelled out.
    let doc = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Schemas/{EXT}"),
        None,
        200,
    )
    .await;
    assert_eq!(doc["id"], EXT);
    assert_eq!(
        doc["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"])
    );
    let level = doc["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "level")
        .unwrap();
    assert_eq!(level["type"], "integer");
    assert_eq!(level["multiValued"], false);
    assert_eq!(level["mutability"], "readWrite");
    assert_eq!(level["returned"], "default");
    assert_eq!(level["uniqueness"], "none");
    assert!(doc["meta"]["location"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/scim/v2/Schemas/{EXT}")));
    let all = ok(&s, reqwest::Method::GET, "/Schemas", None, 200).await;
    let urns: Vec<&str> = all["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert!(urns.contains(&EXT), "{urns:?}");
    assert!(urns.contains(&ENT));
    let rt = ok(&s, reqwest::Method::GET, "/ResourceTypes/User", None, 200).await;
    assert_eq!(
        rt["schemaExtensions"],
        json!([{"schema": ENT, "required": false}, {"schema": EXT, "required": false}])
    );
    // A group extension, required.
    let g = register(&s, json!({"schema": {"id": GEXT, "attributes": [{"name": "costCode", "type": "string"}]}, "required": true})).await;
    assert_eq!(g["resourceType"], "Group");
    let rt = ok(&s, reqwest::Method::GET, "/ResourceTypes/Group", None, 200).await;
    assert_eq!(
        rt["schemaExtensions"],
        json!([{"schema": GEXT, "required": true}])
    );

    // Another organization sees none of it.
    s.org("other", None).await;
    let other = "tok-other-ext-0123456789abcdef";
    s.credential(
        "other",
        kind_token(),
        "tok_other_ext",
        other,
        "scim users:read orgs:admin",
    )
    .await;
    let v: Value = s
        .get("/scim/v2/ResourceTypes/User")
        .bearer_auth(other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["schemaExtensions"],
        json!([{"schema": ENT, "required": false}])
    );
    let v: Value = s
        .get("/admin/v1/schemas")
        .bearer_auth(other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["schemas"], json!([]));
    let resp = s
        .get(&format!("/scim/v2/Schemas/{EXT}"))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

async fn entra_and_okta_shapes_round_trip(b: Backend) {
    let s = TestServer::start(b).await;
    register(&s, json!({"schema": schema_doc()})).await;
    // Okta: the extension object; Entra: flat URN-qualified keys, "True" and numbers as text.
    let u = create_user(
        &s,
        json!({
            "schemas": [USER, EXT],
            "userName": "okta1",
            EXT: {"costCenter": "CC-42", "level": 7, "vip": true, "tags": ["a", "b"],
                  "badges": [{"label": "gold", "kind": "vip"}, {"label": "blue", "kind": "std"}],
                  "desk": {"building": "B1", "floor": 3}, "unknownThing": 1}
        }),
    )
    .await;
    assert_eq!(u["schemas"], json!([USER, EXT]));
    assert_eq!(u[EXT]["costCenter"], "CC-42");
    assert_eq!(u[EXT]["level"], 7);
    assert_eq!(u[EXT]["vip"], true);
    assert_eq!(u[EXT]["tags"], json!(["a", "b"]));
    assert_eq!(u[EXT]["badges"][1], json!({"label": "blue", "kind": "std"}));
    assert_eq!(u[EXT]["desk"], json!({"building": "B1", "floor": 3}));
    assert!(u[EXT].get("unknownThing").is_none(), "{u}");
    let e = create_user(
        &s,
        json!({
            "schemas": [USER, EXT],
            "userName": "entra1",
            format!("{EXT}:costCenter"): "CC-7",
            format!("{EXT}:vip"): "True",
            format!("{EXT}:level"): "12",
            format!("{EXT}:ratio"): 0.5,
            format!("{EXT}:hired"): "2024-05-01T10:00:00Z",
        }),
    )
    .await;
    assert_eq!(
        e[EXT],
        json!({"costCenter": "CC-7", "vip": true, "level": 12, "ratio": 0.5, "hired": "2024-05-01T10:00:00Z"})
    );
    let id = e["id"].as_str().unwrap().to_string();
    assert_eq!(e["meta"]["version"], "W/\"1\"");

    // A GET reads back what was written.
    let got = ok(&s, reqwest::Method::GET, &format!("/Users/{id}"), None, 200).await;
    assert_eq!(got[EXT], e[EXT]);

    // Entra's PATCH: Add on the flat path, Replace with "False", path-less with flat keys.
    let (st, p) = patch_user(
        &s,
        &id,
        json!([
            {"op": "Add", "path": format!("{EXT}:costCenter"), "value": "CC-43"},
            {"op": "Replace", "path": format!("{EXT}:vip"), "value": "False"},
            {"op": "Add", "value": {format!("{EXT}:code"): "Xy-1"}},
        ]),
    )
    .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p[EXT]["costCenter"], "CC-43");
    assert_eq!(p[EXT]["vip"], false);
    assert_eq!(p[EXT]["code"], "Xy-1");
    assert_eq!(p["meta"]["version"], "W/\"2\"");
    // The bare URN with an object; a value filter on a multi-valued complex attribute.
    let (st, p) = patch_user(&s, &id, json!([
        {"op": "replace", "path": EXT, "value": {"badges": [{"label": "red", "kind": "x"}, {"label": "green", "kind": "y"}]}},
        {"op": "replace", "path": format!("{EXT}:badges[label eq \"green\"].kind"), "value": "z"},
        {"op": "remove", "path": format!("{EXT}:ratio")},
    ])).await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(
        p[EXT]["badges"],
        json!([{"label": "red", "kind": "x"}, {"label": "green", "kind": "z"}])
    );
    assert!(p[EXT].get("ratio").is_none());
    assert_eq!(
        p[EXT]["costCenter"], "CC-43",
        "replace of the URN object merges"
    );
    // A type error names the attribute and changes nothing.
    let (st, err) = patch_user(
        &s,
        &id,
        json!([{"op": "replace", "path": format!("{EXT}:level"), "value": "many"}]),
    )
    .await;
    assert_eq!(st, 400, "{err}");
    assert!(
        err["detail"]
            .as_str()
            .unwrap()
            .contains("level must be an integer"),
        "{err}"
    );
    let same = ok(&s, reqwest::Method::GET, &format!("/Users/{id}"), None, 200).await;
    assert_eq!(same["meta"]["version"], "W/\"3\"");
    // A PATCH that removes every value drops the URN from `schemas`.
    let (st, p) = patch_user(&s, &id, json!([{"op": "remove", "path": EXT}])).await;
    assert_eq!(st, 200, "{p}");
    assert!(p.get(EXT).is_none(), "{p}");
    assert_eq!(p["schemas"], json!([USER]));

    // PUT replaces the extension as a whole.
    let put = ok(
        &s,
        reqwest::Method::PUT,
        &format!("/Users/{id}"),
        Some(json!({
            "schemas": [USER, EXT], "userName": "entra1", EXT: {"costCenter": "CC-9"}
        })),
        200,
    )
    .await;
    assert_eq!(put[EXT], json!({"costCenter": "CC-9"}));

    // Projection: the attribute's path, the whole URN, and excluded.
    let u1 = u["id"].as_str().unwrap();
    let v = ok(
        &s,
        reqwest::Method::GET,
        &format!(
            "/Users/{u1}?attributes={}",
            urlencode(&format!("{EXT}:costCenter"))
        ),
        None,
        200,
    )
    .await;
    assert_eq!(v[EXT], json!({"costCenter": "CC-42"}));
    assert!(v.get("userName").is_none());
    let v = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Users/{u1}?attributes={}", urlencode(EXT)),
        None,
        200,
    )
    .await;
    assert_eq!(v[EXT]["level"], 7);
    let v = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Users/{u1}?excludedAttributes={}", urlencode(EXT)),
        None,
        200,
    )
    .await;
    assert!(v.get(EXT).is_none(), "{v}");
    assert_eq!(v["userName"], "okta1");

    // Bulk creates carry them too.
    let bulk = ok(
        &s,
        reqwest::Method::POST,
        "/Bulk",
        Some(json!({
            "schemas": [BULK],
            "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b1",
                            "data": {"userName": "bulk1", EXT: {"level": "3"}}}]
        })),
        200,
    )
    .await;
    assert_eq!(bulk["Operations"][0]["status"], "201", "{bulk}");
    assert_eq!(filtered(&s, &format!("{EXT}:level eq 3")).await, ["bulk1"]);
}

async fn the_rule_book_types_and_guards_extension_values(b: Backend) {
    let s = TestServer::start(b).await;
    register(&s, json!({"schema": schema_doc()})).await;
    let a = create_user(
        &s,
        json!({"userName": "a", EXT: {
            "badgeNumber": "B-1", "employeeKey": "K-1", "computed": "ignored",
            "secretCode": "s3cret", "shoeSize": 44
        }}),
    )
    .await;
    let id = a["id"].as_str().unwrap().to_string();
    // readOnly is ignored on input; returned never is never shown; request only on request.
    assert!(a[EXT].get("computed").is_none(), "{a}");
    assert!(a[EXT].get("secretCode").is_none(), "{a}");
    assert!(a[EXT].get("shoeSize").is_none(), "{a}");
    let v = ok(
        &s,
        reqwest::Method::GET,
        &format!(
            "/Users/{id}?attributes={}",
            urlencode(&format!("{EXT}:shoeSize,{EXT}:secretCode"))
        ),
        None,
        200,
    )
    .await;
    assert_eq!(v[EXT], json!({"shoeSize": 44}));
    // ... but it was stored (the schema counts its values), and cannot be probed by a filter.
    let (_, one) = admin(&s, reqwest::Method::GET, &format!("/schemas/{EXT}"), None).await;
    assert_eq!(
        one["values"], 4,
        "badgeNumber, employeeKey, secretCode, shoeSize: {one}"
    );
    let probe = format!(
        "/Users?filter={}",
        urlencode(&format!("{EXT}:secretCode eq \"s3cret\""))
    );
    let (st, _) = call(&s, reqwest::Method::GET, &probe, None).await;
    assert_eq!(st, 400);

    // uniqueness: server — another user's value is 409 (case-insensitively, caseExact=false).
    let (st, v) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "b", EXT: {"badgeNumber": "b-1"}})),
    )
    .await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["scimType"], "uniqueness");
    assert!(v["detail"].as_str().unwrap().contains("badgeNumber"), "{v}");
    let bb = create_user(&s, json!({"userName": "b", EXT: {"badgeNumber": "B-2"}})).await;
    let (st, v) = patch_user(
        &s,
        bb["id"].as_str().unwrap(),
        json!([{"op": "replace", "path": format!("{EXT}:badgeNumber"), "value": "B-1"}]),
    )
    .await;
    assert_eq!(st, 409, "{v}");
    // The holder itself may write its own value again.
    let (st, v) = patch_user(&s, &id, json!([{"op": "replace", "path": format!("{EXT}:badgeNumber"), "value": "B-1"}, {"op": "replace", "path": "displayName", "value": "A"}])).await;
    assert_eq!(st, 200, "{v}");

    // immutable: set once, then kept.
    let (st, v) = patch_user(
        &s,
        &id,
        json!([{"op": "replace", "path": format!("{EXT}:employeeKey"), "value": "K-2"}]),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("immutable"), "{v}");
    let (st, _) = patch_user(
        &s,
        bb["id"].as_str().unwrap(),
        json!([{"op": "add", "path": format!("{EXT}:employeeKey"), "value": "K-9"}]),
    )
    .await;
    assert_eq!(st, 200, "an immutable attribute without a value may be set");

    // A value too long for the index: 400, not a database error.
    let (st, v) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "c", EXT: {"costCenter": "x".repeat(2001)}})),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("2000"), "{v}");
    // NUL cannot be stored on PostgreSQL: refused on both.
    let (st, _) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "c", EXT: {"costCenter": "a\u{0}b"}})),
    )
    .await;
    assert_eq!(st, 400);

    // A required extension, and required attributes of a present extension.
    register(
        &s,
        json!({"schema": {"id": "urn:x:req:2.0:User", "attributes": [
        {"name": "tenantCode", "type": "string", "required": true},
        {"name": "note", "type": "string"}
    ]}, "required": true}),
    )
    .await;
    let (st, v) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "d"})),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("urn:x:req:2.0:User is required"),
        "{v}"
    );
    let (st, v) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "d", "urn:x:req:2.0:User": {"note": "n"}})),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("tenantCode is required"),
        "{v}"
    );
    create_user(
        &s,
        json!({"userName": "d", "urn:x:req:2.0:User": {"tenantCode": "T"}}),
    )
    .await;
}

async fn filters_and_sorting_run_on_extension_values(b: Backend) {
    let s = TestServer::start(b).await;
    register(&s, json!({"schema": schema_doc()})).await;
    let people = [
        (
            "ann",
            json!({"costCenter": "Sales-1", "code": "AbC", "level": 3, "ratio": 0.25, "vip": true, "hired": "2020-01-01T00:00:00Z", "tags": ["x", "y"], "badges": [{"label": "gold", "kind": "a"}, {"label": "red", "kind": "b"}]}),
        ),
        (
            "bob",
            json!({"costCenter": "sales-2", "code": "abc", "level": 10, "ratio": 1.5, "vip": false, "hired": "2023-06-01T12:00:00+02:00", "tags": ["y"], "badges": [{"label": "gold", "kind": "b"}]}),
        ),
        (
            "cid",
            json!({"costCenter": "Ops", "level": 7, "desk": {"building": "B2", "floor": 1}}),
        ),
        ("dee", json!({})),
    ];
    for (name, ext) in &people {
        let mut body = json!({"userName": name});
        if ext.as_object().is_some_and(|o| !o.is_empty()) {
            body[EXT] = ext.clone();
        }
        create_user(&s, body).await;
    }
    let f = |x: &str| format!("{EXT}:{x}");
    let cases: Vec<(String, Vec<&str>)> = vec![
        (format!("{} eq \"SALES-1\"", f("costCenter")), vec!["ann"]),
        (
            format!("{} sw \"sales\"", f("costCenter")),
            vec!["ann", "bob"],
        ),
        (
            format!("{} co \"LES-\"", f("costCenter")),
            vec!["ann", "bob"],
        ),
        (format!("{} ew \"-2\"", f("costCenter")), vec!["bob"]),
        (
            format!("{} ne \"ops\"", f("costCenter")),
            vec!["ann", "bob", "dee"],
        ),
        (format!("{} eq \"abc\"", f("code")), vec!["bob"]),
        (format!("{} gt 5", f("level")), vec!["bob", "cid"]),
        (format!("{} le 7", f("level")), vec!["ann", "cid"]),
        (
            format!("{} ge 0.25 and {} lt 1", f("ratio"), f("ratio")),
            vec!["ann"],
        ),
        (format!("{} eq true", f("vip")), vec!["ann"]),
        (format!("{} ne true", f("vip")), vec!["bob", "cid", "dee"]),
        (
            format!("{} gt \"2022-01-01T00:00:00Z\"", f("hired")),
            vec!["bob"],
        ),
        (
            format!("{} lt \"2023-06-01T11:00:00Z\"", f("hired")),
            vec!["ann", "bob"],
        ),
        (format!("{} pr", f("level")), vec!["ann", "bob", "cid"]),
        (format!("not ({} pr)", f("level")), vec!["dee"]),
        (format!("{} eq \"y\"", f("tags")), vec!["ann", "bob"]),
        (format!("{}[value eq \"x\"]", f("tags")), vec!["ann"]),
        (
            format!("{}.label eq \"gold\"", f("badges")),
            vec!["ann", "bob"],
        ),
        (
            format!("{}[label eq \"gold\" and kind eq \"b\"]", f("badges")),
            vec!["bob"],
        ),
        (
            format!("{}[label eq \"red\" and kind eq \"a\"]", f("badges")),
            vec![],
        ),
        (format!("{}.floor eq 1", f("desk")), vec!["cid"]),
        (format!("{} pr", f("desk")), vec!["cid"]),
        (
            format!("{} eq \"Ops\" or userName eq \"dee\"", f("costCenter")),
            vec!["cid", "dee"],
        ),
        (format!("schemas eq \"{EXT}\""), vec!["ann", "bob", "cid"]),
        (format!("{} eq null", f("costCenter")), vec!["dee"]),
    ];
    for (filter, want) in cases {
        assert_eq!(filtered(&s, &filter).await, want, "{filter}");
    }
    // Type mismatches are invalidFilter.
    for bad in [
        format!("{} gt true", f("vip")),
        format!("{} co \"1\"", f("level")),
        format!("{} eq 1", f("nope")),
    ] {
        let (st, v) = call(
            &s,
            reqwest::Method::GET,
            &format!("/Users?filter={}", urlencode(&bad)),
            None,
        )
        .await;
        assert_eq!(st, 400, "{bad}: {v}");
        assert_eq!(v["scimType"], "invalidFilter", "{bad}");
    }
    // sortBy: numbers as numbers, strings case-insensitively, absent values last on both.
    let by = |attr: &str, order: &str| {
        format!(
            "sortBy={}&sortOrder={order}&filter={}",
            urlencode(&f(attr)),
            urlencode(&format!("{} pr", f("level")))
        )
    };
    assert_eq!(
        names(&s, &by("level", "ascending")).await,
        ["ann", "cid", "bob"]
    );
    assert_eq!(
        names(&s, &by("level", "descending")).await,
        ["bob", "cid", "ann"]
    );
    assert_eq!(
        names(&s, &by("costCenter", "ascending")).await,
        ["cid", "ann", "bob"]
    );
}

async fn groups_carry_extensions(b: Backend) {
    let s = TestServer::start(b).await;
    register(
        &s,
        json!({"schema": {"id": GEXT, "attributes": [
            {"name": "costCode", "type": "string"}, {"name": "seats", "type": "integer"}
        ]}}),
    )
    .await;
    let (st, g) = call(
        &s,
        reqwest::Method::POST,
        "/Groups",
        Some(json!({
            "schemas": [GROUP, GEXT], "displayName": "Eng", GEXT: {"costCode": "E-1", "seats": "12"}
        })),
    )
    .await;
    assert_eq!(st, 201, "{g}");
    assert_eq!(g["schemas"], json!([GROUP, GEXT]));
    assert_eq!(g[GEXT], json!({"costCode": "E-1", "seats": 12}));
    let id = g["id"].as_str().unwrap();
    let plain = ok(
        &s,
        reqwest::Method::POST,
        "/Groups",
        Some(json!({"displayName": "Ops"})),
        201,
    )
    .await;
    assert!(plain.get(GEXT).is_none());
    let got = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Groups/{id}"),
        None,
        200,
    )
    .await;
    assert_eq!(got[GEXT], g[GEXT]);
    let p = ok(
        &s,
        reqwest::Method::PATCH,
        &format!("/Groups/{id}"),
        Some(json!({"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": format!("{GEXT}:seats"), "value": 13}
        ]})),
        200,
    )
    .await;
    assert_eq!(p[GEXT]["seats"], 13);
    assert_eq!(p["meta"]["version"], "W/\"2\"");
    let list = ok(
        &s,
        reqwest::Method::GET,
        &format!(
            "/Groups?filter={}",
            urlencode(&format!("{GEXT}:seats gt 12"))
        ),
        None,
        200,
    )
    .await;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["displayName"], "Eng");
    assert_eq!(list["Resources"][0][GEXT]["costCode"], "E-1");
    // Other dialects' writes keep them: Domo renames the group.
    let all = ok(
        &s,
        reqwest::Method::GET,
        "/Groups?sortBy=displayName",
        None,
        200,
    )
    .await;
    assert_eq!(all["Resources"][0][GEXT]["seats"], 13);
}

async fn unregistered_extensions_keep_ignore_or_reject(b: Backend) {
    let s = TestServer::start(b).await;
    let before = metric(&s, "muster_scim_unknown_extensions_total").await;
    let kept = create_user(
        &s,
        json!({
            "schemas": [USER, "urn:okta:acme_1:1.0:user"], "userName": "k",
            "urn:okta:acme_1:1.0:user": {"region": "EMEA", "score": 3, "flags": [true]},
            "urn:other:2.0:User:flat": "F"
        }),
    )
    .await;
    assert_eq!(
        kept["urn:okta:acme_1:1.0:user"],
        json!({"region": "EMEA", "score": 3, "flags": [true]})
    );
    assert_eq!(kept["urn:other:2.0:User"], json!({"flat": "F"}));
    assert_eq!(
        kept["schemas"],
        json!([USER, "urn:okta:acme_1:1.0:user", "urn:other:2.0:User"])
    );
    assert!(metric(&s, "muster_scim_unknown_extensions_total").await >= before + 2);
    assert_eq!(
        filtered(&s, "schemas eq \"urn:okta:acme_1:1.0:user\"").await,
        ["k"]
    );
    // Too much of an unknown extension is refused, not truncated.
    let (st, v) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "big", "urn:big:1.0:user": {"blob": "x".repeat(17 * 1024)}})),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    // Registering the schema later types the values on the next write.
    register(&s, json!({"schema": {"id": "urn:other:2.0:User", "attributes": [{"name": "flat", "type": "string"}, {"name": "n", "type": "integer"}]}})).await;
    let id = kept["id"].as_str().unwrap();
    let (st, p) = patch_user(
        &s,
        id,
        json!([{"op": "add", "path": "urn:other:2.0:User:n", "value": "5"}]),
    )
    .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["urn:other:2.0:User"], json!({"flat": "F", "n": 5}));
    assert_eq!(filtered(&s, "urn:other:2.0:User:n ge 5").await, ["k"]);

    use muster::scim::schema::Unknown;
    use muster::store::schemas::Settings;
    let cache = s.store.schema_cache();
    cache.configure(Settings {
        files: vec![],
        unknown: Unknown::Ignore,
    });
    let i = create_user(&s, json!({"userName": "i", "urn:x:y:1.0:user": {"a": "b"}})).await;
    assert!(i.get("urn:x:y:1.0:user").is_none(), "{i}");
    assert_eq!(i["schemas"], json!([USER]));
    cache.configure(Settings {
        files: vec![],
        unknown: Unknown::Reject,
    });
    let (st, v) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "r", "urn:x:y:1.0:user": {"a": "b"}})),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["scimType"], "invalidValue");
    assert!(
        v["detail"].as_str().unwrap().contains("urn:x:y:1.0:user"),
        "{v}"
    );
    // Registered ones still work in reject mode.
    create_user(&s, json!({"userName": "r", "urn:other:2.0:User": {"n": 1}})).await;
}

async fn removing_a_schema_with_values_needs_force(b: Backend) {
    let s = TestServer::start(b).await;
    register(&s, json!({"schema": schema_doc()})).await;
    create_user(
        &s,
        json!({"userName": "a", EXT: {"costCenter": "C", "tags": ["x", "y"]}}),
    )
    .await;
    let (_, one) = admin(&s, reqwest::Method::GET, &format!("/schemas/{EXT}"), None).await;
    assert_eq!(one["values"], 3);
    let (st, v) = admin(
        &s,
        reqwest::Method::DELETE,
        &format!("/schemas/{EXT}"),
        None,
    )
    .await;
    assert_eq!(st, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("3 values"), "{v}");
    let (st, v) = admin(
        &s,
        reqwest::Method::DELETE,
        &format!("/schemas/{EXT}?force=true"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v, json!({"removed": EXT, "valuesDeleted": 3}));
    let u = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Users?filter={}", urlencode("userName eq \"a\"")),
        None,
        200,
    )
    .await;
    assert!(u["Resources"][0].get(EXT).is_none(), "{u}");
    let (st, _) = admin(&s, reqwest::Method::GET, &format!("/schemas/{EXT}"), None).await;
    assert_eq!(st, 404);
    let (st, _) = call(&s, reqwest::Method::GET, &format!("/Schemas/{EXT}"), None).await;
    assert_eq!(st, 404);
    // A token without orgs:admin cannot register or remove.
    let scim_only = "tok-scim-only-ext-0123456789abcdef";
    s.credential(
        "default",
        kind_token(),
        "tok_scim_only_ext",
        scim_only,
        "scim",
    )
    .await;
    let resp = s
        .post("/admin/v1/schemas")
        .bearer_auth(scim_only)
        .header("content-type", "application/json")
        .body(json!({"schema": schema_doc()}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}

async fn another_instance_sees_a_registration_at_once(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.another_instance(|_| {}).await;
    // The second instance builds its registry before the registration...
    let rt = ok(&t, reqwest::Method::GET, "/ResourceTypes/User", None, 200).await;
    assert_eq!(rt["schemaExtensions"].as_array().unwrap().len(), 1);
    register(&s, json!({"schema": schema_doc()})).await;
    // ... and sees it on its next request.
    let rt = ok(&t, reqwest::Method::GET, "/ResourceTypes/User", None, 200).await;
    assert_eq!(rt["schemaExtensions"].as_array().unwrap().len(), 2);
    let u = create_user(&t, json!({"userName": "x", EXT: {"level": "4"}})).await;
    assert_eq!(u[EXT]["level"], 4);
}

async fn the_command_line_registers_for_every_organization(b: Backend) {
    let s = TestServer::start(b).await;
    s.org("acme", None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.json");
    std::fs::write(&file, schema_doc().to_string()).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        json!({"id": "urn:bad:2.0:User", "attributes": [{"name": "9lives", "type": "string"}]})
            .to_string(),
    )
    .unwrap();
    let url = s.db.url.clone();
    let run = move |args: Vec<String>| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                cli(&url, &args)
            })
            .await
            .unwrap()
        }
    };
    let (okay, _, err) = run(vec![
        "schema".into(),
        "add".into(),
        bad.display().to_string(),
    ])
    .await;
    assert!(!okay);
    assert!(err.contains("9lives"), "{err}");
    let (okay, out, err) = run(vec![
        "schema".into(),
        "add".into(),
        file.display().to_string(),
    ])
    .await;
    assert!(okay, "{err}");
    assert!(out.contains("for every organization"), "{out}");
    // Every organization's instance sees it on its next request.
    let rt = ok(&s, reqwest::Method::GET, "/ResourceTypes/User", None, 200).await;
    assert_eq!(rt["schemaExtensions"][1]["schema"], EXT);
    let acme = "tok-acme-ext-0123456789abcdef";
    s.credential(
        "acme",
        kind_token(),
        "tok_acme_ext",
        acme,
        "scim orgs:admin",
    )
    .await;
    let v: Value = s
        .get("/scim/v2/ResourceTypes/User")
        .bearer_auth(acme)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["schemaExtensions"][1]["schema"], EXT);
    // The admin API shows it as the operator's, and cannot remove it.
    let (_, list) = admin(&s, reqwest::Method::GET, "/schemas", None).await;
    assert_eq!(list["schemas"][0]["scope"], "all");
    let (st, v) = admin(
        &s,
        reqwest::Method::DELETE,
        &format!("/schemas/{EXT}?force=true"),
        None,
    )
    .await;
    assert_eq!(st, 403, "{v}");
    create_user(&s, json!({"userName": "a", EXT: {"level": 1}})).await;
    let (okay, out, _) = run(vec!["schema".into(), "list".into()]).await;
    assert!(okay);
    assert!(out.contains(EXT) && out.contains("\t*\t"), "{out}");
    let (okay, _, err) = run(vec!["schema".into(), "remove".into(), EXT.into()]).await;
    assert!(!okay);
    assert!(err.contains("1 value") && err.contains("force"), "{err}");
    let (okay, out, err) = run(vec![
        "schema".into(),
        "remove".into(),
        EXT.into(),
        "--force".into(),
    ])
    .await;
    assert!(okay, "{err}");
    assert!(out.contains("1 value"), "{out}");
    let rt = ok(&s, reqwest::Method::GET, "/ResourceTypes/User", None, 200).await;
    assert_eq!(rt["schemaExtensions"].as_array().unwrap().len(), 1);
    // The admin API's shape is taken too; a removal naming the wrong scope says the right one.
    let wrapped = dir.path().join("wrapped.json");
    std::fs::write(
        &wrapped,
        json!({"schema": schema_doc(), "resourceType": "User"}).to_string(),
    )
    .unwrap();
    let (okay, out, err) = run(vec![
        "schema".into(),
        "add".into(),
        wrapped.display().to_string(),
        "--org".into(),
        "acme".into(),
    ])
    .await;
    assert!(okay, "{err}");
    assert!(out.contains("organization acme"), "{out}");
    let (okay, _, err) = run(vec!["schema".into(), "remove".into(), EXT.into()]).await;
    assert!(!okay);
    assert!(err.contains("--org acme"), "{err}");
}

/// What an integrator trying every shape meets (each found by using the feature as one).
async fn edge_cases_an_integrator_meets(b: Backend) {
    let s = TestServer::start(b).await;
    const X: &str = "urn:acme:2.0:User";
    register(
        &s,
        json!({"schema": {"id": X, "attributes": [
            {"name": "pin", "type": "string", "mutability": "writeOnly"},
            {"name": "secret", "type": "string", "returned": "never"},
            {"name": "level", "type": "integer", "uniqueness": "server"},
            {"name": "since", "type": "dateTime", "mutability": "immutable"},
            {"name": "tags", "type": "string", "multiValued": true},
            {"name": "blob", "type": "binary"},
            {"name": "addr", "type": "complex", "subAttributes": [
                {"name": "city", "type": "string"}, {"name": "zip", "type": "integer"}]}
        ]}}),
    )
    .await;
    // An integer beyond 2^53 is kept and returned exactly (compared as a double, I-JSON).
    let (st, big) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "big", X: {"level": 9007199254740993_i64}})),
    )
    .await;
    assert_eq!(st, 201, "{big}");
    let got = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Users/{}", big["id"].as_str().unwrap()),
        None,
        200,
    )
    .await;
    assert_eq!(got[X]["level"].as_i64(), Some(9007199254740993), "{got}");
    // binary is base64.
    let (st, v) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "bin", X: {"blob": "not base64!!"}})),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("blob must be base64"),
        "{v}"
    );
    let b = create_user(&s, json!({"userName": "bin", X: {"blob": "aGVsbG8="}})).await;
    assert_eq!(b[X]["blob"], "aGVsbG8=");
    // writeOnly is never returned, and neither it nor a returned:never value can be probed.
    let u = create_user(
        &s,
        json!({"userName": "w", format!("{X}:pin"): "1234", format!("{X}:secret"): "s3",
        format!("{X}:since"): "2019-01-01T00:00:00Z"}),
    )
    .await;
    assert!(
        u[X].get("pin").is_none() && u[X].get("secret").is_none(),
        "{u}"
    );
    let id = u["id"].as_str().unwrap().to_string();
    let v = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Users/{id}?attributes={}", urlencode(&format!("{X}:pin"))),
        None,
        200,
    )
    .await;
    assert!(v.get(X).is_none(), "{v}");
    for f in [
        format!("{X}:pin eq \"1234\""),
        format!("{X}:secret eq \"s3\""),
    ] {
        let (st, v) = call(
            &s,
            reqwest::Method::GET,
            &format!("/Users?filter={}", urlencode(&f)),
            None,
        )
        .await;
        assert_eq!(
            (st, v["scimType"].as_str()),
            (400, Some("invalidFilter")),
            "{f}: {v}"
        );
    }
    let (st, _) = call(
        &s,
        reqwest::Method::GET,
        &format!("/Users?sortBy={}", urlencode(&format!("{X}:secret"))),
        None,
    )
    .await;
    assert_eq!(st, 400);
    let doc = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Schemas/{X}"),
        None,
        200,
    )
    .await;
    let pin = doc["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "pin")
        .unwrap();
    assert_eq!(pin["returned"], "never");

    // A flat key whose value is an object, and flat keys of sub-attributes, are the attribute.
    let a = create_user(
        &s,
        json!({"userName": "flat", format!("{X}:addr"): {"city": "Rome"}}),
    )
    .await;
    assert_eq!(a["schemas"], json!([USER, X]), "{a}");
    assert_eq!(a[X]["addr"], json!({"city": "Rome"}));
    let a = create_user(&s, json!({"userName": "flat2", format!("{X}:addr.city"): "Oslo", format!("{X}:addr.zip"): "150"})).await;
    assert_eq!(a[X]["addr"], json!({"city": "Oslo", "zip": 150}));
    assert_eq!(
        filtered(&s, &format!("{X}:addr.city eq \"rome\"")).await,
        ["flat"]
    );
    // The registered URN given no object: 400, not a new extension.
    let (st, v) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "bad", X: "notobject"})),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("must be an object"),
        "{v}"
    );
    // Keys of one extension in several spellings are merged.
    let m = create_user(
        &s,
        json!({"userName": "case", format!("{X}:LEVEL"): "43", "URN:ACME:2.0:USER:tags": ["a"]}),
    )
    .await;
    assert_eq!(m[X], json!({"level": 43, "tags": ["a"]}), "{m}");
    // Value filters on a multi-valued simple attribute: its elements are their `value`.
    let mid = m["id"].as_str().unwrap().to_string();
    let (st, v) = patch_user(
        &s,
        &mid,
        json!([
            {"op": "add", "path": format!("{X}:tags"), "value": ["b", "c"]},
            {"op": "replace", "path": format!("{X}:tags[value eq \"b\"]"), "value": "B"},
            {"op": "remove", "path": format!("{X}:tags[value eq \"a\"]")},
        ]),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v[X]["tags"], json!(["B", "c"]));
    let (st, v) = patch_user(
        &s,
        &mid,
        json!([{"op": "remove", "path": format!("{X}:tags[nosuch eq \"x\"]")}]),
    )
    .await;
    assert_eq!(
        (st, v["scimType"].as_str()),
        (400, Some("invalidPath")),
        "{v}"
    );

    // immutable: a PUT that leaves it out does not clear it; the same instant written
    // otherwise is the same value.
    let (st, v) = call(
        &s,
        reqwest::Method::PUT,
        &format!("/Users/{id}"),
        Some(json!({"userName": "w"})),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    let (st, v) = call(
        &s,
        reqwest::Method::PUT,
        &format!("/Users/{id}"),
        Some(json!({
            "userName": "w", X: {"since": "2019-01-01T01:00:00+01:00"}
        })),
    )
    .await;
    assert_eq!(st, 200, "{v}");

    // The 16 KiB bound is for extensions nobody registered.
    let tags: Vec<String> = (0..10)
        .map(|i| format!("{i}{}", "x".repeat(1900)))
        .collect();
    create_user(&s, json!({"userName": "many", X: {"tags": tags}})).await;

    // Uniqueness inside one Bulk request: the second is 409, the first created.
    let bulk = ok(&s, reqwest::Method::POST, "/Bulk", Some(json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "b1", X: {"level": 555}}},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "b2", X: {"level": "555"}}}
    ]})), 200).await;
    let statuses: Vec<&str> = bulk["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["201", "409"], "{bulk}");

    // A value kept before its schema was registered is found by the registered type.
    let k = create_user(
        &s,
        json!({"userName": "early", "urn:late:2.0:User": {"num": "1042"}}),
    )
    .await;
    assert_eq!(k["urn:late:2.0:User"], json!({"num": "1042"}));
    register(&s, json!({"schema": {"id": "urn:late:2.0:User", "attributes": [{"name": "num", "type": "integer"}]}, "required": true})).await;
    assert_eq!(
        filtered(&s, "urn:late:2.0:User:num eq 1042").await,
        ["early"]
    );
    // A required extension registered later does not stop changes to users without it
    // (Entra deprovisions with a PATCH); new users need it.
    let (st, v) = patch_user(
        &s,
        &id,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = call(
        &s,
        reqwest::Method::POST,
        "/Users",
        Some(json!({"userName": "new"})),
    )
    .await;
    assert_eq!(st, 400);

    // Removing a schema with force changes its holders: a new version each.
    let before = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Users/{}", k["id"].as_str().unwrap()),
        None,
        200,
    )
    .await;
    let (st, v) = admin(
        &s,
        reqwest::Method::DELETE,
        "/schemas/urn:late:2.0:User?force=true",
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let after = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Users/{}", k["id"].as_str().unwrap()),
        None,
        200,
    )
    .await;
    assert!(after.get("urn:late:2.0:User").is_none());
    assert_ne!(before["meta"]["version"], after["meta"]["version"]);
}

/// The console: the Schemas page registers, a user's page shows and edits values with inputs by
/// type (a bad one answered by the form), a group's page shows its values; never-returned ones
/// are not shown.
async fn the_console_shows_and_edits_extension_values(b: Backend) {
    use common::console::Console;
    let s = TestServer::start(b).await;
    let mut c = Console::new(&s.base);
    c.sign_in_token(ADMIN_TOKEN).await;
    let page = c.get("/console/schemas").await;
    page.has("No schema extension is registered.");
    let doc = json!({"id": "urn:acme:2.0:User", "name": "Acme", "attributes": [
        {"name": "level", "type": "integer"}, {"name": "remote", "type": "boolean"},
        {"name": "pin", "type": "string", "mutability": "writeOnly"}
    ]});
    let done = c
        .post(
            "/console/schemas",
            &[("document", &doc.to_string()), ("resource_type", "")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    c.get("/console/schemas")
        .await
        .has("urn:acme:2.0:User")
        .has("level (integer)");
    register(
        &s,
        json!({"schema": {"id": GEXT, "attributes": [{"name": "costCode", "type": "string"}]}}),
    )
    .await;

    let u = create_user(
        &s,
        json!({"userName": "ada", "urn:acme:2.0:User": {"level": 3, "pin": "9999"}}),
    )
    .await;
    let id = u["id"].as_str().unwrap();
    let page = c.get(&format!("/console/users/{id}")).await;
    page.has("Schema extensions")
        .has("name=\"x.urn:acme:2.0:User:level\"")
        .lacks("9999");
    let version = u["meta"]["version"]
        .as_str()
        .unwrap()
        .trim_start_matches("W/\"")
        .trim_end_matches('"')
        .to_string();
    let form = |level: &'static str| {
        vec![
            ("version", version.clone()),
            ("user_name", "ada".to_string()),
            ("x.urn:acme:2.0:User:level", level.to_string()),
            ("x.urn:acme:2.0:User:remote", "true".to_string()),
        ]
    };
    let bad: Vec<(&str, String)> = form("many");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c.post(&format!("/console/users/{id}"), &bad).await;
    assert_eq!(r.status, 422);
    r.has("level must be an integer");
    let good: Vec<(&str, String)> = form("7");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c.post(&format!("/console/users/{id}"), &good).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let got = ok(&s, reqwest::Method::GET, &format!("/Users/{id}"), None, 200).await;
    assert_eq!(
        got["urn:acme:2.0:User"],
        json!({"level": 7, "remote": true})
    );

    let (st, g) = call(
        &s,
        reqwest::Method::POST,
        "/Groups",
        Some(json!({"displayName": "Eng", GEXT: {"costCode": "E-17"}})),
    )
    .await;
    assert_eq!(st, 201, "{g}");
    c.get(&format!("/console/groups/{}", g["id"].as_str().unwrap()))
        .await
        .has("Schema extensions")
        .has("E-17");

    // Removing a schema asks first, saying how many values go with it; the count agreed to
    // must still hold when the removal runs.
    let page = c.get("/console/schemas").await;
    page.has("/console/schemas/remove?urn=urn%3Aacme%3A2.0%3AUser");
    let confirm = c.get("/console/schemas/remove?urn=urn:acme:2.0:User").await;
    assert_eq!(confirm.status, 200);
    confirm
        // level, remote and the write-only pin, never shown but counted.
        .has("3 values")
        .has("Remove the schema and 3 values")
        .has("name=\"values\" value=\"3\"");
    let stale = c
        .post(
            "/console/schemas/remove",
            &[("urn", "urn:acme:2.0:User"), ("values", "2")],
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    stale.has("3 now, not 2");
    assert_eq!(
        ok(&s, reqwest::Method::GET, &format!("/Users/{id}"), None, 200).await["urn:acme:2.0:User"],
        json!({"level": 7, "remote": true}),
        "nothing removed by a stale confirmation"
    );
    let done = c
        .post(
            "/console/schemas/remove",
            &[("urn", "urn:acme:2.0:User"), ("values", "3")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/console/schemas?done=removed");
    c.get("/console/schemas?done=removed")
        .await
        .has("Schema removed.")
        .lacks("level (integer)");
    let after = ok(&s, reqwest::Method::GET, &format!("/Users/{id}"), None, 200).await;
    assert!(after.get("urn:acme:2.0:User").is_none(), "{after}");
    // Unknown URN: the console's not-found, not a 500.
    let missing = c.get("/console/schemas/remove?urn=urn:none:2.0:User").await;
    assert_eq!(missing.status, 404, "{}", missing.body);
}

/// The console edits multi-valued and complex extension attributes of users (a value per
/// line, an input per sub-attribute, a JSON array) and a group's values; the directory types
/// what the form sends as it types a SCIM client's, and its message names the attribute.
async fn the_console_edits_every_shape_of_extension_value(b: Backend) {
    use common::console::Console;
    const SHAPE: &str = "urn:shape:2.0:User";
    let s = TestServer::start(b).await;
    register(
        &s,
        json!({"schema": {"id": SHAPE, "name": "Shape", "attributes": [
            {"name": "tags", "type": "string", "multiValued": true},
            {"name": "desk", "type": "complex", "subAttributes": [
                {"name": "floor", "type": "integer"}, {"name": "room", "type": "string"}]},
            {"name": "badges", "type": "complex", "multiValued": true, "subAttributes": [
                {"name": "label", "type": "string"}, {"name": "level", "type": "integer"}]}
        ]}}),
    )
    .await;
    register(
        &s,
        json!({"schema": {"id": GEXT, "attributes": [{"name": "costCode", "type": "string"},
            {"name": "size", "type": "integer"}]}}),
    )
    .await;
    let u = create_user(
        &s,
        json!({"userName": "ada", SHAPE: {"tags": ["a"], "desk": {"floor": 1, "room": "B"}}}),
    )
    .await;
    let id = u["id"].as_str().unwrap();
    let mut c = Console::new(&s.base);
    c.sign_in_token(ADMIN_TOKEN).await;
    let page = c.get(&format!("/console/users/{id}")).await;
    page.has("name=\"x.urn:shape:2.0:User:tags[]\"")
        .has("name=\"x.urn:shape:2.0:User:desk.floor\" type=\"number\" value=\"1\"")
        .has("name=\"x.urn:shape:2.0:User:badges[]\"")
        .has("A JSON array, such as");
    let version = u["meta"]["version"]
        .as_str()
        .unwrap()
        .trim_start_matches("W/\"")
        .trim_end_matches('"')
        .to_string();
    let save = |badges: &'static str, floor: &'static str| {
        vec![
            ("version", version.clone()),
            ("user_name", "ada".to_string()),
            ("x.urn:shape:2.0:User:tags[]", "a\n b \n\nc".to_string()),
            ("x.urn:shape:2.0:User:desk.floor", floor.to_string()),
            ("x.urn:shape:2.0:User:desk.room", "".to_string()),
            ("x.urn:shape:2.0:User:badges[]", badges.to_string()),
        ]
    };
    let send = |f: Vec<(&'static str, String)>| {
        let c = &c;
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.post(&format!("/console/users/{id}"), &f).await
        }
    };
    // Not JSON: the form answers, naming the attribute, and keeps what was typed.
    let r = send(save("gold", "3")).await;
    assert_eq!(r.status, 422, "{}", r.body);
    r.has("Urn:shape:2.0:User:badges takes a JSON array")
        .has(">gold</textarea>");
    // A sub-attribute's bad type: the directory's message.
    let r = send(save("[]", "third")).await;
    assert_eq!(r.status, 422, "{}", r.body);
    r.has("floor");
    let r = send(save(
        r#"[{"label": "gold", "level": "2"}, {"label": "new"}]"#,
        "3",
    ))
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let got = ok(&s, reqwest::Method::GET, &format!("/Users/{id}"), None, 200).await;
    assert_eq!(
        got[SHAPE],
        json!({"tags": ["a", "b", "c"], "desk": {"floor": 3},
               "badges": [{"label": "gold", "level": 2}, {"label": "new"}]}),
        "{got}"
    );
    // SCIM filters see what the console wrote.
    let (_, hits) = call(
        &s,
        reqwest::Method::GET,
        &format!(
            "/Users?filter={}",
            common::urlencode("urn:shape:2.0:User:badges[level eq 2]")
        ),
        None,
    )
    .await;
    assert_eq!(hits["totalResults"], 1, "{hits}");

    // A group's values.
    let (st, g) = call(
        &s,
        reqwest::Method::POST,
        "/Groups",
        Some(json!({"displayName": "Eng", GEXT: {"costCode": "E-17"}})),
    )
    .await;
    assert_eq!(st, 201, "{g}");
    let gid = g["id"].as_str().unwrap();
    let page = c.get(&format!("/console/groups/{gid}")).await;
    page.has("value=\"E-17\"").has("Save extension values");
    let gv = g["meta"]["version"]
        .as_str()
        .unwrap()
        .trim_start_matches("W/\"")
        .trim_end_matches('"')
        .to_string();
    let path = format!("/console/groups/{gid}/extensions");
    let costcode = format!("x.{GEXT}:costCode");
    let size = format!("x.{GEXT}:size");
    let r = c
        .post(
            &path,
            &[("version", &gv), (&costcode, "E-18"), (&size, "big")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    r.has("size").has("value=\"big\"");
    let r = c
        .post(
            &path,
            &[("version", &gv), (&costcode, "E-18"), (&size, "12")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location(),
        format!("/console/groups/{gid}?done=extensions")
    );
    let got = ok(
        &s,
        reqwest::Method::GET,
        &format!("/Groups/{gid}"),
        None,
        200,
    )
    .await;
    assert_eq!(got[GEXT], json!({"costCode": "E-18", "size": 12}), "{got}");
    // The same form again, with the version it read: the group changed meanwhile.
    let r = c
        .post(&path, &[("version", &gv), (&costcode, "E-19"), (&size, "")])
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    r.has("changed since you opened it").has("value=\"E-18\"");
}
