//! The canonical model every dialect shares. Plain structs: no serde names of any dialect,
//! no diesel.

use std::fmt;

use chrono::NaiveDateTime;

pub mod ext;
pub mod rules;
pub use ext::Extensions;
pub use rules::UniqueField;

/// An organization (tenant) id: a short slug.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgId(String);

impl OrgId {
    /// Slugs are 1–64 characters of `[A-Za-z0-9._@-]`, so they are safe in paths and logs.
    pub fn parse(s: &str) -> Result<OrgId, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
        if ok {
            Ok(OrgId(s.to_string()))
        } else {
            Err(format!(
                "invalid organization id {s:?}: use 1-64 characters of letters, digits, '-', '_', '.', '@'"
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub parent_id: Option<OrgId>,
    pub created_at: NaiveDateTime,
}

/// A Sumo Logic style subscription of an organization (set through the organizations API).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subscription {
    pub plan_name: Option<String>,
    pub status: Option<String>,
    /// `YYYY-MM-DD`
    pub start: Option<String>,
    pub end: Option<String>,
    pub credits: Option<i64>,
    pub deployment_charge_credits: Option<i64>,
    pub allocated_credits: Option<i64>,
    pub baselines: Baselines,
}

/// Credits allocated per product variable (Sumo Logic `Baselines`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Baselines {
    pub continuous_ingest: Option<i64>,
    pub frequent_ingest: Option<i64>,
    pub infrequent_ingest: Option<i64>,
    pub tracing_ingest: Option<i64>,
    pub cse_ingest: Option<i64>,
    pub metrics: Option<i64>,
    pub cse_activation: Option<bool>,
}

/// An organization with everything the organizations API shows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgDetails {
    pub org: Organization,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub deployment_id: Option<String>,
    /// `Active`, `Inactive` (deactivated) or `Delinked`.
    pub status: String,
    pub subscription: Subscription,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

/// A role of an organization (SCIM `roles`, Domo `role`, Sumo Logic roles).
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub id: i64,
    pub org_id: OrgId,
    pub name: String,
    pub description: Option<String>,
    pub filter_predicate: Option<String>,
    pub capabilities: Vec<String>,
    pub system_defined: bool,
    pub created_by: Option<String>,
    pub modified_by: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a client may write of a role.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoleData {
    pub name: String,
    pub description: Option<String>,
    pub filter_predicate: Option<String>,
    pub capabilities: Vec<String>,
}

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Scim,
    UsersRead,
    UsersWrite,
    OrgsAdmin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::Scim,
        Scope::UsersRead,
        Scope::UsersWrite,
        Scope::OrgsAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Scim => "scim",
            Scope::UsersRead => "users:read",
            Scope::UsersWrite => "users:write",
            Scope::OrgsAdmin => "orgs:admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|sc| sc.as_str() == s)
    }
}

/// A set of scopes, kept sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn all() -> Scopes {
        Scopes(Scope::ALL.to_vec())
    }

    /// Parse a space- or comma-separated list; `all` stands for every scope.
    pub fn parse(s: &str) -> Result<Scopes, String> {
        let mut out = Vec::new();
        for word in s.split([' ', ',']).filter(|w| !w.is_empty()) {
            if word == "all" {
                return Ok(Scopes::all());
            }
            match Scope::parse(word) {
                Some(sc) => out.push(sc),
                None => {
                    return Err(format!(
                    "unknown scope {word:?}: use scim, users:read, users:write, orgs:admin or all"
                ))
                }
            }
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err("no scope given".into());
        }
        Ok(Scopes(out))
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// The intersection, for a token minted with a narrower `scope` than its client holds.
    pub fn intersect(&self, other: &Scopes) -> Scopes {
        Scopes(
            self.0
                .iter()
                .copied()
                .filter(|s| other.contains(*s))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&words.join(" "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A long random bearer secret.
    Token,
    /// An OAuth client (id + secret) that mints access tokens, or signs Sumo-style Basic calls.
    Client,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Token => "token",
            CredentialKind::Client => "client",
        }
    }
    pub fn parse(s: &str) -> Option<CredentialKind> {
        match s {
            "token" => Some(CredentialKind::Token),
            "client" => Some(CredentialKind::Client),
            _ => None,
        }
    }
}

/// A credential as listed: never its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub id: String,
    pub org_id: OrgId,
    pub kind: CredentialKind,
    pub label: String,
    pub scopes: Scopes,
    pub user_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    /// After this it answers 401 like a revoked one (`None`: never).
    pub expires_at: Option<NaiveDateTime>,
    /// Until this, the secret it had before its last rotation still works.
    pub previous_expires_at: Option<NaiveDateTime>,
}

