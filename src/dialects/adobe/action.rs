//! `POST /action/{orgId}`: up to ten command entries, each about one user or one user group,
//! each a list of steps. An entry is checked whole before any of its steps runs, and runs in
//! a transaction of its own: its steps all apply or none does, while the batch may be
//! partial. Within an entry the steps run in Adobe's documented order (create, update,
//! remove, add, removeFromOrg; for user groups create, update, remove, add, delete), and the
//! entries in the order sent. `testOnly=true` runs every entry and rolls it back.

use serde_json::{json, Map, Value};

use super::error::AdobeError;
use super::model::{ADOBE_ID, ENTERPRISE_ID, FEDERATED_ID};
use crate::directory::groups as dg;
use crate::directory::users as du;
use crate::directory::{Caller, Expect};
use crate::domain::{
    Address, GroupData, GroupKind, MultiAttr, MultiValue, Name, User, UserData, VendorFields,
};
use crate::store::{self, DbConn, StoreError};

pub const MAX_ENTRIES: usize = 10;
pub const MAX_NAMES: usize = 10;
const MAX_EMAIL: usize = 60;
const MAX_NAME: usize = 250;
const MAX_USERNAME: usize = 255;
const MAX_GROUP_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 255;
/// Groups no action may give or take.
const RESERVED_GROUPS: [&str; 3] = ["_org_admin", "_compartment_admin", "_compartment_viewer"];

/// A step that failed (or would not be attempted), as an entry of the response's `errors`.
#[derive(Debug, Clone)]
pub struct StepError {
    pub step: usize,
    pub code: &'static str,
    pub message: String,
}

fn fail(step: usize, code: &'static str, message: impl Into<String>) -> StepError {
    StepError {
        step,
        code,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnConflict {
    Error,
    Ignore,
    Update,
}

#[derive(Debug, Clone)]
enum Groups {
    Named(Vec<String>),
    All,
}

#[derive(Debug, Clone)]
enum UserStep {
    Create {
        id_type: &'static str,
        email: String,
        firstname: Option<String>,
        lastname: Option<String>,
        country: Option<String>,
        option: OnConflict,
    },
    Update {
        email: Option<String>,
        firstname: Option<String>,
        lastname: Option<String>,
        username: Option<String>,
    },
    Remove(Groups),
    Add(Vec<String>),
    RemoveFromOrg,
}

impl UserStep {
    /// Adobe's execution order within an entry.
    fn rank(&self) -> u8 {
        match self {
            UserStep::Create { .. } => 0,
            UserStep::Update { .. } => 1,
            UserStep::Remove(_) => 2,
            UserStep::Add(_) => 3,
            UserStep::RemoveFromOrg => 4,
        }
    }
}

#[derive(Debug, Clone)]
enum GroupStep {
    Create {
        name: Option<String>,
        description: Option<String>,
        option: OnConflict,
    },
    Update {
        name: Option<String>,
        description: Option<String>,
    },
    Remove {
        users: Vec<String>,
        profiles: Vec<String>,
    },
    Add {
        users: Vec<String>,
        profiles: Vec<String>,
    },
    Delete,
}

impl GroupStep {
    fn rank(&self) -> u8 {
        match self {
            GroupStep::Create { .. } => 0,
            GroupStep::Update { .. } => 1,
            GroupStep::Remove { .. } => 2,
            GroupStep::Add { .. } => 3,
            GroupStep::Delete => 4,
        }
    }
}

#[derive(Debug, Clone)]
enum Target {
    User {
        key: String,
        domain: Option<String>,
        steps: Vec<(usize, UserStep)>,
    },
    Group {
        name: String,
        steps: Vec<(usize, GroupStep)>,
    },
}

/// One command entry: what it is about, its `requestID`, and its steps or why it cannot run.
#[derive(Debug, Clone)]
pub struct Entry {
    request_id: Option<String>,
    /// The frame's `user` or `usergroup`, echoed in errors.
    subject: Option<(&'static str, String)>,
    parsed: Result<Target, Vec<StepError>>,
}

// ---------------------------------------------------------------------------------------
// Parsing.

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string parameter of a step: absent (or `null`, or empty) is `None`.
fn text(
    o: &Map<String, Value>,
    step: usize,
    key: &str,
    max: usize,
) -> Result<Option<String>, StepError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.contains('\0') => Err(fail(
            step,
            "error.command.steps.malformed",
            format!("Field {key} must not contain NUL"),
        )),
        Some(Value::String(s)) if s.chars().count() > max => Err(fail(
            step,
            "error.command.string.too_long",
            format!("String too long in command for field: {key}, max length {max}"),
        )),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(other) => Err(fail(
            step,
            "error.command.steps.malformed",
            format!("Field {key} must be a string, got {}", kind(other)),
        )),
    }
}

fn check_email(step: usize, email: &str) -> Result<(), StepError> {
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(fail(
            step,
            "error.user.email.invalid",
            format!("Invalid email address: {email}"),
        ))
    }
}

