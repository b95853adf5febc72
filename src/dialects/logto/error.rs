//! Logto's `RequestError` body: `{code, message}`.

use poem::http::StatusCode;
use poem::Response;
use serde_json::json;

pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({ "code": code, "message": message }).to_string())
}

pub fn framework_error(status: StatusCode, message: &str) -> Response {
    let (code, message) = match status.as_u16() {
        401 => (
            "auth.unauthorized",
            "Unauthorized. Please check credentials and its scope.",
        ),
        403 => (
            "auth.forbidden",
            "Forbidden. Please check your user roles and permissions.",
        ),
        400 => ("guard.invalid_input", message),
        404 => ("entity.not_found", message),
        _ => ("request.general", message),
    };
    error_response(status, code, message)
}
