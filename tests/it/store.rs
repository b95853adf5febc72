//! The blocking-pool runner: a panic in database work comes back as an error (a 500 in the
//! dialect's shape), is counted, and retires its connection; the pool goes on serving.

use crate::common;

use common::*;
use muster::store::{Store, StoreError};

both_backends!(
    a_panic_on_the_blocking_pool_is_an_error_not_a_dropped_request,
    console_work_is_found_by_its_owner_claimed_once_and_pruned
);

/// The console's work kept between requests (`store::console_work`: bulk jobs, import
/// previews) is found only by its organization, owner and kind; moves state once; and goes
/// when the pruner passes its last write.
async fn console_work_is_found_by_its_owner_claimed_once_and_pruned(b: Backend) {
    use muster::store::console_work as work;
    let s = TestServer::start(b).await;
    let store = s.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = store.conn().unwrap();
        let org = muster::domain::OrgId::parse("default").unwrap();
        let other = muster::domain::OrgId::parse("acme").unwrap();
        let new = work::NewWork {
            id: "w1",
            org_id: &org,
            owner: "user:01",
            kind: "import",
            state: "previewed",
            title: "people.csv",
            body: "{}".into(),
            total: 3,
        };
        work::insert(&mut c, new).unwrap();
        let get = |c: &mut muster::store::DbConn, org, owner, kind| {
            work::get(c, org, owner, kind, "w1").unwrap()
        };
        assert!(get(&mut c, &org, "user:01", "import").is_some());
        assert!(
            get(&mut c, &org, "user:02", "import").is_none(),
            "another admin"
        );
        assert!(
            get(&mut c, &other, "user:01", "import").is_none(),
            "another org"
        );
        assert!(
            get(&mut c, &org, "user:01", "job").is_none(),
            "another kind"
        );
        let moved = ("previewed", "imported");
        assert!(!work::claim(&mut c, &org, "user:02", "w1", moved, 3).unwrap());
        assert!(work::claim(&mut c, &org, "user:01", "w1", moved, 3).unwrap());
        assert!(!work::claim(&mut c, &org, "user:01", "w1", moved, 3).unwrap());
        let w = get(&mut c, &org, "user:01", "import").unwrap();
        assert_eq!((w.state.as_str(), w.done), ("imported", 3));
        assert_eq!(work::prune_expired(&mut c).unwrap(), 0, "written just now");
        let after = w.updated_at + chrono::Duration::seconds(1);
        assert_eq!(work::prune(&mut c, after).unwrap(), 1);
        assert!(get(&mut c, &org, "user:01", "import").is_none());
    })
    .await
    .unwrap();
}

async fn a_panic_on_the_blocking_pool_is_an_error_not_a_dropped_request(b: Backend) {
    let db = TestDb::new(&b);
    let store = Store::connect_with(&db.url, Some(1)).unwrap();
    let s2 = store.clone();
    tokio::task::spawn_blocking(move || s2.migrate().unwrap())
        .await
        .unwrap();
    let r: Result<(), StoreError> = store
        .run(|_conn| -> Result<(), StoreError> { panic!("a bug in a handler") })
        .await;
    assert!(matches!(r, Err(StoreError::Panicked)), "{r:?}");
    let [_, _, _, _, panics] = store.stats().snapshot();
    assert_eq!(panics, 1);
    // The one connection was retired; a fresh one serves the next call.
    let n = store
        .run(|conn| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query("SELECT 1").execute(conn.db())?)
        })
        .await
        .unwrap();
    assert_eq!(n, if matches!(b, Backend::Sqlite) { 0 } else { 1 });
}

