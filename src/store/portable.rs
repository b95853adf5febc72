//! Raw table access for `muster export / import / copy` (`crate::portability`): every exported
//! table as a row struct that reads and writes all of its columns unchanged, read in keyset
//! batches (primary key order, which is byte order on both backends: text keys are
//! `COLLATE "C"` on PostgreSQL) and written with `ON CONFLICT (primary key) DO NOTHING`, so
//! writing a row that is already there changes nothing.
//!
//! `signing_keys` has no row struct here on purpose: its secrets are not hashes, and they
//! belong to a deployment, not to a directory (docs/portability.md).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::schema::*;
use super::{DbConn, StoreResult};

/// `a >= x AND (a > x OR (b >= y AND (b > y OR ...)))`: rows after `last` in key order,
/// written so both databases scan the primary key index from `last` on.
macro_rules! keyset {
    ($t:ident, $last:ident; $a:ident) => {
        $t::$a.gt($last.$a.clone())
    };
    ($t:ident, $last:ident; $a:ident, $b:ident) => {
        $t::$a
            .ge($last.$a.clone())
            .and($t::$a.gt($last.$a.clone()).or($t::$b.gt($last.$b.clone())))
    };
    ($t:ident, $last:ident; $a:ident, $b:ident, $c:ident) => {
        $t::$a.ge($last.$a.clone()).and(
            $t::$a.gt($last.$a.clone()).or($t::$b
                .ge($last.$b.clone())
                .and($t::$b.gt($last.$b.clone()).or($t::$c.gt($last.$c.clone())))),
        )
    };
}

/// One table's row: every column, in schema order.
pub trait TableRow: Sized + Serialize + for<'de> Deserialize<'de> + Send + 'static {
    const TABLE: &'static str;
    /// Columns a row binds when inserted (to size multi-row inserts under the bind limits).
    const COLUMNS: usize;
    /// Up to `limit` rows after `after` in primary key order, of organization `org` if given.
    fn read_after(
        conn: &mut DbConn,
        after: Option<&Self>,
        org: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<Self>>;
    /// Insert the rows whose primary key is not taken; returns how many were inserted.
    fn insert_missing(conn: &mut DbConn, rows: &[Self]) -> StoreResult<usize>;
    /// Rows of the table (of `org` if given).
    fn count(conn: &mut DbConn, org: Option<&str>) -> StoreResult<i64>;
    /// The organization the row belongs to.
    fn org(&self) -> &str;
}

/// Rows per multi-row INSERT: SQLite binds at most 32,766 parameters a statement.
fn rows_per_insert(columns: usize) -> usize {
    (30_000 / columns).clamp(1, 1_000)
}

macro_rules! portable {
    (
        $(#[$meta:meta])*
        $name:ident, $table:ident, org = $org:ident, key = ($($k:ident),+),
        { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, Deserialize)]
        #[diesel(table_name = $table, treat_none_as_default_value = false)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl TableRow for $name {
            const TABLE: &'static str = stringify!($table);
            const COLUMNS: usize = [$(stringify!($field)),*].len();

            fn read_after(
                conn: &mut DbConn,
                after: Option<&Self>,
                org: Option<&str>,
                limit: i64,
            ) -> StoreResult<Vec<Self>> {
                let mut q = $table::table.select($name::as_select()).into_boxed();
                if let Some(org) = org {
                    q = q.filter($table::$org.eq(org.to_string()));
                }
                if let Some(last) = after {
                    q = q.filter(keyset!($table, last; $($k),+));
                }
                $(q = q.then_order_by($table::$k.asc());)+
                Ok(q.limit(limit).load(conn.db())?)
            }

            fn insert_missing(conn: &mut DbConn, rows: &[Self]) -> StoreResult<usize> {
                let mut n = 0;
                for chunk in rows.chunks(rows_per_insert(Self::COLUMNS)) {
                    n += super::on_backend!(&mut *conn, c => diesel::insert_into($table::table)
                        .values(chunk)
                        .on_conflict(($($table::$k),+))
                        .do_nothing()
                        .execute(c))?;
                }
                Ok(n)
            }

            fn count(conn: &mut DbConn, org: Option<&str>) -> StoreResult<i64> {
                let mut q = $table::table.count().into_boxed();
                if let Some(org) = org {
                    q = q.filter($table::$org.eq(org.to_string()));
                }
                Ok(q.get_result(conn.db())?)
            }

            fn org(&self) -> &str {
                &self.$org
            }
        }
    };
}

