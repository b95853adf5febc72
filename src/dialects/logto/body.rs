//! A JSON request body whose parse error is kept for the handler instead of answered at
//! once: the handler authenticates first (a bad credential is a 401 whatever the body), then
//! answers a bad body with Logto's `guard.invalid_input` and zod-style `details`. The
//! OpenAPI document still shows `T`'s schema.

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::error::LogtoError;

pub struct LogtoJson<T>(pub Result<T, LogtoError>);

impl<T> LogtoJson<T> {
    pub fn into_result(self) -> Result<T, LogtoError> {
        self.0
    }
}

impl<T: Type> Payload for LogtoJson<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        // Any JSON media type.
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        essence.is_empty() || essence == "application/json" || essence.ends_with("+json")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// poem-openapi's messages name the failing type; as a zod-style key path, the field.
fn detail(message: &str) -> (String, String) {
    // `failed to parse "LogtoNewUser": failed to parse "string": ... (occurred while
    // parsing "username")`.
    let field = message
        .rsplit("(occurred while parsing \"")
        .next()
        .filter(|_| message.contains("(occurred while parsing \""))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
        .to_string();
    (field, message.to_string())
}

impl<T: ParseFromJSON + Type> ParsePayload for LogtoJson<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        let value = if data.is_empty() {
            Ok(serde_json::Value::Object(Default::default()))
        } else {
            serde_json::from_slice::<serde_json::Value>(&data)
                .map_err(|e| LogtoError::body("", format!("(invalid_json) {e}")))
        };
        let parsed = value.and_then(|v| {
            if !v.is_object() {
                return Err(LogtoError::body("", "(invalid_type) Expected object"));
            }
            // poem-openapi would read 5 as "5": wrong JSON types are refused first.
            crate::http::strict::check::<T>(&v)
                .map_err(|m| LogtoError::body(&m.path, format!("(invalid_type) {}", m.message)))?;
            T::parse_from_json(Some(v)).map_err(|e| {
                let (field, message) = detail(&e.into_message());
                LogtoError::body(&field, format!("(invalid_type) {message}"))
            })
        });
        Ok(LogtoJson(parsed))
    }
}

impl<'a, T: ParseFromJSON + Type> ApiExtractor<'a> for LogtoJson<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    /// A body of another media type is a 415; none at all is read as JSON.
    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        if let Some(ct) = request.content_type() {
            if !<Self as Payload>::check_content_type(ct) {
                return Err(poem_openapi::error::ContentTypeError::NotSupported {
                    content_type: ct.to_string(),
                }
                .into());
            }
        }
        <Self as ParsePayload>::from_request(request, body).await
    }
}
