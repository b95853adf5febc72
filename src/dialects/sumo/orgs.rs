//! `/api/v1/organizations` and `/api/v1/deployments`: the caller's child organizations
//! (Muster organizations whose parent is the caller's), their subscriptions, access keys and
//! credit usage. Requires `orgs:admin`; any id that is not a linked child of the caller is a
//! 404, so a child never reaches its parent or its siblings.

use std::collections::HashMap;

use chrono::NaiveDate;
use poem_openapi::Object;
use serde_json::{json, Value};

use super::cursor::{self, After, Paging};
use super::error::{SumoError, SumoResult};
use super::model::rfc3339;
use super::users::{email, text};
use crate::directory::orgs::{self as dir, ACTIVE, DELINKED, INACTIVE};
use crate::directory::seam::Dialect;
use crate::directory::{usage, users, Caller, Conn, StoreError};
use crate::domain::{id_to_hex, Baselines, OrgDetails, OrgId, Scopes, Subscription};

/// The deployment ids Sumo's spec allows (`deploymentId` pattern).
pub const DEPLOYMENTS: [&str; 19] = [
    "mb", "stag", "long", "prod", "us2", "dub", "syd", "mum", "fra", "tky", "mon", "fed", "au",
    "ca", "de", "eu", "in", "jp", "us1",
];
/// The public ones, as `GET /v1/deployments` lists them.
const PUBLIC_DEPLOYMENTS: [&str; 9] = ["us1", "us2", "au", "ca", "de", "eu", "fed", "in", "jp"];

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoFeatureActivation")]
pub struct FeatureActivation {
    pub cse: Option<bool>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoBaselines", rename_all = "camelCase")]
pub struct BaselinesBody {
    /// 0 to 1,000,000 (credits).
    pub continuous_ingest: Option<i64>,
    pub frequent_ingest: Option<i64>,
    pub infrequent_ingest: Option<i64>,
    pub tracing_ingest: Option<i64>,
    pub cse_ingest: Option<i64>,
    /// 0 to 5,000,000.
    pub metrics: Option<i64>,
    pub feature_activation: Option<FeatureActivation>,
    /// The subscription's credits; when absent, the sum of the baselines.
    pub total_credits_allocated: Option<i64>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoCreateOrganization", rename_all = "camelCase")]
pub struct CreateOrgBody {
    /// At most 255 characters.
    pub email: String,
    /// 1 to 100 characters of letters, digits, space and `+%-@.,_()`.
    pub organization_name: String,
    pub first_name: String,
    pub last_name: Option<String>,
    /// One of Sumo's deployment ids (`us2`, `eu`, ...).
    pub deployment_id: String,
    /// Days of a trial plan (1 to 60); without it the plan is Enterprise for a year.
    pub trial_plan_period: Option<i64>,
    pub baselines: Option<BaselinesBody>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoAccessKeyRequest", rename_all = "camelCase")]
pub struct AccessKeyBody {
    /// At most 128 characters.
    pub label: String,
    /// Echoed; Muster applies no per-key CORS rule.
    pub cors_headers: Option<Vec<String>>,
    /// Muster scopes (`scim`, `users:read`, `users:write`, `orgs:admin`), at most the
    /// caller's; default `scim users:read users:write` of those the caller holds.
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename = "SumoDelink", rename_all = "camelCase")]
pub struct DelinkBody {
    pub org_ids: Vec<String>,
}

fn org_missing() -> SumoError {
    SumoError::not_found("org_not_found", "The organization does not exist.")
}

fn org_error(e: StoreError) -> SumoError {
    SumoError::about(e, "organization")
}

/// The organization a path names (any id not of the form names none).
pub fn org_id(s: &str) -> SumoResult<OrgId> {
    OrgId::parse(s.trim()).map_err(|_| org_missing())
}

/// The organization a path names and the body, in that order.
pub fn org_and<B>(id: &str, body: SumoResult<B>) -> SumoResult<(OrgId, B)> {
    let id = org_id(id)?;
    Ok((id, body?))
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn date(s: &Option<String>) -> Option<NaiveDate> {
    s.as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

fn bounded(name: &str, v: Option<i64>, max: i64) -> SumoResult<Option<i64>> {
    match v {
        Some(n) if !(0..=max).contains(&n) => Err(SumoError::invalid(
            "invalid_baselines",
            format!("baselines.{name} must be from 0 to {max}, got {n}."),
        )),
        other => Ok(other),
    }
}

/// Checked baselines and the credits they make.
fn baselines(b: &BaselinesBody) -> SumoResult<(Baselines, Option<i64>)> {
    const INGEST: i64 = 1_000_000;
    let out = Baselines {
        continuous_ingest: bounded("continuousIngest", b.continuous_ingest, INGEST)?,
        frequent_ingest: bounded("frequentIngest", b.frequent_ingest, INGEST)?,
        infrequent_ingest: bounded("infrequentIngest", b.infrequent_ingest, INGEST)?,
        tracing_ingest: bounded("tracingIngest", b.tracing_ingest, INGEST)?,
        cse_ingest: bounded("cseIngest", b.cse_ingest, INGEST)?,
        metrics: bounded("metrics", b.metrics, 5_000_000)?,
        cse_activation: b.feature_activation.as_ref().and_then(|f| f.cse),
    };
    let total = bounded("totalCreditsAllocated", b.total_credits_allocated, i64::MAX)?;
    Ok((out, total))
}

fn credits_of(b: &Baselines, total: Option<i64>) -> i64 {
    total.unwrap_or_else(|| {
        [
            b.continuous_ingest,
            b.frequent_ingest,
            b.infrequent_ingest,
            b.tracing_ingest,
            b.cse_ingest,
            b.metrics,
        ]
        .iter()
        .map(|v| v.unwrap_or(0))
        .sum()
    })
}

/// Credits of a paid plan: 40,000 to 1,000,000 (§3.3); a trial may have fewer.
fn check_credits(plan: Option<&str>, credits: i64) -> SumoResult<()> {
    let trial = plan == Some("Trial");
    let ok = if trial {
        (0..=1_000_000).contains(&credits)
    } else {
        (40_000..=1_000_000).contains(&credits)
    };
    if !ok {
        return Err(SumoError::invalid(
            "invalid_baselines",
            format!(
                "The subscription's credits (totalCreditsAllocated, else the sum of the \
                 baselines) must be from {} to 1000000, got {credits}.",
                if trial { 0 } else { 40_000 }
            ),
        ));
    }
    Ok(())
}

fn baselines_json(b: &Baselines, credits: Option<i64>) -> Value {
    json!({
        "continuousIngest": b.continuous_ingest.unwrap_or(0),
        "frequentIngest": b.frequent_ingest.unwrap_or(0),
        "infrequentIngest": b.infrequent_ingest.unwrap_or(0),
        "tracingIngest": b.tracing_ingest.unwrap_or(0),
        "cseIngest": b.cse_ingest.unwrap_or(0),
        "metrics": b.metrics.unwrap_or(0),
        "featureActivation": {"cse": b.cse_activation.unwrap_or(false)},
        "totalCreditsAllocated": credits.unwrap_or(0),
    })
}

/// `ReadOrganizationResponse`.
fn org_json(d: &OrgDetails) -> Value {
    let mut v = org_body(d);
    // Sumo types `lastName` as a string: an organization without one leaves the key out.
    if let Some(last) = &d.last_name {
        v["lastName"] = json!(last);
    }
    v
}

fn org_body(d: &OrgDetails) -> Value {
    let s = &d.subscription;
    let mut plan = json!({"planName": s.plan_name.clone().unwrap_or_else(|| "Enterprise".into())});
    if s.plan_name.as_deref() == Some("Trial") {
        let left = date(&s.end).map_or(0, |e| (e - today()).num_days().clamp(0, 60));
        plan["daysLeft"] = json!(left);
    }
    json!({
        "orgId": d.org.id.as_str(),
        "organizationName": d.org.name,
        "email": d.email.clone().unwrap_or_default(),
        "firstName": d.first_name.clone().unwrap_or_default(),
        "deploymentId": d.deployment_id,
        "subscription": {
            "startDate": s.start,
            "endDate": s.end,
            "status": s.status.clone().unwrap_or_else(|| "Active".into()),
            "plan": plan,
            "credits": s.credits.unwrap_or(0),
            "deploymentChargeCredits": s.deployment_charge_credits.unwrap_or(0),
            "allocatedCredits": s.allocated_credits.unwrap_or(0),
            "baselines": baselines_json(&s.baselines, s.credits),
        },
    })
}

pub struct ListParams {
    pub page: Paging,
    pub status: Option<String>,
}

pub fn list(conn: &mut Conn, p: &Caller<'_>, q: ListParams) -> SumoResult<Value> {
    let limit = q.page.limit()?;
    let status = q.status.as_deref().map(str::trim).unwrap_or("Active");
    let statuses: &[&str] = match status {
        "" | "Active" => &[ACTIVE],
        "Inactive" => &[INACTIVE],
        "All" => &[ACTIVE, INACTIVE],
        other => {
            return Err(SumoError::invalid(
                "invalid_parameter",
                format!("status must be Active, Inactive or All, got {other:?}."),
            ))
        }
    };
    let hash = cursor::query_hash(&["organizations", p.org_id.as_str(), status]);
    let after = q.page.after(conn, &hash)?;
    let mut page = dir::children(
        conn,
        &p.org_id,
        statuses,
        after.as_ref().map(|a| a.key.as_str()),
        limit + 1,
    )?;
    let next = q.page.next(conn, &hash, &mut page, limit, |last| After {
        key: last.org.id.as_str().to_string(),
        id: 0,
    })?;
    Ok(json!({"data": page.iter().map(org_json).collect::<Vec<_>>(), "next": next}))
}

pub fn create(conn: &mut Conn, p: &Caller<'_>, b: CreateOrgBody) -> SumoResult<Value> {
    let name = text("organizationName", &b.organization_name, 1, 100)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " +%-@.,_()".contains(c))
    {
        return Err(SumoError::invalid(
            "invalid_field",
            "organizationName may hold letters, digits, spaces and +%-@.,_() only.",
        ));
    }
    let contact = email(&b.email)?;
    let first = text("firstName", &b.first_name, 1, 128)?;
    let last = b
        .last_name
        .as_deref()
        .map(|l| text("lastName", l, 1, 128))
        .transpose()?;
    let dep = b.deployment_id.trim().to_ascii_lowercase();
    if !DEPLOYMENTS.contains(&dep.as_str()) {
        return Err(SumoError::invalid(
            "invalid_field",
            format!("deploymentId must be one of {}.", DEPLOYMENTS.join(", ")),
        ));
    }
    let trial = match b.trial_plan_period {
        None => None,
        Some(d) if (1..=60).contains(&d) => Some(d),
        Some(d) => {
            return Err(SumoError::invalid(
                "invalid_field",
                format!("trialPlanPeriod must be from 1 to 60 days, got {d}."),
            ))
        }
    };
    let (base, total) = match &b.baselines {
        Some(bl) => baselines(bl)?,
        None => (Baselines::default(), None),
    };
    let plan = if trial.is_some() {
        "Trial"
    } else {
        "Enterprise"
    };
    let credits = credits_of(&base, total);
    check_credits(Some(plan), credits)?;
    let start = today();
    let end = start + chrono::Duration::days(trial.unwrap_or(365));
    let sub = Subscription {
        plan_name: Some(plan.into()),
        status: Some("Active".into()),
        start: Some(start.format("%Y-%m-%d").to_string()),
        end: Some(end.format("%Y-%m-%d").to_string()),
        credits: Some(credits),
        deployment_charge_credits: Some(0),
        allocated_credits: Some(credits),
        baselines: base,
    };
    let id = OrgId::parse(&format!("{dep}-{}", id_to_hex(dir::new_id())))
        .map_err(|e| SumoError::invalid("invalid_field", e))?;
    let d = dir::create_child(
        conn,
        p,
        &dir::NewChild {
            id,
            name,
            email: contact,
            first_name: first,
            last_name: last,
            deployment_id: dep,
            subscription: sub,
        },
    )
    .map_err(org_error)?;
    Ok(org_json(&d))
}

pub fn get(conn: &mut Conn, p: &Caller<'_>, id: OrgId) -> SumoResult<Value> {
    let d = dir::child(conn, &p.org_id, &id).map_err(org_error)?;
    Ok(org_json(&d))
}

pub fn update(
    conn: &mut Conn,
    p: &Caller<'_>,
    (id, body): (OrgId, BaselinesBody),
) -> SumoResult<Value> {
    let (base, total) = baselines(&body)?;
    let credits = credits_of(&base, total);
    let current = dir::child(conn, &p.org_id, &id).map_err(org_error)?;
    check_credits(current.subscription.plan_name.as_deref(), credits)?;
    let d = dir::update_subscription(conn, p, &id, |s| Subscription {
        credits: Some(credits),
        allocated_credits: Some(credits),
        baselines: base,
        ..s.clone()
    })
    .map_err(org_error)?;
    Ok(org_json(&d))
}

pub fn deactivate(conn: &mut Conn, p: &Caller<'_>, id: OrgId) -> SumoResult<Value> {
    let d = dir::deactivate(conn, p, &id).map_err(org_error)?;
    Ok(org_json(&d))
}

pub fn delink(conn: &mut Conn, p: &Caller<'_>, b: DelinkBody) -> SumoResult<String> {
    if b.org_ids.is_empty() || b.org_ids.len() > 1000 {
        return Err(SumoError::invalid(
            "invalid_field",
            "orgIds must list 1 to 1000 organizations.",
        ));
    }
    let ids = b
        .org_ids
        .iter()
        .map(|s| org_id(s))
        .collect::<SumoResult<Vec<_>>>()?;
    let n = dir::delink(conn, p, &ids).map_err(org_error)?;
    Ok(format!("{n} organization(s) delinked."))
}

pub fn access_key(
    conn: &mut Conn,
    p: &Caller<'_>,
    (id, b): (OrgId, AccessKeyBody),
) -> SumoResult<Value> {
    let label = text("label", &b.label, 1, 128)?;
    let scopes = match &b.scopes {
        Some(s) if !s.is_empty() => {
            Scopes::parse(&s.join(" ")).map_err(|e| SumoError::invalid("invalid_scope", e))?
        }
        _ => {
            let wanted = Scopes::parse("scim users:read users:write").unwrap_or_default();
            wanted.intersect(&p.scopes)
        }
    };
    if scopes.is_empty() {
        return Err(SumoError::invalid(
            "invalid_scope",
            "The key would have no scope the caller holds.",
        ));
    }
    let (cred, key) = dir::mint_child_key(conn, p, &id, &label, &scopes).map_err(|e| match e {
        StoreError::Invalid(m) if m.contains("scopes") => {
            SumoError::new(poem::http::StatusCode::FORBIDDEN, "forbidden", m)
        }
        other => org_error(other),
    })?;
    let scope_names: Vec<&str> = cred.scopes.iter().map(|s| s.as_str()).collect();
    Ok(json!({
        "id": cred.id,
        "label": cred.label,
        "corsHeaders": b.cors_headers.unwrap_or_default(),
        "disabled": false,
        "createdAt": rfc3339(cred.created_at),
        "createdBy": p.credential_id,
        "modifiedAt": rfc3339(cred.created_at),
        "lastUsed": null,
        "scopes": scope_names,
        "effectiveScopes": scope_names,
        "key": key,
    }))
}

/// Credits used per product variable (and unit) of one organization.
type Breakdown = Vec<(String, String, f64)>;

/// The subscription period's usage of each of `orgs`, by organization: records dated within
/// the subscription (all of them when it has no dates).
fn period_usage(conn: &mut Conn, orgs: &[OrgDetails]) -> SumoResult<HashMap<String, Breakdown>> {
    let mut out: HashMap<String, Breakdown> = HashMap::new();
    // One statement per distinct period (children made the same day share one).
    let mut by_period: HashMap<(Option<NaiveDate>, Option<NaiveDate>), Vec<OrgId>> = HashMap::new();
    for o in orgs {
        let s = &o.subscription;
        by_period
            .entry((date(&s.start), date(&s.end)))
            .or_default()
            .push(o.org.id.clone());
    }
    for ((from, to), ids) in by_period {
        for (org, pv, unit, credits) in usage::totals(conn, &ids, from, to)? {
            out.entry(org).or_default().push((pv, unit, credits));
        }
    }
    Ok(out)
}

fn used(b: Option<&Breakdown>) -> f64 {
    b.map_or(0.0, |b| b.iter().map(|r| r.2).sum())
}

fn capacity(d: &OrgDetails) -> f64 {
    d.subscription.credits.unwrap_or(0) as f64
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole * 100.0
    } else {
        0.0
    }
}

fn baseline_of(b: &Baselines, product_variable: &str) -> Option<i64> {
    match product_variable.to_ascii_lowercase().as_str() {
        "continuousingest" | "continuous" => b.continuous_ingest,
        "frequentingest" | "frequent" => b.frequent_ingest,
        "infrequentingest" | "infrequent" => b.infrequent_ingest,
        "tracingingest" | "tracing" => b.tracing_ingest,
        "cseingest" | "cse" => b.cse_ingest,
        "metrics" => b.metrics,
        _ => None,
    }
}

fn active_users(conn: &mut Conn, orgs: &[OrgId]) -> SumoResult<HashMap<String, i64>> {
    Ok(users::active_counts(conn, orgs)?)
}

/// `GET /v1/organizations/usages`: the caller's own usage (`ParentUsage`).
pub fn own_usage(conn: &mut Conn, p: &Caller<'_>) -> SumoResult<Value> {
    let me = dir::details(conn, &p.org_id)?;
    let usage = period_usage(conn, std::slice::from_ref(&me))?;
    let children = dir::children(conn, &p.org_id, &[ACTIVE], None, i64::MAX)?;
    let allocated: i64 = children
        .iter()
        .map(|c| c.subscription.allocated_credits.unwrap_or(0))
        .sum();
    let users = active_users(conn, std::slice::from_ref(&p.org_id))?;
    Ok(json!({
        "totalCapacity": capacity(&me),
        "totalCreditsUsed": used(usage.get(p.org_id.as_str())),
        "creditsAllocated": allocated as f64,
        "activeUsers": users.get(p.org_id.as_str()).copied().unwrap_or(0),
    }))
}

/// `GET /v1/organizations/usages/{orgId}`: a child's (or the caller's own) usage by product
/// variable (`DetailedUsage`).
pub fn detailed_usage(conn: &mut Conn, p: &Caller<'_>, id: OrgId) -> SumoResult<Value> {
    let d = if id == p.org_id {
        dir::details(conn, &id)?
    } else {
        dir::child(conn, &p.org_id, &id).map_err(org_error)?
    };
    let usage = period_usage(conn, std::slice::from_ref(&d))?;
    let b = usage.get(id.as_str());
    let total = used(b);
    let users = active_users(conn, std::slice::from_ref(&id))?;
    let rows: Vec<Value> = b
        .map(|b| {
            b.iter()
                .map(|(pv, unit, credits)| {
                    let base = baseline_of(&d.subscription.baselines, pv).unwrap_or(0);
                    json!({
                        "productVariable": pv,
                        "creditsUsed": credits,
                        "deploymentChargeCredits": 0.0,
                        "creditsDeducted": credits,
                        "utilization": percent(*credits, base as f64),
                        "unit": unit,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({
        "orgId": id.as_str(),
        "totalCapacity": capacity(&d),
        "totalCreditsUsed": total,
        "deploymentChargeCreditsUsed": 0.0,
        "allocatedCreditsUsed": total,
        "usages": rows,
        "activeUsers": users.get(id.as_str()).copied().unwrap_or(0),
    }))
}

/// `POST /v1/organizations/usages`: with a JSON array of child ids, their usage
/// (`BasicUsage`, paged by `limit` and `token` over the array); with an object
/// `{startDate?, endDate?}`, every child's usage in that range (the per-deployment form).
pub fn usages(conn: &mut Conn, p: &Caller<'_>, (body, page): (Value, Paging)) -> SumoResult<Value> {
    match body {
        Value::Array(ids) => children_usage(conn, p, &ids, &page),
        Value::Object(o) => {
            let day = |k: &str| -> SumoResult<Option<NaiveDate>> {
                match o.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map(Some)
                        .map_err(|_| {
                            SumoError::invalid(
                                "invalid_field",
                                format!("{k} must be a date YYYY-MM-DD, got {s:?}."),
                            )
                        }),
                    Some(_) => Err(SumoError::invalid(
                        "invalid_field",
                        format!("{k} must be a date YYYY-MM-DD."),
                    )),
                }
            };
            let to = day("endDate")?.unwrap_or_else(today);
            let from = day("startDate")?.unwrap_or(to - chrono::Duration::days(29));
            if from > to || (to - from).num_days() > 3660 {
                return Err(SumoError::invalid(
                    "invalid_field",
                    "startDate must be on or before endDate, at most ten years apart.",
                ));
            }
            range_report(conn, &p.org_id, from, to)
        }
        _ => Err(SumoError::invalid(
            "invalid_json",
            "The body must be an array of organization ids or {startDate, endDate}.",
        )),
    }
}

/// The usage (`BasicUsage`) of the children a JSON array names, a page of the array at a
/// time.
fn children_usage(
    conn: &mut Conn,
    p: &Caller<'_>,
    ids: &[Value],
    page: &Paging,
) -> SumoResult<Value> {
    let limit = page.limit()?;
    let ids: Vec<String> = ids
        .iter()
        .map(|v| {
            v.as_str().map(str::to_string).ok_or_else(|| {
                SumoError::invalid(
                    "invalid_json",
                    "The body must be an array of organization ids (strings).",
                )
            })
        })
        .collect::<SumoResult<_>>()?;
    if ids.len() > 10_000 {
        return Err(SumoError::invalid(
            "invalid_json",
            "At most 10000 organization ids.",
        ));
    }
    let joined = ids.join("\u{0}");
    let hash = cursor::query_hash(&["usages", p.org_id.as_str(), &joined]);
    let start = page.after(conn, &hash)?.map_or(0, |a| a.id.max(0) as usize);
    let end = (start + limit as usize).min(ids.len());
    let shown: Vec<String> = ids.get(start..end).unwrap_or(&[]).to_vec();
    let found = dir::children_by_id(conn, &p.org_id, &shown)?;
    let by_id: HashMap<&str, &OrgDetails> = found
        .iter()
        .filter(|d| d.status != DELINKED)
        .map(|d| (d.org.id.as_str(), d))
        .collect();
    let mut orgs: Vec<OrgDetails> = Vec::with_capacity(shown.len());
    for id in &shown {
        let d = by_id.get(id.as_str()).ok_or_else(|| {
            SumoError::not_found(
                "org_not_found",
                format!("Organization {id:?} is not a child of the caller."),
            )
        })?;
        orgs.push((*d).clone());
    }
    let usage = period_usage(conn, &orgs)?;
    let org_ids: Vec<OrgId> = orgs.iter().map(|o| o.org.id.clone()).collect();
    let users = active_users(conn, &org_ids)?;
    let data: Vec<Value> = orgs
        .iter()
        .map(|d| {
            let total = used(usage.get(d.org.id.as_str()));
            json!({
                "orgId": d.org.id.as_str(),
                "totalCapacity": capacity(d),
                "totalCreditsUsed": total,
                "deploymentChargeCreditsUsed": 0.0,
                "allocatedCreditsUsed": total,
                "activeUsers": users.get(d.org.id.as_str()).copied().unwrap_or(0),
            })
        })
        .collect();
    let next = if end < ids.len() {
        let at = After {
            key: String::new(),
            id: end as i64,
        };
        Some(page.token_at(conn, &hash, &at)?)
    } else {
        None
    };
    Ok(json!({"data": data, "next": next}))
}

/// Every child's usage from `from` to `to` (inclusive), with the change against the
/// preceding range of equal length and week over week (the range's last 7 days against the
/// 7 before), and a forecast at the range's daily rate to the subscription's end.
fn range_report(
    conn: &mut Conn,
    parent: &OrgId,
    from: NaiveDate,
    to: NaiveDate,
) -> SumoResult<Value> {
    let children = dir::children(conn, parent, &[ACTIVE, INACTIVE, DELINKED], None, i64::MAX)?;
    let ids: Vec<OrgId> = children.iter().map(|c| c.org.id.clone()).collect();
    let days = (to - from).num_days() + 1;
    let prev_from = from - chrono::Duration::days(days);
    let wow_from = (to - chrono::Duration::days(13)).min(prev_from);
    let earliest = prev_from.min(wow_from);
    let daily = usage::daily(conn, &ids, earliest, to)?;
    let users = active_users(conn, &ids)?;
    let sum = |org: &str, a: NaiveDate, b: NaiveDate| -> f64 {
        daily
            .iter()
            .filter(|(o, d, _)| o == org && *d >= a && *d <= b)
            .map(|r| r.2)
            .sum()
    };
    let change = |now: f64, before: f64| -> Value {
        if before > 0.0 {
            json!((now - before) / before * 100.0)
        } else {
            Value::Null
        }
    };
    let data: Vec<Value> = children
        .iter()
        .map(|c| {
            let id = c.org.id.as_str();
            let cap = capacity(c);
            let now = sum(id, from, to);
            let before = sum(id, prev_from, from - chrono::Duration::days(1));
            let week = sum(id, to - chrono::Duration::days(6), to);
            let week_before = sum(
                id,
                to - chrono::Duration::days(13),
                to - chrono::Duration::days(7),
            );
            let remaining =
                date(&c.subscription.end).map_or(0, |e| (e - to).num_days().max(0)) as f64;
            let forecast = now + now / days as f64 * remaining;
            let status = match c.status.as_str() {
                ACTIVE => "Active",
                DELINKED => "Delinked",
                _ => "Deactivated",
            };
            json!({
                "orgId": id,
                "status": status,
                "orgName": c.org.name,
                "allocatedCredits": c.subscription.allocated_credits.unwrap_or(0) as f64,
                "usages": {
                    "totalCreditsUsed": now,
                    "usagePercentage": percent(now, cap),
                    "forecastPercentage": percent(forecast, cap),
                    "usagePercentChangeWoW": change(week, week_before),
                    "usagePercentChange": change(now, before),
                },
                "activeUsers": users.get(id).copied().unwrap_or(0),
            })
        })
        .collect();
    Ok(json!({"data": data}))
}

/// `GET /v1/organizations/allocatedCredits`: credits allocated to active children on paid
/// plans (not Trial or Free).
pub fn allocated_credits(conn: &mut Conn, p: &Caller<'_>) -> SumoResult<Value> {
    let children = dir::children(conn, &p.org_id, &[ACTIVE], None, i64::MAX)?;
    let total: i64 = children
        .iter()
        .filter(|c| !matches!(c.subscription.plan_name.as_deref(), Some("Trial" | "Free")))
        .map(|c| c.subscription.allocated_credits.unwrap_or(0))
        .sum();
    Ok(json!({"creditsAllocated": total as f64}))
}

/// `GET /v1/organizations/parentOrg`.
pub fn parent_org(conn: &mut Conn, p: &Caller<'_>) -> SumoResult<Value> {
    let me = dir::details(conn, &p.org_id)?;
    Ok(json!({
        "isEligibleForTrialOrgs": true,
        "isEligibleForDeploymentCharge": false,
        "deploymentCharges": [],
        "planName": me.subscription.plan_name.unwrap_or_else(|| "Enterprise".into()),
    }))
}

/// `GET /v1/organizations/{orgId}/subdomainLoginUrl`: Muster has no login page; the URL is
/// the server's own with the organization named.
pub fn login_url(
    conn: &mut Conn,
    p: &Caller<'_>,
    (id, base): (OrgId, String),
) -> SumoResult<Value> {
    dir::child(conn, &p.org_id, &id).map_err(org_error)?;
    Ok(json!({"subdomainLoginUrl": format!("{base}?org={id}")}))
}

/// `GET /v1/organizations/provisioning/{orgId}`: whether CSE is on (`featureActivation.cse`).
pub fn provisioning(conn: &mut Conn, p: &Caller<'_>, id: OrgId) -> SumoResult<Value> {
    let d = dir::child(conn, &p.org_id, &id).map_err(org_error)?;
    Ok(json!({"cse": {
        "isProvisioned": d.subscription.baselines.cse_activation.unwrap_or(false),
        "isProvisioningToggleAllowed": d.status == ACTIVE,
    }}))
}

/// `GET /v1/deployments`: every deployment is this server.
pub fn deployments(_: &mut Conn, _: &Caller<'_>, base: String) -> SumoResult<Value> {
    Ok(Value::Array(
        PUBLIC_DEPLOYMENTS
            .iter()
            .map(
                |d| json!({"deploymentId": d, "serviceURL": base, "apiURL": format!("{base}/api")}),
            )
            .collect(),
    ))
}
