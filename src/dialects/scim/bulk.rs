//! `POST /scim/v2/Bulk` (RFC 7644 §3.7): POST, PUT, PATCH and DELETE of Users and Groups in
//! one request. Every operation runs the same prepared write a single request runs (so the
//! directory layer, its locks and audit entries apply), all in one database trip and one
//! transaction, each operation in a savepoint of its own: a failed operation leaves no trace
//! and the others stand (RFC 7644: a Bulk request is not atomic).
//!
//! `bulkId:<id>` references (in a path, or any string value in `data`, PATCH values included)
//! resolve to the resources POSTed in the same request, in any order: an operation waits
//! until every operation it refers to has run. References that can never resolve — to a
//! bulkId no POST defines, to a POST that failed, or in a cycle — answer 409 for the
//! operations that hold them (the RFC lets a server give up on cycles).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use poem::http::StatusCode;
use serde_json::{json, Map, Value};

use super::common::*;
use super::{groups, users};
use crate::auth::schemes::BearerOrBasic;
use crate::config::Config;
use crate::directory::{self, Caller, Conn, StoreError};
use crate::request::AppState;
use crate::scim::projection::Projection;
use crate::scim::{ScimError, ScimResult};

pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// Operations per request (advertised as `bulk.maxOperations`).
pub const MAX_OPERATIONS: usize = 1000;
/// A Bulk body's limit (advertised as `bulk.maxPayloadSize`), larger than other requests'.
pub const MAX_PAYLOAD_BYTES: usize = 8 * 1024 * 1024;

/// The body limit of `/scim/v2/Bulk` on a server whose other requests take `max_body`.
pub fn payload_limit(max_body: usize) -> usize {
    max_body.max(MAX_PAYLOAD_BYTES)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Users,
    Groups,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Kind::Users => "/Users",
            Kind::Groups => "/Groups",
        }
    }
}

#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
    /// bulkIds this operation refers to.
    refs: Vec<String>,
}

struct Request {
    fail_on_errors: Option<usize>,
    ops: Vec<Operation>,
}

fn bad(detail: impl Into<String>) -> ScimError {
    ScimError::invalid_syntax(detail)
}

/// Every `bulkId:<id>` string in `v`.
fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:") {
                out.push(id.to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn field<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn parse(body: &Value) -> ScimResult<Request> {
    let Value::Object(o) = body else {
        return Err(bad("the BulkRequest must be a JSON object"));
    };
    if let Some(s) = field(o, "schemas") {
        let ok = s
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(BULK_REQUEST)));
        if !ok {
            return Err(bad(format!("schemas must contain {BULK_REQUEST}")));
        }
    }
    let fail_on_errors = match field(o, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n as usize),
            _ => {
                return Err(ScimError::invalid_value(
                    "failOnErrors must be a positive integer",
                ))
            }
        },
    };
    let Some(Value::Array(list)) = field(o, "Operations") else {
        return Err(bad("the BulkRequest needs an Operations array"));
    };
    if list.len() > MAX_OPERATIONS {
        return Err(ScimError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            scim_type: Some("tooMany"),
            detail: format!(
                "the BulkRequest has {} operations; at most {MAX_OPERATIONS} are allowed \
                 (maxOperations)",
                list.len()
            ),
        });
    }
    let mut ops = Vec::with_capacity(list.len());
    let mut seen = HashSet::new();
    for (i, op) in list.iter().enumerate() {
        let Value::Object(op) = op else {
            return Err(bad(format!("Operations[{i}] must be an object")));
        };
        let text = |k: &str| -> ScimResult<Option<String>> {
            match field(op, k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(format!("Operations[{i}].{k} must be a string"))),
            }
        };
        let method = match text("method")?.map(|m| m.to_ascii_uppercase()).as_deref() {
            Some("POST") => Method::Post,
            Some("PUT") => Method::Put,
            Some("PATCH") => Method::Patch,
            Some("DELETE") => Method::Delete,
            Some(other) => {
                return Err(bad(format!(
                    "Operations[{i}].method {other:?} is not POST, PUT, PATCH or DELETE"
                )))
            }
            None => return Err(bad(format!("Operations[{i}] needs a method"))),
        };
        let path = text("path")?.ok_or_else(|| bad(format!("Operations[{i}] needs a path")))?;
        let bulk_id = text("bulkId")?;
        if method == Method::Post {
            match &bulk_id {
                None => return Err(bad(format!("Operations[{i}] is a POST without a bulkId"))),
                Some(b) if b.is_empty() || b.len() > 256 => {
                    return Err(bad(format!(
                        "Operations[{i}].bulkId must be 1 to 256 characters"
                    )))
                }
                Some(b) if !seen.insert(b.clone()) => {
                    return Err(ScimError::invalid_value(format!(
                        "bulkId {b:?} is used by more than one operation"
                    )))
                }
                Some(_) => {}
            }
        }
        let data = match field(op, "data") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.clone()),
        };
        if matches!(method, Method::Post | Method::Put | Method::Patch) && data.is_none() {
            return Err(bad(format!(
                "Operations[{i}] ({}) needs data",
                method.as_str()
            )));
        }
        let mut refs: Vec<String> = path_ref(&path).map(str::to_string).into_iter().collect();
        if let Some(d) = &data {
            collect_refs(d, &mut refs);
        }
        ops.push(Operation {
            method,
            bulk_id,
            version: text("version")?,
            path,
            data,
            refs,
        });
    }
    Ok(Request {
        fail_on_errors,
        ops,
    })
}

