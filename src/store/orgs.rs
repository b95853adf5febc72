//! Organizations: the tenants.

use diesel::prelude::*;

// An organization's full row is the dump format's: one column list for both.
use super::portable::OrganizationRow;
use super::raw::Raw;
use super::schema::organizations;
use super::{now, DbConn, StoreError, StoreResult};
use crate::domain::{Baselines, OrgDetails, OrgId, Organization, Subscription};

pub const DEFAULT_ORG: &str = "default";

/// The columns of an `Organization`.
#[derive(Queryable, Selectable)]
#[diesel(table_name = organizations)]
struct Row {
    id: String,
    name: String,
    parent_id: Option<String>,
    created_at: chrono::NaiveDateTime,
}

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
            .execute(conn.db())
            .map_err(|e| {
                StoreError::conflict_as(e, || format!("organization {id} already exists"))
            })?;
        get(conn, id)
    })
}

/// An organization (`NotFound` when there is none).
pub fn get(conn: &mut DbConn, id: &OrgId) -> StoreResult<Organization> {
    organizations::table
        .filter(organizations::id.eq(id.as_str()))
        .select(Row::as_select())
        .first::<Row>(conn.db())
        .map(Organization::from)
        .map_err(StoreError::from)
}

/// Every organization, in id order.
pub fn list(conn: &mut DbConn) -> StoreResult<Vec<Organization>> {
    listed(conn, None)
}

/// The organization itself and its direct children: what an `orgs:admin` credential may manage.
pub fn manageable(conn: &mut DbConn, id: &OrgId) -> StoreResult<Vec<Organization>> {
    listed(conn, Some(id))
}

