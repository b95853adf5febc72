//! Filters and sort keys on extension attributes kept in the value store (`user_values`,
//! `group_values`; `domain::ext` says how values are laid out). Each term is a semi-join on
//! the value rows of the attribute's path, bound as a parameter, compared in the column its
//! type needs: `value_lower` (caseExact=false strings, `user_values_lookup`), `value`
//! (case-exact strings and booleans, `user_values_exact`), `value_num` (numbers and
//! dateTimes, `user_values_num`). A value filter on a multi-valued complex attribute applies
//! all its conditions to one element: the rows of one position.

use super::{invalid, leaf, present, Col, Cx, Kind, Target};
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::schema::{AttrType, Attribute, Resolved};
use crate::scim::ScimResult;
use crate::store::raw::{Bind, Raw};

/// The value table of a target: its name, its owner column, and the outer id it joins.
fn table(target: Target) -> (&'static str, &'static str, &'static str) {
    match target {
        Target::Users => ("user_values", "user_id", r#""users"."id""#),
        Target::Groups => ("group_values", "group_id", r#""groups"."id""#),
    }
}

/// Table aliases the columns below are qualified with.
#[derive(Clone, Copy)]
enum Alias {
    /// The rows a semi-join selects.
    Xv,
    /// The rows of one element of a value filter.
    E,
}

/// The column `attr`'s values compare in, under `alias`.
fn col(attr: &Attribute, alias: Alias) -> Col {
    let (value, lower, num) = match alias {
        Alias::Xv => (
            r#""xv"."value""#,
            r#""xv"."value_lower""#,
            r#""xv"."value_num""#,
        ),
        Alias::E => (
            r#""e"."value""#,
            r#""e"."value_lower""#,
            r#""e"."value_num""#,
        ),
    };
    match attr.ty {
        AttrType::Integer | AttrType::Decimal => Col::of(num, Kind::Num),
        AttrType::DateTime => Col::of(num, Kind::Instant),
        AttrType::Boolean => Col::of(value, Kind::BoolText),
        AttrType::String if !attr.case_exact => Col::of(
            value,
            Kind::Str {
                ci: true,
                lower: Some(lower.into()),
            },
        ),
        _ => Col::of(
            value,
            Kind::Str {
                ci: false,
                lower: None,
            },
        ),
    }
}

/// The stored paths of `res` a term on `p` reads, and the attribute their values have.
fn paths<'a>(res: &Resolved<'a>, p: &AttrPath) -> ScimResult<Vec<(String, &'a Attribute)>> {
    let urn = res.extension().unwrap_or_default();
    let base = format!("{urn}:{}", res.attr.name);
    if res.attr.ty != AttrType::Complex {
        return Ok(vec![(base, res.attr)]);
    }
    let sub = match p.sub.as_deref() {
        Some(s) => Some(s),
        // `badge eq "x"` compares its `value`, as for core attributes.
        None if res.attr.sub("value").is_some() => Some("value"),
        None => None,
    };
    match sub {
        Some(s) => {
            let a = res
                .attr
                .sub(s)
                .ok_or_else(|| invalid(format!("unknown attribute {p} in the filter")))?;
            Ok(vec![(format!("{base}.{}", a.name), a)])
        }
        None => Ok(res
            .attr
            .sub_attributes
            .iter()
            .map(|a| (format!("{base}.{}", a.name), a))
            .collect()),
    }
}

/// `"<outer id>" IN (SELECT owner FROM <table> xv WHERE org AND attribute IN (paths) AND cond)`.
fn semi(cx: &Cx, paths: &[String], cond: Raw) -> Raw {
    let (table, owner, outer) = table(cx.target);
    let mut r = Raw::sql(format!(
        r#"{outer} IN (SELECT "xv"."{owner}" FROM "{table}" "xv" WHERE "xv"."org_id" = "#
    ))
    .bind(Bind::Text(cx.org.to_string()))
    .push(r#" AND "xv"."attribute""#);
    r = in_list(r, paths);
    r.push(" AND (").append(cond).push("))")
}

fn in_list(mut r: Raw, items: &[String]) -> Raw {
    if let [one] = items {
        return r.push(" = ").bind(Bind::Text(one.clone()));
    }
    r = r.push(" IN (");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            r = r.push(", ");
        }
        r = r.bind(Bind::Text(item.clone()));
    }
    r.push(")")
}

/// A term on an extension attribute: present, compared, or (through `ne` and `null`) absent.
pub(super) fn condition(
    cx: &Cx,
    p: &AttrPath,
    res: Resolved<'_>,
    cmp: Option<(CompareOp, &CompValue)>,
) -> ScimResult<Raw> {
    let paths = paths(&res, p)?;
    let names: Vec<String> = paths.iter().map(|(n, _)| n.clone()).collect();
    let Some((op, v)) = cmp else {
        let any_present = paths
            .iter()
            .map(|(_, a)| present(&col(a, Alias::Xv)))
            .reduce(|a, b| Raw::join("OR", a, b))
            .unwrap_or_else(|| Raw::constant(false));
        return Ok(semi(cx, &names, any_present));
    };
    if paths.len() != 1 {
        return Err(invalid(format!(
            "{p} is complex: name a sub-attribute, such as {p}.{}",
            res.attr
                .sub_attributes
                .first()
                .map(|a| a.name.as_str())
                .unwrap_or("value")
        )));
    }
    let c = col(paths[0].1, Alias::Xv);
    Ok(match (op, v) {
        (CompareOp::Eq, CompValue::Null) => Raw::negate(semi(cx, &names, present(&c))),
        (CompareOp::Ne, CompValue::Null) => semi(cx, &names, present(&c)),
        (_, CompValue::Null) => {
            return Err(invalid(format!("null only compares with eq and ne ({p})")))
        }
        // Absent matches `ne`; for a multi-valued one, no element equals.
        (CompareOp::Ne, v) => Raw::negate(semi(cx, &names, leaf(&c, CompareOp::Eq, v, p)?)),
        (op, v) => semi(cx, &names, leaf(&c, op, v, p)?),
    })
}

