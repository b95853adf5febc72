//! Muster's own admin API errors: `{code, message}`.

use poem::http::StatusCode;
use poem::Response;
use serde_json::json;

pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({ "code": code, "message": message }).to_string())
}

pub fn framework_error(
    status: StatusCode,
    message: &str,
    _: &crate::http::errors::ErrorContext<'_>,
) -> Response {
    let code = match status.as_u16() {
        400 => "invalid_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        503 => "unavailable",
        _ => "error",
    };
    error_response(status, code, message)
}
