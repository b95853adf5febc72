//! Logto's query parameters: pagination (`page`, `page_size`; `Total-Number` and `Link`
//! headers) and user search (`search`, `search.<field>`, `mode`, `mode.<field>`, `joint`,
//! `isCaseSensitive`), parsed from the raw query string because keys repeat and are dynamic.

use super::error::LogtoError;
use crate::directory::read::{Condition, Field, FieldSearch, Joint, Mode};

pub type Pairs = Vec<(String, String)>;

pub fn pairs(query: Option<&str>) -> Pairs {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A list request's query, as pairs, and the URL its pages' `Link` header names.
pub struct Listing {
    pub pairs: Pairs,
    pub base: String,
}

impl Listing {
    pub fn of(req: &poem::Request, config: &crate::config::Config) -> Listing {
        Listing {
            pairs: pairs(req.uri().query()),
            base: config.url(req.uri().path()),
        }
    }
}

pub(super) fn first<'a>(pairs: &'a Pairs, key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// From 1.
    pub page: i64,
    pub size: i64,
}

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;

impl Page {
    pub fn parse(pairs: &Pairs) -> Result<Page, LogtoError> {
        let num = |key: &str, default: i64, max: i64| -> Result<i64, LogtoError> {
            match first(pairs, key) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<i64>() {
                    Ok(n) if n >= 1 && n <= max => Ok(n),
                    _ => Err(LogtoError::pagination()),
                },
            }
        };
        Ok(Page {
            page: num("page", 1, i64::MAX / MAX_PAGE_SIZE)?,
            size: num("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?,
        })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.size
    }

    /// `Link` as Logto's pagination middleware writes it: `first` and `last` always, `prev`
    /// past page 1, `next` before the last; each the request's URL with `page` replaced.
    pub fn link(&self, base: &str, pairs: &Pairs, total: i64) -> String {
        let last = ((total + self.size - 1) / self.size).max(1);
        let url = |page: i64| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            let mut seen = false;
            for (k, v) in pairs {
                if k == "page" {
                    if !seen {
                        s.append_pair("page", &page.to_string());
                        seen = true;
                    }
                } else {
                    s.append_pair(k, v);
                }
            }
            if !seen {
                s.append_pair("page", &page.to_string());
            }
            format!("<{base}?{}>", s.finish())
        };
        let mut links = vec![format!("{}; rel=\"first\"", url(1))];
        if self.page > 1 {
            links.push(format!("{}; rel=\"prev\"", url(self.page - 1)));
        }
        if self.page < last {
            links.push(format!("{}; rel=\"next\"", url(self.page + 1)));
        }
        links.push(format!("{}; rel=\"last\"", url(last)));
        links.join(", ")
    }
}

/// The database column a search field names (Logto snake-cases `search.<field>` and checks
/// it against its columns).
fn field(name: &str) -> Option<Field> {
    Some(match name {
        "id" => Field::Id,
        "primaryEmail" | "primary_email" => Field::PrimaryEmail,
        "primaryPhone" | "primary_phone" => Field::PrimaryPhone,
        "username" => Field::Username,
        "name" => Field::Name,
        _ => return None,
    })
}

/// Logto's columns, as its "expect one of" lists them.
const COLUMNS: &str = "id, primary_email, primary_phone, username, name";

/// A field name as Logto reports it: snake-cased (`primaryEmail` → `primary_email`).
pub(super) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The field of a `search.<field>` / `mode.<field>` key: `None` for the bare key; a nested
/// path is refused as Logto refuses it.
pub(super) fn key_field(key: &str) -> Result<Option<&str>, LogtoError> {
    let mut path = key.split('.');
    path.next();
    let first = path.next();
    let rest: Vec<&str> = path.collect();
    if !rest.is_empty() {
        let nested = std::iter::once(first.unwrap_or(""))
            .chain(rest)
            .collect::<Vec<_>>();
        return Err(LogtoError::input(format!(
            "Unsupported nested search field path `{}` detected. Only the first level field \
             is supported.",
            nested.join(".")
        )));
    }
    Ok(first)
}

fn known_field(name: &str) -> Result<Field, LogtoError> {
    field(name).ok_or_else(|| {
        LogtoError::input(format!(
            "Search field `{}` is not valid, expect one of {COLUMNS}.",
            snake(name)
        ))
    })
}

pub(super) fn mode(v: &str, field: Option<&str>) -> Result<Mode, LogtoError> {
    Ok(match v {
        "like" => Mode::Like,
        "exact" => Mode::Exact,
        "similar_to" => Mode::SimilarTo,
        "posix" => Mode::Posix,
        other => {
            let on = field
                .map(|f| format!(" for field `{f}`"))
                .unwrap_or_default();
            return Err(LogtoError::input(format!(
                "Search match mode `{other}`{on} is not valid, expect one of exact, like, \
                 similar_to, posix."
            )));
        }
    })
}

