//! The change-event tasks of an instance (docs/events.md): the sequencer, which numbers
//! committed events and makes their webhook deliveries; the deliverer, which POSTs them;
//! the pruner, which deletes what is older than the retention; and, on PostgreSQL, the
//! listener that wakes them (`listen`). They run beside the HTTP server and reach the
//! database through the same pool, one short trip at a time, so a slow receiver holds no
//! connection and no request waits on a delivery. Idle, they run no statement: they are
//! woken (in-process after a commit; by `LISTEN/NOTIFY` on PostgreSQL) and otherwise only
//! look on a slow safety poll.

pub mod listen;
pub mod outbound;

use std::collections::HashMap;
use std::time::Duration;

use rand::Rng;
use serde_json::json;

use crate::request::AppState;
use crate::store::console_work;
use crate::store::events::{self as ev, Leased, NewLog, Outcome};
use crate::store::Backend;

/// Deliveries in flight per instance, and per hook (so one slow receiver cannot take every
/// slot: the other hooks keep theirs).
pub const MAX_IN_FLIGHT: usize = 64;
pub const MAX_IN_FLIGHT_PER_HOOK: usize = 16;
/// Finished deliveries and their log entries are kept this long (recent logs show a day).
pub const KEEP_LOGS: Duration = Duration::from_secs(2 * 24 * 3600);
/// Events pruned per transaction, and the pause between two such transactions, so pruning
/// a large backlog never holds a lock (SQLite's write lock) for long.
pub const PRUNE_BATCH: i64 = 500;
const PRUNE_PAUSE: Duration = Duration::from_millis(20);
/// How soon a sequencer that found another instance's holding the lock looks again (that
/// one may have started before this instance's events committed).
const LOCKED_OUT_RETRY: Duration = Duration::from_millis(50);

/// Start the event tasks: the sequencer, the pruner, (unless configured off) the
/// deliverer, and on PostgreSQL the listener. They run until the runtime ends; the handles
/// let a caller stop them.
pub fn spawn(state: AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![
        tokio::spawn(sequencer(state.clone())),
        tokio::spawn(pruner(state.clone())),
    ];
    if let Backend::Postgres { url } = state.store.backend() {
        tasks.push(tokio::spawn(listen::listen(
            url.clone(),
            state.events.clone(),
        )));
    }
    if state.config.webhooks.deliver {
        tasks.push(tokio::spawn(deliverer(state)));
    }
    tasks
}

/// An error the store logs once per episode (a full disk, the SQLite file replaced): the
/// event tasks, which retry, do not repeat it.
fn said_by_the_store(e: &crate::store::StoreError) -> bool {
    matches!(e, crate::store::StoreError::Unwritable(_))
}

