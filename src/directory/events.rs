//! Reading the change feed: the organization's events in the order the sequencer numbered
//! them (`GET /admin/v1/events`).

use crate::changes::Recorded;
use crate::domain::OrgId;
use crate::store::{self, DbConn, StoreResult};

/// Up to `limit` events of the organization numbered after `after`, in order: one statement.
pub fn page(conn: &mut DbConn, org: &OrgId, after: i64, limit: i64) -> StoreResult<Vec<Recorded>> {
    store::events::page(conn, org, after, limit)
}

pub use crate::store::events::FeedBounds;

/// The last number given out in the organization, and the highest pruned (0 when none):
/// one statement.
pub fn bounds(conn: &mut DbConn, org: &OrgId) -> StoreResult<FeedBounds> {
    store::events::bounds(conn, org)
}