/// A yes/no query parameter: Logto's yes-words (`true`, `1`, `yes`, `y`, any case) are
/// true, `false`, `0`, `no`, `n` or an empty value false, no value false. Logto takes any
/// other value as false; Muster refuses it (400 `request.invalid_input`), as it refuses every
/// value it cannot read.
pub fn flag(pairs: &Pairs, key: &str) -> Result<bool, LogtoError> {
    match first(pairs, key).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no" | "n" | "") => Ok(false),
        Some("true" | "1" | "yes" | "y") => Ok(true),
        Some(_) => Err(LogtoError::input(format!("`{key}` must be true or false."))),
    }
}

/// At most this many search values in all (each is a bind parameter).
pub const MAX_SEARCH_VALUES: usize = 100;

/// The values a primary phone number is matched against: the value, and the other forms
/// of the same international number (`domain::rules::phone_forms`: `610412345678` finds
/// `61412345678` and the other way round), for a value of digits only (no wildcard, so a
/// `like` of it is an `exact` match).
fn phone_values(c: &mut Condition) {
    if c.field != Field::PrimaryPhone
        || !matches!(c.mode, Mode::Exact | Mode::Like)
        || !c
            .values
            .iter()
            .all(|v| v.bytes().all(|b| b.is_ascii_digit()))
    {
        return;
    }
    let mut all = c.values.clone();
    for v in &c.values {
        for f in crate::domain::rules::phone_forms(v) {
            if !all.contains(&f) {
                all.push(f);
            }
        }
    }
    if all.len() > c.values.len() {
        c.mode = Mode::Exact;
        c.values = all;
    }
}

/// The search the query asks for: one match per `search` key (one condition, or one per
/// field for `search`), joined as `joint` says. Refusals carry Logto's own wording.
pub fn search(pairs: &Pairs) -> Result<FieldSearch, LogtoError> {
    let joint = match first(pairs, "joint").or_else(|| first(pairs, "jointMode")) {
        None | Some("") | Some("or") => Joint::Or,
        Some("and") => Joint::And,
        Some(other) => {
            return Err(LogtoError::input(format!(
                "Search joint mode `{other}` is not valid, expect one of or, and."
            )))
        }
    };
    let case_sensitive = flag(pairs, "isCaseSensitive")?;
    let mut global_mode = None;
    let mut modes: Vec<(Field, Mode)> = vec![];
    // (field or all, values) in the order first seen.
    let mut keys: Vec<(Option<Field>, Vec<String>)> = vec![];
    let mut count = 0usize;
    for (k, v) in pairs {
        if k.starts_with("mode") {
            let f = key_field(k)?;
            let m = mode(v, f)?;
            match f {
                None => global_mode = Some(m),
                // A mode for a field no search names changes nothing (Logto ignores it).
                Some(f) => modes.extend(field(f).map(|f| (f, m))),
            }
        } else if k.starts_with("search") {
            let target = key_field(k)?.map(known_field).transpose()?;
            count += 1;
            if count > MAX_SEARCH_VALUES {
                return Err(LogtoError::input(format!(
                    "At most {MAX_SEARCH_VALUES} search values are allowed."
                )));
            }
            match keys.iter_mut().find(|(t, _)| *t == target) {
                Some((_, vals)) => vals.push(v.clone()),
                None => keys.push((target, vec![v.clone()])),
            }
        }
    }
    let global_mode = global_mode.unwrap_or(Mode::Like);
    let mode_of = |f: Field| {
        modes
            .iter()
            .rev()
            .find(|(g, _)| *g == f)
            .map_or(global_mode, |(_, m)| *m)
    };
    let mut matches = vec![];
    for (target, values) in keys {
        // The key's own mode decides how many values it may have (Logto's rule per key).
        let key_mode = target.map_or(global_mode, mode_of);
        if key_mode != Mode::Exact && values.len() > 1 {
            return Err(LogtoError::input(
                "Only one search value is allowed when search mode is not `exact`.",
            ));
        }
        if values.iter().any(String::is_empty) {
            return Err(LogtoError::input("Search value cannot be empty."));
        }
        let fields: Vec<Field> = match target {
            Some(f) => vec![f],
            None => Field::ALL.to_vec(),
        };
        let mut conds = vec![];
        for f in fields {
            let mut c = Condition {
                field: f,
                mode: mode_of(f),
                values: values.clone(),
                case_sensitive,
            };
            if c.values.len() > 1 && c.mode != Mode::Exact {
                return Err(LogtoError::input(
                    "Only one search value is allowed when search mode is not `exact`.",
                ));
            }
            if c.mode == Mode::SimilarTo && !c.case_sensitive {
                return Err(LogtoError::input(
                    "Cannot use case-insensitive match for `similar to`.",
                ));
            }
            phone_values(&mut c);
            conds.push(c);
        }
        matches.push(conds);
    }
    Ok(FieldSearch { matches, joint })
}

