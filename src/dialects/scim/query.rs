//! Filters identity providers match with, translated to indexed equality lookups: a
//! conjunction of `eq` on `id`, `userName`, `externalId`, `emails.value` (also
//! `emails[type eq "work"].value` and `emails[type eq "x" and value eq "y"]`) for users, and
//! on `id`, `displayName`, `externalId` for groups.

use crate::domain::id_from_hex;
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::schema::USER_SCHEMA;
use crate::scim::{ScimError, ScimResult};
use crate::store::groups::GroupQuery;
use crate::store::users::UserQuery;

fn unsupported(f: &Filter) -> ScimError {
    ScimError::invalid_filter(format!(
        "this filter is not supported yet: {f:?}; use eq (joined by and) on id, userName, externalId, emails.value (users) or id, displayName, externalId (groups)"
    ))
}

fn terms(f: &Filter, out: &mut Vec<Filter>) {
    match f {
        Filter::And(a, b) => {
            terms(a, out);
            terms(b, out);
        }
        other => out.push(other.clone()),
    }
}

fn core_name(p: &AttrPath, core: &str) -> Option<String> {
    match &p.urn {
        Some(u) if !u.eq_ignore_ascii_case(core) => None,
        _ => Some(p.name.to_ascii_lowercase()),
    }
}

fn string(v: &CompValue) -> Option<String> {
    match v {
        CompValue::String(s) => Some(s.clone()),
        CompValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `Ok(None)`: the filter can match nothing (an id that is not one of ours).
pub fn user_query(f: &Filter) -> ScimResult<Option<UserQuery>> {
    let mut q = UserQuery::default();
    let mut ts = Vec::new();
    terms(f, &mut ts);
    for t in &ts {
        match t {
            Filter::Compare(p, CompareOp::Eq, v) => {
                let name = core_name(p, USER_SCHEMA).ok_or_else(|| unsupported(t))?;
                let v = string(v).ok_or_else(|| unsupported(t))?;
                match (
                    name.as_str(),
                    p.sub.as_deref().map(str::to_ascii_lowercase).as_deref(),
                ) {
                    ("id", None) => match id_from_hex(&v) {
                        Some(id) => q.id = Some(id),
                        None => return Ok(None),
                    },
                    ("username", None) => q.user_name_lower = Some(v.to_lowercase()),
                    ("externalid", None) => q.external_id = Some(v),
                    ("emails", None | Some("value")) => q.email = Some((None, v.to_lowercase())),
                    _ => return Err(unsupported(t)),
                }
            }
            Filter::ValuePath(p, inner) if p.name.eq_ignore_ascii_case("emails") => {
                let mut kind = None;
                let mut value = None;
                let mut its = Vec::new();
                terms(inner, &mut its);
                for it in &its {
                    match it {
                        Filter::Compare(sp, CompareOp::Eq, CompValue::String(s))
                            if sp.name.eq_ignore_ascii_case("type") =>
                        {
                            kind = Some(s.clone())
                        }
                        Filter::Compare(sp, CompareOp::Eq, CompValue::String(s))
                            if sp.name.eq_ignore_ascii_case("value") =>
                        {
                            value = Some(s.to_lowercase())
                        }
                        _ => return Err(unsupported(t)),
                    }
                }
                let value = value.ok_or_else(|| unsupported(t))?;
                q.email = Some((kind, value));
            }
            _ => return Err(unsupported(t)),
        }
    }
    Ok(Some(q))
}

pub fn group_query(f: &Filter) -> ScimResult<Option<GroupQuery>> {
    let mut q = GroupQuery::default();
    let mut ts = Vec::new();
    terms(f, &mut ts);
    for t in &ts {
        let Filter::Compare(p, CompareOp::Eq, v) = t else {
            return Err(unsupported(t));
        };
        let name = core_name(p, crate::scim::schema::GROUP_SCHEMA).ok_or_else(|| unsupported(t))?;
        let v = string(v).ok_or_else(|| unsupported(t))?;
        match name.as_str() {
            "id" => match id_from_hex(&v) {
                Some(id) => q.id = Some(id),
                None => return Ok(None),
            },
            "displayname" => q.display_name_lower = Some(v.to_lowercase()),
            "externalid" => q.external_id = Some(v),
            _ => return Err(unsupported(t)),
        }
    }
    Ok(Some(q))
}