fn country(o: &Map<String, Value>, step: usize) -> Result<Option<String>, StepError> {
    let Some(c) = text(o, step, "country", 2)? else {
        return Ok(None);
    };
    if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(fail(
            step,
            "error.country.invalid",
            format!("Invalid country code: {c}"),
        ));
    }
    Ok(Some(c.to_ascii_uppercase()))
}

fn option(o: &Map<String, Value>, step: usize) -> Result<OnConflict, StepError> {
    match text(o, step, "option", 64)?.as_deref() {
        None | Some("errorIfAlreadyExists") => Ok(OnConflict::Error),
        Some("ignoreIfAlreadyExists") => Ok(OnConflict::Ignore),
        Some("updateIfAlreadyExists") => Ok(OnConflict::Update),
        Some(other) => Err(fail(
            step,
            "error.command.steps.malformed",
            format!("Unknown option {other}: use ignoreIfAlreadyExists or updateIfAlreadyExists"),
        )),
    }
}

/// A list of names (`group`, `user`, `productConfiguration`): at most ten strings.
fn names(o: &Map<String, Value>, step: usize, key: &str) -> Result<Vec<String>, StepError> {
    let items = match o.get(key) {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(fail(
                step,
                "error.command.steps.malformed",
                format!("Field {key} must be a list of names, got {}", kind(other)),
            ))
        }
    };
    if items.len() > MAX_NAMES {
        return Err(fail(
            step,
            "error.command.add_remove.list_too_long",
            format!(
                "Too many names in {key}: {}, at most {MAX_NAMES}",
                items.len()
            ),
        ));
    }
    items
        .iter()
        .map(|v| match v {
            Value::String(s)
                if !s.trim().is_empty()
                    && !s.contains('\0')
                    && s.chars().count() <= MAX_GROUP_NAME =>
            {
                Ok(s.trim().to_string())
            }
            Value::String(_) => Err(fail(
                step,
                "error.command.steps.malformed",
                format!("Names in {key} must be 1 to {MAX_GROUP_NAME} characters"),
            )),
            other => Err(fail(
                step,
                "error.command.steps.malformed",
                format!("Names in {key} must be strings, got {}", kind(other)),
            )),
        })
        .collect()
}

fn params<'v>(v: &'v Value, step: usize, name: &str) -> Result<&'v Map<String, Value>, StepError> {
    v.as_object().ok_or_else(|| {
        fail(
            step,
            "error.command.steps.malformed",
            format!(
                "The parameters of {name} must be an object, got {}",
                kind(v)
            ),
        )
    })
}

/// Each step is an object with one key, the step's name.
fn step_of(v: &Value, step: usize) -> Result<(&str, &Value), StepError> {
    match v.as_object() {
        Some(o) if o.len() == 1 => {
            let (k, v) = o.iter().next().expect("one key");
            Ok((k.as_str(), v))
        }
        _ => Err(fail(
            step,
            "error.command.steps.malformed",
            "Each step must be an object with exactly one key, the step's name",
        )),
    }
}

