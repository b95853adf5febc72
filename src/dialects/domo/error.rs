//! Domo's gateway error body: `{status, statusReason, message, path, toe}`.

use poem::http::StatusCode;
use poem::Response;
use serde_json::json;

use crate::http::errors::ErrorContext;

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