portable!(OrganizationRow, organizations, org = id, key = (id), {
    id: String,
    name: String,
    parent_id: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    deployment_id: Option<String>,
    status: String,
    plan_name: Option<String>,
    subscription_status: Option<String>,
    subscription_start: Option<String>,
    subscription_end: Option<String>,
    credits: Option<i64>,
    deployment_charge_credits: Option<i64>,
    allocated_credits: Option<i64>,
    baseline_continuous_ingest: Option<i64>,
    baseline_frequent_ingest: Option<i64>,
    baseline_infrequent_ingest: Option<i64>,
    baseline_tracing_ingest: Option<i64>,
    baseline_cse_ingest: Option<i64>,
    baseline_metrics: Option<i64>,
    baseline_cse_activation: Option<bool>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    /// Not in dumps made before extension schemas.
    #[serde(default)]
    schemas_version: i64,
});

portable!(UserRow, users, org = org_id, key = (id), {
    id: i64,
    org_id: String,
    user_name: Option<String>,
    user_name_lower: Option<String>,
    external_id: Option<String>,
    display_name: Option<String>,
    display_name_lower: Option<String>,
    nick_name: Option<String>,
    profile_url: Option<String>,
    title: Option<String>,
    user_type: Option<String>,
    preferred_language: Option<String>,
    locale: Option<String>,
    timezone: Option<String>,
    name_formatted: Option<String>,
    name_family: Option<String>,
    name_given: Option<String>,
    name_middle: Option<String>,
    name_honorific_prefix: Option<String>,
    name_honorific_suffix: Option<String>,
    active: Option<bool>,
    password_hash: Option<String>,
    password_algorithm: Option<String>,
    password_updated_at: Option<NaiveDateTime>,
    employee_number: Option<String>,
    cost_center: Option<String>,
    organization: Option<String>,
    division: Option<String>,
    department: Option<String>,
    manager_id: Option<String>,
    custom_data: String,
    profile_extra: String,
    identity_type: Option<String>,
    domain: Option<String>,
    application_id: Option<String>,
    is_locked: bool,
    mfa_enabled: bool,
    last_sign_in_at: Option<NaiveDateTime>,
    created_by: Option<String>,
    modified_by: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
});

portable!(UserValueRow, user_values, org = org_id, key = (user_id, attribute, position), {
    user_id: i64,
    attribute: String,
    position: i32,
    org_id: String,
    value: Option<String>,
    value_lower: Option<String>,
    display: Option<String>,
    type_: Option<String>,
    is_primary: Option<bool>,
    formatted: Option<String>,
    street_address: Option<String>,
    locality: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    /// Not in dumps made before extension values.
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    value_num: Option<f64>,
});

portable!(GroupValueRow, group_values, org = org_id, key = (group_id, attribute, position), {
    group_id: i64,
    attribute: String,
    position: i32,
    org_id: String,
    value: Option<String>,
    value_lower: Option<String>,
    kind: String,
    value_num: Option<f64>,
});

portable!(
    /// `org_id` is `*` for a schema registered for every organization.
    ScimSchemaRow, scim_schemas, org = org_id, key = (id), {
    id: i64,
    org_id: String,
    urn: String,
    urn_lower: String,
    resource_type: String,
    required: bool,
    document: String,
    created_by: Option<String>,
    created_at: NaiveDateTime,
});

portable!(GroupRow, groups, org = org_id, key = (id), {
    id: i64,
    org_id: String,
    display_name: String,
    display_name_lower: String,
    external_id: Option<String>,
    description: Option<String>,
    group_type: String,
    active: bool,
    is_default: bool,
    created_by: Option<String>,
    modified_by: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    /// Not in dumps made before extension values.
    #[serde(default)]
    has_extensions: bool,
});