fn user_step(name: &str, v: &Value, i: usize) -> Result<UserStep, StepError> {
    let create = |id_type: &'static str| -> Result<UserStep, StepError> {
        let o = params(v, i, name)?;
        let email = text(o, i, "email", MAX_EMAIL)?.ok_or_else(|| {
            fail(
                i,
                "error.user.email.invalid",
                format!("{name} requires an email"),
            )
        })?;
        check_email(i, &email)?;
        let firstname = text(o, i, "firstname", MAX_NAME)?;
        let lastname = text(o, i, "lastname", MAX_NAME)?;
        let country = country(o, i)?;
        if id_type != ADOBE_ID {
            if firstname.is_none() {
                return Err(fail(
                    i,
                    "error.user.firstname_missing",
                    format!("{name} requires a firstname"),
                ));
            }
            if lastname.is_none() {
                return Err(fail(
                    i,
                    "error.user.lastname_missing",
                    format!("{name} requires a lastname"),
                ));
            }
        }
        if id_type == FEDERATED_ID && country.is_none() {
            return Err(fail(
                i,
                "error.country.invalid",
                "createFederatedID requires a country",
            ));
        }
        Ok(UserStep::Create {
            id_type,
            email,
            firstname,
            lastname,
            country,
            option: option(o, i)?,
        })
    };
    match name {
        "addAdobeID" => create(ADOBE_ID),
        "createEnterpriseID" => create(ENTERPRISE_ID),
        "createFederatedID" => create(FEDERATED_ID),
        "update" => {
            let o = params(v, i, name)?;
            if o.contains_key("country") {
                return Err(fail(
                    i,
                    "error.update.country.no_update",
                    "The country of a user cannot be changed",
                ));
            }
            if o.contains_key("option") {
                return Err(fail(
                    i,
                    "error.command.update.option.no",
                    "update takes no option",
                ));
            }
            let email = text(o, i, "email", MAX_EMAIL)?;
            if let Some(e) = &email {
                check_email(i, e)?;
            }
            Ok(UserStep::Update {
                email,
                firstname: text(o, i, "firstname", MAX_NAME)?,
                lastname: text(o, i, "lastname", MAX_NAME)?,
                username: text(o, i, "username", MAX_USERNAME)?,
            })
        }
        "add" => Ok(UserStep::Add(names(params(v, i, name)?, i, "group")?)),
        "remove" => match v {
            Value::String(s) if s == "all" => Ok(UserStep::Remove(Groups::All)),
            _ => Ok(UserStep::Remove(Groups::Named(names(
                params(v, i, name)?,
                i,
                "group",
            )?))),
        },
        "removeFromOrg" => {
            let o = params(v, i, name)?;
            match o.get("deleteAccount") {
                None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(UserStep::RemoveFromOrg),
                Some(other) => Err(fail(
                    i,
                    "error.command.steps.malformed",
                    format!("deleteAccount must be a boolean, got {}", kind(other)),
                )),
            }
        }
        other => Err(fail(
            i,
            "error.command.step.unknown",
            format!("Unknown step: {other}"),
        )),
    }
}

fn group_step(name: &str, v: &Value, i: usize) -> Result<GroupStep, StepError> {
    let members = |o: &Map<String, Value>| -> Result<(Vec<String>, Vec<String>), StepError> {
        Ok((names(o, i, "user")?, names(o, i, "productConfiguration")?))
    };
    match name {
        "createUserGroup" => {
            let o = params(v, i, name)?;
            Ok(GroupStep::Create {
                name: text(o, i, "name", MAX_GROUP_NAME)?,
                description: text(o, i, "description", MAX_DESCRIPTION)?,
                option: option(o, i)?,
            })
        }
        "updateUserGroup" => {
            let o = params(v, i, name)?;
            Ok(GroupStep::Update {
                name: text(o, i, "name", MAX_GROUP_NAME)?,
                description: text(o, i, "description", MAX_DESCRIPTION)?,
            })
        }
        "deleteUserGroup" => {
            params(v, i, name)?;
            Ok(GroupStep::Delete)
        }
        "add" => {
            let (users, profiles) = members(params(v, i, name)?)?;
            Ok(GroupStep::Add { users, profiles })
        }
        "remove" => {
            let (users, profiles) = members(params(v, i, name)?)?;
            Ok(GroupStep::Remove { users, profiles })
        }
        other => Err(fail(
            i,
            "error.command.step.unknown",
            format!("Unknown step: {other}"),
        )),
    }
}

/// The placement rules: at most one create and it first; at most one removeFromOrg (or
/// deleteUserGroup) and it last.
fn placement(ranks: &[(usize, u8)], create: &str, last: &str) -> Vec<StepError> {
    let mut errors = Vec::new();
    let n = ranks.len();
    let mut creates = 0;
    let mut lasts = 0;
    for (pos, &(i, rank)) in ranks.iter().enumerate() {
        if rank == 0 {
            creates += 1;
            if creates > 1 {
                errors.push(fail(
                    i,
                    "error.command.create.more_than_one",
                    format!("Only one {create} step is allowed per command"),
                ));
            } else if pos != 0 {
                errors.push(fail(
                    i,
                    "error.command.create.not_first",
                    format!("The {create} step must be the first step"),
                ));
            }
        }
        if rank == 4 {
            lasts += 1;
            if lasts > 1 || pos != n - 1 {
                errors.push(fail(
                    i,
                    "error.command.removefromorg.not_last",
                    format!("{last} must be the last step, and only once"),
                ));
            }
        }
    }
    errors
}

