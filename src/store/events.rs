//! The change-event log and webhooks' rows (docs/events.md).
//!
//! A change writes its event with `seq` NULL in its own transaction (`record`), beside its
//! audit entry: writers never wait on each other for it. `sequence` then numbers committed
//! events per organization, one sequencer at a time (an advisory lock on PostgreSQL; the
//! write lock on SQLite), in insertion order among what it sees committed: a row that
//! commits late is numbered late, so a reader of `seq > N` never skips it, and two changes of
//! one resource (queued on its row lock) keep their order. In the same transaction it makes
//! one delivery row for each enabled hook of the organization subscribed to the event.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::schema::{event_counters, events, hook_deliveries, hook_logs, hooks};
use super::{DbConn, MultiConn, StoreError, StoreResult};
use crate::changes::Recorded;
use crate::domain::OrgId;

/// An event a trip wrote (`Store::run_trip`): the sequencer has work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// The event's row (`events.id`).
    pub id: uuid::Uuid,
    /// Its type (`User.Created`, …).
    pub event: &'static str,
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An event to write.
pub struct NewEvent<'a> {
    pub org_id: &'a OrgId,
    pub change: crate::changes::Change,
    pub action: &'a str,
    pub actor: &'a str,
    pub dialect: &'a str,
}

/// Write events (not yet numbered) in multi-row INSERTs, inside the change's transaction.
pub fn record(conn: &mut DbConn, all: &[NewEvent<'_>]) -> StoreResult<()> {
    if all.is_empty() {
        return Ok(());
    }
    let t = now_ms();
    let mark = conn.tx.written_len();
    for chunk in all.chunks(500) {
        let mut written = conn.tx.written.as_mut();
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                let id = uuid::Uuid::new_v4();
                if let Some(w) = written.as_mut() {
                    w.push(Written {
                        id,
                        event: e.change.event,
                    });
                }
                (
                    events::id.eq(id.to_string()),
                    events::org_id.eq(e.org_id.as_str()),
                    events::type_.eq(e.change.event),
                    events::action.eq(e.action),
                    events::resource_type.eq(e.change.resource_type),
                    events::resource_id.eq(e.change.resource_id.as_str()),
                    events::actor.eq(e.actor),
                    events::dialect.eq(e.dialect),
                    events::data.eq(e.change.data.to_string()),
                    events::created_at.eq(t),
                )
            })
            .collect();
        // One event (most writes) as a single-row INSERT, whose prepared statement diesel
        // caches; a multi-row INSERT's text depends on its row count and is never cached.
        let inserted = match <[_; 1]>::try_from(rows) {
            Ok([row]) => super::on_backend!(&mut *conn, c => diesel::insert_into(events::table)
                .values(row)
                .execute(c)),
            Err(rows) => super::on_backend!(&mut *conn, c => diesel::insert_into(events::table)
                .values(rows)
                .execute(c)),
        };
        if let Err(e) = inserted {
            conn.tx.unwrite(mark);
            return Err(e.into());
        }
    }
    Ok(())
}

const SEQUENCER_LOCK_KEY: i64 = 0x6d75_7374_6573; // "mustes"
/// Events numbered per sequencer transaction.
pub const SEQUENCE_BATCH: i64 = 1000;

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    sequenced: i64,
    #[diesel(sql_type = BigInt)]
    deliveries: i64,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// What one sequencer round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// Events numbered.
    pub numbered: usize,
    /// Deliveries made for them (the deliverers have work).
    pub deliveries: usize,
    /// Another instance's sequencer held the lock (PostgreSQL): nothing was looked at.
    pub locked_out: bool,
}

/// The channels of PostgreSQL's `NOTIFY` that wake the event tasks (`events::listen`):
/// events committed (sent by the `events_notify` trigger), and events numbered (sent by
/// the sequencer; the payload `deliveries` when it made deliveries).
pub const EVENTS_CHANNEL: &str = "muster_events";
pub const SEQUENCED_CHANNEL: &str = "muster_sequenced";
pub const DELIVERIES_PAYLOAD: &str = "deliveries";

/// [`sequence_round`], counting only the events numbered.
pub fn sequence(conn: &mut DbConn) -> StoreResult<usize> {
    Ok(sequence_round(conn)?.numbered)
}

