//! SCIM filters (the AST of `scim::filter`) to SQL over the one schema, on both backends.
//!
//! Rules, each the same on SQLite and PostgreSQL (and in the in-memory evaluator the tests
//! compare against):
//! - caseExact=false strings compare lower-cased: through the Rust-lowercased `*_lower`
//!   columns where they exist (`userName`, `displayName`, multi-valued `value`s, group
//!   `displayName`), otherwise with SQL `lower()`, which folds ASCII letters only on both
//!   backends (SQLite's built-in, PostgreSQL's on `COLLATE "C"` columns).
//! - An absent attribute matches no comparison; `ne` is `not eq`, so absent values match
//!   `ne`; `eq null` means absent, `ne null` present; `pr` is present and not empty.
//! - dateTime values compare as instants, numbers as numbers, booleans only with `eq`/`ne`;
//!   `gt/ge/lt/le` on booleans and binary and substring operators on non-strings are
//!   `invalidFilter`.
//! - Multi-valued attributes match when any value matches (an `IN` semi-join); both conditions of one
//!   value filter apply to the same element.

use chrono::NaiveDateTime;

use super::raw::{Bind, Raw};
use crate::domain::id_from_hex;
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::lookup::{is_schemas, JsonLookup};
use crate::scim::schema::{AttrType, Attribute, Resolved, ResourceType, ENTERPRISE_SCHEMA};
use crate::scim::storage::{Elements, Shape, Storage};

mod ext;
use crate::scim::{ScimError, ScimResult};

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// A string; `lower` is the Rust-lowercased twin column, if any.
    Str {
        ci: bool,
        lower: Option<String>,
    },
    Bool,
    Time,
    /// The numeric id, shown as 16 hex digits.
    Id,
    /// `meta.version`: an integer shown as `W/"n"`.
    Version,
    /// A number (an extension's `value_num`).
    Num,
    /// A dateTime kept as seconds since the epoch (an extension's `value_num`).
    Instant,
    /// A boolean kept as the text `true` / `false` (an extension's `value`).
    BoolText,
}

/// A column (qualified SQL) and how it compares.
#[derive(Debug, Clone)]
struct Col {
    sql: String,
    kind: Kind,
    /// The trigram index of the text a substring comparison reads, if it has one.
    trigram: Option<Fts>,
}

impl Col {
    fn of(sql: impl Into<String>, kind: Kind) -> Col {
        Col {
            sql: sql.into(),
            kind,
            trigram: None,
        }
    }
}

/// An FTS5 trigram table (SQLite) holding a column's text under its user's id, the
/// qualified column `key`.
#[derive(Debug, Clone)]
struct Fts {
    key: String,
    table: &'static str,
    column: &'static str,
}

/// Substring patterns shorter than a trigram have none to look up: they compare as before.
const TRIGRAM: usize = 3;

/// Where a multi-valued attribute's elements live.
struct Multi<'a> {
    /// `FROM ... WHERE <correlation>` of one element (for sort keys).
    from: String,
    /// `<outer id> IN (SELECT <owner id> FROM ... WHERE <org = ?> ...`: the same elements as
    /// an uncorrelated semi-join, which both backends run from the indexes once instead of
    /// probing per row; each `?` is the organization.
    semi: String,
    /// `ORDER BY` of the elements for a sort key: the primary one first.
    order: &'static str,
    /// The attribute; its sub-attributes' entries name the element table's columns.
    attr: &'a Attribute,
}

fn invalid(msg: impl Into<String>) -> ScimError {
    ScimError::invalid_filter(msg)
}

fn table_of(target: Target) -> &'static str {
    match target {
        Target::Users => "users",
        Target::Groups => "groups",
    }
}

/// The column a registry entry names, compared as the entry's type and `caseExact` say.
/// `None` when the attribute is not kept in a column.
fn column(target: Target, attr: &Attribute) -> Option<Col> {
    let Storage::Column(c) = attr.storage else {
        return None;
    };
    let at = c.at.unwrap_or(table_of(target));
    let q = |name: &str| format!("\"{at}\".\"{name}\"");
    let kind = match (c.shape, attr.ty) {
        (Shape::Id, _) => Kind::Id,
        (Shape::Version, _) => Kind::Version,
        (Shape::Plain, AttrType::Boolean) => Kind::Bool,
        (Shape::Plain, AttrType::DateTime) => Kind::Time,
        (Shape::Plain, _) => Kind::Str {
            ci: !attr.case_exact,
            lower: c.lower.map(q),
        },
    };
    // The index must hold the very text `leaf` compares: the lower-cased twin for a
    // caseExact=false string that has one, else the column (its case folded by the index).
    let compared = match c.lower {
        Some(l) if !attr.case_exact => l,
        _ => c.name,
    };
    let trigram = c
        .trigram
        .filter(|t| matches!(kind, Kind::Str { .. }) && t.owner == at && t.column == compared)
        .map(|t| Fts {
            key: q(t.key),
            table: t.table,
            column: t.column,
        });
    Some(Col {
        sql: q(c.name),
        kind,
        trigram,
    })
}