fn malformed(message: impl Into<String>) -> Vec<StepError> {
    vec![fail(0, "error.command.malformed", message)]
}

/// Parse one command entry. Every problem is reported; an entry with any does not run.
pub fn parse_entry(v: &Value) -> Entry {
    let Some(o) = v.as_object() else {
        return Entry {
            request_id: None,
            subject: None,
            parsed: Err(malformed(format!(
                "A command must be an object, got {}",
                kind(v)
            ))),
        };
    };
    let request_id = match o.get("requestID") {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => None,
        Some(other) => {
            return Entry {
                request_id: None,
                subject: None,
                parsed: Err(malformed(format!(
                    "requestID must be a string, got {}",
                    kind(other)
                ))),
            }
        }
    };
    let subject = match (o.get("user"), o.get("usergroup")) {
        (Some(Value::String(u)), None) => Some(("user", u.clone())),
        (None, Some(Value::String(g))) => Some(("usergroup", g.clone())),
        _ => None,
    };
    let parsed = parse_target(o, subject.as_ref());
    Entry {
        request_id,
        subject,
        parsed,
    }
}

fn parse_target(
    o: &Map<String, Value>,
    subject: Option<&(&'static str, String)>,
) -> Result<Target, Vec<StepError>> {
    let Some((what, who)) = subject else {
        return Err(malformed(
            "A command names exactly one user (\"user\": string) or user group (\"usergroup\": string)",
        ));
    };
    let who = who.trim().to_string();
    let max = if *what == "user" {
        MAX_USERNAME
    } else {
        MAX_GROUP_NAME
    };
    if who.is_empty() || who.contains('\0') || who.chars().count() > max {
        return Err(malformed(format!("{what} must be 1 to {max} characters")));
    }
    let steps = match o.get("do") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) => return Err(malformed("The command has no steps")),
        _ => {
            return Err(vec![fail(
                0,
                "error.command.steps.malformed",
                "A command needs \"do\": a list of steps",
            )])
        }
    };
    let domain = match o.get("domain") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.contains('\0') => {
            return Err(malformed("domain must not contain NUL"))
        }
        Some(Value::String(s)) if s.len() <= MAX_USERNAME => {
            Some(s.trim().to_lowercase()).filter(|s| !s.is_empty())
        }
        Some(Value::String(_)) => {
            return Err(vec![fail(
                0,
                "error.command.string.too_long",
                format!("String too long in command for field: domain, max length {MAX_USERNAME}"),
            )])
        }
        Some(other) => {
            return Err(malformed(format!(
                "domain must be a string, got {}",
                kind(other)
            )))
        }
    };
    if let Some(v) = o.get("useAdobeID") {
        if !v.is_boolean() && !v.is_null() {
            return Err(malformed(format!(
                "useAdobeID must be a boolean, got {}",
                kind(v)
            )));
        }
    }
    let mut errors = Vec::new();
    if *what == "user" {
        let mut parsed = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            match step_of(s, i).and_then(|(name, v)| user_step(name, v, i)) {
                Ok(step) => parsed.push((i, step)),
                Err(e) => errors.push(e),
            }
        }
        let ranks: Vec<(usize, u8)> = parsed.iter().map(|(i, s)| (*i, s.rank())).collect();
        errors.extend(placement(&ranks, "create", "removeFromOrg"));
        if errors.is_empty() {
            parsed.sort_by_key(|(i, s)| (s.rank(), *i));
            return Ok(Target::User {
                key: who,
                domain,
                steps: parsed,
            });
        }
    } else {
        let mut parsed = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            match step_of(s, i).and_then(|(name, v)| group_step(name, v, i)) {
                Ok(step) => parsed.push((i, step)),
                Err(e) => errors.push(e),
            }
        }
        let ranks: Vec<(usize, u8)> = parsed.iter().map(|(i, s)| (*i, s.rank())).collect();
        errors.extend(placement(&ranks, "createUserGroup", "deleteUserGroup"));
        if errors.is_empty() {
            parsed.sort_by_key(|(i, s)| (s.rank(), *i));
            return Ok(Target::Group {
                name: who,
                steps: parsed,
            });
        }
    }
    errors.sort_by_key(|e| e.step);
    Err(errors)
}

// ---------------------------------------------------------------------------------------
// Running.

