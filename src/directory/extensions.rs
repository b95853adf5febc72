//! The rule book for extension values: every write of a user or a group, whichever dialect
//! or the console made it, types its extension values by the organization's registry, keeps
//! immutable attributes as first set, and refuses a value another resource of the
//! organization holds for an attribute with `uniqueness: server` or `global`.

use diesel::prelude::*;
use serde_json::Value;

use super::{Caller, Conn, StoreError, StoreResult};
use crate::domain::ext::{self, Extensions};
use crate::scim::schema::{AttrType, Kind, Mutability, Uniqueness};
use crate::store::schema::{group_values, user_values};

/// Apply the rules to `new` (over `old`, the stored values, for a change) of resource `id`
/// (`None`: a new one) of kind `kind`.
pub fn apply(
    conn: &mut Conn,
    caller: &Caller<'_>,
    kind: Kind,
    id: Option<i64>,
    new: &mut Extensions,
    old: Option<&Extensions>,
) -> StoreResult<()> {
    let reg = caller.schemas(conn)?;
    let rt = match kind {
        Kind::User => reg.user(),
        Kind::Group => reg.group(),
    };
    let had = old.is_some_and(|o| !o.is_empty());
    if new.is_empty() && !had && !rt.stored_extensions().any(|e| e.required) {
        return Ok(());
    }
    *new = crate::scim::normalize::extensions(new, rt, old)
        .map_err(|e| StoreError::Invalid(e.detail))?;
    // Unregistered extensions this write keeps (new, or changed), for /metrics.
    let kept = new
        .iter()
        .filter(|(urn, v)| rt.extension(urn).is_none() && old.and_then(|o| o.get(*urn)) != Some(*v))
        .count();
    if kept > 0 {
        conn.schema_cache().count_unknown_kept(kept as u64);
    }
    if let Some((path, bytes)) = ext::too_long(new) {
        return Err(StoreError::Invalid(format!(
            "{path} holds {bytes} bytes; a value holds at most {}",
            ext::MAX_VALUE_BYTES
        )));
    }
    for e in rt.stored_extensions() {
        for attr in &e.schema.attributes {
            let get = |x: &Extensions| x.get(e.urn()).and_then(|o| o.get(&attr.name)).cloned();
            let now = get(new);
            if attr.mutability == Mutability::Immutable {
                if let Some(before) = old.and_then(get) {
                    if !same(attr, now.as_ref(), &before) {
                        return Err(StoreError::Invalid(format!(
                            "{}:{} is immutable: it keeps the value it was first given",
                            e.urn(),
                            attr.name
                        )));
                    }
                }
            }
            if attr.uniqueness == Uniqueness::None || attr.multi_valued {
                continue;
            }
            let Some(v) = now else { continue };
            if old.and_then(get).as_ref() == Some(&v) {
                continue; // unchanged: a duplicate from before is not this write's
            }
            let scalar = match &v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            let path = format!("{}:{}", e.urn(), attr.name);
            let ci = attr.ty == AttrType::String && !attr.case_exact;
            if taken(conn, caller, kind, id, &path, &scalar, ci)? {
                return Err(StoreError::Conflict(format!(
                    "{path} {scalar:?} is already another {}'s",
                    kind.as_str().to_lowercase()
                )));
            }
        }
    }
    Ok(())
}

/// The values of `ext` that must be unique in the organization (`uniqueness: server` or
/// `global`), as (path, comparison key): two writes of one batch may not share one.
pub fn unique_keys(
    conn: &mut Conn,
    caller: &Caller<'_>,
    kind: Kind,
    ext: &Extensions,
) -> StoreResult<Vec<(String, String)>> {
    if ext.is_empty() {
        return Ok(vec![]);
    }
    let reg = caller.schemas(conn)?;
    let rt = match kind {
        Kind::User => reg.user(),
        Kind::Group => reg.group(),
    };
    let mut out = Vec::new();
    for e in rt.stored_extensions() {
        for attr in &e.schema.attributes {
            if attr.uniqueness == Uniqueness::None || attr.multi_valued {
                continue;
            }
            let Some(v) = ext.get(e.urn()).and_then(|o| o.get(&attr.name)) else {
                continue;
            };
            let key = match v {
                Value::String(s) if attr.ty == AttrType::String && !attr.case_exact => {
                    s.to_lowercase()
                }
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push((format!("{}:{}", e.urn(), attr.name), key));
        }
    }
    Ok(out)
}

/// Is `now` the value `before` was (a dateTime the same instant, however written)?
fn same(attr: &crate::scim::schema::Attribute, now: Option<&Value>, before: &Value) -> bool {
    let Some(now) = now else { return false };
    if attr.ty == AttrType::DateTime {
        let instant = |v: &Value| v.as_str().and_then(crate::scim::filter::parse_instant);
        if let (Some(a), Some(b)) = (instant(now), instant(before)) {
            return a == b;
        }
    }
    now == before
}

/// Does another resource of the caller's organization hold `value` at `path`? One indexed
/// lookup (`*_values_lookup` or `*_values_exact`).
fn taken(
    conn: &mut Conn,
    caller: &Caller<'_>,
    kind: Kind,
    id: Option<i64>,
    path: &str,
    value: &str,
    ci: bool,
) -> StoreResult<bool> {
    let org = caller.org().as_str();
    let except = id.unwrap_or(0);
    let lower = value.to_lowercase();
    let n: i64 = match kind {
        Kind::User => {
            let mut q = user_values::table
                .filter(user_values::org_id.eq(org))
                .filter(user_values::attribute.eq(path))
                .filter(user_values::user_id.ne(except))
                .count()
                .into_boxed();
            q = if ci {
                q.filter(user_values::value_lower.eq(lower))
            } else {
                q.filter(user_values::value.eq(value))
            };
            q.get_result(conn.db())?
        }
        Kind::Group => {
            let mut q = group_values::table
                .filter(group_values::org_id.eq(org))
                .filter(group_values::attribute.eq(path))
                .filter(group_values::group_id.ne(except))
                .count()
                .into_boxed();
            q = if ci {
                q.filter(group_values::value_lower.eq(lower))
            } else {
                q.filter(group_values::value.eq(value))
            };
            q.get_result(conn.db())?
        }
    };
    Ok(n > 0)
}
