//! Adobe UMAPI errors: 401 and 403 have empty bodies (401 with IMS's `WWW-Authenticate`),
//! others `{result, message}` (a users-by-group miss adds `lastPage`).

use poem::http::StatusCode;
use poem::Response;
use serde_json::{json, Value};

use crate::directory::seam::{Dialect, Failure};

const INVALID_TOKEN: &str =
    "Bearer realm=\"JIL\", error=\"invalid_token\", error_description=\"The access token is invalid\"";

pub fn error_response(status: StatusCode, result: &str, message: &str) -> Response {
    body_response(status, json!({ "result": result, "message": message }))
}

fn body_response(status: StatusCode, body: Value) -> Response {
    match status.as_u16() {
        401 => Response::builder()
            .status(status)
            .header("WWW-Authenticate", INVALID_TOKEN)
            .body(""),
        403 => Response::builder().status(status).body(""),
        _ => Response::builder()
            .status(status)
            .content_type("application/json")
            .body(body.to_string()),
    }
}

pub fn framework_error(
    status: StatusCode,
    message: &str,
    _: &crate::http::errors::ErrorContext<'_>,
) -> Response {
    let result = match status.as_u16() {
        400 | 413 | 415 => "error.request.invalid",
        404 => "error.not_found",
        405 => "error.method.not_allowed",
        _ => "error",
    };
    error_response(status, result, message)
}

/// An error of an Adobe handler: the status and the body Adobe gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct AdobeError {
    pub status: StatusCode,
    pub body: Value,
}

pub type AdobeResult<T> = Result<T, AdobeError>;

impl AdobeError {
    pub fn new(status: StatusCode, result: &str, message: impl Into<String>) -> AdobeError {
        AdobeError {
            status,
            body: json!({ "result": result, "message": message.into() }),
        }
    }

    /// A 400 for a request Adobe would not attempt (`error.command.malformed`, ...).
    pub fn bad_request(result: &str, message: impl Into<String>) -> AdobeError {
        AdobeError::new(StatusCode::BAD_REQUEST, result, message)
    }

    /// `{orgId}` names an organization other than the caller's.
    pub fn invalid_org() -> AdobeError {
        AdobeError::bad_request("error.organization.invalid_id", "Bad organization Id")
    }

    /// 403 with an empty body: no `X-Api-Key`, or not the calling client's id.
    pub fn api_key() -> AdobeError {
        AdobeError::new(
            StatusCode::FORBIDDEN,
            "error.apikey.invalid",
            "Invalid API key",
        )
    }

    pub fn user_not_found(user: &str) -> AdobeError {
        AdobeError::new(
            StatusCode::NOT_FOUND,
            "error.user.not_found",
            format!("User not found {user}"),
        )
    }

    pub fn group_not_found(group: &str) -> AdobeError {
        AdobeError {
            status: StatusCode::NOT_FOUND,
            body: json!({
                "lastPage": false,
                "result": "error.group.not_found",
                "message": format!("Not found: Group {group}"),
            }),
        }
    }

    pub fn into_response(self) -> Response {
        body_response(self.status, self.body)
    }
}

impl From<AdobeError> for poem::Error {
    fn from(e: AdobeError) -> poem::Error {
        poem::Error::from_response(e.into_response())
    }
}

/// Adobe's words for each failure. A missing or unscoped credential is 401 / 403 with
/// an empty body, as UMAPI answers.
impl Dialect for AdobeError {
    const NAME: &'static str = "adobe";

    fn failure(f: Failure, _what: &str) -> AdobeError {
        let status = f.status_unversioned();
        let result = match &f {
            Failure::Forbidden(_) => return AdobeError::api_key(),
            Failure::NotFound | Failure::MalformedId(_) => "error.not_found",
            Failure::Conflict(_) | Failure::VersionMismatch => "error.conflict",
            Failure::Taken(_) => "error.user.already_exists",
            Failure::Invalid(_) | Failure::Refused(_) => "error.request.invalid",
            Failure::NotAllowed(_) => "error.forbidden",
            Failure::Unauthorized => "error.token.invalid",
            Failure::Throttled(_) => "error.too_many_requests",
            Failure::Busy | Failure::Overloaded => "error.unavailable",
            Failure::Internal => "error.internal",
        };
        // Adobe's words; an invalid value and a throttled credential in the failure's own (a
        // missing scope is answered above).
        let message = match f {
            Failure::NotFound | Failure::MalformedId(_) => "Resource not found".into(),
            Failure::Conflict(m) | Failure::NotAllowed(m) => m,
            Failure::Taken(field) => format!("Another user has this {}", field.label()),
            Failure::VersionMismatch => "changed concurrently; retry".into(),
            Failure::Unauthorized => "The access token is invalid".into(),
            Failure::Busy => "The service is unavailable; retry".into(),
            Failure::Overloaded => {
                "The server is overloaded; retry after the Retry-After interval".into()
            }
            Failure::Internal => "Internal error".into(),
            own @ (Failure::Invalid(_)
            | Failure::Refused(_)
            | Failure::Throttled(_)
            | Failure::Forbidden(_)) => own.to_string(),
        };
        AdobeError::new(status, result, message)
    }
}

crate::directory::seam::dialect_errors!(AdobeError);