/// Why an entry's transaction ends without committing.
enum Stop {
    /// A step failed: the entry is not completed.
    Step(StepError),
    /// The entry succeeded in test mode: undo it.
    TestOnly,
    /// The database failed: the request fails.
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::Store(e)
    }
}

/// A store error from a step: what the caller got wrong is the step's error, the
/// database's own failure the request's.
fn step_store(step: usize, code: &'static str, e: StoreError) -> Stop {
    match e {
        StoreError::Conflict(m) => Stop::Step(fail(step, code, m)),
        StoreError::Taken(f) => Stop::Step(fail(
            step,
            "error.user.already_exists",
            format!("Another user has this {}", f.label()),
        )),
        StoreError::Refused(r) => Stop::Step(fail(
            step,
            if r.field == "emails" {
                "error.user.email.invalid"
            } else {
                "error.command.steps.malformed"
            },
            r.to_string(),
        )),
        StoreError::Invalid(m) => Stop::Step(fail(step, "error.command.steps.malformed", m)),
        StoreError::NotFound => Stop::Step(fail(step, "error.user.nonexistent", "Not found")),
        StoreError::VersionMismatch => Stop::Step(fail(
            step,
            "error.command.retry",
            "Changed concurrently; retry",
        )),
        other => Stop::Store(other),
    }
}

/// A step's directory write failing on what the caller sent (a rule, a conflict) is the
/// step's error; anything else stays the request's.
fn in_step(step: usize) -> impl Fn(Stop) -> Stop {
    move |s| match s {
        Stop::Store(
            e @ (StoreError::Taken(_) | StoreError::Refused(_) | StoreError::VersionMismatch),
        ) => step_store(step, "error.user.already_exists", e),
        other => other,
    }
}

/// The outcome of a whole request.
pub struct Outcome {
    pub completed: usize,
    pub not_completed: usize,
    pub completed_in_test_mode: usize,
    pub errors: Vec<Value>,
}

impl Outcome {
    pub fn body(&self) -> Value {
        let result = if self.not_completed == 0 {
            "success"
        } else if self.completed + self.completed_in_test_mode == 0 {
            "error"
        } else {
            "partial"
        };
        let mut body = json!({
            "result": result,
            "completed": self.completed,
            "notCompleted": self.not_completed,
            "completedInTestMode": self.completed_in_test_mode,
        });
        if !self.errors.is_empty() {
            body["errors"] = Value::Array(self.errors.clone());
        }
        body
    }
}

/// Run the entries in order, each in its own transaction (rolled back in test mode).
pub fn run(
    conn: &mut DbConn,
    who: &Caller<'_>,
    entries: &[Entry],
    test_only: bool,
) -> Result<Outcome, AdobeError> {
    let mut out = Outcome {
        completed: 0,
        not_completed: 0,
        completed_in_test_mode: 0,
        errors: Vec::new(),
    };
    for (index, entry) in entries.iter().enumerate() {
        let failures = match &entry.parsed {
            Err(errors) => errors.clone(),
            Ok(target) => {
                let r = store::write_tx(conn, |conn| {
                    match target {
                        Target::User { key, domain, steps } => {
                            run_user(conn, who, key, domain.as_deref(), steps, test_only)?
                        }
                        Target::Group { name, steps } => run_group(conn, who, name, steps)?,
                    }
                    if test_only {
                        Err(Stop::TestOnly)
                    } else {
                        Ok(())
                    }
                });
                match r {
                    Ok(()) => vec![],
                    Err(Stop::TestOnly) => vec![],
                    Err(Stop::Step(e)) => vec![e],
                    Err(Stop::Store(e)) => return Err(e.into()),
                }
            }
        };
        if failures.is_empty() {
            if test_only {
                out.completed_in_test_mode += 1;
            } else {
                out.completed += 1;
            }
            continue;
        }
        out.not_completed += 1;
        for f in failures {
            let mut e = json!({
                "index": index,
                "step": f.step,
                "message": f.message,
                "errorCode": f.code,
            });
            if let Some(r) = &entry.request_id {
                e["requestID"] = Value::String(r.clone());
            }
            if let Some((what, name)) = &entry.subject {
                e[*what] = Value::String(name.clone());
            }
            out.errors.push(e);
        }
    }
    Ok(out)
}

fn nonexistent(step: usize, key: &str) -> Stop {
    Stop::Step(fail(
        step,
        "error.user.nonexistent",
        format!("User Id does not exist: {key}"),
    ))
}

