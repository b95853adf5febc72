//! Logto's webhooks (`/api/hooks`; docs/events.md): create, list, get, update, delete a
//! hook, send test payloads, read its recent delivery logs, rotate its signing key. Events
//! come from every dialect's changes (the one event log); the deliverer POSTs Logto's body
//! signed with `logto-signature-sha-256`. Unlike Logto, a hook's signing key is shown only
//! when it is made (create, and `PATCH /api/hooks/:id/signing-key`), never when read.

use std::collections::BTreeMap;

use poem::http::StatusCode;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use serde_json::{json, Value};

use super::body::LogtoJson;
use super::error::LogtoError;
use super::query::{self, Page};
use super::{bearer, respond, LogtoResult, NoContent, Tag};
use crate::auth::schemes::BearerAuth;
use crate::directory::hooks::{self as ev, Hook};
use crate::directory::StoreError;
use crate::domain::Scope;
use crate::events::outbound;

/// Logto's bound on a hook's `retries`.
pub const MAX_RETRIES: i64 = 10;
pub const MAX_HEADERS: usize = 20;
pub const MAX_NAME: usize = 256;
/// Recent logs reach back this far (Logto: one day).
pub const RECENT_LOGS_MS: i64 = 24 * 3600 * 1000;

/// `config`: where and how a hook is called.
#[derive(Object, Debug, Clone, Default)]
#[oai(rename = "LogtoHookConfig", rename_all = "camelCase")]
pub struct HookConfigBody {
    /// An absolute http(s) URL.
    pub url: String,
    /// Extra request headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// Retries after a failed attempt (0-10); without it, retried until the server's
    /// give-up age.
    pub retries: Option<i64>,
}

/// `POST /api/hooks`.
#[derive(Object, Debug, Clone, Default)]
#[oai(rename = "LogtoNewHook", rename_all = "camelCase")]
pub struct NewHookBody {
    pub name: Option<String>,
    /// Deprecated in Logto: one event.
    pub event: Option<String>,
    pub events: Option<Vec<String>>,
    pub config: HookConfigBody,
    pub enabled: Option<bool>,
}

/// `PATCH /api/hooks/:id`: the fields given replace the hook's.
#[derive(Object, Debug, Clone, Default)]
#[oai(rename = "LogtoHookPatch", rename_all = "camelCase")]
pub struct HookPatchBody {
    pub name: Option<String>,
    pub event: Option<String>,
    pub events: Option<Vec<String>>,
    pub config: Option<HookConfigBody>,
    pub enabled: Option<bool>,
}

