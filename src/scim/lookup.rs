//! Filter evaluation over canonical resource JSON, guided by the schema registry.

use serde_json::Value;

use super::error::{ScimError, ScimResult};
use super::filter::{AttrPath, CompValue, Filter, Lookup, ValueKind};
#[cfg(test)]
use super::schema::Registry;
use super::schema::{AttrType, Attribute, ResourceType};

pub struct JsonLookup<'a> {
    pub rt: &'a ResourceType,
}

fn key_ci<'v>(node: &'v Value, name: &str) -> Option<&'v Value> {
    let obj = node.as_object()?;
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

pub fn kind_of(attr: &Attribute) -> ValueKind {
    match attr.ty {
        AttrType::Boolean => ValueKind::Boolean,
        AttrType::Integer | AttrType::Decimal => ValueKind::Number,
        AttrType::DateTime => ValueKind::DateTime,
        AttrType::Binary => ValueKind::Binary,
        // A complex attribute compared directly compares its `value`.
        AttrType::Complex => attr
            .sub("value")
            .map(kind_of)
            .unwrap_or(ValueKind::String { case_exact: false }),
        _ => ValueKind::String {
            case_exact: attr.case_exact,
        },
    }
}

/// Is `path` the `schemas` attribute of `rt` (RFC 7643 §3: every resource has it, a
/// multi-valued list of schema URIs)? It is not in the registry (bodies never set it; it
/// follows from the attributes present) but filters may name it:
/// `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`.
pub fn is_schemas(rt: &ResourceType, path: &AttrPath) -> bool {
    path.name.eq_ignore_ascii_case("schemas")
        && path.sub.is_none()
        && path
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(rt.schema))
}

/// URNs compare case-insensitively, as the registry looks them up.
pub const SCHEMAS_KIND: ValueKind = ValueKind::String { case_exact: false };

impl<'a> JsonLookup<'a> {
    fn attr(&self, path: &AttrPath) -> Option<(Option<&'a str>, &'a Attribute)> {
        let res = self.rt.resolve(path.urn.as_deref(), &path.name)?;
        Some((res.extension(), res.attr))
    }

    fn top<'v>(&self, node: &'v Value, path: &AttrPath) -> Option<(&'v Value, &'a Attribute)> {
        let (ext, attr) = self.attr(path)?;
        let container = match ext {
            Some(e) => node.get(e)?,
            None => node,
        };
        Some((key_ci(container, &attr.name)?, attr))
    }
}

impl Lookup for JsonLookup<'_> {
    fn values<'v>(
        &self,
        node: &'v Value,
        parent: Option<&AttrPath>,
        path: &AttrPath,
    ) -> Vec<&'v Value> {
        if parent.is_some() {
            // Inside a value filter, paths are sub-attributes of the element; an element of a
            // multi-valued simple attribute (an extension's `tags`) is its own `value`.
            if !node.is_object() && path.name.eq_ignore_ascii_case("value") {
                return vec![node];
            }
            return key_ci(node, &path.name).into_iter().collect();
        }
        if is_schemas(self.rt, path) {
            return match node.get("schemas") {
                Some(Value::Array(items)) => items.iter().collect(),
                _ => vec![],
            };
        }
        let Some((v, attr)) = self.top(node, path) else {
            return vec![];
        };
        let pick = |e: &'v Value| -> Option<&'v Value> {
            match &path.sub {
                Some(s) => key_ci(e, s),
                // A complex value compares by its `value`; one without (`name`) is present
                // when any sub-attribute is.
                None if attr.ty == AttrType::Complex && attr.sub("value").is_some() => {
                    key_ci(e, "value")
                }
                None => Some(e),
            }
        };
        match v {
            Value::Array(items) if attr.multi_valued => items.iter().filter_map(pick).collect(),
            other => pick(other).into_iter().collect(),
        }
    }

    fn elements<'v>(&self, node: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
        match self.top(node, path) {
            Some((Value::Array(items), _)) => items.iter().collect(),
            Some((v @ Value::Object(_), _)) => vec![v],
            _ => vec![],
        }
    }

    fn kind(&self, parent: Option<&AttrPath>, path: &AttrPath) -> ValueKind {
        let string = ValueKind::String { case_exact: false };
        match parent {
            Some(p) => match self.attr(p) {
                // A simple multi-valued attribute's elements are its `value`.
                Some((_, a)) if a.ty != AttrType::Complex => kind_of(a),
                Some((_, a)) => a.sub(&path.name).map(kind_of).unwrap_or(string),
                None => string,
            },
            None if is_schemas(self.rt, path) => SCHEMAS_KIND,
            None => match self.attr(path) {
                Some((_, a)) => match &path.sub {
                    Some(s) => a.sub(s).map(kind_of).unwrap_or(string),
                    None => kind_of(a),
                },
                None => string,
            },
        }
    }
}

