//! The action body: taken off the request unparsed and parsed in the request's one database
//! trip, after the credential is checked (a bad credential is a 401 whatever the body
//! holds). The OpenAPI document still shows the commands' schema.

use std::marker::PhantomData;

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, Object};
use serde_json::Value;

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

/// A JSON body documented as `T`, read as bytes.
pub struct AdobeBody<T> {
    bytes: Vec<u8>,
    _schema: PhantomData<fn() -> T>,
}

impl<T> AdobeBody<T> {
    /// The body as a JSON array; anything else is Adobe's request-level
    /// `error.command.malformed`.
    pub fn array(&self) -> AdobeResult<Vec<Value>> {
        let malformed = |m: String| AdobeError::bad_request("error.command.malformed", m);
        match serde_json::from_slice::<Value>(&self.bytes) {
            Ok(Value::Array(a)) => Ok(a),
            Ok(_) => Err(malformed(
                "The request body must be a JSON array of commands".into(),
            )),
            Err(e) => Err(malformed(format!(
                "The request body is not valid JSON: {e}"
            ))),
        }
    }
}

impl<'a, T: Type> ApiExtractor<'a> for AdobeBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: T::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(AdobeBody {
            bytes: <Vec<u8> as FromRequest>::from_request(request, body).await?,
            _schema: PhantomData,
        })
    }
}