/// The bulkId a path names in place of an id (`/Users/bulkId:qwerty`).
fn path_ref(path: &str) -> Option<&str> {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|last| last.strip_prefix("bulkId:"))
}

/// The path with its bulkId replaced by the id it was created with.
fn resolve_path(path: &str, ids: &HashMap<String, String>) -> String {
    match path_ref(path).and_then(|b| ids.get(b).map(|id| (b, id))) {
        Some((b, id)) => path.replacen(&format!("bulkId:{b}"), id, 1),
        None => path.to_string(),
    }
}

/// Replace each `bulkId:<id>` string by the id it was created with.
fn substitute(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:").and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, ids)),
        _ => {}
    }
}

/// `/Users` or `/Users/{id}` (likewise `/Groups`).
fn target(path: &str, method: Method) -> ScimResult<(Kind, Option<String>)> {
    let p = path.trim_end_matches('/');
    for kind in [Kind::Users, Kind::Groups] {
        if let Some(rest) = p.strip_prefix(kind.path()) {
            let id = rest.strip_prefix('/');
            return match (method, id) {
                (Method::Post, None) if rest.is_empty() => Ok((kind, None)),
                (Method::Post, _) => Err(ScimError::invalid_path(format!(
                    "a POST's path is {} (got {path:?})",
                    kind.path()
                ))),
                (_, Some(id)) if !id.is_empty() && !id.contains('/') => {
                    Ok((kind, Some(id.to_string())))
                }
                _ => Err(ScimError::invalid_path(format!(
                    "a {}'s path is {}/{{id}} (got {path:?})",
                    method.as_str(),
                    kind.path()
                ))),
            };
        }
    }
    Err(ScimError::invalid_path(format!(
        "{path:?} is not /Users or /Groups"
    )))
}

/// The prepared write of one operation, its references resolved.
fn prepare(
    cfg: &Arc<Config>,
    tally: &Tally,
    pre: &Prehashed,
    op: &Operation,
    ids: &HashMap<String, String>,
) -> ScimResult<(Kind, Prepared)> {
    let path = resolve_path(&op.path, ids);
    let mut data = op.data.clone();
    if let Some(d) = data.as_mut() {
        substitute(d, ids);
    }
    let (kind, id) = target(&path, op.method)?;
    // Successful operations answer with status, location and version only, so each
    // operation renders no more than its id (a PATCH of a large group reads no members).
    let proj = Projection::parse(&["id"], &[] as &[&str])?;
    let version = op.version.as_deref();
    let data = data.unwrap_or(Value::Null);
    let id = id.unwrap_or_default();
    let change = |body, proj| Change {
        id: &id,
        body,
        proj,
        if_match: version,
    };
    let prepared = match (kind, op.method) {
        (Kind::Users, Method::Post) => users::create(cfg, pre, data, proj),
        (Kind::Users, Method::Put) => users::replace(cfg, pre, change(data, proj)),
        (Kind::Users, Method::Patch) => users::modify(cfg, pre, change(data, proj)),
        (Kind::Users, Method::Delete) => delete(&id, "user", version, directory::users::delete),
        (Kind::Groups, Method::Post) => groups::create(cfg, tally, data, proj),
        (Kind::Groups, Method::Put) => groups::replace(cfg, tally, change(data, proj)),
        (Kind::Groups, Method::Patch) => groups::modify(cfg, tally, change(data, proj)),
        (Kind::Groups, Method::Delete) => delete(&id, "group", version, directory::groups::delete),
    }?;
    Ok((kind, prepared))
}

