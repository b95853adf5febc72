//! The schema registry: RFC 7643 schema documents — the built-in ones in `scim-schemas/`
//! plus the extensions an operator registers (every organization's, or one organization's)
//! — and the common attributes (`id`, `externalId`, `meta`). One registry per organization
//! validates requests, enforces mutability, `required` and `returned`, drives PATCH,
//! projection and the filter translation, and is served by discovery.
//!
//! A resource type owns the schemas it is made of, so everything that resolves an attribute
//! needs only the resource type it was given (`ResourceType::resolve`); an organization's
//! resource types come from `Registry::build` over its registered extensions.

use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use serde_json::Value;

use super::storage::{self, Storage};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The schema of schema documents (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
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
    pub uniqueness: Uniqueness,
    #[serde(default)]
    pub canonical_values: Vec<Value>,
    #[serde(default)]
    pub reference_types: Vec<String>,
    #[serde(default)]
    pub sub_attributes: Vec<Attribute>,
    /// Where its values are kept (not part of the document: the built-in attributes' places
    /// come from `scim::storage`, every extension's is the value store).
    #[serde(skip)]
    pub storage: Storage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    #[default]
    None,
    Server,
    Global,
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
            uniqueness: Uniqueness::None,
            canonical_values: vec![],
            reference_types: vec![],
            sub_attributes: vec![],
            storage: Storage::Values,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Schema {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub attributes: Vec<Attribute>,
    /// The document as registered, for discovery.
    #[serde(skip)]
    pub document: Value,
}

impl Schema {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// A built-in schema document, each attribute given its place by `place` (by path,
    /// `name.givenName`). An attribute without one is a programming error caught at load.
    fn builtin(text: &str, place: impl Fn(&str) -> Option<Storage>) -> Schema {
        let document: Value = serde_json::from_str(text).expect("schema JSON");
        let mut s: Schema = serde_json::from_value(document.clone()).expect("schema document");
        s.document = document;
        place_attributes(&mut s.attributes, "", &place);
        s
    }

    /// Validate a schema document an operator registers (RFC 7643 §7): an `id` that is a
    /// URN and not a built-in schema's; attributes with valid names (RFC 7643 §2.1), each
    /// once, of a known type, mutability, returned and uniqueness; complex attributes with
    /// one level of sub-attributes. The error names the attribute at fault.
    pub fn parse(document: &Value) -> Result<Schema, String> {
        let Value::Object(obj) = document else {
            return Err("a schema document must be a JSON object".into());
        };
        let id = match obj.get("id") {
            Some(Value::String(s)) => s.trim().to_string(),
            _ => return Err("the schema needs an \"id\": its URN, such as urn:ietf:params:scim:schemas:extension:acme:2.0:User".into()),
        };
        check_urn(&id)?;
        if [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA, SCHEMA_SCHEMA]
            .iter()
            .any(|b| b.eq_ignore_ascii_case(&id))
        {
            return Err(format!(
                "{id} is built in; register a schema of your own URN"
            ));
        }
        let Some(Value::Array(attrs)) = obj.get("attributes") else {
            return Err(
                "the schema needs \"attributes\": an array of attribute definitions".into(),
            );
        };
        if attrs.is_empty() || attrs.len() > MAX_ATTRIBUTES {
            return Err(format!(
                "a schema has 1 to {MAX_ATTRIBUTES} attributes; this one has {}",
                attrs.len()
            ));
        }
        let mut attributes = Vec::with_capacity(attrs.len());
        for (i, a) in attrs.iter().enumerate() {
            let attr = parse_attribute(a, &format!("attribute #{}", i + 1), 0)?;
            if attributes
                .iter()
                .any(|x: &Attribute| x.name.eq_ignore_ascii_case(&attr.name))
            {
                return Err(format!("attribute {:?} is defined twice", attr.name));
            }
            attributes.push(attr);
        }
        let text = |k: &str| -> Result<String, String> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(format!("the schema's {k:?} must be a string")),
            }
        };
        let mut doc = obj.clone();
        doc.remove("meta");
        // Served with every characteristic spelled out (RFC 7643 §7), defaults filled in.
        let shown: Vec<Value> = attributes
            .iter()
            .zip(attrs)
            .map(|(a, original)| characteristics(a, original))
            .collect();
        doc.insert("attributes".into(), Value::Array(shown));
        doc.insert("id".into(), Value::String(id.clone()));
        doc.insert("schemas".into(), serde_json::json!([SCHEMA_SCHEMA]));
        Ok(Schema {
            id,
            name: text("name")?,
            description: text("description")?,
            attributes,
            document: Value::Object(doc),
        })
    }
}