/// Organizations in id order: all, or `of` and its direct children.
fn listed(conn: &mut DbConn, of: Option<&OrgId>) -> StoreResult<Vec<Organization>> {
    let mut q = organizations::table.select(Row::as_select()).into_boxed();
    if let Some(id) = of {
        q = q.filter(
            organizations::id
                .eq(id.as_str().to_string())
                .or(organizations::parent_id.eq(id.as_str().to_string())),
        );
    }
    let rows: Vec<Row> = q.order(organizations::id.asc()).load(conn.db())?;
    Ok(rows.into_iter().map(Organization::from).collect())
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

fn details_of(r: OrganizationRow) -> OrgDetails {
    OrgDetails {
        org: Organization::from(Row {
            id: r.id,
            name: r.name,
            parent_id: r.parent_id,
            created_at: r.created_at,
        }),
        email: r.email,
        first_name: r.first_name,
        last_name: r.last_name,
        deployment_id: r.deployment_id,
        status: r.status,
        version: r.version,
        updated_at: r.updated_at,
        subscription: Subscription {
            plan_name: r.plan_name,
            status: r.subscription_status,
            start: r.subscription_start,
            end: r.subscription_end,
            credits: r.credits,
            deployment_charge_credits: r.deployment_charge_credits,
            allocated_credits: r.allocated_credits,
            baselines: Baselines {
                continuous_ingest: r.baseline_continuous_ingest,
                frequent_ingest: r.baseline_frequent_ingest,
                infrequent_ingest: r.baseline_infrequent_ingest,
                tracing_ingest: r.baseline_tracing_ingest,
                cse_ingest: r.baseline_cse_ingest,
                metrics: r.baseline_metrics,
                cse_activation: r.baseline_cse_activation,
            },
        },
    }
}

/// An organization with its contact, status and subscription.
pub fn details(conn: &mut DbConn, id: &OrgId) -> StoreResult<OrgDetails> {
    let row = organizations::table
        .filter(organizations::id.eq(id.as_str()))
        .select(OrganizationRow::as_select())
        .first(conn.db())?;
    Ok(details_of(row))
}

/// The children of `parent` with one of `statuses`, in id order after `after`: a page.
pub fn children(
    conn: &mut DbConn,
    parent: &OrgId,
    statuses: &[&str],
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<OrgDetails>> {
    let mut q = organizations::table
        .filter(organizations::parent_id.eq(parent.as_str().to_string()))
        // One bound list, so any number of statuses is one cacheable statement.
        .filter(Raw::sql(r#""organizations"."status""#).in_texts(statuses))
        .select(OrganizationRow::as_select())
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(organizations::id.gt(a.to_string()));
    }
    Ok(q.order(organizations::id.asc())
        .limit(limit)
        .load::<OrganizationRow>(conn.db())?
        .into_iter()
        .map(details_of)
        .collect())
}

/// The details of those of `ids` that are children of `parent` (any status), in id order.
pub fn children_by_id(
    conn: &mut DbConn,
    parent: &OrgId,
    ids: &[String],
) -> StoreResult<Vec<OrgDetails>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(organizations::table
        .filter(organizations::parent_id.eq(parent.as_str().to_string()))
        .filter(organizations::id.eq_any(ids.to_vec()))
        .select(OrganizationRow::as_select())
        .order(organizations::id.asc())
        .load::<OrganizationRow>(conn.db())?
        .into_iter()
        .map(details_of)
        .collect())
}

macro_rules! subscription_columns {
    ($s:expr) => {
        (
            organizations::plan_name.eq(&$s.plan_name),
            organizations::subscription_status.eq(&$s.status),
            organizations::subscription_start.eq(&$s.start),
            organizations::subscription_end.eq(&$s.end),
            organizations::credits.eq($s.credits),
            organizations::deployment_charge_credits.eq($s.deployment_charge_credits),
            organizations::allocated_credits.eq($s.allocated_credits),
            organizations::baseline_continuous_ingest.eq($s.baselines.continuous_ingest),
            organizations::baseline_frequent_ingest.eq($s.baselines.frequent_ingest),
            organizations::baseline_infrequent_ingest.eq($s.baselines.infrequent_ingest),
            organizations::baseline_tracing_ingest.eq($s.baselines.tracing_ingest),
            organizations::baseline_cse_ingest.eq($s.baselines.cse_ingest),
            organizations::baseline_metrics.eq($s.baselines.metrics),
            organizations::baseline_cse_activation.eq($s.baselines.cse_activation),
        )
    };
}

/// What a new child organization is made with.
pub struct NewChild<'a> {
    pub id: &'a OrgId,
    pub parent: &'a OrgId,
    pub name: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: Option<&'a str>,
    pub deployment_id: &'a str,
    pub subscription: &'a Subscription,
}

/// Create a child organization with its subscription. Call inside a write transaction.
pub fn create_child(conn: &mut DbConn, c: NewChild<'_>) -> StoreResult<OrgDetails> {
    get(conn, c.parent)?;
    let t = now();
    let s = c.subscription;
    diesel::insert_into(organizations::table)
        .values((
            (
                organizations::id.eq(c.id.as_str()),
                organizations::name.eq(c.name),
                organizations::parent_id.eq(c.parent.as_str()),
                organizations::email.eq(c.email),
                organizations::first_name.eq(c.first_name),
                organizations::last_name.eq(c.last_name),
                organizations::deployment_id.eq(c.deployment_id),
                organizations::status.eq("Active"),
                organizations::version.eq(1i64),
                organizations::created_at.eq(t),
                organizations::updated_at.eq(t),
            ),
            subscription_columns!(s),
        ))
        .execute(conn.db())
        .map_err(|e| {
            StoreError::conflict_as(e, || format!("organization {} already exists", c.id))
        })?;
    details(conn, c.id)
}

/// Write an organization's status and subscription over `current` (version bumped,
/// compared-and-set: a concurrent change is `VersionMismatch`). Call inside a write
/// transaction.
pub fn write_state(
    conn: &mut DbConn,
    current: &OrgDetails,
    status: &str,
    s: &Subscription,
) -> StoreResult<OrgDetails> {
    let n = diesel::update(
        organizations::table
            .filter(organizations::id.eq(current.org.id.as_str()))
            .filter(organizations::version.eq(current.version)),
    )
    .set((
        (
            organizations::status.eq(status),
            organizations::version.eq(current.version + 1),
            organizations::updated_at.eq(now()),
        ),
        subscription_columns!(s),
    ))
    .execute(conn.db())?;
    if n == 0 {
        return Err(StoreError::VersionMismatch);
    }
    details(conn, &current.org.id)
}