portable!(GroupUserRow, group_users, org = org_id, key = (group_id, user_id), {
    group_id: i64,
    user_id: i64,
    org_id: String,
    created_at: NaiveDateTime,
});

portable!(GroupGroupRow, group_groups, org = org_id, key = (group_id, member_group_id), {
    group_id: i64,
    member_group_id: i64,
    org_id: String,
    created_at: NaiveDateTime,
});

portable!(RoleRow, roles, org = org_id, key = (id), {
    id: i64,
    org_id: String,
    name: String,
    name_lower: String,
    description: Option<String>,
    filter_predicate: Option<String>,
    capabilities: String,
    system_defined: bool,
    created_by: Option<String>,
    modified_by: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
});

portable!(UserRoleRow, user_roles, org = org_id, key = (user_id, role_id), {
    user_id: i64,
    role_id: i64,
    org_id: String,
    type_: Option<String>,
    display: Option<String>,
    is_primary: Option<bool>,
    created_at: NaiveDateTime,
});

portable!(IdentityRow, identities, org = org_id, key = (user_id, target), {
    user_id: i64,
    target: String,
    org_id: String,
    external_user_id: String,
    details: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
});

portable!(CredentialRow, credentials, org = org_id, key = (id), {
    id: String,
    org_id: String,
    kind: String,
    label: String,
    secret_hash: String,
    scopes: String,
    user_id: Option<i64>,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
    // (Dumps made before credentials could expire or rotate have none of these.)
    #[serde(default)]
    expires_at: Option<NaiveDateTime>,
    #[serde(default)]
    previous_secret_hash: Option<String>,
    #[serde(default)]
    previous_expires_at: Option<NaiveDateTime>,
});

portable!(AuditEntryRow, audit_entries, org = org_id, key = (id), {
    id: i64,
    org_id: String,
    user_id: Option<i64>,
    key: String,
    result: String,
    actor: String,
    dialect: String,
    payload: String,
    created_at: NaiveDateTime,
});

portable!(CreditUsageRow, credit_usage, org = org_id, key = (id), {
    id: i64,
    org_id: String,
    usage_date: String,
    product_variable: String,
    credits_used: f64,
    unit: String,
    created_at: NaiveDateTime,
});

portable!(UserRequestRow, user_requests, org = org_id, key = (user_id, kind), {
    user_id: i64,
    kind: String,
    org_id: String,
    email: Option<String>,
    created_by: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
});

/// Every organization (few: they are read at once, to order parents before children).
pub fn all_organizations(conn: &mut DbConn) -> StoreResult<Vec<OrganizationRow>> {
    Ok(organizations::table
        .select(OrganizationRow::as_select())
        .order(organizations::id.asc())
        .load(conn.db())?)
}

/// Which of `ids` name an organization of this database.
pub fn existing_organizations(conn: &mut DbConn, ids: &[String]) -> StoreResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(organizations::table
        .select(organizations::id)
        .filter(organizations::id.eq_any(ids.to_vec()))
        .load(conn.db())?)
}

/// Run `f` over one consistent view of the database: a read-only `REPEATABLE READ`
/// transaction on PostgreSQL, a read transaction on SQLite (its snapshot in WAL mode), so an
/// export taken while the server writes is still one moment's directory.
pub fn snapshot<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    E: From<super::StoreError>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    use diesel::connection::{SimpleConnection, TransactionManager};
    type Tm = <super::MultiConn as Connection>::TransactionManager;
    Tm::begin_transaction(conn.db()).map_err(super::StoreError::from)?;
    if let super::MultiConn::Pg(c) = conn.db() {
        if let Err(e) = c.batch_execute(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
             SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0",
        ) {
            let _ = Tm::rollback_transaction(conn.db());
            return Err(super::StoreError::from(e).into());
        }
    }
    let out = f(conn);
    let _ = Tm::rollback_transaction(conn.db());
    out
}