/// The elements of a multi-valued attribute kept in an element table.
fn elements(target: Target, attr: &Attribute) -> Option<Multi<'_>> {
    let Storage::Elements(e) = attr.storage else {
        return None;
    };
    const BY_POSITION: &str =
        r#"ORDER BY CASE WHEN "uv"."is_primary" = TRUE THEN 0 ELSE 1 END, "uv"."position""#;
    const ROLES: &str =
        r#"ORDER BY CASE WHEN "ur"."is_primary" = TRUE THEN 0 ELSE 1 END, "r"."name_lower""#;
    let (from, semi, order) = match (target, e) {
        (Target::Users, Elements::UserValues(name)) => (
            format!(
                r#"FROM "user_values" "uv" WHERE "uv"."user_id" = "users"."id" AND "uv"."org_id" = "users"."org_id" AND "uv"."attribute" = '{name}'"#
            ),
            format!(
                r#""users"."id" IN (SELECT "uv"."user_id" FROM "user_values" "uv" WHERE "uv"."org_id" = ? AND "uv"."attribute" = '{name}'"#
            ),
            BY_POSITION,
        ),
        (Target::Users, Elements::UserRoles) => (
            r#"FROM "user_roles" "ur" JOIN "roles" "r" ON "r"."id" = "ur"."role_id" WHERE "ur"."user_id" = "users"."id""#.into(),
            r#""users"."id" IN (SELECT "ur"."user_id" FROM "user_roles" "ur" JOIN "roles" "r" ON "r"."id" = "ur"."role_id" WHERE "ur"."org_id" = ?"#.into(),
            ROLES,
        ),
        (Target::Users, Elements::UserGroups) => (
            r#"FROM "group_users" "gu" JOIN "groups" "g" ON "g"."id" = "gu"."group_id" WHERE "gu"."user_id" = "users"."id""#.into(),
            r#""users"."id" IN (SELECT "gu"."user_id" FROM "group_users" "gu" JOIN "groups" "g" ON "g"."id" = "gu"."group_id" WHERE "gu"."org_id" = ?"#.into(),
            "",
        ),
        // Users and nested groups, one element per membership row.
        (Target::Groups, Elements::GroupMembers) => (
            r#"FROM (SELECT "user_id" AS "member_id", 'User' AS "member_type" FROM "group_users" WHERE "group_id" = "groups"."id" UNION ALL SELECT "member_group_id", 'Group' FROM "group_groups" WHERE "group_id" = "groups"."id") "m" WHERE 1 = 1"#.into(),
            r#""groups"."id" IN (SELECT "m"."group_id" FROM (SELECT "group_id", "user_id" AS "member_id", 'User' AS "member_type" FROM "group_users" WHERE "org_id" = ? UNION ALL SELECT "group_id", "member_group_id", 'Group' FROM "group_groups" WHERE "org_id" = ?) "m" WHERE 1 = 1"#.into(),
            "",
        ),
        _ => return None,
    };
    Some(Multi {
        from,
        semi,
        order,
        attr,
    })
}

impl Multi<'_> {
    /// The column of the element's sub-attribute `name` (any case).
    fn sub(&self, target: Target, name: &str) -> Option<Col> {
        column(target, self.attr.sub(name)?)
    }
}

// ---- translation ----------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Users,
    Groups,
}

/// What a translation needs: the resource type (its registry: core attributes, Enterprise
/// and the organization's extensions), its tables, and the organization.
#[derive(Clone, Copy)]
struct Cx<'a> {
    target: Target,
    rt: &'a ResourceType,
    org: &'a str,
}

