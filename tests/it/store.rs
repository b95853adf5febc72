//! The blocking-pool runner: a panic in database work comes back as an error (a 500 in the
//! dialect's shape), is counted, and retires its connection; the pool goes on serving.

use crate::common;

use common::*;
use muster::store::{Store, StoreError};

both_backends!(a_panic_on_the_blocking_pool_is_an_error_not_a_dropped_request);

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
            Ok(diesel::sql_query("SELECT 1").execute(conn)?)
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
    writer.batch_execute("BEGIN IMMEDIATE").unwrap();
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
    writer.batch_execute("COMMIT").unwrap();
}
