//! The identity rules of a user's data, as pure functions: what a value is normalised to,
//! what is refused, the keys uniqueness compares, and the values derived from others. The
//! directory applies them on every write (`directory::users`), so every caller — SCIM, the
//! vendor dialects, the console, the admin API — gets the same outcome; the rule book in
//! docs/architecture.md lists where each lives and its test.
//!
//! A rule judges only what a write changes: a value already stored (say a login name with
//! a zero-width space, or a duplicate email, from before the rule) does not block a write
//! that leaves it as it is.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::MixedScript;

use super::{MultiAttr, Name, UserData};

/// A user field that is unique in an organization (case-insensitively, compared by its
/// key). The order is the order a write's collisions are reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UniqueField {
    /// The primary (else first) email.
    Email,
    /// The primary (else first) phone number, compared by `phone_key`.
    Phone,
    /// The login name (SCIM `userName`, Logto `username`). A user without one answers to
    /// their primary email as a login name, so a collision of that is reported as `Email`.
    LoginName,
}

impl UniqueField {
    /// How the field is named in messages.
    pub fn label(self) -> &'static str {
        match self {
            UniqueField::Email => "email",
            UniqueField::Phone => "phone number",
            UniqueField::LoginName => "user name",
        }
    }

    /// The SCIM attribute the field is.
    pub fn scim_attribute(self) -> &'static str {
        match self {
            UniqueField::Email => "emails",
            UniqueField::Phone => "phoneNumbers",
            UniqueField::LoginName => "userName",
        }
    }

    /// The stored `attribute` of a `user_values` row, for the two fields kept there.
    pub fn value_attribute(self) -> Option<MultiAttr> {
        match self {
            UniqueField::Email => Some(MultiAttr::Emails),
            UniqueField::Phone => Some(MultiAttr::PhoneNumbers),
            UniqueField::LoginName => None,
        }
    }

    /// The message every caller shows (in its own shape).
    pub fn taken_message(self) -> String {
        format!(
            "this {} is already another user's in the organization",
            self.label()
        )
    }
}

/// A value a rule refuses: the field (as SCIM names it: `userName`, `emails`,
/// `name.givenName`, ...) and why, for a 400 in the caller's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What an email is compared by: trimmed and lower-cased (emails are matched
/// case-insensitively; `user_values.value_lower` holds the same for stored values).
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The characters a phone number's key drops: spaces and the punctuation people write
/// numbers with. `+1 (555) 010-0100`, `+1.555.010.0100` and `+15550100100` are one number;
/// the leading `+` and everything else (digits, letters of an extension) are kept, so
/// `+15550100100` and `15550100100` stay different (the `+` says the country code follows).
/// `store::users::PHONE_KEY_SQL` computes the same from `value_lower` for the index.
pub const PHONE_SEPARATORS: [char; 5] = [' ', '-', '(', ')', '.'];

/// What a phone number is compared by (see `PHONE_SEPARATORS`).
pub fn phone_key(phone: &str) -> String {
    phone
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !PHONE_SEPARATORS.contains(c))
        .collect()
}

/// A phone number written in international form (country code first, with or without a
/// leading `+`; the separators of `PHONE_SEPARATORS` allowed), as libphonenumber parses it
/// (the `phonenumber` crate): its country calling code and national number, the national
/// prefix dropped (`+61 0412 345 678` → `(61, "412345678")`). `None` when it is not digits
/// or libphonenumber cannot read it.
pub fn international_phone(phone: &str) -> Option<(u16, String)> {
    let compact: String = phone
        .trim()
        .chars()
        .filter(|c| !PHONE_SEPARATORS.contains(c))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if digits.is_empty() || digits.len() > 32 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = phonenumber::parse(None, format!("+{digits}")).ok()?;
    Some((n.code().value(), n.national().to_string()))
}

/// A phone number as Logto stores it: country code and national number, digits only
/// (`610412345678` → `61412345678`, `+44 07911 123456` → `447911123456`); `None` when
/// libphonenumber cannot read it as an international number.
pub fn normalised_phone(phone: &str) -> Option<String> {
    international_phone(phone).map(|(code, national)| format!("{code}{national}"))
}

/// The forms one international number is written in: country code and national number,
/// with and without the national prefix `0` between them (`61412345678`, `610412345678`),
/// digits only. Empty for a number libphonenumber cannot read as an international one
/// (Logto's test too: whether it parses, not whether its number plan is known to be in
/// use). A search for one finds the others (Logto's `search.primaryPhone`).
pub fn phone_forms(phone: &str) -> Vec<String> {
    let Some((code, national)) = international_phone(phone) else {
        return vec![];
    };
    vec![format!("{code}{national}"), format!("{code}0{national}")]
}

