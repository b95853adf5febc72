//! Muster's own admin API errors: `{code, message}`.

use poem::http::StatusCode;
use poem::Response;
use serde_json::json;

pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    error_response_with(status, code, message, Default::default())
}

/// `{code, message}` and `extra`'s fields beside them.
pub fn error_response_with(
    status: StatusCode,
    code: &str,
    message: &str,
    extra: serde_json::Map<String, serde_json::Value>,
) -> Response {
    let mut body = extra;
    body.insert("code".into(), json!(code));
    body.insert("message".into(), json!(message));
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::Value::Object(body).to_string())
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
