//! The directory operations the vendor dialects stand on, driven directly (as a dialect's
//! handler does inside its trip) and seen at once over SCIM's HTTP API: one identity,
//! whichever dialect changed it. On SQLite and PostgreSQL.

mod common;

use common::*;
use muster::directory::{self, groups as dg, users as du, Caller, NewPassword};
use muster::domain::{id_to_hex, Identity, OrgId, PasswordHash, Principal, Scopes};
use muster::store;
use serde_json::{json, Value};

both_backends!(directory_operations_are_seen_by_scim_at_once);

fn principal() -> Principal {
    Principal {
        org_id: OrgId::parse("default").unwrap(),
        scopes: Scopes::all(),
        credential_id: "tok_directory_test".into(),
        user_id: None,
    }
}

/// Run `f` on a connection of the test server's store, as a dialect would in its trip.
async fn with_conn<T: Send + 'static>(
    s: &TestServer,
    f: impl FnOnce(&mut store::DbConn, &Caller<'_>) -> T + Send + 'static,
) -> T {
    let st = s.store.clone();
    tokio::task::spawn_blocking(move || {
        let p = principal();
        let caller = Caller {
            principal: &p,
            dialect: "logto",
            bcrypt_cost: 4,
        };
        let mut conn = st.conn().unwrap();
        f(&mut conn, &caller)
    })
    .await
    .unwrap()
}

