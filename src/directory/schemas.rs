//! Custom SCIM schema extensions of an organization: register (validated, RFC 7643 §7), list,
//! get, remove. An organization sees its own and those registered for every organization
//! (the schema files, `muster schema add` without `--org`); through the admin API it
//! manages only its own.

use serde_json::{json, Value};

use super::{audit, Caller, Conn, StoreError, StoreResult, Subject};
use crate::domain::OrgId;
use crate::scim::schema::{Kind, Schema};
pub use crate::store::schemas::{Registered, Removed};
use crate::store::{self};

/// What a registration asks for: the schema document, and optionally which resource type it
/// extends (else the URN's last segment says: `…:User` or `…:Group`) and whether every
/// resource must carry it.
pub struct NewSchema {
    pub document: Value,
    pub resource_type: Option<String>,
    pub required: bool,
}

/// Validate a registration: the schema, and the resource type it extends.
pub fn prepare(new: &NewSchema) -> Result<(Schema, Kind), String> {
    let schema = Schema::parse(&new.document)?;
    let kind = match &new.resource_type {
        Some(rt) => {
            Kind::parse(rt).ok_or_else(|| format!("resourceType {rt:?} is not User or Group"))?
        }
        None => Kind::of_urn(&schema.id).ok_or_else(|| {
            format!(
                "say which resource type {} extends: give \"resourceType\": \"User\" or \
                 \"Group\" (or end the URN with :User or :Group)",
                schema.id
            )
        })?,
    };
    Ok((schema, kind))
}

/// Register a schema for the caller's organization.
pub fn register(conn: &mut Conn, caller: &Caller<'_>, new: &NewSchema) -> StoreResult<Registered> {
    let (schema, kind) = prepare(new).map_err(StoreError::Invalid)?;
    let cache = conn.schema_cache();
    let actor = caller.actor();
    store::write_tx(conn, |conn| {
        let r = store::schemas::register(
            conn,
            &cache,
            Some(caller.org()),
            &schema,
            kind,
            new.required,
            &actor,
        )?;
        audit(
            conn,
            caller,
            None,
            "Schema.Create",
            json!({"schema": r.urn, "resourceType": kind.as_str(), "required": r.required}),
            Subject::None,
        )?;
        Ok(r)
    })
}

/// The schemas that apply to `org`: the files', then those registered for every
/// organization or for it.
pub fn list(conn: &mut Conn, org: &OrgId) -> StoreResult<Vec<Registered>> {
    let mut out = store::schemas::files(&conn.schema_cache());
    out.extend(store::schemas::list(conn, Some(org))?);
    Ok(out)
}

/// One schema of `list`, by URN (any case).
pub fn get(conn: &mut Conn, org: &OrgId, urn: &str) -> StoreResult<Registered> {
    list(conn, org)?
        .into_iter()
        .find(|r| r.urn.eq_ignore_ascii_case(urn))
        .ok_or(StoreError::NotFound)
}

/// Remove a schema registered for the caller's organization (with its values when `force`).
pub fn remove(
    conn: &mut Conn,
    caller: &Caller<'_>,
    urn: &str,
    force: bool,
) -> StoreResult<Removed> {
    let here = get(conn, caller.org(), urn)?;
    if here.org_id.is_none() {
        return Err(StoreError::Forbidden(format!(
            "{} is registered for every organization (by the operator): it cannot be removed \
             through one organization",
            here.urn
        )));
    }
    store::write_tx(conn, |conn| {
        let removed = store::schemas::remove(conn, Some(caller.org()), urn, force)?;
        audit(
            conn,
            caller,
            None,
            "Schema.Delete",
            json!({"schema": removed.schema.urn, "valuesDeleted": removed.values}),
            Subject::None,
        )?;
        Ok(removed)
    })
}

/// Organization `org`'s registry (`version`: its `schemas_version` when the caller has it).
pub fn registry(
    conn: &mut Conn,
    org: &OrgId,
    version: Option<i64>,
) -> StoreResult<std::sync::Arc<crate::scim::schema::Registry>> {
    store::schemas::registry(conn, org, version)
}

/// How many values a schema holds in `org`.
pub fn values(conn: &mut Conn, org: &OrgId, urn: &str) -> StoreResult<i64> {
    store::schemas::count_values(conn, Some(org), urn)
}
