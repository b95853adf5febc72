//! Parsing the command entries of `POST /action/{orgId}`: every problem of an entry is
//! reported, and an entry with any does not run.

use serde_json::{Map, Value};

use super::command::*;
use super::model::{ADOBE_ID, ENTERPRISE_ID, FEDERATED_ID};
use crate::http::body::kind_of;

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
            format!("Field {key} must be a string, got {}", kind_of(other)),
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
                format!(
                    "Field {key} must be a list of names, got {}",
                    kind_of(other)
                ),
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
                format!("Names in {key} must be strings, got {}", kind_of(other)),
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
                kind_of(v)
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
                    format!("deleteAccount must be a boolean, got {}", kind_of(other)),
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
    // An entry that is not an object, or whose requestID is not a string, is malformed
    // whole: it names nothing.
    let unnamed = |message: String| Entry {
        request_id: None,
        subject: None,
        parsed: Err(malformed(message)),
    };
    let Some(o) = v.as_object() else {
        return unnamed(format!("A command must be an object, got {}", kind_of(v)));
    };
    let request_id = match o.get("requestID") {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => None,
        Some(other) => {
            return unnamed(format!(
                "requestID must be a string, got {}",
                kind_of(other)
            ))
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
                kind_of(other)
            )))
        }
    };
    if let Some(v) = o.get("useAdobeID") {
        if !v.is_boolean() && !v.is_null() {
            return Err(malformed(format!(
                "useAdobeID must be a boolean, got {}",
                kind_of(v)
            )));
        }
    }
    if *what == "user" {
        let steps = ordered(steps, user_step, UserStep::rank, "create", "removeFromOrg")?;
        Ok(Target::User {
            key: who,
            domain,
            steps,
        })
    } else {
        let (create, last) = ("createUserGroup", "deleteUserGroup");
        let steps = ordered(steps, group_step, GroupStep::rank, create, last)?;
        Ok(Target::Group { name: who, steps })
    }
}

/// The steps parsed (`parse`), in Adobe's order (`rank`, then as sent), when each parses
/// and the creating and the last step (`create`, `last`) stand where they may; else every
/// error found, by step.
fn ordered<S>(
    steps: &[Value],
    parse: fn(&str, &Value, usize) -> Result<S, StepError>,
    rank: fn(&S) -> u8,
    create: &str,
    last: &str,
) -> Result<Vec<(usize, S)>, Vec<StepError>> {
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        match step_of(s, i).and_then(|(name, v)| parse(name, v, i)) {
            Ok(step) => parsed.push((i, step)),
            Err(e) => errors.push(e),
        }
    }
    let ranks: Vec<(usize, u8)> = parsed.iter().map(|(i, s)| (*i, rank(s))).collect();
    errors.extend(placement(&ranks, create, last));
    if errors.is_empty() {
        parsed.sort_by_key(|(i, s)| (rank(s), *i));
        return Ok(parsed);
    }
    errors.sort_by_key(|e| e.step);
    Err(errors)
}
