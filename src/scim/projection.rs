//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) with the `returned` rules:
//! `always` is always there, `never` never, `request` only when asked for, `default` unless
//! excluded or another list was asked for. A sub-attribute path keeps or drops just that child.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use super::filter::AttrPath;
use super::normalize;
#[cfg(test)]
use super::schema::Registry;
use super::schema::{Attribute, ResourceType, Returned};

/// A parsed projection request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    /// From the comma-separated query parameters (or the arrays of a SearchRequest).
    pub fn parse<S: AsRef<str>>(attributes: &[S], excluded: &[S]) -> ScimResult<Projection> {
        let parse_all = |items: &[S]| -> ScimResult<Vec<AttrPath>> {
            items
                .iter()
                .flat_map(|s| {
                    s.as_ref()
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .map(|p| {
                    AttrPath::parse(&p).map_err(|e| {
                        ScimError::invalid_value(format!("invalid attribute path {p:?}: {e}"))
                    })
                })
                .collect()
        };
        Ok(Projection {
            attributes: parse_all(attributes)?,
            excluded: parse_all(excluded)?,
        })
    }

    pub fn from_query(attributes: Option<&str>, excluded: Option<&str>) -> ScimResult<Projection> {
        let a: Vec<&str> = attributes.into_iter().collect();
        let e: Vec<&str> = excluded.into_iter().collect();
        Projection::parse(&a, &e)
    }

    pub fn is_default(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Does the response need attribute `name` (of the core schema) at all? Lets callers skip
    /// loading expensive attributes such as group members.
    pub fn wants(&self, rt: &ResourceType, name: &str) -> bool {
        let Some(res) = rt.resolve(None, name) else {
            return false;
        };
        let ext = res.extension();
        decide(self, rt, ext, res.attr).is_some()
    }
}

enum Keep {
    All,
    Subs(Vec<String>, bool),
}

/// Does `p` name the whole extension `urn` (`urn:…:User`, which parses as the attribute
/// `User` of `urn:…`)?
fn names_whole(p: &AttrPath, urn: &str) -> bool {
    let Some(u) = p.urn.as_deref() else {
        return false;
    };
    if p.name.is_empty() {
        return u.eq_ignore_ascii_case(urn);
    }
    p.sub.is_none()
        && urn.len() == u.len() + 1 + p.name.len()
        && urn[..u.len()].eq_ignore_ascii_case(u)
        && urn.as_bytes()[u.len()] == b':'
        && urn[u.len() + 1..].eq_ignore_ascii_case(&p.name)
}

fn matches(p: &AttrPath, rt: &ResourceType, ext: Option<&str>, attr: &Attribute) -> bool {
    if ext.is_some_and(|e| names_whole(p, e)) {
        return true;
    }
    match rt.resolve(p.urn.as_deref(), &p.name) {
        Some(r) => r.attr.name == attr.name && r.extension() == ext,
        None => false,
    }
}

/// Is an unregistered extension kept as sent (`urn`) in the response? It is returned by
/// default, and when asked for by its URN.
fn keeps_unknown(p: &Projection, urn: &str) -> bool {
    if !p.attributes.is_empty() {
        return p.attributes.iter().any(|a| names_whole(a, urn));
    }
    !p.excluded.iter().any(|a| names_whole(a, urn))
}

/// `None`: drop the attribute. `Some(All)`: keep whole. `Some(Subs(list, keep))`: keep only
/// (keep=true) or drop (keep=false) these sub-attributes.
fn decide(p: &Projection, rt: &ResourceType, ext: Option<&str>, attr: &Attribute) -> Option<Keep> {
    match attr.returned {
        Returned::Never => return None,
        Returned::Always => return Some(Keep::All),
        _ => {}
    }
    if !p.attributes.is_empty() {
        let hits: Vec<&AttrPath> = p
            .attributes
            .iter()
            .filter(|a| matches(a, rt, ext, attr))
            .collect();
        if hits.is_empty() {
            return None;
        }
        if hits.iter().any(|h| h.sub.is_none()) {
            return Some(Keep::All);
        }
        return Some(Keep::Subs(
            hits.iter().filter_map(|h| h.sub.clone()).collect(),
            true,
        ));
    }
    if attr.returned == Returned::Request {
        return None;
    }
    let hits: Vec<&AttrPath> = p
        .excluded
        .iter()
        .filter(|a| matches(a, rt, ext, attr))
        .collect();
    if hits.iter().any(|h| h.sub.is_none()) {
        return None;
    }
    if hits.is_empty() {
        Some(Keep::All)
    } else {
        Some(Keep::Subs(
            hits.iter().filter_map(|h| h.sub.clone()).collect(),
            false,
        ))
    }
}

fn filter_subs(v: &Value, attr: &Attribute, subs: &[String], keep: bool) -> Option<Value> {
    let one = |e: &Value| -> Option<Value> {
        let Value::Object(o) = e else {
            return Some(e.clone());
        };
        let out: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| {
                let named = subs.iter().any(|s| s.eq_ignore_ascii_case(k));
                let always = attr.sub(k).is_some_and(|s| s.returned == Returned::Always);
                always || named == keep
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (!out.is_empty()).then_some(Value::Object(out))
    };
    match v {
        Value::Array(items) => {
            let out: Vec<Value> = items.iter().filter_map(one).collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => one(other),
    }
}

/// `apply` on a resource the caller owns: for the default projection (most requests) only
/// the attributes never returned by default are taken out, without copying the tree.
pub fn apply_owned(mut resource: Value, rt: &ResourceType, p: &Projection) -> Value {
    if !p.is_default() {
        return apply(&resource, rt, p);
    }
    if let Value::Object(obj) = &mut resource {
        for res in rt.attributes() {
            if !matches!(res.attr.returned, Returned::Never | Returned::Request) {
                continue;
            }
            match res.extension() {
                Some(e) => {
                    if let Some(Value::Object(m)) = obj.get_mut(e) {
                        m.remove(&res.attr.name);
                    }
                }
                None => {
                    obj.remove(&res.attr.name);
                }
            }
        }
    }
    resource
}

/// Apply a projection to a full canonical resource.
pub fn apply(resource: &Value, rt: &ResourceType, p: &Projection) -> Value {
    let Value::Object(obj) = resource else {
        return resource.clone();
    };
    let mut out = Map::new();
    if let Some(s) = obj.get("schemas") {
        out.insert("schemas".into(), s.clone());
    }
    for res in rt.attributes() {
        let ext = res.extension();
        let source = match ext {
            Some(e) => obj.get(e).and_then(|x| x.get(&res.attr.name)),
            None => obj.get(&res.attr.name),
        };
        let Some(v) = source else { continue };
        let kept = match decide(p, rt, ext, res.attr) {
            None => None,
            Some(Keep::All) => Some(v.clone()),
            Some(Keep::Subs(subs, keep)) => filter_subs(v, res.attr, &subs, keep),
        };
        if let Some(kept) = kept {
            match ext {
                Some(e) => {
                    let slot = out
                        .entry(e.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(m) = slot.as_object_mut() {
                        m.insert(res.attr.name.clone(), kept);
                    }
                }
                None => {
                    out.insert(res.attr.name.clone(), kept);
                }
            }
        }
    }
    for (k, v) in obj {
        if normalize::is_urn(k) && rt.schema_of(k).is_none() && keeps_unknown(p, k) {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "1", "userName": "b", "displayName": "B",
            "name": {"givenName": "Bo", "familyName": "J"},
            "emails": [{"value": "b@x", "type": "work", "primary": true}],
            "meta": {"resourceType": "User"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7", "department": "D"},
        })
    }

    #[test]
    fn the_default_projection_without_a_copy_is_the_same() {
        let rt = Registry::builtin().user();
        let mut u = user();
        u["password"] = json!("secret");
        let p = Projection::default();
        assert_eq!(apply_owned(u.clone(), rt, &p), apply(&u, rt, &p));
        assert!(apply_owned(u, rt, &p).get("password").is_none());
    }

    #[test]
    fn attributes_keep_always_plus_the_named() {
        let rt = Registry::builtin().user();
        let p = Projection::from_query(Some("USERNAME,name.givenName,emails.value"), None).unwrap();
        assert_eq!(
            apply(&user(), rt, &p),
            json!({"schemas": user()["schemas"], "id": "1", "userName": "b", "name": {"givenName": "Bo"}, "emails": [{"value": "b@x"}]})
        );
        let p = Projection::from_query(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
            None,
        )
        .unwrap();
        let out = apply(&user(), rt, &p);
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({"employeeNumber": "7"})
        );
        assert!(out.get("userName").is_none());
    }

    #[test]
    fn excluded_attributes_drop_but_never_id() {
        let rt = Registry::builtin().user();
        let p = Projection::from_query(None, Some("id,emails,name.familyName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")).unwrap();
        let out = apply(&user(), rt, &p);
        assert_eq!(out["id"], "1");
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({"givenName": "Bo"}));
        assert!(out
            .get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
            .is_none());
        assert!(!Projection::from_query(None, Some("members"))
            .unwrap()
            .wants(Registry::builtin().group(), "members"));
        assert!(Projection::default().wants(Registry::builtin().group(), "members"));
    }

    #[test]
    fn multi_byte_paths_are_invalid_values_not_panics() {
        for w in ["ü", "日本", "😀"] {
            let lists = [format!("userName,{w}"), format!(" {w} ,emails")];
            for list in crate::scim::wide_names(w).into_iter().chain(lists) {
                let e = Projection::from_query(Some(&list), None).unwrap_err();
                assert_eq!(e.scim_type, Some("invalidValue"), "{list}");
                let e = Projection::from_query(None, Some(&list)).unwrap_err();
                assert_eq!(e.scim_type, Some("invalidValue"), "{list}");
            }
            // A URN with a wide character is a path (to nothing), not an error.
            let p = Projection::from_query(Some(&format!("urn:x:{w}:title")), None).unwrap();
            let out = apply(&user(), Registry::builtin().user(), &p);
            assert_eq!(out["id"], "1");
            assert!(out.get("title").is_none());
        }
    }

    #[test]
    fn unqualified_extension_attributes_project() {
        let rt = Registry::builtin().user();
        let p = Projection::from_query(Some("employeeNumber"), None).unwrap();
        let out = apply(&user(), rt, &p);
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({"employeeNumber": "7"})
        );
        let p = Projection::from_query(None, Some("department")).unwrap();
        let out = apply(&user(), rt, &p);
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({"employeeNumber": "7"})
        );
    }
}