/// Give each attribute of `attrs` (and each sub-attribute) its place in the one schema.
fn place_attributes(
    attrs: &mut [Attribute],
    prefix: &str,
    place: &impl Fn(&str) -> Option<Storage>,
) {
    for a in attrs {
        let path = format!("{prefix}{}", a.name);
        a.storage = place(&path).unwrap_or_else(|| {
            panic!("built-in attribute {path} has no place in the schema (scim::storage)")
        });
        place_attributes(&mut a.sub_attributes, &format!("{path}."), place);
    }
}

fn enum_name<T: std::fmt::Debug>(v: T) -> String {
    let s = format!("{v:?}");
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// An attribute's definition with every characteristic, its description as given.
fn characteristics(a: &Attribute, original: &Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("name".into(), Value::String(a.name.clone()));
    m.insert("type".into(), Value::String(enum_name(a.ty)));
    m.insert("multiValued".into(), Value::Bool(a.multi_valued));
    if let Some(d) = original.get("description").filter(|d| d.is_string()) {
        m.insert("description".into(), d.clone());
    }
    m.insert("required".into(), Value::Bool(a.required));
    if a.ty != AttrType::Complex && a.ty != AttrType::Boolean {
        m.insert("caseExact".into(), Value::Bool(a.case_exact));
    }
    if !a.canonical_values.is_empty() {
        m.insert(
            "canonicalValues".into(),
            Value::Array(a.canonical_values.clone()),
        );
    }
    if a.ty == AttrType::Reference {
        let types = a
            .reference_types
            .iter()
            .cloned()
            .map(Value::String)
            .collect();
        m.insert("referenceTypes".into(), Value::Array(types));
    }
    m.insert("mutability".into(), Value::String(enum_name(a.mutability)));
    m.insert("returned".into(), Value::String(enum_name(a.returned)));
    if a.ty != AttrType::Complex {
        m.insert("uniqueness".into(), Value::String(enum_name(a.uniqueness)));
    }
    if a.ty == AttrType::Complex {
        let empty = Vec::new();
        let originals = original
            .get("subAttributes")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let subs = a
            .sub_attributes
            .iter()
            .zip(originals)
            .map(|(s, o)| characteristics(s, o))
            .collect();
        m.insert("subAttributes".into(), Value::Array(subs));
    }
    Value::Object(m)
}

/// Attributes a registered schema may define.
pub const MAX_ATTRIBUTES: usize = 100;

/// A schema URN: `urn:`, then printable ASCII without spaces or quotes, at most 200
/// characters (it is stored in every value's path).
fn check_urn(id: &str) -> Result<(), String> {
    let ok = id.len() > 4
        && id.len() <= 200
        && id[..4].eq_ignore_ascii_case("urn:")
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'\'' | b'[' | b']'))
        && !id.ends_with(':');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the schema id {id:?} is not a URN: use urn: and up to 200 printable characters \
             without spaces or quotes, such as urn:ietf:params:scim:schemas:extension:acme:2.0:User"
        ))
    }
}

/// Could `id` name a schema (`check_urn`)?
pub fn valid_urn(id: &str) -> bool {
    check_urn(id).is_ok()
}

/// An attribute name (RFC 7643 §2.1): a letter, then letters, digits, `-` and `_`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= 64
}

