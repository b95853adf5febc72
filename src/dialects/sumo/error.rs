//! Sumo Logic's `ErrorResponse`: `{id, errors: [{code, message}]}`.

use poem::http::StatusCode;
use poem::Response;
use serde_json::json;

use crate::directory::seam::{Dialect, Failure};
use crate::domain::UniqueField;
use crate::http::errors::ErrorContext;

/// Sumo's error ids are dash-separated groups of five characters; ours derive from the
/// request id so the two can be matched in logs.
pub fn error_id(request_id: &str) -> String {
    let alnum: String = request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .chain(std::iter::repeat('0'))
        .take(15)
        .collect();
    format!("{}-{}-{}", &alnum[0..5], &alnum[5..10], &alnum[10..15])
}

pub fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    ctx: &ErrorContext<'_>,
) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(
            json!({
                "id": error_id(ctx.request_id),
                "errors": [{ "code": code, "message": message }],
            })
            .to_string(),
        )
}

pub fn framework_error(status: StatusCode, message: &str, ctx: &ErrorContext<'_>) -> Response {
    let code = match status.as_u16() {
        400 => "bad.request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "notfound",
        405 => "method.unsupported",
        413 => "payload.too.large",
        415 => "contenttype.invalid",
        503 => "service.unavailable",
        _ => "error",
    };
    error_response(status, code, message, ctx)
}

/// An error of a Sumo Logic handler: rendered as `{id, errors: [{code, message}]}` with the
/// request's id when the response is made.
#[derive(Debug, Clone, PartialEq)]
pub struct SumoError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

pub type SumoResult<T> = Result<T, SumoError>;

impl SumoError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> SumoError {
        SumoError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 for a field or parameter that is not acceptable.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> SumoError {
        SumoError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> SumoError {
        SumoError::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> SumoError {
        SumoError::new(StatusCode::CONFLICT, code, message)
    }

    pub fn render(&self, request_id: &str) -> Response {
        Response::builder()
            .status(self.status)
            .content_type("application/json")
            .body(
                json!({
                    "id": error_id(request_id),
                    "errors": [{ "code": self.code, "message": self.message }],
                })
                .to_string(),
            )
    }
}

/// Sumo's words for each failure; `what` names the resource (`user`, `role`,
/// `organization`) for not-found and conflict errors. An id not of Sumo's form names nothing.
impl Dialect for SumoError {
    const NAME: &'static str = "sumo";

    fn failure(f: Failure, what: &str) -> SumoError {
        let status = f.status_unversioned();
        let code = match &f {
            Failure::NotFound | Failure::MalformedId(_) => match what {
                "role" => "role_not_found",
                "organization" => "org_not_found",
                _ => "user_not_found",
            },
            Failure::Conflict(_) => match what {
                "role" => "role_name_already_exists",
                "organization" => "org_already_exists",
                _ => "user_email_already_exists",
            },
            Failure::Taken(UniqueField::Phone) => "user_phone_already_exists",
            Failure::Taken(_) => "user_email_already_exists",
            Failure::Invalid(_) | Failure::Refused(_) => "invalid_field",
            Failure::VersionMismatch => "concurrent_modification",
            Failure::Unauthorized => "unauthorized",
            Failure::Forbidden(_) | Failure::NotAllowed(_) => "forbidden",
            Failure::Throttled(_) => "rate_limit_exceeded",
            Failure::Busy | Failure::Overloaded => "service.unavailable",
            Failure::Internal => "internal.error",
        };
        // Sumo's words; a taken value, an invalid one and a throttled credential in the
        // failure's own.
        let message = match f {
            Failure::NotFound | Failure::MalformedId(_) => format!("The {what} does not exist."),
            Failure::Conflict(m) | Failure::NotAllowed(m) => m,
            Failure::VersionMismatch => format!("The {what} was changed concurrently; retry."),
            Failure::Unauthorized => "Credential could not be verified.".into(),
            Failure::Forbidden(scope) => format!("The credential lacks the {scope} scope."),
            Failure::Busy => "The service is unavailable; retry.".into(),
            Failure::Overloaded => {
                "The server is overloaded; retry after the Retry-After interval.".into()
            }
            Failure::Internal => "Internal server error.".into(),
            own @ (Failure::Taken(_)
            | Failure::Invalid(_)
            | Failure::Refused(_)
            | Failure::Throttled(_)) => own.to_string(),
        };
        SumoError::new(status, code, message)
    }
}

crate::directory::seam::dialect_errors!(SumoError);

#[cfg(test)]
mod tests {
    #[test]
    fn error_ids_look_like_sumo_ids() {
        let id = super::error_id("4f1c2a9e-77aa-4bcd-9e11-0a1b2c3d4e5f");
        assert_eq!(id, "4F1C2-A9E77-AA4BC");
        assert_eq!(super::error_id(""), "00000-00000-00000");
    }
}
