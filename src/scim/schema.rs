//! The schema registry: RFC 7643 schema documents loaded from `scim-schemas/`, plus the
//! common attributes (`id`, `externalId`, `meta`). The same registry validates requests,
//! enforces mutability and `returned`, drives projection and is served by discovery.

use std::sync::OnceLock;

use serde::Deserialize;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttrType,
    #[serde(default)]
    pub multi_valued: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub case_exact: bool,
    #[serde(default = "read_write")]
    pub mutability: Mutability,
    #[serde(default = "default_returned")]
    pub returned: Returned,
    #[serde(default)]
    pub sub_attributes: Vec<Attribute>,
}

fn read_write() -> Mutability {
    Mutability::ReadWrite
}
fn default_returned() -> Returned {
    Returned::Default
}

impl Attribute {
    /// The sub-attribute `name`, case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn simple(
        name: &str,
        ty: AttrType,
        case_exact: bool,
        mutability: Mutability,
        returned: Returned,
    ) -> Attribute {
        Attribute {
            name: name.into(),
            ty,
            multi_valued: false,
            required: false,
            case_exact,
            mutability,
            returned,
            sub_attributes: vec![],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Schema {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub attributes: Vec<Attribute>,
    /// The document as shipped, for discovery.
    #[serde(skip)]
    pub document: serde_json::Value,
}

impl Schema {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone)]
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: &'static str,
    pub extensions: Vec<&'static str>,
}

/// Where an attribute name resolved to.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// The schema URN the attribute belongs to (`None` for the common attributes).
    pub schema: Option<&'a str>,
    pub attr: &'a Attribute,
}

impl Resolved<'_> {
    /// Is this an extension attribute (kept under the extension URN in JSON)?
    pub fn extension(&self, rt: &ResourceType) -> Option<&'static str> {
        let s = self.schema?;
        rt.extensions.iter().copied().find(|e| *e == s)
    }
}

pub struct Registry {
    pub schemas: Vec<Schema>,
    pub resource_types: Vec<ResourceType>,
    common: Vec<Attribute>,
}

fn load(text: &str) -> Schema {
    let document: serde_json::Value = serde_json::from_str(text).expect("schema JSON");
    let mut s: Schema = serde_json::from_value(document.clone()).expect("schema document");
    s.document = document;
    s
}