/// Translate `f` for `target` of resource type `rt` (the organization's registry). Unknown
/// attributes and operator/type mismatches are 400 `invalidFilter`.
pub fn translate(f: &Filter, target: Target, rt: &ResourceType, org: &str) -> ScimResult<Raw> {
    let cx = Cx { target, rt, org };
    crate::scim::lookup::check_operators(f, rt, None)?;
    let multi = multi_valued_terms(f, &cx);
    if multi > MAX_MULTI_VALUED_TERMS {
        return Err(invalid(format!(
            "the filter has {multi} terms on multi-valued attributes; at most \
             {MAX_MULTI_VALUED_TERMS} are allowed"
        )));
    }
    node(f, &cx)
}

/// Each term on a multi-valued attribute is a semi-join. PostgreSQL's planner takes time
/// that grows much faster than linearly in AND-ed semi-joins (a filter of 290 `emails pr`
/// joined by `and`, well inside the length limit, ran for minutes), so they are capped
/// (scim.md item 60); identity providers send one or two.
pub const MAX_MULTI_VALUED_TERMS: usize = 32;

fn multi_valued_terms(f: &Filter, cx: &Cx) -> usize {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            multi_valued_terms(a, cx) + multi_valued_terms(b, cx)
        }
        Filter::Not(a) => multi_valued_terms(a, cx),
        Filter::ValuePath(..) => 1,
        // An extension attribute is a semi-join on the value store too.
        Filter::Present(p) | Filter::Compare(p, _, _) => {
            cx.rt
                .resolve(p.urn.as_deref(), &p.name)
                .is_some_and(|r| r.attr.multi_valued || r.in_values()) as usize
        }
    }
}

fn node(f: &Filter, cx: &Cx) -> ScimResult<Raw> {
    match f {
        Filter::And(a, b) => Ok(Raw::join("AND", node(a, cx)?, node(b, cx)?)),
        Filter::Or(a, b) => Ok(Raw::join("OR", node(a, cx)?, node(b, cx)?)),
        Filter::Not(a) => Ok(Raw::negate(node(a, cx)?)),
        Filter::Present(p) => attr_condition(p, cx, None),
        Filter::Compare(p, op, v) => attr_condition(p, cx, Some((*op, v))),
        Filter::ValuePath(p, inner) => {
            if let Some(res) = extension_attr(p, cx)? {
                return ext::value_path(cx, p, res, inner);
            }
            let multi = resolve_multi(p, cx)?;
            let cond = element(inner, &multi, cx.target)?;
            Ok(exists(&multi, cond, cx.org))
        }
    }
}

fn check_known<'a>(p: &AttrPath, cx: &Cx<'a>) -> ScimResult<&'a Attribute> {
    let res = cx
        .rt
        .resolve(p.urn.as_deref(), &p.name)
        .ok_or_else(|| invalid(format!("unknown attribute {p} in the filter")))?;
    if let Some(sub) = &p.sub {
        if res.attr.sub(sub).is_none() {
            return Err(invalid(format!("unknown attribute {p} in the filter")));
        }
    }
    Ok(res.attr)
}

/// `p` resolved, when it is an attribute of an extension kept in the value store.
fn extension_attr<'a>(p: &AttrPath, cx: &Cx<'a>) -> ScimResult<Option<Resolved<'a>>> {
    check_known(p, cx)?;
    let found = cx
        .rt
        .resolve(p.urn.as_deref(), &p.name)
        .filter(Resolved::in_values);
    if let Some(res) = &found {
        // What is never returned cannot be probed by filtering or sorting either.
        let sub = p.sub.as_deref().and_then(|s| res.attr.sub(s));
        let hidden = |a: &crate::scim::schema::Attribute| {
            a.returned == crate::scim::schema::Returned::Never
                || a.mutability == crate::scim::schema::Mutability::WriteOnly
        };
        if hidden(res.attr) || sub.is_some_and(hidden) {
            return Err(invalid(format!(
                "{p} is never returned: it cannot be filtered"
            )));
        }
    }
    Ok(found)
}

fn resolve_multi<'a>(p: &AttrPath, cx: &Cx<'a>) -> ScimResult<Multi<'a>> {
    let attr = check_known(p, cx)?;
    if !attr.multi_valued {
        return Err(invalid(format!(
            "{p} is not multi-valued; a value filter does not apply"
        )));
    }
    elements(cx.target, attr).ok_or_else(|| invalid(format!("{p} cannot be filtered")))
}