/// `attr[inner]` on a multi-valued extension attribute: some element satisfies all of
/// `inner` (each condition on the element's row of that sub-attribute).
pub(super) fn value_path(
    cx: &Cx,
    p: &AttrPath,
    res: Resolved<'_>,
    inner: &Filter,
) -> ScimResult<Raw> {
    if !res.attr.multi_valued {
        return Err(invalid(format!(
            "{p} is not multi-valued; a value filter does not apply"
        )));
    }
    let urn = res.extension().unwrap_or_default();
    let base = format!("{urn}:{}", res.attr.name);
    // Every row of an element anchors it.
    let anchors: Vec<String> = if res.attr.ty == AttrType::Complex {
        res.attr
            .sub_attributes
            .iter()
            .map(|a| format!("{base}.{}", a.name))
            .collect()
    } else {
        vec![base.clone()]
    };
    let cond = element(cx, res.attr, &base, inner)?;
    Ok(semi(cx, &anchors, cond))
}

fn element(cx: &Cx, attr: &Attribute, base: &str, f: &Filter) -> ScimResult<Raw> {
    match f {
        Filter::And(a, b) => Ok(Raw::join(
            "AND",
            element(cx, attr, base, a)?,
            element(cx, attr, base, b)?,
        )),
        Filter::Or(a, b) => Ok(Raw::join(
            "OR",
            element(cx, attr, base, a)?,
            element(cx, attr, base, b)?,
        )),
        Filter::Not(a) => Ok(Raw::negate(element(cx, attr, base, a)?)),
        Filter::ValuePath(q, _) => Err(invalid(format!(
            "value filters do not nest ({q}[...] inside a value filter)"
        ))),
        Filter::Present(q) | Filter::Compare(q, _, _) => {
            if q.urn.is_some() || q.sub.is_some() {
                return Err(invalid(format!("{q} is not a sub-attribute")));
            }
            let (path, a) = if attr.ty == AttrType::Complex {
                let a = attr.sub(&q.name).ok_or_else(|| {
                    invalid(format!("unknown sub-attribute {q} in the value filter"))
                })?;
                (format!("{base}.{}", a.name), a)
            } else if q.name.eq_ignore_ascii_case("value") {
                (base.to_string(), attr)
            } else {
                return Err(invalid(format!(
                    "unknown sub-attribute {q} in the value filter"
                )));
            };
            let c = col(a, Alias::E);
            let (table, owner, _) = table(cx.target);
            let on_element = |cond: Raw| {
                Raw::sql(format!(
                    r#"EXISTS (SELECT 1 FROM "{table}" "e" WHERE "e"."{owner}" = "xv"."{owner}" AND "e"."position" = "xv"."position" AND "e"."attribute" = "#
                ))
                .bind(Bind::Text(path.clone()))
                .push(" AND (")
                .append(cond)
                .push("))")
            };
            match f {
                Filter::Present(_) => Ok(on_element(present(&c))),
                Filter::Compare(_, CompareOp::Eq, CompValue::Null) => {
                    Ok(Raw::negate(on_element(present(&c))))
                }
                Filter::Compare(_, CompareOp::Ne, CompValue::Null) => Ok(on_element(present(&c))),
                Filter::Compare(_, _, CompValue::Null) => {
                    Err(invalid(format!("null only compares with eq and ne ({q})")))
                }
                Filter::Compare(_, CompareOp::Ne, v) => {
                    Ok(Raw::negate(on_element(leaf(&c, CompareOp::Eq, v, q)?)))
                }
                Filter::Compare(_, op, v) => Ok(on_element(leaf(&c, *op, v, q)?)),
                _ => unreachable!(),
            }
        }
    }
}

/// The resource has a value under extension `urn` (registered or kept as sent).
pub(super) fn has_urn(cx: &Cx, urn: &str) -> Raw {
    let (table, owner, outer) = table(cx.target);
    // Paths of the URN are `urn:…`: the range [urn + ":", urn + ";") in code point order.
    Raw::sql(format!(
        r#"{outer} IN (SELECT "xv"."{owner}" FROM "{table}" "xv" WHERE "xv"."org_id" = "#
    ))
    .bind(Bind::Text(cx.org.to_string()))
    .push(r#" AND "xv"."attribute" >= "#)
    .bind(Bind::Text(format!("{urn}:")))
    .push(r#" AND "xv"."attribute" < "#)
    .bind(Bind::Text(format!("{urn};")))
    .push(")")
}

/// The sort key of an extension attribute: its (first) value, by type.
pub(super) fn sort_key(cx: &Cx, p: &AttrPath, res: Resolved<'_>) -> Option<String> {
    let paths = paths(&res, p).ok()?;
    let [(path, attr)] = paths.as_slice() else {
        return None;
    };
    let column = match attr.ty {
        AttrType::Integer | AttrType::Decimal | AttrType::DateTime => "value_num",
        AttrType::String if !attr.case_exact => "value_lower",
        _ => "value",
    };
    let (table, owner, outer) = table(cx.target);
    // The path is a registered URN and attribute names (no quote can be in either, see
    // `scim::schema`); quotes are doubled all the same.
    let literal = path.replace('\'', "''");
    Some(format!(
        r#"(SELECT "sk"."{column}" FROM "{table}" "sk" WHERE "sk"."{owner}" = {outer} AND "sk"."attribute" = '{literal}' ORDER BY "sk"."position" LIMIT 1)"#
    ))
}
