//! Index paging (`startIndex`) of unfiltered user lists at a cost of the page, not of the
//! organization.
//!
//! - **The total**: `org_user_counts` holds each organization's exact number of users, kept
//!   by triggers in the transaction of every user insert and delete (whichever path writes
//!   them), with a generation that moves on each. An unfiltered list reads its
//!   `totalResults` there: one indexed read of at most 16 rows instead of `COUNT(*)` over the
//!   organization. A filtered list still counts its matches (there is no cheaper exact total
//!   for an arbitrary filter).
//! - **The page**: `OFFSET k` walks k index entries. For an unfiltered list in id order the
//!   position of every [`STRIDE`]th user is cached per organization (a sampled index, built
//!   with one statement), valid while the organization's generation is unchanged; page k
//!   then seeks to the id at position `STRIDE * (k / STRIDE)` and skips fewer than
//!   `STRIDE` entries. Any user insert or delete moves the generation, and the next deep
//!   page rebuilds the samples (one scan of the organization's id index, what a single
//!   `OFFSET` past the middle cost before). Sorted (`sortBy`) and descending lists keep
//!   `OFFSET`.
//!
//! The cache belongs to a [`super::Store`] and is reached through each of its connections
//! (`DbConn::pages`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::raw::{Bind, Raw};
use super::{DbConn, StoreResult};
use crate::domain::OrgId;

/// Every how many positions an id is sampled.
pub const STRIDE: i64 = 1000;

/// Organizations whose samples are kept at once; past it the cache starts afresh.
const MAX_ORGS: usize = 4096;

/// The sampled positions of one organization's users, at one generation.
struct Samples {
    generation: i64,
    /// `ids[i]` is the id at position `i * STRIDE` in id order.
    ids: Vec<i64>,
}

/// Sampled page boundaries by organization.
#[derive(Default)]
pub struct PageCache {
    orgs: Mutex<HashMap<String, Arc<Samples>>>,
    /// Pages that sought to a sample, and sample sets built (for tests and operators).
    seeks: std::sync::atomic::AtomicU64,
    builds: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.orgs.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "PageCache({n} organizations)")
    }
}

impl PageCache {
    /// Pages that sought to a sampled boundary, and sample sets built, since start.
    pub fn stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.seeks.load(Relaxed), self.builds.load(Relaxed))
    }
    fn get(&self, org: &str) -> Option<Arc<Samples>> {
        self.orgs.lock().ok()?.get(org).cloned()
    }
    fn put(&self, org: &str, samples: Arc<Samples>) {
        if let Ok(mut m) = self.orgs.lock() {
            if m.len() >= MAX_ORGS && !m.contains_key(org) {
                m.clear();
            }
            m.insert(org.to_string(), samples);
        }
    }
}

/// The exact number of users of `org` and its generation: one statement.
pub fn counts(conn: &mut DbConn, org: &OrgId) -> StoreResult<(i64, i64)> {
    let rows: Vec<(i64, i64)> = Raw::sql(
        "SELECT CAST(COALESCE(SUM(c.users), 0) AS BIGINT), \
         CAST(COALESCE(SUM(c.generation), 0) AS BIGINT) \
         FROM org_user_counts c WHERE c.org_id = ",
    )
    .bind(Bind::Text(org.as_str().to_string()))
    .query::<(BigInt, BigInt)>()
    .load(conn.db())?;
    Ok(rows.into_iter().next().unwrap_or((0, 0)))
}

/// Where the unfiltered, id-ordered page at `offset` starts: the id to seek to (`id >=`) and
/// the offset left from there, when the samples of `org` at `generation` help (`offset` of
/// at least [`STRIDE`]); `None` to page with the plain `OFFSET`.
pub fn seek(
    conn: &mut DbConn,
    org: &OrgId,
    generation: i64,
    offset: i64,
) -> StoreResult<Option<(i64, i64)>> {
    if offset < STRIDE {
        return Ok(None);
    }
    let samples = match conn.pages().get(org.as_str()) {
        Some(s) if s.generation == generation => s,
        _ => {
            let s = Arc::new(sample(conn, org)?);
            let cache = conn.pages();
            cache
                .builds
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            cache.put(org.as_str(), s.clone());
            // Changed between the two reads: this page uses OFFSET, the next the samples.
            if s.generation != generation {
                return Ok(None);
            }
            s
        }
    };
    let index = (offset / STRIDE) as usize;
    let Some(&id) = samples.ids.get(index).or(samples.ids.last()) else {
        return Ok(None);
    };
    let at = (index.min(samples.ids.len() - 1) as i64) * STRIDE;
    conn.pages()
        .seeks
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Some((id, offset - at)))
}

/// Sample every [`STRIDE`]th id of `org` in id order, with the generation they belong to:
/// one statement, so both come from the same snapshot. Each step seeks from the last sample
/// and skips `STRIDE` entries of the (org_id, id) index: one pass over the index in all, what
/// a `COUNT(*)` of the organization costs (a window function numbering every row costs
/// several times more on SQLite).
fn sample(conn: &mut DbConn, org: &OrgId) -> StoreResult<Samples> {
    let o = || Bind::Text(org.as_str().to_string());
    let rows: Vec<(i64, i64)> = Raw::sql(
        "WITH RECURSIVE s(id) AS (SELECT (SELECT MIN(u.id) FROM users u WHERE u.org_id = ",
    )
    .bind(o())
    .push(") UNION ALL SELECT (SELECT u.id FROM users u WHERE u.org_id = ")
    .bind(o())
    .push(" AND u.id >= s.id ORDER BY u.id LIMIT 1 OFFSET ")
    .push(STRIDE.to_string())
    .push(
        ") FROM s WHERE s.id IS NOT NULL) \
         SELECT g.generation, s.id FROM s, \
         (SELECT CAST(COALESCE(SUM(c.generation), 0) AS BIGINT) AS generation \
         FROM org_user_counts c WHERE c.org_id = ",
    )
    .bind(o())
    .push(") g WHERE s.id IS NOT NULL ORDER BY s.id")
    .query::<(BigInt, BigInt)>()
    .load(conn.db())?;
    let generation = match rows.first() {
        Some(&(g, _)) => g,
        None => counts(conn, org)?.1,
    };
    Ok(Samples {
        generation,
        ids: rows.into_iter().map(|(_, id)| id).collect(),
    })
}
