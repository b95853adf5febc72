//! The lenient layer (scim.md §5.7, T1–T18) as one explicit pass before strict handling:
//! attribute names in any case, URN-qualified and dotted keys, `"True"`/`"False"` strings,
//! single objects where arrays belong and one-element arrays where one object belongs,
//! `manager` as a bare string, `""` and `null` as "clear", unknown attributes and schema URNs
//! ignored. What comes out is canonical JSON the strict code can rely on.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
#[cfg(test)]
use super::schema::Registry;
use super::schema::{AttrType, Attribute, Mutability, ResourceType, Unknown};
use crate::domain::Extensions;

/// Coerce one attribute's value to its canonical shape. `Ok(None)` means "unassigned".
pub fn coerce(value: &Value, attr: &Attribute) -> ScimResult<Option<Value>> {
    if attr.multi_valued {
        let items: Vec<&Value> = match value {
            Value::Null => return Ok(None),
            Value::String(s) if s.is_empty() => return Ok(None),
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            if let Some(v) = coerce_single(item, attr)? {
                out.push(v);
            }
        }
        // RFC 7643 §2.4: `primary: true` appears at most once.
        let primaries = out
            .iter()
            .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
            .count();
        if primaries > 1 {
            return Err(ScimError::invalid_value(format!(
                "at most one value of {} may be primary",
                attr.name
            )));
        }
        return Ok(if out.is_empty() {
            None
        } else {
            Some(Value::Array(out))
        });
    }
    match value {
        // T7: Entra documents `manager: [{...}]`.
        Value::Array(a) if attr.ty == AttrType::Complex => match a.len() {
            0 => Ok(None),
            1 => coerce_single(&a[0], attr),
            _ => Err(ScimError::invalid_value(format!(
                "{} is single-valued",
                attr.name
            ))),
        },
        Value::Array(_) => Err(ScimError::invalid_value(format!(
            "{} is single-valued",
            attr.name
        ))),
        other => coerce_single(other, attr),
    }
}

/// One value (or one element of a multi-valued attribute).
pub fn coerce_single(value: &Value, attr: &Attribute) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if attr.ty == AttrType::Complex {
        let obj = match value {
            Value::Object(o) => o.clone(),
            // T7: `manager: "id"`; also `emails: ["a@b"]`.
            Value::String(s) if s.is_empty() => return Ok(None),
            Value::String(_) | Value::Number(_) | Value::Bool(_) if attr.sub("value").is_some() => {
                let mut m = Map::new();
                m.insert("value".into(), value.clone());
                m
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "{} must be an object",
                    attr.name
                )))
            }
        };
        let mut out = Map::new();
        for (k, v) in &obj {
            let Some(sub) = attr.sub(k) else {
                continue;
            };
            if let Some(v) = coerce_scalar(v, sub)? {
                out.insert(sub.name.clone(), v);
            }
        }
        return Ok(if out.is_empty() {
            None
        } else {
            Some(Value::Object(out))
        });
    }
    coerce_scalar(value, attr)
}

/// A simple value by its type. `""` clears (T8).
pub fn coerce_scalar(value: &Value, attr: &Attribute) -> ScimResult<Option<Value>> {
    let bad = || {
        ScimError::invalid_value(format!(
            "{} must be {}",
            attr.name,
            match attr.ty {
                AttrType::Boolean => "a boolean",
                AttrType::Integer => "an integer",
                AttrType::Decimal => "a number",
                AttrType::DateTime => "a dateTime such as 2026-11-22T10:00:00Z",
                _ => "a string",
            }
        ))
    };
    Ok(match (attr.ty, value) {
        (_, Value::Null) => None,
        (AttrType::Boolean, Value::Bool(b)) => Some(Value::Bool(*b)),
        // T2: "True"/"False" from Entra.
        (AttrType::Boolean, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            "" => None,
            _ => return Err(bad()),
        },
        (AttrType::Integer, Value::Number(n)) if n.is_i64() => Some(value.clone()),
        (AttrType::Decimal, Value::Number(_)) => Some(value.clone()),
        // Numbers as strings, as some identity providers send every custom attribute.
        (AttrType::Integer, Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
            Some(Value::from(s.trim().parse::<i64>().unwrap_or_default()))
        }
        (AttrType::Decimal, Value::String(s))
            if s.trim().parse::<f64>().is_ok_and(f64::is_finite) =>
        {
            serde_json::Number::from_f64(s.trim().parse::<f64>().unwrap_or_default())
                .map(Value::Number)
        }
        (AttrType::Integer | AttrType::Decimal, Value::String(s)) if s.is_empty() => None,
        (AttrType::DateTime, Value::String(s)) if s.is_empty() => None,
        (AttrType::DateTime, Value::String(s)) => {
            super::filter::parse_instant(s).ok_or_else(bad)?;
            Some(value.clone())
        }
        // PostgreSQL text cannot hold NUL: refuse it here, for both backends alike.
        (_, Value::String(s)) if s.contains('\0') => {
            return Err(ScimError::invalid_value(format!(
                "{} must not contain NUL characters",
                attr.name
            )))
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(s)) => {
            if s.is_empty() {
                None
            } else {
                Some(value.clone())
            }
        }
        _ => return Err(bad()),
    })
}