/// `POST /api/hooks/:id/test`.
#[derive(Object, Debug, Clone, Default)]
#[oai(rename = "LogtoHookTest", rename_all = "camelCase")]
pub struct HookTestBody {
    pub events: Vec<String>,
    pub config: HookConfigBody,
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoHookStats", rename_all = "camelCase")]
pub struct ExecutionStats {
    pub request_count: i64,
    pub success_count: i64,
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoHookConfigOut", rename_all = "camelCase")]
pub struct HookConfigOut {
    pub url: String,
    pub headers: BTreeMap<String, String>,
    #[oai(skip_serializing_if_is_none)]
    pub retries: Option<i64>,
}

/// A hook as Logto renders it (its signing key only where it was just made).
#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoHook", rename_all = "camelCase")]
pub struct HookOut {
    pub tenant_id: String,
    pub id: String,
    pub name: String,
    pub event: Option<String>,
    pub events: Vec<String>,
    pub config: HookConfigOut,
    /// Shown once: in the responses that make it.
    #[oai(skip_serializing_if_is_none)]
    pub signing_key: Option<String>,
    pub enabled: bool,
    /// Epoch milliseconds.
    pub created_at: i64,
    #[oai(skip_serializing_if_is_none)]
    pub execution_stats: Option<ExecutionStats>,
}

fn out(h: Hook, show_key: bool, stats: Option<(i64, i64)>) -> HookOut {
    HookOut {
        tenant_id: h.org_id,
        id: h.id,
        name: h.name,
        event: None,
        events: h.events,
        config: HookConfigOut {
            url: h.url,
            headers: h
                .headers
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
                .collect(),
            retries: h.retries,
        },
        signing_key: show_key.then_some(h.signing_key),
        enabled: h.enabled,
        created_at: h.created_at,
        execution_stats: stats.map(|(r, s)| ExecutionStats {
            request_count: r,
            success_count: s,
        }),
    }
}

/// A hook's log entry, as Logto's logs.
#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoHookLog", rename_all = "camelCase")]
pub struct HookLogOut {
    pub id: String,
    pub key: String,
    pub payload: BTreeMap<String, Value>,
    pub created_at: i64,
}

#[derive(ApiResponse)]
pub enum HookResponse {
    /// The hook.
    #[oai(status = 200)]
    Ok(Json<HookOut>),
}

#[derive(ApiResponse)]
pub enum HookCreated {
    /// The hook, with its signing key (shown this once).
    #[oai(status = 201)]
    Created(Json<HookOut>),
}

#[derive(ApiResponse)]
pub enum HooksResponse {
    /// The organization's hooks, oldest first.
    #[oai(status = 200)]
    Ok(
        Json<Vec<HookOut>>,
        #[oai(header = "Total-Number")] String,
        #[oai(header = "Link")] String,
    ),
}

#[derive(ApiResponse)]
pub enum HookLogsResponse {
    /// Delivery attempts of the last day, newest first.
    #[oai(status = 200)]
    Ok(
        Json<Vec<HookLogOut>>,
        #[oai(header = "Total-Number")] String,
        #[oai(header = "Link")] String,
    ),
}

fn check_events(events: &[String], path: &str) -> LogtoResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if !crate::changes::is_known(e) {
            return Err(LogtoError::body(
                path,
                format!("(invalid_enum_value) Invalid enum value. Received '{e}'"),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

fn missing_events() -> LogtoError {
    LogtoError::new(
        StatusCode::BAD_REQUEST,
        "hook.missing_events",
        "You need to provide at least one event.",
    )
}

/// The events of a create or update: `events` (non-empty), else the deprecated `event`.
fn events_of(
    event: &Option<String>,
    events: &Option<Vec<String>>,
) -> LogtoResult<Option<Vec<String>>> {
    match (events, event) {
        (Some(list), _) if list.is_empty() => Err(LogtoError::body(
            "events",
            "(too_small) Array must contain at least 1 element(s)",
        )),
        (Some(list), _) => check_events(list, "events").map(Some),
        (None, Some(e)) => check_events(std::slice::from_ref(e), "event").map(Some),
        (None, None) => Ok(None),
    }
}

fn check_name(name: &str) -> LogtoResult<()> {
    if name.chars().count() > MAX_NAME {
        return Err(LogtoError::body(
            "name",
            format!("(too_big) String must contain at most {MAX_NAME} character(s)"),
        ));
    }
    Ok(())
}

/// The checked config: URL (outbound rules), headers (valid names and values), retries.
fn check_config(
    c: &HookConfigBody,
    allow_private: bool,
) -> LogtoResult<(String, serde_json::Map<String, Value>, Option<i64>)> {
    let url = outbound::check_url(c.url.trim(), allow_private)
        .map_err(|e| LogtoError::body("config.url", format!("(invalid_string) {e}")))?;
    let mut headers = serde_json::Map::new();
    let given = c.headers.clone().unwrap_or_default();
    if given.len() > MAX_HEADERS {
        return Err(LogtoError::body(
            "config.headers",
            format!("(too_big) at most {MAX_HEADERS} headers"),
        ));
    }
    for (k, v) in given {
        let name_ok = poem::http::HeaderName::from_bytes(k.as_bytes()).is_ok();
        let value_ok = poem::http::HeaderValue::from_str(&v).is_ok() && v.len() <= 4096;
        if !name_ok || !value_ok {
            return Err(LogtoError::body(
                &format!("config.headers.{k}"),
                "(invalid_string) not a valid HTTP header",
            ));
        }
        headers.insert(k, Value::String(v));
    }
    if let Some(r) = c.retries {
        if !(0..=MAX_RETRIES).contains(&r) {
            return Err(LogtoError::body(
                "config.retries",
                format!("(too_big) Number must be from 0 to {MAX_RETRIES}"),
            ));
        }
    }
    Ok((url.to_string(), headers, c.retries))
}

fn not_found(id: &str) -> LogtoError {
    LogtoError::not_found("hooks", id)
}

fn missing(id: &str) -> impl Fn(StoreError) -> LogtoError + '_ {
    move |e| match e {
        StoreError::NotFound => not_found(id),
        e => e.into(),
    }
}

/// Logto's test payload for `event` (`generateHookTestPayload`).
fn test_payload(hook_id: &str, event: &str) -> Value {
    let now = chrono::Utc::now();
    let base = json!({
        "hookId": hook_id,
        "event": event,
        "createdAt": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "userAgent": "fake-user-agent",
    });
    let mut body = base.as_object().cloned().unwrap_or_default();
    let interaction = matches!(
        event,
        "PostRegister" | "PostSignIn" | "PostResetPassword" | "PostSignInAdaptiveMfaTriggered"
    );
    let extra = if interaction {
        let ms = now.timestamp_millis();
        json!({
            "sessionId": "fake-session-id",
            "userIp": "fake-user-ip",
            "userId": "fake-id",
            "user": {"id": "fake-id", "username": "fake-user",
                     "primaryEmail": "fake-user@fake-service.com", "primaryPhone": "1234567890",
                     "name": "Fake User", "avatar": "https://fake-service.com/avatars/fake-user.png",
                     "customData": {"theme": "light"},
                     "identities": {"google": {"userId": "fake-google-user-id"}},
                     "profile": {}, "applicationId": "fake-application-id",
                     "cimdClientId": null, "isSuspended": false,
                     "lastSignInAt": ms, "createdAt": ms, "updatedAt": ms},
            "application": {"id": "fake-spa-application-id", "type": "SPA",
                            "name": "Fake Application",
                            "description": "Fake application data for testing"},
        })
    } else {
        json!({
            "path": "/fake-path/:id",
            "method": "POST",
            "status": 200,
            "params": {"id": "fake-id"},
            "data": {"result": "success"},
        })
    };
    if let Value::Object(o) = extra {
        body.extend(o);
    }
    Value::Object(body)
}

/// A 422 with Logto's `data` (`hook.endpoint_responded_with_error`).
fn test_failed(code: &str, message: &str, data: Option<Value>) -> poem::Error {
    let mut body = json!({"code": code, "message": message});
    if let Some(d) = data {
        body["data"] = d;
    }
    poem::Error::from_response(
        poem::Response::builder()
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .content_type("application/json")
            .body(body.to_string()),
    )
}

pub struct LogtoHooksApi;

crate::request::routes! {
    #[OpenApi(prefix_path = "/api", tag = "Tag::Logto")]
    impl LogtoHooksApi(auth: BearerAuth, state) {
        /// The organization's hooks, oldest first; `page` and `page_size` (optional),
        /// `includeExecutionStats=true` for the last day's request and success counts.
        #[oai(path = "/hooks", method = "get", operation_id = "ListHooks")]
        async fn list(
            req: &Request,
            #[oai(name = "includeExecutionStats")] stats: Query<Option<String>>,
            page: Query<Option<String>>,
            page_size: Query<Option<String>>,
        ) -> poem::Result<HooksResponse> {
            let _ = (page, page_size);
            let with_stats = matches!(stats.0.as_deref(), Some("true" | "1" | "yes"));
            let query::Listing { pairs, base } = query::Listing::of(req, &state.config);
            let paged = ["page", "page_size"]
                .iter()
                .any(|k| query::value(&pairs, k).is_some());
            respond(
                state
                    .trip(&bearer(auth), Scope::OrgsAdmin)
                    .run(move |conn, p| {
                        let page = Page::parse(&pairs)?;
                        let (offset, limit) = if paged {
                            (page.offset(), page.size)
                        } else {
                            (0, 10_000)
                        };
                        let (hooks, total) = ev::list(conn, &p.org_id, offset, limit)?;
                        let since = ev::now_ms() - RECENT_LOGS_MS;
                        let mut list = Vec::with_capacity(hooks.len());
                        for h in hooks {
                            let stats = if with_stats {
                                Some(ev::stats(conn, &h.id, since)?)
                            } else {
                                None
                            };
                            list.push(out(h, false, stats));
                        }
                        let link = if paged {
                            page.link(&base, &pairs, total)
                        } else {
                            String::new()
                        };
                        Ok(HooksResponse::Ok(Json(list), total.to_string(), link))
                    }),
            )
            .await
        }

        /// Create a hook: `events` (or the deprecated `event`), `config.url` (http or https;
        /// private addresses refused unless the server allows them), `config.headers`,
        /// `config.retries`, `name`, `enabled` (default true). The response carries the
        /// signing key, shown this once.
        #[oai(path = "/hooks", method = "post", operation_id = "CreateHook")]
        async fn create(body: LogtoJson<NewHookBody>) -> poem::Result<HookCreated> {
            let body = body.into_result();
            let allow = state.config.webhooks.allow_private;
            respond(
                state
                    .trip(&bearer(auth), Scope::OrgsAdmin)
                    .judged(body, move |conn, p, b| {
                        let name = b.name.clone().unwrap_or_default();
                        check_name(&name)?;
                        let events = events_of(&b.event, &b.events)?.ok_or_else(missing_events)?;
                        let (url, headers, retries) = check_config(&b.config, allow)?;
                        let t = ev::now_ms();
                        let hook = Hook {
                            id: crate::auth::generate_id(""),
                            org_id: p.org_id.to_string(),
                            name,
                            events,
                            url,
                            headers,
                            retries,
                            signing_key: crate::auth::generate_secret(""),
                            enabled: b.enabled.unwrap_or(true),
                            created_at: t,
                            updated_at: t,
                        };
                        ev::insert(conn, &hook)?;
                        Ok(HookCreated::Created(Json(out(hook, true, None))))
                    }),
            )
            .await
        }

        /// One hook (without its signing key); `includeExecutionStats=true` as for the list.
        #[oai(path = "/hooks/:id", method = "get", operation_id = "GetHook")]
        async fn get(
            id: Path<String>,
            #[oai(name = "includeExecutionStats")] stats: Query<Option<String>>,
        ) -> poem::Result<HookResponse> {
            let id = id.0;
            let with_stats = matches!(stats.0.as_deref(), Some("true" | "1" | "yes"));
            respond(
                state
                    .trip(&bearer(auth), Scope::OrgsAdmin)
                    .run(move |conn, p| {
                        let h = ev::get(conn, &p.org_id, &id).map_err(missing(&id))?;
                        let stats = if with_stats {
                            Some(ev::stats(conn, &h.id, ev::now_ms() - RECENT_LOGS_MS)?)
                        } else {
                            None
                        };
                        Ok(HookResponse::Ok(Json(out(h, false, stats))))
                    }),
            )
            .await
        }

        /// Change a hook: the fields given replace its own (`config` as a whole).
        #[oai(path = "/hooks/:id", method = "patch", operation_id = "UpdateHook")]
        async fn update(
            id: Path<String>,
            body: LogtoJson<HookPatchBody>,
        ) -> poem::Result<HookResponse> {
            let (id, body) = (id.0, body.into_result());
            let allow = state.config.webhooks.allow_private;
            respond(
                state
                    .trip(&bearer(auth), Scope::OrgsAdmin)
                    .judged(body, move |conn, p, b| {
                        let mut h = ev::get(conn, &p.org_id, &id).map_err(missing(&id))?;
                        if let Some(name) = &b.name {
                            check_name(name)?;
                            h.name = name.clone();
                        }
                        if let Some(events) = events_of(&b.event, &b.events)? {
                            h.events = events;
                        }
                        if let Some(c) = &b.config {
                            let (url, headers, retries) = check_config(c, allow)?;
                            h.url = url;
                            h.headers = headers;
                            h.retries = retries;
                        }
                        if let Some(e) = b.enabled {
                            h.enabled = e;
                        }
                        h.updated_at = ev::now_ms();
                        ev::update(conn, &h).map_err(missing(&id))?;
                        Ok(HookResponse::Ok(Json(out(h, false, None))))
                    }),
            )
            .await
        }

        /// Delete a hook, with its pending deliveries and logs.
        #[oai(path = "/hooks/:id", method = "delete", operation_id = "DeleteHook")]
        async fn delete(id: Path<String>) -> poem::Result<NoContent> {
            let id = id.0;
            respond(
                state
                    .trip(&bearer(auth), Scope::OrgsAdmin)
                    .run(move |conn, p| {
                        ev::delete(conn, &p.org_id, &id).map_err(missing(&id))?;
                        Ok(NoContent::NoContent)
                    }),
            )
            .await
        }

        /// Give the hook a new signing key; the response carries it, shown this once.
        #[oai(
            path = "/hooks/:id/signing-key",
            method = "patch",
            operation_id = "UpdateHookSigningKey"
        )]
        async fn signing_key(id: Path<String>) -> poem::Result<HookResponse> {
            let id = id.0;
            respond(
                state
                    .trip(&bearer(auth), Scope::OrgsAdmin)
                    .run(move |conn, p| {
                        let key = crate::auth::generate_secret("");
                        ev::set_signing_key(conn, &p.org_id, &id, &key).map_err(missing(&id))?;
                        let h = ev::get(conn, &p.org_id, &id).map_err(missing(&id))?;
                        Ok(HookResponse::Ok(Json(out(h, true, None))))
                    }),
            )
            .await
        }

        /// Send Logto's test payload of each of `events` to `config.url`, signed with the
        /// hook's key, once each: 204 when every one was answered 2xx; 422
        /// `hook.endpoint_responded_with_error` (with the answer) or
        /// `hook.send_test_payload_failed`.
        #[oai(path = "/hooks/:id/test", method = "post", operation_id = "TestHook")]
        async fn test(id: Path<String>, body: LogtoJson<HookTestBody>) -> poem::Result<NoContent> {
            let (id, body) = (id.0, body.into_result());
            let cfg = state.config.webhooks.clone();
            let (hook, events, url, headers) = respond(
                state
                    .trip(&bearer(auth), Scope::OrgsAdmin)
                    .judged(body, move |conn, p, b| {
                        let h = ev::get(conn, &p.org_id, &id).map_err(missing(&id))?;
                        if b.events.is_empty() {
                            return Err(LogtoError::body(
                                "events",
                                "(too_small) Array must contain at least 1 element(s)",
                            ));
                        }
                        let events = check_events(&b.events, "events")?;
                        let (url, headers, _) = check_config(&b.config, cfg.allow_private)?;
                        Ok((h, events, url, headers))
                    }),
            )
            .await?;
            let client = outbound::client(cfg.allow_private, cfg.timeout);
            for event in events {
                let body = serde_json::to_vec(&test_payload(&hook.id, &event)).unwrap_or_default();
                match outbound::post(
                    &client,
                    cfg.allow_private,
                    &url,
                    &headers,
                    &[],
                    body,
                    &hook.signing_key,
                )
                .await
                {
                    outbound::Sent::Answered { status, .. } if (200..300).contains(&status) => {}
                    outbound::Sent::Answered { status, body, .. } => {
                        return Err(test_failed(
                            "hook.endpoint_responded_with_error",
                            "The endpoint responded with an error.",
                            Some(json!({"responseStatus": status, "responseBody": body})),
                        ))
                    }
                    outbound::Sent::NoAnswer { error, .. } | outbound::Sent::Refused(error) => {
                        return Err(test_failed("hook.send_test_payload_failed", &error, None))
                    }
                }
            }
            Ok(NoContent::NoContent)
        }

        /// The hook's delivery attempts of the last day, newest first (`TriggerHook.<event>`
        /// entries: request body, response, result, error, attempt); `logKey`, `page`,
        /// `page_size`.
        #[oai(
            path = "/hooks/:id/recent-logs",
            method = "get",
            operation_id = "ListHookRecentLogs"
        )]
        #[allow(clippy::too_many_arguments)]
        async fn recent_logs(
            req: &Request,
            id: Path<String>,
            #[oai(name = "logKey")] log_key: Query<Option<String>>,
            page: Query<Option<String>>,
            page_size: Query<Option<String>>,
        ) -> poem::Result<HookLogsResponse> {
            let _ = (page, page_size);
            let (id, key) = (id.0, log_key.0);
            let query::Listing { pairs, base } = query::Listing::of(req, &state.config);
            respond(
                state
                    .trip(&bearer(auth), Scope::OrgsAdmin)
                    .run(move |conn, p| {
                        let page = Page::parse(&pairs)?;
                        ev::get(conn, &p.org_id, &id).map_err(missing(&id))?;
                        let since = ev::now_ms() - RECENT_LOGS_MS;
                        let (logs, total) =
                            ev::logs(conn, &id, since, key.as_deref(), page.offset(), page.size)?;
                        let list = logs
                            .into_iter()
                            .map(|l| {
                                let mut payload: BTreeMap<String, Value> = match l.payload {
                                    Value::Object(o) => o.into_iter().collect(),
                                    _ => BTreeMap::new(),
                                };
                                payload.insert("key".into(), json!(l.key));
                                payload.insert("result".into(), json!(l.result));
                                HookLogOut {
                                    id: l.id.to_string(),
                                    key: l.key,
                                    payload,
                                    created_at: l.created_at,
                                }
                            })
                            .collect();
                        let link = page.link(&base, &pairs, total);
                        Ok(HookLogsResponse::Ok(Json(list), total.to_string(), link))
                    }),
            )
            .await
        }
    }
}