fn parse_attribute(a: &Value, at: &str, depth: usize) -> Result<Attribute, String> {
    let name = match a.get("name") {
        Some(Value::String(n)) => n.clone(),
        _ => return Err(format!("{at} needs a \"name\"")),
    };
    if !valid_name(&name) {
        return Err(format!(
            "attribute {name:?}: a name is a letter, then letters, digits, '-' or '_' (RFC 7643 §2.1), at most 64 characters"
        ));
    }
    let Some(Value::Object(m)) = Some(a) else {
        return Err(format!("attribute {name:?} must be an object"));
    };
    if !m.contains_key("type") {
        return Err(format!("attribute {name:?} needs a \"type\""));
    }
    // Parse the attribute without its sub-attributes first, so an error inside one names it.
    let mut shallow = m.clone();
    let subs = shallow.remove("subAttributes");
    let mut attr: Attribute = serde_json::from_value(Value::Object(shallow))
        .map_err(|e| format!("attribute {name:?}: {e}"))?;
    // A writeOnly value is never returned (RFC 7643 §7), whatever `returned` says.
    if attr.mutability == Mutability::WriteOnly {
        attr.returned = Returned::Never;
    }
    match (attr.ty, subs) {
        (AttrType::Complex, _) if depth > 0 => {
            return Err(format!(
            "attribute {name:?}: a sub-attribute cannot be complex (one level of sub-attributes)"
        ))
        }
        (AttrType::Complex, Some(Value::Array(subs))) if !subs.is_empty() => {
            for (i, s) in subs.iter().enumerate() {
                let sub = parse_attribute(s, &format!("sub-attribute #{} of {name:?}", i + 1), 1)
                    .map_err(|e| format!("{e} (in {name:?})"))?;
                if attr
                    .sub_attributes
                    .iter()
                    .any(|x| x.name.eq_ignore_ascii_case(&sub.name))
                {
                    return Err(format!(
                        "attribute {name:?}: sub-attribute {:?} is defined twice",
                        sub.name
                    ));
                }
                attr.sub_attributes.push(sub);
            }
        }
        (AttrType::Complex, _) => {
            return Err(format!(
                "attribute {name:?} is complex and needs \"subAttributes\""
            ))
        }
        (_, None) => {}
        (_, Some(Value::Array(a))) if a.is_empty() => {}
        (_, Some(_)) => {
            return Err(format!(
                "attribute {name:?}: only a complex attribute has sub-attributes"
            ))
        }
    }
    Ok(attr)
}

/// The schema documents of `dir` (`*.json`, in name order) as registrations for every
/// organization; built-in schemas there are skipped. An error names the file.
pub fn load_dir(dir: &std::path::Path) -> Result<Vec<Registration>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut out: Vec<Registration> = Vec::new();
    for path in paths {
        let at = |e: String| format!("{}: {e}", path.display());
        let text = std::fs::read_to_string(&path).map_err(|e| at(e.to_string()))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| at(format!("not JSON: {e}")))?;
        let id = doc.get("id").and_then(Value::as_str).unwrap_or_default();
        if [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA]
            .iter()
            .any(|b| b.eq_ignore_ascii_case(id))
        {
            continue;
        }
        let schema = Schema::parse(&doc).map_err(at)?;
        let kind = Kind::of_urn(&schema.id).ok_or_else(|| {
            at(format!(
                "cannot tell which resource type {} extends: end its URN with :User or :Group",
                schema.id
            ))
        })?;
        if out
            .iter()
            .any(|r| r.schema.id.eq_ignore_ascii_case(&schema.id))
        {
            return Err(at(format!("{} is defined twice", schema.id)));
        }
        out.push(Registration {
            schema: Arc::new(schema),
            kind,
            required: false,
        });
    }
    Ok(out)
}

/// An extension of a resource type (RFC 7643 §6 `schemaExtensions`).
#[derive(Debug, Clone)]
pub struct Extension {
    pub schema: Arc<Schema>,
    /// Every resource of the type must carry it (a request without it is 400).
    pub required: bool,
    /// Its attributes are columns of their own (the Enterprise User extension); the others
    /// live in the value store (`user_values` / `group_values`).
    pub builtin: bool,
}