/// Who is calling: the organization it may see, what it may do, and through which credential.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub org_id: OrgId,
    pub scopes: Scopes,
    pub credential_id: String,
    pub user_id: Option<i64>,
    /// The organization's `schemas_version`, when it was read with the credential (the
    /// schema registry is then found without a statement of its own).
    pub schemas_version: Option<i64>,
}

impl Principal {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }
}

/// One credit usage record loaded by an operator (Sumo Logic organizations API).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRecord {
    pub org_id: OrgId,
    /// `YYYY-MM-DD`
    pub date: chrono::NaiveDate,
    pub product_variable: String,
    pub credits_used: f64,
    pub unit: String,
}

/// One audit entry: who changed what, when, through which dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub org_id: OrgId,
    pub user_id: Option<i64>,
    pub key: String,
    pub result: String,
    pub actor: String,
    pub dialect: String,
    pub payload: serde_json::Value,
    pub created_at: NaiveDateTime,
}

/// Render a canonical id the way string-id dialects show it: 16 upper-case hex digits.
pub fn id_to_hex(id: i64) -> String {
    format!("{id:016X}")
}

/// Parse a 16-hex-digit id (any case); `None` for anything else.
pub fn id_from_hex(s: &str) -> Option<i64> {
    // Hex digits only: `from_str_radix` would take a sign, making `+00…0A` an alias.
    if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    i64::from_str_radix(s, 16).ok().filter(|v| *v > 0)
}

/// How a dialect writes canonical ids: 16 hex digits (SCIM, Logto, Sumo, Adobe, the
/// console, the admin API) or a positive decimal integer (Domo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFormat {
    Hex,
    Decimal,
}

impl IdFormat {
    /// The id `s` names; `None` for anything not in this format. A decimal id may have
    /// surrounding spaces (Domo's clients send them); digits only, no sign.
    pub fn parse(self, s: &str) -> Option<i64> {
        match self {
            IdFormat::Hex => id_from_hex(s),
            IdFormat::Decimal => {
                let s = s.trim();
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                s.parse::<i64>().ok().filter(|v| *v > 0)
            }
        }
    }