fn attr_condition(p: &AttrPath, cx: &Cx, cmp: Option<(CompareOp, &CompValue)>) -> ScimResult<Raw> {
    let (target, org) = (cx.target, cx.org);
    if is_schemas(cx.rt, p) {
        return schemas_condition(p, cx, cmp);
    }
    if let Some(res) = extension_attr(p, cx)? {
        return ext::condition(cx, p, res, cmp);
    }
    let attr = check_known(p, cx)?;
    if attr.multi_valued {
        let multi = resolve_multi(p, cx)?;
        if p.sub.is_none() && attr.sub("value").is_none() {
            // `addresses pr`: some element; a comparison needs a sub-attribute.
            return match cmp {
                None | Some((CompareOp::Ne, CompValue::Null)) => {
                    Ok(exists(&multi, Raw::constant(true), org))
                }
                Some((CompareOp::Eq, CompValue::Null)) => {
                    Ok(Raw::negate(exists(&multi, Raw::constant(true), org)))
                }
                Some(_) => Err(invalid(format!(
                    "{p} is complex: name a sub-attribute, such as {p}.{}",
                    attr.sub_attributes
                        .first()
                        .map(|a| a.name.as_str())
                        .unwrap_or("type")
                ))),
            };
        }
        let sub = p.sub.as_deref().unwrap_or("value");
        let col = multi
            .sub(target, sub)
            .ok_or_else(|| invalid(format!("{p} cannot be filtered")))?;
        return match cmp {
            None => Ok(exists(&multi, present(&col), org)),
            // `eq null`: no element has a value; `ne null`: some element has one.
            Some((CompareOp::Eq, CompValue::Null)) => {
                Ok(Raw::negate(exists(&multi, present(&col), org)))
            }
            Some((CompareOp::Ne, CompValue::Null)) => Ok(exists(&multi, present(&col), org)),
            Some((_, CompValue::Null)) => {
                Err(invalid(format!("null only compares with eq and ne ({p})")))
            }
            // `ne` over a multi-valued attribute: negate "some element equals".
            Some((CompareOp::Ne, v)) => {
                let eq = leaf(&col, CompareOp::Eq, v, p)?;
                Ok(Raw::negate(exists(&multi, eq, org)))
            }
            Some((op, v)) => {
                let c = leaf(&col, op, v, p)?;
                Ok(exists(&multi, c, org))
            }
        };
    }
    if attr.ty == AttrType::Complex && p.sub.is_none() {
        // `name pr`, `meta pr`, `manager eq "x"` (its value).
        let subs: Vec<Col> = attr
            .sub_attributes
            .iter()
            .filter_map(|s| column(target, s))
            .collect();
        if let (Some((op, v)), Some(c)) = (cmp, attr.sub("value").and_then(|s| column(target, s))) {
            return compare(&c, op, v, p);
        }
        if cmp.is_some() {
            return Err(invalid(format!(
                "{p} is complex: name a sub-attribute, such as {p}.{}",
                attr.sub_attributes
                    .first()
                    .map(|a| a.name.as_str())
                    .unwrap_or("value")
            )));
        }
        if target == Target::Users && p.name.eq_ignore_ascii_case("meta") {
            return Ok(Raw::constant(true));
        }
        return Ok(subs
            .iter()
            .map(present)
            .reduce(|a, b| Raw::join("OR", a, b))
            .unwrap_or_else(|| Raw::constant(false)));
    }
    if p.name.eq_ignore_ascii_case("meta")
        && p.sub
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("resourceType"))
    {
        let kind = match target {
            Target::Users => "User",
            Target::Groups => "Group",
        };
        return constant_string(kind, cmp);
    }
    let col = stored(target, attr, p.sub.as_deref())
        .ok_or_else(|| invalid(format!("{p} cannot be filtered")))?;
    match cmp {
        None => Ok(present(&col)),
        Some((op, v)) => compare(&col, op, v, p),
    }
}

/// The Enterprise URN is in a user's `schemas` exactly when one of its attributes is set
/// (see `dialects::scim::resources`): one of the columns its registry entries name.
fn enterprise_set(rt: &ResourceType) -> Option<Raw> {
    let ext = rt.extension(ENTERPRISE_SCHEMA)?;
    let set: Vec<String> = ext
        .schema
        .attributes
        .iter()
        .filter_map(|a| {
            stored(
                Target::Users,
                a,
                (a.ty == AttrType::Complex).then_some("value"),
            )
        })
        .map(|c| format!("{} IS NOT NULL", c.sql))
        .collect();
    Some(Raw::sql(format!("({})", set.join(" OR "))))
}

