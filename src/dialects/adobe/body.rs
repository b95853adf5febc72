//! The action body: taken off the request unparsed and parsed in the request's one database
//! trip, after the credential is checked (a bad credential is a 401 whatever the body
//! holds). A body that is not JSON by its `Content-Type` is a 415. The OpenAPI document still
//! shows the commands' schema.

use poem_openapi::Object;
use serde_json::Value;

use crate::http::body::{BodyError, BodyFault, JsonBody};

use super::error::{AdobeError, AdobeResult};

/// A command entry of an action request (documentation; entries are parsed by hand, since
/// each step is an object keyed by the step's name).
#[derive(Debug, Clone, Object)]
pub struct ActionCommand {
    /// The user the entry is about: their email, or a federated id's username.
    pub user: Option<String>,
    /// The user group the entry is about (instead of `user`).
    pub usergroup: Option<String>,
    /// For a federated id whose username is not an email.
    pub domain: Option<String>,
    #[oai(rename = "useAdobeID")]
    pub use_adobe_id: Option<bool>,
    /// Echoed in the entry's errors.
    #[oai(rename = "requestID")]
    pub request_id: Option<String>,
    /// The steps: each an object with one key, the step's name (`createFederatedID`,
    /// `update`, `add`, `remove`, `removeFromOrg`, `createUserGroup`, ...).
    #[oai(rename = "do")]
    pub steps: Vec<Value>,
}

/// The action body: the shared deferred extractor ([`crate::http::body`]), read by hand as an
/// array of commands.
pub type AdobeBody<T> = JsonBody<T, AdobeError>;

impl BodyError for AdobeError {
    fn body_fault(fault: BodyFault<'_>) -> AdobeError {
        let malformed = |m: String| AdobeError::bad_request("error.command.malformed", m);
        match fault {
            BodyFault::Empty => {
                malformed("The request body must be a JSON array of commands".into())
            }
            BodyFault::NotJson(e) => malformed(format!("The request body is not valid JSON: {e}")),
            BodyFault::WrongType { path, message } => malformed(format!("{path}: {message}")),
            BodyFault::Invalid { message, .. } => malformed(message.to_string()),
        }
    }
}

impl<T> JsonBody<T, AdobeError> {
    /// The body as a JSON array; anything else is Adobe's request-level
    /// `error.command.malformed`.
    pub fn array(&self) -> AdobeResult<Vec<Value>> {
        match self.value()? {
            Value::Array(a) => Ok(a),
            _ => Err(AdobeError::bad_request(
                "error.command.malformed",
                "The request body must be a JSON array of commands",
            )),
        }
    }
}
