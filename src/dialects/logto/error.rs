//! Logto's `RequestError` body: `{code, message, details?}`, with Logto's codes and statuses.

use poem::http::StatusCode;
use poem::Response;
use serde_json::json;

use crate::directory::seam::{Dialect, Failure};
use crate::domain::UniqueField;
use crate::http::errors::ErrorContext;

pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({ "code": code, "message": message }).to_string())
}

/// Errors the framework raised on a Logto path, in Logto's words. A 401 says why, as Logto's
/// auth middleware does: no `Authorization` header, a scheme other than Bearer, or a token
/// that is not valid.
pub fn framework_error(status: StatusCode, message: &str, ctx: &ErrorContext<'_>) -> Response {
    let (code, message) = match status.as_u16() {
        401 => match ctx.authorization {
            None => (
                "auth.authorization_header_missing",
                "Authorization header is missing.",
            ),
            Some(scheme) if !scheme.eq_ignore_ascii_case("bearer") => (
                "auth.authorization_token_type_not_supported",
                "Authorization type is not supported. Please use Bearer token.",
            ),
            Some(_) => (
                "auth.unauthorized",
                "Unauthorized. Please check credentials and its scope.",
            ),
        },
        403 => (
            "auth.forbidden",
            "Forbidden. Please check your user roles and permissions.",
        ),
        400 => ("guard.invalid_input", message),
        404 => ("entity.not_found", "The resource does not exist."),
        405 => ("request.general", "The method is not allowed on this path."),
        413 => ("guard.invalid_input", "The request body is too large."),
        415 => (
            "guard.invalid_input",
            "The request body must be application/json.",
        ),
        _ => ("request.general", message),
    };
    error_response(status, code, message)
}

/// An error of a Logto handler, rendered as Logto renders its `RequestError`.
#[derive(Debug)]
pub struct LogtoError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// zod-style lines for input errors: `Error in key path "<path>": <message>`.
    pub details: Option<String>,
}

impl LogtoError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> LogtoError {
        LogtoError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// 400 `guard.invalid_input` for a bad body (`where_` is `body`, `query` or `params`).
    pub fn guard(where_: &str, path: &str, detail: impl std::fmt::Display) -> LogtoError {
        LogtoError {
            status: StatusCode::BAD_REQUEST,
            code: "guard.invalid_input",
            message: format!("The request {where_} is invalid."),
            details: Some(format!("Error in key path \"{path}\": {detail}")),
        }
    }

    pub fn body(path: &str, detail: impl std::fmt::Display) -> LogtoError {
        LogtoError::guard("body", path, detail)
    }

    pub fn pagination() -> LogtoError {
        LogtoError::new(
            StatusCode::BAD_REQUEST,
            "guard.invalid_pagination",
            "The request pagination value is invalid.",
        )
    }

    /// 400 `request.invalid_input`: `Input is invalid. <detail>` (search parameters).
    pub fn input(detail: impl std::fmt::Display) -> LogtoError {
        LogtoError::new(
            StatusCode::BAD_REQUEST,
            "request.invalid_input",
            format!("Input is invalid. {detail}"),
        )
    }

    /// An unknown entity as Logto reports it: a role, log or hook by its id
    /// (`entity.not_exists_with_id`); a user by Logto's generic `entity.not_found` (Logto
    /// reads users with a query whose miss its database layer reports without the id).
    pub fn not_found(table: &str, id: &str) -> LogtoError {
        if table == "users" {
            return LogtoError::resource_missing();
        }
        LogtoError::new(
            StatusCode::NOT_FOUND,
            "entity.not_exists_with_id",
            format!("The {table} with ID `{id}` does not exist."),
        )
    }

    /// 404 `entity.not_found`: "The resource does not exist."
    pub fn resource_missing() -> LogtoError {
        LogtoError::new(
            StatusCode::NOT_FOUND,
            "entity.not_found",
            "The resource does not exist.",
        )
    }

    pub fn unprocessable(code: &'static str, message: &str) -> LogtoError {
        LogtoError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn username_taken() -> LogtoError {
        LogtoError::unprocessable(
            "user.username_already_in_use",
            "This username is already in use.",
        )
    }

    pub fn email_taken() -> LogtoError {
        LogtoError::unprocessable(
            "user.email_already_in_use",
            "This email is associated with an existing account.",
        )
    }

    pub fn phone_taken() -> LogtoError {
        LogtoError::unprocessable(
            "user.phone_already_in_use",
            "This phone number is associated with an existing account.",
        )
    }

    pub fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(d) = self.details {
            body["details"] = d.into();
        }
        Response::builder()
            .status(self.status)
            .content_type("application/json")
            .body(body.to_string())
    }
}

/// Logto's words for each failure. A `NotFound` says no more than Logto's generic
/// `entity.not_found`: handlers that know the entity and its id say which
/// (`users::user_missing`).
impl Dialect for LogtoError {
    const NAME: &'static str = "logto";

    fn failure(f: Failure, what: &str) -> LogtoError {
        let (code, message): (&'static str, String) = match &f {
            Failure::MalformedId(id) => return LogtoError::not_found(what, id),
            Failure::Conflict(_) | Failure::Taken(UniqueField::LoginName) => {
                return LogtoError::username_taken()
            }
            Failure::Taken(UniqueField::Email) => return LogtoError::email_taken(),
            Failure::Taken(UniqueField::Phone) => return LogtoError::phone_taken(),
            Failure::Invalid(m) => return LogtoError::input(m),
            Failure::Refused(r) => return LogtoError::body(logto_field(r.field), &r.message),
            Failure::NotFound => return LogtoError::resource_missing(),
            Failure::NotAllowed(m) => ("auth.forbidden", m.clone()),
            Failure::VersionMismatch => (
                "request.general",
                "The user was changed meanwhile; try again.".into(),
            ),
            Failure::Unauthorized => (
                "auth.unauthorized",
                "Unauthorized. Please check credentials and its scope.".into(),
            ),
            Failure::Forbidden(_) => (
                "auth.forbidden",
                "Forbidden. Please check your user roles and permissions.".into(),
            ),
            Failure::Throttled(_) => ("guard.too_many_requests", f.to_string()),
            Failure::Busy => ("request.general", "The service is busy; try again.".into()),
            Failure::Overloaded => (
                "request.general",
                "The server is overloaded; retry after the Retry-After interval.".into(),
            ),
            Failure::Internal => ("unknown", "Internal server error.".into()),
        };
        LogtoError::new(f.status_unversioned(), code, message)
    }
}

crate::directory::seam::dialect_errors!(LogtoError);

/// A field as Logto's bodies name it, for SCIM's name of it (`domain::rules::Refused`).
fn logto_field(scim: &str) -> &str {
    match scim {
        "userName" => "username",
        "emails" => "primaryEmail",
        "phoneNumbers" => "primaryPhone",
        "displayName" | "name.formatted" => "name",
        "name.givenName" => "profile.givenName",
        "name.familyName" => "profile.familyName",
        "name.middleName" => "profile.middleName",
        other => other,
    }
}

impl From<LogtoError> for poem::Error {
    fn from(e: LogtoError) -> Self {
        poem::Error::from_response(e.into_response())
    }
}

pub type LogtoResult<T> = Result<T, LogtoError>;