/// Number the committed events that have no `seq` yet (up to `SEQUENCE_BATCH`), and make
/// their deliveries. On PostgreSQL, a round that numbered something notifies every
/// instance (`SEQUENCED_CHANNEL`) in its transaction, so their long polls and deliverers
/// wake when it commits.
pub fn sequence_round(conn: &mut DbConn) -> StoreResult<Round> {
    let t = now_ms();
    super::write_tx(conn, |conn| match conn.db() {
        MultiConn::Pg(c) => {
            let l: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
                .bind::<BigInt, _>(SEQUENCER_LOCK_KEY)
                .get_result(c)?;
            if !l.locked {
                return Ok(Round {
                    locked_out: true,
                    ..Round::default()
                });
            }
            let n: Counted = diesel::sql_query(
                "WITH p AS (
                    SELECT pos, org_id, row_number() OVER (PARTITION BY org_id ORDER BY pos) AS rn
                    FROM events WHERE seq IS NULL ORDER BY pos LIMIT $1),
                 n AS (SELECT org_id, count(*) AS c FROM p GROUP BY org_id),
                 c AS (INSERT INTO event_counters (org_id, seq) SELECT org_id, c FROM n
                       ON CONFLICT (org_id) DO UPDATE SET seq = event_counters.seq + excluded.seq
                       RETURNING org_id, seq),
                 u AS (UPDATE events e SET seq = c.seq - n.c + p.rn
                       FROM p JOIN n ON n.org_id = p.org_id JOIN c ON c.org_id = p.org_id
                       WHERE e.pos = p.pos
                       RETURNING e.pos, e.org_id, e.seq, e.type, e.resource_type, e.resource_id),
                 d AS (INSERT INTO hook_deliveries
                         (hook_id, org_id, event_pos, seq, resource, state, attempts, next_at,
                          lease_until, created_at)
                       SELECT h.id, u.org_id, u.pos, u.seq, u.resource_type || ':' || u.resource_id,
                              'pending', 0, $2, 0, $2
                       FROM u JOIN hooks h ON h.org_id = u.org_id AND h.enabled
                            AND position('\"' || u.type || '\"' in h.events) > 0
                       RETURNING 1)
                 SELECT (SELECT count(*) FROM u) AS sequenced, (SELECT count(*) FROM d) AS deliveries",
            )
            .bind::<BigInt, _>(SEQUENCE_BATCH)
            .bind::<BigInt, _>(t)
            .get_result(c)?;
            if n.sequenced > 0 {
                let payload = if n.deliveries > 0 {
                    DELIVERIES_PAYLOAD
                } else {
                    ""
                };
                diesel::sql_query("SELECT pg_notify($1, $2)")
                    .bind::<Text, _>(SEQUENCED_CHANNEL)
                    .bind::<Text, _>(payload)
                    .execute(c)?;
            }
            Ok(Round {
                numbered: n.sequenced as usize,
                deliveries: n.deliveries as usize,
                locked_out: false,
            })
        }
        MultiConn::Sqlite(c) => {
            let pending: Vec<(i64, String)> = events::table
                .filter(events::seq.is_null())
                .order(events::pos)
                .select((events::pos, events::org_id))
                .limit(SEQUENCE_BATCH)
                .load(c)?;
            if pending.is_empty() {
                return Ok(Round::default());
            }
            let mut next: std::collections::HashMap<String, i64> = Default::default();
            for (pos, org) in &pending {
                let seq = match next.get(org) {
                    Some(s) => *s,
                    None => event_counters::table
                        .find(org)
                        .select(event_counters::seq)
                        .first::<i64>(c)
                        .optional()?
                        .unwrap_or(0),
                } + 1;
                next.insert(org.clone(), seq);
                diesel::update(events::table.find(pos))
                    .set(events::seq.eq(seq))
                    .execute(c)?;
            }
            for (org, seq) in &next {
                diesel::sql_query(
                    "INSERT INTO event_counters (org_id, seq) VALUES (?, ?)
                     ON CONFLICT (org_id) DO UPDATE SET seq = excluded.seq",
                )
                .bind::<Text, _>(org)
                .bind::<BigInt, _>(seq)
                .execute(c)?;
            }
            let (first, last) = (pending[0].0, pending[pending.len() - 1].0);
            let deliveries = diesel::sql_query(
                "INSERT INTO hook_deliveries
                   (hook_id, org_id, event_pos, seq, resource, state, attempts, next_at,
                    lease_until, created_at)
                 SELECT h.id, e.org_id, e.pos, e.seq, e.resource_type || ':' || e.resource_id,
                        'pending', 0, ?, 0, ?
                 FROM events e JOIN hooks h ON h.org_id = e.org_id AND h.enabled
                      AND instr(h.events, '\"' || e.type || '\"') > 0
                 WHERE e.pos BETWEEN ? AND ? AND e.seq IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM hook_deliveries x
                                   WHERE x.event_pos = e.pos AND x.hook_id = h.id)",
            )
            .bind::<BigInt, _>(t)
            .bind::<BigInt, _>(t)
            .bind::<BigInt, _>(first)
            .bind::<BigInt, _>(last)
            .execute(c)?;
            Ok(Round {
                numbered: pending.len(),
                deliveries,
                locked_out: false,
            })
        }
    })
}

