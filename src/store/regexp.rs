//! Regular expressions on SQLite: PostgreSQL matches Logto's `posix` (`~`, `~*`) and
//! `similar_to` (`SIMILAR TO`) searches itself; SQLite has no regular expressions, so each
//! SQLite connection gets a `regexp(pattern, value)` function (what SQLite's `value REGEXP
//! pattern` calls) backed by the `regex` crate, and `SIMILAR TO` patterns are translated
//! into regular expressions as PostgreSQL translates them. Both backends then match the same
//! way: the whole value for `SIMILAR TO`, anywhere for a regular expression, `.` matching a
//! line break too, `(?i)` in front for a case-insensitive match.

use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::SqliteConnection;
use diesel::QueryResult;
use regex::Regex;

/// The largest compiled expression a search may make (bounds memory per pattern).
const SIZE_LIMIT: usize = 1 << 20;

/// `pattern` compiled as a search matches it.
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .dot_matches_new_line(true)
        .size_limit(SIZE_LIMIT)
        .build()
}

/// A `SIMILAR TO` pattern as a regular expression, by PostgreSQL's rules: it must match the
/// whole value; `%` is any run of characters, `_` any one; `|`, `*`, `+`, `?`, `{m,n}`,
/// `(…)` and bracket expressions `[…]` are as in regular expressions; `\` takes the next
/// character literally (a lone `\` at the end is dropped, as PostgreSQL drops it); every
/// other character (`.`, `^`, `$`, …) is itself.
pub fn similar_to(pattern: &str) -> String {
    let mut out = String::from("^(?:");
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut buf = [0u8; 4];
    while let Some(c) = chars.next() {
        if in_class {
            match c {
                ']' => {
                    out.push(']');
                    in_class = false;
                }
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push_str(&regex::escape(n.encode_utf8(&mut buf)));
                    }
                }
                // Rust's own class syntax (nested classes, set operations) is literal here.
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
            continue;
        }
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push_str(&regex::escape(n.encode_utf8(&mut buf)));
                }
            }
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '(' => out.push_str("(?:"),
            ')' | '|' | '*' | '+' | '?' | '{' | '}' | ',' => out.push(c),
            '[' => {
                out.push('[');
                in_class = true;
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            c if c.is_ascii_digit() => out.push(c),
            c => out.push_str(&regex::escape(c.encode_utf8(&mut buf))),
        }
    }
    out.push_str(")$");
    out
}

diesel::define_sql_function! {
    /// `value REGEXP pattern` (SQLite calls `regexp(pattern, value)`).
    fn regexp(pattern: Text, value: Nullable<Text>) -> Bool;
}

/// Give a SQLite connection its `regexp` function. The last pattern compiled is kept, so a
/// search compiles its pattern once, not once per row; a NULL value never matches, and a
/// pattern that does not compile matches nothing (a search checks its patterns before it
/// runs: `user_search`).
pub fn register(conn: &mut SqliteConnection) -> QueryResult<()> {
    let last: std::sync::Mutex<Option<(String, Option<Regex>)>> = std::sync::Mutex::new(None);
    regexp_utils::register_impl(conn, move |pattern: String, value: Option<String>| {
        let Some(value) = value else { return false };
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_ref().is_none_or(|(p, _)| *p != pattern) {
            let re = compile(&pattern).ok();
            *last = Some((pattern, re));
        }
        last.as_ref()
            .and_then(|(_, re)| re.as_ref())
            .is_some_and(|re| re.is_match(&value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn similar(p: &str, v: &str) -> bool {
        compile(&similar_to(p)).unwrap().is_match(v)
    }

    #[test]
    fn similar_to_matches_as_postgres_does() {
        assert!(similar("abc", "abc"));
        assert!(!similar("abc", "abcd"), "the whole value");
        assert!(similar("a%", "abcd"));
        assert!(similar("_b_", "abc"));
        assert!(similar("%(b|d)%", "abc"));
        assert!(!similar("(b|d)%", "abc"));
        assert!(similar("a.c", "a.c"));
        assert!(!similar("a.c", "abc"), ". is itself");
        assert!(similar("[a-c]{3}", "cab"));
        assert!(similar("a\\%", "a%"));
        assert!(!similar("a\\%", "ab"));
        assert!(similar("^a$", "^a$"));
        assert!(similar("[[]x", "[x"));
        assert!(similar("a\\", "a"), "a lone trailing escape is dropped");
    }

    #[test]
    fn posix_patterns_match_anywhere() {
        assert!(compile("^al").unwrap().is_match("alice"));
        assert!(compile("(?i)^AL").unwrap().is_match("alice"));
        assert!(compile("a.b").unwrap().is_match("a\nb"));
        assert!(compile("(").is_err());
    }
}
