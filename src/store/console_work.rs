//! Work the web console keeps between requests — a bulk job's progress, a CSV import's
//! preview — as rows of `console_work`, so every instance on the database answers for it
//! (migrations/*/2027-01-06-000001_console_work). A row is found only by its organization and
//! owner (the session holder that made it), and only within [`KEEP`] of its last write; the
//! pruner deletes it after that.

use diesel::prelude::*;

use super::schema::console_work;
use super::{now, DbConn, StoreResult};
use crate::domain::OrgId;

/// How long a row stays after its last write.
pub const KEEP: std::time::Duration = std::time::Duration::from_secs(3600);

/// The oldest last write a row still shown may have.
fn cutoff() -> chrono::NaiveDateTime {
    now() - chrono::Duration::from_std(KEEP).unwrap_or(chrono::Duration::hours(1))
}

/// A new row.
pub struct NewWork<'a> {
    pub id: &'a str,
    pub org_id: &'a OrgId,
    /// The session holder that made it: `user:<hex id>`, or a token's id.
    pub owner: &'a str,
    /// `job` or `import`.
    pub kind: &'a str,
    pub state: &'a str,
    pub title: &'a str,
    /// What the work is (JSON): a job's action and way back, an import's judged rows.
    pub body: String,
    pub total: i64,
}

pub fn insert(conn: &mut DbConn, w: NewWork<'_>) -> StoreResult<()> {
    let t = now();
    diesel::insert_into(console_work::table)
        .values((
            console_work::id.eq(w.id),
            console_work::org_id.eq(w.org_id.as_str()),
            console_work::owner.eq(w.owner),
            console_work::kind.eq(w.kind),
            console_work::state.eq(w.state),
            console_work::title.eq(w.title),
            console_work::body.eq(w.body),
            console_work::total.eq(w.total),
            console_work::done.eq(0i64),
            console_work::skipped.eq("[]"),
            console_work::skipped_count.eq(0i64),
            console_work::created_at.eq(t),
            console_work::updated_at.eq(t),
        ))
        .execute(conn.db())?;
    Ok(())
}

/// A row as read.
#[derive(Debug, Clone, Queryable)]
pub struct Work {
    pub id: String,
    pub state: String,
    pub title: String,
    pub body: String,
    pub total: i64,
    pub done: i64,
    /// The first reasons for users left alone (a JSON array of strings).
    pub skipped: String,
    pub skipped_count: i64,
    /// Why a job stopped early.
    pub message: Option<String>,
    pub updated_at: chrono::NaiveDateTime,
}

/// Row `id` of kind `kind`, if `owner` of `org` made it and it has not expired: one
/// statement.
pub fn get(
    conn: &mut DbConn,
    org: &OrgId,
    owner: &str,
    kind: &str,
    id: &str,
) -> StoreResult<Option<Work>> {
    Ok(console_work::table
        .filter(console_work::id.eq(id))
        .filter(console_work::org_id.eq(org.as_str()))
        .filter(console_work::owner.eq(owner))
        .filter(console_work::kind.eq(kind))
        .filter(console_work::updated_at.ge(cutoff()))
        .select((
            console_work::id,
            console_work::state,
            console_work::title,
            console_work::body,
            console_work::total,
            console_work::done,
            console_work::skipped,
            console_work::skipped_count,
            console_work::message,
            console_work::updated_at,
        ))
        .first(conn.db())
        .optional()?)
}

/// A job's progress, as its runner writes it after each batch.
pub struct Progress<'a> {
    pub state: &'a str,
    pub total: i64,
    pub done: i64,
    /// The first reasons for users left alone (a JSON array of strings), and how many.
    pub skipped: &'a str,
    pub skipped_count: i64,
    pub message: Option<&'a str>,
}

/// Write row `id`'s progress (its runner's, the one writer of a job): one statement.
pub fn progress(conn: &mut DbConn, id: &str, p: Progress<'_>) -> StoreResult<()> {
    diesel::update(console_work::table.filter(console_work::id.eq(id)))
        .set((
            console_work::state.eq(p.state),
            console_work::total.eq(p.total),
            console_work::done.eq(p.done),
            console_work::skipped.eq(p.skipped),
            console_work::skipped_count.eq(p.skipped_count),
            console_work::message.eq(p.message),
            console_work::updated_at.eq(now()),
        ))
        .execute(conn.db())?;
    Ok(())
}

/// Move row `id` (of `owner` of `org`, not expired) from state `from` to `to`, noting `done`:
/// whether this call moved it. Of two callers, however close (two instances, two tabs),
/// one moves it; in a transaction, the row stays claimed by this one until it ends (the
/// other waits on the row's lock, then finds the state moved on).
pub fn claim(
    conn: &mut DbConn,
    org: &OrgId,
    owner: &str,
    id: &str,
    (from, to): (&str, &str),
    done: i64,
) -> StoreResult<bool> {
    let n = diesel::update(
        console_work::table
            .filter(console_work::id.eq(id))
            .filter(console_work::org_id.eq(org.as_str()))
            .filter(console_work::owner.eq(owner))
            .filter(console_work::state.eq(from))
            .filter(console_work::updated_at.ge(cutoff())),
    )
    .set((
        console_work::state.eq(to),
        console_work::done.eq(done),
        console_work::updated_at.eq(now()),
    ))
    .execute(conn.db())?;
    Ok(n == 1)
}

/// Delete the rows last written before `before`: how many.
pub fn prune(conn: &mut DbConn, before: chrono::NaiveDateTime) -> StoreResult<usize> {
    Ok(
        diesel::delete(console_work::table.filter(console_work::updated_at.lt(before)))
            .execute(conn.db())?,
    )
}

/// [`prune`] of what has passed [`KEEP`].
pub fn prune_expired(conn: &mut DbConn) -> StoreResult<usize> {
    prune(conn, cutoff())
}
