//! Where each built-in attribute is kept: the part of a registry entry that names its place
//! in the one schema. An extension's attributes live in the extension value store
//! ([`Storage::Values`], the default); the core User and Group attributes, the common ones
//! and the Enterprise User extension's are columns of the resource's row or rows of an
//! element table. The filter → SQL translation and `sortBy` read nothing else: an attribute
//! is filterable exactly when its entry says where it is kept, and it compares as its entry's
//! type and `caseExact` say — the same entry the reference evaluator reads.
//!
//! Adding an attribute to `scim-schemas/User.json` without an entry here fails the registry's
//! load (and so every test): nothing is half-declared.

use super::schema::Kind;

/// Where an attribute's values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Storage {
    /// The extension value store (`user_values` / `group_values`, by URN and name): every
    /// registered or kept extension's attribute.
    #[default]
    Values,
    /// Not stored as such: derived when a resource is rendered (`meta.resourceType`,
    /// `meta.location`, a member's `$ref`) or kept only as a hash (`password`). Not
    /// filterable.
    Derived,
    /// A complex single-valued attribute kept in its sub-attributes (`name`, `meta`,
    /// `manager`): each sub-attribute's entry says where.
    Parts,
    /// A column: of the resource's own row for a top-level attribute, of the element's row
    /// for a sub-attribute of a multi-valued one.
    Column(Column),
    /// The elements of a multi-valued attribute, a row each.
    Elements(Elements),
}

/// A column and how it compares beyond what the attribute's type and `caseExact` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The table alias: `None` is the resource's own table (`users` / `groups`).
    pub at: Option<&'static str>,
    pub name: &'static str,
    /// The Rust-lowercased twin a caseExact=false string compares through, if any.
    pub lower: Option<&'static str>,
    pub shape: Shape,
    /// The trigram index that narrows `co` and `ew` on the column, if any.
    pub trigram: Option<Trigram>,
}

/// A trigram index of a column's text, which narrows a substring match (`co`, `ew`) of three
/// characters or more to the rows holding its trigrams before the exact comparison runs.
/// On PostgreSQL it is a `pg_trgm` GIN index on the expression the comparison already uses,
/// found by the planner; on SQLite an FTS5 `trigram` table, named by the filter SQL: `table`'s
/// `column`, whose rowid is the user's id held in the column `key` of `owner`'s row.
/// Migration `2027-01-07-000001_trigram_indexes` creates both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigram {
    /// The table (or element alias) whose column is indexed: a common attribute's column
    /// (`externalId`) is indexed for users, not for groups.
    pub owner: &'static str,
    pub table: &'static str,
    pub column: &'static str,
    pub key: &'static str,
}

/// How a column's value is shown in SCIM, when not as itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// As its type says.
    Plain,
    /// A numeric id shown as 16 hex digits.
    Id,
    /// `meta.version`: an integer shown as `W/"n"`.
    Version,
}

/// The element tables of multi-valued attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elements {
    /// `user_values` rows of one `attribute` name (emails, phoneNumbers, …), alias `uv`.
    UserValues(&'static str),
    /// `user_roles` (alias `ur`) joined to `roles` (alias `r`).
    UserRoles,
    /// `group_users` (alias `gu`) joined to `groups` (alias `g`): a user's groups.
    UserGroups,
    /// A group's users and nested groups (`group_users` and `group_groups`), alias `m`.
    GroupMembers,
}

const fn row(name: &'static str) -> Storage {
    Storage::Column(Column {
        at: None,
        name,
        lower: None,
        shape: Shape::Plain,
        trigram: None,
    })
}

const fn row_lowered(name: &'static str, lower: &'static str) -> Storage {
    Storage::Column(Column {
        at: None,
        name,
        lower: Some(lower),
        shape: Shape::Plain,
        trigram: None,
    })
}

const fn shaped(at: Option<&'static str>, name: &'static str, shape: Shape) -> Storage {
    Storage::Column(Column {
        at,
        name,
        lower: None,
        shape,
        trigram: None,
    })
}

const fn of(at: &'static str, name: &'static str) -> Storage {
    Storage::Column(Column {
        at: Some(at),
        name,
        lower: None,
        shape: Shape::Plain,
        trigram: None,
    })
}

const fn lowered(at: &'static str, name: &'static str, lower: &'static str) -> Storage {
    Storage::Column(Column {
        at: Some(at),
        name,
        lower: Some(lower),
        shape: Shape::Plain,
        trigram: None,
    })
}

/// `s`, a column of the users' row (or of a `user_values` element), with its trigram index:
/// the column of the same name in `table` (the lower-cased twin's, when the column has one).
fn trigram(s: Storage, table: &'static str) -> Storage {
    match s {
        Storage::Column(c) => Storage::Column(Column {
            trigram: Some(Trigram {
                owner: c.at.unwrap_or("users"),
                table,
                column: c.lower.unwrap_or(c.name),
                key: if c.at.is_some() { "user_id" } else { "id" },
            }),
            ..c
        }),
        other => other,
    }
}

/// A column of the users' row with its trigram index in `users_trgm`.
fn row_trigram(s: Storage) -> Storage {
    trigram(s, "users_trgm")
}

