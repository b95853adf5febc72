//! Logto's request bodies: the shared deferred extractor ([`crate::http::body`]) with
//! Logto's errors — `guard.invalid_input` with zod-style `details` naming the field. An empty
//! body reads as `{}`.

use crate::http::body::{BodyError, BodyFault, JsonBody};

use super::error::LogtoError;

pub type LogtoJson<T> = JsonBody<T, LogtoError>;

impl BodyError for LogtoError {
    const EMPTY_IS_OBJECT: bool = true;

    fn body_fault(fault: BodyFault<'_>) -> LogtoError {
        match fault {
            BodyFault::Empty => LogtoError::body("", "(invalid_type) Expected object"),
            BodyFault::NotJson(e) => LogtoError::body("", format!("(invalid_json) {e}")),
            BodyFault::WrongType { path, message } => {
                LogtoError::body(path, format!("(invalid_type) {message}"))
            }
            BodyFault::Invalid { field, message } => {
                LogtoError::body(field.unwrap_or(""), format!("(invalid_type) {message}"))
            }
        }
    }
}
