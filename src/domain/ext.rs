//! Extension values (custom SCIM schema extensions, RFC 7643 §3.3) as rows of the value
//! store, and back. A pure codec: it needs no schema, because each row carries the JSON type
//! of its value, so what is read back is exactly what was written.
//!
//! - `attribute` is the URN-qualified path: `urn:…:User:costCenter`, or
//!   `urn:…:User:badge.label` for a sub-attribute of a complex attribute;
//! - `position` is 0 for a single value, 1..n for the elements of a multi-valued one (an
//!   element of a complex multi-valued attribute is one row per sub-attribute, sharing its
//!   position);
//! - `kind` is `s` (string), `n` (number, also in `value_num`), `b` (boolean) or `j` (any
//!   other JSON, kept as its text: deeper structures of an extension kept unregistered).

use serde_json::{Map, Value};

/// Extension values by schema URN: each an object of attributes, as SCIM shows it.
pub type Extensions = Map<String, Value>;

/// One stored value.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtRow {
    pub attribute: String,
    pub position: i32,
    pub value: String,
    pub kind: &'static str,
    pub value_num: Option<f64>,
}

impl ExtRow {
    /// The value lower-cased, for case-insensitive comparisons (`value_lower`).
    pub fn value_lower(&self) -> String {
        self.value.to_lowercase()
    }
}

/// The number a string spells (`"1042"`, `"-2.5"`), if it is one.
fn number_text(s: &str) -> Option<f64> {
    let t = s.trim();
    let numeric = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && t.bytes().any(|b| b.is_ascii_digit());
    numeric
        .then(|| t.parse::<f64>().ok())
        .flatten()
        .filter(|f| f.is_finite())
}

/// Seconds since the epoch, with the fraction: how a dateTime is kept in `value_num`.
pub fn instant_seconds(t: &chrono::DateTime<chrono::FixedOffset>) -> f64 {
    t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9
}

/// The longest value a row holds, in bytes: an index entry must fit PostgreSQL's limit.
pub const MAX_VALUE_BYTES: usize = 2000;

fn scalar(attribute: String, position: i32, v: &Value) -> Option<ExtRow> {
    let (value, kind, num) = match v {
        Value::Null => return None,
        // A string that is an RFC 3339 instant also keeps its seconds since the epoch, so a
        // dateTime attribute compares as instants (a string attribute never reads it).
        // So does a string that is a number (a value kept before its schema said it is an
        // integer), so a filter on the registered type finds it.
        Value::String(s) => (
            s.clone(),
            "s",
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| instant_seconds(&t))
                .or_else(|| number_text(s)),
        ),
        Value::Number(n) => (n.to_string(), "n", n.as_f64()),
        Value::Bool(b) => (b.to_string(), "b", None),
        other => (other.to_string(), "j", None),
    };
    Some(ExtRow {
        attribute,
        position,
        value,
        kind,
        value_num: num,
    })
}

/// One attribute's rows (`path` is `urn:attr`). An object becomes its members as
/// sub-attributes; an array its elements at positions 1..n.
fn attribute_rows(path: &str, v: &Value, out: &mut Vec<ExtRow>) {
    let object = |o: &Map<String, Value>, position: i32, out: &mut Vec<ExtRow>| {
        for (sub, sv) in o {
            out.extend(scalar(format!("{path}.{sub}"), position, sv));
        }
    };
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let position = i as i32 + 1;
                match item {
                    Value::Object(o) => object(o, position, out),
                    other => out.extend(scalar(path.to_string(), position, other)),
                }
            }
        }
        Value::Object(o) => object(o, 0, out),
        other => out.extend(scalar(path.to_string(), 0, other)),
    }
}

/// The rows of `ext`, in a stable order.
pub fn to_rows(ext: &Extensions) -> Vec<ExtRow> {
    let mut out = Vec::new();
    for (urn, obj) in ext {
        let Value::Object(attrs) = obj else { continue };
        for (name, v) in attrs {
            attribute_rows(&format!("{urn}:{name}"), v, &mut out);
        }
    }
    out
}

/// Split a stored path into (URN, attribute, sub-attribute).
pub fn split_path(path: &str) -> Option<(&str, &str, Option<&str>)> {
    let (urn, rest) = path.rsplit_once(':')?;
    Some(match rest.split_once('.') {
        Some((name, sub)) => (urn, name, Some(sub)),
        None => (urn, rest, None),
    })
}