    pub fn show(self, id: i64) -> String {
        match self {
            IdFormat::Hex => id_to_hex(id),
            IdFormat::Decimal => id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_ids_are_positive_integers_without_sign() {
        let d = IdFormat::Decimal;
        assert_eq!(d.parse("959463190"), Some(959463190));
        assert_eq!(d.parse(" 12 "), Some(12));
        assert_eq!(d.parse("+1"), None);
        assert_eq!(d.parse("0"), None);
        assert_eq!(d.parse(""), None);
        assert_eq!(d.parse("9223372036854775808"), None);
        assert_eq!(d.show(12), "12");
        assert_eq!(IdFormat::Hex.show(10), "000000000000000A");
        assert_eq!(IdFormat::Hex.parse("000000000000000a"), Some(10));
    }

    #[test]
    fn ids_are_sixteen_hex_digits_and_nothing_else() {
        assert_eq!(id_from_hex("000000000000000a"), Some(10));
        assert_eq!(id_from_hex("+00000000000000A"), None);
        assert_eq!(id_from_hex("-00000000000000A"), None);
        assert_eq!(id_from_hex("0000000000000000"), None);
        assert_eq!(id_from_hex("00000000000000ü"), None);
    }

    #[test]
    fn scopes_parse_and_render() {
        let s = Scopes::parse("users:write scim,scim").unwrap();
        assert_eq!(s.to_string(), "scim users:write");
        assert_eq!(Scopes::parse("all").unwrap(), Scopes::all());
        assert!(Scopes::parse("root").unwrap_err().contains("root"));
        assert!(Scopes::parse(" ").is_err());
    }

    #[test]
    fn hex_ids_round_trip() {
        assert_eq!(id_to_hex(0xFE20FE2), "000000000FE20FE2");
        assert_eq!(id_from_hex("000000000fe20fe2"), Some(0xFE20FE2));
        assert_eq!(id_from_hex("FE20FE2"), None);
        assert_eq!(id_from_hex("8000000000000000"), None);
        assert_eq!(id_from_hex("zzzzzzzzzzzzzzzz"), None);
    }

    #[test]
    fn org_ids_are_slugs() {
        assert!(OrgId::parse("acme-1").is_ok());
        assert!(OrgId::parse("12345ABC@AdobeOrg").is_ok());
        assert!(OrgId::parse("a b").is_err());
        assert!(OrgId::parse("").is_err());
        assert!(OrgId::parse(&"x".repeat(65)).is_err());
    }

    fn email(value: &str, kind: &str, primary: Option<bool>) -> (MultiAttr, MultiValue) {
        (
            MultiAttr::Emails,
            MultiValue {
                value: Some(value.into()),
                kind: Some(kind.into()),
                primary,
                ..MultiValue::default()
            },
        )
    }

    fn emails(d: &UserData) -> Vec<(&str, &str, Option<bool>)> {
        fn s(o: &Option<String>) -> &str {
            o.as_deref().unwrap_or("")
        }
        d.values_of(MultiAttr::Emails)
            .map(|v| (s(&v.value), s(&v.kind), v.primary))
            .collect()
    }

    #[test]
    fn the_primary_email_is_the_marked_one_else_the_first() {
        let mut d = UserData::default();
        d.set_primary_email(Some("a@x.co".into()));
        assert_eq!(emails(&d), [("a@x.co", "work", Some(true))]);
        // Replacing keeps the value's type and mark, and leaves the other emails.
        d.values.insert(0, email("h@x.co", "home", None));
        d.set_primary_email(Some("b@x.co".into()));
        assert_eq!(
            emails(&d),
            [("h@x.co", "home", None), ("b@x.co", "work", Some(true))]
        );
        // With none marked primary, the first email is the primary one.
        let mut d = UserData {
            values: vec![
                email("one@x.co", "home", None),
                email("two@x.co", "other", Some(false)),
            ],
            ..UserData::default()
        };
        assert_eq!(
            d.primary(MultiAttr::Emails).unwrap().value.as_deref(),
            Some("one@x.co")
        );
        d.set_primary_email(Some("new@x.co".into()));
        assert_eq!(
            emails(&d),
            [
                ("new@x.co", "home", None),
                ("two@x.co", "other", Some(false))
            ]
        );
        // Clearing removes only the primary one; clearing nothing changes nothing.
        d.set_primary_email(None);
        assert_eq!(emails(&d), [("two@x.co", "other", Some(false))]);
        let mut none = UserData::default();
        none.set_primary_email(None);
        assert!(none.values.is_empty());
        // Phone numbers are another attribute: the email is not touched.
        d.set_primary(MultiAttr::PhoneNumbers, Some("+1 555".into()), None);
        assert_eq!(emails(&d), [("two@x.co", "other", Some(false))]);
        assert_eq!(d.values.len(), 2);
    }
}

// ---------------------------------------------------------------------------------------
// Users and groups.

/// The structured name (SCIM `name`, Logto `profile.*Name`, Sumo/Adobe first/last name).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Name {
    pub formatted: Option<String>,
    pub family: Option<String>,
    pub given: Option<String>,
    pub middle: Option<String>,
    pub honorific_prefix: Option<String>,
    pub honorific_suffix: Option<String>,
}

/// The enterprise attributes (SCIM enterprise extension; Domo `employeeNumber`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Enterprise {
    pub employee_number: Option<String>,
    pub cost_center: Option<String>,
    pub organization: Option<String>,
    pub division: Option<String>,
    pub department: Option<String>,
    /// The manager's user id as the client gave it (SCIM `manager.value`).
    pub manager: Option<String>,
}

/// The multi-valued user attributes kept one row per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MultiAttr {
    Emails,
    PhoneNumbers,
    Ims,
    Photos,
    Addresses,
    Entitlements,
    X509Certificates,
}