/// One operation's result in the BulkResponse.
fn result(
    cfg: &Config,
    op: &Operation,
    kind: Kind,
    path_id: Option<String>,
    r: ScimResponse,
) -> (Value, Option<String>, bool) {
    let mut out = json!({"method": op.method.as_str()});
    if let Some(b) = &op.bulk_id {
        out["bulkId"] = json!(b);
    }
    let location_of = |id: &str| cfg.url(&format!("/scim/v2{}/{id}", kind.path()));
    let mut created = None;
    let ok = match r {
        ScimResponse::Created(body, etag, location) => {
            created = body
                .value
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string);
            out["status"] = json!("201");
            out["location"] = json!(location);
            if let Some(e) = etag {
                out["version"] = json!(e);
            }
            true
        }
        ScimResponse::Ok(_, etag) => {
            out["status"] = json!("200");
            if let Some(id) = &path_id {
                out["location"] = json!(location_of(id));
            }
            if let Some(e) = etag {
                out["version"] = json!(e);
            }
            true
        }
        ScimResponse::NoContent => {
            out["status"] = json!("204");
            if let Some(id) = &path_id {
                out["location"] = json!(location_of(id));
            }
            true
        }
        ScimResponse::NotModified(_) => {
            out["status"] = json!("304");
            true
        }
        ScimResponse::Error(status, body) => {
            out["status"] = json!(status.as_u16().to_string());
            out["response"] = body.value;
            false
        }
    };
    (out, created, ok)
}

fn failed(op: &Operation, e: ScimError) -> Value {
    let mut out = json!({"method": op.method.as_str()});
    if let Some(b) = &op.bulk_id {
        out["bulkId"] = json!(b);
    }
    out["status"] = json!(e.status.as_u16().to_string());
    if let ScimResponse::Error(_, body) = ScimResponse::from(e) {
        out["response"] = body.value;
    }
    out
}

/// Rolls an operation's savepoint back while carrying its answer out.
enum Undo {
    Answer(Box<ScimResponse>),
    Store(StoreError),
}

impl From<StoreError> for Undo {
    fn from(e: StoreError) -> Undo {
        Undo::Store(e)
    }
}

/// Why an attempt at the whole request stopped short.
enum Stop {
    /// An operation failed on the path without savepoints: roll everything back and run the
    /// request again with them.
    Again,
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::Store(e)
    }
}

/// Run every operation on `conn` in one transaction. First without savepoints (an identity
/// provider's sync rarely has a failing operation, and on PostgreSQL each savepoint and its
/// release are two more round trips per operation): if every operation succeeds, that is
/// the answer. If one fails, that transaction is rolled back whole and the request runs again
/// with a savepoint per operation, so a failed operation leaves no trace and the others
/// stand. The directory layer's own transactions are flattened into the operation's.
fn execute(
    conn: &mut Conn,
    cfg: &Arc<Config>,
    tally: &Tally,
    c: &Caller<'_>,
    req: Request,
) -> ScimResult<Value> {
    // bcrypt runs here, before the transaction begins, never inside it.
    let plain = req.ops.iter().filter_map(|op| {
        let data = op.data.as_ref().filter(|d| sets_password(d))?;
        match (target(&op.path, op.method).ok()?.0, op.method) {
            (Kind::Users, Method::Post | Method::Put) => users::password_in(data, false),
            (Kind::Users, Method::Patch) => users::password_in(data, true),
            _ => None,
        }
    });
    let pre = Prehashed::hash_all(conn, plain.collect::<Vec<_>>(), cfg.bcrypt_cost);
    let mut attempt = |savepoints: bool| {
        // What a rolled-back attempt skipped is not counted.
        tally.reset();
        // Nor does a rolled-back attempt use up the hashes made ahead: each attempt takes
        // them from a fresh copy.
        let pre = pre.fresh();
        directory::write_tx(conn, |conn| {
            directory::flattened(conn, |conn| {
                run_all(conn, cfg, tally, &pre, c, &req, savepoints)
            })
        })
    };
    let outcome = (|| {
        let results = match attempt(false) {
            Ok(results) => results,
            Err(Stop::Again) => match attempt(true) {
                Ok(results) => results,
                Err(Stop::Store(e)) => return Err(e.into()),
                // With savepoints no operation asks for another attempt.
                Err(Stop::Again) => {
                    return Err(ScimError::status(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the Bulk request could not be completed",
                    ))
                }
            },
            Err(Stop::Store(e)) => return Err(e.into()),
        };
        Ok(results)
    })();
    let results = outcome.inspect_err(|_| tally.reset())?;
    Ok(json!({
        "schemas": [BULK_RESPONSE],
        "Operations": results,
    }))
}

