//! Registered SCIM extension schemas (`scim_schemas`) and each organization's registry, cached
//! per store by the organization's `schemas_version`. The version is read with the credential
//! (`credentials::find_token` and friends), so a request with a warm cache runs no statement
//! for its schemas, and a registration made through any instance is seen by every instance
//! on its next request: registering bumps the version in the same transaction.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use parking_lot::RwLock;

use super::schema::{group_values, organizations, scim_schemas, user_values};
use super::{new_id, now, DbConn, StoreError, StoreResult};
use crate::domain::OrgId;
use crate::scim::schema::{Kind, Registration, Registry, Schema, Unknown};

/// What every organization's registry starts from: the schema files the server was started
/// with, and what unregistered extensions do.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub files: Vec<Registration>,
    pub unknown: Unknown,
}

/// Registries by organization, each with the `schemas_version` it was built at.
#[derive(Default)]
pub struct SchemaCache {
    settings: RwLock<Settings>,
    by_org: RwLock<HashMap<String, (i64, Arc<Registry>)>>,
    /// Extensions nobody registered that writes kept (`muster_scim_unknown_extensions_total`).
    unknown_kept: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for SchemaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaCache")
            .field("organizations", &self.by_org.read().len())
            .finish()
    }
}

impl SchemaCache {
    pub fn configure(&self, settings: Settings) {
        *self.settings.write() = settings;
        self.by_org.write().clear();
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().clone()
    }

