//! The SCIM error (RFC 7644 §3.12): an HTTP status, an optional `scimType` and a detail.

use poem::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {scim_type:?}: {detail}")]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

/// A constructor of a 400 for each `scimType` given (RFC 7644 §3.12, table 9).
macro_rules! bad_requests {
    ($($name:ident: $scim_type:literal),* $(,)?) => {
        $(
            pub fn $name(detail: impl Into<String>) -> Self {
                Self::bad($scim_type, detail)
            }
        )*
    };
}

impl ScimError {
    fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }
    bad_requests! {
        invalid_value: "invalidValue",
        invalid_syntax: "invalidSyntax",
        invalid_path: "invalidPath",
        invalid_filter: "invalidFilter",
        mutability: "mutability",
        no_target: "noTarget",
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, None, detail)
    }
    pub fn status(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::new(status, None, detail)
    }
}

pub type ScimResult<T> = Result<T, ScimError>;
