//! Custom SCIM extension values in the console's forms, for users and groups alike
//! (docs/scim-extensions.md): an input by type for every attribute an admin may change —
//! text, number, URL, a yes/no choice; one input per sub-attribute of a complex attribute; a
//! value per line for a multi-valued simple one; the JSON array SCIM would send for a
//! multi-valued complex one. What the form sends is text; the directory types it by the
//! registry exactly as it types a SCIM client's (`"7"` for an integer), so a bad value is the
//! same error as over SCIM, and never-returned or read-only attributes are not offered.
//!
//! Field names: `x.<urn>:<attr>`, `x.<urn>:<attr>.<sub>`, `x.<urn>:<attr>[]`.

use std::collections::BTreeMap;

use maud::{html, Markup};
use serde_json::{Map, Value};

use super::view;
use crate::scim::schema::{AttrType, Attribute, Extension, Mutability, ResourceType, Returned};

/// The form's extension fields by name.
pub(crate) type Fields = BTreeMap<String, String>;

/// Can an admin see and change `a` here?
fn editable(a: &Attribute) -> bool {
    a.mutability != Mutability::ReadOnly && a.returned != Returned::Never
}

fn name(urn: &str, attr: &str) -> String {
    format!("x.{urn}:{attr}")
}

fn list_name(urn: &str, attr: &str) -> String {
    format!("x.{urn}:{attr}[]")
}

/// A scalar as a form shows it.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The attributes of `rt`'s stored extensions an admin may change, with their extension.
fn attributes(rt: &ResourceType) -> impl Iterator<Item = (&Extension, &Attribute)> {
    rt.stored_extensions()
        .flat_map(|e| e.schema.attributes.iter().map(move |a| (e, a)))
        .filter(|(_, a)| editable(a))
}

/// The form fields showing `ext` (the resource's values) for `rt`'s editable attributes.
pub(crate) fn values(rt: &ResourceType, ext: &Map<String, Value>) -> Fields {
    let mut out = Fields::new();
    for (e, a) in attributes(rt) {
        let v = ext
            .get(e.urn())
            .and_then(|o| o.get(&a.name))
            .unwrap_or(&Value::Null);
        match (a.multi_valued, a.ty) {
            (true, AttrType::Complex) => {
                let shown = match v {
                    Value::Array(items) if !items.is_empty() => {
                        serde_json::to_string_pretty(v).unwrap_or_default()
                    }
                    _ => String::new(),
                };
                out.insert(list_name(e.urn(), &a.name), shown);
            }
            (true, _) => {
                let lines: Vec<String> = v.as_array().into_iter().flatten().map(text).collect();
                out.insert(list_name(e.urn(), &a.name), lines.join("\n"));
            }
            (false, AttrType::Complex) => {
                for sub in a.sub_attributes.iter().filter(|s| editable(s)) {
                    let sv = v.get(&sub.name).map(text).unwrap_or_default();
                    out.insert(name(e.urn(), &format!("{}.{}", a.name, sub.name)), sv);
                }
            }
            (false, _) => {
                out.insert(name(e.urn(), &a.name), text(v));
            }
        }
    }
    out
}

/// An example element of a multi-valued complex attribute, for its input's placeholder.
fn items_hint(a: &Attribute) -> String {
    let example: Map<String, Value> = a
        .sub_attributes
        .iter()
        .filter(|s| editable(s))
        .map(|s| {
            let v = match s.ty {
                AttrType::Boolean => Value::Bool(true),
                AttrType::Integer | AttrType::Decimal => Value::from(1),
                _ => Value::String("…".into()),
            };
            (s.name.clone(), v)
        })
        .collect();
    Value::Array(vec![Value::Object(example)]).to_string()
}