fn new_user(
    id_type: &'static str,
    key: &str,
    domain: Option<&str>,
    email: &str,
    firstname: &Option<String>,
    lastname: &Option<String>,
    country: &Option<String>,
) -> UserData {
    // A federated id's username may differ from its email; the others' is the email.
    let user_name =
        (id_type == FEDERATED_ID && !key.eq_ignore_ascii_case(email)).then(|| key.to_string());
    let domain = match (&user_name, domain) {
        (Some(name), Some(d)) if !name.contains('@') => Some(d.to_string()),
        _ => user_name
            .as_deref()
            .unwrap_or(email)
            .rsplit_once('@')
            .map(|(_, d)| d.to_lowercase()),
    };
    let mut values = vec![(
        MultiAttr::Emails,
        MultiValue {
            value: Some(email.to_string()),
            kind: Some("work".into()),
            primary: Some(true),
            ..MultiValue::default()
        },
    )];
    if let Some(c) = country {
        values.push((MultiAttr::Addresses, address(c)));
    }
    UserData {
        user_name,
        name: Name {
            given: firstname.clone(),
            family: lastname.clone(),
            ..Name::default()
        },
        active: Some(true),
        values,
        vendor: VendorFields {
            identity_type: Some(id_type.to_string()),
            domain,
            ..VendorFields::default()
        },
        ..UserData::default()
    }
}

fn address(country: &str) -> MultiValue {
    MultiValue {
        kind: Some("work".into()),
        primary: Some(true),
        address: Some(Address {
            country: Some(country.to_string()),
            ..Address::default()
        }),
        ..MultiValue::default()
    }
}

/// Set the primary email (the first email when none is marked primary).
fn set_email(data: &mut UserData, email: &str) {
    let mut slot = None;
    for (n, (attr, v)) in data.values.iter().enumerate() {
        if *attr == MultiAttr::Emails {
            if v.primary == Some(true) {
                slot = Some(n);
                break;
            }
            slot.get_or_insert(n);
        }
    }
    match slot {
        Some(n) => data.values[n].1.value = Some(email.to_string()),
        None => data.values.push((
            MultiAttr::Emails,
            MultiValue {
                value: Some(email.to_string()),
                kind: Some("work".into()),
                primary: Some(true),
                ..MultiValue::default()
            },
        )),
    }
}