/// An event's columns as read (all but its position).
#[derive(Queryable, Selectable)]
#[diesel(table_name = events)]
struct EventRow {
    id: String,
    org_id: String,
    seq: Option<i64>,
    type_: String,
    action: String,
    resource_type: String,
    resource_id: String,
    actor: String,
    dialect: String,
    data: String,
    created_at: i64,
}

fn recorded_of(r: EventRow) -> Recorded {
    Recorded {
        id: r.id,
        org_id: r.org_id,
        seq: r.seq.unwrap_or(0),
        event: r.type_,
        action: r.action,
        resource_type: r.resource_type,
        resource_id: r.resource_id,
        actor: r.actor,
        dialect: r.dialect,
        data: serde_json::from_str(&r.data).unwrap_or(serde_json::Value::Null),
        created_at: r.created_at,
    }
}

/// The organization's numbered events after `after`, in order, at most `limit`.
pub fn page(conn: &mut DbConn, org: &OrgId, after: i64, limit: i64) -> StoreResult<Vec<Recorded>> {
    let rows: Vec<EventRow> = events::table
        .filter(events::org_id.eq(org.as_str()))
        .filter(events::seq.gt(after))
        .order(events::seq)
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn.db())?;
    Ok(rows.into_iter().map(recorded_of).collect())
}

/// Where an organization's feed stands: the last number given out, and the highest number
/// pruned (events up to it are no longer kept); both 0 when none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedBounds {
    pub last: i64,
    pub pruned: i64,
}

/// The organization's [`FeedBounds`]: one statement.
pub fn bounds(conn: &mut DbConn, org: &OrgId) -> StoreResult<FeedBounds> {
    let row: Option<(i64, i64)> = event_counters::table
        .find(org.as_str())
        .select((event_counters::seq, event_counters::pruned_seq))
        .first(conn.db())
        .optional()?;
    Ok(
        row.map_or(FeedBounds::default(), |(last, pruned)| FeedBounds {
            last,
            pruned,
        }),
    )
}

/// Delete up to `batch` of the oldest numbered events created before `before` (epoch ms),
/// with their deliveries, and raise each organization's `pruned_seq` past them, in one
/// transaction. Returns how many events went: fewer than `batch` when there is no more
/// to prune. The oldest by position are the lowest numbers of each organization (the
/// sequencer numbers in position order), so what is kept of a feed is always its tail.
pub fn prune_events(conn: &mut DbConn, before: i64, batch: i64) -> StoreResult<usize> {
    super::write_tx(conn, |conn| {
        let oldest: Vec<(i64, String, Option<i64>, i64)> = events::table
            .filter(events::seq.is_not_null())
            .order(events::pos)
            .limit(batch)
            .select((events::pos, events::org_id, events::seq, events::created_at))
            .load(conn.db())?;
        // Stop at the first event still kept: what goes is a prefix.
        let gone: Vec<(i64, String, i64)> = oldest
            .into_iter()
            .take_while(|(_, _, _, created)| *created < before)
            .filter_map(|(pos, org, seq, _)| seq.map(|s| (pos, org, s)))
            .collect();
        if gone.is_empty() {
            return Ok(0);
        }
        let positions: Vec<i64> = gone.iter().map(|g| g.0).collect();
        let mut pruned: std::collections::BTreeMap<&str, i64> = Default::default();
        for (_, org, seq) in &gone {
            let e = pruned.entry(org.as_str()).or_insert(0);
            *e = (*e).max(*seq);
        }
        diesel::delete(
            hook_deliveries::table.filter(hook_deliveries::event_pos.eq_any(&positions)),
        )
        .execute(conn.db())?;
        diesel::delete(events::table.filter(events::pos.eq_any(&positions))).execute(conn.db())?;
        for (org, seq) in pruned {
            diesel::update(event_counters::table.find(org))
                .filter(event_counters::pruned_seq.lt(seq))
                .set(event_counters::pruned_seq.eq(seq))
                .execute(conn.db())?;
        }
        Ok(gone.len())
    })
}

