//! Request bodies and query values. A body is taken off the request unparsed and parsed in
//! the request's one database trip, after the credential is checked: a bad credential is a
//! 401 whatever the body holds. A body that is not JSON by its `Content-Type` is a 415. The
//! OpenAPI document still shows the body's schema.

use serde_json::{Map, Value};

use crate::http::body::{kind_of, BodyError, BodyFault, JsonBody};

use super::error::{DomoError, DomoResult};

/// A JSON body documented as `T`: the shared deferred extractor ([`crate::http::body`]),
/// read by hand field by field (with the types Domo's clients send).
pub type DomoBody<T> = JsonBody<T, DomoError>;

impl BodyError for DomoError {
    fn body_fault(fault: BodyFault<'_>) -> DomoError {
        DomoError::bad_request(match fault {
            BodyFault::Empty => "a JSON object body is required".to_string(),
            BodyFault::NotJson(e) => format!("the body is not valid JSON: {e}"),
            BodyFault::WrongType { path, message } => format!("{path}: {message}"),
            BodyFault::Invalid { message, .. } => message.to_string(),
        })
    }
}

impl<T> JsonBody<T, DomoError> {
    /// The body as a JSON object; anything else is a 400.
    pub fn object(&self) -> DomoResult<Map<String, Value>> {
        match self.value()? {
            Value::Object(o) => Ok(o),
            _ => Err(DomoError::bad_request("the body must be a JSON object")),
        }
    }
}

/// A field of a body: absent, `null`, or a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<T> {
    Absent,
    Null,
    Set(T),
}

impl<T> Field<T> {
    pub fn set(self) -> Option<T> {
        match self {
            Field::Set(v) => Some(v),
            _ => None,
        }
    }
}

fn get<'o>(o: &'o Map<String, Value>, key: &str) -> Option<&'o Value> {
    o.get(key)
}

/// A string field; an empty or blank string counts as `null` (cleared).
pub fn text(o: &Map<String, Value>, key: &str) -> DomoResult<Field<String>> {
    match get(o, key) {
        None => Ok(Field::Absent),
        Some(Value::Null) => Ok(Field::Null),
        // PostgreSQL text cannot hold NUL: refused on both backends alike.
        Some(Value::String(s)) if s.contains('\0') => Err(DomoError::bad_request(format!(
            "{key} must not contain NUL characters"
        ))),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Field::Null),
        Some(Value::String(s)) if s.len() > 1024 => Err(DomoError::bad_request(format!(
            "{key} is longer than 1024 bytes"
        ))),
        Some(Value::String(s)) => Ok(Field::Set(s.trim().to_string())),
        Some(other) => Err(DomoError::bad_request(format!(
            "{key} must be a string, got {}",
            kind_of(other)
        ))),
    }
}

/// A string field, or a number given for one (Domo's `employeeNumber` is a number in its
/// examples and a string in its reference).
pub fn text_or_number(o: &Map<String, Value>, key: &str) -> DomoResult<Field<String>> {
    match get(o, key) {
        Some(Value::Number(n)) => Ok(Field::Set(n.to_string())),
        Some(Value::String(_)) | Some(Value::Null) | None => text(o, key),
        Some(other) => Err(DomoError::bad_request(format!(
            "{key} must be a string or a number, got {}",
            kind_of(other)
        ))),
    }
}

/// A positive integer id (a number, or a string of digits).
pub fn id(o: &Map<String, Value>, key: &str) -> DomoResult<Field<i64>> {
    let bad = || DomoError::bad_request(format!("{key} must be a positive integer id"));
    match get(o, key) {
        None => Ok(Field::Absent),
        Some(Value::Null) => Ok(Field::Null),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|v| *v > 0)
            .map(Field::Set)
            .ok_or_else(bad),
        Some(Value::String(s)) => crate::domain::IdFormat::Decimal
            .parse(s)
            .map(Field::Set)
            .ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// A boolean field: `true`/`false`, or the strings `"true"`/`"false"` (pydomo sends
/// `"active": "true"`).
pub fn boolean(o: &Map<String, Value>, key: &str) -> DomoResult<Field<bool>> {
    match get(o, key) {
        None => Ok(Field::Absent),
        Some(Value::Null) => Ok(Field::Null),
        Some(Value::Bool(b)) => Ok(Field::Set(*b)),
        Some(Value::String(s)) => flag(s).map(Field::Set).ok_or_else(|| {
            DomoError::bad_request(format!("{key} must be true or false, got {s:?}"))
        }),
        Some(other) => Err(DomoError::bad_request(format!(
            "{key} must be a boolean, got {}",
            kind_of(other)
        ))),
    }
}

/// `true`/`false` in any case (Python's `str(True)` is `True`), or `1`/`0`.
pub fn flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// `limit` (1 to 500, default 50) and `offset` (0 or more, default 0).
pub fn paging(limit: Option<&str>, offset: Option<&str>) -> DomoResult<(i64, i64)> {
    let num = |name: &str, v: Option<&str>| -> DomoResult<Option<i64>> {
        match v.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                DomoError::bad_request(format!("{name} must be an integer, got {s:?}"))
            }),
        }
    };
    let limit = num("limit", limit)?.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(DomoError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    let offset = num("offset", offset)?.unwrap_or(0);
    if offset < 0 {
        return Err(DomoError::bad_request(format!(
            "offset must be 0 or more, got {offset}"
        )));
    }
    Ok((limit, offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn fields_take_the_types_domo_clients_send() {
        let o = obj(
            json!({"a": "true", "b": false, "c": "x", "n": 23432, "s": "0042",
                           "blank": " ", "id": "17", "neg": -1}),
        );
        assert_eq!(boolean(&o, "a").unwrap(), Field::Set(true));
        assert_eq!(boolean(&o, "b").unwrap(), Field::Set(false));
        assert!(boolean(&o, "c").is_err());
        assert_eq!(boolean(&o, "missing").unwrap(), Field::Absent);
        assert_eq!(text_or_number(&o, "n").unwrap(), Field::Set("23432".into()));
        assert_eq!(text_or_number(&o, "s").unwrap(), Field::Set("0042".into()));
        assert!(text(&o, "n")
            .unwrap_err()
            .message
            .contains("must be a string"));
        assert_eq!(text(&o, "blank").unwrap(), Field::Null);
        let nul = obj(json!({"n": "a\u{0}b", "z": "\u{0}"}));
        assert!(text(&nul, "n").unwrap_err().message.contains("NUL"));
        assert!(text(&nul, "z").is_err());
        assert_eq!(id(&o, "id").unwrap(), Field::Set(17));
        assert!(id(&o, "neg").is_err());
    }

    #[test]
    fn paging_is_bounded() {
        assert_eq!(paging(None, None).unwrap(), (50, 0));
        assert_eq!(paging(Some("500"), Some("1000")).unwrap(), (500, 1000));
        assert!(paging(Some("0"), None).is_err());
        assert!(paging(Some("501"), None).is_err());
        assert!(paging(Some("ten"), None).is_err());
        assert!(paging(None, Some("-1")).is_err());
    }

    #[test]
    fn flags_are_booleans_in_any_case() {
        assert_eq!(flag("False"), Some(false));
        assert_eq!(flag("yes"), None);
    }
}