fn run_user(
    conn: &mut DbConn,
    who: &Caller<'_>,
    key: &str,
    domain: Option<&str>,
    steps: &[(usize, UserStep)],
    test_only: bool,
) -> Result<(), Stop> {
    let org = who.org().clone();
    let mut uid = du::find_by_key(conn, &org, key)?;
    for (i, step) in steps {
        let i = *i;
        match step {
            UserStep::Create {
                id_type,
                email,
                firstname,
                lastname,
                country,
                option,
            } => {
                if *id_type != FEDERATED_ID && !key.eq_ignore_ascii_case(email) {
                    return Err(Stop::Step(fail(
                        i,
                        "error.user.email.invalid",
                        "The user of an Adobe or Enterprise ID is its email",
                    )));
                }
                if *id_type == FEDERATED_ID && !key.contains('@') && domain.is_none() {
                    return Err(Stop::Step(fail(
                        i,
                        "error.command.domain.missing",
                        "A username that is not an email needs the command's domain",
                    )));
                }
                if uid.is_none() && !key.eq_ignore_ascii_case(email) {
                    uid = du::email_owner(conn, &org, email, None)?;
                }
                match (uid, option) {
                    (Some(_), OnConflict::Error) => {
                        return Err(Stop::Step(fail(
                            i,
                            "error.user.already_exists",
                            format!("User already exists: {key}"),
                        )))
                    }
                    (Some(_), OnConflict::Ignore) => {}
                    (Some(id), OnConflict::Update) => {
                        let r = du::update(conn, who, id, &Expect::Any, None, |u: &User| {
                            if let Some(t) = &u.data.vendor.identity_type {
                                if t != id_type {
                                    return Err(Stop::Step(fail(
                                        i,
                                        "error.user.type_mismatch",
                                        format!("{key} is an {t}, not an {id_type}"),
                                    )));
                                }
                            }
                            let mut data = u.data.clone();
                            data.vendor.identity_type = Some(id_type.to_string());
                            if firstname.is_some() {
                                data.name.given = firstname.clone();
                            }
                            if lastname.is_some() {
                                data.name.family = lastname.clone();
                            }
                            if let Some(c) = country {
                                if data.primary(MultiAttr::Addresses).is_none() {
                                    data.values.push((MultiAttr::Addresses, address(c)));
                                }
                            }
                            Ok(data)
                        });
                        r.map_err(in_step(i))?;
                    }
                    (None, _) => {
                        let data =
                            new_user(id_type, key, domain, email, firstname, lastname, country);
                        let u = du::create(conn, who, &data, None)
                            .map_err(|e| step_store(i, "error.user.already_exists", e))?;
                        uid = Some(u.id);
                    }
                }
            }
            UserStep::Update {
                email,
                firstname,
                lastname,
                username,
            } => {
                let Some(id) = uid else {
                    if test_only {
                        continue;
                    }
                    return Err(nonexistent(i, key));
                };
                du::update(conn, who, id, &Expect::Any, None, |u: &User| {
                    if u.data.vendor.identity_type.as_deref() == Some(ADOBE_ID) {
                        return Err(Stop::Step(fail(
                            i,
                            "error.update.adobeid.no",
                            "An Adobe ID cannot be updated",
                        )));
                    }
                    let mut data = u.data.clone();
                    if let Some(e) = email {
                        let current = super::model::email(u).unwrap_or("");
                        if current != e && current.eq_ignore_ascii_case(e) {
                            return Err(Stop::Step(fail(
                                i,
                                "error.user.email.invalid",
                                "The letter case of an email cannot be changed",
                            )));
                        }
                        set_email(&mut data, e);
                    }
                    if firstname.is_some() {
                        data.name.given = firstname.clone();
                    }
                    if lastname.is_some() {
                        data.name.family = lastname.clone();
                    }
                    if let Some(n) = username {
                        let email_now = data
                            .primary(MultiAttr::Emails)
                            .and_then(|v| v.value.clone());
                        data.user_name = if email_now.as_deref() == Some(n.as_str()) {
                            None
                        } else {
                            Some(n.clone())
                        };
                    }
                    Ok(data)
                })
                .map_err(|e| match e {
                    Stop::Store(e) => step_store(i, "error.user.name_in_use", e),
                    other => other,
                })?;
            }
            UserStep::Add(names) | UserStep::Remove(Groups::Named(names)) => {
                let add = matches!(step, UserStep::Add(_));
                let Some(id) = uid else {
                    if test_only {
                        continue;
                    }
                    return Err(nonexistent(i, key));
                };
                if let Some(r) = names
                    .iter()
                    .find(|n| RESERVED_GROUPS.contains(&n.to_lowercase().as_str()))
                {
                    return Err(Stop::Step(fail(
                        i,
                        "error.command.steps.malformed",
                        format!("{r} cannot be assigned or removed through the API"),
                    )));
                }
                let found = dg::find_by_names(conn, &org, names)?;
                for n in names {
                    let Some(g) = found.get(&n.to_lowercase()) else {
                        return Err(Stop::Step(fail(
                            i,
                            "error.group.not_found",
                            format!("Group {n} was not found"),
                        )));
                    };
                    let r = if add {
                        dg::add_members(conn, who, g.id, &[id])
                    } else {
                        dg::remove_members(conn, who, g.id, &[id])
                    };
                    r.map_err(|e| step_store(i, "error.group.not_found", e))?;
                }
            }
            UserStep::Remove(Groups::All) => {
                let Some(id) = uid else {
                    if test_only {
                        continue;
                    }
                    return Err(nonexistent(i, key));
                };
                let groups = store::users::groups_of(conn, &org, id)?;
                for g in groups.iter().filter(|g| g.direct) {
                    if g.display_name.eq_ignore_ascii_case("_org_admin") {
                        continue;
                    }
                    dg::remove_members(conn, who, g.id, &[id])
                        .map_err(|e| step_store(i, "error.group.not_found", e))?;
                }
            }
            UserStep::RemoveFromOrg => {
                // Success even when there is no such user, as Adobe reports it.
                if let Some(id) = uid.take() {
                    du::delete(conn, who, id, &Expect::Any)
                        .map_err(|e| step_store(i, "error.user.nonexistent", e))?;
                }
            }
        }
    }
    Ok(())
}

fn group_missing(step: usize, name: &str) -> Stop {
    Stop::Step(fail(
        step,
        "error.usergroup.not_found",
        format!("User group {name} was not found"),
    ))
}

fn check_group_name(step: usize, name: &str) -> Result<(), Stop> {
    if name.starts_with('_') {
        return Err(Stop::Step(fail(
            step,
            "error.command.steps.malformed",
            "A user group name cannot start with '_'",
        )));
    }
    Ok(())
}