/// `schemas <op> <value>` (RFC 7644 §3.4.2.2 allows any attribute, scim.md item 58). A user's
/// `schemas` is either `[core]` or `[core, enterprise]`, a group's `[Group]`: the condition
/// is the reference evaluator's answer on each of those lists, so the two cannot disagree.
fn schemas_condition(
    p: &AttrPath,
    cx: &Cx,
    cmp: Option<(CompareOp, &CompValue)>,
) -> ScimResult<Raw> {
    let rt = cx.rt;
    let f = match cmp {
        None => Filter::Present(p.clone()),
        Some((op, CompValue::Null)) if !matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            return Err(invalid(format!("null only compares with eq and ne ({p})")))
        }
        Some((op, v)) => Filter::Compare(p.clone(), op, v.clone()),
    };
    let answer = |urns: &[&str]| {
        let node = serde_json::json!({ "schemas": urns });
        crate::scim::filter::evaluate(&f, &node, &JsonLookup { rt }, None)
    };
    // `pr`, `eq null`, `ne null`: every resource has the core URN.
    let Some((op, _)) = cmp.filter(|(_, v)| !matches!(v, CompValue::Null)) else {
        return Ok(Raw::constant(answer(&[rt.schema])));
    };
    // `ne` is "no URN equals"; any other operator "some URN matches": the core URN always
    // is one, the Enterprise URN when an enterprise attribute is set, an extension's when the
    // resource has a value under it (`ext::has_urn`).
    let positive = |f: &Filter, urn: &str| {
        let node = serde_json::json!({ "schemas": [urn] });
        crate::scim::filter::evaluate(f, &node, &JsonLookup { rt }, None)
    };
    let eq = match (op, cmp) {
        (CompareOp::Ne, Some((_, v))) => Filter::Compare(p.clone(), CompareOp::Eq, v.clone()),
        _ => f.clone(),
    };
    let mut any: Vec<Raw> = Vec::new();
    if positive(&eq, rt.schema) {
        any.push(Raw::constant(true));
    }
    if positive(&eq, ENTERPRISE_SCHEMA) {
        any.extend(enterprise_set(rt));
    }
    for e in rt.stored_extensions() {
        if positive(&eq, e.urn()) {
            any.push(ext::has_urn(cx, e.urn()));
        }
    }
    // An extension kept unregistered, named exactly.
    if let (CompareOp::Eq | CompareOp::Ne, Some((_, CompValue::String(urn)))) = (op, cmp) {
        let known = rt.schema_of(urn).is_some();
        if !known && crate::scim::schema::valid_urn(urn) {
            any.push(ext::has_urn(cx, urn));
        }
    }
    let matched = any
        .into_iter()
        .reduce(|a, b| Raw::join("OR", a, b))
        .unwrap_or_else(|| Raw::constant(false));
    Ok(if op == CompareOp::Ne {
        Raw::negate(matched)
    } else {
        matched
    })
}

/// The column of a single-valued attribute or of its sub-attribute `sub`.
fn stored(target: Target, attr: &Attribute, sub: Option<&str>) -> Option<Col> {
    match sub {
        Some(s) => column(target, attr.sub(s)?),
        None => column(target, attr),
    }
}

fn constant_string(value: &str, cmp: Option<(CompareOp, &CompValue)>) -> ScimResult<Raw> {
    let Some((op, v)) = cmp else {
        return Ok(Raw::constant(true));
    };
    let CompValue::String(x) = v else {
        return Ok(Raw::constant(op == CompareOp::Ne));
    };
    let (a, b) = (value.to_ascii_lowercase(), x.to_ascii_lowercase());
    Ok(Raw::constant(match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        CompareOp::Gt => a > b,
        CompareOp::Ge => a >= b,
        CompareOp::Lt => a < b,
        CompareOp::Le => a <= b,
    }))
}

/// A condition on one element of a value filter: paths name sub-attributes.
fn element(f: &Filter, multi: &Multi, target: Target) -> ScimResult<Raw> {
    match f {
        Filter::And(a, b) => Ok(Raw::join(
            "AND",
            element(a, multi, target)?,
            element(b, multi, target)?,
        )),
        Filter::Or(a, b) => Ok(Raw::join(
            "OR",
            element(a, multi, target)?,
            element(b, multi, target)?,
        )),
        Filter::Not(a) => Ok(Raw::negate(element(a, multi, target)?)),
        Filter::ValuePath(p, _) => Err(invalid(format!(
            "value filters do not nest ({p}[...] inside a value filter)"
        ))),
        Filter::Present(p) | Filter::Compare(p, _, _) => {
            if p.urn.is_some() || p.sub.is_some() {
                return Err(invalid(format!("{p} is not a sub-attribute")));
            }
            let col = multi
                .sub(target, &p.name)
                .ok_or_else(|| invalid(format!("unknown sub-attribute {p} in the value filter")))?;
            match f {
                Filter::Present(_) => Ok(present(&col)),
                Filter::Compare(_, op, v) => compare(&col, *op, v, p),
                _ => unreachable!(),
            }
        }
    }
}