/// Whether events wait for a number (the sequencer is behind).
pub fn unsequenced(conn: &mut DbConn) -> StoreResult<bool> {
    let one: Option<i64> = events::table
        .filter(events::seq.is_null())
        .select(events::pos)
        .first(conn.db())
        .optional()?;
    Ok(one.is_some())
}

/// One event by its position (for a delivery).
pub fn event_at(conn: &mut DbConn, pos: i64) -> StoreResult<Recorded> {
    let row: EventRow = events::table
        .find(pos)
        .select(EventRow::as_select())
        .first(conn.db())?;
    Ok(recorded_of(row))
}

// ---------------------------------------------------------------------------------------
// Hooks

/// A webhook (Logto's shape). `events` lists event names; `headers` is a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub events: Vec<String>,
    pub url: String,
    pub headers: serde_json::Map<String, serde_json::Value>,
    pub retries: Option<i64>,
    pub signing_key: String,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A hook's row.
#[derive(Queryable, Selectable)]
#[diesel(table_name = hooks)]
struct HookRow {
    id: String,
    org_id: String,
    name: String,
    events: String,
    url: String,
    headers: String,
    retries: Option<i64>,
    signing_key: String,
    enabled: bool,
    created_at: i64,
    updated_at: i64,
}

fn hook_of(r: HookRow) -> Hook {
    Hook {
        id: r.id,
        org_id: r.org_id,
        name: r.name,
        events: serde_json::from_str(&r.events).unwrap_or_default(),
        url: r.url,
        headers: serde_json::from_str(&r.headers).unwrap_or_default(),
        retries: r.retries,
        signing_key: r.signing_key,
        enabled: r.enabled,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// The organization's hooks, oldest first, `limit` from `offset`; and how many there are.
pub fn hooks(
    conn: &mut DbConn,
    org: &OrgId,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<Hook>, i64)> {
    let total: i64 = hooks::table
        .filter(hooks::org_id.eq(org.as_str()))
        .count()
        .get_result(conn.db())?;
    let rows: Vec<HookRow> = hooks::table
        .filter(hooks::org_id.eq(org.as_str()))
        .order((hooks::created_at, hooks::id))
        .offset(offset)
        .limit(limit)
        .select(HookRow::as_select())
        .load(conn.db())?;
    Ok((rows.into_iter().map(hook_of).collect(), total))
}

/// One hook of the organization (`NotFound` for another's).
pub fn hook(conn: &mut DbConn, org: &OrgId, id: &str) -> StoreResult<Hook> {
    let row: HookRow = hooks::table
        .filter(hooks::org_id.eq(org.as_str()))
        .filter(hooks::id.eq(id))
        .select(HookRow::as_select())
        .first(conn.db())?;
    Ok(hook_of(row))
}

/// One hook, whatever its organization (the deliverer); `None` once deleted.
pub fn hook_by_id(conn: &mut DbConn, id: &str) -> StoreResult<Option<Hook>> {
    let row: Option<HookRow> = hooks::table
        .find(id)
        .select(HookRow::as_select())
        .first(conn.db())
        .optional()?;
    Ok(row.map(hook_of))
}

fn events_json(h: &Hook) -> String {
    serde_json::to_string(&h.events).unwrap_or_else(|_| "[]".into())
}

pub fn insert_hook(conn: &mut DbConn, h: &Hook) -> StoreResult<()> {
    diesel::insert_into(hooks::table)
        .values((
            hooks::id.eq(&h.id),
            hooks::org_id.eq(&h.org_id),
            hooks::name.eq(&h.name),
            hooks::events.eq(events_json(h)),
            hooks::url.eq(&h.url),
            hooks::headers.eq(serde_json::Value::Object(h.headers.clone()).to_string()),
            hooks::retries.eq(h.retries),
            hooks::signing_key.eq(&h.signing_key),
            hooks::enabled.eq(h.enabled),
            hooks::created_at.eq(h.created_at),
            hooks::updated_at.eq(h.updated_at),
        ))
        .execute(conn.db())?;
    Ok(())
}

/// Write a hook's fields (not its signing key).
pub fn update_hook(conn: &mut DbConn, h: &Hook) -> StoreResult<()> {
    let n = diesel::update(
        hooks::table
            .filter(hooks::org_id.eq(&h.org_id))
            .filter(hooks::id.eq(&h.id)),
    )
    .set((
        hooks::name.eq(&h.name),
        hooks::events.eq(events_json(h)),
        hooks::url.eq(&h.url),
        hooks::headers.eq(serde_json::Value::Object(h.headers.clone()).to_string()),
        hooks::retries.eq(h.retries),
        hooks::enabled.eq(h.enabled),
        hooks::updated_at.eq(h.updated_at),
    ))
    .execute(conn.db())?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub fn set_signing_key(conn: &mut DbConn, org: &OrgId, id: &str, key: &str) -> StoreResult<()> {
    let n = diesel::update(
        hooks::table
            .filter(hooks::org_id.eq(org.as_str()))
            .filter(hooks::id.eq(id)),
    )
    .set((hooks::signing_key.eq(key), hooks::updated_at.eq(now_ms())))
    .execute(conn.db())?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Delete a hook with its pending deliveries and logs.
pub fn delete_hook(conn: &mut DbConn, org: &OrgId, id: &str) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        hook(conn, org, id)?;
        diesel::delete(hook_deliveries::table.filter(hook_deliveries::hook_id.eq(id)))
            .execute(conn.db())?;
        diesel::delete(hook_logs::table.filter(hook_logs::hook_id.eq(id))).execute(conn.db())?;
        diesel::delete(hooks::table.find(id)).execute(conn.db())?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Deliveries

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// A delivery leased to this instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Leased {
    pub id: i64,
    pub hook_id: String,
    pub event_pos: i64,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub created_at: i64,
}

/// Deliveries due at `now` that head their (hook, resource) line: no earlier pending
/// delivery of the same resource to the same hook (so each resource's events arrive in
/// order), with no live lease. Ids and hooks, oldest due first.
pub fn due(conn: &mut DbConn, now: i64, limit: i64) -> StoreResult<Vec<(i64, String)>> {
    #[derive(QueryableByName)]
    struct Due {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        hook_id: String,
    }
    const SQL: &str = "SELECT d.id, d.hook_id FROM hook_deliveries d
        WHERE d.state = 'pending' AND d.next_at <= {now} AND d.lease_until <= {now}
          AND NOT EXISTS (SELECT 1 FROM hook_deliveries p
                          WHERE p.hook_id = d.hook_id AND p.resource = d.resource
                            AND p.state = 'pending' AND p.seq < d.seq)
        ORDER BY d.next_at, d.id LIMIT {limit}";
    let rows: Vec<Due> = match conn.db() {
        MultiConn::Pg(c) => diesel::sql_query(SQL.replace("{now}", "$1").replace("{limit}", "$2"))
            .bind::<BigInt, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c)?,
        MultiConn::Sqlite(c) => {
            diesel::sql_query(SQL.replace("{now}", "?1").replace("{limit}", "?2"))
                .bind::<BigInt, _>(now)
                .bind::<BigInt, _>(limit)
                .load(c)?
        }
    };
    Ok(rows.into_iter().map(|d| (d.id, d.hook_id)).collect())
}

/// When the next delivery that heads its (hook, resource) line may be taken: the later of
/// its `next_at` and its lease (epoch ms; `None` when nothing is pending). A deliverer
/// sleeps until then — a retry's time, or a lease of a dead instance running out — rather
/// than polling.
pub fn next_due(conn: &mut DbConn) -> StoreResult<Option<i64>> {
    #[derive(QueryableByName)]
    struct Next {
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        at: Option<i64>,
    }
    const SQL: &str =
        "SELECT min(CASE WHEN d.lease_until > d.next_at THEN d.lease_until ELSE d.next_at END)
           AS at
         FROM hook_deliveries d
         WHERE d.state = 'pending'
           AND NOT EXISTS (SELECT 1 FROM hook_deliveries p
                           WHERE p.hook_id = d.hook_id AND p.resource = d.resource
                             AND p.state = 'pending' AND p.seq < d.seq)";
    let n: Next = super::on_backend!(conn, c => diesel::sql_query(SQL).get_result(c))?;
    Ok(n.at)
}

/// Lease delivery `id` until `until`, if it is still pending and unleased at `now` (a
/// compare-and-set: of several instances racing for it, one wins). Counts the attempt.
pub fn lease(conn: &mut DbConn, id: i64, now: i64, until: i64) -> StoreResult<Option<Leased>> {
    let n = diesel::update(
        hook_deliveries::table
            .filter(hook_deliveries::id.eq(id))
            .filter(hook_deliveries::state.eq(PENDING))
            .filter(hook_deliveries::lease_until.le(now)),
    )
    .set((
        hook_deliveries::lease_until.eq(until),
        hook_deliveries::attempts.eq(hook_deliveries::attempts + 1),
    ))
    .execute(conn.db())?;
    if n == 0 {
        return Ok(None);
    }
    let (hook_id, event_pos, attempts, created_at): (String, i64, i64, i64) =
        hook_deliveries::table
            .find(id)
            .select((
                hook_deliveries::hook_id,
                hook_deliveries::event_pos,
                hook_deliveries::attempts,
                hook_deliveries::created_at,
            ))
            .first(conn.db())?;
    Ok(Some(Leased {
        id,
        hook_id,
        event_pos,
        attempts,
        created_at,
    }))
}

/// The outcome of an attempt: delivered, failed for good, or to retry at `next_at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    Delivered,
    Failed,
    Retry { next_at: i64 },
}

/// A delivery attempt's log entry (Logto's `TriggerHook.<event>` log).
pub struct NewLog<'a> {
    pub hook_id: &'a str,
    pub org_id: &'a str,
    pub key: &'a str,
    pub result: &'a str,
    pub payload: serde_json::Value,
}