impl MultiAttr {
    pub const ALL: [MultiAttr; 7] = [
        MultiAttr::Emails,
        MultiAttr::PhoneNumbers,
        MultiAttr::Ims,
        MultiAttr::Photos,
        MultiAttr::Addresses,
        MultiAttr::Entitlements,
        MultiAttr::X509Certificates,
    ];
    /// The SCIM attribute name, also the `user_values.attribute` column value.
    pub fn as_str(self) -> &'static str {
        match self {
            MultiAttr::Emails => "emails",
            MultiAttr::PhoneNumbers => "phoneNumbers",
            MultiAttr::Ims => "ims",
            MultiAttr::Photos => "photos",
            MultiAttr::Addresses => "addresses",
            MultiAttr::Entitlements => "entitlements",
            MultiAttr::X509Certificates => "x509Certificates",
        }
    }
    pub fn parse(s: &str) -> Option<MultiAttr> {
        MultiAttr::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A postal address (SCIM `addresses` element).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Address {
    pub formatted: Option<String>,
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// One value of a multi-valued attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MultiValue {
    pub value: Option<String>,
    pub display: Option<String>,
    pub kind: Option<String>,
    /// `None` when the client did not say; `Some(false)` when it said false.
    pub primary: Option<bool>,
    /// Only for addresses.
    pub address: Option<Address>,
}

/// A role held by a user (SCIM `roles`, Domo `role`, Sumo `roleIds`), by role name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoleValue {
    pub name: String,
    pub display: Option<String>,
    pub kind: Option<String>,
    pub primary: Option<bool>,
}

/// Fields only some vendor dialects use; SCIM leaves them as they are.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VendorFields {
    pub custom_data: serde_json::Value,
    pub profile_extra: serde_json::Value,
    pub identity_type: Option<String>,
    pub domain: Option<String>,
    pub application_id: Option<String>,
    pub is_locked: bool,
    pub mfa_enabled: bool,
    pub last_sign_in_at: Option<NaiveDateTime>,
}

impl Default for VendorFields {
    fn default() -> Self {
        VendorFields {
            custom_data: serde_json::json!({}),
            profile_extra: serde_json::json!({}),
            identity_type: None,
            domain: None,
            application_id: None,
            is_locked: false,
            mfa_enabled: false,
            last_sign_in_at: None,
        }
    }
}

/// Everything about a user a client may write. (Serializable as it is: the console keeps a
/// CSV import's judged rows in the database until the import is confirmed.)
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserData {
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub nick_name: Option<String>,
    pub profile_url: Option<String>,
    pub title: Option<String>,
    pub user_type: Option<String>,
    pub preferred_language: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub name: Name,
    /// `None` is unassigned (SCIM lets a client remove it); it counts as active.
    pub active: Option<bool>,
    pub enterprise: Enterprise,
    pub values: Vec<(MultiAttr, MultiValue)>,
    pub roles: Vec<RoleValue>,
    pub vendor: VendorFields,
    /// Values of custom schema extensions (and of extensions kept unregistered), by URN.
    pub extensions: Extensions,
}

impl UserData {
    pub fn values_of(&self, attr: MultiAttr) -> impl Iterator<Item = &MultiValue> {
        self.values
            .iter()
            .filter(move |(a, _)| *a == attr)
            .map(|(_, v)| v)
    }
    /// Active only when something said so. Every create stores `true` unless told
    /// otherwise, and a PUT that omits it keeps it; `None` is left only by a SCIM client
    /// clearing it on purpose (PATCH remove, or replace with null or ""), and a cleared
    /// `active` never lets a user in.
    pub fn is_active(&self) -> bool {
        self.active == Some(true)
    }
    /// The primary value of `attr`, else its first.
    pub fn primary(&self, attr: MultiAttr) -> Option<&MultiValue> {
        self.primary_index(attr).map(|i| &self.values[i].1)
    }
    /// Where the primary value of `attr` sits in `values`: the one marked primary, else the
    /// first of `attr`.
    pub fn primary_index(&self, attr: MultiAttr) -> Option<usize> {
        let mut first = None;
        for (i, (a, v)) in self.values.iter().enumerate() {
            if *a == attr {
                if v.primary == Some(true) {
                    return Some(i);
                }
                first.get_or_insert(i);
            }
        }
        first
    }
    /// Set the primary value of `attr` (the one `primary` finds) to `value`, or remove it
    /// with `None`; the others stay as they are, and so do the type and mark of the one
    /// replaced. With none there, `value` is added marked primary, of type `kind`.
    pub fn set_primary(&mut self, attr: MultiAttr, value: Option<String>, kind: Option<&str>) {
        match (self.primary_index(attr), value) {
            (Some(i), Some(v)) => self.values[i].1.value = Some(v),
            (Some(i), None) => {
                self.values.remove(i);
            }
            (None, Some(v)) => self.values.push((
                attr,
                MultiValue {
                    value: Some(v),
                    kind: kind.map(str::to_string),
                    primary: Some(true),
                    ..MultiValue::default()
                },
            )),
            (None, None) => {}
        }
    }
    /// Set (or with `None` remove) the user's primary email: what every dialect and the
    /// console mean by "the user's email". A new one is of type `work`.
    pub fn set_primary_email(&mut self, email: Option<String>) {
        self.set_primary(MultiAttr::Emails, email, Some("work"));
    }
}

