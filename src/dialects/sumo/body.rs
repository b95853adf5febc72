//! Sumo Logic's request bodies: the shared deferred extractor ([`crate::http::body`]) with
//! Sumo's `{id, errors: [{code, message}]}` errors.

use crate::http::body::{BodyError, BodyFault, JsonBody};

use super::error::SumoError;

pub type SumoJson<T> = JsonBody<T, SumoError>;

impl BodyError for SumoError {
    fn body_fault(fault: BodyFault<'_>) -> SumoError {
        let bad = |m: String| SumoError::invalid("invalid_json", m);
        match fault {
            BodyFault::Empty => bad("A JSON body is required.".into()),
            BodyFault::NotJson(e) => bad(format!("The body is not valid JSON: {e}")),
            BodyFault::WrongType { path, message } => {
                let at = if path.is_empty() { "the body" } else { path };
                bad(format!("{at}: {message}"))
            }
            BodyFault::Invalid {
                field: Some(f),
                message,
            } => SumoError::invalid("invalid_field", format!("{f}: {message}")),
            BodyFault::Invalid {
                field: None,
                message,
            } => bad(message.to_string()),
        }
    }
}
