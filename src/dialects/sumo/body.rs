//! A JSON request body whose parse error is kept for the handler instead of answered at
//! once: the handler authenticates first (a bad credential is a 401 whatever the body), then
//! answers a bad body with Sumo's error shape. Wrong JSON types are refused (strict), not
//! coerced. The OpenAPI document still shows `T`'s schema.

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::error::{SumoError, SumoResult};

pub struct SumoJson<T>(SumoResult<T>);

impl<T> SumoJson<T> {
    pub fn into_result(self) -> SumoResult<T> {
        self.0
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.is_empty() || essence == "application/json" || essence.ends_with("+json")
}

fn bad(message: impl Into<String>) -> SumoError {
    SumoError::invalid("invalid_json", message)
}

/// `failed to parse "X": ... (occurred while parsing "field")` names the field.
fn field_of(message: &str) -> Option<&str> {
    let (_, rest) = message.rsplit_once("(occurred while parsing \"")?;
    rest.split('"').next()
}

pub fn parse<T: ParseFromJSON + Type>(data: &[u8]) -> SumoResult<T> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("A JSON body is required."));
    }
    let v: serde_json::Value = serde_json::from_slice(data)
        .map_err(|e| bad(format!("The body is not valid JSON: {e}")))?;
    crate::http::strict::check::<T>(&v).map_err(|m| {
        let at = if m.path.is_empty() {
            "the body".to_string()
        } else {
            m.path.clone()
        };
        bad(format!("{at}: {}", m.message))
    })?;
    T::parse_from_json(Some(v)).map_err(|e| {
        let msg = e.into_message();
        match field_of(&msg) {
            Some(f) => SumoError::invalid("invalid_field", format!("{f}: {msg}")),
            None => bad(msg),
        }
    })
}

impl<'a, T: ParseFromJSON + Type> ApiExtractor<'a> for SumoJson<T> {
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

    /// A body of another media type is a 415; none at all is refused by the handler.
    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        if let Some(ct) = request.content_type() {
            if !is_json(ct) {
                return Err(poem_openapi::error::ContentTypeError::NotSupported {
                    content_type: ct.to_string(),
                }
                .into());
            }
        }
        let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        Ok(SumoJson(parse::<T>(&data)))
    }
}
