//! Adobe UMAPI errors: 401 and 403 have empty bodies (401 with IMS's `WWW-Authenticate`),
//! others `{result, message}`.

use poem::http::StatusCode;
use poem::Response;
use serde_json::json;

pub fn error_response(status: StatusCode, result: &str, message: &str) -> Response {
    match status.as_u16() {
        401 => Response::builder()
            .status(status)
            .header(
                "WWW-Authenticate",
                "Bearer realm=\"JIL\", error=\"invalid_token\", error_description=\"The access token is invalid\"",
            )
            .body(""),
        403 => Response::builder().status(status).body(""),
        _ => Response::builder()
            .status(status)
            .content_type("application/json")
            .body(json!({ "result": result, "message": message }).to_string()),
    }
}

pub fn framework_error(status: StatusCode, message: &str) -> Response {
    let result = match status.as_u16() {
        400 => "error.request.invalid",
        404 => "error.not_found",
        _ => "error",
    };
    error_response(status, result, message)
}
