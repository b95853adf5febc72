//! Domo's gateway error body: `{status, statusReason, message, path, toe}`; `toe` is the
//! request id. Every error of the dialect, the framework's included, has this shape.

use poem::http::StatusCode;
use poem::{Request, Response};
use poem_openapi::payload::Json;
use poem_openapi::Object;
use serde_json::json;

use crate::directory::seam::{Dialect, Failure};
use crate::domain::IdFormat;
use crate::http::errors::ErrorContext;
use crate::http::RequestId;

pub fn error_response(status: StatusCode, message: &str, ctx: &ErrorContext<'_>) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(
            json!({
                "status": status.as_u16(),
                "statusReason": status.canonical_reason().unwrap_or(""),
                "message": message,
                "path": ctx.path,
                "toe": ctx.request_id,
            })
            .to_string(),
        )
}

pub fn framework_error(status: StatusCode, message: &str, ctx: &ErrorContext<'_>) -> Response {
    error_response(status, message, ctx)
}

/// The error body, as declared in the OpenAPI document.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DomoErrorBody {
    /// The HTTP status code.
    pub status: u16,
    /// The status code's reason phrase.
    pub status_reason: String,
    pub message: String,
    /// The request's path.
    pub path: String,
    /// The request id (also in the `x-request-id` response header and the logs).
    pub toe: String,
}

/// An error of the Domo dialect: a status and a message, rendered with the request's path
/// and id when the response is made.
#[derive(Debug, Clone, PartialEq)]
pub struct DomoError {
    pub status: StatusCode,
    pub message: String,
}

pub type DomoResult<T> = Result<T, DomoError>;

impl DomoError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> DomoError {
        DomoError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> DomoError {
        DomoError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> DomoError {
        DomoError::new(StatusCode::NOT_FOUND, message)
    }
    pub fn conflict(message: impl Into<String>) -> DomoError {
        DomoError::new(StatusCode::CONFLICT, message)
    }

    /// The body for the request that failed.
    pub fn body(&self, req: &Request) -> Json<DomoErrorBody> {
        Json(DomoErrorBody {
            status: self.status.as_u16(),
            status_reason: self.status.canonical_reason().unwrap_or("").to_string(),
            message: self.message.clone(),
            path: req.uri().path().to_string(),
            toe: req
                .extensions()
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
        })
    }
}

/// Domo's words for each failure, about a `what` (`user`, `group`). Domo's ids are
/// integers: one that is not names nothing, and is a 400.
impl Dialect for DomoError {
    const NAME: &'static str = "domo";
    const IDS: IdFormat = IdFormat::Decimal;

    fn failure(f: Failure, what: &str) -> DomoError {
        match f {
            Failure::NotFound => DomoError::not_found(format!("{what} not found")),
            Failure::MalformedId(id) => DomoError::bad_request(format!(
                "the {what} id must be a positive integer, got {id:?}"
            )),
            Failure::Conflict(m) => DomoError::conflict(m),
            Failure::Taken(f) => DomoError::conflict(format!("the {what}'s {}", f.taken_message())),
            Failure::Invalid(m) => DomoError::bad_request(m),
            // Domo's writes have no If-Match; a version mismatch is a concurrent change.
            Failure::VersionMismatch => {
                DomoError::conflict(format!("the {what} was changed concurrently; retry"))
            }
            other => DomoError::new(other.status(), other.to_string()),
        }
    }
}

crate::directory::seam::dialect_errors!(DomoError);