/// `excludeRoleId` / `excludeOrganizationId` (both at once is a 400).
pub fn exclusions(pairs: &Pairs) -> Result<Option<String>, LogtoError> {
    let role = first(pairs, "excludeRoleId");
    if role.is_some() && first(pairs, "excludeOrganizationId").is_some() {
        return Err(LogtoError::input(
            "`excludeRoleId` and `excludeOrganizationId` cannot be used together.",
        ));
    }
    Ok(role.map(str::to_string))
}

/// `start_time` / `end_time` (epoch milliseconds, inclusive) of `/api/logs`.
pub fn time_window(
    pairs: &Pairs,
) -> Result<(Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>), LogtoError> {
    let t = |key: &str| -> Result<Option<chrono::NaiveDateTime>, LogtoError> {
        let Some(v) = first(pairs, key) else {
            return Ok(None);
        };
        let ms: i64 = v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && f.abs() < 1e15)
            .map(|f| f as i64)
            .ok_or_else(|| LogtoError::guard("query", key, "Expected a time in epoch ms"))?;
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|d| Some(d.naive_utc()))
            .ok_or_else(|| LogtoError::guard("query", key, "Expected a time in epoch ms"))
    };
    let (from, to) = (t("start_time")?, t("end_time")?);
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(LogtoError::guard(
                "query",
                "start_time",
                "start_time must not be after end_time",
            ));
        }
    }
    Ok((from, to))
}

pub fn value<'a>(pairs: &'a Pairs, key: &str) -> Option<&'a str> {
    first(pairs, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Pairs {
        pairs(Some(q))
    }

    #[test]
    fn paging_defaults_and_limits() {
        assert_eq!(Page::parse(&p("")).unwrap(), Page { page: 1, size: 20 });
        assert_eq!(
            Page::parse(&p("page=3&page_size=100")).unwrap(),
            Page { page: 3, size: 100 }
        );
        for bad in [
            "page=0",
            "page_size=0",
            "page_size=101",
            "page=x",
            "page=-1",
        ] {
            assert_eq!(
                Page::parse(&p(bad)).unwrap_err().code,
                "guard.invalid_pagination"
            );
        }
    }

    #[test]
    fn links_follow_logto() {
        let q = p("search=%25a%25&page=2&page_size=10");
        let l = Page { page: 2, size: 10 }.link("http://h/api/users", &q, 35);
        assert_eq!(
            l,
            "<http://h/api/users?search=%25a%25&page=1&page_size=10>; rel=\"first\", \
             <http://h/api/users?search=%25a%25&page=1&page_size=10>; rel=\"prev\", \
             <http://h/api/users?search=%25a%25&page=3&page_size=10>; rel=\"next\", \
             <http://h/api/users?search=%25a%25&page=4&page_size=10>; rel=\"last\""
        );
        let l = Page { page: 1, size: 20 }.link("http://h/api/users", &p(""), 0);
        assert_eq!(
            l,
            "<http://h/api/users?page=1>; rel=\"first\", <http://h/api/users?page=1>; rel=\"last\""
        );
    }

    #[test]
    fn search_parameters() {
        let s = search(&p(
            "search.primaryEmail=a@x.co&search.primaryEmail=b@x.co&mode.primaryEmail=exact&search=%25z%25&joint=and",
        ))
        .unwrap();
        assert_eq!(s.joint, Joint::And);
        assert_eq!(s.matches.len(), 2);
        assert_eq!(s.matches[0][0].values.len(), 2);
        assert_eq!(s.matches[0][0].mode, Mode::Exact);
        assert_eq!(s.matches[1].len(), 5);
        assert!(search(&p("search=a&isCaseSensitive=Y")).unwrap().matches[0][0].case_sensitive);
        // A phone number finds its other form.
        let s = search(&p("search.primaryPhone=610412345678")).unwrap();
        assert_eq!(s.matches[0][0].mode, Mode::Exact);
        assert_eq!(s.matches[0][0].values, ["610412345678", "61412345678"]);
        for bad in [
            "search.age=1",
            "search.name=",
            "mode=regex",
            "joint=xor",
            "search.name=a&search.name=b",
            "search.name.first=a",
            "search=a&mode=similar_to",
            "isCaseSensitive=maybe",
        ] {
            assert_eq!(
                search(&p(bad)).unwrap_err().code,
                "request.invalid_input",
                "{bad}"
            );
        }
    }
}
