//! `/api/logs`: the audit trail as Logto logs.

use std::collections::BTreeMap;

use poem_openapi::payload::Json;
use serde_json::Value;

use super::error::{LogtoError, LogtoResult};
use super::model::{LogResponse, LogsResponse, LogtoLog};
use super::query::{self, Listing, Page};
use super::user;
use crate::auth::schemes::BearerOrBasic;
use crate::directory::seam::Dialect;
use crate::directory::{audit, StoreError};
use crate::domain::{id_from_hex, id_to_hex, AuditEntry, Scope};
use crate::request::AppState;

pub fn log_of(e: AuditEntry) -> LogtoLog {
    let mut payload: BTreeMap<String, Value> = match e.payload {
        Value::Object(o) => o.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    let credential = e
        .actor
        .split_once(':')
        .map_or(e.actor.as_str(), |(_, c)| c)
        .to_string();
    payload.insert("key".into(), e.key.clone().into());
    payload.insert("result".into(), e.result.clone().into());
    payload.insert("dialect".into(), e.dialect.into());
    payload.insert("credentialId".into(), credential.clone().into());
    payload.insert("applicationId".into(), credential.into());
    if let Some(u) = e.user_id {
        payload.insert("userId".into(), id_to_hex(u).into());
    }
    LogtoLog {
        tenant_id: e.org_id.as_str().to_string(),
        id: id_to_hex(e.id),
        key: e.key,
        payload,
        created_at: user::millis(e.created_at),
    }
}

/// A page of logs, newest first, as the query `pairs` select.
pub async fn list(state: &AppState, auth: &BearerOrBasic, l: Listing) -> LogtoResult<LogsResponse> {
    let Listing { pairs, base } = l;
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let page = Page::parse(&pairs)?;
            let (from, to) = query::time_window(&pairs)?;
            let mut f = audit::Filter {
                key: query::value(&pairs, "logKey").map(str::to_string),
                credential: query::value(&pairs, "applicationId").map(str::to_string),
                from,
                to,
                ..Default::default()
            };
            let mut nothing = false;
            if let Some(u) = query::value(&pairs, "userId") {
                match id_from_hex(u) {
                    Some(id) => f.user_id = Some(id),
                    None => nothing = true,
                }
            }
            let (entries, total) = if nothing {
                (vec![], 0)
            } else {
                audit::search(conn, &p.org_id, &f, page.offset(), page.size)?
            };
            let logs = entries.into_iter().map(log_of).collect();
            let link = page.link(&base, &pairs, total);
            Ok(LogsResponse::Ok(Json(logs), total.to_string(), link))
        })
        .await
}

/// One log.
pub async fn get(state: &AppState, auth: &BearerOrBasic, id: String) -> LogtoResult<LogResponse> {
    state
        .trip(auth, Scope::UsersRead)
        .run(move |conn, p| {
            let missing = || LogtoError::not_found("logs", &id);
            let lid = LogtoError::id(&id, "logs")?;
            match audit::get(conn, &p.org_id, lid) {
                Ok(e) => Ok(LogResponse::Ok(Json(log_of(e)))),
                Err(StoreError::NotFound) => Err(missing()),
                Err(e) => Err(e.into()),
            }
        })
        .await
}