/// Apply the form's fields to `ext` (the resource's values): a field present in the form sets
/// (or, empty, removes) its attribute; attributes the form does not carry stay as they are.
/// The values stay text for the directory to type; an array that is not JSON is an error
/// naming the attribute.
pub(crate) fn apply(
    rt: &ResourceType,
    form: &Fields,
    ext: &mut Map<String, Value>,
) -> Result<(), String> {
    let trimmed = |v: &str| {
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_string())
    };
    for (e, a) in attributes(rt) {
        let urn = e.urn();
        let set = |value: Option<Value>, ext: &mut Map<String, Value>| {
            let obj = ext
                .entry(urn.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(o) = obj.as_object_mut() {
                match value {
                    Some(v) => o.insert(a.name.clone(), v),
                    None => o.remove(&a.name),
                };
            }
            if obj.as_object().is_some_and(Map::is_empty) {
                ext.remove(urn);
            }
        };
        match (a.multi_valued, a.ty) {
            (true, complex) => {
                let Some(v) = form.get(&list_name(urn, &a.name)) else {
                    continue;
                };
                let value = match trimmed(v) {
                    None => None,
                    Some(t) if complex == AttrType::Complex => {
                        match serde_json::from_str::<Value>(&t) {
                            Ok(Value::Array(items)) => Some(Value::Array(items)),
                            Ok(one @ Value::Object(_)) => Some(Value::Array(vec![one])),
                            _ => {
                                return Err(format!(
                                    "{urn}:{} takes a JSON array, such as {}",
                                    a.name,
                                    items_hint(a)
                                ))
                            }
                        }
                    }
                    Some(t) => Some(Value::Array(
                        t.lines().filter_map(trimmed).map(Value::String).collect(),
                    )),
                };
                set(value, ext);
            }
            (false, AttrType::Complex) => {
                let mut current = ext
                    .get(urn)
                    .and_then(|o| o.get(&a.name))
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let mut seen = false;
                for sub in a.sub_attributes.iter().filter(|s| editable(s)) {
                    let Some(v) = form.get(&name(urn, &format!("{}.{}", a.name, sub.name))) else {
                        continue;
                    };
                    seen = true;
                    match trimmed(v) {
                        Some(t) => current.insert(sub.name.clone(), Value::String(t)),
                        None => current.remove(&sub.name),
                    };
                }
                if seen {
                    set((!current.is_empty()).then_some(Value::Object(current)), ext);
                }
            }
            (false, _) => {
                let Some(v) = form.get(&name(urn, &a.name)) else {
                    continue;
                };
                set(trimmed(v).map(Value::String), ext);
            }
        }
    }
    Ok(())
}

/// One input by the attribute's type.
fn input(label: &str, field: &str, a: &Attribute, value: &str) -> Markup {
    match a.ty {
        AttrType::Boolean => html! {
            div.field {
                label for={ "f-" (field) } { (label) }
                select id={ "f-" (field) } name=(field) {
                    option value="" selected[value.is_empty()] { "—" }
                    option value="true" selected[value == "true"] { "yes" }
                    option value="false" selected[value == "false"] { "no" }
                }
            }
        },
        AttrType::Integer | AttrType::Decimal => view::field(label, field, "number", value, None),
        AttrType::Reference => view::field(label, field, "url", value, None),
        _ => view::field(label, field, "text", value, None),
    }
}

