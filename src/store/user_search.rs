//! Field searches over users (Logto's `search.<field>` with its match modes), as SQL
//! conditions for `users::query`. Values always travel as bind parameters; the SQL text
//! depends only on the fields, modes and number of values, so statements are reused.

use super::raw::{Bind, Raw};
use super::{DbConn, MultiConn, StoreError, StoreResult};

/// Which SQL engine a connection speaks (the search SQL differs in a few functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(conn: &DbConn) -> Backend {
        match conn.db {
            MultiConn::Sqlite(_) => Backend::Sqlite,
            MultiConn::Pg(_) => Backend::Postgres,
        }
    }
}

/// A searchable user field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The canonical id as 16 upper-case hex digits.
    Id,
    /// The primary email (the one marked primary, else the first).
    PrimaryEmail,
    /// The primary phone number, likewise.
    PrimaryPhone,
    /// The stored login name.
    Username,
    /// The display name.
    Name,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::Id,
        Field::PrimaryEmail,
        Field::PrimaryPhone,
        Field::Username,
        Field::Name,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SQL `LIKE`: `%` and `_` are wildcards, `\` escapes; no implicit wildcards.
    Like,
    /// Equality; the only mode that takes several values.
    Exact,
    /// SQL `SIMILAR TO` (case-sensitive only; on SQLite translated to a regular expression,
    /// `store::regexp`).
    SimilarTo,
    /// A regular expression: PostgreSQL's `~` / `~*`; on SQLite the `regex` crate's
    /// (`store::regexp`).
    Posix,
}

/// One field matched against its values.
#[derive(Debug, Clone)]
pub struct Condition {
    pub field: Field,
    pub mode: Mode,
    pub values: Vec<String>,
    pub case_sensitive: bool,
}

/// A LIKE pattern as a GLOB pattern (SQLite's case-sensitive matcher): `%` → `*`, `_` → `?`,
/// `\x` → a literal `x`, GLOB's own metacharacters bracketed. `None` for a pattern that ends
/// in a lone escape.
fn like_to_glob(like: &str) -> Option<String> {
    let mut out = String::with_capacity(like.len() + 4);
    let mut chars = like.chars();
    let literal = |c: char, out: &mut String| match c {
        '*' => out.push_str("[*]"),
        '?' => out.push_str("[?]"),
        '[' => out.push_str("[[]"),
        c => out.push(c),
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => literal(chars.next()?, &mut out),
            '%' => out.push('*'),
            '_' => out.push('?'),
            c => literal(c, &mut out),
        }
    }
    Some(out)
}

/// Whether a LIKE pattern ends in a lone escape (PostgreSQL refuses those).
fn ends_in_escape(like: &str) -> bool {
    like.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// The expression a field's value is matched on, for a value row alias `pv` when the
/// field is multi-valued.
fn column(field: Field, backend: &Backend) -> &'static str {
    match (field, backend) {
        (Field::Id, Backend::Postgres) => "upper(lpad(to_hex(users.id), 16, '0'))",
        (Field::Id, Backend::Sqlite) => "printf('%016X', users.id)",
        (Field::Username, _) => "users.user_name",
        (Field::Name, _) => "users.display_name",
        (Field::PrimaryEmail | Field::PrimaryPhone, _) => "pv.value",
    }
}

/// The field lower-cased as Muster stores it (Rust's Unicode `to_lowercase`, kept in the
/// `*_lower` columns), so a case-insensitive match folds `É` as PostgreSQL and Logto do;
/// SQLite's own `lower()` folds ASCII only.
fn lower_column(field: Field, backend: &Backend) -> &'static str {
    match (field, backend) {
        (Field::Id, Backend::Postgres) => "lower(lpad(to_hex(users.id), 16, '0'))",
        (Field::Id, Backend::Sqlite) => "printf('%016x', users.id)",
        // `user_name_lower` holds the email for users without a login name.
        (Field::Username, _) => {
            "(CASE WHEN users.user_name IS NOT NULL THEN users.user_name_lower END)"
        }
        (Field::Name, _) => "users.display_name_lower",
        (Field::PrimaryEmail | Field::PrimaryPhone, _) => "pv.value_lower",
    }
}

fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::Invalid(msg.into())
}

/// `expr <op> value` for one value (`lowered` is `expr` lower-cased).
fn matcher(
    (expr, lowered): (&str, &str),
    mode: Mode,
    case_sensitive: bool,
    value: &str,
    backend: &Backend,
) -> StoreResult<Raw> {
    let bind = || Bind::Text(value.to_string());
    let folded = || Bind::Text(value.to_lowercase());
    Ok(match mode {
        Mode::Like => {
            if ends_in_escape(value) {
                return Err(invalid(
                    "a like pattern cannot end with the escape character \\",
                ));
            }
            match (case_sensitive, backend) {
                (false, _) => Raw::sql(format!("{lowered} LIKE "))
                    .bind(folded())
                    .push(" ESCAPE '\\'"),
                (true, Backend::Postgres) => Raw::sql(format!("{expr} LIKE "))
                    .bind(bind())
                    .push(" ESCAPE '\\'"),
                (true, Backend::Sqlite) => {
                    let glob = like_to_glob(value).ok_or_else(|| {
                        invalid("a like pattern cannot end with the escape character \\")
                    })?;
                    Raw::sql(format!("{expr} GLOB ")).bind(Bind::Text(glob))
                }
            }
        }
        Mode::Exact if case_sensitive => Raw::sql(format!("{expr} = ")).bind(bind()),
        Mode::Exact => Raw::sql(format!("{lowered} = ")).bind(folded()),
        Mode::SimilarTo if !case_sensitive => {
            return Err(invalid(
                "the similar_to mode is only available with isCaseSensitive=true",
            ))
        }
        Mode::SimilarTo => match backend {
            Backend::Postgres => Raw::sql(format!("{expr} SIMILAR TO ")).bind(bind()),
            // SQLite: the pattern as PostgreSQL's regular expression (`store::regexp`).
            Backend::Sqlite => {
                let re = super::regexp::similar_to(value);
                super::regexp::compile(&re)
                    .map_err(|e| invalid(format!("invalid regular expression: {e}")))?;
                Raw::sql(format!("{expr} REGEXP ")).bind(Bind::Text(re))
            }
        },
        Mode::Posix => match backend {
            Backend::Postgres => Raw::sql(format!(
                "{expr} {} ",
                if case_sensitive { "~" } else { "~*" }
            ))
            .bind(bind()),
            Backend::Sqlite => {
                let re = if case_sensitive {
                    value.to_string()
                } else {
                    format!("(?i){value}")
                };
                super::regexp::compile(&re)
                    .map_err(|e| invalid(format!("invalid regular expression: {e}")))?;
                Raw::sql(format!("{expr} REGEXP ")).bind(Bind::Text(re))
            }
        },
    })
}

/// The primary value of a multi-valued attribute: marked primary, else the first.
const PRIMARY_OR_FIRST: &str = "(pv.is_primary = TRUE OR (NOT EXISTS (SELECT 1 FROM user_values \
     q WHERE q.user_id = pv.user_id AND q.attribute = pv.attribute AND q.is_primary = TRUE) AND \
     pv.position = (SELECT MIN(q.position) FROM user_values q WHERE q.user_id = pv.user_id AND \
     q.attribute = pv.attribute)))";

/// A condition as SQL on `users`.
pub fn condition(c: &Condition, backend: &Backend) -> StoreResult<Raw> {
    if c.values.is_empty() {
        return Err(invalid("a search needs a value"));
    }
    if c.values.len() > 1 && c.mode != Mode::Exact {
        return Err(invalid("only the exact mode takes several values"));
    }
    let expr = (column(c.field, backend), lower_column(c.field, backend));
    let mut any = None;
    for v in &c.values {
        let m = matcher(expr, c.mode, c.case_sensitive, v, backend)?;
        any = Some(match any {
            None => m,
            Some(prev) => Raw::join("OR", prev, m),
        });
    }
    let any = any.unwrap_or_else(|| Raw::constant(false));
    let attr = match c.field {
        Field::PrimaryEmail => "emails",
        Field::PrimaryPhone => "phoneNumbers",
        _ => return Ok(any),
    };
    Ok(Raw::sql(format!(
        "EXISTS (SELECT 1 FROM user_values pv WHERE pv.user_id = users.id AND pv.attribute = \
         '{attr}' AND {PRIMARY_OR_FIRST} AND ("
    ))
    .append(any)
    .push("))"))
}

/// Users lacking a role (by id).
pub fn without_role(role_id: i64) -> Raw {
    Raw::sql(
        "NOT EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = users.id AND ur.role_id = ",
    )
    .bind(Bind::Int(role_id))
    .push(")")
}

/// Users not directly in group `group_id`.
pub fn not_in_group(group_id: i64) -> Raw {
    Raw::sql(
        "NOT EXISTS (SELECT 1 FROM group_users gx WHERE gx.user_id = users.id AND gx.group_id = ",
    )
    .bind(Bind::Int(group_id))
    .push(")")
}

/// The web console's plain search: `text` anywhere (case-insensitively) in the user name,
/// the display name, the title, the department, the external id, or any email or phone
/// number. The emails and phones are matched in one
/// pass over the organization's values (`IN (SELECT …)`, evaluated once), not a subquery
/// per user, so a search of a large organization is two scans, not one lookup per row.
pub fn text_anywhere(org: &str, text: &str) -> Raw {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    let p = || Bind::Text(pattern.clone());
    Raw::sql("(\"users\".\"user_name_lower\" LIKE ")
        .bind(p())
        .push(" ESCAPE '\\' OR \"users\".\"display_name_lower\" LIKE ")
        .bind(p())
        .push(" ESCAPE '\\' OR LOWER(\"users\".\"title\") LIKE ")
        .bind(p())
        .push(" ESCAPE '\\' OR LOWER(\"users\".\"department\") LIKE ")
        .bind(p())
        .push(" ESCAPE '\\' OR LOWER(\"users\".\"external_id\") LIKE ")
        .bind(p())
        .push(
            " ESCAPE '\\' OR \"users\".\"id\" IN (SELECT sv.user_id FROM user_values sv \
             WHERE sv.org_id = ",
        )
        .bind(Bind::Text(org.to_string()))
        .push(" AND sv.attribute IN ('emails', 'phoneNumbers') AND sv.value_lower LIKE ")
        .bind(p())
        .push(" ESCAPE '\\'))")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_become_globs() {
        assert_eq!(like_to_glob("%tom_").unwrap(), "*tom?");
        assert_eq!(like_to_glob(r"100\%").unwrap(), "100%");
        assert_eq!(like_to_glob("a*b?[c]").unwrap(), "a[*]b[?][[]c]");
        assert_eq!(like_to_glob(r"a\\").unwrap(), r"a\");
        assert!(like_to_glob(r"a\").is_none());
        assert!(ends_in_escape(r"a\"));
        assert!(!ends_in_escape(r"a\\"));
        assert!(ends_in_escape(r"a\\\"));
    }
}