impl Extension {
    pub fn urn(&self) -> &str {
        &self.schema.id
    }
}

/// Which resource type a registered extension extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        if s.eq_ignore_ascii_case("User") {
            Some(Kind::User)
        } else if s.eq_ignore_ascii_case("Group") {
            Some(Kind::Group)
        } else {
            None
        }
    }
    /// The resource type a URN names by its last segment (`…:2.0:User`), as Entra's and
    /// the RFC's extension URNs do.
    pub fn of_urn(urn: &str) -> Option<Kind> {
        Kind::parse(urn.rsplit(':').next()?)
    }
}

/// A registered extension schema.
#[derive(Debug, Clone)]
pub struct Registration {
    pub schema: Arc<Schema>,
    pub kind: Kind,
    pub required: bool,
}

/// What a request's extension the organization has not registered does
/// (`--scim-unknown-extensions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unknown {
    /// Kept as sent (bounded), returned as sent, filterable as strings.
    #[default]
    Keep,
    /// Dropped, as any unknown attribute is (RFC 7644 §3.3).
    Ignore,
    /// 400 invalidValue naming the URN.
    Reject,
}

impl Unknown {
    pub fn parse(s: &str) -> Option<Unknown> {
        match s.to_ascii_lowercase().as_str() {
            "keep" => Some(Unknown::Keep),
            "ignore" => Some(Unknown::Ignore),
            "reject" => Some(Unknown::Reject),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: &'static str,
    core: Arc<Schema>,
    pub extensions: Vec<Extension>,
    /// What an unregistered extension in a request does.
    pub unknown: Unknown,
}

/// Where an attribute name resolved to.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// The schema URN the attribute belongs to (`None` for the common attributes).
    pub schema: Option<&'a str>,
    pub attr: &'a Attribute,
    ext: Option<&'a Extension>,
}

impl<'a> Resolved<'a> {
    /// The extension URN this attribute is kept under in JSON, if it is an extension's.
    pub fn extension(&self) -> Option<&'a str> {
        self.ext.map(|e| e.schema.id.as_str())
    }
    /// Is it kept in the value store (a registered extension's attribute), rather than in
    /// a column of its own?
    pub fn in_values(&self) -> bool {
        self.attr.storage == Storage::Values
    }
}

fn common() -> &'static [Attribute] {
    static COMMON: OnceLock<Vec<Attribute>> = OnceLock::new();
    COMMON.get_or_init(|| {
        use AttrType::*;
        use Mutability::*;
        let meta = Attribute {
            sub_attributes: vec![
                Attribute::simple("resourceType", String, true, ReadOnly, Returned::Default),
                Attribute::simple("created", DateTime, false, ReadOnly, Returned::Default),
                Attribute::simple("lastModified", DateTime, false, ReadOnly, Returned::Default),
                Attribute::simple("location", Reference, true, ReadOnly, Returned::Default),
                Attribute::simple("version", String, true, ReadOnly, Returned::Default),
            ],
            ..Attribute::simple("meta", Complex, false, ReadOnly, Returned::Default)
        };
        let mut common = vec![
            Attribute::simple("id", String, true, ReadOnly, Returned::Always),
            Attribute::simple("externalId", String, true, ReadWrite, Returned::Default),
            meta,
        ];
        place_attributes(&mut common, "", &storage::common);
        common
    })
}

impl ResourceType {
    /// The extension `urn` (any case) of this resource type.
    pub fn extension(&self, urn: &str) -> Option<&Extension> {
        self.extensions
            .iter()
            .find(|e| e.schema.id.eq_ignore_ascii_case(urn))
    }

    /// Is `urn` one of this type's extension schemas? Returns its canonical spelling.
    pub fn extension_urn(&self, urn: &str) -> Option<&str> {
        self.extension(urn).map(Extension::urn)
    }