/// The attributes every resource has (`id`, `externalId`, `meta`), by path.
pub fn common(path: &str) -> Option<Storage> {
    Some(match path {
        "id" => shaped(None, "id", Shape::Id),
        // Indexed for users only (`Trigram::owner`).
        "externalId" => row_trigram(row("external_id")),
        "meta" => Storage::Parts,
        "meta.created" => row("created_at"),
        "meta.lastModified" => row("updated_at"),
        "meta.version" => shaped(None, "version", Shape::Version),
        "meta.resourceType" | "meta.location" => Storage::Derived,
        _ => return None,
    })
}

/// The sub-attributes of a `user_values` element, by name.
fn user_value(sub: &str) -> Option<Storage> {
    Some(match sub {
        "value" => lowered("uv", "value", "value_lower"),
        "display" => of("uv", "display"),
        "type" => of("uv", "type"),
        "primary" => of("uv", "is_primary"),
        "formatted" => of("uv", "formatted"),
        "streetAddress" => of("uv", "street_address"),
        "locality" => of("uv", "locality"),
        "region" => of("uv", "region"),
        "postalCode" => of("uv", "postal_code"),
        "country" => of("uv", "country"),
        _ => return None,
    })
}

/// A core User (`urn:…:core:2.0:User`) or Enterprise User attribute, by path
/// (`name.givenName`, `emails.value`).
fn user(path: &str) -> Option<Storage> {
    let (top, sub) = match path.split_once('.') {
        Some((t, s)) => (t, Some(s)),
        None => (path, None),
    };
    let values = |attr: &'static str| match sub {
        None => Some(Storage::Elements(Elements::UserValues(attr))),
        Some(s) => user_value(s),
    };
    Some(match (top, sub) {
        // `user_name_lower` is the login name, else the primary email: what every dialect
        // shows as the user's login (a Domo or Sumo user made by email has no `user_name`).
        ("userName", None) => row_trigram(row_lowered("user_name_lower", "user_name_lower")),
        ("displayName", None) => row_trigram(row_lowered("display_name", "display_name_lower")),
        ("name", None) => Storage::Parts,
        ("name", Some("formatted")) => row_trigram(row("name_formatted")),
        ("name", Some("familyName")) => row_trigram(row("name_family")),
        ("name", Some("givenName")) => row_trigram(row("name_given")),
        ("name", Some("middleName")) => row("name_middle"),
        ("name", Some("honorificPrefix")) => row("name_honorific_prefix"),
        ("name", Some("honorificSuffix")) => row("name_honorific_suffix"),
        ("nickName", None) => row("nick_name"),
        ("profileUrl", None) => row("profile_url"),
        ("title", None) => row_trigram(row("title")),
        ("userType", None) => row("user_type"),
        ("preferredLanguage", None) => row("preferred_language"),
        ("locale", None) => row("locale"),
        ("timezone", None) => row("timezone"),
        ("active", None) => row("active"),
        // Kept as a bcrypt hash; never returned, never filtered.
        ("password", None) => Storage::Derived,
        // Emails, and no other element, have a trigram index: one row per user, its emails.
        ("emails", Some("value")) => trigram(values("emails")?, "user_emails_trgm"),
        ("emails", _) => values("emails")?,
        ("phoneNumbers", _) => values("phoneNumbers")?,
        ("ims", _) => values("ims")?,
        ("photos", _) => values("photos")?,
        ("addresses", _) => values("addresses")?,
        ("entitlements", _) => values("entitlements")?,
        ("x509Certificates", _) => values("x509Certificates")?,
        ("roles", None) => Storage::Elements(Elements::UserRoles),
        ("roles", Some("value")) => lowered("r", "name", "name_lower"),
        ("roles", Some("display")) => of("ur", "display"),
        ("roles", Some("type")) => of("ur", "type"),
        ("roles", Some("primary")) => of("ur", "is_primary"),
        ("groups", None) => Storage::Elements(Elements::UserGroups),
        ("groups", Some("value")) => shaped(Some("g"), "id", Shape::Id),
        ("groups", Some("display")) => lowered("g", "display_name", "display_name_lower"),
        ("groups", Some("$ref" | "type")) => Storage::Derived,
        // The Enterprise User extension: columns of the user's row.
        ("employeeNumber", None) => row("employee_number"),
        ("costCenter", None) => row("cost_center"),
        ("organization", None) => row("organization"),
        ("division", None) => row("division"),
        ("department", None) => row_trigram(row("department")),
        ("manager", None) => Storage::Parts,
        ("manager", Some("value")) => row("manager_id"),
        ("manager", Some("$ref" | "displayName")) => Storage::Derived,
        _ => return None,
    })
}

/// A core Group attribute, by path.
fn group(path: &str) -> Option<Storage> {
    Some(match path {
        "displayName" => row_lowered("display_name", "display_name_lower"),
        "members" => Storage::Elements(Elements::GroupMembers),
        "members.value" => shaped(Some("m"), "member_id", Shape::Id),
        "members.type" => of("m", "member_type"),
        "members.$ref" | "members.display" => Storage::Derived,
        _ => return None,
    })
}

/// Where the built-in attribute `path` of `kind` is kept; `None` for a path the built-in
/// schemas do not have.
pub fn builtin(kind: Kind, path: &str) -> Option<Storage> {
    match kind {
        Kind::User => user(path),
        Kind::Group => group(path),
    }
}
