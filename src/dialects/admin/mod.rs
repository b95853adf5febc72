//! Muster's own admin API (`/admin/v1`): who am I, credentials of my organization, the
//! organizations I manage, and credit usage records for the Sumo Logic organizations API.

pub mod error;
pub mod events;
pub mod schemas;

use chrono::NaiveDate;
use poem::http::StatusCode;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, Tags};

use crate::auth::schemes::BearerOrBasic;
use crate::directory::seam::{Dialect, Failure};
use crate::directory::{orgs, usage, Conn, StoreError};
use crate::domain::{
    Credential, CredentialKind, GroupData, GroupKind, OrgId, Organization, Principal, Scope,
    Scopes, UsageRecord,
};

#[derive(Tags)]
enum Tag {
    /// Muster's own administration API
    Admin,
}

/// An admin API error, rendered as `{code, message}`.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Fields beside `code` and `message`, for a client to act on (the feed's 410).
    extra: serde_json::Map<String, serde_json::Value>,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            code,
            message: message.into(),
            extra: Default::default(),
        }
    }

    /// This error with `fields` beside its `code` and `message`.
    fn with(mut self, fields: serde_json::Value) -> AdminError {
        if let serde_json::Value::Object(m) = fields {
            self.extra.extend(m);
        }
        self
    }
    fn bad(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
    fn not_found(what: &str) -> AdminError {
        AdminError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
}

/// The admin API's words for each failure: `{code, message}`.
impl Dialect for AdminError {
    const NAME: &'static str = "admin";

    fn failure(f: Failure, what: &str) -> AdminError {
        let code = match &f {
            Failure::NotFound | Failure::MalformedId(_) => return AdminError::not_found(what),
            Failure::Taken(field) => {
                let message = format!("{}: {}", field.scim_attribute(), field.taken_message());
                return AdminError::new(f.status(), "conflict", message);
            }
            Failure::Conflict(_) => "conflict",
            Failure::Invalid(_) | Failure::Refused(_) => "invalid_request",
            Failure::VersionMismatch => "version_mismatch",
            Failure::Unauthorized => "unauthorized",
            Failure::Forbidden(_) | Failure::NotAllowed(_) => "forbidden",
            Failure::Throttled(_) => "too_many_requests",
            Failure::Busy => "unavailable",
            Failure::Overloaded => "overloaded",
            Failure::Internal => "internal",
        };
        AdminError::new(f.status(), code, f.to_string())
    }
}

crate::directory::seam::dialect_errors!(AdminError);

impl From<AdminError> for poem::Error {
    fn from(e: AdminError) -> poem::Error {
        poem::Error::from_response(error::error_response_with(
            e.status, e.code, &e.message, e.extra,
        ))
    }
}

type AdminResult<T> = Result<T, AdminError>;

/// Run a handler body whose errors are `AdminError`s.
async fn admin<T>(body: impl std::future::Future<Output = AdminResult<T>>) -> poem::Result<T> {
    body.await.map_err(poem::Error::from)
}

/// A store error in the admin API's words, `NotFound` as `{what} not found`.
fn missing(what: &str) -> impl Fn(StoreError) -> AdminError + '_ {
    move |e| match e {
        StoreError::NotFound => AdminError::not_found(what),
        other => other.into(),
    }
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct WhoAmI {
    organization: String,
    credential: String,
    scopes: Vec<String>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct OrganizationBody {
    id: String,
    name: String,
    #[oai(skip_serializing_if_is_none)]
    parent_id: Option<String>,
    created_at: String,
}

impl From<Organization> for OrganizationBody {
    fn from(o: Organization) -> Self {
        OrganizationBody {
            id: o.id.to_string(),
            name: o.name,
            parent_id: o.parent_id.map(|p| p.to_string()),
            created_at: rfc3339(o.created_at),
        }
    }
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct CredentialBody {
    id: String,
    kind: String,
    label: String,
    scopes: Vec<String>,
    created_at: String,
    #[oai(skip_serializing_if_is_none)]
    last_used_at: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    revoked_at: Option<String>,
    /// After this it answers 401 like a revoked one.
    #[oai(skip_serializing_if_is_none)]
    expires_at: Option<String>,
    /// After a rotation: the secret it had before works until then.
    #[oai(skip_serializing_if_is_none)]
    previous_secret_valid_until: Option<String>,
    /// Shown once, in the response that created (or rotated) the credential.
    #[oai(skip_serializing_if_is_none)]
    secret: Option<String>,
}

impl CredentialBody {
    fn from(c: Credential, secret: Option<String>) -> Self {
        CredentialBody {
            id: c.id,
            kind: c.kind.as_str().into(),
            label: c.label,
            scopes: c.scopes.iter().map(|s| s.as_str().to_string()).collect(),
            created_at: rfc3339(c.created_at),
            last_used_at: c.last_used_at.map(rfc3339),
            revoked_at: c.revoked_at.map(rfc3339),
            expires_at: c.expires_at.map(rfc3339),
            previous_secret_valid_until: c.previous_expires_at.map(rfc3339),
            secret,
        }
    }
}

/// A credential as `GET /admin/v1/credentials` shows it (with its secret when given): the
/// command line prints the same JSON.
pub fn credential_json(c: Credential, secret: Option<String>) -> serde_json::Value {
    poem_openapi::types::ToJSON::to_json(&CredentialBody::from(c, secret)).unwrap_or_default()
}

/// An organization as `GET /admin/v1/organizations` shows it.
pub fn organization_json(o: Organization) -> serde_json::Value {
    poem_openapi::types::ToJSON::to_json(&OrganizationBody::from(o)).unwrap_or_default()
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct NewCredentialBody {
    /// `token` (a bearer secret) or `client` (an OAuth client: id + secret).
    kind: String,
    /// What it is for (required): shown in the console and the activity log.
    #[oai(default)]
    label: String,
    /// Space-separated; at most the caller's own scopes. Defaults to the caller's scopes.
    scopes: Option<String>,
    /// RFC 3339 time after which it answers 401 like a revoked one; none: it never expires.
    expires_at: Option<String>,
}

#[derive(Object, Default)]
#[oai(rename_all = "camelCase")]
struct RotateBody {
    /// How long the old secret keeps working, in seconds (0 to 30 days; default 0: at once).
    #[oai(default)]
    grace_seconds: i64,
}

/// A credential's label as the admin API takes it: required, at most 255 characters,
/// without control characters.
fn label_of(label: &str) -> AdminResult<String> {
    let label = label.trim();
    if label.is_empty() {
        return Err(AdminError::bad(
            "label is required: say what the credential is for",
        ));
    }
    if label.chars().count() > crate::directory::credentials::MAX_LABEL
        || label.chars().any(char::is_control)
    {
        return Err(AdminError::bad(
            "label must be at most 255 characters, without control characters",
        ));
    }
    Ok(label.to_string())
}

/// An expiry as the admin API takes it: RFC 3339, in the future.
fn expiry_of(at: Option<&str>) -> AdminResult<Option<chrono::NaiveDateTime>> {
    let Some(at) = at else { return Ok(None) };
    let t = chrono::DateTime::parse_from_rfc3339(at)
        .map_err(|_| {
            AdminError::bad("expiresAt must be an RFC 3339 time, such as 2027-01-31T00:00:00Z")
        })?
        .naive_utc();
    if t <= chrono::Utc::now().naive_utc() {
        return Err(AdminError::bad("expiresAt must be in the future"));
    }
    Ok(Some(t))
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct UsageBody {
    /// `YYYY-MM-DD`
    date: String,
    product_variable: String,
    credits_used: f64,
    /// `GB` or `DPM`
    unit: String,
}

impl From<UsageRecord> for UsageBody {
    fn from(r: UsageRecord) -> UsageBody {
        UsageBody {
            date: r.date.format("%Y-%m-%d").to_string(),
            product_variable: r.product_variable,
            credits_used: r.credits_used,
            unit: r.unit,
        }
    }
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct Inserted {
    inserted: u64,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct NewGroupBody {
    name: String,
    /// `group` (a plain group: SCIM's, Domo's, Adobe's user groups), `product_profile`
    /// (an Adobe product profile) or `admin_group` (an Adobe admin group).
    #[oai(default)]
    kind: Option<String>,
    description: Option<String>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct GroupBody {
    /// The group's id (16 hex digits, as SCIM shows it).
    id: String,
    name: String,
    kind: String,
    description: Option<String>,
}

#[derive(ApiResponse)]
enum Created<T: poem_openapi::types::ToJSON> {
    #[oai(status = 201)]
    Created(Json<T>),
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct EmailChanged {
    user_id: String,
    email: String,
}

#[derive(ApiResponse)]
enum NoContent {
    #[oai(status = 204)]
    NoContent,
}

/// The versions an `If-Match` header accepts (a list of entity tags such as `W/"3"`, or
/// `*`); a header naming none of ours can never match: 412, as a stale version is.
fn expect_of(header: Option<&str>) -> AdminResult<crate::directory::Expect> {
    use crate::directory::Expect;
    let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(Expect::Any);
    };
    if h.split(',').any(|t| t.trim() == "*") {
        return Ok(Expect::Any);
    }
    let versions: Vec<i64> = h
        .split(',')
        .filter_map(crate::scim::etag::parse_etag)
        .collect();
    if versions.is_empty() {
        return Err(StoreError::VersionMismatch.into());
    }
    Ok(Expect::OneOf(versions))
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The organization a path names, if the caller may manage it (itself or a child); else 404,
/// so other tenants' ids are not even confirmed to exist.
fn manageable_org(conn: &mut Conn, p: &Principal, org: &str) -> AdminResult<OrgId> {
    let org = OrgId::parse(org).map_err(|_| AdminError::not_found("organization"))?;
    let o = match orgs::get(conn, &org) {
        Ok(o) => o,
        Err(StoreError::NotFound) => return Err(AdminError::not_found("organization")),
        Err(e) => return Err(e.into()),
    };
    if o.id == p.org_id || o.parent_id.as_ref() == Some(&p.org_id) {
        Ok(org)
    } else {
        Err(AdminError::not_found("organization"))
    }
}

/// Checked usage records for `org`.
fn usage_records(org: &OrgId, body: &[UsageBody]) -> AdminResult<Vec<UsageRecord>> {
    let mut records = Vec::with_capacity(body.len());
    for (i, r) in body.iter().enumerate() {
        if !r.credits_used.is_finite() || r.credits_used < 0.0 {
            return Err(AdminError::bad(format!(
                "record {i}: creditsUsed must be a non-negative number"
            )));
        }
        if r.product_variable.contains('\0') || r.unit.contains('\0') {
            return Err(AdminError::bad(format!(
                "record {i}: NUL characters are not allowed"
            )));
        }
        if r.product_variable.trim().is_empty() || r.unit.trim().is_empty() {
            return Err(AdminError::bad(format!(
                "record {i}: productVariable and unit are required"
            )));
        }
        records.push(UsageRecord {
            org_id: org.clone(),
            date: parse_date(&r.date, &format!("record {i}: date"))?,
            product_variable: r.product_variable.clone(),
            credits_used: r.credits_used,
            unit: r.unit.clone(),
        });
    }
    Ok(records)
}

fn parse_date(s: &str, what: &str) -> AdminResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| AdminError::bad(format!("{what} must be a date YYYY-MM-DD, got {s:?}")))
}

pub struct AdminApi;

crate::request::routes! {
    #[OpenApi(prefix_path = "/admin/v1", tag = "Tag::Admin")]
    impl AdminApi(auth: BearerOrBasic, state) {
        /// The organization, credential and scopes of the caller.
        #[oai(path = "/whoami", method = "get")]
        async fn whoami() -> poem::Result<Json<WhoAmI>> {
            admin(state.trip(&auth, None).run(|_, p| {
                Ok(Json(WhoAmI {
                    organization: p.org_id.to_string(),
                    credential: p.credential_id.clone(),
                    scopes: p.scopes.iter().map(|s| s.as_str().to_string()).collect(),
                }))
            }))
            .await
        }

        /// The caller's organization and its child organizations.
        #[oai(path = "/organizations", method = "get")]
        async fn organizations() -> poem::Result<Json<Vec<OrganizationBody>>> {
            admin(state.trip(&auth, Scope::OrgsAdmin).run(|conn, p| {
                let orgs = orgs::manageable(conn, &p.org_id)?;
                Ok(Json(orgs.into_iter().map(OrganizationBody::from).collect()))
            }))
            .await
        }

        /// Credentials of the caller's organization (never their secrets).
        #[oai(path = "/credentials", method = "get")]
        async fn list_credentials() -> poem::Result<Json<Vec<CredentialBody>>> {
            admin(state.trip(&auth, Scope::OrgsAdmin).run(|conn, p| {
                let creds = crate::directory::credentials::list(conn, Some(&p.org_id))?;
                let shown = creds.into_iter().map(|c| CredentialBody::from(c, None));
                Ok(Json(shown.collect()))
            }))
            .await
        }

        /// Create a token or client in the caller's organization; the secret is shown once.
        #[oai(path = "/credentials", method = "post")]
        async fn create_credential(
            body: Json<NewCredentialBody>,
        ) -> poem::Result<Created<CredentialBody>> {
            // Judged after the credential (`Trip::judged`): a bad credential is a 401 first.
            let prepared = (|| {
                let kind = CredentialKind::parse(&body.kind)
                    .ok_or_else(|| AdminError::bad("kind must be \"token\" or \"client\""))?;
                let label = label_of(&body.label)?;
                let asked = match &body.scopes {
                    Some(s) => Some(Scopes::parse(s).map_err(AdminError::bad)?),
                    None => None,
                };
                let expires = expiry_of(body.expires_at.as_deref())?;
                Ok((kind, label, asked, expires))
            })();
            let trip = state.trip(&auth, Scope::OrgsAdmin);
            admin(trip.judged(prepared, move |conn, p, (kind, label, asked, expires)| {
                let scopes = asked.unwrap_or_else(|| p.scopes.clone());
                // No escalation: `directory::credentials::mint` refuses (403) a scope
                // the caller lacks, and audits the grant.
                let (cred, secret) =
                    crate::directory::credentials::mint(conn, p, kind, &label, &scopes, expires)?;
                Ok(Created::Created(Json(CredentialBody::from(cred, Some(secret)))))
            }))
            .await
        }

        /// Create a group of a kind in the caller's organization: how Adobe product profiles
        /// (which Adobe's own API cannot create) come to exist. Every kind is a group to SCIM.
        #[oai(path = "/groups", method = "post")]
        async fn create_group(body: Json<NewGroupBody>) -> poem::Result<Created<GroupBody>> {
            admin(state.trip(&auth, Scope::UsersWrite).run(move |conn, p| {
                let name = body.name.trim();
                if name.is_empty() || name.len() > 255 || name.contains('\0') {
                    return Err(AdminError::bad("name must be 1 to 255 characters"));
                }
                let kind = match body.kind.as_deref() {
                    None => GroupKind::Group,
                    Some(k) => GroupKind::parse(k).ok_or_else(|| {
                        AdminError::bad(
                            "kind must be \"group\", \"product_profile\" or \"admin_group\"",
                        )
                    })?,
                };
                let data = GroupData {
                    display_name: name.to_string(),
                    description: body.description.clone(),
                    kind,
                    ..GroupData::default()
                };
                let g = crate::directory::groups::create(conn, p, &data, &[])?;
                Ok(Created::Created(Json(GroupBody {
                    id: crate::domain::id_to_hex(g.id),
                    name: g.data.display_name,
                    kind: g.data.kind.as_str().into(),
                    description: g.data.description,
                })))
            }))
            .await
        }

        /// Give a credential of the caller's organization a new secret (shown once, in this
        /// response); the old one keeps working for `graceSeconds` (0 to 30 days).
        #[oai(path = "/credentials/:id/rotate", method = "post")]
        async fn rotate_credential(
            id: Path<String>,
            body: Json<RotateBody>,
        ) -> poem::Result<Json<CredentialBody>> {
            let grace = body.grace_seconds;
            let prepared = if (0..=crate::directory::credentials::MAX_GRACE.num_seconds())
                .contains(&grace)
            {
                Ok(chrono::Duration::seconds(grace))
            } else {
                Err(AdminError::bad("graceSeconds must be 0 to 2592000 (30 days)"))
            };
            admin(state.trip(&auth, Scope::OrgsAdmin).judged(
                prepared,
                move |conn, p, grace| {
                    let (cred, secret) =
                        crate::directory::credentials::rotate(conn, p, &id.0, grace)
                            .map_err(missing("credential"))?;
                    Ok(Json(CredentialBody::from(cred, Some(secret))))
                },
            ))
            .await
        }

        /// Revoke a credential of the caller's organization.
        #[oai(path = "/credentials/:id", method = "delete")]
        async fn revoke_credential(id: Path<String>) -> poem::Result<NoContent> {
            admin(state.trip(&auth, Scope::OrgsAdmin).run(move |conn, p| {
                crate::directory::credentials::revoke(conn, p, &id.0)
                    .map_err(missing("credential"))?;
                Ok(NoContent::NoContent)
            }))
            .await
        }

        /// Apply a user's pending email change (made by Sumo Logic's
        /// `POST /api/v1/users/{id}/email/requestChange`, valid 7 days): the user's primary email
        /// becomes the requested one. 404 when there is none pending.
        #[oai(path = "/users/:user_id/email-change", method = "post")]
        async fn confirm_email_change(
            user_id: Path<String>,
            /// The user's version this change is made against (`W/"3"`, as SCIM's `meta.version`
            /// shows it): 412 when the user changed since. Absent or `*`: whatever is current.
            #[oai(name = "If-Match")]
            if_match: poem_openapi::param::Header<Option<String>>,
        ) -> poem::Result<Json<EmailChanged>> {
            admin(state.trip(&auth, Scope::UsersWrite).run(move |conn, p| {
                let what = "pending email change";
                let id = AdminError::id(&user_id.0, what)?;
                let expected = expect_of(if_match.0.as_deref())?;
                let u = crate::directory::users::confirm_email_change(conn, p, id, &expected)
                    .map_err(missing(what))?;
                let email = u
                    .data
                    .primary(crate::domain::MultiAttr::Emails)
                    .and_then(|e| e.value.clone())
                    .unwrap_or_default();
                Ok(Json(EmailChanged {
                    user_id: crate::domain::id_to_hex(u.id),
                    email,
                }))
            }))
            .await
        }

        /// Load credit usage records for the caller's organization or one of its children.
        #[oai(path = "/organizations/:org_id/credit-usage", method = "post")]
        async fn load_usage(
            org_id: Path<String>,
            body: Json<Vec<UsageBody>>,
        ) -> poem::Result<Created<Inserted>> {
            admin(state.trip(&auth, Scope::OrgsAdmin).run(move |conn, p| {
                let org = manageable_org(conn, p, &org_id.0)?;
                let records = usage_records(&org, &body.0)?;
                let n = usage::insert(conn, &records)?;
                Ok(Created::Created(Json(Inserted { inserted: n as u64 })))
            }))
            .await
        }

        /// Credit usage records of the caller's organization or one of its children.
        #[oai(path = "/organizations/:org_id/credit-usage", method = "get")]
        async fn list_usage(
            org_id: Path<String>,
            from: Query<Option<String>>,
            to: Query<Option<String>>,
        ) -> poem::Result<Json<Vec<UsageBody>>> {
            admin(state.trip(&auth, Scope::OrgsAdmin).run(move |conn, p| {
                let org = manageable_org(conn, p, &org_id.0)?;
                let date = |s: &Option<String>, name| s.as_deref().map(|s| parse_date(s, name));
                let from = date(&from.0, "from").transpose()?;
                let to = date(&to.0, "to").transpose()?;
                let records = usage::list(conn, &org, from, to)?;
                Ok(Json(records.into_iter().map(UsageBody::from).collect()))
            }))
            .await
        }
    }
}