/// Some element of `multi` satisfies `cond`.
fn exists(multi: &Multi, cond: Raw, org: &str) -> Raw {
    let mut pieces = multi.semi.split('?');
    let mut raw = Raw::sql(pieces.next().unwrap_or_default());
    for piece in pieces {
        raw = raw.bind(Bind::Text(org.to_string())).push(piece);
    }
    raw.push(" AND (").append(cond).push("))")
}

fn present(col: &Col) -> Raw {
    match col.kind {
        Kind::Str { .. } => Raw::sql(format!("({c} IS NOT NULL AND {c} <> '')", c = col.sql)),
        _ => Raw::sql(format!("({} IS NOT NULL)", col.sql)),
    }
}

/// A comparison on a single column, with the absent/`ne`/`null` rules.
fn compare(col: &Col, op: CompareOp, v: &CompValue, p: &AttrPath) -> ScimResult<Raw> {
    match (op, v) {
        (CompareOp::Eq, CompValue::Null) => return Ok(Raw::negate(present(col))),
        (CompareOp::Ne, CompValue::Null) => return Ok(present(col)),
        (_, CompValue::Null) => {
            return Err(invalid(format!("null only compares with eq and ne ({p})")))
        }
        (CompareOp::Ne, _) => return Ok(Raw::negate(leaf(col, CompareOp::Eq, v, p)?)),
        _ => {}
    }
    leaf(col, op, v, p)
}

/// `s` with LIKE's wildcards and its escape character (a backslash) escaped.
pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The strings that start with `prefix` are those in `[prefix, high)`, where `high` is the
/// prefix with its last character moved up by one (none when it cannot move).
fn prefix_range(prefix: &str) -> Option<(String, Option<String>)> {
    let last = prefix.chars().last()?;
    let head = &prefix[..prefix.len() - last.len_utf8()];
    let next = match last as u32 {
        0xD7FF => Some('\u{E000}'),
        c => char::from_u32(c + 1),
    };
    Some((prefix.to_string(), next.map(|n| format!("{head}{n}"))))
}

fn op_sql(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        _ => "=",
    }
}

pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    crate::scim::filter::parse_instant(s).map(|t| t.naive_utc())
}