fn run_group(
    conn: &mut DbConn,
    who: &Caller<'_>,
    name: &str,
    steps: &[(usize, GroupStep)],
) -> Result<(), Stop> {
    let org = who.org().clone();
    let found = dg::find_by_names(conn, &org, &[name.to_string()])?;
    // A product profile or admin group of that name is not a user group.
    let existing = found.get(&name.to_lowercase()).cloned();
    let mut gid = existing
        .as_ref()
        .filter(|g| g.data.kind == GroupKind::Group)
        .map(|g| g.id);
    for (i, step) in steps {
        let i = *i;
        match step {
            GroupStep::Create {
                name: new_name,
                description,
                option,
            } => {
                let new_name = new_name.as_deref().unwrap_or(name);
                check_group_name(i, new_name)?;
                if existing.is_some() {
                    let Some(id) = gid.filter(|_| *option != OnConflict::Error) else {
                        return Err(Stop::Step(fail(
                            i,
                            "error.usergroup.already_exists",
                            format!("A group named {name} already exists"),
                        )));
                    };
                    if *option == OnConflict::Update && description.is_some() {
                        dg::update(
                            conn,
                            who,
                            id,
                            &Expect::Any,
                            dg::Members::Skip,
                            dg::Members::Skip,
                            |g| {
                                let mut data = g.data.clone();
                                data.description = description.clone();
                                Ok::<_, StoreError>((data, Default::default()))
                            },
                        )
                        .map_err(|e| step_store(i, "error.usergroup.already_exists", e))?;
                    }
                    continue;
                }
                let data = GroupData {
                    display_name: new_name.to_string(),
                    description: description.clone(),
                    kind: GroupKind::Group,
                    ..GroupData::default()
                };
                let g = dg::create(conn, who, &data, &[])
                    .map_err(|e| step_store(i, "error.usergroup.already_exists", e))?;
                gid = Some(g.id);
            }
            GroupStep::Update {
                name: new_name,
                description,
            } => {
                let id = gid.ok_or_else(|| group_missing(i, name))?;
                if let Some(n) = new_name {
                    check_group_name(i, n)?;
                }
                dg::update(
                    conn,
                    who,
                    id,
                    &Expect::Any,
                    dg::Members::Skip,
                    dg::Members::Skip,
                    |g| {
                        let mut data = g.data.clone();
                        if let Some(n) = new_name {
                            data.display_name = n.clone();
                        }
                        if description.is_some() {
                            data.description = description.clone();
                        }
                        Ok::<_, StoreError>((data, Default::default()))
                    },
                )
                .map_err(|e| step_store(i, "error.usergroup.already_exists", e))?;
            }
            GroupStep::Add { users, profiles } | GroupStep::Remove { users, profiles } => {
                let add = matches!(step, GroupStep::Add { .. });
                let id = gid.ok_or_else(|| group_missing(i, name))?;
                let mut ids = Vec::with_capacity(users.len());
                for u in users {
                    match du::find_by_key(conn, &org, u)? {
                        Some(uid) => ids.push(uid),
                        None => return Err(nonexistent(i, u)),
                    }
                }
                if !ids.is_empty() {
                    let r = if add {
                        dg::add_members(conn, who, id, &ids)
                    } else {
                        dg::remove_members(conn, who, id, &ids)
                    };
                    r.map_err(|e| step_store(i, "error.usergroup.not_found", e))?;
                }
                let found = dg::find_by_names(conn, &org, profiles)?;
                for p in profiles {
                    let Some(profile) = found
                        .get(&p.to_lowercase())
                        .filter(|g| g.data.kind == GroupKind::ProductProfile)
                    else {
                        return Err(Stop::Step(fail(
                            i,
                            "error.group.not_found",
                            format!("Group {p} was not found"),
                        )));
                    };
                    // A user group given a product profile is a member of it: its users
                    // reach the profile through it.
                    let r = if add {
                        dg::add_members(conn, who, profile.id, &[id])
                    } else {
                        dg::remove_members(conn, who, profile.id, &[id])
                    };
                    r.map_err(|e| step_store(i, "error.group.not_found", e))?;
                }
            }
            GroupStep::Delete => {
                let id = gid.take().ok_or_else(|| group_missing(i, name))?;
                dg::delete(conn, who, id, &Expect::Any)
                    .map_err(|e| step_store(i, "error.usergroup.not_found", e))?;
            }
        }
    }
    Ok(())
}