/// Inside a transaction of delivery bookkeeping (leases, outcomes, logs): on PostgreSQL,
/// commit it without waiting for the WAL flush (`synchronous_commit = off`, this
/// transaction only). Safe for at-least-once: the events themselves are committed
/// synchronously by the writes that made them; a lease or an outcome lost to a PostgreSQL
/// crash (at most `wal_writer_delay`, 200 ms, of them) only makes the delivery pending
/// again, to be delivered again (a duplicate the receiver de-duplicates by event id).
/// Without it each lease and each outcome waited for its own flush, one after another:
/// the deliverer ran at the disk's flush rate.
pub fn relaxed_commit(conn: &mut DbConn) -> StoreResult<()> {
    if let MultiConn::Pg(c) = conn.db() {
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(c)?;
    }
    Ok(())
}

/// Record an attempt: its outcome on the delivery (releasing the lease) and its log entry,
/// in one transaction (committed without waiting for the flush: [`relaxed_commit`]).
pub fn finish(conn: &mut DbConn, id: i64, outcome: Outcome, log: NewLog<'_>) -> StoreResult<()> {
    let t = now_ms();
    super::write_tx(conn, |conn| {
        relaxed_commit(conn)?;
        let q = hook_deliveries::table.filter(hook_deliveries::id.eq(id));
        match outcome {
            Outcome::Delivered | Outcome::Failed => {
                let state = if outcome == Outcome::Delivered {
                    DELIVERED
                } else {
                    FAILED
                };
                diesel::update(q)
                    .set((
                        hook_deliveries::state.eq(state),
                        hook_deliveries::lease_until.eq(0),
                        hook_deliveries::finished_at.eq(Some(t)),
                    ))
                    .execute(conn.db())?;
            }
            Outcome::Retry { next_at } => {
                diesel::update(q)
                    .set((
                        hook_deliveries::next_at.eq(next_at),
                        hook_deliveries::lease_until.eq(0),
                    ))
                    .execute(conn.db())?;
            }
        }
        // The hook may be gone (deleted meanwhile): then there is nothing to log under.
        let exists: Option<String> = hooks::table
            .find(log.hook_id)
            .select(hooks::id)
            .first(conn.db())
            .optional()?;
        if exists.is_some() {
            diesel::insert_into(hook_logs::table)
                .values((
                    hook_logs::hook_id.eq(log.hook_id),
                    hook_logs::org_id.eq(log.org_id),
                    hook_logs::key.eq(log.key),
                    hook_logs::result.eq(log.result),
                    hook_logs::payload.eq(log.payload.to_string()),
                    hook_logs::created_at.eq(t),
                ))
                .execute(conn.db())?;
        }
        Ok(())
    })
}