/// On SQLite, recording a credential's use needs the database's write lock; a read never
/// waits for it (the touch is skipped while a writer holds the lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_does_not_queue_behind_a_writer_for_bookkeeping() {
    use diesel::connection::SimpleConnection;
    let s = TestServer::start(Backend::Sqlite).await;
    // The bootstrap token has never been used: this request would record its use.
    let mut writer = s.store.conn().unwrap();
    writer.db().batch_execute("BEGIN IMMEDIATE").unwrap();
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    let r = http
        .get(s.url("/scim/v2/Users"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("answered while the writer holds the lock (busy_timeout is 10 s)");
    assert_eq!(r.status().as_u16(), 200);
    writer.db().batch_execute("COMMIT").unwrap();
}

// The transaction context (`store::DbConn`): what a transaction and a trip know travels with
// the connection, not with the thread or the process.

both_backends!(
    a_trip_reports_the_events_it_committed,
    hashing_in_a_transaction_is_counted_on_its_store_and_connection_only
);

/// A store on a fresh database, migrated.
async fn migrated(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).unwrap();
    let s = store.clone();
    tokio::task::spawn_blocking(move || s.migrate().unwrap())
        .await
        .unwrap();
    store
}

fn principal() -> muster::domain::Principal {
    muster::domain::Principal {
        org_id: muster::domain::OrgId::parse("default").unwrap(),
        scopes: muster::domain::Scopes::all(),
        credential_id: "tok_store_test".into(),
        user_id: None,
        schemas_version: None,
    }
}

/// Create user `name` through the directory, as a dialect's trip does.
fn create(
    conn: &mut muster::store::DbConn,
    name: &str,
) -> Result<muster::domain::User, StoreError> {
    let p = principal();
    let caller = muster::directory::Caller {
        principal: &p,
        dialect: "scim",
        bcrypt_cost: 4,
    };
    let data = muster::domain::UserData {
        user_name: Some(name.into()),
        ..Default::default()
    };
    muster::directory::users::create(conn, &caller, &data, None)
}

async fn a_trip_reports_the_events_it_committed(b: Backend) {
    use diesel::prelude::*;
    use muster::store::schema::events;
    use muster::store::{savepoint, write_tx};
    let s = TestServer::start(b).await;
    let store = s.store.clone();

    // A create: its event, the row it wrote.
    let (user, written) = store.run_trip(|conn| create(conn, "one@x.com")).await;
    let user = user.unwrap();
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(written[0].event, "User.Created");
    let id = written[0].id.to_string();
    let row: (String, String) = store
        .run(move |conn| {
            Ok(events::table
                .filter(events::id.eq(id))
                .select((events::type_, events::resource_id))
                .first(conn.db())?)
        })
        .await
        .unwrap();
    assert_eq!(
        row,
        (
            "User.Created".to_string(),
            muster::domain::id_to_hex(user.id)
        )
    );

    // A read writes nothing.
    let uid = user.id;
    let (r, written) = store
        .run_trip(move |conn| muster::store::users::get(conn, &principal().org_id, uid))
        .await;
    r.unwrap();
    assert!(written.is_empty(), "{written:?}");

    // The directory's create committed its savepoint, then the transaction around it rolled
    // back: nothing was written, and nothing is reported.
    let (r, written) = store
        .run_trip(|conn| {
            write_tx(conn, |conn| {
                create(conn, "gone@x.com")?;
                Err::<(), _>(StoreError::Invalid("changed my mind".into()))
            })
        })
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert!(written.is_empty(), "{written:?}");

    // A savepoint rolled back inside a transaction that commits: only what stood.
    let (r, written) = store
        .run_trip(|conn| {
            write_tx(conn, |conn| {
                let kept = create(conn, "kept@x.com")?;
                let undone = savepoint(conn, |conn| {
                    create(conn, "undone@x.com")?;
                    Err::<(), _>(StoreError::Invalid("undo".into()))
                });
                assert!(undone.is_err());
                Ok::<_, StoreError>(kept)
            })
        })
        .await;
    r.unwrap();
    assert_eq!(
        written.iter().map(|w| w.event).collect::<Vec<_>>(),
        ["User.Created"]
    );

    // Everything in the log is what the trips reported: one, then one more.
    let n: i64 = store
        .run(|conn| Ok(events::table.count().get_result(conn.db())?))
        .await
        .unwrap();
    assert_eq!(n, 2);
}

