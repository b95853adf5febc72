//! Strict JSON types for request bodies. poem-openapi's parsers coerce (a number or a
//! boolean where a string is declared parses as its text), so `{"username": 5}` would name a
//! user `"5"`. Before a body is parsed, `check` walks it against the schema the OpenAPI
//! document declares for it and refuses the first value of the wrong JSON type, naming its
//! path. Generic over any poem-openapi type, so every dialect's bodies can use it.

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde_json::Value;

/// A value of the wrong type: its path (`profile.givenName`, `items.2`) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub path: String,
    pub message: String,
}

/// Check `value` against `T`'s schema.
pub fn check<T: Type>(value: &Value) -> Result<(), Mismatch> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    walk(&registry, &T::schema_ref(), value, "", 0)
}

fn resolve<'a>(registry: &'a Registry, r: &'a MetaSchemaRef) -> Option<&'a MetaSchema> {
    match r {
        MetaSchemaRef::Inline(s) => Some(s),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Deeper than this, a body is refused before it is walked further (serde_json already
/// stops at 128 levels).
const MAX_DEPTH: usize = 64;

fn walk(
    registry: &Registry,
    r: &MetaSchemaRef,
    v: &Value,
    path: &str,
    depth: usize,
) -> Result<(), Mismatch> {
    let Some(s) = resolve(registry, r) else {
        return Ok(());
    };
    if depth > MAX_DEPTH {
        return Err(Mismatch {
            path: path.to_string(),
            message: "nested too deeply".into(),
        });
    }
    for part in &s.all_of {
        walk(registry, part, v, path, depth + 1)?;
    }
    if v.is_null() {
        // Whether null is allowed is the parser's to say.
        return Ok(());
    }
    let ok = match s.ty {
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    };
    if !ok {
        return Err(Mismatch {
            path: path.to_string(),
            message: format!("Expected {}, received {}", s.ty, kind(v)),
        });
    }
    match v {
        Value::Object(o) => {
            for (name, prop) in &s.properties {
                if let Some(child) = o.get(*name) {
                    walk(registry, prop, child, &join(path, name), depth + 1)?;
                }
            }
            if let Some(ap) = &s.additional_properties {
                for (k, child) in o {
                    if !s.properties.iter().any(|(n, _)| n == k) {
                        walk(registry, ap, child, &join(path, k), depth + 1)?;
                    }
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = &s.items {
                for (i, child) in a.iter().enumerate() {
                    walk(
                        registry,
                        items,
                        child,
                        &join(path, &i.to_string()),
                        depth + 1,
                    )?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem_openapi::types::MaybeUndefined;
    use poem_openapi::Object;
    use serde_json::json;

    #[derive(Object)]
    #[oai(rename_all = "camelCase")]
    struct Inner {
        given_name: Option<String>,
    }

    #[derive(Object)]
    #[oai(rename_all = "camelCase")]
    struct Outer {
        name: MaybeUndefined<String>,
        flag: Option<bool>,
        count: Option<i64>,
        inner: Option<Inner>,
        tags: Option<Vec<String>>,
        data: Option<std::collections::BTreeMap<String, Value>>,
    }

    #[test]
    fn wrong_json_types_are_refused_with_their_path() {
        assert!(
            check::<Outer>(&json!({"name": "x", "flag": true, "count": 3,
            "inner": {"givenName": "a"}, "tags": ["a"], "data": {"k": [1, {"z": 2}]}}))
            .is_ok()
        );
        assert!(check::<Outer>(&json!({"name": null, "inner": null})).is_ok());
        for (body, path) in [
            (json!({"name": 5}), "name"),
            (json!({"flag": "true"}), "flag"),
            (json!({"count": "3"}), "count"),
            (json!({"count": 1.5}), "count"),
            (json!({"inner": {"givenName": 7}}), "inner.givenName"),
            (json!({"inner": "x"}), "inner"),
            (json!({"tags": ["a", 2]}), "tags.1"),
            (json!({"data": []}), "data"),
        ] {
            let e = check::<Outer>(&body).unwrap_err();
            assert_eq!(e.path, path, "{body}");
        }
    }
}