/// The operations in dependency order: an operation runs once everything it refers to has.
/// Without savepoints (the first attempt) any failure asks for the second attempt, and
/// consecutive user creates that refer to nothing are written together
/// (`directory::users::create_many`: a multi-row INSERT instead of statements per user).
#[allow(clippy::too_many_arguments)]
fn run_all(
    conn: &mut Conn,
    cfg: &Arc<Config>,
    tally: &Tally,
    pre: &Prehashed,
    c: &Caller<'_>,
    req: &Request,
    savepoints: bool,
) -> Result<Vec<Value>, Stop> {
    let n = req.ops.len();
    let mut results: Vec<Option<Value>> = vec![None; n];
    let mut ids: HashMap<String, String> = HashMap::new();
    let posted: HashSet<String> = req.ops.iter().filter_map(|o| o.bulk_id.clone()).collect();
    let mut errors = 0usize;
    let mut pending: Vec<usize> = (0..n).collect();
    let mut stopped = false;
    let mut batch: Vec<(usize, NewUser)> = Vec::new();
    // Passes in request order.
    loop {
        let mut progressed = false;
        let mut still = vec![];
        for &i in &pending {
            let op = &req.ops[i];
            if stopped {
                break;
            }
            let unknown = op.refs.iter().find(|r| !posted.contains(*r));
            if let Some(r) = unknown {
                if !savepoints {
                    return Err(Stop::Again);
                }
                results[i] = Some(failed(
                    op,
                    ScimError::status(
                        StatusCode::CONFLICT,
                        format!("bulkId {r:?} is not defined by a POST of this request"),
                    ),
                ));
                errors += 1;
                progressed = true;
            } else if op.refs.iter().all(|r| ids.contains_key(r)) {
                progressed = true;
                let (kind, mut prepared) = match prepare(cfg, tally, pre, op, &ids) {
                    Ok(x) => x,
                    Err(_) if !savepoints => return Err(Stop::Again),
                    Err(e) => {
                        // Refused before it touched the database: nothing to undo.
                        errors += 1;
                        results[i] = Some(failed(op, e));
                        if req.fail_on_errors.is_some_and(|f| errors >= f) {
                            stopped = true;
                        }
                        continue;
                    }
                };
                if !savepoints && op.refs.is_empty() {
                    if let Some(new) = prepared.new_user.take() {
                        batch.push((i, new));
                        continue;
                    }
                }
                write_batch(conn, cfg, c, req, &mut batch, &mut results, &mut ids)?;
                let r = run_one(conn, cfg, c, op, kind, prepared, &mut ids, savepoints)?;
                if r.1 {
                    errors += 1;
                }
                results[i] = Some(r.0);
            } else {
                still.push(i);
                continue;
            }
            if req.fail_on_errors.is_some_and(|f| errors >= f) {
                stopped = true;
            }
        }
        write_batch(conn, cfg, c, req, &mut batch, &mut results, &mut ids)?;
        pending = still;
        if pending.is_empty() || stopped {
            break;
        }
        if !progressed {
            if !savepoints {
                return Err(Stop::Again);
            }
            // What is left waits on a failed POST or on a cycle.
            for &i in &pending {
                let op = &req.ops[i];
                results[i] = Some(failed(
                    op,
                    ScimError::status(
                        StatusCode::CONFLICT,
                        "its bulkId references cannot be resolved: they name a POST that \
                         failed, or form a cycle",
                    ),
                ));
                errors += 1;
                if req.fail_on_errors.is_some_and(|f| errors >= f) {
                    break;
                }
            }
            break;
        }
    }
    Ok(results.into_iter().flatten().collect())
}