/// Every key a phone number collides on: its own (`phone_key`) and, for a number
/// libphonenumber reads as international, the keys of its other forms (`phone_forms`, keeping a leading `+`
/// as written), so `610498765432` and `61498765432` are one number to uniqueness, as Logto
/// compares them.
pub fn phone_keys(phone: &str) -> Vec<String> {
    let key = phone_key(phone);
    let plus = if key.starts_with('+') { "+" } else { "" };
    let mut keys = vec![key];
    for f in phone_forms(phone) {
        let k = format!("{plus}{f}");
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// The user's login key as `users.user_name_lower` keeps it: the login name, else (a user
/// made by a dialect without login names: Domo, Sumo, Adobe by email) the primary email,
/// which SCIM shows as the `userName`. Lower-cased.
pub fn login_key(d: &UserData) -> Option<String> {
    d.user_name
        .as_ref()
        .or_else(|| d.primary(MultiAttr::Emails).and_then(|e| e.value.as_ref()))
        .map(|s| s.to_lowercase())
}

fn primary_key(d: &UserData, attr: MultiAttr) -> Option<String> {
    let v = d.primary(attr)?.value.as_deref()?;
    let k = match attr {
        MultiAttr::PhoneNumbers => phone_key(v),
        _ => email_key(v),
    };
    (!k.is_empty()).then_some(k)
}

/// The key of `field` of `d`, if it has one.
pub fn key_of(d: &UserData, field: UniqueField) -> Option<String> {
    match field {
        UniqueField::Email => primary_key(d, MultiAttr::Emails),
        UniqueField::Phone => primary_key(d, MultiAttr::PhoneNumbers),
        UniqueField::LoginName => login_key(d).filter(|k| !k.is_empty()),
    }
}

/// The unique keys of `new` that the write must check: those that differ from `old`'s (all
/// of them for a new user). A login key that is the email (no login name) is reported as
/// `Email` when it collides. A changed phone number is checked by every key it collides on
/// (`phone_keys`).
pub fn keys_to_check(new: &UserData, old: Option<&UserData>) -> Vec<(UniqueField, String)> {
    let mut out = vec![];
    for f in [
        UniqueField::Email,
        UniqueField::Phone,
        UniqueField::LoginName,
    ] {
        let Some(k) = key_of(new, f) else { continue };
        if old.and_then(|o| key_of(o, f)).as_deref() == Some(k.as_str()) {
            continue;
        }
        let phone = (f == UniqueField::Phone)
            .then(|| new.primary(MultiAttr::PhoneNumbers))
            .flatten()
            .and_then(|v| v.value.as_deref());
        match phone {
            Some(v) => out.extend(phone_keys(v).into_iter().map(|k| (f, k))),
            None => out.push((f, k)),
        }
    }
    out
}

/// The field a login-key collision of `d` is: its login name, or its email when it has none.
pub fn login_key_field(d: &UserData) -> UniqueField {
    if d.user_name.is_some() {
        UniqueField::LoginName
    } else {
        UniqueField::Email
    }
}

/// A control (Cc) or format (Cf) character: zero-width spaces and joiners, bidi overrides
/// and isolates, the byte-order mark, soft hyphens, ... invisible or reordering, so two
/// names that look the same would be different accounts.
fn hidden_char(s: &str) -> Option<char> {
    s.chars().find(|c| {
        matches!(
            c.general_category(),
            GeneralCategory::Control | GeneralCategory::Format
        )
    })
}

fn refuse_hidden(field: &'static str, what: &str, v: &str) -> Result<(), Refused> {
    match hidden_char(v) {
        Some(c) => Err(Refused {
            field,
            message: format!(
                "{what} contains an invisible or control character (U+{:04X})",
                c as u32
            ),
        }),
        None => Ok(()),
    }
}

/// Trimmed, in NFC; `None` when nothing is left.
fn tidy(v: &Option<String>) -> Option<String> {
    let v = v.as_deref()?.trim();
    (!v.is_empty()).then(|| v.nfc().collect())
}

/// Normalise and check `new` (what a write will store) against `old` (what is stored, or
/// `None` for a new user): names and the login name trimmed and in NFC; a login name with
/// control or format characters or mixing scripts (UTS #39: a Cyrillic `а` in a Latin name),
/// or an email with control or format characters, refused; emails and phone numbers
/// trimmed; derived values follow their parts (`derive`). Fields equal to `old`'s are left
/// as they are.
pub fn prepare(new: &mut UserData, old: Option<&UserData>) -> Result<(), Refused> {
    let same = |a: &Option<String>, pick: fn(&UserData) -> &Option<String>| {
        old.is_some_and(|o| pick(o) == a)
    };
    if !same(&new.user_name, |d| &d.user_name) {
        if let Some(raw) = &new.user_name {
            let Some(v) = tidy(&new.user_name) else {
                return Err(Refused {
                    field: "userName",
                    message: format!("a user name cannot be blank (got {raw:?})"),
                });
            };
            refuse_hidden("userName", "the user name", &v)?;
            if !v.as_str().is_single_script() {
                return Err(Refused {
                    field: "userName",
                    message: "the user name mixes writing systems (such as a Cyrillic letter \
                              in a Latin name), so it could pass for another"
                        .into(),
                });
            }
            new.user_name = Some(v);
        }
    }
    macro_rules! tidy_field {
        ($($f:ident).+) => {
            if !same(&new.$($f).+, |d| &d.$($f).+) {
                new.$($f).+ = tidy(&new.$($f).+);
            }
        };
    }
    tidy_field!(display_name);
    tidy_field!(nick_name);
    tidy_field!(name.formatted);
    tidy_field!(name.given);
    tidy_field!(name.family);
    tidy_field!(name.middle);
    tidy_field!(name.honorific_prefix);
    tidy_field!(name.honorific_suffix);
    let old_values = |attr: MultiAttr| -> Vec<Option<String>> {
        old.map(|o| o.values_of(attr).map(|v| v.value.clone()).collect())
            .unwrap_or_default()
    };
    let (old_emails, old_phones) = (
        old_values(MultiAttr::Emails),
        old_values(MultiAttr::PhoneNumbers),
    );
    for (attr, v) in new.values.iter_mut() {
        let known = match attr {
            MultiAttr::Emails => &old_emails,
            MultiAttr::PhoneNumbers => &old_phones,
            _ => continue,
        };
        if known.contains(&v.value) {
            continue;
        }
        if let Some(s) = &v.value {
            let t = s.trim();
            if *attr == MultiAttr::Emails {
                refuse_hidden("emails", "the email", t)?;
            }
            if t.len() != s.len() {
                v.value = Some(t.to_string());
            }
        }
    }
    if let Some(old) = old {
        required(new, old)?;
        derive(new, old);
    }
    Ok(())
}

/// What a user needs depends on the user, not on the caller: one made without a login name
/// (by Domo, Sumo Logic, Adobe) goes by their email and is saved without one by every
/// caller; one with a login name may drop it only while they have an email to go by, so no
/// write leaves a user who was known by a name known by nothing.
pub fn required(new: &UserData, old: &UserData) -> Result<(), Refused> {
    if old.user_name.is_some()
        && new.user_name.is_none()
        && key_of(new, UniqueField::Email).is_none()
    {
        return Err(Refused {
            field: "userName",
            message: "a user name is required: without one this user would have no email \
                      to go by either"
                .into(),
        });
    }
    Ok(())
}

fn joined(parts: &[&Option<String>]) -> Option<String> {
    let s = parts
        .iter()
        .filter_map(|p| p.as_deref())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!s.is_empty()).then_some(s)
}

/// The full name from its parts: `Ms. Barbara Jane Jensen III`.
pub fn formatted_of(n: &Name) -> Option<String> {
    joined(&[
        &n.honorific_prefix,
        &n.given,
        &n.middle,
        &n.family,
        &n.honorific_suffix,
    ])
}

/// Given and family name: `Barbara Jensen`.
pub fn given_family_of(n: &Name) -> Option<String> {
    joined(&[&n.given, &n.family])
}

/// A value built from `old`'s name parts the way `build` builds it, rebuilt from `new`'s.
fn rebuilt(stored: &Option<String>, old: &Name, new: &Name) -> Option<Option<String>> {
    let s = stored.as_ref()?;
    for build in [formatted_of, given_family_of] {
        if build(old).as_ref() == Some(s) {
            return Some(build(new));
        }
    }
    None
}

/// Derived values follow their parts: when a write changes the name parts but not
/// `name.formatted` (or the display name), and the stored value is what the old parts make
/// (`formatted_of` or `given_family_of`), it is rebuilt from the new parts the same way. A
/// value a caller set to something else is theirs and stays; one never set stays unset
/// (nothing is invented for users whose callers never asked for one).
pub fn derive(new: &mut UserData, old: &UserData) {
    let (o, n) = (&old.name, &new.name);
    let parts = |n: &Name| {
        (
            n.given.clone(),
            n.family.clone(),
            n.middle.clone(),
            n.honorific_prefix.clone(),
            n.honorific_suffix.clone(),
        )
    };
    if parts(o) == parts(n) {
        return;
    }
    let name = new.name.clone();
    if new.name.formatted == o.formatted {
        if let Some(v) = rebuilt(&o.formatted, o, &name) {
            new.name.formatted = v;
        }
    }
    if new.display_name == old.display_name {
        if let Some(v) = rebuilt(&old.display_name, o, &name) {
            new.display_name = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MultiValue;

    fn user(login: Option<&str>, email: Option<&str>, phone: Option<&str>) -> UserData {
        let mut d = UserData {
            user_name: login.map(str::to_string),
            ..UserData::default()
        };
        for (attr, v) in [(MultiAttr::Emails, email), (MultiAttr::PhoneNumbers, phone)] {
            if let Some(v) = v {
                d.values.push((
                    attr,
                    MultiValue {
                        value: Some(v.into()),
                        primary: Some(true),
                        ..MultiValue::default()
                    },
                ));
            }
        }
        d
    }

    #[test]
    fn phone_numbers_compare_without_their_punctuation() {
        assert_eq!(phone_key(" +1 (555) 010-0100 "), "+15550100100");
        assert_eq!(phone_key("+1.555.010.0100"), "+15550100100");
        assert_ne!(phone_key("+15550100100"), phone_key("15550100100"));
        assert_eq!(phone_key("555 0100 EXT 7"), "5550100ext7");
        assert_eq!(email_key(" Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn phone_numbers_normalise_as_libphonenumber_reads_them() {
        assert_eq!(
            normalised_phone("610412345678").as_deref(),
            Some("61412345678")
        );
        assert_eq!(
            normalised_phone("4407911123456").as_deref(),
            Some("447911123456")
        );
        assert_eq!(
            normalised_phone("+61 0412 345 678").as_deref(),
            Some("61412345678")
        );
        assert_eq!(
            normalised_phone("61412345678").as_deref(),
            Some("61412345678")
        );
        assert_eq!(normalised_phone("15550100").as_deref(), Some("15550100"));
        assert_eq!(normalised_phone("123").as_deref(), Some("123"));
        assert_eq!(normalised_phone("555 0100 ext 7"), None);
        assert_eq!(
            phone_keys("610498765432"),
            vec!["610498765432".to_string(), "61498765432".to_string()]
        );
        assert_eq!(
            phone_keys("+61 498 765 432"),
            vec!["+61498765432".to_string(), "+610498765432".to_string()]
        );
        // Digits are read as an international number, as Logto reads them: `+55 50100`.
        assert_eq!(phone_keys("(555) 0100"), ["5550100", "55050100"]);
        assert_eq!(phone_keys("555 0100 ext 7"), ["5550100ext7"]);
        assert_eq!(
            phone_forms("447911123456"),
            ["447911123456", "4407911123456"]
        );
    }

    #[test]
    fn keys_to_check_are_the_changed_ones() {
        let old = user(Some("ada"), Some("ada@x.example"), Some("+1 555 0100"));
        let same = user(Some("ADA"), Some("Ada@X.example"), Some("+1-555-0100"));
        assert!(keys_to_check(&same, Some(&old)).is_empty());
        let new = user(Some("ada"), Some("lady@x.example"), Some("+1 555 0100"));
        assert_eq!(
            keys_to_check(&new, Some(&old)),
            vec![(UniqueField::Email, "lady@x.example".to_string())]
        );
        let fresh = user(None, Some("a@x.example"), Some("(555) 0100"));
        assert_eq!(
            keys_to_check(&fresh, None),
            vec![
                (UniqueField::Email, "a@x.example".to_string()),
                (UniqueField::Phone, "5550100".to_string()),
                (UniqueField::Phone, "55050100".to_string()),
                (UniqueField::LoginName, "a@x.example".to_string()),
            ]
        );
        assert_eq!(login_key_field(&fresh), UniqueField::Email);
    }

    #[test]
    fn login_names_are_nfc_trimmed_and_visible_and_of_one_script() {
        let mut d = user(Some("  Jose\u{301} "), None, None);
        prepare(&mut d, None).unwrap();
        assert_eq!(d.user_name.as_deref(), Some("Jos\u{e9}"));
        for bad in [
            "ad\u{200B}a",
            "ada\u{202E}",
            "a\u{2066}da",
            "\u{FEFF}ada",
            "a\u{AD}da",
            "a\u{200D}da",
            "ada\u{7}",
        ] {
            let mut d = user(Some(bad), None, None);
            let e = prepare(&mut d, None).unwrap_err();
            assert_eq!(e.field, "userName", "{bad:?}");
            assert!(e.message.contains("U+"), "{e}");
        }
        // A Cyrillic а (U+0430) in a Latin name.
        let mut d = user(Some("p\u{430}ypal"), None, None);
        let e = prepare(&mut d, None).unwrap_err();
        assert!(e.message.contains("writing systems"), "{e}");
        // Japanese mixes Han, Hiragana and Katakana as one script; digits and dots are common.
        for ok in [
            "山田たろうタロウ",
            "ada.lovelace@example.com",
            "Ελένη",
            "иван",
        ] {
            let mut d = user(Some(ok), None, None);
            prepare(&mut d, None).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let mut d = user(Some("   "), None, None);
        assert_eq!(prepare(&mut d, None).unwrap_err().field, "userName");
    }

    #[test]
    fn emails_with_hidden_characters_are_refused_and_kept_ones_are_not_judged() {
        let mut d = user(None, Some("ada\u{200B}@x.example"), None);
        assert_eq!(prepare(&mut d, None).unwrap_err().field, "emails");
        let mut d = user(None, Some("  ada@x.example "), None);
        prepare(&mut d, None).unwrap();
        assert_eq!(
            d.primary(MultiAttr::Emails).unwrap().value.as_deref(),
            Some("ada@x.example")
        );
        // Stored before the rule: a change of something else still goes through.
        let old = user(Some("ad\u{200B}a"), Some("b\u{200B}@x.example"), None);
        let mut new = old.clone();
        new.title = Some("Dr".into());
        prepare(&mut new, Some(&old)).unwrap();
        assert_eq!(new.user_name, old.user_name);
    }

    #[test]
    fn a_login_name_is_required_only_of_users_who_would_have_nothing_else() {
        // Made without one: edits need none.
        let domo = user(None, Some("ann@x.example"), None);
        let mut new = domo.clone();
        new.title = Some("CFO".into());
        prepare(&mut new, Some(&domo)).unwrap();
        // Dropping one with an email to go by is fine; without, refused.
        let named = user(Some("ann"), Some("ann@x.example"), None);
        let mut new = named.clone();
        new.user_name = None;
        prepare(&mut new, Some(&named)).unwrap();
        let bare = user(Some("ann"), None, None);
        let mut new = bare.clone();
        new.user_name = None;
        assert_eq!(
            prepare(&mut new, Some(&bare)).unwrap_err().field,
            "userName"
        );
    }

    #[test]
    fn derived_names_follow_their_parts_unless_set() {
        let mut old = UserData::default();
        old.name.given = Some("Ada".into());
        old.name.family = Some("Byron".into());
        old.name.formatted = Some("Ada Byron".into());
        old.display_name = Some("Ada Byron".into());
        let mut new = old.clone();
        new.name.family = Some("Lovelace".into());
        prepare(&mut new, Some(&old)).unwrap();
        assert_eq!(new.name.formatted.as_deref(), Some("Ada Lovelace"));
        assert_eq!(new.display_name.as_deref(), Some("Ada Lovelace"));
        // Set explicitly in the same write: the caller's value stays.
        let mut new = old.clone();
        new.name.family = Some("Lovelace".into());
        new.name.formatted = Some("The Countess".into());
        prepare(&mut new, Some(&old)).unwrap();
        assert_eq!(new.name.formatted.as_deref(), Some("The Countess"));
        // Set to something else earlier: not derived, stays.
        let mut custom = old.clone();
        custom.display_name = Some("Countess of Lovelace".into());
        let mut new = custom.clone();
        new.name.given = Some("Augusta Ada".into());
        prepare(&mut new, Some(&custom)).unwrap();
        assert_eq!(new.display_name.as_deref(), Some("Countess of Lovelace"));
        assert_eq!(new.name.formatted.as_deref(), Some("Augusta Ada Byron"));
        // Never set: stays unset.
        let mut bare = old.clone();
        bare.name.formatted = None;
        let mut new = bare.clone();
        new.name.given = Some("Augusta".into());
        prepare(&mut new, Some(&bare)).unwrap();
        assert_eq!(new.name.formatted, None);
        // The full form (with prefix and middle name) is followed in that form.
        let mut full = old.clone();
        full.name.honorific_prefix = Some("Lady".into());
        full.name.formatted = Some("Lady Ada Byron".into());
        let mut new = full.clone();
        new.name.family = Some("King".into());
        prepare(&mut new, Some(&full)).unwrap();
        assert_eq!(new.name.formatted.as_deref(), Some("Lady Ada King"));
    }
}
