//! The one deferred JSON body extractor every vendor dialect uses. The body is taken off the
//! request as bytes and parsed by the handler, inside its one trip and after the credential
//! is checked (a bad credential is a 401 whatever the body holds); a parse failure is the
//! dialect's own 400, made by its error type through [`BodyError`]. A body of a media type
//! other than JSON (`application/json`, any `+json`) is a 415, rendered in the dialect's
//! shape by the error middleware; no `Content-Type` at all is read as JSON (pydomo and
//! umapi-client always send `application/json`). Values of the wrong JSON type are refused
//! (strict, [`super::strict`]), never coerced. The OpenAPI document shows `T`'s schema.

use std::marker::PhantomData;

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde_json::Value;

/// What was wrong with a body, for a dialect to put in its own words.
#[derive(Debug)]
pub enum BodyFault<'a> {
    /// No body (or only whitespace) where one is required.
    Empty,
    /// Not JSON.
    NotJson(&'a serde_json::Error),
    /// A value of the wrong JSON type at `path` (`""` for the body itself).
    WrongType { path: &'a str, message: &'a str },
    /// Well-typed JSON the schema still refuses (a missing required field, an unknown enum
    /// value); `field` when the parser names one.
    Invalid {
        field: Option<&'a str>,
        message: &'a str,
    },
}

/// A dialect's error type, as the body extractor needs it.
pub trait BodyError: Sized {
    fn body_fault(fault: BodyFault<'_>) -> Self;
    /// Whether an empty body reads as `{}` (Logto) instead of [`BodyFault::Empty`].
    const EMPTY_IS_OBJECT: bool = false;
}

/// Whether a `Content-Type` is JSON: `application/json`, any `+json` (`application/scim+json`),
/// with or without parameters, in any case; empty counts as JSON.
/// A JSON value's type as a dialect's messages name it (`a string`, `an object`, ...).
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.is_empty() || essence == "application/json" || essence.ends_with("+json")
}

/// A JSON body documented as `T`, answered with errors of type `E`.
pub struct JsonBody<T, E> {
    bytes: Vec<u8>,
    _schema: PhantomData<fn() -> (T, E)>,
}

/// `failed to parse "X": ... (occurred while parsing "field")` names the field.
fn field_of(message: &str) -> Option<&str> {
    let (_, rest) = message.rsplit_once("(occurred while parsing \"")?;
    rest.split('"').next()
}

/// Parse `data` as JSON (any value). The pure half of [`JsonBody::value`].
pub fn value<E: BodyError>(data: &[u8]) -> Result<Value, E> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return if E::EMPTY_IS_OBJECT {
            Ok(Value::Object(Default::default()))
        } else {
            Err(E::body_fault(BodyFault::Empty))
        };
    }
    from_slice_unique(data).map_err(|e| E::body_fault(BodyFault::NotJson(&e)))
}

/// Parse JSON like `serde_json::from_slice::<Value>`, but refuse an object with the same
/// member twice (`{"userName": 5, "userName": "a"}`): which one wins differs between
/// parsers, so a body that has two is ambiguous, not the last one's.
pub fn from_slice_unique(data: &[u8]) -> Result<Value, serde_json::Error> {
    let Unique(v) = serde_json::from_slice(data)?;
    Ok(v)
}

struct Unique(Value);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Unique(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate member {key:?}"
                )));
            }
            let Unique(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Parse `data` as `T`, strictly. The pure half of [`JsonBody::parse`].
pub fn parse<T: ParseFromJSON + Type, E: BodyError>(data: &[u8]) -> Result<T, E> {
    let v = value::<E>(data)?;
    super::strict::check::<T>(&v).map_err(|m| {
        E::body_fault(BodyFault::WrongType {
            path: &m.path,
            message: &m.message,
        })
    })?;
    T::parse_from_json(Some(v)).map_err(|e| {
        let message = e.into_message();
        E::body_fault(BodyFault::Invalid {
            field: field_of(&message),
            message: &message,
        })
    })
}

impl<T, E: BodyError> JsonBody<T, E> {
    /// The body as sent.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The body as any JSON value (for dialects that read fields by hand).
    pub fn value(&self) -> Result<Value, E> {
        value::<E>(&self.bytes)
    }
}

impl<T: ParseFromJSON + Type, E: BodyError> JsonBody<T, E> {
    /// The body as `T`: JSON, every value of its declared type, then parsed.
    pub fn parse(&self) -> Result<T, E> {
        parse::<T, E>(&self.bytes)
    }

    pub fn into_result(self) -> Result<T, E> {
        self.parse()
    }
}

impl<'a, T: Type, E: Send + 'static> ApiExtractor<'a> for JsonBody<T, E> {
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
        if let Some(ct) = request.content_type() {
            if !is_json(ct) {
                return Err(poem_openapi::error::ContentTypeError::NotSupported {
                    content_type: ct.to_string(),
                }
                .into());
            }
        }
        Ok(JsonBody {
            bytes: <Vec<u8> as FromRequest>::from_request(request, body).await?,
            _schema: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem_openapi::Object;

    #[derive(Debug, PartialEq)]
    struct E(String);
    impl BodyError for E {
        fn body_fault(f: BodyFault<'_>) -> E {
            E(match f {
                BodyFault::Empty => "empty".into(),
                BodyFault::NotJson(_) => "json".into(),
                BodyFault::WrongType { path, .. } => format!("type {path}"),
                BodyFault::Invalid { field, .. } => format!("invalid {}", field.unwrap_or("")),
            })
        }
    }

    #[derive(Debug, Object)]
    struct B {
        name: String,
        n: Option<i64>,
    }

    #[test]
    fn bodies_are_parsed_strictly() {
        assert_eq!(
            parse::<B, E>(b"{\"name\":\"a\",\"n\":2}").unwrap().n,
            Some(2)
        );
        for (data, want) in [
            (&b" "[..], "empty"),
            (b"{", "json"),
            (b"\xff", "json"),
            (b"{\"name\":5}", "type name"),
            (b"{\"name\":\"a\",\"n\":\"2\"}", "type n"),
            (b"{\"name\":\"a\",\"n\":1e400}", "json"),
            (b"[]", "type "),
            (b"{}", "invalid B"),
            (b"{\"name\":5,\"name\":\"a\"}", "json"),
            (b"{\"name\":\"a\",\"x\":{\"k\":1,\"k\":1}}", "json"),
        ] {
            assert_eq!(
                parse::<B, E>(data).unwrap_err(),
                E(want.into()),
                "{}",
                String::from_utf8_lossy(data)
            );
        }
        assert!(is_json("application/scim+json; charset=utf-8"));
        assert!(is_json("Application/JSON"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