/// Normalise a POST/PUT body of resource type `rt` to canonical JSON: canonical attribute
/// names, extension attributes under their URN, values coerced, read-only and unknown
/// attributes dropped (T6, T10, T18). `password` is kept (it is write-only, not read-only).
/// An extension the organization has not registered follows `rt.unknown`.
pub fn resource(body: &Value, rt: &ResourceType) -> ScimResult<Value> {
    let Value::Object(obj) = body else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    let mut out = Map::new();
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = rt.extension_urn(key) {
            let Value::Object(inner) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_value(format!("{ext} must be an object")));
            };
            for (k, v) in inner {
                put(rt, &mut out, Some(ext), k, v)?;
            }
            continue;
        }
        if is_urn(key) {
            // URN-qualified attribute keys (`urn:...:User:employeeNumber`).
            if let Some((urn, name)) = key.rsplit_once(':') {
                if rt.schema_of(urn).is_some() {
                    put(rt, &mut out, Some(urn), name, value)?;
                    continue;
                }
            }
            if rt.schema_of(key).is_none() {
                unknown_extension(rt, &mut out, key, value)?;
            }
            continue;
        }
        put(rt, &mut out, None, key, value)?;
    }
    Ok(Value::Object(out))
}

/// Does `key` start with `urn:` (any case)?
pub fn is_urn(key: &str) -> bool {
    key.len() > 4 && key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// The most an unregistered extension kept as sent may hold, serialised.
pub const MAX_UNKNOWN_EXTENSION_BYTES: usize = 16 * 1024;

/// An attribute or object of an extension the organization has not registered: `key` is
/// the extension's URN with an object value, or a flat `urn:…:attr` key with any value.
fn unknown_extension(
    rt: &ResourceType,
    out: &mut Map<String, Value>,
    key: &str,
    value: &Value,
) -> ScimResult<()> {
    let (urn, name, value) = match value {
        Value::Object(_) => (key, None, value),
        _ => match key.rsplit_once(':') {
            Some((urn, name)) if is_urn(urn) && !name.is_empty() => (urn, Some(name), value),
            _ => (key, None, value),
        },
    };
    // `urn:…:attr.sub` (Entra's flat key of a sub-attribute): `attr` holding `sub`.
    let (name, sub) = match name.and_then(|n| n.split_once('.')) {
        Some((a, b)) => (Some(a), Some(b)),
        None => (name, None),
    };
    // What cannot be a schema's URN or an attribute's name is no extension: ignored (T10).
    let bad = |n: Option<&str>| n.is_some_and(|n| !super::schema::valid_name(n));
    if !super::schema::valid_urn(urn) || bad(name) || bad(sub) {
        return Ok(());
    }
    match rt.unknown {
        Unknown::Ignore => return Ok(()),
        Unknown::Reject => {
            return Err(ScimError::invalid_value(format!(
                "{urn} is not a schema extension of {} here: register it first \
                 (GET /scim/v2/Schemas lists those that are)",
                rt.name
            )))
        }
        Unknown::Keep => {}
    }
    if value.is_null() {
        return Ok(());
    }
    let slot = out
        .entry(urn.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    match (name, slot) {
        (None, slot) => match value {
            Value::Object(m) => {
                if let Value::Object(s) = slot {
                    for (k, v) in m {
                        if !v.is_null() && super::schema::valid_name(k) {
                            s.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            _ => {
                return Err(ScimError::invalid_value(format!("{urn} must be an object")));
            }
        },
        (Some(name), Value::Object(s)) => match sub {
            None => {
                s.insert(name.to_string(), value.clone());
            }
            Some(sub) => {
                let inner = s
                    .entry(name.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(inner) = inner {
                    inner.insert(sub.to_string(), value.clone());
                }
            }
        },
        (Some(_), _) => {}
    }
    if out
        .get(urn)
        .is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
    {
        out.remove(urn);
    }
    Ok(())
}

fn put(
    rt: &ResourceType,
    out: &mut Map<String, Value>,
    urn: Option<&str>,
    name: &str,
    value: &Value,
) -> ScimResult<()> {
    let Some(res) = rt.resolve(urn, name) else {
        return Ok(()); // unknown attribute: ignored (T10)
    };
    if res.attr.mutability == Mutability::ReadOnly {
        return Ok(()); // id, meta, groups echoed back by Okta (T6, T18)
    }
    let Some(v) = coerce(value, res.attr)? else {
        return Ok(());
    };
    match res.extension() {
        Some(ext) => {
            let slot = out
                .entry(ext.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = slot {
                m.insert(res.attr.name.clone(), v);
            }
        }
        None => {
            out.insert(res.attr.name.clone(), v);
        }
    }
    Ok(())
}

/// Type extension values by `rt`'s registered extensions, as every write does whichever
/// dialect made it (`directory::extensions`): a registered extension's attributes get their
/// canonical names and values coerced to their types (unknown and read-only attributes
/// dropped), its URN its canonical spelling (keys of one extension in several spellings are
/// merged); an unregistered extension follows `rt.unknown`. `old` is what the resource had (a
/// new one: `None`): a required extension binds a new resource, and one that has it.
pub fn extensions(
    ext: &Extensions,
    rt: &ResourceType,
    old: Option<&Extensions>,
) -> ScimResult<Extensions> {
    let mut out = Extensions::new();
    let mut unknown = Extensions::new();
    for (urn, obj) in regroup(ext, rt)? {
        let Value::Object(attrs) = &obj else { continue };
        match rt.extension(&urn) {
            Some(e) if !e.builtin => {
                let slot = out
                    .entry(e.urn().to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(typed) = slot else { continue };
                for (k, v) in attrs {
                    let Some(attr) = e.schema.attribute(k) else {
                        continue; // unknown attribute: ignored (T10)
                    };
                    if attr.mutability == Mutability::ReadOnly {
                        continue;
                    }
                    let v = coerce(v, attr).map_err(|mut err| {
                        err.detail = format!("{}:{}", e.urn(), err.detail);
                        err
                    });
                    if let Some(v) = v? {
                        check_binary(&v, attr, e.urn())?;
                        typed.insert(attr.name.clone(), v);
                    }
                }
            }
            // The Enterprise extension's attributes are columns of their own.
            Some(_) => {}
            None if !super::schema::valid_urn(&urn) => {}
            None => match rt.unknown {
                Unknown::Keep => {
                    let slot = unknown
                        .entry(urn.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(kept) = slot {
                        for (k, v) in attrs {
                            if super::schema::valid_name(k) && !v.is_null() {
                                kept.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    let size = slot.to_string().len();
                    if size > MAX_UNKNOWN_EXTENSION_BYTES {
                        return Err(ScimError::invalid_value(format!(
                            "{urn} is not registered here and holds {size} bytes; at most \
                             {MAX_UNKNOWN_EXTENSION_BYTES} of an unregistered extension are kept"
                        )));
                    }
                }
                Unknown::Ignore => {}
                Unknown::Reject => {
                    return Err(ScimError::invalid_value(format!(
                        "{urn} is not a schema extension of {} here: register it first \
                         (GET /scim/v2/Schemas lists those that are)",
                        rt.name
                    )))
                }
            },
        }
    }
    out.extend(unknown);
    out.retain(|_, v| v.as_object().is_some_and(|o| !o.is_empty()));
    for e in rt.stored_extensions() {
        let Some(obj) = out.get(e.urn()) else {
            let binds = old.is_none_or(|o| o.contains_key(e.urn()));
            if e.required && binds {
                return Err(ScimError::invalid_value(format!(
                    "the schema extension {} is required",
                    e.urn()
                )));
            }
            continue;
        };
        for attr in e.schema.attributes.iter().filter(|a| a.required) {
            if attr.mutability != Mutability::ReadOnly && obj.get(&attr.name).is_none() {
                return Err(ScimError::invalid_value(format!(
                    "{}:{} is required",
                    e.urn(),
                    attr.name
                )));
            }
        }
    }
    Ok(out)
}

/// A `binary` extension value is base64 (RFC 7643 §2.3.6), or a list of such (or of
/// complex values whose binary sub-attributes are).
fn check_binary(v: &Value, attr: &Attribute, urn: &str) -> ScimResult<()> {
    use base64::Engine;
    let ok = |v: &Value, a: &Attribute| match (a.ty, v) {
        (AttrType::Binary, Value::String(s)) => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .is_ok(),
        _ => true,
    };
    let each = |item: &Value| -> bool {
        match (attr.ty, item) {
            (AttrType::Complex, Value::Object(m)) => m
                .iter()
                .all(|(k, x)| attr.sub(k).is_none_or(|sub| ok(x, sub))),
            _ => ok(item, attr),
        }
    };
    let fine = match v {
        Value::Array(items) => items.iter().all(each),
        other => each(other),
    };
    if fine {
        Ok(())
    } else {
        Err(ScimError::invalid_value(format!(
            "{urn}:{} must be base64 (binary)",
            attr.name
        )))
    }
}

/// What a flat key made of an unregistered-looking URN really is, once the organization's
/// extensions are known: `urn:x:2.0:User:addr` with an object value is the attribute `addr`
/// of the registered `urn:x:2.0:User`; `urn:x:2.0` holding `User` is the registered
/// `urn:x:2.0:User` given something that is not an object (400).
fn regroup(ext: &Extensions, rt: &ResourceType) -> ScimResult<Vec<(String, Value)>> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for (urn, obj) in ext {
        if rt.extension(urn).is_some() {
            out.push((urn.clone(), obj.clone()));
            continue;
        }
        if let Some((parent, name)) = urn.rsplit_once(':') {
            let owner = rt
                .extension(parent)
                .filter(|e| !e.builtin && e.schema.attribute(name).is_some());
            if let Some(e) = owner {
                let mut m = Map::new();
                m.insert(name.to_string(), obj.clone());
                out.push((e.urn().to_string(), Value::Object(m)));
                continue;
            }
        }
        if let Value::Object(members) = obj {
            for (k, v) in members {
                if let Some(e) = rt.extension(&format!("{urn}:{k}")) {
                    if !v.is_object() {
                        return Err(ScimError::invalid_value(format!(
                            "{} must be an object",
                            e.urn()
                        )));
                    }
                }
            }
        }
        out.push((urn.clone(), obj.clone()));
    }
    Ok(out)
}

/// Check required attributes of a normalised resource.
/// (A required extension is the directory's to check: `extensions` knows whether the
/// resource is new or already holds it.)
pub fn check_required(resource: &Value, rt: &ResourceType) -> ScimResult<()> {
    for res in rt.attributes() {
        if !res.attr.required || res.attr.mutability == Mutability::ReadOnly {
            continue;
        }
        let container = match res.extension() {
            // An extension's required attributes bind when the extension is there (RFC
            // 7643 §3.3); a required extension is checked above.
            Some(ext) => match resource.get(ext) {
                Some(c) => Some(c),
                None => continue,
            },
            None => Some(resource),
        };
        let present = container
            .and_then(|c| c.get(&res.attr.name))
            .is_some_and(|v| !v.is_null());
        if !present {
            return Err(ScimError::invalid_value(match res.extension() {
                Some(ext) if res.in_values() => format!("{ext}:{} is required", res.attr.name),
                _ => format!("{} is required", res.attr.name),
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_SCHEMA;
    use serde_json::json;

    #[test]
    fn bodies_from_identity_providers_become_canonical() {
        let rt = Registry::builtin().user();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:x:unknown"],
            "id": "ignored", "meta": {"resourceType": "User"},
            "USERNAME": "bjensen", "Active": "False", "addresses": null, "roles": [],
            "emails": {"value": "b@x.com", "primary": "True"},
            "nickName": "", "unknownThing": 1,
            ENTERPRISE_SCHEMA: {"manager": "42", "employeeNumber": "7"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D",
        });
        let out = resource(&body, rt).unwrap();
        assert_eq!(
            out,
            json!({
                "userName": "bjensen", "active": false,
                "emails": [{"value": "b@x.com", "primary": true}],
                ENTERPRISE_SCHEMA: {"manager": {"value": "42"}, "employeeNumber": "7", "department": "R&D"},
            })
        );
    }

    #[test]
    fn shapes_that_cannot_be_coerced_are_invalid_values() {
        let rt = Registry::builtin().user();
        for body in [
            json!({"userName": "a", "active": "maybe"}),
            json!({"userName": "a", "name": "Bob"}),
            json!({"userName": ["a", "b"]}),
            json!({"userName": "a", ENTERPRISE_SCHEMA: 5}),
            // Strict types (RFC 7643 §2.3): no number or boolean is read as a string, and
            // no string as a number; only booleans take "True"/"False" (T2).
            json!({"userName": 5}),
            json!({"userName": true}),
            json!({"userName": "a", ENTERPRISE_SCHEMA: {"employeeNumber": 7}}),
            json!({"userName": "a", "emails": [5]}),
            json!({"userName": "a", "emails": [{"value": "a@b", "primary": 1}]}),
            json!({"userName": "a", "name": {"givenName": false}}),
        ] {
            let e = resource(&body, rt).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidValue"), "{body}");
        }
        assert!(resource(&json!([1]), rt).is_err());
        let two = json!({"userName": "a", "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": "True"}]});
        assert_eq!(
            resource(&two, rt).unwrap_err().scim_type,
            Some("invalidValue")
        );
        let e = check_required(&json!({"displayName": "x"}), rt).unwrap_err();
        assert!(e.detail.contains("userName"));
    }

    #[test]
    fn keys_with_multi_byte_text_are_unknown_attributes_not_panics() {
        let rt = Registry::builtin().user();
        // `key[..4]` used to cut inside the wide character of "abcü" / "urn😀".
        for w in ["ü", "日本", "😀"] {
            let body = json!({
                "userName": "a",
                format!("abc{w}"): 1,
                format!("urn{w}"): 1,
                format!("ur{w}:x"): 1,
                format!("{w}"): 1,
                format!("urn:{w}:title"): "ignored",
                format!("{ENTERPRISE_SCHEMA}:{w}"): "ignored",
                format!("urn:ietf:params:scim:schemas:core:2.0:User:{w}"): "ignored",
            });
            assert_eq!(
                resource(&body, rt).unwrap(),
                json!({"userName": "a"}),
                "{w}"
            );
        }
        // Wide values pass through as sent.
        let out = resource(
            &json!({"userName": "日本😀", "urn:ietf:params:scim:schemas:core:2.0:User:title": "ü"}),
            rt,
        )
        .unwrap();
        assert_eq!(out, json!({"userName": "日本😀", "title": "ü"}));
    }

    #[test]
    fn unqualified_enterprise_attributes_land_in_the_extension() {
        let rt = Registry::builtin().user();
        let out = resource(
            &json!({"userName": "a", "employeeNumber": "7", "manager": "42"}),
            rt,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"userName": "a", ENTERPRISE_SCHEMA: {"employeeNumber": "7", "manager": {"value": "42"}}})
        );
    }

    #[test]
    fn manager_as_one_element_array() {
        let rt = Registry::builtin().user();
        let out = resource(&json!({"userName": "a", ENTERPRISE_SCHEMA: {"manager": [{"value": "9", "$ref": null}]}}), rt).unwrap();
        assert_eq!(out[ENTERPRISE_SCHEMA]["manager"], json!({"value": "9"}));
    }
}
