//! Sumo Logic's `ErrorResponse`: `{id, errors: [{code, message}]}`.

use poem::http::StatusCode;
use poem::Response;
use serde_json::json;

use crate::http::errors::ErrorContext;

/// Sumo's error ids are dash-separated groups of five characters; ours derive from the
/// request id so the two can be matched in logs.
fn error_id(request_id: &str) -> String {
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

#[cfg(test)]
mod tests {
    #[test]
    fn error_ids_look_like_sumo_ids() {
        let id = super::error_id("4f1c2a9e-77aa-4bcd-9e11-0a1b2c3d4e5f");
        assert_eq!(id, "4F1C2-A9E77-AA4BC");
        assert_eq!(super::error_id(""), "00000-00000-00000");
    }
}
