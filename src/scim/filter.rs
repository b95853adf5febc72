//! The SCIM filter language (RFC 7644 §3.4.2.2 with errata 4690/7322/7319/4670): parser to an
//! AST, and an evaluator of that AST over a resource's JSON (used by PATCH value paths and, in
//! tests, as the reference the SQL translation must agree with).
//!
//! Accepted beyond the strict ABNF, because identity providers send it: case-insensitive
//! operators and keywords, `not (` with a space, Entra's `emails[type eq "work"].value eq "x"`,
//! unquoted bare values (`externalId eq jyoung`), `$ref` in names.

use std::fmt;

use serde_json::Value;

use super::error::ScimError;

pub const MAX_FILTER_LEN: usize = 4096;
pub const MAX_DEPTH: usize = 32;

/// `[urn:]name[.sub]`
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.urn {
            write!(f, "{u}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(s) = &self.sub {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '$'
}
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$')
}

impl AttrPath {
    /// Parse a whole string as an attribute path (`attributes=`, `sortBy`, PATCH paths).
    pub fn parse(s: &str) -> Result<AttrPath, String> {
        let mut p = Parser::new(s);
        let path = p.attr_path().map_err(|e| e.message)?;
        if p.pos < p.chars.len() {
            return Err(format!("unexpected {:?} in attribute path {s:?}", p.rest()));
        }
        Ok(path)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    /// A number, with the token as written: where the attribute is a string the token
    /// compares as written (`employeeNumber eq 007` is `employeeNumber eq "007"`).
    Number(f64, String),
    String(String),
}

/// `token` as a number when the whole token is one (sign and exponent included); `None` for
/// anything else (`22fbc523`, `1-2`, `inf`). A number too large for a double (`1e400`) is
/// `Some` of a non-finite value, which the parser refuses.
fn whole_number(token: &str) -> Option<f64> {
    let b = token.as_bytes();
    let digits = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let first = if b.first() == Some(&b'-') { 1 } else { 0 };
    if !digits(first)
        || !b
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    token.parse::<f64>().ok()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]`: some element of the multi-valued `attr` matches `filter`, whose paths
    /// name sub-attributes of that element.
    ValuePath(AttrPath, Box<Filter>),
}

/// A parse error with the character position it was found at.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

impl From<FilterError> for ScimError {
    fn from(e: FilterError) -> ScimError {
        ScimError::invalid_filter(format!("at position {}: {}", e.position, e.message))
    }
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter, FilterError> {
        if let Some(pos) = s.chars().position(|c| c == '\0') {
            return Err(FilterError {
                position: pos,
                message: "NUL characters are not allowed".into(),
            });
        }
        if s.len() > MAX_FILTER_LEN {
            // The limit is on bytes; the position, like every other, counts characters.
            return Err(FilterError {
                position: s
                    .char_indices()
                    .take_while(|(i, _)| *i < MAX_FILTER_LEN)
                    .count(),
                message: format!("the filter is longer than {MAX_FILTER_LEN} bytes"),
            });
        }
        let mut p = Parser::new(s);
        p.ws();
        if p.at_end() {
            return Err(p.err("the filter is empty"));
        }
        let f = p.or_expr(0)?;
        p.ws();
        if !p.at_end() {
            return Err(p.err(format!("unexpected {:?}", p.rest())));
        }
        Ok(f)
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn new(s: &str) -> Parser {
        Parser {
            chars: s.chars().collect(),
            pos: 0,
        }
    }
    fn err(&self, message: impl Into<String>) -> FilterError {
        FilterError {
            position: self.pos,
            message: message.into(),
        }
    }
    /// The characters not yet consumed (positions count chars, never bytes).
    fn tail(&self) -> &[char] {
        self.chars.get(self.pos..).unwrap_or_default()
    }
    fn rest(&self) -> String {
        self.tail().iter().take(20).collect()
    }
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn ws(&mut self) -> bool {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r')
        {
            self.pos += 1;
        }
        self.pos > start
    }
    /// The next word (letters), without consuming it.
    fn peek_word(&self) -> String {
        self.tail()
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect()
    }
    /// Consume keyword `kw` (case-insensitive) if it is next and ends there.
    fn keyword(&mut self, kw: &str) -> bool {
        let w = self.peek_word();
        if w.eq_ignore_ascii_case(kw) {
            let after = self.chars.get(self.pos + w.len()).copied();
            if after.is_none_or(|c| !is_name_char(c)) {
                self.pos += w.len();
                return true;
            }
        }
        false
    }

    fn or_expr(&mut self, depth: usize) -> Result<Filter, FilterError> {
        self.chain(depth, "or", Self::and_expr, Filter::Or)
    }

    fn and_expr(&mut self, depth: usize) -> Result<Filter, FilterError> {
        self.chain(depth, "and", Self::unary, Filter::And)
    }

    /// `operand (word operand)*`, joined from the left.
    fn chain(
        &mut self,
        depth: usize,
        word: &str,
        operand: fn(&mut Self, usize) -> Result<Filter, FilterError>,
        join: fn(Box<Filter>, Box<Filter>) -> Filter,
    ) -> Result<Filter, FilterError> {
        let mut left = operand(self, depth)?;
        loop {
            let save = self.pos;
            if self.ws() && self.keyword(word) && self.ws() {
                let right = operand(self, depth)?;
                left = join(Box::new(left), Box::new(right));
            } else {
                self.pos = save;
                return Ok(left);
            }
        }
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, FilterError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("the filter nests deeper than {MAX_DEPTH} levels")));
        }
        let save = self.pos;
        if self.keyword("not") {
            self.ws();
            if self.peek() == Some('(') {
                self.pos += 1;
                let inner = self.group(depth + 1)?;
                return Ok(Filter::Not(Box::new(inner)));
            }
            // `not` was an attribute name after all.
            self.pos = save;
        }
        if self.peek() == Some('(') {
            self.pos += 1;
            return self.group(depth + 1);
        }
        self.attr_expr(depth)
    }

    /// After `(`: a filter and `)`.
    fn group(&mut self, depth: usize) -> Result<Filter, FilterError> {
        self.ws();
        let inner = self.or_expr(depth)?;
        self.ws();
        if self.peek() != Some(')') {
            return Err(self.err("expected ')'"));
        }
        self.pos += 1;
        Ok(inner)
    }

    fn name(&mut self) -> Result<String, FilterError> {
        match self.peek() {
            Some(c) if is_name_start(c) => {}
            Some(c) => return Err(self.err(format!("expected an attribute name, found {c:?}"))),
            None => return Err(self.err("expected an attribute name, found the end")),
        }
        let start = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    /// `[URN ":"] name ["." sub]`. A URN is recognised by its `urn:` prefix; it runs to the
    /// last `:` before the attribute name.
    fn attr_path(&mut self) -> Result<AttrPath, FilterError> {
        let rest = self.tail();
        let mut urn = None;
        // Compared char by char: the input may hold multi-byte characters anywhere.
        if rest.len() > 4
            && rest
                .iter()
                .zip("urn:".chars())
                .all(|(a, b)| a.eq_ignore_ascii_case(&b))
        {
            // The token ends at whitespace, '[' , '(' , ')' or ']'.
            let token: Vec<char> = rest
                .iter()
                .copied()
                .take_while(|c| !matches!(c, ' ' | '\t' | '[' | ']' | '(' | ')'))
                .collect();
            let Some(colon) = token.iter().rposition(|c| *c == ':') else {
                return Err(self.err("malformed schema URN"));
            };
            urn = Some(token[..colon].iter().collect());
            self.pos += colon + 1;
        }
        let name = self.name()?;
        let sub = self.sub_attr()?;
        Ok(AttrPath { urn, name, sub })
    }

    /// `.subAttr`, if one is next.
    fn sub_attr(&mut self) -> Result<Option<String>, FilterError> {
        if self.peek() != Some('.') {
            return Ok(None);
        }
        self.pos += 1;
        self.name().map(Some)
    }

    /// `[valFilter]` after `path`, if one is next, and the sub-attribute after it, if any.
    fn value_filter(
        &mut self,
        path: &AttrPath,
        depth: usize,
    ) -> Result<Option<(Filter, Option<String>)>, FilterError> {
        if self.peek() != Some('[') {
            return Ok(None);
        }
        if path.sub.is_some() {
            return Err(self.err("a value filter follows the attribute, not a sub-attribute"));
        }
        self.pos += 1;
        self.ws();
        let inner = self.or_expr(depth + 1)?;
        self.ws();
        if self.peek() != Some(']') {
            return Err(self.err("expected ']'"));
        }
        self.pos += 1;
        Ok(Some((inner, self.sub_attr()?)))
    }

    fn attr_expr(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let path = self.attr_path()?;
        match self.value_filter(&path, depth)? {
            None => self.condition(path),
            Some((inner, None)) => Ok(Filter::ValuePath(path, Box::new(inner))),
            // Entra: `emails[type eq "work"].value eq "x"`.
            Some((inner, Some(sub))) => {
                let sub_path = AttrPath {
                    urn: None,
                    name: sub,
                    sub: None,
                };
                let cond = self.condition(sub_path)?;
                Ok(Filter::ValuePath(
                    path,
                    Box::new(Filter::And(Box::new(inner), Box::new(cond))),
                ))
            }
        }
    }

    /// ` pr` or ` op value` after a path.
    fn condition(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        if !self.ws() {
            return Err(self.err("expected an operator after the attribute path"));
        }
        let op_pos = self.pos;
        let word = self.peek_word();
        if word.eq_ignore_ascii_case("pr") {
            self.pos += 2;
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::parse(&word) else {
            return Err(FilterError {
                position: op_pos,
                message: if word.is_empty() {
                    "expected an operator".into()
                } else {
                    format!("unknown operator {word:?}")
                },
            });
        };
        self.pos += word.len();
        if !self.ws() {
            return Err(self.err("expected a value after the operator"));
        }
        let value = self.value()?;
        Ok(Filter::Compare(path, op, value))
    }

    fn value(&mut self) -> Result<CompValue, FilterError> {
        match self.peek() {
            Some('"') => {
                let start = self.pos;
                self.pos += 1;
                loop {
                    match self.peek() {
                        None => {
                            return Err(FilterError {
                                position: start,
                                message: "unterminated string".into(),
                            })
                        }
                        Some('\\') => self.pos = (self.pos + 2).min(self.chars.len()),
                        Some('"') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => self.pos += 1,
                    }
                }
                let lit: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<String>(&lit)
                    .map(CompValue::String)
                    .map_err(|e| FilterError {
                        position: start,
                        message: format!("invalid string: {e}"),
                    })
            }
            Some(_) => {
                // An unquoted value is the whole token (up to a space, bracket, parenthesis
                // or quote): `externalId eq 22fbc523-6032-4ad9-...` is one string, not a
                // number followed by junk.
                let start = self.pos;
                while self.peek().is_some_and(|c| {
                    !matches!(c, ' ' | '\t' | '\n' | '\r' | ')' | ']' | '(' | '[' | '"')
                }) {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                if word.is_empty() {
                    return Err(self.err("expected a value"));
                }
                if let Some(n) = whole_number(&word) {
                    if !n.is_finite() {
                        return Err(FilterError {
                            position: start,
                            message: format!("invalid number {word:?}"),
                        });
                    }
                    return Ok(CompValue::Number(n, word));
                }
                Ok(match word.to_ascii_lowercase().as_str() {
                    "true" => CompValue::Bool(true),
                    "false" => CompValue::Bool(false),
                    "null" => CompValue::Null,
                    // Entra's documentation writes `externalId eq jyoung`; a dateTime such
                    // as `2015-10-10T14:38:21.8617979-07:00` is a string here and compares
                    // as an instant where the attribute is a dateTime.
                    _ => CompValue::String(word),
                })
            }
            None => Err(self.err("expected a value, found the end")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation over JSON.

/// How to compare values of one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    String { case_exact: bool },
    Boolean,
    Number,
    DateTime,
    Binary,
}

/// Tells the evaluator where values live and how they compare.
pub trait Lookup {
    /// The values of `path` in `node` (several for multi-valued attributes). With `parent`,
    /// `node` is an element of that multi-valued attribute and `path` names a sub-attribute.
    fn values<'a>(
        &self,
        node: &'a Value,
        parent: Option<&AttrPath>,
        path: &AttrPath,
    ) -> Vec<&'a Value>;
    /// The elements of the multi-valued attribute `path` in `node`.
    fn elements<'a>(&self, node: &'a Value, path: &AttrPath) -> Vec<&'a Value>;
    /// How `path` compares; for an element filter, `parent` is the multi-valued attribute.
    fn kind(&self, parent: Option<&AttrPath>, path: &AttrPath) -> ValueKind;
}

pub fn evaluate(f: &Filter, node: &Value, lookup: &dyn Lookup, parent: Option<&AttrPath>) -> bool {
    match f {
        Filter::And(a, b) => evaluate(a, node, lookup, parent) && evaluate(b, node, lookup, parent),
        Filter::Or(a, b) => evaluate(a, node, lookup, parent) || evaluate(b, node, lookup, parent),
        Filter::Not(a) => !evaluate(a, node, lookup, parent),
        Filter::Present(p) => lookup.values(node, parent, p).iter().any(|v| is_present(v)),
        Filter::Compare(p, op, v) => {
            let kind = lookup.kind(parent, p);
            let values = lookup.values(node, parent, p);
            match (op, v) {
                (CompareOp::Eq, CompValue::Null) => !values.iter().any(|v| is_present(v)),
                (CompareOp::Ne, CompValue::Null) => values.iter().any(|v| is_present(v)),
                (CompareOp::Ne, _) => !values.iter().any(|x| compare(x, CompareOp::Eq, v, kind)),
                _ => values.iter().any(|x| compare(x, *op, v, kind)),
            }
        }
        Filter::ValuePath(p, inner) => lookup
            .elements(node, p)
            .iter()
            .any(|e| evaluate(inner, e, lookup, Some(p))),
    }
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

pub fn parse_instant(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(s).ok()
}

fn compare(x: &Value, op: CompareOp, v: &CompValue, kind: ValueKind) -> bool {
    use std::cmp::Ordering;
    let ord_ok = |o: Ordering| match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        _ => false,
    };
    match kind {
        ValueKind::Boolean => {
            let xb = match x {
                Value::Bool(b) => Some(*b),
                Value::String(s) => {
                    s.parse::<bool>()
                        .ok()
                        .or_else(|| match s.to_ascii_lowercase().as_str() {
                            "true" => Some(true),
                            "false" => Some(false),
                            _ => None,
                        })
                }
                _ => None,
            };
            let vb = match v {
                CompValue::Bool(b) => Some(*b),
                CompValue::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
                CompValue::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            };
            op == CompareOp::Eq && xb.is_some() && xb == vb
        }
        ValueKind::Number => {
            let (Some(a), CompValue::Number(b, _)) = (x.as_f64(), v) else {
                return false;
            };
            a.partial_cmp(b).is_some_and(ord_ok)
        }
        ValueKind::DateTime => {
            let (Some(a), CompValue::String(b)) = (x.as_str().and_then(parse_instant), v) else {
                return false;
            };
            let Some(b) = parse_instant(b) else {
                return false;
            };
            ord_ok(a.cmp(&b))
        }
        ValueKind::String { .. } | ValueKind::Binary => {
            let case_exact = match kind {
                ValueKind::String { case_exact } => case_exact,
                _ => true,
            };
            let xs = match x {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return false,
            };
            let vs = match v {
                CompValue::String(s) => s.clone(),
                CompValue::Bool(b) => b.to_string(),
                CompValue::Number(_, token) => token.clone(),
                CompValue::Null => return false,
            };
            let (a, b) = if case_exact {
                (xs, vs)
            } else {
                (xs.to_lowercase(), vs.to_lowercase())
            };
            match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                _ => ord_ok(a.cmp(&b)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Filter {
        Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }
    fn path(name: &str) -> AttrPath {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: None,
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let f = p("a eq 1 or b eq 2 and not (c pr)");
        match f {
            Filter::Or(_, right) => match *right {
                Filter::And(_, r) => assert!(matches!(*r, Filter::Not(_))),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        assert!(matches!(p("(a eq 1 or b eq 2) and c pr"), Filter::And(..)));
    }

    #[test]
    fn keywords_and_operators_are_case_insensitive() {
        assert!(matches!(
            p("USERNAME EQ \"x\""),
            Filter::Compare(_, CompareOp::Eq, _)
        ));
        assert!(matches!(p("a pr AND b PR"), Filter::And(..)));
        assert!(matches!(p("NOT(a pr)"), Filter::Not(_)));
        assert!(matches!(p("not (a pr)"), Filter::Not(_)));
    }

    #[test]
    fn value_paths_and_the_entra_form() {
        let f = p("emails[type eq \"work\" and value co \"@example.com\"]");
        assert!(matches!(f, Filter::ValuePath(ref a, _) if a.name == "emails"));
        let f = p("emails[type eq \"work\"].value eq \"user@contoso.com\"");
        match f {
            Filter::ValuePath(a, inner) => {
                assert_eq!(a.name, "emails");
                assert!(matches!(*inner, Filter::And(..)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            p("emails[type eq \"work\" or (type eq \"home\" and value ew \"@x.com\")]"),
            Filter::ValuePath(..)
        ));
    }

    #[test]
    fn urns_and_literals() {
        let f =
            p("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"1\"");
        match f {
            Filter::Compare(a, CompareOp::Eq, CompValue::String(s)) => {
                assert_eq!(
                    a.urn.as_deref(),
                    Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
                );
                assert_eq!(a.name, "manager");
                assert_eq!(a.sub.as_deref(), Some("value"));
                assert_eq!(s, "1");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            p("active eq TRUE"),
            Filter::Compare(path("active"), CompareOp::Eq, CompValue::Bool(true))
        );
        assert_eq!(
            p("x eq null"),
            Filter::Compare(path("x"), CompareOp::Eq, CompValue::Null)
        );
        assert_eq!(
            p("x ge -1.5e2"),
            Filter::Compare(
                path("x"),
                CompareOp::Ge,
                CompValue::Number(-150.0, "-1.5e2".into())
            )
        );
        assert_eq!(
            p("externalId eq jyoung"),
            Filter::Compare(
                path("externalId"),
                CompareOp::Eq,
                CompValue::String("jyoung".into())
            )
        );
        assert_eq!(
            p(r#"x eq "a\"b""#),
            Filter::Compare(path("x"), CompareOp::Eq, CompValue::String("a\"b".into()))
        );
        assert!(matches!(
            p("members[value eq \"1\"].$ref pr"),
            Filter::ValuePath(..)
        ));
    }

    #[test]
    fn unquoted_values_are_read_as_whole_tokens() {
        let value = |s: &str| match p(s) {
            Filter::Compare(_, _, v) => v,
            other => panic!("{other:?}"),
        };
        let guid = "22fbc523-6032-4ad9-a3a5-4e3a5b3f6a1c";
        assert_eq!(
            value(&format!("externalId eq {guid}")),
            CompValue::String(guid.into())
        );
        let t = "2015-10-10T14:38:21.8617979-07:00";
        assert_eq!(
            value(&format!("meta.created gt {t}")),
            CompValue::String(t.into())
        );
        assert_eq!(value("x eq 007"), CompValue::Number(7.0, "007".into()));
        assert_eq!(value("x eq -3"), CompValue::Number(-3.0, "-3".into()));
        assert!(Filter::parse("x eq 1e999")
            .unwrap_err()
            .message
            .contains("invalid number"));
        for s in [
            "1-2", "12abc", "-x", "-", "inf", "NaN", "3.5.1x", "1:2", "1e",
        ] {
            assert_eq!(
                value(&format!("x eq {s}")),
                CompValue::String(s.into()),
                "{s}"
            );
        }
        // The token ends at a bracket or parenthesis.
        assert!(matches!(
            p("(externalId eq 22fb) and emails[value eq 1a]"),
            Filter::And(..)
        ));
    }

    #[test]
    fn errors_name_the_position() {
        for (s, pos, needle) in [
            ("userName xx \"a\"", 9, "unknown operator"),
            ("userName eq", 11, "expected a value"),
            ("(userName eq \"a\"", 16, "expected ')'"),
            ("userName eq \"a", 12, "unterminated"),
            ("emails[type eq \"w\"", 18, "expected ']'"),
            ("", 0, "empty"),
            ("a eq 1 b", 7, "unexpected"),
            ("1abc eq 2", 0, "attribute name"),
        ] {
            let e = Filter::parse(s).unwrap_err();
            assert_eq!(e.position, pos, "{s}: {e:?}");
            assert!(e.message.contains(needle), "{s}: {e:?}");
        }
        let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        assert!(Filter::parse(&deep).unwrap_err().message.contains("deeper"));
        let long = format!("a eq \"{}\"", "x".repeat(5000));
        assert!(Filter::parse(&long).unwrap_err().message.contains("longer"));
        let wide = format!("a eq \"{}\"", "日".repeat(2000));
        let e = Filter::parse(&wide).unwrap_err();
        assert_eq!(e.position, 6 + (MAX_FILTER_LEN - 6).div_ceil(3), "{e:?}");
    }

    /// Text with multi-byte characters where byte offsets used to be taken (`rest[..4]` on a
    /// name of three ASCII letters and a two-byte letter panicked).
    const WIDE: [&str; 4] = ["ü", "日本", "😀", "\u{301}"];

    #[test]
    fn multi_byte_text_is_an_error_or_a_value_never_a_panic() {
        for w in WIDE {
            // Where the old `urn:` check sliced: 3 ASCII letters, then a wide character.
            for f in [
                format!("abc{w} eq 1"),
                format!("urn{w} eq 1"),
                format!("ur{w}:x eq 1"),
                w.to_string(),
                format!("{w}abc eq 1"),
                format!("userName {w}q 1"),
                format!("emails[type eq \"x\"].{w} eq 1"),
                format!("emails[{w}]"),
                format!("not ({w})"),
                format!("userName eq \"x\" {w}nd a pr"),
            ] {
                let e = Filter::parse(&f).expect_err(&f);
                assert!(e.position <= f.chars().count(), "{f}: {e:?}");
            }
            // Wide characters in values and URNs are fine.
            assert_eq!(
                p(&format!("userName eq \"{w}\"")),
                Filter::Compare(path("userName"), CompareOp::Eq, CompValue::String(w.into()))
            );
            assert_eq!(
                p(&format!("title eq {w}x")),
                Filter::Compare(
                    path("title"),
                    CompareOp::Eq,
                    CompValue::String(format!("{w}x"))
                )
            );
            match p(&format!("urn:x:{w}:v1:title pr")) {
                Filter::Present(a) => {
                    assert_eq!(a.urn, Some(format!("urn:x:{w}:v1")));
                    assert_eq!(a.name, "title");
                }
                other => panic!("{other:?}"),
            }
        }
        // Positions count characters, not bytes.
        let e = Filter::parse("日本 eq 1").unwrap_err();
        assert_eq!(e.position, 0);
        let e = Filter::parse("abcü eq 1").unwrap_err();
        assert_eq!(e.position, 3, "{e:?}");
        let e = Filter::parse("userName eq \"日本\" x").unwrap_err();
        assert_eq!(e.position, 17, "{e:?}");
        // A trailing backslash in a string is unterminated, not an index past the end.
        assert!(Filter::parse("a eq \"\\")
            .unwrap_err()
            .message
            .contains("unterminated"));
    }

    #[test]
    fn every_prefix_and_insertion_of_wide_text_parses_without_panicking() {
        let bases = [
            "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"a\"",
            "emails[type eq \"work\"].value co \"x\" and not (title pr)",
            "name.givenName sw \"B\" or meta.created gt \"2020-01-01T00:00:00Z\"",
        ];
        for base in bases {
            let chars: Vec<char> = base.chars().collect();
            for w in WIDE {
                for i in 0..=chars.len() {
                    let head: String = chars[..i].iter().collect();
                    let tail: String = chars[i..].iter().collect();
                    for input in [
                        format!("{head}{w}{tail}"),
                        format!("{head}{w}"),
                        head.clone(),
                    ] {
                        let _ = Filter::parse(&input);
                        let _ = AttrPath::parse(&input);
                        let _ = PatchPath::parse(&input);
                    }
                }
            }
        }
    }

    #[test]
    fn attribute_and_patch_paths_with_multi_byte_text() {
        for w in WIDE {
            for s in [
                format!("abc{w}"),
                w.to_string(),
                format!("urn{w}"),
                format!("name.{w}"),
                format!("name.giv{w}"),
                format!("urn:{w}"),
            ] {
                assert!(AttrPath::parse(&s).is_err(), "{s}");
                assert!(PatchPath::parse(&s).is_err(), "{s}");
            }
            let pp = PatchPath::parse(&format!("emails[type eq \"{w}\"].value")).unwrap();
            assert_eq!(pp.attr.name, "emails");
            assert_eq!(pp.sub.as_deref(), Some("value"));
            assert!(PatchPath::parse(&format!("emails[type eq \"x\"].{w}")).is_err());
            let a = AttrPath::parse(&format!("urn:x:{w}:title")).unwrap();
            assert_eq!(a.urn, Some(format!("urn:x:{w}")));
        }
    }
}

/// A PATCH path: `attrPath`, `attrPath[valFilter]` or `attrPath[valFilter].subAttr`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

impl PatchPath {
    pub fn parse(s: &str) -> Result<PatchPath, FilterError> {
        let mut p = Parser::new(s.trim());
        let attr = p.attr_path()?;
        let (filter, sub) = match p.value_filter(&attr, 0)? {
            Some((filter, sub)) => (Some(filter), sub),
            None => (None, None),
        };
        if !p.at_end() {
            return Err(p.err(format!("unexpected {:?}", p.rest())));
        }
        Ok(PatchPath { attr, filter, sub })
    }
}