fn decode(value: String, kind: &str) -> Value {
    match kind {
        "n" => serde_json::from_str::<serde_json::Number>(&value)
            .map(Value::Number)
            .unwrap_or(Value::String(value)),
        "b" => Value::Bool(value == "true"),
        "j" => serde_json::from_str(&value).unwrap_or(Value::String(value)),
        _ => Value::String(value),
    }
}

/// Rebuild the extensions from rows `(attribute, position, value, kind)` in any order.
pub fn from_rows(rows: impl IntoIterator<Item = (String, i32, String, String)>) -> Extensions {
    let mut rows: Vec<(String, i32, String, String)> = rows.into_iter().collect();
    // Elements in position order; sub-attributes of one element together.
    rows.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    let mut out = Extensions::new();
    for (path, position, value, kind) in rows {
        let Some((urn, name, sub)) = split_path(&path) else {
            continue;
        };
        let v = decode(value, &kind);
        let attrs = out
            .entry(urn.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(attrs) = attrs else {
            continue;
        };
        if position == 0 {
            match sub {
                None => {
                    attrs.insert(name.to_string(), v);
                }
                Some(sub) => {
                    let slot = attrs
                        .entry(name.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = slot {
                        m.insert(sub.to_string(), v);
                    }
                }
            }
            continue;
        }
        let slot = attrs
            .entry(name.to_string())
            .or_insert_with(|| Value::Array(vec![]));
        let Value::Array(items) = slot else { continue };
        let index = position as usize - 1;
        // Positions are dense from 1 as written; a gap (never written) closes up.
        let index = index.min(items.len());
        match sub {
            None => {
                if index == items.len() {
                    items.push(v);
                } else {
                    items[index] = v;
                }
            }
            Some(sub) => {
                if index == items.len() {
                    items.push(Value::Object(Map::new()));
                }
                if let Value::Object(m) = &mut items[index] {
                    m.insert(sub.to_string(), v);
                }
            }
        }
    }
    out
}

/// The first value too long to store, as (path, bytes).
pub fn too_long(ext: &Extensions) -> Option<(String, usize)> {
    to_rows(ext)
        .into_iter()
        .find(|r| r.value.len() > MAX_VALUE_BYTES)
        .map(|r| (r.attribute, r.value.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(v: Value) {
        let ext = v.as_object().unwrap().clone();
        let rows = to_rows(&ext);
        let back = from_rows(
            rows.into_iter()
                .rev()
                .map(|r| (r.attribute, r.position, r.value, r.kind.to_string())),
        );
        assert_eq!(Value::Object(back), v);
    }

    #[test]
    fn every_shape_reads_back_as_written() {
        round_trip(json!({
            "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {
                "costCenter": "CC-42", "level": 7, "ratio": 0.25, "vip": false,
                "hired": "2026-01-02T03:04:05Z",
                "tags": ["a", "b", "c"],
                "badge": {"label": "L", "number": 3},
                "badges": [{"label": "x", "primary": true}, {"label": "y"}],
                "deep": [[1, 2], {"a": {"b": 1}}],
            },
            "urn:okta:com.example:1.0:user": {"nested": {"x": [1, {"y": null}]}},
        }));
    }

    #[test]
    fn rows_carry_kind_and_number() {
        let ext = json!({"urn:x:User": {"n": 12, "s": "Ab", "m": ["p", "q"]}});
        let rows = to_rows(ext.as_object().unwrap());
        let n = rows.iter().find(|r| r.attribute == "urn:x:User:n").unwrap();
        assert_eq!((n.kind, n.value_num, n.position), ("n", Some(12.0), 0));
        let s = rows.iter().find(|r| r.attribute == "urn:x:User:s").unwrap();
        assert_eq!((s.kind, s.value_lower().as_str()), ("s", "ab"));
        let m: Vec<i32> = rows
            .iter()
            .filter(|r| r.attribute == "urn:x:User:m")
            .map(|r| r.position)
            .collect();
        assert_eq!(m, [1, 2]);
        assert_eq!(
            split_path("urn:a.b:1.0:User:badge.label"),
            Some(("urn:a.b:1.0:User", "badge", Some("label")))
        );
    }
}