impl Registry {
    pub fn get() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(|| {
            use AttrType::*;
            use Mutability::*;
            let meta = Attribute {
                name: "meta".into(),
                ty: Complex,
                multi_valued: false,
                required: false,
                case_exact: false,
                mutability: ReadOnly,
                returned: Returned::Default,
                sub_attributes: vec![
                    Attribute::simple("resourceType", String, true, ReadOnly, Returned::Default),
                    Attribute::simple("created", DateTime, false, ReadOnly, Returned::Default),
                    Attribute::simple("lastModified", DateTime, false, ReadOnly, Returned::Default),
                    Attribute::simple("location", Reference, true, ReadOnly, Returned::Default),
                    Attribute::simple("version", String, true, ReadOnly, Returned::Default),
                ],
            };
            Registry {
                schemas: vec![
                    load(include_str!("../../scim-schemas/User.json")),
                    load(include_str!("../../scim-schemas/Group.json")),
                    load(include_str!("../../scim-schemas/EnterpriseUser.json")),
                ],
                resource_types: vec![
                    ResourceType {
                        name: "User",
                        endpoint: "/Users",
                        description: "User Account",
                        schema: USER_SCHEMA,
                        extensions: vec![ENTERPRISE_SCHEMA],
                    },
                    ResourceType {
                        name: "Group",
                        endpoint: "/Groups",
                        description: "Group",
                        schema: GROUP_SCHEMA,
                        extensions: vec![],
                    },
                ],
                common: vec![
                    Attribute::simple("id", String, true, ReadOnly, Returned::Always),
                    Attribute::simple("externalId", String, true, ReadWrite, Returned::Default),
                    meta,
                ],
            }
        })
    }

    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    pub fn resource_type(&self, name: &str) -> &ResourceType {
        self.resource_types
            .iter()
            .find(|r| r.name == name)
            .expect("known resource type")
    }

    pub fn user(&self) -> &ResourceType {
        self.resource_type("User")
    }

    pub fn group(&self) -> &ResourceType {
        self.resource_type("Group")
    }

    /// Resolve a top-level attribute of `rt`, optionally qualified by a schema URN.
    ///
    /// An unqualified name that is neither a common nor a core attribute resolves to an
    /// extension attribute when exactly one of `rt`'s extensions has it (Entra sends
    /// `manager` and `employeeNumber` without the Enterprise URN). Filters, PATCH paths,
    /// `sortBy`, projections and bodies all resolve through here, so they all accept it.
    pub fn resolve<'a>(
        &'a self,
        rt: &ResourceType,
        urn: Option<&str>,
        name: &str,
    ) -> Option<Resolved<'a>> {
        let in_schema = |urn: &str| -> Option<Resolved<'a>> {
            let schema = self.schema(urn)?;
            if !(schema.id == rt.schema || rt.extensions.contains(&schema.id.as_str())) {
                return None;
            }
            schema.attribute(name).map(|attr| Resolved {
                schema: Some(schema.id.as_str()),
                attr,
            })
        };
        if let Some(urn) = urn {
            if urn.eq_ignore_ascii_case(rt.schema) {
                if let Some(c) = self.common(name) {
                    return Some(c);
                }
            }
            return in_schema(urn);
        }
        if let Some(c) = self.common(name) {
            return Some(c);
        }
        if let Some(core) = in_schema(rt.schema) {
            return Some(core);
        }
        let mut found = rt.extensions.iter().filter_map(|e| in_schema(e));
        match (found.next(), found.next()) {
            (Some(only), None) => Some(only),
            // Ambiguous between extensions (or nowhere): the URN is needed.
            _ => None,
        }
    }

    fn common(&self, name: &str) -> Option<Resolved<'_>> {
        self.common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|attr| Resolved { schema: None, attr })
    }

    /// Is `urn` one of `rt`'s extension schemas? Returns its canonical spelling.
    pub fn extension_urn(&self, rt: &ResourceType, urn: &str) -> Option<&'static str> {
        rt.extensions
            .iter()
            .copied()
            .find(|e| e.eq_ignore_ascii_case(urn))
    }

    /// The attributes of `rt` in the order they are rendered: common, core, extensions.
    pub fn attributes_of<'a>(&'a self, rt: &ResourceType) -> Vec<Resolved<'a>> {
        let mut out: Vec<Resolved<'a>> = self
            .common
            .iter()
            .map(|attr| Resolved { schema: None, attr })
            .collect();
        for urn in std::iter::once(rt.schema).chain(rt.extensions.iter().copied()) {
            if let Some(s) = self.schema(urn) {
                out.extend(s.attributes.iter().map(|attr| Resolved {
                    schema: Some(s.id.as_str()),
                    attr,
                }));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_loads_and_resolves_case_insensitively() {
        let r = Registry::get();
        let user = r.user();
        assert_eq!(
            r.resolve(user, None, "USERNAME").unwrap().attr.name,
            "userName"
        );
        let emails = r.resolve(user, None, "emails").unwrap().attr;
        assert!(emails.multi_valued);
        assert!(emails.sub("VALUE").is_some());
        let m = r.resolve(user, Some(ENTERPRISE_SCHEMA), "manager").unwrap();
        assert_eq!(m.extension(user), Some(ENTERPRISE_SCHEMA));
        // Unqualified extension attributes resolve to the one extension that has them.
        let m = r.resolve(user, None, "MANAGER").unwrap();
        assert_eq!(m.extension(user), Some(ENTERPRISE_SCHEMA));
        assert_eq!(m.attr.name, "manager");
        let n = r.resolve(user, None, "employeeNumber").unwrap();
        assert_eq!(n.schema, Some(ENTERPRISE_SCHEMA));
        // Core attributes win; a wrong explicit URN does not fall back.
        assert_eq!(
            r.resolve(user, None, "displayName").unwrap().schema,
            Some(USER_SCHEMA)
        );
        assert!(r
            .resolve(user, Some(USER_SCHEMA), "employeeNumber")
            .is_none());
        assert!(r.resolve(user, None, "nope").is_none());
        assert!(r.resolve(r.group(), None, "employeeNumber").is_none());
        assert_eq!(
            r.resolve(user, None, "password").unwrap().attr.returned,
            Returned::Never
        );
        assert_eq!(
            r.resolve(user, Some(USER_SCHEMA), "id")
                .unwrap()
                .attr
                .returned,
            Returned::Always
        );
        assert!(
            r.resolve(r.group(), None, "members")
                .unwrap()
                .attr
                .multi_valued
        );
        assert!(r
            .resolve(r.group(), Some(ENTERPRISE_SCHEMA), "manager")
            .is_none());
    }
}
