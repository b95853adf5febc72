//! What every SCIM handler shares: the response type, error mapping, auth, ids, ETags,
//! paging parameters.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::ApiResponse;
use serde_json::{json, Value};

use crate::auth::schemes::BearerOrBasic;
use crate::config::Config;
use crate::directory::seam::{Dialect, Failure};
use crate::directory::{Caller, Expect};
use crate::domain::{Member, MemberKind};
use crate::scim::{ScimError, ScimResult};

pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const MAX_RESULTS: i64 = 1000;
pub const DEFAULT_COUNT: i64 = 100;

/// A SCIM JSON body, serialised straight from the value (poem-openapi's `Json` clones the
/// whole value tree before serialising it: a few percent of a read in the profile). A large
/// group's `members` can ride beside the value instead of inside it ([`ScimJson::with_members`]):
/// they are then rendered a chunk at a time while the response is written, so a group of
/// 100,000 members never exists as one JSON tree or one buffer.
pub struct ScimJson {
    pub value: Value,
    members: Option<StreamedMembers>,
}

impl ScimJson {
    pub fn new(value: Value) -> ScimJson {
        ScimJson {
            value,
            members: None,
        }
    }

    /// `value` (a resource object without `members`) followed by `members`, streamed.
    pub fn with_members(cfg: &Config, value: Value, members: Vec<Member>) -> ScimJson {
        ScimJson {
            value,
            members: Some(StreamedMembers::new(cfg, members)),
        }
    }
}

/// Groups with at least this many members are answered with their members streamed
/// ([`ScimJson::with_members`]); smaller ones are built whole (one buffer, `Content-Length`).
pub const STREAM_MEMBERS_FROM: usize = 1000;

/// How many members each streamed chunk holds (about 100 bytes each).
const MEMBERS_PER_CHUNK: usize = 1024;

/// The members of a group, rendered lazily: `{"value":…,"$ref":…,"display":…,"type":…}` each,
/// the same objects `group_json` builds.
struct StreamedMembers {
    members: Vec<Member>,
    /// `"$ref":"<base>/scim/v2/Users/` already JSON-escaped, without the closing quote.
    user_ref: String,
    group_ref: String,
}

impl StreamedMembers {
    fn new(cfg: &Config, members: Vec<Member>) -> StreamedMembers {
        let prefix = |endpoint: &str| {
            let quoted = Value::String(cfg.url(&format!("/scim/v2/{endpoint}/"))).to_string();
            format!("\"$ref\":{}", &quoted[..quoted.len() - 1])
        };
        StreamedMembers {
            members,
            user_ref: prefix("Users"),
            group_ref: prefix("Groups"),
        }
    }