async fn hashing_in_a_transaction_is_counted_on_its_store_and_connection_only(b: Backend) {
    use muster::directory::{hash_password, NewPassword};
    use muster::store::write_tx;
    let (db_a, db_b) = (TestDb::new(&b), TestDb::new(&b));
    let (a, b) = (migrated(&db_a).await, migrated(&db_b).await);
    let hashed = |s: &Store| {
        s.stats()
            .hashed_in_transaction
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let (sa, sb) = (a.clone(), b.clone());
    tokio::task::spawn_blocking(move || {
        // One thread, a connection of each store.
        let mut ca = sa.conn().unwrap();
        let cb = sb.conn().unwrap();
        let plain = || NewPassword::Plain("s3cret".into());
        hash_password(&ca, plain(), 4).unwrap();
        write_tx(&mut ca, |ca| {
            // A's transaction is open on this thread, not on B's connection.
            hash_password(&cb, plain(), 4)?;
            hash_password(ca, plain(), 4)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        hash_password(&ca, plain(), 4).unwrap();
    })
    .await
    .unwrap();
    assert_eq!((hashed(&a), hashed(&b)), (1, 0));
    let text = muster::http::metrics::store_text(a.stats());
    assert!(
        text.contains("\nmuster_passwords_hashed_in_transaction_total 1\n"),
        "{text}"
    );
}

/// SQLite writers take turns per store (per database): a write transaction held open on one
/// server's database does not hold up a write to another server's database in the same
/// process, while a second write to the same database waits for its turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_take_turns_per_database_not_per_process() {
    use std::sync::mpsc;
    use std::time::Duration;
    let a = TestServer::start(Backend::Sqlite).await;
    let b = TestServer::start(Backend::Sqlite).await;
    let (held, is_held) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let holder = {
        let store = a.store.clone();
        tokio::spawn(async move {
            store
                .run(move |conn| {
                    muster::store::write_tx(conn, |_| {
                        held.send(()).unwrap();
                        released.recv().unwrap();
                        Ok(())
                    })
                })
                .await
        })
    };
    tokio::task::spawn_blocking(move || is_held.recv().unwrap())
        .await
        .unwrap();
    let create = |s: &TestServer, name: &str| {
        s.post("/scim/v2/Users")
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({"userName": name}))
            .send()
    };

    // The other database: at once (sharing one process-wide turn, it waited 10 s).
    let r = tokio::time::timeout(Duration::from_secs(5), create(&b, "b@x.com"))
        .await
        .expect("a write to another database does not wait for this one's writer")
        .unwrap();
    assert_eq!(json(r, 201).await["userName"], "b@x.com");

    // The same database: after the writer before it.
    let same = {
        let r = create(&a, "a@x.com");
        tokio::spawn(r)
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!same.is_finished(), "a second writer of one database waits");
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), same)
        .await
        .expect("the waiting writer goes on once the turn is free")
        .unwrap()
        .unwrap();
    assert_eq!(json(r, 201).await["userName"], "a@x.com");
}

/// Every migration has a version of its own (diesel keys applied migrations by the version
/// alone: two folders with one date and number would run only one of them, silently), and
/// both backends have the same migrations.
#[test]
fn migration_versions_are_unique_and_the_same_on_both_backends() {
    let list = |backend: &str| -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = list("sqlite");
    assert_eq!(
        sqlite,
        list("postgres"),
        "the same migrations on both backends"
    );
    let mut versions: Vec<&str> = sqlite
        .iter()
        .map(|n| n.split('_').next().unwrap())
        .collect();
    let all = versions.len();
    versions.dedup();
    assert_eq!(
        versions.len(),
        all,
        "two migrations share a version: {sqlite:?}"
    );
}
