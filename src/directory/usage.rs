//! Credit usage of organizations (Sumo Logic's usage reports; the admin API records it).

use crate::domain::{OrgId, UsageRecord};
use crate::store::{self, DbConn, StoreResult};

/// Record usage (one transaction; `NotFound` when an organization does not exist).
pub fn insert(conn: &mut DbConn, records: &[UsageRecord]) -> StoreResult<usize> {
    store::usage::insert(conn, records)
}

/// The organization's usage records in a date range.
pub fn list(
    conn: &mut DbConn,
    org: &OrgId,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> StoreResult<Vec<UsageRecord>> {
    store::usage::list(conn, org, from, to)
}

/// Credits used by each of `orgs` within `[from, to]` (either end open), summed per
/// organization, product variable and unit: `(org, product variable, unit, credits)`, one
/// statement.
pub fn totals(
    conn: &mut DbConn,
    orgs: &[OrgId],
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> StoreResult<Vec<(String, String, String, f64)>> {
    store::usage::totals(conn, orgs, from, to)
}

/// Credits used per organization and day within `[from, to]`: `(org, date, credits)`,
/// one statement.
pub fn daily(
    conn: &mut DbConn,
    orgs: &[OrgId],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> StoreResult<Vec<(String, chrono::NaiveDate, f64)>> {
    store::usage::daily(conn, orgs, from, to)
}
