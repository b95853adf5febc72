//! Logto's user object (vendor-apis.md §1.3) and its request bodies, and how they map onto
//! the one user model (product.md §4): `name` is the display name, `primaryEmail`,
//! `primaryPhone` and `avatar` the primary email, phone and photo, `profile` claims the SCIM
//! columns they name (`givenName` → `name.givenName`, `zoneinfo` → `timezone`, `address` →
//! the primary address, ...) with the rest kept whole, `isSuspended` the inverse of `active`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::Object;
use serde_json::Value;

use super::error::LogtoError;
use crate::domain::{id_to_hex, Address, Identity, MultiAttr, MultiValue, User, UserData};

pub fn millis(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_millis()
}

/// An identity at an external target, as Logto shows it.
#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoIdentity", rename_all = "camelCase")]
pub struct LogtoIdentity {
    /// The user's id at the target.
    pub user_id: String,
    #[oai(skip_serializing_if_is_none)]
    pub details: Option<BTreeMap<String, Value>>,
}

#[derive(Object, Debug, Clone, Default, PartialEq)]
#[oai(rename = "LogtoAddress", rename_all = "camelCase")]
pub struct LogtoAddress {
    #[oai(skip_serializing_if_is_none)]
    pub formatted: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub street_address: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub locality: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub region: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub postal_code: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub country: Option<String>,
}

/// OpenID Connect standard claims (all optional).
#[derive(Object, Debug, Clone, Default, PartialEq)]
#[oai(rename = "LogtoProfile", rename_all = "camelCase")]
pub struct LogtoProfile {
    #[oai(skip_serializing_if_is_none)]
    pub family_name: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub given_name: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub middle_name: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub nickname: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub preferred_username: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub profile: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub website: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub gender: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub birthdate: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub zoneinfo: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub locale: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub address: Option<LogtoAddress>,
}

/// A Logto user.
#[derive(Object, Debug, Clone)]
#[oai(rename = "LogtoUser", rename_all = "camelCase")]
pub struct LogtoUser {
    pub id: String,
    pub username: Option<String>,
    pub primary_email: Option<String>,
    pub primary_phone: Option<String>,
    pub name: Option<String>,
    pub avatar: Option<String>,
    pub custom_data: BTreeMap<String, Value>,
    pub identities: BTreeMap<String, LogtoIdentity>,
    /// Epoch milliseconds.
    pub last_sign_in_at: Option<i64>,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds.
    pub updated_at: i64,
    pub profile: LogtoProfile,
    pub application_id: Option<String>,
    /// The client-ID metadata document client the user signed up through: always null
    /// (Muster has no such sign-up).
    pub cimd_client_id: Option<String>,
    pub is_suspended: bool,
    pub has_password: bool,
    /// Enterprise SSO identities, only with `includeSsoIdentities=true` (always empty: Muster
    /// has no enterprise SSO connectors).
    #[oai(skip_serializing_if_is_none)]
    pub sso_identities: Option<Vec<Value>>,
    /// The stored password digest, only with `includePasswordHash=true` (null without a
    /// password).
    pub password_digest: MaybeUndefined<String>,
    /// Its algorithm by Logto's names (`Bcrypt` for Muster's own hashes), likewise.
    pub password_algorithm: MaybeUndefined<String>,
}

/// `POST /api/users`: every field optional.
#[derive(Object, Debug, Clone, Default)]
#[oai(rename = "LogtoNewUser", rename_all = "camelCase")]
pub struct NewUserBody {
    /// Digits only.
    pub primary_phone: Option<String>,
    pub primary_email: Option<String>,
    /// `^[A-Z_a-z]\w*$`
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_digest: Option<String>,
    /// `Argon2i`, `Argon2id`, `Argon2d`, `SHA1`, `SHA256`, `MD5`, `Bcrypt`.
    pub password_algorithm: Option<String>,
    pub name: Option<String>,
    /// A URL, `""` or null.
    pub avatar: Option<String>,
    pub custom_data: Option<BTreeMap<String, Value>>,
    pub profile: Option<LogtoProfile>,
}