/// How many deliveries are in each state (for tests and `/metrics`).
pub fn delivery_counts(conn: &mut DbConn) -> StoreResult<Vec<(String, i64)>> {
    Ok(hook_deliveries::table
        .group_by(hook_deliveries::state)
        .select((hook_deliveries::state, diesel::dsl::count_star()))
        .load(conn.db())?)
}

/// A hook's log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct HookLog {
    pub id: i64,
    pub key: String,
    pub result: String,
    pub payload: serde_json::Value,
    pub created_at: i64,
}

/// A hook's log entries since `since` (epoch ms), newest first, optionally of one key,
/// `limit` from `offset`; and how many there are.
pub fn logs(
    conn: &mut DbConn,
    hook_id: &str,
    since: i64,
    key: Option<&str>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<HookLog>, i64)> {
    let filtered = || {
        let mut q = hook_logs::table
            .filter(hook_logs::hook_id.eq(hook_id.to_string()))
            .filter(hook_logs::created_at.gt(since))
            .into_boxed();
        if let Some(k) = key {
            q = q.filter(hook_logs::key.eq(k.to_string()));
        }
        q
    };
    let total: i64 = filtered().count().get_result(conn.db())?;
    let rows: Vec<(i64, String, String, String, i64)> = filtered()
        .order((hook_logs::created_at.desc(), hook_logs::id.desc()))
        .offset(offset)
        .limit(limit)
        .select((
            hook_logs::id,
            hook_logs::key,
            hook_logs::result,
            hook_logs::payload,
            hook_logs::created_at,
        ))
        .load(conn.db())?;
    Ok((
        rows.into_iter()
            .map(|(id, key, result, payload, created_at)| HookLog {
                id,
                key,
                result,
                payload: serde_json::from_str(&payload).unwrap_or_default(),
                created_at,
            })
            .collect(),
        total,
    ))
}

