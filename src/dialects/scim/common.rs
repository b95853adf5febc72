//! What every SCIM handler shares: the response type, error mapping, auth, ids, ETags,
//! paging parameters.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::ApiResponse;
use serde_json::{json, Value};

use crate::auth::schemes::BearerOrBasic;
use crate::domain::{id_from_hex, Principal, Scope};
use crate::scim::ScimError;
use crate::store::StoreError;

pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const MAX_RESULTS: i64 = 1000;
pub const DEFAULT_COUNT: i64 = 100;

#[derive(ApiResponse)]
pub enum ScimResponse {
    /// The resource or list.
    #[oai(status = 200, content_type = "application/scim+json")]
    Ok(Json<Value>, #[oai(header = "ETag")] Option<String>),
    /// Created; `Location` is the new resource's URL.
    #[oai(status = 201, content_type = "application/scim+json")]
    Created(
        Json<Value>,
        #[oai(header = "ETag")] Option<String>,
        #[oai(header = "Location")] String,
    ),
    /// Deleted.
    #[oai(status = 204)]
    NoContent,
    /// `If-None-Match` matched the current version.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
    /// A SCIM error (RFC 7644 §3.12).
    #[oai(content_type = "application/scim+json")]
    Error(StatusCode, Json<Value>),
}

impl From<ScimError> for ScimResponse {
    fn from(e: ScimError) -> ScimResponse {
        let mut body = json!({
            "schemas": [super::error::ERROR_SCHEMA],
            "status": e.status.as_u16().to_string(),
            "detail": e.detail,
        });
        if let Some(t) = e.scim_type {
            body["scimType"] = json!(t);
        }
        ScimResponse::Error(e.status, Json(body))
    }
}

pub type Outcome = Result<ScimResponse, ScimError>;

pub fn done(o: Outcome) -> ScimResponse {
    o.unwrap_or_else(ScimResponse::from)
}

pub fn store_error(e: StoreError, what: &str) -> ScimError {
    match e {
        StoreError::NotFound => ScimError::not_found(format!("{what} not found")),
        StoreError::Conflict(m) => ScimError::uniqueness(m),
        StoreError::Invalid(m) => ScimError::invalid_value(m),
        StoreError::VersionMismatch => ScimError::precondition_failed(
            "the resource was modified: its version does not match If-Match",
        ),
        StoreError::Busy(m) => {
            tracing::warn!(error = %m, "database busy or unavailable");
            ScimError::status(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; retry",
            )
        }
        StoreError::Db(e) => {
            tracing::error!(error = %e, "database error");
            ScimError::status(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// The caller, if it holds the `scim` scope.
pub fn principal(auth: &BearerOrBasic) -> Result<Principal, ScimError> {
    let p = auth.principal().clone();
    if p.has(Scope::Scim) {
        Ok(p)
    } else {
        Err(ScimError::status(
            StatusCode::FORBIDDEN,
            "the credential lacks the scim scope",
        ))
    }
}

/// A SCIM id (16 hex digits). Anything else cannot exist: 404.
pub fn parse_id(s: &str, what: &str) -> Result<i64, ScimError> {
    id_from_hex(s).ok_or_else(|| ScimError::not_found(format!("{what} {s:?} not found")))
}

/// The version an `If-Match` asks for: `None` for no header or `*`. A tag that is not one
/// of ours can never match: 412.
pub fn if_match(header: Option<&str>) -> Result<Option<i64>, ScimError> {
    let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    if h == "*" {
        return Ok(None);
    }
    parse_etag(h).map(Some).ok_or_else(|| {
        ScimError::precondition_failed(format!("If-Match {h:?} does not match the current version"))
    })
}

/// `W/"7"` or `"7"` → 7.
pub fn parse_etag(tag: &str) -> Option<i64> {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.trim_matches('"').parse().ok()
}

/// Does an `If-None-Match` header match `version`?
pub fn none_match(header: Option<&str>, version: i64) -> bool {
    header.is_some_and(|h| {
        h.split(',')
            .any(|t| t.trim() == "*" || parse_etag(t) == Some(version))
    })
}

/// Index paging (RFC 7644 §3.4.2.4): 1-based start, `count` clamped to `[0, MAX_RESULTS]`.
pub fn paging(start_index: Option<&str>, count: Option<&str>) -> Result<(i64, i64), ScimError> {
    let num = |name: &str, v: Option<&str>| -> Result<Option<i64>, ScimError> {
        match v.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                ScimError::invalid_value(format!("{name} must be an integer, got {s:?}"))
            }),
        }
    };
    let start = num("startIndex", start_index)?.unwrap_or(1).max(1);
    let count = num("count", count)?
        .unwrap_or(DEFAULT_COUNT)
        .clamp(0, MAX_RESULTS);
    Ok((start, count))
}

pub fn list_response(resources: Vec<Value>, total: i64, start: i64) -> ScimResponse {
    ScimResponse::Ok(
        Json(json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        })),
        None,
    )
}

/// How often a write without `If-Match` is recomputed on top of a concurrent change before
/// giving up with 409.
pub const MAX_WRITE_ATTEMPTS: usize = 16;