/// The inputs of `rt`'s editable extension attributes, filled from `form`; `error` (a
/// directory's message naming the attribute) above them.
pub(crate) fn inputs(rt: &ResourceType, form: &Fields, error: Option<&String>) -> Markup {
    let attrs: Vec<_> = attributes(rt).collect();
    if attrs.is_empty() {
        return html! {};
    }
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    html! {
        fieldset.extensions.invalid[error.is_some()] {
            legend { "Schema extensions" }
            @if let Some(e) = error { span.message role="alert" { (e) } }
            @for (e, a) in &attrs {
                @let label = format!("{} ({})", a.name, e.schema.name);
                @match (a.multi_valued, a.ty) {
                    (true, ty) => {
                        @let field = list_name(e.urn(), &a.name);
                        @let (hint, rows) = if ty == AttrType::Complex {
                            (format!("A JSON array, such as {}", items_hint(a)), 4)
                        } else {
                            ("One value per line".to_string(), 3)
                        };
                        div.field {
                            label for={ "f-" (field) } { (label) }
                            textarea id={ "f-" (field) } name=(field) rows=(rows) spellcheck="false"
                                aria-describedby={ "f-" (field) "-hint" } { (get(&field)) }
                            span.hint id={ "f-" (field) "-hint" } { (hint) }
                        }
                    }
                    (false, AttrType::Complex) => {
                        @for sub in a.sub_attributes.iter().filter(|s| editable(s)) {
                            @let field = name(e.urn(), &format!("{}.{}", a.name, sub.name));
                            (input(&format!("{} {} ({})", a.name, sub.name, e.schema.name), &field, sub, &get(&field)))
                        }
                    }
                    (false, _) => {
                        @let field = name(e.urn(), &a.name);
                        (input(&label, &field, a, &get(&field)))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{Kind, Registration, Registry, Schema, Unknown};
    use serde_json::json;

    fn registry() -> Registry {
        let doc = json!({"id": "urn:t:2.0:User", "name": "T", "attributes": [
            {"name": "level", "type": "integer"},
            {"name": "tags", "type": "string", "multiValued": true},
            {"name": "badges", "type": "complex", "multiValued": true,
             "subAttributes": [{"name": "label", "type": "string"}]},
            {"name": "desk", "type": "complex",
             "subAttributes": [{"name": "floor", "type": "integer"}, {"name": "room", "type": "string"}]},
            {"name": "pin", "type": "string", "mutability": "writeOnly"},
            {"name": "seen", "type": "string", "mutability": "readOnly"}
        ]});
        let schema = std::sync::Arc::new(Schema::parse(&doc).unwrap());
        Registry::build(
            &[Registration {
                schema,
                kind: Kind::User,
                required: false,
            }],
            Unknown::Keep,
        )
    }

    #[test]
    fn values_round_trip_through_the_form() {
        let reg = registry();
        let rt = reg.user();
        let mut ext = json!({"urn:t:2.0:User": {
            "level": 3, "tags": ["a", "b"], "badges": [{"label": "gold"}],
            "desk": {"floor": 2, "room": "B"}, "pin": "1234", "seen": "x"
        }})
        .as_object()
        .unwrap()
        .clone();
        let form = values(rt, &ext);
        assert_eq!(form["x.urn:t:2.0:User:level"], "3");
        assert_eq!(form["x.urn:t:2.0:User:tags[]"], "a\nb");
        assert!(form["x.urn:t:2.0:User:badges[]"].contains("\"gold\""));
        assert_eq!(form["x.urn:t:2.0:User:desk.floor"], "2");
        // Never returned, read-only: not in the form.
        assert!(!form.keys().any(|k| k.contains("pin") || k.contains("seen")));

        let mut edited = form.clone();
        edited.insert("x.urn:t:2.0:User:tags[]".into(), "a\n\n c \n".into());
        edited.insert("x.urn:t:2.0:User:desk.room".into(), "".into());
        edited.insert(
            "x.urn:t:2.0:User:badges[]".into(),
            "{\"label\": \"new\"}".into(),
        );
        apply(rt, &edited, &mut ext).unwrap();
        let got = &ext["urn:t:2.0:User"];
        assert_eq!(got["tags"], json!(["a", "c"]));
        assert_eq!(got["desk"], json!({"floor": "2"}));
        assert_eq!(got["badges"], json!([{"label": "new"}]));
        // What the form does not carry stays.
        assert_eq!(got["pin"], "1234");
        assert_eq!(got["seen"], "x");

        let mut bad = form;
        bad.insert("x.urn:t:2.0:User:badges[]".into(), "gold".into());
        let e = apply(rt, &bad, &mut ext).unwrap_err();
        assert!(
            e.starts_with("urn:t:2.0:User:badges takes a JSON array"),
            "{e}"
        );
    }
}