async fn scim_get(s: &TestServer, path: &str) -> Value {
    json(
        s.get(&format!("/scim/v2{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

async fn directory_operations_are_seen_by_scim_at_once(b: Backend) {
    let s = TestServer::start(b).await;
    let created = json(
        s.post("/scim/v2/Users")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"userName": "dir@x.com"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let hex = created["id"].as_str().unwrap().to_string();
    let id = muster::domain::id_from_hex(&hex).unwrap();
    let path = format!("/Users/{hex}");

    // Passwords: bcrypt, verified; a wrong one fails; an imported bcrypt digest works.
    let (ok, wrong) = with_conn(&s, move |c, who| {
        du::set_password(c, who, id, NewPassword::Plain("s3cret-pass".into())).unwrap();
        let org = who.org().clone();
        (
            du::verify_password(c, &org, id, "s3cret-pass").unwrap(),
            du::verify_password(c, &org, id, "nope").unwrap(),
        )
    })
    .await;
    assert!(ok && !wrong);
    let digest = bcrypt::hash("imported", 4).unwrap();
    let (imported, other_algo) = with_conn(&s, move |c, who| {
        let org = who.org().clone();
        du::set_password(
            c,
            who,
            id,
            NewPassword::Digest(PasswordHash {
                hash: digest,
                algorithm: "bcrypt".into(),
            }),
        )
        .unwrap();
        let a = du::verify_password(c, &org, id, "imported").unwrap();
        du::set_password(
            c,
            who,
            id,
            NewPassword::Digest(PasswordHash {
                hash: "5f4dcc3b5aa765d61d8327deb882cf99".into(),
                algorithm: "MD5".into(),
            }),
        )
        .unwrap();
        let md5 = du::verify_password(c, &org, id, "password").unwrap();
        du::set_password(
            c,
            who,
            id,
            NewPassword::Digest(PasswordHash {
                hash: "password".into(),
                algorithm: "Legacy".into(),
            }),
        )
        .unwrap();
        assert!(md5, "an imported MD5 digest verifies with its algorithm");
        (a, du::verify_password(c, &org, id, "password").unwrap())
    })
    .await;
    assert!(imported, "an imported bcrypt digest verifies");
    assert!(
        !other_algo,
        "a digest of an algorithm Muster does not verify never matches"
    );
    let too_long = with_conn(&s, move |c, who| {
        du::set_password(c, who, id, NewPassword::Plain("x".repeat(73)))
    })
    .await;
    assert!(matches!(too_long, Err(store::StoreError::Invalid(_))));
    // The password never shows.
    let u = scim_get(&s, &path).await;
    assert!(u.get("password").is_none());

    // Suspension is SCIM's `active`.
    with_conn(&s, move |c, who| du::set_active(c, who, id, false).unwrap()).await;
    assert_eq!(scim_get(&s, &path).await["active"], false);

    // Roles: assigned once (a second time is no change), shown in SCIM, taken away.
    let (first, again) = with_conn(&s, move |c, who| {
        (
            du::assign_role(c, who, id, "Auditor").unwrap(),
            du::assign_role(c, who, id, "auditor").unwrap(),
        )
    })
    .await;
    assert!(first.changed && !again.changed);
    assert_eq!(
        again.value.version, first.value.version,
        "no change, no bump"
    );
    let u = scim_get(&s, &path).await;
    assert_eq!(u["roles"][0]["value"], "Auditor");
    assert_eq!(
        u["meta"]["version"],
        format!("W/\"{}\"", first.value.version)
    );
    with_conn(&s, move |c, who| {
        du::unassign_role(c, who, id, "AUDITOR").unwrap()
    })
    .await;
    assert!(scim_get(&s, &path).await.get("roles").is_none());

    // Custom data survives a SCIM PUT (vendor fields are not SCIM's to erase).
    with_conn(&s, move |c, who| {
        du::set_custom_data(c, who, id, json!({"plan": "gold"})).unwrap()
    })
    .await;
    json(
        s.http
            .put(s.url(&format!("/scim/v2{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"userName": "dir@x.com", "title": "T"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let (custom, not_object) = with_conn(&s, move |c, who| {
        let org = who.org().clone();
        (
            store::users::get(c, &org, id)
                .unwrap()
                .data
                .vendor
                .custom_data,
            du::set_custom_data(c, who, id, json!([1])).is_err(),
        )
    })
    .await;
    assert_eq!(custom, json!({"plan": "gold"}));
    assert!(not_object);

    // Identities: one per target, replaced when linked again, removed.
    let ids = with_conn(&s, move |c, who| {
        for ext in ["gh-1", "gh-2"] {
            du::link_identity(
                c,
                who,
                id,
                &Identity {
                    target: "github".into(),
                    external_user_id: ext.into(),
                    details: json!({"login": "dir"}),
                },
            )
            .unwrap();
        }
        let org = who.org().clone();
        let listed = du::identities(c, &org, id).unwrap();
        du::unlink_identity(c, who, id, "github").unwrap();
        let gone = du::unlink_identity(c, who, id, "github");
        (listed, du::identities(c, &org, id).unwrap(), gone.is_err())
    })
    .await;
    assert_eq!(ids.0.len(), 1);
    assert_eq!(ids.0[0].external_user_id, "gh-2");
    assert!(ids.1.is_empty() && ids.2);

    // Members: deltas through the directory, seen by SCIM.
    let g = json(
        s.post("/scim/v2/Groups")
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"displayName": "dir-group"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let gid = muster::domain::id_from_hex(g["id"].as_str().unwrap()).unwrap();
    let added = with_conn(&s, move |c, who| {
        dg::add_members(c, who, gid, &[id]).unwrap()
    })
    .await;
    assert!(added.changed);
    let group = scim_get(&s, &format!("/Groups/{}", id_to_hex(gid))).await;
    assert_eq!(group["members"][0]["value"], hex.as_str());
    assert_eq!(
        scim_get(&s, &path).await["groups"][0]["display"],
        "dir-group"
    );
    let unknown = with_conn(&s, move |c, who| dg::add_members(c, who, gid, &[42])).await;
    assert!(matches!(unknown, Err(store::StoreError::Invalid(_))));
    with_conn(&s, move |c, who| {
        dg::remove_members(c, who, gid, &[id]).unwrap()
    })
    .await;
    let group = scim_get(&s, &format!("/Groups/{}", id_to_hex(gid))).await;
    assert!(group.get("members").is_none());

    // Every change above is in the audit trail, with the dialect that made it.
    let entries = with_conn(&s, move |c, who| {
        store::audit::list(c, who.org(), Some(id), 0, 100)
            .unwrap()
            .0
    })
    .await;
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.dialect == "logto")
        .map(|e| (e.key.as_str(), e.payload["action"].as_str().unwrap_or("")))
        .collect();
    // Logto's changes carry Logto's keys; the exact verb is the payload's `action`.
    for a in [
        "User.CustomData",
        "User.Identity.Link",
        "User.Identity.Unlink",
    ] {
        assert!(
            actions.contains(&("User.Data.Updated", a)),
            "{a} missing from {actions:?}"
        );
    }
    // SCIM's are `Scim.<verb>`.
    assert!(entries
        .iter()
        .any(|e| e.dialect == "scim" && e.key == "Scim.User.Create"));
    assert!(entries
        .iter()
        .all(|e| e.dialect != "logto" || e.actor == "logto:tok_directory_test"));
    let _ = directory::MAX_PASSWORD_BYTES;
}