/// Write the batched user creates together; any failure (a user name taken) asks for the
/// attempt with savepoints, which writes them one by one.
fn write_batch(
    conn: &mut Conn,
    cfg: &Arc<Config>,
    c: &Caller<'_>,
    req: &Request,
    batch: &mut Vec<(usize, NewUser)>,
    results: &mut [Option<Value>],
    ids: &mut HashMap<String, String>,
) -> Result<(), Stop> {
    if batch.is_empty() {
        return Ok(());
    }
    let all: Vec<&crate::domain::UserData> = batch.iter().map(|(_, n)| &n.data).collect();
    let created = crate::directory::users::create_many(conn, c, &all).map_err(|_| Stop::Again)?;
    let reg = c.schemas(conn).map_err(|_| Stop::Again)?;
    for ((i, new), u) in batch.drain(..).zip(created) {
        let op = &req.ops[i];
        let (out, id, ok) = result(
            cfg,
            op,
            Kind::Users,
            None,
            users::created(cfg, reg.user(), u, &new.proj),
        );
        if !ok {
            return Err(Stop::Again);
        }
        if let (Some(b), Some(id)) = (&op.bulk_id, id) {
            ids.insert(b.clone(), id);
        }
        results[i] = Some(out);
    }
    Ok(())
}

/// Run one prepared operation: in a savepoint of its own, or (first attempt) in the
/// request's transaction, where a failure asks for the attempt with savepoints. Its entry
/// in the response, and whether it failed.
#[allow(clippy::too_many_arguments)]
fn run_one(
    conn: &mut Conn,
    cfg: &Arc<Config>,
    c: &Caller<'_>,
    op: &Operation,
    kind: Kind,
    prepared: Prepared,
    ids: &mut HashMap<String, String>,
    savepoints: bool,
) -> Result<(Value, bool), Stop> {
    let path_id = target(&op.path, op.method)
        .ok()
        .and_then(|(_, id)| id)
        .map(|id| {
            let mut v = Value::String(id);
            substitute(&mut v, ids);
            v.as_str().unwrap_or_default().to_string()
        });
    let r = if savepoints {
        let answer = directory::savepoint(conn, move |conn| match (prepared.op)(conn, c) {
            Ok(r @ ScimResponse::Error(..)) => Err(Undo::Answer(Box::new(r))),
            Ok(r) => Ok(r),
            Err(e) => Err(Undo::Answer(Box::new(ScimResponse::from(e)))),
        });
        match answer {
            Ok(r) => r,
            Err(Undo::Answer(r)) => *r,
            Err(Undo::Store(e)) => ScimResponse::from(ScimError::from(e)),
        }
    } else {
        match (prepared.op)(conn, c) {
            Ok(ScimResponse::Error(..)) | Err(_) => return Err(Stop::Again),
            Ok(r) => r,
        }
    };
    let (out, created, ok) = result(cfg, op, kind, path_id, r);
    if let (Some(b), Some(id)) = (&op.bulk_id, created) {
        if op.method == Method::Post {
            ids.insert(b.clone(), id);
        }
    }
    Ok((out, !ok))
}

/// Does any operation set a password (so bcrypt runs in the trip)?
fn sets_password(v: &Value) -> bool {
    match v {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("password") || sets_password(v)),
        Value::Array(a) => a.iter().any(sets_password),
        Value::String(s) => s.eq_ignore_ascii_case("password"),
        _ => false,
    }
}

pub async fn bulk(state: &AppState, auth: &BearerOrBasic, body: ScimResult<Value>) -> ScimResponse {
    let hashing = body.as_ref().is_ok_and(sets_password);
    let req = body.and_then(|b| parse(&b));
    let cfg = state.config.clone();
    let tally = Tally::default();
    let counted = tally.clone();
    let answered = trip(state, auth, hashing, req, move |conn, c, req| {
        let body = execute(conn, &cfg, &counted, c, req)?;
        Ok(ScimResponse::Ok(ScimJson::new(body), None))
    })
    .await;
    state.metrics.scim_skipped_members(tally.get());
    answered
}