/// `PATCH /api/users/:id`: the fields given change; `""` or null clears one; `customData`
/// and `profile` replace the whole object.
#[derive(Object, Debug, Clone, Default)]
#[oai(rename = "LogtoUserPatch", rename_all = "camelCase")]
pub struct UserPatchBody {
    pub username: MaybeUndefined<String>,
    pub primary_email: MaybeUndefined<String>,
    pub primary_phone: MaybeUndefined<String>,
    pub name: MaybeUndefined<String>,
    pub avatar: MaybeUndefined<String>,
    pub custom_data: Option<BTreeMap<String, Value>>,
    pub profile: Option<LogtoProfile>,
}

fn extra_str(extra: &Value, key: &str) -> Option<String> {
    extra.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The claims of `profile` kept whole (no SCIM column of their own).
const EXTRA_CLAIMS: [&str; 4] = ["preferredUsername", "website", "gender", "birthdate"];

pub fn profile_of(d: &UserData) -> LogtoProfile {
    let extra = &d.vendor.profile_extra;
    let address = d.primary(MultiAttr::Addresses).and_then(|v| {
        let a = v.address.as_ref()?;
        let a = LogtoAddress {
            formatted: a.formatted.clone().or_else(|| v.value.clone()),
            street_address: a.street_address.clone(),
            locality: a.locality.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
        };
        (a != LogtoAddress::default()).then_some(a)
    });
    LogtoProfile {
        family_name: d.name.family.clone(),
        given_name: d.name.given.clone(),
        middle_name: d.name.middle.clone(),
        nickname: d.nick_name.clone(),
        preferred_username: extra_str(extra, "preferredUsername"),
        profile: d.profile_url.clone(),
        website: extra_str(extra, "website"),
        gender: extra_str(extra, "gender"),
        birthdate: extra_str(extra, "birthdate"),
        zoneinfo: d.timezone.clone(),
        locale: d.locale.clone(),
        address,
    }
}

fn object(v: &Value) -> BTreeMap<String, Value> {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// A user's identities as Logto's map, by target.
pub fn identities_map(identities: &[Identity]) -> BTreeMap<String, LogtoIdentity> {
    identities
        .iter()
        .map(|i| {
            (
                i.target.clone(),
                LogtoIdentity {
                    user_id: i.external_user_id.clone(),
                    details: i.details.is_object().then(|| object(&i.details)),
                },
            )
        })
        .collect()
}

pub fn render(u: &User, identities: &[Identity]) -> LogtoUser {
    let d = &u.data;
    let value = |a: MultiAttr| d.primary(a).and_then(|v| v.value.clone());
    LogtoUser {
        id: id_to_hex(u.id),
        username: d.user_name.clone(),
        primary_email: value(MultiAttr::Emails),
        primary_phone: value(MultiAttr::PhoneNumbers),
        name: d.display_name.clone(),
        avatar: value(MultiAttr::Photos),
        custom_data: object(&d.vendor.custom_data),
        identities: identities_map(identities),
        last_sign_in_at: d.vendor.last_sign_in_at.map(millis),
        created_at: millis(u.created_at),
        updated_at: millis(u.updated_at),
        profile: profile_of(d),
        application_id: d.vendor.application_id.clone(),
        cimd_client_id: None,
        is_suspended: !d.is_active(),
        has_password: u.has_password,
        sso_identities: None,
        password_digest: MaybeUndefined::Undefined,
        password_algorithm: MaybeUndefined::Undefined,
    }
}

fn set_address(d: &mut UserData, a: Option<&LogtoAddress>) {
    let i = d.primary_index(MultiAttr::Addresses);
    let Some(a) = a.filter(|a| **a != LogtoAddress::default()) else {
        if let Some(i) = i {
            d.values.remove(i);
        }
        return;
    };
    let address = Address {
        formatted: a.formatted.clone(),
        street_address: a.street_address.clone(),
        locality: a.locality.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
    };
    match i {
        Some(i) => d.values[i].1.address = Some(address),
        None => d.values.push((
            MultiAttr::Addresses,
            MultiValue {
                primary: Some(true),
                address: Some(address),
                ..Default::default()
            },
        )),
    }
}

/// Apply `p` to `d`: `merge` changes only the claims `p` gives (`PATCH .../profile`);
/// otherwise `p` replaces the whole profile (`PATCH /api/users/:id`, create).
pub fn apply_profile(d: &mut UserData, p: &LogtoProfile, merge: bool) {
    fn put(slot: &mut Option<String>, v: &Option<String>, merge: bool) {
        if !merge || v.is_some() {
            *slot = v.clone().filter(|s| !s.is_empty());
        }
    }
    put(&mut d.name.family, &p.family_name, merge);
    put(&mut d.name.given, &p.given_name, merge);
    put(&mut d.name.middle, &p.middle_name, merge);
    put(&mut d.nick_name, &p.nickname, merge);
    put(&mut d.profile_url, &p.profile, merge);
    put(&mut d.timezone, &p.zoneinfo, merge);
    put(&mut d.locale, &p.locale, merge);
    if !merge || p.address.is_some() {
        set_address(d, p.address.as_ref());
    }
    let mut extra = if merge {
        d.vendor
            .profile_extra
            .as_object()
            .cloned()
            .unwrap_or_default()
    } else {
        serde_json::Map::new()
    };
    let given = [&p.preferred_username, &p.website, &p.gender, &p.birthdate];
    for (k, v) in EXTRA_CLAIMS.iter().zip(given) {
        match v {
            Some(v) => {
                extra.insert(k.to_string(), Value::String(v.clone()));
            }
            None if !merge => {
                extra.remove(*k);
            }
            None => {}
        }
    }
    d.vendor.profile_extra = Value::Object(extra);
}

// ---- validation (zod's rules in Logto's guards) ----

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

const MAX_FIELD: usize = 128;

pub fn check_username(v: &str) -> Result<(), LogtoError> {
    let mut chars = v.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(is_word)
        && v.len() <= MAX_FIELD;
    ok.then_some(()).ok_or_else(|| {
        LogtoError::body(
            "username",
            "(invalid_string) Invalid: must match ^[A-Z_a-z]\\w*$ and be at most 128 characters",
        )
    })
}

pub fn check_email(v: &str) -> Result<(), LogtoError> {
    // `^\S+@\S+\.\S+$`
    let ok = v.len() <= MAX_FIELD
        && !v.chars().any(char::is_whitespace)
        && v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain
                    .rsplit_once('.')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        });
    ok.then_some(()).ok_or_else(|| {
        LogtoError::body(
            "primaryEmail",
            "(invalid_string) Invalid: must be an email address",
        )
    })
}