/// Requests and successes of a hook since `since` (Logto's `executionStats`).
pub fn hook_stats(conn: &mut DbConn, hook_id: &str, since: i64) -> StoreResult<(i64, i64)> {
    let rows: Vec<(String, i64)> = hook_logs::table
        .filter(hook_logs::hook_id.eq(hook_id))
        .filter(hook_logs::created_at.gt(since))
        .group_by(hook_logs::result)
        .select((hook_logs::result, diesel::dsl::count_star()))
        .load(conn.db())?;
    let total = rows.iter().map(|r| r.1).sum();
    let ok = rows.iter().filter(|r| r.0 == "Success").map(|r| r.1).sum();
    Ok((total, ok))
}

/// Forget finished deliveries and log entries older than `before` (epoch ms): recent logs
/// show one day, and a finished delivery is needed only until then. Events themselves are
/// kept (the feed's history).
pub fn prune(conn: &mut DbConn, before: i64) -> StoreResult<usize> {
    let d = diesel::delete(
        hook_deliveries::table
            .filter(hook_deliveries::state.ne(PENDING))
            .filter(hook_deliveries::finished_at.lt(before)),
    )
    .execute(conn.db())?;
    let l = diesel::delete(hook_logs::table.filter(hook_logs::created_at.lt(before)))
        .execute(conn.db())?;
    Ok(d + l)
}