    /// `n` more unregistered extensions kept by a write.
    pub fn count_unknown_kept(&self, n: u64) {
        self.unknown_kept
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn unknown_kept(&self) -> u64 {
        self.unknown_kept.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A registered schema as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    pub id: i64,
    /// `None`: registered for every organization.
    pub org_id: Option<String>,
    pub urn: String,
    pub kind: Kind,
    pub required: bool,
    pub document: serde_json::Value,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    /// From a file in the schema directory (not in the database).
    pub from_file: bool,
}

/// `org_id` of a schema registered for every organization (no organization id can be it).
pub const EVERY_ORG: &str = "*";

/// A stored registration is the dump format's row (one column list for both).
use super::portable::ScimSchemaRow as Row;

fn registered(r: Row) -> StoreResult<Registered> {
    let urn = r.urn;
    let bad = || StoreError::Conflict(format!("the stored schema {urn} is damaged"));
    Ok(Registered {
        kind: Kind::parse(&r.resource_type).ok_or_else(bad)?,
        document: serde_json::from_str(&r.document).map_err(|_| bad())?,
        id: r.id,
        org_id: (r.org_id != EVERY_ORG).then_some(r.org_id),
        urn,
        required: r.required,
        created_by: r.created_by,
        created_at: r.created_at,
        from_file: false,
    })
}

/// The schemas registered in the database for `org` and for every organization (`org`
/// `None`: all of them), oldest first.
pub fn list(conn: &mut DbConn, org: Option<&OrgId>) -> StoreResult<Vec<Registered>> {
    let mut q = scim_schemas::table.select(Row::as_select()).into_boxed();
    if let Some(org) = org {
        q = q
            .filter(scim_schemas::org_id.eq_any([org.as_str().to_string(), EVERY_ORG.to_string()]));
    }
    q.order((scim_schemas::created_at.asc(), scim_schemas::id.asc()))
        .load::<Row>(conn.db())?
        .into_iter()
        .map(registered)
        .collect()
}

/// The schema files' registrations, listed like the database's.
pub fn files(cache: &SchemaCache) -> Vec<Registered> {
    cache
        .settings
        .read()
        .files
        .iter()
        .map(|r| Registered {
            id: 0,
            org_id: None,
            urn: r.schema.id.clone(),
            kind: r.kind,
            required: r.required,
            document: r.schema.document.clone(),
            created_by: None,
            created_at: NaiveDateTime::default(),
            from_file: true,
        })
        .collect()
}

/// Bump the schema version of `org`, or of every organization.
fn bump(conn: &mut DbConn, org: Option<&OrgId>) -> StoreResult<()> {
    let v = organizations::schemas_version.eq(organizations::schemas_version + 1);
    match org {
        Some(org) => diesel::update(organizations::table.find(org.as_str()))
            .set(v)
            .execute(conn.db())?,
        None => diesel::update(organizations::table)
            .set(v)
            .execute(conn.db())?,
    };
    Ok(())
}

/// Register `schema` for `org` (or every organization). `Conflict` when its URN is already
/// registered where it would apply (for the organization, for every one, or from a file).
pub fn register(
    conn: &mut DbConn,
    cache: &SchemaCache,
    org: Option<&OrgId>,
    schema: &Schema,
    kind: Kind,
    required: bool,
    actor: &str,
) -> StoreResult<Registered> {
    let lower = schema.id.to_lowercase();
    if files(cache).iter().any(|f| f.urn.to_lowercase() == lower) {
        return Err(StoreError::Conflict(format!(
            "{} is registered by a schema file for every organization",
            schema.id
        )));
    }
    super::write_tx(conn, |conn| {
        if let Some(org) = org {
            super::orgs::get(conn, org)?;
        }
        let mut q = scim_schemas::table
            .filter(scim_schemas::urn_lower.eq(&lower))
            .select(scim_schemas::org_id)
            .into_boxed();
        if let Some(org) = org {
            q = q.filter(
                scim_schemas::org_id.eq_any([org.as_str().to_string(), EVERY_ORG.to_string()]),
            );
        }
        if let Some(existing) = q.first::<String>(conn.db()).optional()? {
            return Err(StoreError::Conflict(if existing == EVERY_ORG {
                format!("{} is already registered for every organization", schema.id)
            } else {
                format!(
                    "{} is already registered for organization {existing}",
                    schema.id
                )
            }));
        }
        let id = new_id();
        let t = now();
        diesel::insert_into(scim_schemas::table)
            .values((
                scim_schemas::id.eq(id),
                scim_schemas::org_id.eq(org.map_or(EVERY_ORG, |o| o.as_str())),
                scim_schemas::urn.eq(&schema.id),
                scim_schemas::urn_lower.eq(&lower),
                scim_schemas::resource_type.eq(kind.as_str()),
                scim_schemas::required.eq(required),
                scim_schemas::document.eq(schema.document.to_string()),
                scim_schemas::created_by.eq(actor),
                scim_schemas::created_at.eq(t),
            ))
            .execute(conn.db())
            .map_err(|e| {
                StoreError::conflict_as(e, || format!("{} is already registered", schema.id))
            })?;
        bump(conn, org)?;
        Ok(Registered {
            id,
            org_id: org.map(|o| o.as_str().to_string()),
            urn: schema.id.clone(),
            kind,
            required,
            document: schema.document.clone(),
            created_by: Some(actor.to_string()),
            created_at: t,
            from_file: false,
        })
    })
}

/// `LIKE` pattern of every value path of `urn` (`_` and `%` escaped).
fn value_pattern(urn: &str) -> String {
    let mut p = String::with_capacity(urn.len() + 4);
    for c in urn.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push_str(":%");
    p
}

/// Values stored under extension `urn` (of `org`, or of every organization).
pub fn count_values(conn: &mut DbConn, org: Option<&OrgId>, urn: &str) -> StoreResult<i64> {
    let pattern = value_pattern(urn);
    let mut u = user_values::table
        .filter(user_values::attribute.like(&pattern).escape('\\'))
        .count()
        .into_boxed();
    let mut g = group_values::table
        .filter(group_values::attribute.like(&pattern).escape('\\'))
        .count()
        .into_boxed();
    if let Some(org) = org {
        u = u.filter(user_values::org_id.eq(org.as_str().to_string()));
        g = g.filter(group_values::org_id.eq(org.as_str().to_string()));
    }
    let users: i64 = u.get_result(conn.db())?;
    let groups: i64 = g.get_result(conn.db())?;
    Ok(users + groups)
}

/// A new version for every user and group of `org` (all when `None`) holding a value whose
/// path matches `pattern`.
fn bump_holders(conn: &mut DbConn, org: Option<&OrgId>, pattern: &str) -> StoreResult<()> {
    use super::raw::{Bind, Raw};
    use super::schema::{groups, users};
    let t = now();
    let held = |outer: &str, owner: &str, table: &str| {
        let mut r = Raw::sql(format!(
            r#"{outer} IN (SELECT "h"."{owner}" FROM "{table}" "h" WHERE "h"."attribute" LIKE "#
        ))
        .bind(Bind::Text(pattern.to_string()))
        .push(" ESCAPE '\\'");
        if let Some(org) = org {
            r = r
                .push(r#" AND "h"."org_id" = "#)
                .bind(Bind::Text(org.as_str().to_string()));
        }
        r.push(")")
    };
    let u = held(r#""users"."id""#, "user_id", "user_values");
    diesel::update(users::table.filter(u))
        .set((
            users::version.eq(users::version + 1),
            users::updated_at.eq(t),
        ))
        .execute(conn.db())?;
    let g = held(r#""groups"."id""#, "group_id", "group_values");
    diesel::update(groups::table.filter(g))
        .set((
            groups::version.eq(groups::version + 1),
            groups::updated_at.eq(t),
        ))
        .execute(conn.db())?;
    Ok(())
}

/// What removing a schema did.
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    pub schema: Registered,
    /// Values deleted with it.
    pub values: i64,
}

/// Remove the registration of `urn` made for `org` (or for every organization). A schema
/// that holds values is removed only with `force`, and its values with it; otherwise
/// `Refused` says how many it holds.
pub fn remove(
    conn: &mut DbConn,
    org: Option<&OrgId>,
    urn: &str,
    force: bool,
) -> StoreResult<Removed> {
    let lower = urn.to_lowercase();
    super::write_tx(conn, |conn| {
        let mut q = scim_schemas::table
            .filter(scim_schemas::urn_lower.eq(&lower))
            .select(Row::as_select())
            .into_boxed();
        let owner = org.map_or(EVERY_ORG, |o| o.as_str()).to_string();
        q = q.filter(scim_schemas::org_id.eq(owner));
        let found = registered(q.first::<Row>(conn.db())?)?;
        let values = count_values(conn, org, &found.urn)?;
        if values > 0 && !force {
            return Err(StoreError::Conflict(format!(
                "{} holds {values} value{} of users or groups; remove it with force \
                 (?force=true, muster schema remove --force) to delete them too",
                found.urn,
                if values == 1 { "" } else { "s" }
            )));
        }
        if values > 0 {
            let pattern = value_pattern(&found.urn);
            // The resources that lose values change: a new version (and ETag) each.
            bump_holders(conn, org, &pattern)?;
            let mut u = diesel::delete(
                user_values::table.filter(user_values::attribute.like(&pattern).escape('\\')),
            )
            .into_boxed();
            let mut g = diesel::delete(
                group_values::table.filter(group_values::attribute.like(&pattern).escape('\\')),
            )
            .into_boxed();
            if let Some(org) = org {
                u = u.filter(user_values::org_id.eq(org.as_str().to_string()));
                g = g.filter(group_values::org_id.eq(org.as_str().to_string()));
            }
            u.execute(conn.db())?;
            g.execute(conn.db())?;
        }
        diesel::delete(scim_schemas::table.find(found.id)).execute(conn.db())?;
        bump(conn, org)?;
        Ok(Removed {
            schema: found,
            values,
        })
    })
}

/// The registrations that apply to `org`: the files', then the database's.
fn registrations(
    conn: &mut DbConn,
    cache: &SchemaCache,
    org: &OrgId,
) -> StoreResult<Vec<Registration>> {
    let mut out = cache.settings.read().files.clone();
    for r in list(conn, Some(org))? {
        // Validated when registered; a document that no longer parses is left out.
        if let Ok(schema) = Schema::parse(&r.document) {
            out.push(Registration {
                schema: Arc::new(schema),
                kind: r.kind,
                required: r.required,
            });
        }
    }
    Ok(out)
}

/// Organization `org`'s registry. `version` is its `schemas_version` when the caller read it
/// with the credential; otherwise it is read here (one statement).
pub fn registry(
    conn: &mut DbConn,
    org: &OrgId,
    version: Option<i64>,
) -> StoreResult<Arc<Registry>> {
    let cache = conn.schema_cache();
    let version = match version {
        Some(v) => v,
        None => organizations::table
            .find(org.as_str())
            .select(organizations::schemas_version)
            .first::<i64>(conn.db())?,
    };
    if let Some((v, r)) = cache.by_org.read().get(org.as_str()) {
        if *v == version {
            return Ok(r.clone());
        }
    }
    let regs = registrations(conn, &cache, org)?;
    let registry = Arc::new(Registry::build(&regs, cache.settings.read().unknown));
    cache
        .by_org
        .write()
        .insert(org.as_str().to_string(), (version, registry.clone()));
    Ok(registry)
}
