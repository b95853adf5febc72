//! Credit usage records (Sumo Logic organizations API): loaded by an operator, aggregated by
//! the usage endpoints.

use diesel::prelude::*;

use super::raw::Raw;
use super::schema::credit_usage;
use super::{new_id, now, DbConn, StoreResult};
use crate::domain::{OrgId, UsageRecord};

/// Insert records in one transaction: all or none (`NotFound` when an organization does
/// not exist).
pub fn insert(conn: &mut DbConn, records: &[UsageRecord]) -> StoreResult<usize> {
    super::write_tx(conn, |conn| {
        let t = now();
        for r in records {
            super::orgs::get(conn, &r.org_id)?;
            diesel::insert_into(credit_usage::table)
                .values((
                    credit_usage::id.eq(new_id()),
                    credit_usage::org_id.eq(r.org_id.as_str()),
                    credit_usage::usage_date.eq(r.date.format("%Y-%m-%d").to_string()),
                    credit_usage::product_variable.eq(&r.product_variable),
                    credit_usage::credits_used.eq(r.credits_used),
                    credit_usage::unit.eq(&r.unit),
                    credit_usage::created_at.eq(t),
                ))
                .execute(conn.db())?;
        }
        Ok(records.len())
    })
}

/// What [`load`] did: records new to the organization, records that replaced its record of
/// the same key with other credits, and records it had already.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub inserted: usize,
    pub replaced: usize,
    pub unchanged: usize,
}

/// Load records as an operator's file states them (`muster usage load`): one record per
/// organization, date, product variable and unit. Lines of the file with the same key are
/// added up; the result replaces the organization's record(s) of that key, so loading the
/// same file twice changes nothing. In one transaction: all or none (`NotFound` when an
/// organization does not exist).
pub fn load(conn: &mut DbConn, records: &[UsageRecord]) -> StoreResult<Loaded> {
    let mut merged: Vec<UsageRecord> = Vec::new();
    for r in records {
        match merged.iter_mut().find(|m| {
            m.org_id == r.org_id
                && m.date == r.date
                && m.product_variable == r.product_variable
                && m.unit == r.unit
        }) {
            Some(m) => m.credits_used += r.credits_used,
            None => merged.push(r.clone()),
        }
    }
    super::write_tx(conn, |conn| {
        let mut done = Loaded::default();
        let mut fresh = Vec::new();
        for r in merged {
            super::orgs::get(conn, &r.org_id)?;
            let key = credit_usage::org_id
                .eq(r.org_id.as_str().to_string())
                .and(credit_usage::usage_date.eq(r.date.format("%Y-%m-%d").to_string()))
                .and(credit_usage::product_variable.eq(r.product_variable.clone()))
                .and(credit_usage::unit.eq(r.unit.clone()));
            let present: Vec<f64> = credit_usage::table
                .filter(key.clone())
                .select(credit_usage::credits_used)
                .load(conn.db())?;
            match present[..] {
                [] => done.inserted += 1,
                [c] if c == r.credits_used => {
                    done.unchanged += 1;
                    continue;
                }
                _ => {
                    diesel::delete(credit_usage::table.filter(key)).execute(conn.db())?;
                    done.replaced += 1;
                }
            }
            fresh.push(r);
        }
        insert(conn, &fresh)?;
        Ok(done)
    })
}

/// Records of one organization, optionally within `[from, to]`, oldest first.
pub fn list(
    conn: &mut DbConn,
    org: &OrgId,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> StoreResult<Vec<UsageRecord>> {
    let mut q = credit_usage::table
        .filter(credit_usage::org_id.eq(org.as_str().to_string()))
        .into_boxed();
    if let Some(from) = from {
        q = q.filter(credit_usage::usage_date.ge(from.format("%Y-%m-%d").to_string()));
    }
    if let Some(to) = to {
        q = q.filter(credit_usage::usage_date.le(to.format("%Y-%m-%d").to_string()));
    }
    let rows: Vec<(String, String, f64, String)> = q
        .select((
            credit_usage::usage_date,
            credit_usage::product_variable,
            credit_usage::credits_used,
            credit_usage::unit,
        ))
        .order((credit_usage::usage_date.asc(), credit_usage::id.asc()))
        .load(conn.db())?;
    Ok(rows
        .into_iter()
        .filter_map(|(date, product_variable, credits_used, unit)| {
            Some(UsageRecord {
                org_id: org.clone(),
                date: chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok()?,
                product_variable,
                credits_used,
                unit,
            })
        })
        .collect())
}

/// Credits used by each of `orgs` within `[from, to]` (either end open), summed per
/// organization, product variable and unit in SQL: `(org, product variable, unit, credits)`.
pub fn totals(
    conn: &mut DbConn,
    orgs: &[OrgId],
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> StoreResult<Vec<(String, String, String, f64)>> {
    if orgs.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<String> = orgs.iter().map(|o| o.as_str().to_string()).collect();
    // Open ends as the widest dates, so the statement is one shape (and not boxed: diesel
    // cannot group a boxed query).
    let from = from.map_or("0000-01-01".to_string(), |d| {
        d.format("%Y-%m-%d").to_string()
    });
    let to = to.map_or("9999-12-31".to_string(), |d| {
        d.format("%Y-%m-%d").to_string()
    });
    let rows: Vec<(String, String, String, Option<f64>)> = credit_usage::table
        // One bound list, so any number of organizations is one cacheable statement.
        .filter(Raw::sql(r#""credit_usage"."org_id""#).in_texts(&ids))
        .filter(credit_usage::usage_date.ge(from))
        .filter(credit_usage::usage_date.le(to))
        .group_by((
            credit_usage::org_id,
            credit_usage::product_variable,
            credit_usage::unit,
        ))
        .select((
            credit_usage::org_id,
            credit_usage::product_variable,
            credit_usage::unit,
            diesel::dsl::sum(credit_usage::credits_used),
        ))
        .order((credit_usage::org_id, credit_usage::product_variable))
        .load(conn.db())?;
    Ok(rows
        .into_iter()
        .map(|(o, p, u, s)| (o, p, u, s.unwrap_or(0.0)))
        .collect())
}

/// Credits used per organization and day within `[from, to]`: `(org, date, credits)`,
/// summed in SQL.
pub fn daily(
    conn: &mut DbConn,
    orgs: &[OrgId],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> StoreResult<Vec<(String, chrono::NaiveDate, f64)>> {
    if orgs.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<String> = orgs.iter().map(|o| o.as_str().to_string()).collect();
    let rows: Vec<(String, String, Option<f64>)> = credit_usage::table
        .filter(Raw::sql(r#""credit_usage"."org_id""#).in_texts(&ids))
        .filter(credit_usage::usage_date.ge(from.format("%Y-%m-%d").to_string()))
        .filter(credit_usage::usage_date.le(to.format("%Y-%m-%d").to_string()))
        .group_by((credit_usage::org_id, credit_usage::usage_date))
        .select((
            credit_usage::org_id,
            credit_usage::usage_date,
            diesel::dsl::sum(credit_usage::credits_used),
        ))
        .load(conn.db())?;
    Ok(rows
        .into_iter()
        .filter_map(|(o, d, s)| {
            let d = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?;
            Some((o, d, s.unwrap_or(0.0)))
        })
        .collect())
}