/// Number committed events: at start (what a stopped instance left), whenever a request of
/// this instance wrote one or (PostgreSQL) any instance's did, and on the safety poll.
async fn sequencer(state: AppState) {
    let poll = state.config.webhooks.poll;
    loop {
        loop {
            match state.store.run_with(ev::sequence_round).await {
                Ok(r) if r.locked_out => tokio::time::sleep(LOCKED_OUT_RETRY).await,
                Ok(r) if r.numbered == 0 => break,
                Ok(r) => {
                    state.metrics.sequenced(r.numbered as u64);
                    state.events.sequenced.send_modify(|v| *v += 1);
                    if r.deliveries > 0 {
                        state.events.deliveries.notify_one();
                    }
                    if (r.numbered as i64) < ev::SEQUENCE_BATCH {
                        break;
                    }
                }
                Err(e) => {
                    if !said_by_the_store(&e) {
                        tracing::warn!(error = %e, "sequencing events failed; retrying");
                    }
                    tokio::time::sleep(poll.min(Duration::from_secs(1))).await;
                    break;
                }
            }
        }
        tokio::select! {
            _ = state.events.recorded.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Every `prune_every`: forget finished deliveries and logs older than `KEEP_LOGS`, the
/// console's expired work (`store::console_work`), and events (with their deliveries)
/// older than the retention, in batches of `PRUNE_BATCH`.
async fn pruner(state: AppState) {
    let cfg = state.config.webhooks.clone();
    loop {
        tokio::time::sleep(cfg.prune_every).await;
        let before = ev::now_ms() - KEEP_LOGS.as_millis() as i64;
        if let Err(e) = state.store.run_with(move |c| ev::prune(c, before)).await {
            if !said_by_the_store(&e) {
                tracing::warn!(error = %e, "pruning old deliveries failed");
            }
        }
        // The console's bulk jobs and import previews an hour after their last write (they
        // are in the database so any instance answers for them; this keeps it from growing).
        if let Err(e) = state.store.run_with(console_work::prune_expired).await {
            if !said_by_the_store(&e) {
                tracing::warn!(error = %e, "pruning old console jobs and imports failed");
            }
        }
        let before = ev::now_ms() - cfg.retention.as_millis() as i64;
        let mut total = 0;
        loop {
            match state
                .store
                .run_with(move |c| ev::prune_events(c, before, PRUNE_BATCH))
                .await
            {
                Ok(n) => {
                    total += n;
                    if (n as i64) < PRUNE_BATCH {
                        break;
                    }
                    tokio::time::sleep(PRUNE_PAUSE).await;
                }
                Err(e) => {
                    if !said_by_the_store(&e) {
                        tracing::warn!(error = %e, "pruning old events failed");
                    }
                    break;
                }
            }
        }
        if total > 0 {
            state.metrics.pruned(total as u64);
            tracing::info!(events = total, "pruned events older than the retention");
        }
    }
}

/// How long a lease lasts: one attempt's bound and a margin. An instance killed
/// mid-delivery leaves the delivery to another once it runs out.
fn lease_ms(state: &AppState) -> i64 {
    let w = &state.config.webhooks;
    (w.timeout.as_millis() as i64) * 2 + w.lease_margin.as_millis() as i64
}

/// Deliveries run as tasks of this one task's `JoinSet`: when the deliverer ends (the
/// process stops, or a test stops the instance), the attempts in flight end with it,
/// unrecorded, and their leases run out for another instance to take them.
async fn deliverer(state: AppState) {
    let cfg = state.config.webhooks.clone();
    let client = outbound::client(cfg.allow_private, cfg.timeout);
    let mut in_flight: HashMap<String, usize> = HashMap::new();
    let mut tasks: tokio::task::JoinSet<String> = tokio::task::JoinSet::new();
    // When the next pending delivery may be taken (epoch ms), as of the last round.
    let mut next_due: Option<i64> = None;
    loop {
        let free = MAX_IN_FLIGHT.saturating_sub(tasks.len());
        if free > 0 {
            let now = ev::now_ms();
            let until = now + lease_ms(&state);
            let busy = in_flight.clone();
            let leased = state
                .store
                // The round's leases in one transaction, committed without waiting for the
                // flush (`ev::relaxed_commit`): one commit a round, not one a delivery.
                .run_with(move |conn| {
                    crate::store::write_tx(conn, |conn| {
                        ev::relaxed_commit(conn)?;
                        let due = ev::due(conn, now, (MAX_IN_FLIGHT * 4) as i64)?;
                        let mut per_hook = busy;
                        let mut out = Vec::new();
                        for (id, hook) in due {
                            if out.len() >= free {
                                break;
                            }
                            let n = per_hook.entry(hook).or_insert(0);
                            if *n >= MAX_IN_FLIGHT_PER_HOOK {
                                continue;
                            }
                            if let Some(l) = ev::lease(conn, id, now, until)? {
                                *n += 1;
                                // What the attempt needs, read in the same trip.
                                let e = ev::event_at(conn, l.event_pos)?;
                                let h = ev::hook_by_id(conn, &l.hook_id)?;
                                out.push((l, e, h));
                            }
                        }
                        let next = ev::next_due(conn)?;
                        Ok::<_, crate::store::StoreError>((out, next))
                    })
                })
                .await;
            match leased {
                Ok((leased, next)) => {
                    next_due = next;
                    for (l, event, hook) in leased {
                        // A deleted hook's deliveries went with it.
                        let Some(hook) = hook else { continue };
                        *in_flight.entry(l.hook_id.clone()).or_insert(0) += 1;
                        let (state, client) = (state.clone(), client.clone());
                        tasks.spawn(async move {
                            let id = l.hook_id.clone();
                            deliver(&state, &client, l, event, hook).await;
                            id
                        });
                    }
                }
                Err(e) => {
                    if !said_by_the_store(&e) {
                        tracing::warn!(error = %e, "looking for due deliveries failed");
                    }
                    next_due = Some(ev::now_ms() + 1000);
                }
            }
        }
        // Sleep until the next delivery is due (a retry, a dead instance's lease running
        // out), or the safety poll when none is pending: nothing pending, no statement.
        // One due but not taken (this instance's caps, another's lease) is looked at again
        // on a short poll, and when a delivery in flight ends.
        let wait = match next_due {
            None => cfg.poll,
            Some(at) => {
                let ms = (at - ev::now_ms()).max(0) as u64;
                Duration::from_millis(ms.max(BUSY_POLL_MS)).min(cfg.poll)
            }
        };
        tokio::select! {
            _ = state.events.deliveries.notified() => {}
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(hook) = done {
                    if let Some(n) = in_flight.get_mut(&hook) {
                        *n -= 1;
                        if *n == 0 {
                            in_flight.remove(&hook);
                        }
                    }
                }
                // Reap whatever else has finished.
                while let Some(done) = tasks.try_join_next() {
                    if let Ok(hook) = done {
                        if let Some(n) = in_flight.get_mut(&hook) {
                            *n -= 1;
                            if *n == 0 {
                                in_flight.remove(&hook);
                            }
                        }
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// The shortest sleep of a deliverer with deliveries pending (so one that is due but
/// cannot be taken yet is not looked at in a busy loop).
const BUSY_POLL_MS: u64 = 500;

/// The delay before attempt `attempts + 1`: exponential from `base`, capped, with full
/// jitter over its upper half (so receivers that failed together do not retry together).
pub fn backoff(base: Duration, max: Duration, attempts: i64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempts.clamp(0, 20) as u32);
    let d = exp.min(max);
    let ms = d.as_millis() as u64;
    let jittered = ms / 2 + rand::thread_rng().gen_range(0..=ms / 2);
    Duration::from_millis(jittered.max(1))
}

/// One attempt of one leased delivery, recorded with its outcome and log entry.
async fn deliver(
    state: &AppState,
    client: &reqwest::Client,
    l: Leased,
    event: crate::changes::Recorded,
    hook: ev::Hook,
) {
    let cfg = state.config.webhooks.clone();
    let body = crate::changes::hook_body(&hook.id, &event);
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let now = ev::now_ms();
    let age = Duration::from_millis((now - event.created_at).max(0) as u64);
    let extra = [
        ("muster-event-id", event.id.clone()),
        ("muster-delivery-attempt", l.attempts.to_string()),
    ];
    let sent = if !hook.enabled {
        outbound::Sent::Refused("the hook is disabled".into())
    } else {
        outbound::post(
            client,
            cfg.allow_private,
            &hook.url,
            &hook.headers,
            &extra,
            bytes,
            &hook.signing_key,
        )
        .await
    };
    let give_up = |next: i64| -> bool {
        let too_old = next - event.created_at > cfg.give_up_after.as_millis() as i64;
        let too_many = hook.retries.is_some_and(|r| l.attempts > r);
        too_old || too_many
    };
    let (outcome, result, response, error, label) = match &sent {
        outbound::Sent::Answered { status, body, .. } if (200..300).contains(status) => (
            Outcome::Delivered,
            "Success",
            json!({"statusCode": status, "body": parse(body)}),
            None,
            "delivered",
        ),
        outbound::Sent::Answered {
            status,
            body,
            retry_after,
        } => {
            let retriable = *status >= 500 || *status == 429 || *status == 408;
            let wait = match retry_after {
                Some(s) if retriable => Duration::from_secs((*s).min(3600)),
                _ => backoff(cfg.base_backoff, cfg.max_backoff, l.attempts - 1),
            };
            let next = now + wait.as_millis() as i64;
            let response = json!({"statusCode": status, "body": parse(body)});
            let error = format!("the receiver answered {status}");
            if !retriable {
                (Outcome::Failed, "Error", response, Some(error), "failed")
            } else if give_up(next) {
                (Outcome::Failed, "Error", response, Some(error), "given_up")
            } else {
                (
                    Outcome::Retry { next_at: next },
                    "Error",
                    response,
                    Some(error),
                    "retry",
                )
            }
        }
        outbound::Sent::NoAnswer { error, timed_out } => {
            let next =
                now + backoff(cfg.base_backoff, cfg.max_backoff, l.attempts - 1).as_millis() as i64;
            let error = if *timed_out {
                format!("timed out: {error}")
            } else {
                error.clone()
            };
            if give_up(next) {
                (
                    Outcome::Failed,
                    "Error",
                    json!(null),
                    Some(error),
                    "given_up",
                )
            } else {
                (
                    Outcome::Retry { next_at: next },
                    "Error",
                    json!(null),
                    Some(error),
                    "retry",
                )
            }
        }
        outbound::Sent::Refused(why) => (
            Outcome::Failed,
            "Error",
            json!(null),
            Some(why.clone()),
            "failed",
        ),
    };
    state.metrics.webhook(label);
    let next_attempt = match outcome {
        Outcome::Retry { next_at } => json!(next_at),
        _ => json!(null),
    };
    let payload = json!({
        "hookId": hook.id,
        "eventId": event.id,
        "sequence": event.seq,
        "attempt": l.attempts,
        "outcome": label,
        "result": result,
        "hookRequest": {"body": body},
        "response": response,
        "error": error,
        "nextAttemptAt": next_attempt,
        "age": age.as_millis() as i64,
    });
    let key = format!("TriggerHook.{}", event.event);
    let (id, org) = (l.id, hook.org_id.clone());
    let hid = hook.id.clone();
    let recorded = state
        .store
        .run_with(move |conn| {
            ev::finish(
                conn,
                id,
                outcome,
                NewLog {
                    hook_id: &hid,
                    org_id: &org,
                    key: &key,
                    result,
                    payload,
                },
            )
        })
        .await;
    if let Err(e) = recorded {
        // The lease runs out and the delivery is tried again: at least once.
        tracing::warn!(error = %e, delivery = l.id, "recording a delivery failed");
    }
}

fn parse(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|_| json!(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let (b, m) = (Duration::from_secs(1), Duration::from_secs(60));
        for attempt in 0..10 {
            let d = backoff(b, m, attempt);
            let full = (b * (1 << attempt)).min(m);
            assert!(d <= full && d >= full / 2, "{attempt}: {d:?}");
        }
    }
}
