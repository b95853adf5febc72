//! Organizations: the tenants.

use diesel::prelude::*;

use super::schema::organizations;
use super::{now, DbConn, StoreError, StoreResult};
use crate::domain::{OrgId, Organization};

pub const DEFAULT_ORG: &str = "default";

#[derive(Queryable)]
struct Row {
    id: String,
    name: String,
    parent_id: Option<String>,
    created_at: chrono::NaiveDateTime,
}

type RowColumns = (
    organizations::id,
    organizations::name,
    organizations::parent_id,
    organizations::created_at,
);
const ROW_COLUMNS: RowColumns = (
    organizations::id,
    organizations::name,
    organizations::parent_id,
    organizations::created_at,
);

impl From<Row> for Organization {
    fn from(r: Row) -> Organization {
        Organization {
            id: OrgId::parse(&r.id).unwrap_or_else(|_| unreachable_slug(&r.id)),
            name: r.name,
            parent_id: r
                .parent_id
                .map(|p| OrgId::parse(&p).unwrap_or_else(|_| unreachable_slug(&p))),
            created_at: r.created_at,
        }
    }
}

/// Ids in the table were validated on the way in; a row that is not a slug was written by
/// hand, and is still shown rather than hidden.
fn unreachable_slug(s: &str) -> OrgId {
    tracing::warn!(
        org = s,
        "organization id in the database is not a valid slug"
    );
    OrgId::parse("invalid").expect("literal slug")
}

/// Create an organization. `Conflict` if the id is taken, `NotFound` if the parent is unknown.
pub fn create(
    conn: &mut DbConn,
    id: &OrgId,
    name: &str,
    parent: Option<&OrgId>,
) -> StoreResult<Organization> {
    super::write_tx(conn, |conn| {
        if let Some(parent) = parent {
            get(conn, parent)?;
        }
        let t = now();
        diesel::insert_into(organizations::table)
            .values((
                organizations::id.eq(id.as_str()),
                organizations::name.eq(name),
                organizations::parent_id.eq(parent.map(|p| p.as_str())),
                organizations::status.eq("Active"),
                organizations::version.eq(1i64),
                organizations::created_at.eq(t),
                organizations::updated_at.eq(t),
            ))
            .execute(conn)
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("organization {id} already exists"))
                }
                other => other,
            })?;
        get(conn, id)
    })
}

pub fn get(conn: &mut DbConn, id: &OrgId) -> StoreResult<Organization> {
    organizations::table
        .filter(organizations::id.eq(id.as_str()))
        .select(ROW_COLUMNS)
        .first::<Row>(conn)
        .map(Organization::from)
        .map_err(StoreError::from)
}

pub fn list(conn: &mut DbConn) -> StoreResult<Vec<Organization>> {
    Ok(organizations::table
        .select(ROW_COLUMNS)
        .order(organizations::id.asc())
        .load::<Row>(conn)?
        .into_iter()
        .map(Organization::from)
        .collect())
}

/// The organization itself and its direct children: what an `orgs:admin` credential may manage.
pub fn manageable(conn: &mut DbConn, id: &OrgId) -> StoreResult<Vec<Organization>> {
    Ok(organizations::table
        .filter(
            organizations::id
                .eq(id.as_str())
                .or(organizations::parent_id.eq(id.as_str())),
        )
        .select(ROW_COLUMNS)
        .order(organizations::id.asc())
        .load::<Row>(conn)?
        .into_iter()
        .map(Organization::from)
        .collect())
}

/// Create the `default` organization if it is missing. Returns true only for the caller whose
/// insert made it, so of several instances starting together exactly one reports it.
pub fn ensure_default(conn: &mut DbConn) -> StoreResult<bool> {
    let id = OrgId::parse(DEFAULT_ORG).expect("literal slug");
    match create(conn, &id, "Default organization", None) {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