pub fn check_phone(v: &str) -> Result<(), LogtoError> {
    let ok = !v.is_empty() && v.len() <= MAX_FIELD && v.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(())
        .ok_or_else(|| LogtoError::body("primaryPhone", "(invalid_string) Invalid: digits only"))
}

pub fn check_name(v: &str) -> Result<(), LogtoError> {
    (v.chars().count() <= MAX_FIELD && !v.contains('\0'))
        .then_some(())
        .ok_or_else(|| LogtoError::body("name", "(too_big) at most 128 characters"))
}

pub fn check_avatar(v: &str) -> Result<(), LogtoError> {
    let ok =
        v.len() <= 2048 && url::Url::parse(v).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    ok.then_some(())
        .ok_or_else(|| LogtoError::body("avatar", "(invalid_string) Invalid url"))
}

/// The profile's strings: no NUL, at most 2048 characters each.
pub fn check_profile(p: &LogtoProfile) -> Result<(), LogtoError> {
    let a = p.address.clone().unwrap_or_default();
    let all = [
        &p.family_name,
        &p.given_name,
        &p.middle_name,
        &p.nickname,
        &p.preferred_username,
        &p.profile,
        &p.website,
        &p.gender,
        &p.birthdate,
        &p.zoneinfo,
        &p.locale,
        &a.formatted,
        &a.street_address,
        &a.locality,
        &a.region,
        &a.postal_code,
        &a.country,
    ];
    for v in all.into_iter().flatten() {
        if v.contains('\0') || v.chars().count() > 2048 {
            return Err(LogtoError::body(
                "profile",
                "(invalid_string) each claim is at most 2048 characters, without NUL",
            ));
        }
    }
    Ok(())
}

