//! `POST /action/{orgId}`: up to ten command entries, each about one user or one user group,
//! each a list of steps. An entry is checked whole before any of its steps runs, and runs in
//! a transaction of its own: its steps all apply or none does, while the batch may be
//! partial. Within an entry the steps run in Adobe's documented order (create, update,
//! remove, add, removeFromOrg; for user groups create, update, remove, add, delete), and the
//! entries in the order sent. `testOnly=true` runs every entry and rolls it back.

use serde_json::{json, Value};

use super::command::*;
use super::error::AdobeError;
use super::model::{ADOBE_ID, FEDERATED_ID};
use crate::directory::groups as dg;
use crate::directory::users as du;
use crate::directory::{self, Caller, Conn, Expect, StoreError};
use crate::domain::{
    Address, GroupData, GroupKind, MultiAttr, MultiValue, Name, User, UserData, VendorFields,
};

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
    conn: &mut Conn,
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
                let r = directory::write_tx(conn, |conn| {
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

/// The user a step needs: `uid`, else the step fails, unless in test mode, where a user an
/// earlier step would have made is not there to act on (`None`: skip the step).
fn existing(
    uid: Option<i64>,
    test_only: bool,
    step: usize,
    key: &str,
) -> Result<Option<i64>, Stop> {
    match uid {
        Some(id) => Ok(Some(id)),
        None if test_only => Ok(None),
        None => Err(nonexistent(step, key)),
    }
}

fn group_not_found(step: usize, name: &str) -> Stop {
    Stop::Step(fail(
        step,
        "error.group.not_found",
        format!("Group {name} was not found"),
    ))
}

/// Add `members` to group `id`, or (`add` false) take them out.
fn change_members(
    conn: &mut Conn,
    who: &Caller<'_>,
    id: i64,
    members: &[i64],
    add: bool,
) -> Result<(), StoreError> {
    if add {
        dg::add_members(conn, who, id, members)?;
    } else {
        dg::remove_members(conn, who, id, members)?;
    }
    Ok(())
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
    let mut data = UserData {
        user_name,
        name: Name {
            given: firstname.clone(),
            family: lastname.clone(),
            ..Name::default()
        },
        active: Some(true),
        vendor: VendorFields {
            identity_type: Some(id_type.to_string()),
            domain,
            ..VendorFields::default()
        },
        ..UserData::default()
    };
    data.set_primary_email(Some(email.to_string()));
    if let Some(c) = country {
        data.values.push((MultiAttr::Addresses, address(c)));
    }
    data
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

fn run_user(
    conn: &mut Conn,
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
                let Some(id) = existing(uid, test_only, i, key)? else {
                    continue;
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
                        data.set_primary_email(Some(e.to_string()));
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
                let Some(id) = existing(uid, test_only, i, key)? else {
                    continue;
                };
                let reserved = |n: &String| RESERVED_GROUPS.contains(&n.to_lowercase().as_str());
                // Adobe forbids assigning a reserved group (`_org_admin`, ...). Removing one
                // the user is not in changes nothing (the User Sync Tool asks for it in the
                // same command as the user's creation); removing one they are in is refused.
                let held: Vec<String> = if !add && names.iter().any(reserved) {
                    du::groups_of(conn, &org, id)?
                        .into_iter()
                        .filter(|g| g.direct)
                        .map(|g| g.display_name.to_lowercase())
                        .collect()
                } else {
                    vec![]
                };
                if let Some(r) = names
                    .iter()
                    .filter(|n| reserved(n))
                    .find(|n| add || held.contains(&n.to_lowercase()))
                {
                    return Err(Stop::Step(fail(
                        i,
                        "error.command.steps.malformed",
                        format!("{r} cannot be assigned or removed through the API"),
                    )));
                }
                let names: Vec<String> = names.iter().filter(|n| !reserved(n)).cloned().collect();
                let names = &names;
                let found = dg::find_by_names(conn, &org, names)?;
                for n in names {
                    let g = found
                        .get(&n.to_lowercase())
                        .ok_or_else(|| group_not_found(i, n))?;
                    change_members(conn, who, g.id, &[id], add)
                        .map_err(|e| step_store(i, "error.group.not_found", e))?;
                }
            }
            UserStep::Remove(Groups::All) => {
                let Some(id) = existing(uid, test_only, i, key)? else {
                    continue;
                };
                let groups = du::groups_of(conn, &org, id)?;
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

/// Step `step`: write the user group's name and description, those given.
fn update_group(
    conn: &mut Conn,
    who: &Caller<'_>,
    step: usize,
    id: i64,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<(), Stop> {
    let members = dg::Members::Skip;
    dg::update(conn, who, id, &Expect::Any, members, members, |g| {
        let mut data = g.data.clone();
        if let Some(n) = name {
            data.display_name = n.to_string();
        }
        if let Some(d) = description {
            data.description = Some(d.to_string());
        }
        Ok::<_, StoreError>((data, Default::default()))
    })
    .map_err(|e| step_store(step, "error.usergroup.already_exists", e))?;
    Ok(())
}

fn run_group(
    conn: &mut Conn,
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
                        update_group(conn, who, i, id, None, description.as_deref())?;
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
                update_group(
                    conn,
                    who,
                    i,
                    id,
                    new_name.as_deref(),
                    description.as_deref(),
                )?;
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
                    change_members(conn, who, id, &ids, add)
                        .map_err(|e| step_store(i, "error.usergroup.not_found", e))?;
                }
                let found = dg::find_by_names(conn, &org, profiles)?;
                for p in profiles {
                    let profile = found
                        .get(&p.to_lowercase())
                        .filter(|g| g.data.kind == GroupKind::ProductProfile)
                        .ok_or_else(|| group_not_found(i, p))?;
                    // A user group given a product profile is a member of it: its users
                    // reach the profile through it.
                    change_members(conn, who, profile.id, &[id], add)
                        .map_err(|e| step_store(i, "error.group.not_found", e))?;
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