    /// The core schema or an extension schema of this type, by URN (any case).
    pub fn schema_of(&self, urn: &str) -> Option<&Schema> {
        if self.core.id.eq_ignore_ascii_case(urn) {
            return Some(&self.core);
        }
        self.extension(urn).map(|e| &*e.schema)
    }

    /// Resolve a top-level attribute, optionally qualified by a schema URN.
    ///
    /// An unqualified name that is neither a common nor a core attribute resolves to an
    /// extension attribute when exactly one extension has it (Entra sends `manager` and
    /// `employeeNumber` without the Enterprise URN). Filters, PATCH paths, `sortBy`,
    /// projections and bodies all resolve through here, so they all accept it.
    pub fn resolve<'a>(&'a self, urn: Option<&str>, name: &str) -> Option<Resolved<'a>> {
        let in_core = || {
            self.core.attribute(name).map(|attr| Resolved {
                schema: Some(self.core.id.as_str()),
                attr,
                ext: None,
            })
        };
        let in_ext = |e: &'a Extension| -> Option<Resolved<'a>> {
            e.schema.attribute(name).map(|attr| Resolved {
                schema: Some(e.schema.id.as_str()),
                attr,
                ext: Some(e),
            })
        };
        if let Some(urn) = urn {
            if urn.eq_ignore_ascii_case(self.schema) {
                return common_attr(name).or_else(in_core);
            }
            return self.extension(urn).and_then(in_ext);
        }
        if let Some(c) = common_attr(name).or_else(in_core) {
            return Some(c);
        }
        let mut found = self.extensions.iter().filter_map(in_ext);
        match (found.next(), found.next()) {
            (Some(only), None) => Some(only),
            // Ambiguous between extensions (or nowhere): the URN is needed.
            _ => None,
        }
    }

    /// The attributes in the order they are rendered: common, core, extensions.
    pub fn attributes(&self) -> impl Iterator<Item = Resolved<'_>> {
        let common = common().iter().map(|attr| Resolved {
            schema: None,
            attr,
            ext: None,
        });
        let core = self.core.attributes.iter().map(|attr| Resolved {
            schema: Some(self.core.id.as_str()),
            attr,
            ext: None,
        });
        let exts = self.extensions.iter().flat_map(|e| {
            e.schema.attributes.iter().map(move |attr| Resolved {
                schema: Some(e.schema.id.as_str()),
                attr,
                ext: Some(e),
            })
        });
        common.chain(core).chain(exts)
    }

    /// Extensions kept in the value store.
    pub fn stored_extensions(&self) -> impl Iterator<Item = &Extension> {
        self.extensions.iter().filter(|e| !e.builtin)
    }
}

fn common_attr(name: &str) -> Option<Resolved<'static>> {
    common()
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .map(|attr| Resolved {
            schema: None,
            attr,
            ext: None,
        })
}

/// One organization's schemas: the built-in ones and the extensions registered for it.
#[derive(Debug, Clone)]
pub struct Registry {
    user: ResourceType,
    group: ResourceType,
}

struct Builtin {
    user: Arc<Schema>,
    group: Arc<Schema>,
    enterprise: Arc<Schema>,
}

fn builtin_schemas() -> &'static Builtin {
    static B: OnceLock<Builtin> = OnceLock::new();
    B.get_or_init(|| Builtin {
        user: Arc::new(Schema::builtin(
            include_str!("../../scim-schemas/User.json"),
            |p| storage::builtin(Kind::User, p),
        )),
        group: Arc::new(Schema::builtin(
            include_str!("../../scim-schemas/Group.json"),
            |p| storage::builtin(Kind::Group, p),
        )),
        enterprise: Arc::new(Schema::builtin(
            include_str!("../../scim-schemas/EnterpriseUser.json"),
            |p| storage::builtin(Kind::User, p),
        )),
    })
}

