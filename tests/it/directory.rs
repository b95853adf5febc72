//! The directory operations the vendor dialects stand on, driven directly (as a dialect's
//! handler does inside its trip) and seen at once over SCIM's HTTP API: one identity,
//! whichever dialect changed it. On SQLite and PostgreSQL.

use crate::common;

use common::*;
use muster::directory::{self, groups as dg, users as du, Caller, NewPassword};
use muster::domain::{id_to_hex, Identity, OrgId, PasswordHash, Principal, Scopes};
use muster::store;
use serde_json::{json, Value};

both_backends!(
    directory_operations_are_seen_by_scim_at_once,
    roles_requests_and_child_orgs
);

fn principal() -> Principal {
    Principal {
        org_id: OrgId::parse("default").unwrap(),
        scopes: Scopes::all(),
        credential_id: "tok_directory_test".into(),
        user_id: None,
        schemas_version: None,
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
        store::audit::list(c, who.org(), Some(id), 100).unwrap()
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

both_backends!(roles_invitations_and_single_members);

/// The operations Domo stands on, kept generic: roles named by name or id (with a
/// dialect's built-ins), a create with its invitation, one user added to or removed from a
/// group by id, pages of users, groups and a group's user ids; and a user without a login
/// name taking its email as its SCIM `userName`.
async fn roles_invitations_and_single_members(b: Backend) {
    use directory::roles::{resolve, RoleRef};
    use muster::domain::{MultiAttr, MultiValue, UserData};
    let s = TestServer::start(b).await;
    let builtin = ["Admin", "Participant"];
    let (ann, bo, custom_id) = with_conn(&s, move |c, who| {
        let org = who.org().clone();
        let email = |e: &str| UserData {
            display_name: Some(e.to_string()),
            active: Some(true),
            values: vec![(
                MultiAttr::Emails,
                MultiValue {
                    value: Some(e.to_string()),
                    primary: Some(true),
                    ..MultiValue::default()
                },
            )],
            ..UserData::default()
        };
        let ann = du::create_and_invite(c, who, &email("Ann@Example.com")).unwrap();
        let bo = du::create(c, who, &email("bo@example.com"), None).unwrap();
        // The email is the user's login key: a login name equal to it is taken.
        let clash = UserData {
            user_name: Some("ann@example.COM".into()),
            ..UserData::default()
        };
        assert!(matches!(
            du::create(c, who, &clash, None),
            Err(store::StoreError::Taken(
                muster::domain::UniqueField::LoginName
            ))
        ));

        // Built-ins in any case, spelled as the dialect spells them; unknown names refused.
        let r = |c: &mut store::DbConn, r: RoleRef| resolve(c, &org, &r, &builtin);
        assert_eq!(r(c, RoleRef::Name("admin".into())).unwrap(), "Admin");
        let unknown = r(c, RoleRef::Name("Wizard".into())).unwrap_err();
        assert!(unknown.to_string().contains("Wizard"), "{unknown}");
        // A role the organization has, by name (its stored spelling) and by id.
        du::assign_role(c, who, bo.id, "Auditor").unwrap();
        let (custom_id, _) = store::roles::find_by_name(c, &org, "auditor")
            .unwrap()
            .unwrap();
        assert_eq!(r(c, RoleRef::Name("AUDITOR".into())).unwrap(), "Auditor");
        assert_eq!(r(c, RoleRef::Id(custom_id)).unwrap(), "Auditor");
        assert!(matches!(
            r(c, RoleRef::Id(custom_id ^ 1)),
            Err(store::StoreError::Invalid(_))
        ));
        (ann, bo, custom_id)
    })
    .await;
    assert!(custom_id > 0);

    // SCIM sees the email as userName, by filter too.
    let found = json(
        s.get("/scim/v2/Users")
            .bearer_auth(ADMIN_TOKEN)
            .query(&[("filter", "userName eq \"ann@example.com\"")])
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(found["Resources"][0]["id"], id_to_hex(ann.id));
    assert_eq!(found["Resources"][0]["userName"], "Ann@Example.com");

    let (ann_id, bo_id) = (ann.id, bo.id);
    with_conn(&s, move |c, who| {
        let org = who.org().clone();
        // The invitation is an audit entry of the create.
        let entries = store::audit::list(c, &org, Some(ann_id), 10).unwrap();
        let keys: Vec<&str> = entries
            .iter()
            .map(|e| e.payload["action"].as_str().unwrap_or(""))
            .collect();
        assert!(
            keys.contains(&"User.Invite") && keys.contains(&"User.Create"),
            "{keys:?}"
        );

        let g = dg::create(
            c,
            who,
            &muster::domain::GroupData {
                display_name: "Team".into(),
                ..Default::default()
            },
            &[],
        )
        .unwrap();
        assert!(g.data.active, "groups are active unless told otherwise");
        let missing_group = dg::add_user(c, who, g.id ^ 1, ann_id).unwrap();
        assert_eq!(missing_group.unwrap_err(), dg::Missing::Group);
        let missing_user = dg::add_user(c, who, g.id, ann_id ^ 1).unwrap();
        assert_eq!(missing_user.unwrap_err(), dg::Missing::User);
        // A group's id where a user belongs never nests the group.
        assert_eq!(
            dg::add_user(c, who, g.id, g.id).unwrap().unwrap_err(),
            dg::Missing::User
        );
        assert!(dg::add_user(c, who, g.id, ann_id).unwrap().unwrap().changed);
        assert!(!dg::add_user(c, who, g.id, ann_id).unwrap().unwrap().changed);
        assert!(dg::add_user(c, who, g.id, bo_id).unwrap().unwrap().changed);
        let mut both = vec![ann_id, bo_id];
        both.sort();
        assert_eq!(dg::user_ids(c, &org, g.id, 0, 10).unwrap(), both);
        assert_eq!(dg::user_ids(c, &org, g.id, 1, 10).unwrap(), both[1..]);
        assert_eq!(
            dg::user_ids(c, &org, g.id, 2, 10).unwrap(),
            Vec::<i64>::new()
        );
        assert!(matches!(
            dg::user_ids(c, &org, g.id ^ 1, 0, 10),
            Err(store::StoreError::NotFound)
        ));
        let groups = dg::page(c, &org, 0, 10).unwrap();
        assert_eq!(dg::user_counts(c, &groups).unwrap()[&g.id], 2);
        assert!(
            dg::remove_user(c, who, g.id, ann_id)
                .unwrap()
                .unwrap()
                .changed
        );
        assert!(
            !dg::remove_user(c, who, g.id, ann_id)
                .unwrap()
                .unwrap()
                .changed
        );
        assert_eq!(dg::user_ids(c, &org, g.id, 0, 10).unwrap(), vec![bo_id]);

        // Pages of users in id order.
        let page = du::page(c, &org, 0, 1, du::Groups::Load).unwrap();
        assert_eq!(page.users.len(), 1);
        assert_eq!(page.users[0].id, both[0]);
        let rest = du::page(c, &org, 1, 10, du::Groups::Load).unwrap();
        assert_eq!(
            rest.users.iter().map(|u| u.id).collect::<Vec<_>>(),
            both[1..]
        );
    })
    .await;
}

/// Roles, pending requests and child organizations, driven directly: each write is one
/// transaction with its audit entry, and SCIM sees the result at once.
async fn roles_requests_and_child_orgs(b: Backend) {
    use muster::directory::orgs as dorg;
    use muster::directory::roles as dr;
    use muster::domain::{MultiAttr, MultiValue, RoleData, Subscription, UserData};
    let s = TestServer::start(b).await;
    let (uid, rid, cid) = with_conn(&s, |conn, caller| {
        let data = UserData {
            user_name: Some("dora".into()),
            active: Some(true),
            values: vec![(
                MultiAttr::Emails,
                MultiValue {
                    value: Some("dora@example.com".into()),
                    primary: Some(true),
                    ..MultiValue::default()
                },
            )],
            ..UserData::default()
        };
        let u = du::create(conn, caller, &data, None).unwrap();
        let role = dr::create(
            conn,
            caller,
            &RoleData {
                name: "Auditor".into(),
                capabilities: vec!["viewAudit".into()],
                ..RoleData::default()
            },
            &[u.id],
        )
        .unwrap();
        assert_eq!(role.users, vec![u.id]);
        // A duplicate name is a conflict; an unknown holder invalid; nothing half-written.
        assert!(matches!(
            dr::create(
                conn,
                caller,
                &RoleData {
                    name: "auditor".into(),
                    ..RoleData::default()
                },
                &[]
            ),
            Err(store::StoreError::Conflict(_))
        ));
        assert!(matches!(
            dr::create(
                conn,
                caller,
                &RoleData {
                    name: "Ghost".into(),
                    ..RoleData::default()
                },
                &[42]
            ),
            Err(store::StoreError::Invalid(_))
        ));
        assert!(store::roles::find_by_name(conn, caller.org(), "Ghost")
            .unwrap()
            .is_none());
        // Pending email change: applied only when confirmed.
        du::request_email_change(conn, caller, u.id, "dora.new@example.com").unwrap();
        let changed =
            du::confirm_email_change(conn, caller, u.id, &directory::Expect::Any).unwrap();
        assert_eq!(
            changed
                .data
                .primary(MultiAttr::Emails)
                .unwrap()
                .value
                .as_deref(),
            Some("dora.new@example.com")
        );
        assert!(matches!(
            du::confirm_email_change(conn, caller, u.id, &directory::Expect::Any),
            Err(store::StoreError::NotFound)
        ));
        du::request_password_reset(conn, caller, u.id).unwrap();
        // A child organization and its key.
        let child = OrgId::parse("us2-00000000000000C1").unwrap();
        dorg::create_child(
            conn,
            caller,
            &dorg::NewChild {
                id: child.clone(),
                name: "Child".into(),
                email: "c@example.com".into(),
                first_name: "C".into(),
                last_name: None,
                deployment_id: "us2".into(),
                subscription: Subscription {
                    credits: Some(50_000),
                    ..Subscription::default()
                },
            },
        )
        .unwrap();
        let (cred, secret) = dorg::mint_child_key(
            conn,
            caller,
            &child,
            "k",
            &Scopes::parse("users:read").unwrap(),
        )
        .unwrap();
        assert_eq!(cred.org_id, child);
        assert!(store::credentials::verify_client(conn, &cred.id, &secret)
            .unwrap()
            .is_some());
        let d = dorg::deactivate(conn, caller, &child).unwrap();
        assert_eq!(d.status, dorg::INACTIVE);
        assert!(store::credentials::verify_client(conn, &cred.id, &secret)
            .unwrap()
            .is_none());
        assert_eq!(
            dorg::delink(conn, caller, std::slice::from_ref(&child)).unwrap(),
            1
        );
        assert!(matches!(
            dorg::child(conn, caller.org(), &child),
            Err(store::StoreError::NotFound)
        ));
        (u.id, role.role.id, child)
    })
    .await;
    let user = scim_get(&s, &format!("/Users/{}", id_to_hex(uid))).await;
    assert_eq!(user["roles"][0]["value"], "Auditor");
    assert_eq!(user["emails"][0]["value"], "dora.new@example.com");
    let _ = cid;
    with_conn(&s, move |conn, caller| {
        dr::delete(conn, caller, rid).unwrap();
    })
    .await;
    let user = scim_get(&s, &format!("/Users/{}", id_to_hex(uid))).await;
    assert!(
        user.get("roles")
            .is_none_or(|r| r.as_array().is_none_or(|a| a.is_empty())),
        "{user}"
    );
    let logs = json(
        s.get(&format!(
            "/api/logs?userId={}&page_size=100",
            id_to_hex(uid)
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let text = logs.to_string();
    for action in [
        "User.Role.Assign",
        "User.Email.RequestChange",
        "User.Email.Confirm",
        "User.Password.Reset",
    ] {
        assert!(text.contains(action), "{action}: {text}");
    }
}