/// A password change: a bcrypt hash, or an imported digest with its algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    pub hash: String,
    pub algorithm: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub org_id: OrgId,
    pub data: UserData,
    pub has_password: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: Option<String>,
    pub modified_by: Option<String>,
}

impl User {
    /// The name a user goes by wherever one is shown (SCIM's `userName`, the console's
    /// lists and titles): the login name, else (a user made without one: Domo, Sumo, Adobe
    /// by email) the primary email, else the id as 16 hex digits.
    pub fn shown_name(&self) -> String {
        shown_name(self.id, &self.data)
    }
}

/// `User::shown_name` of user `id` with `d`.
pub fn shown_name(id: i64, d: &UserData) -> String {
    d.user_name
        .clone()
        .or_else(|| d.primary(MultiAttr::Emails).and_then(|e| e.value.clone()))
        .unwrap_or_else(|| id_to_hex(id))
}

/// A user's account at an external target (a social or enterprise identity provider).
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The provider, e.g. `github`.
    pub target: String,
    /// The user's id there.
    pub external_user_id: String,
    /// Whatever the provider reported (a JSON object).
    pub details: serde_json::Value,
}

/// A group the user belongs to, directly or through a nested group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: i64,
    pub display_name: String,
    pub direct: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    User,
    Group,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: i64,
    pub kind: MemberKind,
    /// What SCIM shows as the member's `display`: a user's displayName, else their userName
    /// (for a user without a login name, the lower-cased primary email); a group's
    /// displayName. Read with the membership rows.
    pub display: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupData {
    pub display_name: String,
    pub external_id: Option<String>,
    pub description: Option<String>,
    /// Domo's group `active`; SCIM has no such attribute and leaves it as it is.
    pub active: bool,
    /// What the group is to Adobe (a user group, a product profile or an admin group); the
    /// other dialects serve every kind as a plain group.
    pub kind: GroupKind,
    /// Values of custom schema extensions (and of extensions kept unregistered), by URN.
    pub extensions: Extensions,
}

impl Default for GroupData {
    fn default() -> Self {
        GroupData {
            display_name: String::new(),
            external_id: None,
            description: None,
            active: true,
            kind: GroupKind::Group,
            extensions: Extensions::new(),
        }
    }
}

/// The kind of a group, stored in `groups.group_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupKind {
    /// A plain group: SCIM's, Domo's, and Adobe's user groups.
    #[default]
    Group,
    /// An Adobe product profile (a product's configuration users are given access by).
    ProductProfile,
    /// An Adobe admin group (`_org_admin`, `_admin_<group>`, ...).
    AdminGroup,
}

impl GroupKind {
    pub const ALL: [GroupKind; 3] = [
        GroupKind::Group,
        GroupKind::ProductProfile,
        GroupKind::AdminGroup,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Group => "group",
            GroupKind::ProductProfile => "product_profile",
            GroupKind::AdminGroup => "admin_group",
        }
    }
    /// The stored text; anything unknown reads as a plain group.
    pub fn parse(s: &str) -> Option<GroupKind> {
        GroupKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: i64,
    pub org_id: OrgId,
    pub data: GroupData,
    /// Loaded only when asked for.
    pub members: Option<Vec<Member>>,
    /// The organization's default group (Domo's `default`); none is made today.
    pub is_default: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a member add does with an id that is not a user or group of the organization (never
/// was, or was deleted): refuse the whole change (`Invalid`), or leave it out and report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownMembers {
    #[default]
    Reject,
    Skip,
}

/// How a write changes a group's members; each variant touches only the rows it names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberChange {
    /// Delete every membership first (replace).
    pub clear: bool,
    pub add: Vec<i64>,
    pub remove: Vec<i64>,
    /// What happens to ids of `add` that name no user or group.
    pub unknown: UnknownMembers,
}

impl MemberChange {
    /// Make the members exactly `ids` (applied as a diff: rows of members that stay are
    /// left alone).
    pub fn replace_with(ids: Vec<i64>) -> MemberChange {
        MemberChange {
            clear: true,
            add: ids,
            remove: vec![],
            unknown: UnknownMembers::Reject,
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.clear && self.add.is_empty() && self.remove.is_empty()
    }
}