/// `col <op> value` where `col` is known not to be NULL for a match (`IS NOT NULL AND`).
fn leaf(col: &Col, op: CompareOp, v: &CompValue, p: &AttrPath) -> ScimResult<Raw> {
    // A case-insensitive comparison through the lower-cased twin guards the twin (NULL
    // exactly when the column is): one column named, so the planner picks its index.
    let guarded = match &col.kind {
        Kind::Str {
            ci: true,
            lower: Some(l),
        } => l.as_str(),
        _ => col.sql.as_str(),
    };
    let guard = |cond: Raw| {
        Raw::sql(format!("({guarded} IS NOT NULL AND "))
            .append(cond)
            .push(")")
    };
    match &col.kind {
        Kind::Str { ci, lower } => {
            let text = match v {
                CompValue::String(s) => s.clone(),
                CompValue::Number(_, token) => token.clone(),
                CompValue::Bool(b) => b.to_string(),
                CompValue::Null => unreachable!(),
            };
            // No stored text holds a NUL (every write refuses one: PostgreSQL's text cannot),
            // so an equality or a substring of a value holding one matches nothing — where
            // PostgreSQL would refuse the parameter itself (a 500). An order is refused.
            if text.contains('\0') {
                return match op {
                    CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                        Ok(Raw::constant(false))
                    }
                    _ => Err(invalid(format!(
                        "{p}: a value holding a NUL character compares only with eq, co, sw \
                         or ew"
                    ))),
                };
            }
            let (lhs, value) = match (*ci, lower) {
                (true, Some(l)) => (l.to_string(), text.to_lowercase()),
                (true, None) => (format!("lower({})", col.sql), text.to_ascii_lowercase()),
                (false, _) => (col.sql.clone(), text),
            };
            let cond = match op {
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                    let e = escape_like(&value);
                    let pattern = match op {
                        CompareOp::Co => format!("%{e}%"),
                        CompareOp::Sw => format!("{e}%"),
                        _ => format!("%{e}"),
                    };
                    // `co` and `ew` of a trigram or more are narrowed by the trigram index
                    // first (the LIKE still decides). `sw` is a range of the b-tree below,
                    // and a shorter pattern has no trigram: both keep their plans, as does a
                    // pattern holding a NUL (FTS5's query syntax ends a string there).
                    let trigrams = value.chars().count() >= TRIGRAM && !value.contains('\0');
                    let head = match &col.trigram {
                        Some(t) if op != CompareOp::Sw && trigrams => {
                            Raw::default().prefilter(&t.key, t.table, t.column, &value)
                        }
                        Some(_) => Raw::default().without_trigrams(),
                        None => Raw::default(),
                    };
                    let like = head
                        .push(format!("{lhs} LIKE "))
                        .bind(Bind::Text(pattern))
                        .push(" ESCAPE '\\'");
                    // A prefix is also a range of the column or of its `lower()` (code
                    // point order: "C" on PostgreSQL, BINARY on SQLite), which an index (on
                    // the column, or on the expression) serves even when the plan is generic
                    // and cannot look inside the LIKE's parameter.
                    match (op, prefix_range(&value)) {
                        (CompareOp::Sw, Some((low, high))) => {
                            let mut r = Raw::sql(format!("{lhs} >= ")).bind(Bind::Text(low));
                            if let Some(high) = high {
                                r = r.push(format!(" AND {lhs} < ")).bind(Bind::Text(high));
                            }
                            Raw::join("AND", r, like)
                        }
                        _ => like,
                    }
                }
                _ => Raw::sql(format!("{lhs} {} ", op_sql(op))).bind(Bind::Text(value)),
            };
            Ok(guard(cond))
        }
        // A boolean column, or an extension's boolean kept as the text `true` / `false`.
        Kind::Bool | Kind::BoolText => {
            let b = match v {
                CompValue::Bool(b) => *b,
                CompValue::String(s) if s.eq_ignore_ascii_case("true") => true,
                CompValue::String(s) if s.eq_ignore_ascii_case("false") => false,
                _ => {
                    return Err(invalid(format!(
                        "{p} is a boolean: compare it with true or false"
                    )))
                }
            };
            if op != CompareOp::Eq {
                return Err(invalid(format!(
                    "{p} is a boolean: only eq, ne and pr apply"
                )));
            }
            let bind = match col.kind {
                Kind::BoolText => Bind::Text(b.to_string()),
                _ => Bind::Bool(b),
            };
            Ok(guard(Raw::sql(format!("{} = ", col.sql)).bind(bind)))
        }
        Kind::Time => {
            let CompValue::String(s) = v else {
                return Err(invalid(format!(
                    "{p} is a dateTime: compare it with a string such as \"2026-01-01T00:00:00Z\""
                )));
            };
            let t = parse_time(s).ok_or_else(|| invalid(format!("{s:?} is not a dateTime")))?;
            if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                return Err(invalid(format!(
                    "{p} is a dateTime: co, sw and ew do not apply"
                )));
            }
            Ok(guard(
                Raw::sql(format!("{} {} ", col.sql, op_sql(op))).bind(Bind::Time(t)),
            ))
        }
        Kind::Id => {
            let CompValue::String(s) = v else {
                return Err(invalid(format!("{p} is an id: compare it with a string")));
            };
            if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                return Err(invalid(format!(
                    "{p} is an id: only eq, ne, gt, ge, lt, le and pr apply"
                )));
            }
            // Ids are 16 upper-case hex digits, so their order is the numbers' order. Only
            // that spelling compares (`id_from_hex` alone also takes a sign, `+00…0A`, which
            // the exact string comparison of the evaluator never matches).
            let canonical = s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
            match id_from_hex(s).filter(|_| canonical) {
                Some(id) => {
                    Ok(Raw::sql(format!("{} {} ", col.sql, op_sql(op))).bind(Bind::Int(id)))
                }
                None if op == CompareOp::Eq => Ok(Raw::constant(false)),
                None => Err(invalid(format!(
                    "{s:?} is not an id of 16 upper-case hex digits"
                ))),
            }
        }
        Kind::Num => {
            let CompValue::Number(n, _) = v else {
                return Err(invalid(format!(
                    "{p} is a number: compare it with a number"
                )));
            };
            if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                return Err(invalid(format!(
                    "{p} is a number: co, sw and ew do not apply"
                )));
            }
            Ok(guard(
                Raw::sql(format!("{} {} ", col.sql, op_sql(op))).bind(Bind::Float(*n)),
            ))
        }
        Kind::Instant => {
            let CompValue::String(s) = v else {
                return Err(invalid(format!(
                    "{p} is a dateTime: compare it with a string such as \"2026-01-01T00:00:00Z\""
                )));
            };
            let t = crate::scim::filter::parse_instant(s)
                .ok_or_else(|| invalid(format!("{s:?} is not a dateTime")))?;
            if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                return Err(invalid(format!(
                    "{p} is a dateTime: co, sw and ew do not apply"
                )));
            }
            let secs = crate::domain::ext::instant_seconds(&t);
            Ok(guard(
                Raw::sql(format!("{} {} ", col.sql, op_sql(op))).bind(Bind::Float(secs)),
            ))
        }
        Kind::Version => {
            let n = match v {
                CompValue::String(s) => crate::scim::etag::parse_etag(s),
                CompValue::Number(n, _) if n.fract() == 0.0 => Some(*n as i64),
                _ => None,
            };
            match (n, op) {
                (_, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) => {
                    Err(invalid(format!("{p}: only eq and ne apply")))
                }
                (Some(n), _) => {
                    Ok(Raw::sql(format!("{} {} ", col.sql, op_sql(op))).bind(Bind::Int(n)))
                }
                (None, CompareOp::Eq) => Ok(Raw::constant(false)),
                (None, _) => Err(invalid(format!(
                    "{p} compares with a version such as W/\"3\""
                ))),
            }
        }
    }
}