impl Registry {
    /// The built-in schemas only (no registered extension; unknown extensions kept).
    pub fn builtin() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(|| Registry::build(&[], Unknown::Keep))
    }

    /// The built-in schemas plus `registered` (in order; a URN registered twice counts once,
    /// the first).
    pub fn build(registered: &[Registration], unknown: Unknown) -> Registry {
        let b = builtin_schemas();
        let mut user_ext = vec![Extension {
            schema: b.enterprise.clone(),
            required: false,
            builtin: true,
        }];
        let mut group_ext: Vec<Extension> = Vec::new();
        for r in registered {
            let list = match r.kind {
                Kind::User => &mut user_ext,
                Kind::Group => &mut group_ext,
            };
            if list
                .iter()
                .any(|e| e.schema.id.eq_ignore_ascii_case(&r.schema.id))
            {
                continue;
            }
            list.push(Extension {
                schema: r.schema.clone(),
                required: r.required,
                builtin: false,
            });
        }
        Registry {
            user: ResourceType {
                name: "User",
                endpoint: "/Users",
                description: "User Account",
                schema: USER_SCHEMA,
                core: b.user.clone(),
                extensions: user_ext,
                unknown,
            },
            group: ResourceType {
                name: "Group",
                endpoint: "/Groups",
                description: "Group",
                schema: GROUP_SCHEMA,
                core: b.group.clone(),
                extensions: group_ext,
                unknown,
            },
        }
    }

    pub fn user(&self) -> &ResourceType {
        &self.user
    }

    pub fn group(&self) -> &ResourceType {
        &self.group
    }

    pub fn resource_types(&self) -> [&ResourceType; 2] {
        [&self.user, &self.group]
    }

    /// A resource type by name (any case).
    pub fn resource_type(&self, name: &str) -> Option<&ResourceType> {
        self.resource_types()
            .into_iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// Every schema: the core ones, then each resource type's extensions.
    pub fn schemas(&self) -> Vec<&Schema> {
        let mut out: Vec<&Schema> = vec![&self.user.core, &self.group.core];
        for rt in self.resource_types() {
            for e in &rt.extensions {
                if !out.iter().any(|s| s.id == e.schema.id) {
                    out.push(&e.schema);
                }
            }
        }
        out
    }

    /// A schema by URN (any case).
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas()
            .into_iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_loads_and_resolves_case_insensitively() {
        let r = Registry::builtin();
        let user = r.user();
        assert_eq!(
            user.resolve(None, "USERNAME").unwrap().attr.name,
            "userName"
        );
        let emails = user.resolve(None, "emails").unwrap().attr;
        assert!(emails.multi_valued);
        assert!(emails.sub("VALUE").is_some());
        let m = user.resolve(Some(ENTERPRISE_SCHEMA), "manager").unwrap();
        assert_eq!(m.extension(), Some(ENTERPRISE_SCHEMA));
        // Unqualified extension attributes resolve to the one extension that has them.
        let m = user.resolve(None, "MANAGER").unwrap();
        assert_eq!(m.extension(), Some(ENTERPRISE_SCHEMA));
        assert_eq!(m.attr.name, "manager");
        let n = user.resolve(None, "employeeNumber").unwrap();
        assert_eq!(n.schema, Some(ENTERPRISE_SCHEMA));
        // Core attributes win; a wrong explicit URN does not fall back.
        assert_eq!(
            user.resolve(None, "displayName").unwrap().schema,
            Some(USER_SCHEMA)
        );
        assert!(user.resolve(Some(USER_SCHEMA), "employeeNumber").is_none());
        assert!(user.resolve(None, "nope").is_none());
        assert!(r.group().resolve(None, "employeeNumber").is_none());
        assert_eq!(
            user.resolve(None, "password").unwrap().attr.returned,
            Returned::Never
        );
        assert_eq!(
            user.resolve(Some(USER_SCHEMA), "id").unwrap().attr.returned,
            Returned::Always
        );
        assert!(
            r.group()
                .resolve(None, "members")
                .unwrap()
                .attr
                .multi_valued
        );
        assert!(r
            .group()
            .resolve(Some(ENTERPRISE_SCHEMA), "manager")
            .is_none());
    }
}
