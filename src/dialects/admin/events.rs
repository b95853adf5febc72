//! The pull feed of change events (`GET /admin/v1/events`, docs/events.md): the
//! organization's events after a sequence number, in order, paged, with a long poll; as
//! Muster's JSON or as Security Event Tokens (RFC 8417) in the shape of RFC 8936's poll
//! response.

use base64::Engine;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use serde_json::{json, Value};

use super::{admin, AdminError, AdminResult, Tag};
use crate::auth::schemes::BearerOrBasic;
use crate::changes::Recorded;
use crate::directory::events;
use crate::domain::Scope;

/// The longest a long poll waits, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;
/// How often a waiting long poll looks again without a wake-up from this instance (for
/// events another instance numbered).
pub const SLOW_POLL: std::time::Duration = std::time::Duration::from_secs(1);

pub struct AdminEventsApi;

fn number(v: Option<String>, name: &str, default: i64, min: i64, max: i64) -> AdminResult<i64> {
    match v {
        None => Ok(default),
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(AdminError::bad(format!(
                "{name} must be an integer from {min} to {max}"
            ))),
        },
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn event_json(e: &Recorded) -> Value {
    json!({
        "id": e.id,
        "sequence": e.seq,
        "type": e.event,
        "action": e.action,
        "resourceType": e.resource_type,
        "resourceId": e.resource_id,
        "actor": e.actor,
        "dialect": e.dialect,
        "createdAt": iso(e.created_at),
        "data": e.data,
    })
}

/// An unsecured JWT (`alg: none`, `typ: secevent+jwt`) of a SET's claims: the consumer
/// fetched it over an authenticated TLS connection, as RFC 8936 polling allows.
fn unsecured_jwt(claims: &Value) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = json!({"alg": "none", "typ": "secevent+jwt"});
    format!(
        "{}.{}.",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string())
    )
}

/// The answer to a feed request for a position older than what is kept: events after
/// `after` up to `bounds.pruned` are gone, so the consumer must resynchronise rather than
/// carry on with a gap.
fn pruned(after: i64, bounds: events::FeedBounds, retention: std::time::Duration) -> AdminError {
    AdminError::new(
        poem::http::StatusCode::GONE,
        "events_pruned",
        format!(
            "events up to sequence {} are no longer kept (the retention is {}), so the \
             feed cannot go on from after={after} without a gap: resynchronise (read the \
             current users and groups), then read the feed from after={} (lastSequence)",
            bounds.pruned,
            match retention.as_secs() {
                s if s % 3600 == 0 => format!("{} hours", s / 3600),
                s => format!("{s} seconds"),
            },
            bounds.last
        ),
    )
    .with(json!({
        "after": after,
        "prunedThrough": bounds.pruned,
        "lastSequence": bounds.last,
    }))
}

crate::request::routes! {
    #[OpenApi(prefix_path = "/admin/v1", tag = "Tag::Admin")]
    impl AdminEventsApi(auth: BearerOrBasic, state) {
        /// The organization's change events with a sequence number above `after` (default 0),
        /// oldest first, at most `limit` (1-1000, default 100). Gap-free and duplicate-free:
        /// page on with `after` = the response's `next`. `wait` (0-60 seconds) holds the
        /// request until an event arrives or the time is up. `format=set` answers with
        /// Security Event Tokens (RFC 8417) as RFC 8936's poll response: `sets` by `jti`.
        #[oai(path = "/events", method = "get")]
        async fn events(
            after: Query<Option<String>>,
            limit: Query<Option<String>>,
            wait: Query<Option<String>>,
            format: Query<Option<String>>,
        ) -> poem::Result<Json<Value>> {
            admin(async move {
                let after = number(after.0, "after", 0, 0, i64::MAX)?;
                let limit = number(limit.0, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
                let wait = number(wait.0, "wait", 0, 0, MAX_WAIT_SECS as i64)?;
                let set = match format.0.as_deref() {
                    None | Some("json") => false,
                    Some("set") => true,
                    Some(other) => {
                        return Err(AdminError::bad(format!(
                            "format must be json or set, not {other:?}"
                        )))
                    }
                };
                let deadline =
                    tokio::time::Instant::now() + std::time::Duration::from_secs(wait as u64);
                let mut woken = state.events.sequenced.subscribe();
                let mut stopping = state.stopping.subscribe();
                let (events, last) = loop {
                    woken.borrow_and_update();
                    let (events, bounds) = state
                        .trip(&auth, Scope::UsersRead)
                        .run(move |conn, p| {
                            let events = events::page(conn, &p.org_id, after, limit + 1)?;
                            // Read after the page: a prune between the two is seen here.
                            let bounds = events::bounds(conn, &p.org_id)?;
                            Ok::<_, AdminError>((events, bounds))
                        })
                        .await?;
                    if after < bounds.pruned {
                        return Err(pruned(after, bounds, state.config.webhooks.retention));
                    }
                    let last = bounds.last;
                    let now = tokio::time::Instant::now();
                    // The server is stopping: answer now (an empty page and the position
                    // to poll on from) rather than hold the shutdown for the whole wait.
                    if !events.is_empty() || now >= deadline || *stopping.borrow_and_update() {
                        break (events, last);
                    }
                    let nap = (deadline - now).min(SLOW_POLL);
                    tokio::select! {
                        _ = woken.changed() => {}
                        _ = stopping.changed() => {}
                        _ = tokio::time::sleep(nap) => {}
                    }
                };
                let more = events.len() as i64 > limit;
                let events = &events[..events.len().min(limit as usize)];
                let next = events.last().map_or(after, |e| e.seq);
                let issuer = state.config.url("");
                Ok(Json(if set {
                    let sets: serde_json::Map<String, Value> = events
                        .iter()
                        .map(|e| {
                            (
                                e.id.clone(),
                                json!(unsecured_jwt(&crate::changes::set_claims(&issuer, e))),
                            )
                        })
                        .collect();
                    json!({"sets": sets, "moreAvailable": more, "next": next, "lastSequence": last})
                } else {
                    json!({
                        "events": events.iter().map(event_json).collect::<Vec<_>>(),
                        "moreAvailable": more,
                        "next": next,
                        "lastSequence": last,
                    })
                }))
            })
            .await
        }
    }
}