/// What the evaluator cannot say (it only answers "match" or "no match"): `gt`, `ge`, `lt`
/// and `le` on a boolean or binary attribute are a failed request, 400 `invalidFilter`
/// (RFC 7644 §3.4.2.2). With `parent`, `f` is a value filter of that multi-valued attribute.
/// Both the SQL translation and PATCH value filters check through here.
pub fn check_operators(f: &Filter, rt: &ResourceType, parent: Option<&AttrPath>) -> ScimResult<()> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_operators(a, rt, parent)?;
            check_operators(b, rt, parent)
        }
        Filter::Not(a) => check_operators(a, rt, parent),
        Filter::Present(_) => Ok(()),
        // `userName gt true`: nothing is ordered against a boolean or null.
        Filter::Compare(p, op, v @ (CompValue::Bool(_) | CompValue::Null)) if op.is_ordering() => {
            Err(ScimError::invalid_filter(format!(
                "{p} {} {}: gt, ge, lt and le take a string, number or dateTime",
                format!("{op:?}").to_lowercase(),
                if matches!(v, CompValue::Null) {
                    "null"
                } else {
                    "a boolean"
                }
            )))
        }
        Filter::Compare(p, op, _) if op.is_ordering() => {
            let shown = match parent {
                Some(parent) => format!("{parent}.{p}"),
                None => p.to_string(),
            };
            match (JsonLookup { rt }).kind(parent, p) {
                ValueKind::Boolean => Err(ScimError::invalid_filter(format!(
                    "{shown} is a boolean: only eq, ne and pr apply"
                ))),
                ValueKind::Binary => Err(ScimError::invalid_filter(format!(
                    "{shown} is binary: gt, ge, lt and le do not apply"
                ))),
                _ => Ok(()),
            }
        }
        Filter::Compare(..) => Ok(()),
        Filter::ValuePath(p, inner) => check_operators(inner, rt, Some(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::evaluate;
    use crate::scim::schema::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn matches(f: &str, node: &Value, rt: &ResourceType) -> bool {
        let parsed = Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e:?}"));
        evaluate(&parsed, node, &JsonLookup { rt }, None)
    }

    #[test]
    fn schemas_is_filterable_item_58() {
        let rt = Registry::builtin().user();
        let plain = json!({"schemas": [USER_SCHEMA], "userName": "a"});
        let ent = json!({"schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA], "userName": "b",
                         ENTERPRISE_SCHEMA: {"employeeNumber": "7"}});
        for (f, want_plain, want_ent) in [
            (format!("schemas eq \"{USER_SCHEMA}\""), true, true),
            (format!("schemas eq \"{ENTERPRISE_SCHEMA}\""), false, true),
            (
                format!("schemas eq \"{}\"", ENTERPRISE_SCHEMA.to_uppercase()),
                false,
                true,
            ),
            (format!("schemas ne \"{ENTERPRISE_SCHEMA}\""), true, false),
            (format!("schemas ne \"{USER_SCHEMA}\""), false, false),
            ("schemas co \"enterprise\"".into(), false, true),
            (
                "schemas sw \"urn:ietf:params:scim:schemas:\"".into(),
                true,
                true,
            ),
            ("schemas ew \":2.0:User\"".into(), true, true),
            ("schemas ew \"core:2.0:User\"".into(), true, true),
            ("schemas pr".into(), true, true),
            ("schemas eq null".into(), false, false),
            ("not (schemas co \"extension\")".into(), true, false),
            (
                format!("{USER_SCHEMA}:schemas co \"extension\""),
                false,
                true,
            ),
        ] {
            assert_eq!(matches(&f, &plain, rt), want_plain, "{f} on a plain user");
            assert_eq!(matches(&f, &ent, rt), want_ent, "{f} on an enterprise user");
        }
        let g = json!({"schemas": [GROUP_SCHEMA], "displayName": "g"});
        assert!(matches(
            &format!("schemas eq \"{GROUP_SCHEMA}\""),
            &g,
            Registry::builtin().group()
        ));
        assert!(!matches(
            &format!("schemas eq \"{USER_SCHEMA}\""),
            &g,
            Registry::builtin().group()
        ));
    }

    #[test]
    fn unqualified_extension_names_filter_the_extension() {
        let rt = Registry::builtin().user();
        let u = json!({"schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA], "userName": "b",
                       ENTERPRISE_SCHEMA: {"employeeNumber": "7", "manager": {"value": "x"}}});
        assert!(matches("employeeNumber eq \"7\"", &u, rt));
        assert!(matches("EMPLOYEENUMBER eq \"7\"", &u, rt));
        assert!(!matches("employeeNumber eq \"8\"", &u, rt));
        assert!(matches("manager.value eq \"x\"", &u, rt));
        assert!(matches("manager eq \"x\"", &u, rt));
        assert!(matches("department eq null", &u, rt));
        assert!(!matches(
            "manager.value eq \"x\"",
            &json!({"userName": "c"}),
            rt
        ));
    }

    #[test]
    fn ordering_on_boolean_or_binary_is_invalid_filter() {
        let user = Registry::builtin().user();
        for f in [
            "x509Certificates.value gt \"a\"",
            "x509Certificates.value GE \"a\"",
            "x509Certificates lt \"a\"",
            "x509Certificates[value le \"a\"]",
            "x509Certificates[type eq \"x\"].value gt \"a\"",
            "userName pr and not (x509Certificates.value gt \"a\")",
            "active gt true",
            "emails[primary lt true]",
        ] {
            let e = check_operators(&Filter::parse(f).unwrap(), user, None).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{f}");
        }
        for f in [
            "x509Certificates.value eq \"a\"",
            "x509Certificates.value ne \"a\"",
            "x509Certificates.value co \"a\"",
            "x509Certificates.value sw \"a\"",
            "x509Certificates.value ew \"a\"",
            "x509Certificates pr",
            "x509Certificates.type gt \"a\"",
            "userName gt \"a\"",
            "meta.created lt \"2020-01-01T00:00:00Z\"",
        ] {
            assert!(
                check_operators(&Filter::parse(f).unwrap(), user, None).is_ok(),
                "{f}"
            );
        }
        let e = check_operators(
            &Filter::parse("value gt \"a\"").unwrap(),
            user,
            Some(&AttrPath {
                urn: None,
                name: "x509Certificates".into(),
                sub: None,
            }),
        )
        .unwrap_err();
        assert!(e.detail.contains("binary"), "{e:?}");
    }
}
