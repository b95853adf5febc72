//! Domo's gateway error body: `{status, statusReason, message, path, toe}`; `toe` is the
//! request id. Every error of the dialect, the framework's included, has this shape.

use poem::http::StatusCode;
use poem::{Request, Response};
use poem_openapi::payload::Json;
use poem_openapi::Object;
use serde_json::json;

use crate::auth::AuthError;
use crate::directory::StoreError;
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

/// A store error in Domo's terms; `what` names the resource (`user`, `group`).
pub fn store_error(e: StoreError, what: &str) -> DomoError {
    match e {
        StoreError::NotFound => DomoError::not_found(format!("{what} not found")),
        StoreError::Conflict(m) => DomoError::conflict(m),
        StoreError::Taken(f) => DomoError::conflict(format!("the {what}'s {}", f.taken_message())),
        StoreError::Invalid(m) => DomoError::bad_request(m),
        StoreError::Refused(r) => DomoError::bad_request(r.to_string()),
        StoreError::Forbidden(m) => DomoError::new(StatusCode::FORBIDDEN, m),
        // Domo's writes have no If-Match; a version mismatch is a concurrent change.
        StoreError::VersionMismatch => {
            DomoError::conflict(format!("the {what} was changed concurrently; retry"))
        }
        StoreError::Busy(m) => {
            tracing::warn!(error = %m, "database busy or unavailable");
            DomoError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; retry",
            )
        }
        StoreError::Overloaded => DomoError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is overloaded; retry after the Retry-After interval",
        ),
        StoreError::Panicked => DomoError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        StoreError::Db(e) => {
            tracing::error!(error = %e, "database error");
            DomoError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

impl From<StoreError> for DomoError {
    fn from(e: StoreError) -> DomoError {
        store_error(e, "resource")
    }
}

impl From<AuthError> for DomoError {
    fn from(e: AuthError) -> DomoError {
        match e {
            AuthError::Unavailable(e) => store_error(e, "credential"),
            other => DomoError::new(other.status(), other.to_string()),
        }
    }
}