    fn render(&self, from: usize, out: &mut Vec<u8>) {
        use std::io::Write;
        let end = (from + MEMBERS_PER_CHUNK).min(self.members.len());
        for (i, m) in self.members[from..end].iter().enumerate() {
            let (reference, kind) = match m.kind {
                MemberKind::User => (&self.user_ref, "User"),
                MemberKind::Group => (&self.group_ref, "Group"),
            };
            let hex = crate::domain::id_to_hex(m.id);
            if from + i > 0 {
                out.push(b',');
            }
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{{\"value\":\"{hex}\",{reference}{hex}\",");
            if let Some(d) = &m.display {
                out.extend_from_slice(b"\"display\":");
                let _ = serde_json::to_writer(&mut *out, d);
                out.push(b',');
            }
            let _ = write!(out, "\"type\":\"{kind}\"}}");
        }
    }
}

/// Member ids skipped as unknown by a request's group writes, added to
/// `muster_scim_skipped_members_total` once the request's trip is over (a Bulk attempt that
/// is rolled back starts again from zero).
#[derive(Clone, Default)]
pub struct Tally(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Tally {
    pub fn add(&self, n: usize) {
        self.0
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    }
    pub fn reset(&self) {
        self.0.store(0, std::sync::atomic::Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Passwords hashed ahead of the transaction that stores them (SCIM Bulk hashes every
/// password of the request before its transaction begins, so bcrypt never runs while the
/// transaction holds SQLite's write lock or PostgreSQL's row locks). Each hash is used once:
/// two users given the same password get different salts.
#[derive(Clone, Default)]
pub struct Prehashed(
    std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, Vec<crate::domain::PasswordHash>>>,
    >,
);

impl Prehashed {
    /// Hash each of `plain` (one hash per occurrence) with `cost`. A password that cannot be
    /// hashed (too long, empty) is left for the operation, which answers its error.
    pub fn hash_all(
        conn: &crate::directory::Conn,
        plain: impl IntoIterator<Item = String>,
        cost: u32,
    ) -> Prehashed {
        use crate::directory::{hash_password, NewPassword};
        let mut map: std::collections::HashMap<String, Vec<crate::domain::PasswordHash>> =
            std::collections::HashMap::new();
        for p in plain {
            if let Ok(h) = hash_password(conn, NewPassword::Plain(p.clone()), cost) {
                map.entry(p).or_default().push(h);
            }
        }
        Prehashed(std::sync::Arc::new(std::sync::Mutex::new(map)))
    }

    /// A copy with every hash still there (for another attempt after a rollback).
    pub fn fresh(&self) -> Prehashed {
        let map = self.0.lock().map(|m| m.clone()).unwrap_or_default();
        Prehashed(std::sync::Arc::new(std::sync::Mutex::new(map)))
    }

    /// The password to store for `plain`: its hash made ahead if there is one left, else
    /// `plain` itself (hashed by the directory before its own transaction).
    pub fn take(&self, plain: String) -> crate::directory::NewPassword {
        use crate::directory::NewPassword;
        let hashed = self
            .0
            .lock()
            .ok()
            .and_then(|mut m| m.get_mut(&plain).and_then(Vec::pop));
        match hashed {
            Some(h) => NewPassword::Digest(h),
            None => NewPassword::Plain(plain),
        }
    }
}

/// A request body: the shared deferred extractor ([`crate::http::body`]), so a body that is
/// not JSON, has a member twice, or is of a non-JSON media type gets a SCIM error (after the
/// credential is checked, as every SCIM error is).
pub type ScimBody = crate::http::body::JsonBody<Value, ScimError>;

impl crate::http::body::BodyError for ScimError {
    fn body_fault(fault: crate::http::body::BodyFault<'_>) -> ScimError {
        use crate::http::body::BodyFault;
        match fault {
            BodyFault::Empty => ScimError::invalid_syntax("a JSON body is required"),
            BodyFault::NotJson(e) => {
                ScimError::invalid_syntax(format!("the body is not valid JSON: {e}"))
            }
            BodyFault::WrongType { path, message } => {
                ScimError::invalid_syntax(format!("{path}: {message}"))
            }
            BodyFault::Invalid { message, .. } => ScimError::invalid_syntax(message.to_string()),
        }
    }
}

impl poem_openapi::payload::Payload for ScimJson {
    const CONTENT_TYPE: &'static str = super::error::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Json<Value> as poem_openapi::payload::Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        <Value as poem_openapi::types::Type>::schema_ref()
    }
}

impl poem::IntoResponse for ScimJson {
    fn into_response(self) -> poem::Response {
        let Ok(mut head) = serde_json::to_vec(&self.value) else {
            return poem::Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .finish();
        };
        let builder = poem::Response::builder().content_type(super::error::CONTENT_TYPE);
        let members = match self.members {
            Some(m) if !m.members.is_empty() && head.last() == Some(&b'}') => m,
            _ => return builder.body(head),
        };
        // `{…}` becomes `{…,"members":[` + chunks + `]}`.
        head.pop();
        if head.len() > 1 {
            head.push(b',');
        }
        head.extend_from_slice(b"\"members\":[");
        let total = members.members.len();
        let mut next = 0usize;
        let mut head = Some(head);
        let chunks = std::iter::from_fn(move || {
            if let Some(h) = head.take() {
                return Some(h);
            }
            if next > total {
                return None;
            }
            if next == total {
                next += 1;
                return Some(b"]}".to_vec());
            }
            let mut out = Vec::with_capacity(MEMBERS_PER_CHUNK * 110);
            members.render(next, &mut out);
            next = (next + MEMBERS_PER_CHUNK).min(total);
            Some(out)
        });
        builder.body(poem::Body::from_bytes_stream(futures_util::stream::iter(
            chunks.map(Ok::<_, std::io::Error>),
        )))
    }
}

#[derive(ApiResponse)]
pub enum ScimResponse {
    /// The resource or list.
    #[oai(status = 200, content_type = "application/scim+json")]
    Ok(ScimJson, #[oai(header = "ETag")] Option<String>),
    /// Created; `Location` is the new resource's URL.
    #[oai(status = 201, content_type = "application/scim+json")]
    Created(
        ScimJson,
        #[oai(header = "ETag")] Option<String>,
        #[oai(header = "Location")] String,
    ),
    /// Deleted.
    #[oai(status = 204)]
    NoContent,
    /// `If-None-Match` matched the current version.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
    /// A SCIM error (RFC 7644 §3.12).
    #[oai(content_type = "application/scim+json")]
    Error(StatusCode, ScimJson),
}

impl From<ScimError> for ScimResponse {
    fn from(e: ScimError) -> ScimResponse {
        let mut body = json!({
            "schemas": [super::error::ERROR_SCHEMA],
            "status": e.status.as_u16().to_string(),
            "detail": e.detail,
        });
        if let Some(t) = e.scim_type {
            body["scimType"] = json!(t);
        }
        ScimResponse::Error(e.status, ScimJson::new(body))
    }
}

pub type Outcome = Result<ScimResponse, ScimError>;

pub fn done(o: Outcome) -> ScimResponse {
    o.unwrap_or_else(ScimResponse::from)
}

/// The request's one trip for SCIM (the `scim` scope): `prepared` is what the handler made
/// of the request before it, judged once the credential checks out; every error comes back
/// as a SCIM error response.
pub async fn trip<P, F>(
    state: &crate::request::AppState,
    auth: &BearerOrBasic,
    hashing: bool,
    prepared: ScimResult<P>,
    op: F,
) -> ScimResponse
where
    P: Send + 'static,
    F: FnOnce(&mut crate::directory::Conn, &Caller<'_>, P) -> Outcome + Send + 'static,
{
    scim_trip(
        state
            .trip(auth, crate::domain::Scope::Scim)
            .hashing(hashing),
        prepared,
        op,
    )
    .await
}

/// [`trip`] for a read, `short` when it answers one resource found by an index
/// (`Trip::short_read`).
pub async fn read_trip<P, F>(
    state: &crate::request::AppState,
    auth: &BearerOrBasic,
    short: bool,
    prepared: ScimResult<P>,
    op: F,
) -> ScimResponse
where
    P: Send + 'static,
    F: FnOnce(&mut crate::directory::Conn, &Caller<'_>, P) -> Outcome + Send + 'static,
{
    scim_trip(
        state
            .trip(auth, crate::domain::Scope::Scim)
            .short_read(short),
        prepared,
        op,
    )
    .await
}

async fn scim_trip<P, F>(
    trip: crate::request::Trip<'_, crate::request::ByCredential>,
    prepared: ScimResult<P>,
    op: F,
) -> ScimResponse
where
    P: Send + 'static,
    F: FnOnce(&mut crate::directory::Conn, &Caller<'_>, P) -> Outcome + Send + 'static,
{
    done(trip.judged(prepared, op).await)
}

/// A write to run on a connection as a caller.
pub type WriteOp = Box<dyn FnOnce(&mut crate::directory::Conn, &Caller<'_>) -> Outcome + Send>;

/// A SCIM write prepared from its request: the operation to run on the caller's connection,
/// in the request's own trip (`run`) or as one operation of a Bulk request.
pub struct Prepared {
    pub op: WriteOp,
    /// It sets a password (bcrypt runs in the trip).
    pub hashing: bool,
    /// A user create without a password, which Bulk may write together with others
    /// (`directory::users::create_many`) instead of running `op`.
    pub new_user: Option<NewUser>,
}

/// What a batched user create writes, and how it answers ([`super::users::created`]).
pub struct NewUser {
    pub data: crate::domain::UserData,
    pub proj: crate::scim::projection::Projection,
}

impl Prepared {
    pub fn new<F>(op: F, hashing: bool) -> Prepared
    where
        F: FnOnce(&mut crate::directory::Conn, &Caller<'_>) -> Outcome + Send + 'static,
    {
        Prepared {
            op: Box::new(op),
            hashing,
            new_user: None,
        }
    }
}

/// Run a prepared write in the request's one trip (a refusal while preparing is answered
/// after the credential).
pub async fn run(
    state: &crate::request::AppState,
    auth: &BearerOrBasic,
    p: ScimResult<Prepared>,
) -> ScimResponse {
    let hashing = p.as_ref().is_ok_and(|p| p.hashing);
    trip(state, auth, hashing, p, |conn, caller, p| {
        (p.op)(conn, caller)
    })
    .await
}

/// `run` for a group write: the member ids it skipped as unknown are counted in
/// `muster_scim_skipped_members_total` once its trip is over.
pub async fn run_counted(
    state: &crate::request::AppState,
    auth: &BearerOrBasic,
    prepare: impl FnOnce(&Tally) -> ScimResult<Prepared>,
) -> ScimResponse {
    let tally = Tally::default();
    let r = run(state, auth, prepare(&tally)).await;
    state.metrics.scim_skipped_members(tally.get());
    r
}

/// How the directory deletes a user or a group.
pub type Remove =
    fn(&mut crate::directory::Conn, &Caller<'_>, i64, &Expect) -> crate::directory::StoreResult<()>;

/// The delete of the `what` (`user`, `group`) `id` names, at the version `If-Match` accepts.
pub fn delete(
    id: &str,
    what: &'static str,
    if_match_h: Option<&str>,
    remove: Remove,
) -> ScimResult<Prepared> {
    let id = ScimError::id(id, what)?;
    let expected = if_match(if_match_h)?;
    Ok(Prepared::new(
        move |conn, p| {
            remove(conn, p, id, &expected).map_err(|e| ScimError::about(e, what))?;
            Ok(ScimResponse::NoContent)
        },
        false,
    ))
}

/// SCIM's words for each failure (RFC 7644 §3.12).
impl Dialect for ScimError {
    const NAME: &'static str = "scim";

    fn failure(f: Failure, what: &str) -> ScimError {
        match f {
            Failure::NotFound => ScimError::not_found(format!("{what} not found")),
            Failure::MalformedId(id) => ScimError::not_found(format!("{what} {id:?} not found")),
            Failure::Conflict(m) => ScimError::uniqueness(m),
            Failure::Taken(f) => {
                ScimError::uniqueness(format!("{}: {}", f.scim_attribute(), f.taken_message()))
            }
            Failure::Invalid(m) => ScimError::invalid_value(m),
            Failure::Refused(r) => ScimError::invalid_value(r.to_string()),
            Failure::VersionMismatch => ScimError::precondition_failed(
                "the resource was modified: its version does not match If-Match",
            ),
            other => ScimError::status(other.status(), other.to_string()),
        }
    }
}

crate::directory::seam::dialect_errors!(ScimError);

/// A PUT or PATCH of one resource, as its request carries it.
pub struct Change<'a> {
    /// The id in the path.
    pub id: &'a str,
    pub body: Value,
    /// What the answer shows.
    pub proj: crate::scim::projection::Projection,
    /// The `If-Match` header.
    pub if_match: Option<&'a str>,
}

/// The versions an `If-Match` accepts (RFC 7232 §3.1: a list of tags, or `*`). No header
/// or `*` accepts any; a list none of whose tags is one of ours can never match: 412.
pub fn if_match(header: Option<&str>) -> Result<Expect, ScimError> {
    let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(Expect::Any);
    };
    if h.split(',').any(|t| t.trim() == "*") {
        return Ok(Expect::Any);
    }
    let versions: Vec<i64> = h.split(',').filter_map(parse_etag).collect();
    if versions.is_empty() {
        return Err(ScimError::precondition_failed(format!(
            "If-Match {h:?} does not match the current version"
        )));
    }
    Ok(Expect::OneOf(versions))
}

pub use crate::scim::etag::{none_match, parse_etag};

/// Index paging (RFC 7644 §3.4.2.4): 1-based start, `count` clamped to `[0, MAX_RESULTS]`.
pub fn paging(start_index: Option<&str>, count: Option<&str>) -> Result<(i64, i64), ScimError> {
    let num = |name: &str, v: Option<&str>| -> Result<Option<i64>, ScimError> {
        match v.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                ScimError::invalid_value(format!("{name} must be an integer, got {s:?}"))
            }),
        }
    };
    let start = num("startIndex", start_index)?.unwrap_or(1).max(1);
    let count = num("count", count)?
        .unwrap_or(DEFAULT_COUNT)
        .clamp(0, MAX_RESULTS);
    Ok((start, count))
}

pub fn list_response(resources: Vec<Value>, total: i64, start: i64) -> ScimResponse {
    ScimResponse::Ok(
        ScimJson::new(json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        })),
        None,
    )
}
