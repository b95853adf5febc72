//! SCIM errors (RFC 7644 §3.12): `status` as a string, `scimType` where one applies, always
//! `application/scim+json`.

use poem::http::StatusCode;
use poem::Response;
use serde_json::json;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const CONTENT_TYPE: &str = "application/scim+json";

pub fn error_response(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    Response::builder()
        .status(status)
        .content_type(CONTENT_TYPE)
        .body(body.to_string())
}

pub fn framework_error(
    status: StatusCode,
    message: &str,
    _: &crate::http::errors::ErrorContext<'_>,
) -> Response {
    let scim_type = (status == StatusCode::BAD_REQUEST).then_some("invalidSyntax");
    error_response(status, scim_type, message)
}

/// Any method on any path under a SCIM version this server does not speak (`/scim/v1/...`):
/// 400 `invalidVers` (RFC 7644 §3.12, §3.13), not 404, so a client configured for SCIM 1.1
/// learns why. Mounted in `app()`; needs no credentials, as it reveals nothing.
#[poem::handler]
pub fn unsupported_version() -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        Some("invalidVers"),
        "this SCIM version is not supported; SCIM 2.0 is served at /scim/v2",
    )
}