pub fn custom_data_value(m: &BTreeMap<String, Value>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// A new user's data from a create body (already validated).
pub fn new_user_data(b: &NewUserBody) -> UserData {
    let mut d = UserData {
        user_name: b.username.clone(),
        display_name: b.name.clone().filter(|s| !s.is_empty()),
        active: Some(true),
        ..Default::default()
    };
    d.set_primary_email(b.primary_email.clone());
    d.set_primary(MultiAttr::PhoneNumbers, b.primary_phone.clone(), None);
    d.set_primary(
        MultiAttr::Photos,
        b.avatar.clone().filter(|s| !s.is_empty()),
        None,
    );
    if let Some(c) = &b.custom_data {
        d.vendor.custom_data = custom_data_value(c);
    }
    if let Some(p) = &b.profile {
        apply_profile(&mut d, p, false);
    }
    d
}

/// Check every field of a create body, in Logto's order of rules.
pub fn check_new(b: &NewUserBody) -> Result<(), LogtoError> {
    if let Some(v) = &b.primary_phone {
        check_phone(v)?;
    }
    if let Some(v) = &b.primary_email {
        check_email(v)?;
    }
    if let Some(v) = &b.username {
        check_username(v)?;
    }
    if b.password.as_deref() == Some("") {
        return Err(LogtoError::body(
            "password",
            "(too_small) String must contain at least 1 character(s)",
        ));
    }
    if let Some(v) = &b.name {
        check_name(v)?;
    }
    if let Some(v) = b.avatar.as_deref().filter(|s| !s.is_empty()) {
        check_avatar(v)?;
    }
    if let Some(p) = &b.profile {
        check_profile(p)?;
    }
    Ok(())
}

/// A field of a PATCH body: `Some(None)` clears it (`""` or null), `None` leaves it.
fn patch_field(
    v: &MaybeUndefined<String>,
    check: fn(&str) -> Result<(), LogtoError>,
) -> Result<Option<Option<String>>, LogtoError> {
    match v {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(s) if s.is_empty() => Ok(Some(None)),
        MaybeUndefined::Value(s) => {
            check(s)?;
            Ok(Some(Some(s.clone())))
        }
    }
}

/// `primaryPhone` as Logto stores it: country code and national number as libphonenumber
/// reads the number (`610412345678` → `61412345678`, `domain::rules::normalised_phone`);
/// 422 `user.invalid_phone` for digits it cannot read as a phone number.
pub fn stored_phone(v: &str) -> Result<String, LogtoError> {
    crate::domain::rules::normalised_phone(v)
        .ok_or_else(|| LogtoError::unprocessable("user.invalid_phone", "Invalid phone number."))
}

/// A checked PATCH: each field `Some(new)` to change.
pub struct Patch {
    pub username: Option<Option<String>>,
    pub primary_email: Option<Option<String>>,
    pub primary_phone: Option<Option<String>>,
    pub name: Option<Option<String>>,
    pub avatar: Option<Option<String>>,
    pub custom_data: Option<Value>,
    pub profile: Option<LogtoProfile>,
}

pub fn check_patch(b: &UserPatchBody) -> Result<Patch, LogtoError> {
    if let Some(p) = &b.profile {
        check_profile(p)?;
    }
    let mut patch = Patch {
        username: patch_field(&b.username, check_username)?,
        primary_email: patch_field(&b.primary_email, check_email)?,
        primary_phone: patch_field(&b.primary_phone, check_phone)?,
        name: patch_field(&b.name, check_name)?,
        avatar: patch_field(&b.avatar, check_avatar)?,
        custom_data: b.custom_data.as_ref().map(custom_data_value),
        profile: b.profile.clone(),
    };
    if let Some(Some(phone)) = &patch.primary_phone {
        patch.primary_phone = Some(Some(stored_phone(phone)?));
    }
    Ok(patch)
}

impl Patch {
    /// Nothing to change (`{}`, or only keys Logto does not know): Logto refuses it, 422
    /// `entity.invalid_input`.
    pub fn is_empty(&self) -> bool {
        self.username.is_none()
            && self.primary_email.is_none()
            && self.primary_phone.is_none()
            && self.name.is_none()
            && self.avatar.is_none()
            && self.custom_data.is_none()
            && self.profile.is_none()
    }

    pub fn apply(&self, current: &UserData) -> UserData {
        let mut d = current.clone();
        if let Some(v) = &self.username {
            d.user_name = v.clone();
        }
        if let Some(v) = &self.name {
            d.display_name = v.clone();
        }
        if let Some(v) = &self.primary_email {
            d.set_primary_email(v.clone());
        }
        if let Some(v) = &self.primary_phone {
            d.set_primary(MultiAttr::PhoneNumbers, v.clone(), None);
        }
        if let Some(v) = &self.avatar {
            d.set_primary(MultiAttr::Photos, v.clone(), None);
        }
        if let Some(c) = &self.custom_data {
            d.vendor.custom_data = c.clone();
        }
        if let Some(p) = &self.profile {
            apply_profile(&mut d, p, false);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logto_field_rules() {
        assert!(check_username("alice_1").is_ok());
        assert!(check_username("_x").is_ok());
        for bad in ["1abc", "a-b", "", "a b", "é", &"a".repeat(129)] {
            assert!(check_username(bad).is_err(), "{bad:?}");
        }
        assert!(check_email("a@b.co").is_ok());
        for bad in ["a@b", "@b.co", "a b@c.de", "a@.", "plain"] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        assert!(check_phone("12345").is_ok());
        assert!(check_phone("+123").is_err());
        assert!(check_avatar("https://x.example/a.png").is_ok());
        assert!(check_avatar("javascript:alert(1)").is_err());
    }

    #[test]
    fn profile_maps_onto_scim_columns_and_keeps_the_rest() {
        let mut d = UserData::default();
        let p = LogtoProfile {
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            zoneinfo: Some("Europe/London".into()),
            website: Some("https://ada.example".into()),
            address: Some(LogtoAddress {
                country: Some("GB".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        apply_profile(&mut d, &p, false);
        assert_eq!(d.name.given.as_deref(), Some("Ada"));
        assert_eq!(d.timezone.as_deref(), Some("Europe/London"));
        assert_eq!(d.vendor.profile_extra["website"], "https://ada.example");
        assert_eq!(profile_of(&d), p);
        // Merge changes only what it names.
        apply_profile(
            &mut d,
            &LogtoProfile {
                nickname: Some("ada".into()),
                ..Default::default()
            },
            true,
        );
        assert_eq!(d.name.family.as_deref(), Some("Lovelace"));
        assert_eq!(d.nick_name.as_deref(), Some("ada"));
        // Replace clears the rest.
        apply_profile(&mut d, &LogtoProfile::default(), false);
        assert_eq!(profile_of(&d), LogtoProfile::default());
    }
}