/// The SQL of a sort key for `sortBy` (a single-valued attribute, or the primary — else
/// first — value of a multi-valued one), lower-cased for caseExact=false strings.
pub fn sort_key(p: &AttrPath, target: Target, rt: &ResourceType) -> ScimResult<String> {
    let cx = Cx {
        target,
        rt,
        org: "",
    };
    let bad = || ScimError::invalid_value(format!("cannot sort by {p}"));
    if let Some(res) = extension_attr(p, &cx).map_err(|_| bad())? {
        return ext::sort_key(&cx, p, res).ok_or_else(bad);
    }
    let attr = check_known(p, &cx).map_err(|_| bad())?;
    let key = |col: Col| match col.kind {
        Kind::Str {
            ci: true,
            lower: Some(l),
        } => l,
        Kind::Str {
            ci: true,
            lower: None,
        } => format!("lower({})", col.sql),
        _ => col.sql,
    };
    if attr.multi_valued {
        let multi = resolve_multi(p, &cx).map_err(|_| bad())?;
        let sub = p.sub.as_deref().unwrap_or("value");
        let col = multi.sub(target, sub).ok_or_else(bad)?;
        return Ok(format!(
            "(SELECT {} {} {} LIMIT 1)",
            key(col),
            multi.from,
            multi.order
        ));
    }
    let sub = if attr.ty == AttrType::Complex && p.sub.is_none() {
        Some("value")
    } else {
        p.sub.as_deref()
    };
    stored(target, attr, sub).map(key).ok_or_else(bad)
}

#[cfg(test)]
mod prefix_tests {
    use super::prefix_range;

    #[test]
    fn a_prefix_is_a_half_open_range() {
        assert_eq!(prefix_range(""), None);
        assert_eq!(prefix_range("ab"), Some(("ab".into(), Some("ac".into()))));
        assert_eq!(
            prefix_range("a\u{D7FF}"),
            Some(("a\u{D7FF}".into(), Some("a\u{E000}".into())))
        );
        assert_eq!(
            prefix_range("a\u{10FFFF}"),
            Some(("a\u{10FFFF}".into(), None))
        );
        let (lo, hi) = prefix_range("ab").unwrap();
        let hi = hi.unwrap();
        for s in ["ab", "abc", "abz", "ab\u{10FFFF}x"] {
            assert!(s >= lo.as_str() && s < hi.as_str(), "{s}");
        }
        for s in ["aa", "ac", "b"] {
            assert!(!(s >= lo.as_str() && s < hi.as_str()), "{s}");
        }
    }
}
