//! The PATCH engine against each rule of scim.md checklist section H and each tolerance row.

use serde_json::{json, Value};

use super::*;
use crate::scim::schema::{Registry, ENTERPRISE_SCHEMA, USER_SCHEMA};

const ENT: &str = ENTERPRISE_SCHEMA;

use crate::scim::sample_user as user;

fn group() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "G1", "displayName": "Eng",
           "members": [{"value": "A"}, {"value": "B"}]})
}

fn run(res: &Value, body: Value) -> ScimResult<Value> {
    let rt = if res.get("userName").is_some() {
        Registry::builtin().user()
    } else {
        Registry::builtin().group()
    };
    apply(res, &parse_request(&body)?, rt)
}

fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": list})
}

/// The `scimType` of the error of applying `operations` to `res`, which must fail.
fn refused(res: &Value, operations: Value) -> Option<&'static str> {
    match run(res, ops(operations)) {
        Ok(out) => panic!("applied: {out}"),
        Err(e) => e.scim_type,
    }
}

#[test]
fn h70_ops_in_any_case_and_lenient_envelope() {
    // T1, T13: capitalised ops, no schemas, lower-case "operations".
    let out = run(
        &user(),
        json!({"operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
    )
    .unwrap();
    assert_eq!(out["active"], false);
    let out = run(
        &user(),
        ops(json!([{"op": "REPLACE", "path": "displayName", "value": "BJ"}])),
    )
    .unwrap();
    assert_eq!(out["displayName"], "BJ");
    for bad in [
        json!({}),
        json!({"Operations": []}),
        json!({"Operations": [{"op": "move", "path": "x"}]}),
        json!([1]),
    ] {
        assert_eq!(
            parse_request(&bad).unwrap_err().scim_type,
            Some("invalidSyntax"),
            "{bad}"
        );
    }
}

#[test]
fn h71_path_grammar() {
    let u = user();
    let out = run(
        &u,
        ops(json!([{"op": "replace", "path": "name.familyName", "value": "J2"}])),
    )
    .unwrap();
    assert_eq!(
        out["name"],
        json!({"givenName": "Barbara", "familyName": "J2"})
    );
    let out = run(&u, ops(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work"}]))).unwrap();
    assert_eq!(out["emails"][0]["value"], "new@work");
    let out = run(&u, ops(json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h@h", "type": "home"}}]))).unwrap();
    assert_eq!(out["emails"][1], json!({"value": "h@h", "type": "home"}));
    let out = run(
        &u,
        ops(json!([{"op": "add", "path": format!("{ENT}:employeeNumber"), "value": "701"}])),
    )
    .unwrap();
    assert_eq!(out[ENT]["employeeNumber"], "701");
    let out = run(
        &u,
        ops(json!([{"op": "add", "path": ENT, "value": {"department": "R&D", "costCenter": "4"}}])),
    )
    .unwrap();
    assert_eq!(out[ENT], json!({"department": "R&D", "costCenter": "4"}));
    let out = run(&u, ops(json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:nickName", "value": "B"}]))).unwrap();
    assert_eq!(out["nickName"], "B");
    for bad in [
        "nope",
        "emails[type eq]",
        "name.nope",
        "emails[type eq \"work\"",
        "userName[value eq \"x\"]",
    ] {
        assert_eq!(
            refused(&u, json!([{"op": "replace", "path": bad, "value": "x"}])),
            Some("invalidPath"),
            "{bad}"
        );
    }
}

#[test]
fn h72_atomic_all_or_nothing() {
    let u = user();
    assert_eq!(
        refused(
            &u,
            json!([
                {"op": "replace", "path": "displayName", "value": "changed"},
                {"op": "replace", "path": "nope", "value": 1}
            ])
        ),
        Some("invalidPath")
    );
    assert_eq!(u, user(), "the input is untouched");
    // Later operations see earlier ones.
    let out = run(
        &u,
        ops(json!([
            {"op": "add", "path": "emails", "value": [{"value": "x@x", "type": "other"}]},
            {"op": "replace", "path": "emails[value eq \"x@x\"].display", "value": "X"}
        ])),
    )
    .unwrap();
    assert_eq!(
        out["emails"][2],
        json!({"value": "x@x", "type": "other", "display": "X"})
    );
}

#[test]
fn h73_read_only_and_immutable() {
    for path in ["id", "meta", "groups", "meta.version"] {
        assert_eq!(
            refused(
                &user(),
                json!([{"op": "replace", "path": path, "value": "x"}])
            ),
            Some("mutability"),
            "{path}"
        );
    }
    assert_eq!(
        refused(
            &group(),
            json!([{"op": "replace", "path": "members[value eq \"A\"].value", "value": "Z"}])
        ),
        Some("mutability")
    );
    assert_eq!(
        refused(&user(), json!([{"op": "remove", "path": "userName"}])),
        Some("mutability")
    );
}

#[test]
fn h74_primary_is_exclusive() {
    let out = run(&user(), ops(json!([{"op": "add", "path": "emails", "value": [{"value": "n@n", "type": "other", "primary": true}]}]))).unwrap();
    let primaries: Vec<&Value> = out["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .collect();
    assert_eq!(primaries.len(), 1);
    assert_eq!(primaries[0]["value"], "n@n");
    let out = run(
        &user(),
        ops(json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}])),
    )
    .unwrap();
    assert_eq!(out["emails"][1]["primary"], true);
    assert_eq!(
        out["emails"][0]["primary"], false,
        "the others become false"
    );
}

#[test]
fn h75_extension_attributes_add_their_urn_to_schemas() {
    let out = run(
        &user(),
        ops(json!([{"op": "add", "path": format!("{ENT}:department"), "value": "D"}])),
    )
    .unwrap();
    assert_eq!(out["schemas"], json!([USER_SCHEMA, ENT]));
    let out = run(
        &out,
        ops(json!([{"op": "remove", "path": format!("{ENT}:department")}])),
    )
    .unwrap();
    assert_eq!(out["schemas"], json!([USER_SCHEMA]));
    assert!(out.get(ENT).is_none());
}

#[test]
fn h76_add_semantics() {
    let u = user();
    // No path: merge. Complex target: merge sub-attributes. Single-valued: replace.
    let out = run(
        &u,
        ops(json!([{"op": "add", "value": {"nickName": "Babs", "name": {"middleName": "M"}}}])),
    )
    .unwrap();
    assert_eq!(out["nickName"], "Babs");
    assert_eq!(
        out["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "M"})
    );
    // Multi-valued: append; T14 an existing value is no change.
    let out = run(&u, ops(json!([{"op": "add", "path": "emails", "value": [{"value": "bj@work.example", "type": "work", "primary": true}]}]))).unwrap();
    assert_eq!(out, {
        let mut x = u.clone();
        x["schemas"] = json!([USER_SCHEMA]);
        x
    });
    let g = run(&group(), ops(json!([{"op": "add", "path": "members", "value": [{"value": "B", "display": "Bee"}, {"value": "C"}]}]))).unwrap();
    assert_eq!(g["members"].as_array().unwrap().len(), 3);
    // T15: add via valuePath + sub-attribute with no match creates the element.
    let out = run(&u, ops(json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"}]))).unwrap();
    assert_eq!(
        out["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555"}])
    );
}

#[test]
fn h77_remove_semantics() {
    let u = user();
    assert_eq!(refused(&u, json!([{"op": "remove"}])), Some("noTarget"));
    let out = run(&u, ops(json!([{"op": "remove", "path": "name.givenName"}]))).unwrap();
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    let out = run(
        &u,
        ops(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])),
    )
    .unwrap();
    assert_eq!(out["emails"].as_array().unwrap().len(), 1);
    let out = run(&u, ops(json!([{"op": "remove", "path": "emails"}]))).unwrap();
    assert!(out.get("emails").is_none());
    // Removing something that is not there succeeds.
    let out = run(
        &group(),
        ops(json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}])),
    )
    .unwrap();
    assert_eq!(out["members"].as_array().unwrap().len(), 2);
    // T3: remove + path + value array removes just those members.
    let out = run(
        &group(),
        ops(json!([{"op": "Remove", "path": "members", "value": [{"value": "A"}]}])),
    )
    .unwrap();
    assert_eq!(out["members"], json!([{"value": "B"}]));
    let out = run(&group(), ops(json!([{"op": "remove", "path": "members[value eq \"A\"]"}, {"op": "remove", "path": "members[value eq \"B\"]"}]))).unwrap();
    assert!(out.get("members").is_none());
}

#[test]
fn h78_replace_semantics() {
    let u = user();
    let out = run(
        &u,
        ops(json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x"}]}])),
    )
    .unwrap();
    assert_eq!(out["emails"], json!([{"value": "only@x"}]));
    let out = run(
        &u,
        ops(json!([{"op": "replace", "path": "title", "value": "Boss"}])),
    )
    .unwrap();
    assert_eq!(
        out["title"], "Boss",
        "replace of an absent attribute adds it"
    );
    assert_eq!(
        refused(
            &u,
            json!([{"op": "replace", "path": "emails[type eq \"fax\"].value", "value": "x"}])
        ),
        Some("noTarget")
    );
    let out = run(
        &u,
        ops(json!([{"op": "replace", "value": {"name": {"givenName": "Babs"}}}])),
    )
    .unwrap();
    assert_eq!(
        out["name"],
        json!({"givenName": "Babs", "familyName": "Jensen"}),
        "path-less complex replace keeps unnamed sub-attributes"
    );
    let g = run(
        &group(),
        ops(json!([{"op": "replace", "path": "members", "value": [{"value": "Z"}]}])),
    )
    .unwrap();
    assert_eq!(g["members"], json!([{"value": "Z"}]));
}

#[test]
fn h79_t5_pathless_dotted_and_urn_keys() {
    let out = run(
        &user(),
        ops(json!([{"op": "replace", "value": {
            "name.givenName": "Babs", "active": false,
            format!("{ENT}:employeeNumber"): "42",
            format!("{ENT}:manager"): "00000000000000BB"
        }}])),
    )
    .unwrap();
    assert_eq!(out["name"]["givenName"], "Babs");
    assert_eq!(out["active"], false);
    assert_eq!(
        out[ENT],
        json!({"employeeNumber": "42", "manager": {"value": "00000000000000BB"}})
    );
}

#[test]
fn h80_t6_pathless_replace_with_read_only_members_is_fine() {
    let out = run(&group(), ops(json!([{"op": "replace", "value": {"id": "G1", "displayName": "Eng2", "schemas": ["x"], "meta": {}}}]))).unwrap();
    assert_eq!(out["displayName"], "Eng2");
    assert_eq!(out["id"], "G1");
}

#[test]
fn h82_t2_t4_t7_t8_t9_coercions() {
    let u = user();
    // T2 string booleans, also in primary.
    let out = run(&u, ops(json!([{"op": "add", "path": "emails", "value": [{"value": "p@p", "primary": "True"}]}]))).unwrap();
    assert_eq!(out["emails"][2]["primary"], true);
    // T4 $ref null in member objects; T9 a single object where an array belongs.
    let g = run(
        &group(),
        ops(json!([{"op": "Add", "path": "members", "value": {"$ref": null, "value": "C"}}])),
    )
    .unwrap();
    assert_eq!(g["members"][2], json!({"value": "C"}));
    // T7 manager as string, object, one-element array.
    for v in [
        json!("M1"),
        json!({"value": "M1"}),
        json!([{"value": "M1", "$ref": null}]),
    ] {
        let out = run(
            &u,
            ops(json!([{"op": "add", "path": format!("{ENT}:manager"), "value": v}])),
        )
        .unwrap();
        assert_eq!(out[ENT]["manager"], json!({"value": "M1"}), "{v}");
    }
    // T8 "" and null clear (Entra's null-update test), manager cleared by empty replace.
    let with_mgr = run(
        &u,
        ops(json!([{"op": "add", "path": format!("{ENT}:manager"), "value": "M1"}])),
    )
    .unwrap();
    for v in [json!(""), json!(null)] {
        let out = run(
            &with_mgr,
            ops(json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": v.clone()}])),
        )
        .unwrap();
        assert!(out.get(ENT).is_none(), "{v}: {out}");
        let out = run(&u, ops(json!([{"op": "replace", "path": "displayName", "value": v.clone()}, {"op": "replace", "path": "name.givenName", "value": v}]))).unwrap();
        assert!(out.get("displayName").is_none());
        assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    }
    assert_eq!(
        refused(
            &u,
            json!([{"op": "replace", "path": "active", "value": "perhaps"}])
        ),
        Some("invalidValue")
    );
}

#[test]
fn value_filters_use_case_rules_and_nested_logic() {
    let u = user();
    let out = run(
        &u,
        ops(json!([{"op": "remove", "path": "emails[value eq \"BJ@HOME.EXAMPLE\"]"}])),
    )
    .unwrap();
    assert_eq!(
        out["emails"].as_array().unwrap().len(),
        1,
        "emails.value is caseExact=false"
    );
    let out = run(&u, ops(json!([{"op": "remove", "path": "emails[type eq \"home\" or (type eq \"work\" and not (primary eq true))]"}]))).unwrap();
    assert_eq!(out["emails"][0]["type"], "work");
}

#[test]
fn t10_t18_unknown_schemas_attributes_and_ids_in_values_are_ignored() {
    // T10: an unknown schema URN and an unknown attribute in a path-less value.
    let out = run(
        &user(),
        json!({"schemas": ["urn:x:custom"], "Operations": [
            {"op": "add", "value": {"urn:x:custom:thing": 1, "unknownAttr": "x", "title": "T"}}
        ]}),
    )
    .unwrap();
    assert_eq!(out["title"], "T");
    assert!(out.get("unknownAttr").is_none());
    // T18: id and meta in a path-less replace do not change them.
    let out = run(&user(), ops(json!([{"op": "replace", "value": {"id": "OTHER", "meta": {"version": "x"}, "userName": "bj2"}}]))).unwrap();
    assert_eq!(out["id"], "00000000000000AA");
    assert_eq!(out["meta"]["version"], "W/\"1\"");
    assert_eq!(out["userName"], "bj2");
    // ...but an explicit path to them is a mutability error (strict parse after the lenient one).
    assert_eq!(
        refused(
            &user(),
            json!([{"op": "replace", "path": "id", "value": "OTHER"}])
        ),
        Some("mutability")
    );
}

#[test]
fn t11_t16_filters_in_paths_accept_the_idp_forms() {
    // T16: `not (` with a space and nested parentheses inside a value filter.
    let out = run(&user(), ops(json!([
        {"op": "remove", "path": "emails[not (type eq \"work\") and (value ew \"example\" or display pr)]"}
    ]))).unwrap();
    assert_eq!(out["emails"].as_array().unwrap().len(), 1);
    assert_eq!(out["emails"][0]["type"], "work");
    // T11 (value side): unquoted bare values in a path filter.
    let out = run(
        &user(),
        ops(json!([{"op": "replace", "path": "emails[type eq home].display", "value": "H"}])),
    )
    .unwrap();
    assert_eq!(out["emails"][1]["display"], "H");
}

#[test]
fn unqualified_enterprise_paths_resolve_to_the_extension() {
    // Entra sends `manager` and `employeeNumber` without the Enterprise URN.
    let out = run(
        &user(),
        ops(json!([
            {"op": "Add", "path": "employeeNumber", "value": "701984"},
            {"op": "Replace", "path": "manager", "value": "00000000000000BB"},
            {"op": "add", "path": "Department", "value": "R&D"}
        ])),
    )
    .unwrap();
    assert_eq!(
        out[ENT],
        json!({"employeeNumber": "701984", "manager": {"value": "00000000000000BB"}, "department": "R&D"})
    );
    assert_eq!(out["schemas"], json!([USER_SCHEMA, ENT]));
    assert!(out.get("employeeNumber").is_none());
    assert!(out.get("manager").is_none());
    // `manager.value` and a path-less value with bare names, too.
    let out = run(
        &out,
        ops(json!([
            {"op": "replace", "path": "manager.value", "value": "00000000000000CC"},
            {"op": "replace", "value": {"costCenter": "4130", "employeeNumber": "2"}}
        ])),
    )
    .unwrap();
    assert_eq!(out[ENT]["manager"], json!({"value": "00000000000000CC"}));
    assert_eq!(out[ENT]["costCenter"], "4130");
    assert_eq!(out[ENT]["employeeNumber"], "2");
    // Removing the last one drops the extension and its URN.
    let out = run(
        &out,
        ops(json!([
            {"op": "remove", "path": "manager"},
            {"op": "remove", "path": "employeeNumber"},
            {"op": "remove", "path": "costCenter"},
            {"op": "remove", "path": "department"}
        ])),
    )
    .unwrap();
    assert!(out.get(ENT).is_none(), "{out}");
    assert_eq!(out["schemas"], json!([USER_SCHEMA]));
    // Groups have no extension: still an unknown attribute.
    assert_eq!(
        refused(
            &group(),
            json!([{"op": "add", "path": "employeeNumber", "value": "1"}])
        ),
        Some("invalidPath")
    );
}

#[test]
fn multi_byte_paths_are_invalid_paths_not_panics() {
    for w in ["ü", "日本", "😀"] {
        for path in crate::scim::wide_names(w).into_iter().chain([
            w.to_string(),
            format!("emails[type eq \"work\"].{w}"),
            format!("emails[{w} eq \"work\"]"),
            format!("{ENT}:{w}"),
        ]) {
            assert_eq!(
                refused(
                    &user(),
                    json!([{"op": "replace", "path": path, "value": "x"}])
                ),
                Some("invalidPath"),
                "{path}"
            );
        }
        // In a path-less value, unknown keys with wide characters are ignored (T10), also
        // where they are no attribute name at all, as in a POST body.
        let out = run(
            &user(),
            ops(json!([{"op": "add", "value": {
                format!("urn:x:{w}:y"): 1, "title": w, w: 1, format!("abc{w}"): 1,
                format!("name.{w}"): 1, format!("{ENT}:{w}"): 1
            }}])),
        )
        .unwrap();
        assert_eq!(out["title"], w);
        assert_eq!(out["name"], user()["name"]);
        assert!(out.get(ENT).is_none(), "{out}");
        // Wide text in a value filter is just a value.
        let out = run(
            &user(),
            ops(json!([{"op": "add", "path": format!("emails[type eq \"{w}\"].value"), "value": "w@x"}])),
        )
        .unwrap();
        assert_eq!(out["emails"][2], json!({"type": w, "value": "w@x"}));
    }
}

#[test]
fn ordering_on_binary_in_a_path_filter_is_invalid_filter() {
    let mut u = user();
    u["x509Certificates"] = json!([{"value": "MIIB"}]);
    assert_eq!(
        refused(
            &u,
            json!([{"op": "remove", "path": "x509Certificates[value gt \"M\"]"}])
        ),
        Some("invalidFilter")
    );
    let out = run(
        &u,
        ops(json!([{"op": "remove", "path": "x509Certificates[value sw \"MI\"]"}])),
    )
    .unwrap();
    assert!(out.get("x509Certificates").is_none());
}

#[test]
fn values_of_the_wrong_json_type_are_refused_not_coerced() {
    // `{"op":"replace","path":"userName","value":5}` once renamed the user to "5".
    for (path, value) in [
        ("userName", json!(5)),
        ("userName", json!(true)),
        ("displayName", json!(1.5)),
        ("name.givenName", json!(false)),
        ("emails[type eq \"work\"].value", json!(7)),
        ("emails", json!([{"value": 42}])),
        ("active", json!(1)),
        ("active", json!("maybe")),
        (&format!("{ENT}:employeeNumber"), json!(1234)),
    ] {
        assert_eq!(
            refused(
                &user(),
                json!([{"op": "replace", "path": path, "value": value}])
            ),
            Some("invalidValue"),
            "{path} = {value}"
        );
    }
    // Path-less values too.
    assert_eq!(
        refused(
            &user(),
            json!([{"op": "replace", "value": {"userName": 5}}])
        ),
        Some("invalidValue")
    );
    // T2 stays: "True"/"False" for booleans.
    let out = run(
        &user(),
        ops(json!([{"op": "replace", "path": "active", "value": "False"}])),
    )
    .unwrap();
    assert_eq!(out["active"], false);
}
