//! SCIM queries over real HTTP on SQLite and PostgreSQL: every operator on every attribute
//! type, the errata and extension forms, errors, sorting, index and cursor paging — and a
//! property test: random directories and random filters, where the SQL answer must equal the
//! in-memory reference evaluator's over the same resources.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use muster::scim::filter::{evaluate, Filter};
use muster::scim::lookup::JsonLookup;
use muster::scim::schema::Registry;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};

both_backends!(
    a_filter_value_holding_nul_matches_nothing,
    operators_on_every_attribute_type,
    filter_errors_are_invalid_filter_with_a_position,
    sorting_and_index_paging,
    cursor_paging_walks_everything_once,
    groups_filter_on_members_and_meta,
    sql_equals_the_reference_evaluator_on_random_directories,
    every_registry_entry_filters_and_sorts_where_it_says,
    selective_filters_are_served_by_their_index,
    substring_filters_through_trigram_indexes_match_exactly,
);

use common::urlencode as q;

async fn post(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    json(
        s.post(&format!("/scim/v2{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await
}

async fn list(s: &TestServer, token: &str, query: &str) -> Value {
    json(
        s.get(&format!("/scim/v2/Users?{query}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

async fn names(s: &TestServer, filter: &str) -> Vec<String> {
    let r = list(
        s,
        ADMIN_TOKEN,
        &format!("filter={}&count=1000&sortBy=userName", q(filter)),
    )
    .await;
    r["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect()
}

/// The ids of a list response's resources.
fn ids_of(list: &Value) -> BTreeSet<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

async fn seed_fixture(s: &TestServer) -> Vec<Value> {
    let users = vec![
        json!({"userName": "alice", "displayName": "Alice Adams", "title": "Engineer", "externalId": "EXT-1", "active": true,
               "name": {"givenName": "Alice", "familyName": "Adams"},
               "emails": [{"value": "alice@work.example", "type": "work", "primary": true}, {"value": "alice@home.example", "type": "home"}],
               "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
               "roles": [{"value": "admin"}],
               ENT: {"employeeNumber": "100", "department": "R&D"}}),
        json!({"userName": "bob", "displayName": "Bob Brown", "title": "engineer", "externalId": "ext-2", "active": false,
               "emails": [{"value": "bob@work.example", "type": "work"}],
               ENT: {"employeeNumber": "200", "department": "Sales", "manager": {"value": "MGR-1"}}}),
        json!({"userName": "carol", "title": "Manager", "externalId": "EXT-3",
               "emails": [{"value": "carol@home.example", "type": "home", "primary": true}],
               "addresses": [{"country": "DE", "locality": "Berlin", "type": "work"}]}),
        json!({"userName": "dave_%", "displayName": "Dave 100%"}),
    ];
    let mut out = Vec::new();
    for u in users {
        out.push(post(s, ADMIN_TOKEN, "/Users", u).await);
    }
    out
}

async fn operators_on_every_attribute_type(b: Backend) {
    let s = TestServer::start(b).await;
    let users = seed_fixture(&s).await;
    let alice_id = users[0]["id"].as_str().unwrap().to_string();
    let created = users[1]["meta"]["created"].as_str().unwrap().to_string();
    let cases: Vec<(String, Vec<&str>)> = vec![
        // strings, caseExact=false
        ("userName eq \"ALICE\"".into(), vec!["alice"]),
        (
            "userName ne \"alice\"".into(),
            vec!["bob", "carol", "dave_%"],
        ),
        ("displayName co \"a\"".into(), vec!["alice", "dave_%"]),
        ("displayName sw \"bob\"".into(), vec!["bob"]),
        ("displayName ew \"100%\"".into(), vec!["dave_%"]),
        ("userName co \"_\"".into(), vec!["dave_%"]),
        ("userName co \"%\"".into(), vec!["dave_%"]),
        ("title eq \"engineer\"".into(), vec!["alice", "bob"]),
        ("title gt \"engineer\"".into(), vec!["carol"]),
        (
            "title ge \"ENGINEER\"".into(),
            vec!["alice", "bob", "carol"],
        ),
        ("title lt \"f\"".into(), vec!["alice", "bob"]),
        ("title le \"Engineer\"".into(), vec!["alice", "bob"]),
        ("title pr".into(), vec!["alice", "bob", "carol"]),
        ("title eq null".into(), vec!["dave_%"]),
        ("title ne null".into(), vec!["alice", "bob", "carol"]),
        ("not (title pr)".into(), vec!["dave_%"]),
        ("name.givenName eq \"alice\"".into(), vec!["alice"]),
        ("name pr".into(), vec!["alice"]),
        // caseExact strings
        ("externalId eq \"EXT-1\"".into(), vec!["alice"]),
        ("externalId eq \"ext-1\"".into(), vec![]),
        ("externalId sw \"EXT\"".into(), vec!["alice", "carol"]),
        (
            "externalId ne \"EXT-1\"".into(),
            vec!["bob", "carol", "dave_%"],
        ),
        // booleans (and string booleans)
        // `active` is never unset: users created without it are active.
        ("active eq true".into(), vec!["alice", "carol", "dave_%"]),
        ("active eq \"False\"".into(), vec!["bob"]),
        ("active ne true".into(), vec!["bob"]),
        ("active pr".into(), vec!["alice", "bob", "carol", "dave_%"]),
        // multi-valued, value paths, the Entra form, bare attribute = its value
        ("emails co \"@work\"".into(), vec!["alice", "bob"]),
        (
            "emails.value ew \"home.example\"".into(),
            vec!["alice", "carol"],
        ),
        ("emails.type eq \"HOME\"".into(), vec!["alice", "carol"]),
        (
            "emails[type eq \"work\" and value co \"alice\"]".into(),
            vec!["alice"],
        ),
        (
            "emails[type eq \"home\" and value co \"bob\"]".into(),
            vec![],
        ),
        (
            "emails[type eq \"work\"].value eq \"BOB@work.example\"".into(),
            vec!["bob"],
        ),
        (
            "emails[type eq \"work\" or (type eq \"home\" and value sw \"carol\")]".into(),
            vec!["alice", "bob", "carol"],
        ),
        (
            "emails[not (type eq \"work\")]".into(),
            vec!["alice", "carol"],
        ),
        ("emails[primary eq true]".into(), vec!["alice", "carol"]),
        ("emails pr".into(), vec!["alice", "bob", "carol"]),
        (
            "emails ne \"alice@work.example\"".into(),
            vec!["bob", "carol", "dave_%"],
        ),
        ("phoneNumbers[type eq \"mobile\"]".into(), vec!["alice"]),
        ("addresses[country eq \"de\"]".into(), vec!["carol"]),
        ("addresses.locality eq \"berlin\"".into(), vec!["carol"]),
        ("roles eq \"ADMIN\"".into(), vec!["alice"]),
        // URN-qualified paths, extension attributes
        (format!("{ENT}:employeeNumber gt \"150\""), vec!["bob"]),
        (format!("{ENT}:department eq \"r&d\""), vec!["alice"]),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"carol\"".into(),
            vec!["carol"],
        ),
        // Unqualified extension attributes resolve to the Enterprise extension (Entra).
        ("employeeNumber eq \"100\"".into(), vec!["alice"]),
        ("DEPARTMENT eq \"sales\"".into(), vec!["bob"]),
        ("manager.value eq \"mgr-1\"".into(), vec!["bob"]),
        ("manager eq \"MGR-1\"".into(), vec!["bob"]),
        ("manager pr".into(), vec!["bob"]),
        ("employeeNumber gt \"150\"".into(), vec!["bob"]),
        // `schemas` (item 58): the core URN always, the Enterprise URN with any of its
        // attributes set.
        (
            "schemas eq \"urn:ietf:params:scim:schemas:core:2.0:User\"".into(),
            vec!["alice", "bob", "carol", "dave_%"],
        ),
        (format!("schemas eq \"{ENT}\""), vec!["alice", "bob"]),
        (
            format!("schemas Eq \"{}\"", ENT.to_uppercase()),
            vec!["alice", "bob"],
        ),
        (format!("schemas ne \"{ENT}\""), vec!["carol", "dave_%"]),
        (
            format!("not (schemas eq \"{ENT}\")"),
            vec!["carol", "dave_%"],
        ),
        (
            "schemas co \"extension:enterprise\"".into(),
            vec!["alice", "bob"],
        ),
        (
            "schemas sw \"urn:ietf:params:scim:schemas:\"".into(),
            vec!["alice", "bob", "carol", "dave_%"],
        ),
        (
            "schemas ew \"core:2.0:User\"".into(),
            vec!["alice", "bob", "carol", "dave_%"],
        ),
        ("schemas pr".into(), vec!["alice", "bob", "carol", "dave_%"]),
        ("schemas eq null".into(), vec![]),
        (
            "schemas eq \"urn:ietf:params:scim:schemas:core:2.0:Group\"".into(),
            vec![],
        ),
        (
            format!("schemas eq \"{ENT}\" and title eq \"engineer\""),
            vec!["alice", "bob"],
        ),
        // `null` on multi-valued attributes (`ne null` used to reach an `unreachable!`).
        ("emails ne null".into(), vec!["alice", "bob", "carol"]),
        ("emails eq null".into(), vec!["dave_%"]),
        ("emails.type ne null".into(), vec!["alice", "bob", "carol"]),
        (
            "addresses.country eq null".into(),
            vec!["alice", "bob", "dave_%"],
        ),
        // dateTime and id
        (
            format!("meta.created ge \"{created}\""),
            vec!["bob", "carol", "dave_%"],
        ),
        (
            "meta.lastModified gt \"2000-01-01T00:00:00+02:00\"".into(),
            vec!["alice", "bob", "carol", "dave_%"],
        ),
        (
            "meta.lastModified lt \"2000-01-01T00:00:00Z\"".into(),
            vec![],
        ),
        (format!("id eq \"{alice_id}\""), vec!["alice"]),
        (
            "meta.resourceType eq \"user\"".into(),
            vec!["alice", "bob", "carol", "dave_%"],
        ),
        // logic, precedence, case-insensitive keywords
        (
            "userName eq \"alice\" or userName eq \"bob\" and active eq true".into(),
            vec!["alice"],
        ),
        (
            "(userName eq \"alice\" or userName eq \"bob\") and active eq false".into(),
            vec!["bob"],
        ),
        (
            "USERNAME EQ \"carol\" OR TITLE Eq \"Engineer\"".into(),
            vec!["alice", "bob", "carol"],
        ),
        (
            "not(userName sw \"a\") and not (userName sw \"b\")".into(),
            vec!["carol", "dave_%"],
        ),
    ];
    for (f, want) in cases {
        let got = names(&s, &f).await;
        assert_eq!(got, want, "{f}");
    }
}

async fn filter_errors_are_invalid_filter_with_a_position(b: Backend) {
    let s = TestServer::start(b).await;
    for (f, needle) in [
        ("userName eq", "position 11"),
        ("nope eq \"x\"", "unknown attribute"),
        ("name.nope eq \"x\"", "unknown attribute"),
        ("active gt true", "boolean"),
        ("active eq \"maybe\"", "boolean"),
        ("x509Certificates.value gt \"a\"", "binary"),
        ("x509Certificates.value LE \"a\"", "binary"),
        ("x509Certificates lt \"a\"", "binary"),
        ("x509Certificates[value ge \"a\"]", "binary"),
        ("emails gt null", "null"),
        ("emails.value co null", "null"),
        ("schemas gt null", "null"),
        ("schemas.value eq \"x\"", "unknown attribute"),
        ("id ge \"+000000000000001\"", "not an id"),
        ("abcü eq 1", "position 3"),
        ("userName eq \"x\" andü", "position"),
        ("meta.created gt \"yesterday\"", "dateTime"),
        ("meta.created co \"2026\"", "dateTime"),
        ("userName eq \"a\" and", "position"),
        ("emails[type eq \"work\"", "']'"),
        ("name eq \"x\"", "complex"),
        ("userName eq \"a\")", "unexpected"),
    ] {
        let r = s
            .get(&format!("/scim/v2/Users?filter={}", q(f)))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let e: Value = r.json().await.unwrap();
        assert_eq!(status, 400, "{f}: {e}");
        assert_eq!(e["scimType"], "invalidFilter", "{f}: {e}");
        assert!(e["detail"].as_str().unwrap().contains(needle), "{f}: {e}");
    }
    // As many terms as the length limit allows are answered (no SQL depth limit reached)...
    let search = |f: String| {
        let s = &s;
        async move {
            let r = s
                .post("/scim/v2/Users/.search")
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"filter": f, "count": 1}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    for term in [
        "id pr",
        "title pr",
        "schemas pr",
        "not (id pr)",
        "employeeNumber pr",
    ] {
        for join in [" and ", " or "] {
            let n = 4096 / (term.len() + join.len());
            let (status, body) = search(vec![term; n].join(join)).await;
            assert_eq!(status, 200, "{n} × {term:?}: {body}");
        }
    }
    // ...but terms on multi-valued attributes (each a semi-join; PostgreSQL plans hundreds of
    // AND-ed ones for minutes) are capped.
    for term in [
        "emails pr",
        "emails[type eq \"work\"]",
        "roles pr",
        "groups.value pr",
    ] {
        for join in [" and ", " or "] {
            let (status, body) = search(vec![term; 32].join(join)).await;
            assert_eq!(status, 200, "32 × {term:?}: {body}");
            let (status, body) = search(vec![term; 33].join(join)).await;
            assert_eq!(status, 400, "33 × {term:?}: {body}");
            assert_eq!(body["scimType"], "invalidFilter");
            assert!(body["detail"].as_str().unwrap().contains("32"), "{body}");
        }
    }
    let long = format!("userName eq \"{}\"", "x".repeat(5000));
    let r = s
        .post("/scim/v2/Users/.search")
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"filter": long}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(r, 400).await["scimType"], "invalidFilter");
    for (params, t) in [
        ("sortBy=nope", "invalidValue"),
        ("sortOrder=sideways", "invalidValue"),
        ("count=abc", "invalidValue"),
        ("cursor=garbage", "invalidCursor"),
        ("cursor=&count=5000", "invalidCount"),
        ("cursor=&startIndex=2", "invalidValue"),
    ] {
        let r = s
            .get(&format!("/scim/v2/Users?{params}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let e = json(r, 400).await;
        assert_eq!(e["scimType"], t, "{params}: {e}");
    }
}

async fn sorting_and_index_paging(b: Backend) {
    let s = TestServer::start(b).await;
    seed_fixture(&s).await;
    let s = &s;
    let by = |sort: String| async move {
        let r = list(s, ADMIN_TOKEN, &sort).await;
        r["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by("sortBy=userName".into()).await,
        vec!["alice", "bob", "carol", "dave_%"]
    );
    assert_eq!(
        by("sortBy=userName&sortOrder=descending".into()).await,
        vec!["dave_%", "carol", "bob", "alice"]
    );
    // Missing values last ascending, first descending; case-insensitive order.
    assert_eq!(
        by("sortBy=displayName".into()).await,
        vec!["alice", "bob", "dave_%", "carol"]
    );
    assert_eq!(
        by("sortBy=displayName&sortOrder=DESCENDING".into()).await,
        vec!["carol", "dave_%", "bob", "alice"]
    );
    let titles = by("sortBy=title".into()).await;
    let mut first_two = titles[..2].to_vec();
    first_two.sort();
    assert_eq!(
        first_two,
        vec!["alice", "bob"],
        "Engineer and engineer tie (case-insensitive)"
    );
    assert_eq!(titles[2..], ["carol", "dave_%"]);
    // The primary value of a multi-valued attribute.
    assert_eq!(
        by("sortBy=emails".into()).await,
        vec!["alice", "bob", "carol", "dave_%"]
    );
    assert_eq!(
        by("sortBy=emails.value&sortOrder=descending".into()).await,
        vec!["dave_%", "carol", "bob", "alice"]
    );
    assert_eq!(
        by(format!("sortBy={ENT}:employeeNumber")).await[..2],
        ["alice", "bob"],
        "missing values last"
    );
    assert_eq!(
        by("sortBy=employeeNumber&sortOrder=descending".into()).await[2..],
        ["bob", "alice"],
        "unqualified extension attribute"
    );
    assert_eq!(
        by("sortBy=meta.created".into()).await,
        vec!["alice", "bob", "carol", "dave_%"]
    );
    // Index paging over a sort: stable, complete, no overlap.
    let mut seen = Vec::new();
    for start in [1, 3, 5] {
        let r = list(
            s,
            ADMIN_TOKEN,
            &format!("sortBy=displayName&startIndex={start}&count=2"),
        )
        .await;
        assert_eq!(r["totalResults"], 4);
        assert_eq!(r["startIndex"], start);
        seen.extend(
            r["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["userName"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(seen, vec!["alice", "bob", "dave_%", "carol"]);
    let r = list(s, ADMIN_TOKEN, "startIndex=0&count=-3").await;
    assert_eq!(r["startIndex"], 1, "startIndex < 1 is 1");
    assert_eq!(r["itemsPerPage"], 0, "negative count is 0");
    assert_eq!(r["totalResults"], 4);
    let r = list(s, ADMIN_TOKEN, "count=100000").await;
    assert_eq!(r["itemsPerPage"], 4, "count is clamped to maxResults");
}

async fn cursor_paging_walks_everything_once(b: Backend) {
    let s = TestServer::start(b).await;
    for i in 0..23 {
        post(
            &s,
            ADMIN_TOKEN,
            "/Users",
            json!({"userName": format!("u{i:02}"), "title": if i % 3 == 0 { "x" } else { "y" }}),
        )
        .await;
    }
    for (sort, filter) in [
        ("", ""),
        ("&sortBy=userName&sortOrder=descending", ""),
        ("", "&filter=title%20eq%20%22y%22"),
    ] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor = String::new();
        let mut pages = Vec::new();
        loop {
            let r = list(
                &s,
                ADMIN_TOKEN,
                &format!("count=5&cursor={}{sort}{filter}", q(&cursor)),
            )
            .await;
            assert!(r.get("startIndex").is_none());
            let items: Vec<String> = r["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string())
                .collect();
            if cursor.is_empty() {
                assert!(r["totalResults"].is_i64(), "the first page counts");
                assert!(r.get("previousCursor").is_none());
            } else {
                assert!(r["previousCursor"].is_string(), "later pages can go back");
            }
            seen.extend(items.clone());
            pages.push((cursor.clone(), items));
            match r.get("nextCursor").and_then(Value::as_str) {
                Some(n) => cursor = n.to_string(),
                None => break,
            }
        }
        let want = if filter.is_empty() { 23 } else { 15 };
        assert_eq!(seen.len(), want, "{sort}{filter}");
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), want, "no resource twice");
        // previousCursor of the third page gives the second page again.
        let third = &pages[2].0;
        let r = list(
            &s,
            ADMIN_TOKEN,
            &format!("count=5&cursor={}{sort}{filter}", q(third)),
        )
        .await;
        let back = r["previousCursor"].as_str().unwrap().to_string();
        let r = list(
            &s,
            ADMIN_TOKEN,
            &format!("count=5&cursor={}{sort}{filter}", q(&back)),
        )
        .await;
        let items: Vec<String> = r["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(items, pages[1].1, "{sort}{filter}");
    }
    // A cursor is bound to its query and count, and cannot be forged.
    let r = list(&s, ADMIN_TOKEN, "count=5&cursor=").await;
    let next = r["nextCursor"].as_str().unwrap().to_string();
    let e = json(
        s.get(&format!("/scim/v2/Users?count=6&cursor={}", q(&next)))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(e["scimType"], "invalidCount");
    let e = json(
        s.get(&format!(
            "/scim/v2/Users?count=5&sortBy=title&cursor={}",
            q(&next)
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap(),
        400,
    )
    .await;
    assert_eq!(e["scimType"], "invalidCursor");
    let mut forged = next.clone();
    forged.insert(forged.len() - 3, 'x');
    let e = json(
        s.get(&format!("/scim/v2/Users?count=5&cursor={}", q(&forged)))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(e["scimType"], "invalidCursor");
    // Another tenant cannot use it.
    s.org("other", None).await;
    s.credential(
        "other",
        kind_token(),
        "tok_o",
        "other-token-0123456789",
        "scim",
    )
    .await;
    let e = json(
        s.get(&format!("/scim/v2/Users?count=5&cursor={}", q(&next)))
            .bearer_auth("other-token-0123456789")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(e["scimType"], "invalidCursor");
    // .search takes the same parameters in the body.
    let r = json(
        s.post("/scim/v2/Users/.search")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"count": 5, "cursor": next}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(r["Resources"].as_array().unwrap().len(), 5);
}

async fn groups_filter_on_members_and_meta(b: Backend) {
    let s = TestServer::start(b).await;
    let u = post(&s, ADMIN_TOKEN, "/Users", json!({"userName": "m1"})).await;
    let uid = u["id"].as_str().unwrap();
    let g1 = post(
        &s,
        ADMIN_TOKEN,
        "/Groups",
        json!({"displayName": "Alpha", "externalId": "A1", "members": [{"value": uid}]}),
    )
    .await;
    let g2 = post(
        &s,
        ADMIN_TOKEN,
        "/Groups",
        json!({"displayName": "Beta", "members": [{"value": g1["id"], "type": "Group"}]}),
    )
    .await;
    let names = |f: String| {
        let s = &s;
        async move {
            let r = json(
                s.get(&format!(
                    "/scim/v2/Groups?filter={}&sortBy=displayName",
                    q(&f)
                ))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap(),
                200,
            )
            .await;
            r["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["displayName"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(format!("members[value eq \"{uid}\"]")).await,
        vec!["Alpha"]
    );
    assert_eq!(
        names(format!(
            "members.value eq \"{}\"",
            g1["id"].as_str().unwrap()
        ))
        .await,
        vec!["Beta"]
    );
    assert_eq!(
        names("members[type eq \"Group\"]".into()).await,
        vec!["Beta"]
    );
    assert_eq!(names("displayName sw \"al\"".into()).await, vec!["Alpha"]);
    assert_eq!(names("externalId pr".into()).await, vec!["Alpha"]);
    assert_eq!(
        names("meta.lastModified gt \"2000-01-01T00:00:00Z\"".into()).await,
        vec!["Alpha", "Beta"]
    );
    assert_eq!(names("members pr".into()).await, vec!["Alpha", "Beta"]);
    assert_eq!(
        names("schemas eq \"urn:ietf:params:scim:schemas:core:2.0:Group\"".into()).await,
        vec!["Alpha", "Beta"]
    );
    assert_eq!(
        names(format!("schemas eq \"{ENT}\" or schemas co \"User\"")).await,
        Vec::<String>::new()
    );
    // Users by their groups.
    let r = list(
        &s,
        ADMIN_TOKEN,
        &format!(
            "filter={}",
            q(&format!(
                "groups[value eq \"{}\"]",
                g1["id"].as_str().unwrap()
            ))
        ),
    )
    .await;
    assert_eq!(r["totalResults"], 1);
    let r = list(
        &s,
        ADMIN_TOKEN,
        &format!("filter={}", q("groups.display eq \"alpha\"")),
    )
    .await;
    assert_eq!(r["totalResults"], 1);
    let _ = g2;
    let r = s
        .get(&format!(
            "/scim/v2/Groups?filter={}",
            q("userName eq \"x\"")
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(json(r, 400).await["scimType"], "invalidFilter");
    // /.search across types.
    let r = json(
        s.post("/scim/v2/.search")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"filter": "meta.lastModified pr"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(r["totalResults"], 3);
}

// ---- the property test ------------------------------------------------------------------

const WORDS: [&str; 9] = ["ab", "Ab", "abc", "b", "x-y", "Q_1", "22fb-c5", "007", "7"];

/// Values written unquoted in filters: whole tokens, numbers (`007`, `7`, `1e2`) among them,
/// and tokens that start like a number but are strings (`22fb-c5`, an Entra GUID's shape).
const UNQUOTED: [&str; 9] = ["ab", "Ab", "x-y", "Q_1", "22fb-c5", "007", "7", "1e2", "-3"];

/// A custom extension with an attribute of each type (docs/scim-extensions.md): the property
/// test registers it in each directory and draws values and filters on it.
const XT: &str = "urn:example:prop:2.0:User";

fn extension_schema() -> Value {
    json!({"id": XT, "attributes": [
        {"name": "xs", "type": "string"},
        {"name": "xc", "type": "string", "caseExact": true},
        {"name": "xn", "type": "integer"},
        {"name": "xd", "type": "decimal"},
        {"name": "xb", "type": "boolean"},
        {"name": "xt", "type": "dateTime"},
        {"name": "xm", "type": "string", "multiValued": true},
        {"name": "xk", "type": "complex", "multiValued": true, "subAttributes": [
            {"name": "label", "type": "string"}, {"name": "kind", "type": "string"}
        ]}
    ]})
}

/// The organization's registry as the server builds it, for the reference evaluator.
fn registry_with_extension() -> Registry {
    use muster::scim::schema::{Kind, Registration, Schema, Unknown};
    let schema = Schema::parse(&extension_schema()).unwrap();
    Registry::build(
        &[Registration {
            schema: std::sync::Arc::new(schema),
            kind: Kind::User,
            required: false,
        }],
        Unknown::Keep,
    )
}

const INSTANTS: [&str; 4] = [
    "2020-01-01T00:00:00Z",
    "2020-01-01T01:00:00+01:00",
    "2023-06-30T12:30:00.5Z",
    "1999-12-31T23:59:59Z",
];

fn extension_strategy() -> impl Strategy<Value = Value> {
    (
        prop::option::of(word()),
        prop::option::of(word()),
        prop::option::of(-3i64..12),
        prop::option::of(prop::sample::select(vec![0.5, 1.25, 2.0, -1.5])),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(INSTANTS.to_vec())),
        prop::collection::vec(word(), 0..3),
        prop::collection::vec((word(), prop::sample::select(vec!["a", "b"])), 0..3),
    )
        .prop_map(|(xs, xc, xn, xd, xb, xt, xm, xk)| {
            let mut o = serde_json::Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    o.insert(k.into(), v);
                }
            };
            put("xs", xs.map(|v| json!(v)));
            put("xc", xc.map(|v| json!(v)));
            put("xn", xn.map(|v| json!(v)));
            put("xd", xd.map(|v| json!(v)));
            put("xb", xb.map(|v| json!(v)));
            put("xt", xt.map(|v| json!(v)));
            put("xm", (!xm.is_empty()).then(|| json!(xm)));
            put(
                "xk",
                (!xk.is_empty()).then(|| {
                    Value::Array(
                        xk.into_iter()
                            .map(|(l, k)| json!({"label": l, "kind": k}))
                            .collect(),
                    )
                }),
            );
            Value::Object(o)
        })
}

fn extension_leaf() -> impl Strategy<Value = String> {
    let x = |a: &str| format!("{XT}:{a}");
    prop_oneof![
        (
            prop::sample::select(vec![x("xs"), x("xc"), x("xm"), x("xk.label")]),
            prop::sample::select(vec!["eq", "ne", "co", "sw", "ew", "gt", "le"]),
            word()
        )
            .prop_map(|(a, o, w)| format!("{a} {o} \"{w}\"")),
        (
            prop::sample::select(vec![x("xn"), x("xd")]),
            prop::sample::select(vec!["eq", "ne", "gt", "ge", "lt", "le"]),
            prop::sample::select(vec!["0", "2", "7", "-1.5", "1.25", "11"])
        )
            .prop_map(|(a, o, v)| format!("{a} {o} {v}")),
        (prop::sample::select(vec!["eq", "ne"]), any::<bool>())
            .prop_map(move |(o, v)| format!("{XT}:xb {o} {v}")),
        (
            prop::sample::select(vec!["eq", "ne", "gt", "ge", "lt", "le"]),
            prop::sample::select(INSTANTS.to_vec())
        )
            .prop_map(move |(o, v)| format!("{XT}:xt {o} \"{v}\"")),
        prop::sample::select(vec![x("xs"), x("xn"), x("xb"), x("xt"), x("xm"), x("xk")])
            .prop_map(|a| format!("{a} pr")),
        (
            prop::sample::select(vec!["a", "b"]),
            word(),
            prop::sample::select(vec!["and", "or"])
        )
            .prop_map(move |(k, w, j)| format!("{XT}:xk[kind eq \"{k}\" {j} label sw \"{w}\"]")),
        prop::sample::select(vec![
            format!("schemas eq \"{XT}\""),
            format!("{XT}:xs eq null")
        ]),
    ]
}

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(WORDS.to_vec()).prop_map(str::to_string)
}

fn user_strategy() -> impl Strategy<Value = Value> {
    (
        prop::option::of(word()),
        prop::option::of(word()),
        prop::option::of(word()),
        prop::option::of(any::<bool>()),
        prop::collection::vec(
            (
                word(),
                prop::sample::select(vec!["work", "home", "Other"]),
                prop::option::of(any::<bool>()),
            ),
            0..3,
        ),
        prop::option::of(word()),
        prop::option::of(word()),
        extension_strategy(),
        prop::option::of(word()),
    )
        .prop_map(
            |(display, title, ext, active, emails, given, dept, x, url)| {
                let mut u = serde_json::Map::new();
                if let Some(v) = display {
                    u.insert("displayName".into(), json!(v));
                }
                if let Some(v) = title {
                    u.insert("title".into(), json!(v));
                }
                // A reference with caseExact=false (RFC 7643 §8.7.1): compared case-insensitively.
                if let Some(v) = url {
                    u.insert("profileUrl".into(), json!(format!("https://x.example/{v}")));
                }
                if let Some(v) = ext {
                    u.insert("externalId".into(), json!(v));
                }
                if let Some(v) = active {
                    u.insert("active".into(), json!(v));
                }
                if let Some(v) = given {
                    u.insert("name".into(), json!({"givenName": v}));
                }
                if let Some(v) = dept {
                    u.insert(ENT.into(), json!({"department": v}));
                }
                if x.as_object().is_some_and(|o| !o.is_empty()) {
                    u.insert(XT.into(), x);
                }
                if !emails.is_empty() {
                    let es: Vec<Value> = emails
                        .into_iter()
                        .enumerate()
                        .map(|(i, (v, t, p))| {
                            let mut e = json!({"value": format!("{v}@{t}.example"), "type": t});
                            // At most one primary (a second one is a 400).
                            if let Some(p) = p {
                                e["primary"] = json!(p && i == 0);
                            }
                            e
                        })
                        .collect();
                    u.insert("emails".into(), Value::Array(es));
                }
                Value::Object(u)
            },
        )
}

fn leaf() -> impl Strategy<Value = String> {
    let string_attr = prop::sample::select(vec![
        "userName",
        "displayName",
        "title",
        "externalId",
        "name.givenName",
        "profileUrl",
        "emails",
        "emails.value",
        "emails.type",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "department",
    ]);
    let op = prop::sample::select(vec![
        "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Co",
    ]);
    prop_oneof![
        (string_attr.clone(), op.clone(), word()).prop_map(|(a, o, w)| format!("{a} {o} \"{w}\"")),
        (
            string_attr.clone(),
            op,
            prop::sample::select(UNQUOTED.to_vec())
        )
            .prop_map(|(a, o, w)| format!("{a} {o} {w}")),
        string_attr.prop_map(|a| format!("{a} pr")),
        (
            prop::sample::select(vec!["eq", "ne"]),
            prop::sample::select(vec!["true", "false", "\"True\"", "null"])
        )
            .prop_map(|(o, v)| format!("active {o} {v}")),
        (
            prop::sample::select(vec!["work", "home", "other"]),
            prop::sample::select(vec!["co", "sw", "eq"]),
            word(),
            prop::sample::select(vec!["and", "or"])
        )
            .prop_map(|(t, o, w, j)| format!("emails[type eq \"{t}\" {j} value {o} \"{w}\"]")),
        (prop::sample::select(vec!["work", "home"]), word())
            .prop_map(|(t, w)| format!("emails[type eq \"{t}\"].value sw \"{w}\"")),
        (
            prop::sample::select(vec!["eq", "ne", "co", "sw", "ew", "gt", "le"]),
            prop::sample::select(vec![
                "urn:ietf:params:scim:schemas:core:2.0:User",
                ENT,
                "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER",
                "enterprise",
                "urn:ietf:params:scim:schemas:",
                "2.0:User",
            ])
        )
            .prop_map(|(o, v)| format!("schemas {o} \"{v}\"")),
        prop::sample::select(vec![
            "emails[primary eq true]",
            "emails[not (primary eq true)]",
            "title eq null",
            "meta.created gt \"2000-01-01T00:00:00Z\"",
            "meta.created gt 2000-01-01T00:00:00Z",
            "meta.created lt 2999-01-01T00:00:00.5+02:00",
            "emails[type eq work and value sw 22fb-c5]",
        ])
        .prop_map(str::to_string),
    ]
}

fn filter_strategy() -> impl Strategy<Value = String> {
    prop_oneof![3 => leaf(), 2 => extension_leaf()].prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            inner.clone().prop_map(|a| format!("not ({a})")),
        ]
    })
}

async fn sql_equals_the_reference_evaluator_on_random_directories(b: Backend) {
    let directories: usize = std::env::var("MUSTER_PROPTEST_DIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let filters_each: usize = std::env::var("MUSTER_PROPTEST_FILTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("MUSTER_PROPTEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5C1A);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let s = TestServer::start(b).await;
    let registry = registry_with_extension();
    let rt = registry.user();
    let mut checked = 0;
    for d in 0..directories {
        let org = format!("prop{d}");
        s.org(&org, None).await;
        let token = format!("prop-token-{d}-0123456789");
        s.credential(
            &org,
            kind_token(),
            &format!("tok_prop{d}"),
            &token,
            "scim orgs:admin",
        )
        .await;
        let resp = s
            .post("/admin/v1/schemas")
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(json!({"schema": extension_schema()}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let size = 12 + d * 3;
        let users = prop::collection::vec(user_strategy(), size)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut primaries = BTreeSet::new();
        for (i, mut u) in users.into_iter().enumerate() {
            u["userName"] = json!(format!("{}{i}", WORDS[i % WORDS.len()]));
            // A primary email (the one marked primary, else the first) is one user's in an
            // organization (the rule book): a drawn one already taken gets the user's index.
            if let Some(es) = u.get_mut("emails").and_then(Value::as_array_mut) {
                let k = es
                    .iter()
                    .position(|e| e["primary"] == json!(true))
                    .unwrap_or(0);
                let v = es[k]["value"].as_str().unwrap().to_string();
                if !primaries.insert(v.to_lowercase()) {
                    let unique = format!("{i}{v}");
                    primaries.insert(unique.to_lowercase());
                    es[k]["value"] = json!(unique);
                }
            }
            post(&s, &token, "/Users", u).await;
        }
        let all = list(&s, &token, "count=1000").await;
        let resources = all["Resources"].as_array().unwrap().clone();
        assert_eq!(resources.len(), size);
        for _ in 0..filters_each {
            let f = filter_strategy().new_tree(&mut runner).unwrap().current();
            let parsed = Filter::parse(&f).unwrap_or_else(|e| panic!("{f}: {e:?}"));
            let want: BTreeSet<String> = resources
                .iter()
                .filter(|r| evaluate(&parsed, r, &JsonLookup { rt }, None))
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect();
            let r = list(&s, &token, &format!("count=1000&filter={}", q(&f))).await;
            let got = ids_of(&r);
            assert_eq!(
                got,
                want,
                "filter {f} on directory {d} (seed {seed}):\n{}",
                serde_json::to_string_pretty(&resources).unwrap()
            );
            assert_eq!(r["totalResults"], want.len());
            checked += 1;
        }
    }
    eprintln!("property test: {checked} filters agreed between SQL and the reference evaluator");
}

/// Every built-in attribute (and sub-attribute) is filterable and sortable exactly as its
/// registry entry says where it is kept (`scim::storage`): a column or an element table
/// answers `pr` and `eq` (a column that does not exist would be a 500), and a derived one
/// (`password`, `meta.location`, a member's `$ref`) is a 400 `invalidFilter`, never a 500.
async fn every_registry_entry_filters_and_sorts_where_it_says(b: Backend) {
    use muster::scim::schema::AttrType;
    use muster::scim::storage::Storage;
    let s = TestServer::start(b).await;
    let user = post(
        &s,
        ADMIN_TOKEN,
        "/Users",
        json!({"userName": "Walker", "profileUrl": "https://x.example/Walker", "title": "T"}),
    )
    .await;
    let mut checked = 0;
    for (endpoint, rt) in [
        ("/Users", Registry::builtin().user()),
        ("/Groups", Registry::builtin().group()),
    ] {
        for res in rt.attributes() {
            let urn = res.extension().map(|u| format!("{u}:")).unwrap_or_default();
            let top = res.attr;
            let mut paths = vec![(format!("{urn}{}", top.name), top)];
            for sub in &top.sub_attributes {
                paths.push((format!("{urn}{}.{}", top.name, sub.name), sub));
            }
            for (path, a) in paths {
                let stored = match a.storage {
                    Storage::Column(_) | Storage::Elements(_) => true,
                    Storage::Parts => a
                        .sub_attributes
                        .iter()
                        .any(|s| matches!(s.storage, Storage::Column(_))),
                    Storage::Derived => false,
                    Storage::Values => panic!("built-in {path} is in the value store"),
                };
                // `meta.resourceType` is the same constant for every resource.
                let constant = path.eq_ignore_ascii_case("meta.resourceType");
                let value = match a.ty {
                    AttrType::Boolean => Some("true"),
                    AttrType::Complex => None,
                    AttrType::DateTime => Some("\"2000-01-01T00:00:00Z\""),
                    _ => Some("\"Walker\""),
                };
                let mut filters = vec![format!("{path} pr")];
                filters.extend(value.map(|v| format!("{path} eq {v}")));
                for filter in filters {
                    let r = s
                        .get(&format!("/scim/v2{endpoint}?filter={}", q(&filter)))
                        .bearer_auth(ADMIN_TOKEN)
                        .send()
                        .await
                        .unwrap();
                    let status = r.status().as_u16();
                    let body: Value = r.json().await.unwrap();
                    if stored || constant {
                        assert_eq!(status, 200, "{endpoint} filter {filter}: {body}");
                    } else {
                        assert_eq!(status, 400, "{endpoint} filter {filter}: {body}");
                        assert_eq!(body["scimType"], "invalidFilter", "{filter}: {body}");
                    }
                    checked += 1;
                }
                // A multi-valued attribute sorts by its (primary) `value`.
                let sortable = match a.storage {
                    Storage::Column(_) => true,
                    Storage::Elements(_) => a.sub("value").is_some(),
                    _ => false,
                };
                if sortable {
                    let r = s
                        .get(&format!("/scim/v2{endpoint}?sortBy={}", q(&path)))
                        .bearer_auth(ADMIN_TOKEN)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 200, "{endpoint} sortBy={path}");
                }
            }
        }
    }
    assert!(checked > 100, "{checked}");
    // The entry's caseExact decides: profileUrl (caseExact=false) matches in any case,
    // externalId (caseExact=true) only exactly.
    let id = user["id"].as_str().unwrap();
    for (filter, hits) in [
        ("profileUrl eq \"HTTPS://X.EXAMPLE/walker\"", 1),
        ("profileUrl sw \"https://x.example/WAL\"", 1),
        ("title eq \"t\"", 1),
        ("userName eq \"WALKER\"", 1),
    ] {
        let r = list(&s, ADMIN_TOKEN, &format!("filter={}", q(filter))).await;
        assert_eq!(r["totalResults"], hits, "{filter}: {r}");
        assert_eq!(r["Resources"][0]["id"], id, "{filter}");
    }
}

/// A selective filter on an attribute identity providers and admins filter by is answered from
/// its index, not by reading every user of the organization: the planner's own account of
/// the statement that counts the matches (`totalResults`), on each backend. PostgreSQL is
/// told not to choose a sequential scan, so its plan shows whether an index *can* serve the
/// filter (its choice on a real table is the benchmark's to show, docs/benchmarks.md).
async fn selective_filters_are_served_by_their_index(b: Backend) {
    use diesel::connection::SimpleConnection;
    use diesel::RunQueryDsl;
    use muster::store::filter_sql::{translate, Target};
    use muster::store::raw::{Bind, Raw};
    let s = TestServer::start(b.clone()).await;
    let rt = Registry::builtin().user();
    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let mut cases: Vec<(String, &str)> = vec![
        ("userName eq \"ada\"".into(), "users_org_user_name"),
        ("userName sw \"ad\"".into(), "users_org_user_name"),
        ("displayName eq \"Ada L\"".into(), "users_org_display_name"),
        ("displayName sw \"Ad\"".into(), "users_org_display_name"),
        ("title eq \"Engineer\"".into(), "users_org_title"),
        ("title sw \"Eng\"".into(), "users_org_title"),
        ("name.givenName eq \"Ada\"".into(), "users_org_name_given"),
        (
            "name.familyName sw \"Love\"".into(),
            "users_org_name_family",
        ),
        (
            "name.formatted eq \"Ada Lovelace\"".into(),
            "users_org_name_formatted",
        ),
        (
            format!("{ENT}:department eq \"R&D\""),
            "users_org_department",
        ),
        ("department sw \"R\"".into(), "users_org_department"),
        (
            "employeeNumber eq \"42\"".into(),
            "users_org_employee_number",
        ),
        ("externalId eq \"x-1\"".into(), "users_org_external_id"),
        (
            "meta.lastModified gt \"2030-01-01T00:00:00Z\"".into(),
            "users_org_updated",
        ),
        ("active eq false".into(), "users_org_suspended"),
        (
            "emails.value eq \"ada@example.com\"".into(),
            "user_values_lookup",
        ),
        ("emails sw \"ada@\"".into(), "user_values_lookup"),
        (
            "emails[type eq \"work\" and value eq \"a@b.c\"]".into(),
            "user_values_lookup",
        ),
    ];
    // `co` and `ew` of three characters or more: the trigram indexes (SQLite's FTS5 tables,
    // PostgreSQL's pg_trgm GIN indexes; migration 2027-01-07-000001_trigram_indexes).
    let sqlite = matches!(b, Backend::Sqlite);
    let trigram = |fts: &'static str, gin: &'static str| if sqlite { fts } else { gin };
    cases.extend([
        (
            "userName co \"r29\"".into(),
            trigram("users_trgm", "users_trgm_user_name"),
        ),
        (
            "userName ew \"ER29\"".into(),
            trigram("users_trgm", "users_trgm_user_name"),
        ),
        (
            "displayName co \"r 29\"".into(),
            trigram("users_trgm", "users_trgm_display_name"),
        ),
        (
            "title co \"le 39\"".into(),
            trigram("users_trgm", "users_trgm_title"),
        ),
        (
            "name.givenName ew \"g29\"".into(),
            trigram("users_trgm", "users_trgm_name_given"),
        ),
        (
            "name.familyName co \"f29\"".into(),
            trigram("users_trgm", "users_trgm_name_family"),
        ),
        (
            "name.formatted co \"9 F2\"".into(),
            trigram("users_trgm", "users_trgm_name_formatted"),
        ),
        (
            "externalId co \"x-29\"".into(),
            trigram("users_trgm", "users_trgm_external_id"),
        ),
        (
            format!("{ENT}:department co \"d24\""),
            trigram("users_trgm", "users_trgm_department"),
        ),
        (
            "emails.value co \"r29@\"".into(),
            trigram("user_emails_trgm", "user_values_trgm_emails"),
        ),
        (
            "emails ew \"29@example.com\"".into(),
            trigram("user_emails_trgm", "user_values_trgm_emails"),
        ),
        (
            "emails[value co \"r29@\"]".into(),
            trigram("user_emails_trgm", "user_values_trgm_emails"),
        ),
    ]);
    // A directory with some spread, and the planners' statistics of it: 2,000 users, enough
    // for a trigram index to cost PostgreSQL less than reading the organization.
    for chunk in 0..2 {
        let ops: Vec<Value> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": {
                    "userName": format!("user{i}"), "displayName": format!("User {i}"),
                    "title": format!("Title {}", i % 40), "externalId": format!("x-{i}"),
                    "name": {"givenName": format!("G{i}"), "familyName": format!("F{i}"),
                             "formatted": format!("G{i} F{i}")},
                    "emails": [{"value": format!("user{i}@example.com"), "type": "work"}],
                    ENT: {"department": format!("D{}", i % 25), "employeeNumber": format!("{i}")}
                }})
            })
            .collect();
        let r = s
            .post("/scim/v2/Bulk")
            .bearer_auth(ADMIN_TOKEN)
            .json(
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                      "Operations": ops}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    let mut conn = s.store.conn().unwrap();
    conn.db().batch_execute("ANALYZE").unwrap();
    if matches!(b, Backend::Postgres(_)) {
        // VACUUM also moves the GIN indexes' pending entries (fastupdate) into the index, as
        // autovacuum does; the planner prices a long pending list as slow.
        conn.db()
            .batch_execute("VACUUM users, user_values")
            .unwrap();
        conn.db().batch_execute("SET enable_seqscan = off").unwrap();
    }
    for (filter, index) in cases {
        let f = muster::scim::filter::Filter::parse(&filter).unwrap();
        let cond = translate(&f, Target::Users, rt, "default").unwrap();
        let head = match b {
            Backend::Sqlite => "EXPLAIN QUERY PLAN ",
            _ => "EXPLAIN ",
        };
        let q = Raw::sql(format!(
            r#"{head}SELECT COUNT(*) FROM "users" WHERE "users"."org_id" = "#
        ))
        .bind(Bind::Text("default".into()))
        .push(" AND (")
        .append(cond)
        .push(")");
        let plan: Vec<String> = match b {
            Backend::Sqlite => q
                .query::<(
                    diesel::sql_types::Integer,
                    diesel::sql_types::Integer,
                    diesel::sql_types::Integer,
                    diesel::sql_types::Text,
                )>()
                .load::<(i32, i32, i32, String)>(conn.db())
                .unwrap()
                .into_iter()
                .map(|r| r.3)
                .collect(),
            _ => q
                .query::<(diesel::sql_types::Text,)>()
                .load::<(String,)>(conn.db())
                .unwrap()
                .into_iter()
                .map(|r| r.0)
                .collect(),
        };
        let text = plan.join("\n");
        assert!(
            text.contains(index),
            "{filter}: not served by {index}:\n{text}"
        );
        let scans_users = match b {
            Backend::Sqlite => plan
                .iter()
                .any(|l| l == "SCAN users" || l.starts_with("SCAN users ")),
            _ => text.contains("Seq Scan on users"),
        };
        assert!(!scans_users, "{filter}: scans the users:\n{text}");
    }
    // A pattern shorter than a trigram has none to look up: its SQL is what it was.
    for filter in ["userName co \"r2\"", "title ew \"3\"", "emails co \"x\""] {
        let f = muster::scim::filter::Filter::parse(filter).unwrap();
        let sql = format!("{:?}", translate(&f, Target::Users, rt, "default").unwrap());
        assert!(!sql.contains("trgm"), "{filter}: {sql}");
    }
}

/// `co`, `sw` and `ew` answer exactly what the reference evaluator does on every attribute a
/// trigram index narrows (patterns of one to many characters, mixed case, non-ASCII letters,
/// LIKE's `%` and `_`, quotes), and keep doing so after updates and deletes: the indexes only
/// pre-filter, and they follow every write.
async fn substring_filters_through_trigram_indexes_match_exactly(b: Backend) {
    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let s = TestServer::start(b.clone()).await;
    let rt = Registry::builtin().user();
    let users = [
        json!({"userName": "Alice.Smith", "displayName": "ALICE Smith", "title": "Senior Engineer",
               "externalId": "Ext-ABC-1", "name": {"givenName": "Alice", "familyName": "O'Neil",
               "formatted": "Alice O'Neil"}, ENT: {"department": "R&D 100%"},
               "emails": [{"value": "Alice@Example.COM", "primary": true},
                          {"value": "a.smith@work.example"}]}),
        json!({"userName": "bob_100%", "displayName": "Bob \"The Builder\"", "title": "100% engineer",
               "externalId": "ext-abc-2", "name": {"givenName": "Bob", "familyName": "Builder"},
               "emails": [{"value": "bob@example.com"}]}),
        json!({"userName": "carol", "title": "Engineering_Lead", "displayName": "Carol",
               ENT: {"department": "Eng_1"}, "emails": [{"value": "c%l@x_y.org"}]}),
        json!({"userName": "dave", "title": "eng", "externalId": "EXT-abc-3"}),
        json!({"userName": "ÉMILE", "title": "Ingénieur", "displayName": "Émile Zola",
               "name": {"givenName": "émile", "formatted": "émile zola"},
               "emails": [{"value": "émile@exemple.fr"}]}),
        json!({"userName": "alice2", "title": "SENIOR ENGINEER II", "displayName": "alice smith",
               "emails": [{"value": "ALICE@example.com.au"}]}),
    ];
    let mut ids = Vec::new();
    for u in users {
        ids.push(
            post(&s, ADMIN_TOKEN, "/Users", u).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let attrs = [
        "userName",
        "displayName",
        "title",
        "externalId",
        "name.givenName",
        "name.familyName",
        "name.formatted",
        "department",
        "emails.value",
        "emails",
    ];
    let patterns = [
        "a",
        "Al",
        "ALI",
        "lice",
        "ICE",
        "smith",
        "100%",
        "0%",
        "%",
        "_",
        "g_L",
        "\"The",
        "ex",
        "EXAMPLE.com",
        "abc",
        "-ABC-",
        "émi",
        "ÉMI",
        "nie",
        "c%l",
        "x_y",
        "o'n",
        "zed",
        "CHEF",
        "li\u{0}ce",
    ];
    let check = |phase: &'static str| {
        let s = &s;
        async move {
            let all = list(s, ADMIN_TOKEN, "count=1000").await;
            let resources = all["Resources"].as_array().unwrap().clone();
            for attr in attrs {
                for op in ["co", "sw", "ew"] {
                    for p in patterns {
                        // SQL `lower()` folds ASCII letters only where the evaluator folds
                        // all (docs/scim.md): a difference of columns without a lower-cased
                        // twin that no index changes, left out here.
                        let twin =
                            matches!(attr, "userName" | "displayName" | "emails.value" | "emails");
                        if !twin && p.chars().any(|c| !c.is_ascii() && c.is_uppercase()) {
                            continue;
                        }
                        // No stored text holds a NUL: a pattern with one matches nothing, on
                        // PostgreSQL too (whose text refuses NUL), and never reaches FTS5.
                        let f = format!("{attr} {op} {}", json!(p));
                        let parsed = Filter::parse(&f).unwrap();
                        let want: BTreeSet<String> = resources
                            .iter()
                            .filter(|r| evaluate(&parsed, r, &JsonLookup { rt }, None))
                            .map(|r| r["id"].as_str().unwrap().to_string())
                            .collect();
                        let r = list(s, ADMIN_TOKEN, &format!("count=1000&filter={}", q(&f))).await;
                        assert_eq!(ids_of(&r), want, "{phase}: {f}");
                        assert_eq!(r["totalResults"], want.len(), "{phase}: {f}");
                    }
                }
            }
        }
    };
    check("as created").await;
    // Some matches, to be sure the comparison above is not vacuous.
    assert_eq!(
        names(&s, "userName co \"LICE\"").await,
        ["Alice.Smith", "alice2"]
    );
    assert_eq!(names(&s, "title co \"0% e\"").await, ["bob_100%"]);
    assert_eq!(names(&s, "emails ew \"X_Y.ORG\"").await, ["carol"]);
    assert_eq!(
        names(&s, "externalId co \"-abc-\"").await,
        ["bob_100%", "dave"]
    );

    // Rename Alice everywhere an index holds her, replace Carol's email, delete Bob.
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                     "userName": "Zed.Q", "displayName": "Zed Quinn", "title": "Head Chef",
                     "externalId": "zed-1", "name": {"givenName": "Zed", "familyName": "Quinn"},
                     "emails": [{"value": "zed@cook.example", "primary": true}]});
    let write = |req: reqwest::RequestBuilder, body: Value| async move {
        let r = req
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    };
    write(s.put(&format!("/scim/v2/Users/{}", ids[0])), put).await;
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "emails",
                                       "value": [{"value": "carol@chef.example"}]},
                                      {"op": "replace", "path": "title", "value": "Sous-chef"}]});
    write(s.patch(&format!("/scim/v2/Users/{}", ids[2])), patch).await;
    let r = s
        .delete(&format!("/scim/v2/Users/{}", ids[1]))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    check("after updates and a delete").await;
    assert_eq!(names(&s, "userName co \"LICE\"").await, ["alice2"]);
    assert_eq!(names(&s, "title co \"CHEF\"").await, ["carol", "Zed.Q"]);
    assert_eq!(names(&s, "emails co \"chef\"").await, ["carol"]);
    assert!(names(&s, "emails ew \"x_y.org\"").await.is_empty());

    // SQLite: the FTS5 tables hold exactly one entry per user, and per user with emails.
    if matches!(b, Backend::Sqlite) {
        let rows = |sql: &str| -> Vec<i64> {
            use diesel::RunQueryDsl;
            let mut conn = s.store.conn().unwrap();
            let mut v: Vec<i64> = muster::store::raw::Raw::sql(sql)
                .query::<(diesel::sql_types::BigInt,)>()
                .load::<(i64,)>(conn.db())
                .unwrap()
                .into_iter()
                .map(|r| r.0)
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            rows("SELECT rowid FROM users_trgm"),
            rows("SELECT id FROM users")
        );
        assert_eq!(
            rows("SELECT rowid FROM user_emails_trgm"),
            rows("SELECT DISTINCT user_id FROM user_values WHERE attribute = 'emails'")
        );
    }
}

/// A filter value holding U+0000: no stored text holds one (every write refuses it), so `eq`,
/// `co`, `sw` and `ew` match nothing — on PostgreSQL too, whose text type would refuse the
/// parameter (a 500 before) — and an ordering of one is SCIM's 400 `invalidFilter`.
async fn a_filter_value_holding_nul_matches_nothing(b: Backend) {
    let s = TestServer::start(b).await;
    post(
        &s,
        ADMIN_TOKEN,
        "/Users",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
               "userName": "alice", "title": "chef",
               "emails": [{"value": "alice@example.com"}]}),
    )
    .await;
    for f in [
        "userName eq \"al\\u0000ice\"",
        "userName co \"li\\u0000\"",
        "title sw \"c\\u0000\"",
        "emails.value ew \"\\u0000.com\"",
        "emails[value co \"a\\u0000\"]",
    ] {
        let r = list(&s, ADMIN_TOKEN, &format!("filter={}", q(f))).await;
        assert_eq!(r["totalResults"], 0, "{f}: {r}");
    }
    // The same filters without the NUL do match: the above is not vacuous.
    let r = list(
        &s,
        ADMIN_TOKEN,
        &format!("filter={}", q("userName co \"li\"")),
    )
    .await;
    assert_eq!(r["totalResults"], 1);
    let r = s
        .get(&format!(
            "/scim/v2/Users?filter={}",
            q("userName gt \"a\\u0000\"")
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let body = json(r, 400).await;
    assert_eq!(body["scimType"], "invalidFilter", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("NUL"), "{body}");
}
