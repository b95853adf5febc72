//! Roles as dialects name them: by name (Domo's `role`, SCIM's `roles.value`) or by id
//! (Domo's `roleId`, Sumo's `roleIds`). A dialect with built-in roles (Domo's `Admin`,
//! `Privileged`, `Participant`) passes their names; they are created in the organization when
//! first given to a user.

use crate::domain::OrgId;
use crate::store::{self, DbConn, StoreError, StoreResult};

/// How a page of roles is ordered.
pub use crate::store::roles::RoleOrder;

/// How a request names a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    Name(String),
    Id(i64),
}

/// The name to store for the role `r` names: a role of the organization (its stored name),
/// or one of `builtin` (matched case-insensitively, spelled as `builtin` spells it).
/// `Invalid` when it names neither.
pub fn resolve(
    conn: &mut DbConn,
    org: &OrgId,
    r: &RoleRef,
    builtin: &[&str],
) -> StoreResult<String> {
    match r {
        RoleRef::Id(id) => store::roles::find_by_id(conn, org, *id)?
            .ok_or_else(|| StoreError::Invalid(format!("role {id} does not exist"))),
        RoleRef::Name(name) => {
            if let Some((_, stored)) = store::roles::find_by_name(conn, org, name)? {
                return Ok(stored);
            }
            builtin
                .iter()
                .find(|b| b.eq_ignore_ascii_case(name.trim()))
                .map(|b| b.to_string())
                .ok_or_else(|| {
                    let mut known: Vec<String> = builtin.iter().map(|b| b.to_string()).collect();
                    known.push("a custom role of the organization".into());
                    StoreError::Invalid(format!("unknown role {name:?}: use {}", known.join(", ")))
                })
        }
    }
}

use serde_json::json;

use super::{audit, Caller, Subject};
use crate::domain::Scope;
use crate::domain::{id_to_hex, Role, RoleData, RoleValue};
use crate::store::users::Actor;

/// A role with the ids of its holders.
#[derive(Debug, Clone)]
pub struct RoleView {
    pub role: Role,
    pub users: Vec<i64>,
}

fn check(data: &RoleData) -> StoreResult<()> {
    let chars = |s: &str| s.chars().count();
    let over = |v: &Option<String>, max: usize| v.as_deref().is_some_and(|v| chars(v) > max);
    let refused = [
        (
            data.name.trim().is_empty() || chars(&data.name) > 128,
            "name must be 1 to 128 characters",
        ),
        (
            over(&data.description, 255),
            "description must be at most 255 characters",
        ),
        (
            over(&data.filter_predicate, 4096),
            "filterPredicate must be at most 4096 characters",
        ),
        (
            data.capabilities
                .iter()
                .any(|c| c.trim().is_empty() || chars(c) > 128),
            "each capability is 1 to 128 characters",
        ),
    ];
    if let Some((_, message)) = refused.iter().find(|(bad, _)| *bad) {
        return Err(StoreError::Invalid((*message).into()));
    }
    let all = [&data.name]
        .into_iter()
        .chain(data.description.iter())
        .chain(data.filter_predicate.iter())
        .chain(data.capabilities.iter());
    if all.into_iter().any(|s| s.contains('\0')) {
        return Err(StoreError::Invalid("NUL characters are not allowed".into()));
    }
    Ok(())
}

/// Give or take role `role` of user `uid` inside the caller's transaction, through the
/// user's own write (version bump, audit entry). `NotFound` for a user not of the
/// organization; no write when nothing changes.
fn set_holder(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    uid: i64,
    role: &str,
    hold: bool,
) -> StoreResult<bool> {
    let action = if hold {
        "User.Role.Assign"
    } else {
        "User.Role.Unassign"
    };
    let changed = super::users::update_as(
        conn,
        caller,
        uid,
        &super::Expect::Any,
        None,
        action,
        |_, u| {
            let mut d = u.data.clone();
            let key = role.to_lowercase();
            let has = d.roles.iter().any(|r| r.name.to_lowercase() == key);
            if hold && !has {
                d.roles.push(RoleValue {
                    name: role.to_string(),
                    ..RoleValue::default()
                });
            } else if !hold {
                d.roles.retain(|r| r.name.to_lowercase() != key);
            }
            Ok::<_, StoreError>(d)
        },
    )?;
    Ok(changed.changed)
}

/// A role of the organization with its holders.
pub fn get(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<RoleView> {
    let role = store::roles::get(conn, org, id)?;
    let users = store::roles::holders(conn, &[id])?
        .remove(&id)
        .unwrap_or_default();
    Ok(RoleView { role, users })
}

/// A page of roles with their holders (two statements).
pub fn page(
    conn: &mut DbConn,
    org: &OrgId,
    name: Option<&str>,
    order: &store::roles::RoleOrder,
    limit: i64,
) -> StoreResult<Vec<RoleView>> {
    let roles = store::roles::page(conn, org, name, order, limit)?;
    let ids: Vec<i64> = roles.iter().map(|r| r.id).collect();
    let mut holders = store::roles::holders(conn, &ids)?;
    Ok(roles
        .into_iter()
        .map(|role| {
            let users = holders.remove(&role.id).unwrap_or_default();
            RoleView { role, users }
        })
        .collect())
}

/// The organization's roles without their holders (one statement), by name: for a caller
/// that offers roles to choose from.
pub fn names(conn: &mut DbConn, org: &OrgId) -> StoreResult<Vec<Role>> {
    let mut roles = store::roles::page(conn, org, None, &store::roles::RoleOrder::Id(None), 1000)?;
    roles.sort_by_key(|r| r.name.to_lowercase());
    Ok(roles)
}

/// Users of `org` among `ids`, each once; `Invalid` naming the first that is not one.
fn check_users(conn: &mut DbConn, org: &OrgId, ids: &[i64]) -> StoreResult<Vec<i64>> {
    let mut out: Vec<i64> = Vec::with_capacity(ids.len());
    for id in ids {
        if out.contains(id) {
            continue;
        }
        if !store::users::exists(conn, org, *id)? {
            return Err(StoreError::Invalid(format!(
                "user {} does not exist",
                id_to_hex(*id)
            )));
        }
        out.push(*id);
    }
    Ok(out)
}

/// Create a role held by `users`: one transaction, with its audit entry and each holder's.
/// `Conflict` when the name is taken, `Invalid` for a user not of the organization.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    data: &RoleData,
    users: &[i64],
) -> StoreResult<RoleView> {
    check(data)?;
    check_scopes(
        caller,
        &scopes_conferred(&data.capabilities),
        "a role with these capabilities",
    )?;
    let who = caller.actor();
    store::write_tx(conn, |conn| {
        let users = check_users(conn, caller.org(), users)?;
        let role = store::roles::insert(conn, caller.org(), data, Actor(&who).0)?;
        audit(
            conn,
            caller,
            None,
            "Role.Create",
            json!({"roleId": id_to_hex(role.id), "name": role.name}),
            Subject::Payload,
        )?;
        for u in &users {
            set_holder(conn, caller, *u, &role.name, true)?;
        }
        get(conn, caller.org(), role.id)
    })
}

/// Replace a role's fields and, when `users` is given, its holders (only the users who gain
/// or lose it are written). System-defined roles cannot be changed.
pub fn update(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    data: &RoleData,
    users: Option<&[i64]>,
) -> StoreResult<RoleView> {
    check(data)?;
    let who = caller.actor();
    store::write_tx(conn, |conn| {
        let current = store::roles::lock(conn, caller.org(), id)?;
        // New capabilities give their scopes to every holder: the caller must hold them.
        let had = scopes_conferred(&current.capabilities);
        let gained: Vec<Scope> = scopes_conferred(&data.capabilities)
            .into_iter()
            .filter(|s| !had.contains(s))
            .collect();
        check_scopes(caller, &gained, "these capabilities")?;
        if current.system_defined {
            return Err(StoreError::Invalid(
                "a system-defined role cannot be changed".into(),
            ));
        }
        let wanted = users
            .map(|u| check_users(conn, caller.org(), u))
            .transpose()?;
        let role = store::roles::write(conn, &current, data, &who)?;
        audit(
            conn,
            caller,
            None,
            "Role.Update",
            json!({"roleId": id_to_hex(id), "name": role.name, "version": role.version}),
            Subject::Payload,
        )?;
        let holders = store::roles::holders(conn, &[id])?
            .remove(&id)
            .unwrap_or_default();
        if role.name != current.name {
            // Holders show the new name: their versions move, so SCIM ETags do.
            store::roles::bump_holders(conn, id, &who)?;
        }
        if let Some(wanted) = wanted {
            for u in holders.iter().filter(|u| !wanted.contains(u)) {
                set_holder(conn, caller, *u, &role.name, false)?;
            }
            for u in wanted.iter().filter(|u| !holders.contains(u)) {
                set_holder(conn, caller, *u, &role.name, true)?;
            }
        }
        get(conn, caller.org(), id)
    })
}

/// Delete a role; its holders lose it. System-defined roles cannot be deleted.
pub fn delete(conn: &mut DbConn, caller: &Caller<'_>, id: i64) -> StoreResult<()> {
    let who = caller.actor();
    store::write_tx(conn, |conn| {
        let current = store::roles::lock(conn, caller.org(), id)?;
        if current.system_defined {
            return Err(StoreError::Invalid(
                "a system-defined role cannot be deleted".into(),
            ));
        }
        let holders = store::roles::holders(conn, &[id])?
            .remove(&id)
            .unwrap_or_default();
        store::roles::delete(conn, &current, &who)?;
        audit(
            conn,
            caller,
            None,
            "Role.Delete",
            json!({"roleId": id_to_hex(id), "name": current.name,
                   "users": holders.iter().map(|u| id_to_hex(*u)).collect::<Vec<_>>()}),
            Subject::Payload,
        )
    })
}

/// Give role `id` to user `uid` (no change when they hold it).
pub fn assign(conn: &mut DbConn, caller: &Caller<'_>, id: i64, uid: i64) -> StoreResult<RoleView> {
    store::write_tx(conn, |conn| {
        let role = store::roles::get(conn, caller.org(), id)?;
        set_holder(conn, caller, uid, &role.name, true)?;
        get(conn, caller.org(), id)
    })
}

/// The organization's roles (all of them, in id order) with their holders: two statements.
/// For callers that page and search roles themselves (Logto's `/api/roles`); an
/// organization has few roles.
pub fn all(conn: &mut DbConn, org: &OrgId) -> StoreResult<Vec<RoleView>> {
    page(
        conn,
        org,
        None,
        &store::roles::RoleOrder::Id(None),
        1_000_000,
    )
}

/// Give user `uid` the roles `grant` and take the roles `revoke` (ids of the organization's
/// roles) in one write of the user: one version bump and one audit entry, the no-escalation
/// rule applied as to every grant. A role held stays held; one not held is not taken.
/// `NotFound` for a user not of the organization, `Invalid` naming a role that is not one.
/// Whether anything changed.
pub fn change_of_user(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    uid: i64,
    grant: &[i64],
    revoke: &[i64],
) -> StoreResult<bool> {
    store::write_tx(conn, |conn| {
        let mut names = |ids: &[i64]| -> StoreResult<Vec<String>> {
            ids.iter()
                .map(|id| {
                    store::roles::find_by_id(conn, caller.org(), *id)?.ok_or_else(|| {
                        StoreError::Invalid(format!("role {} does not exist", id_to_hex(*id)))
                    })
                })
                .collect()
        };
        let granted = names(grant)?;
        let revoked = names(revoke)?;
        let action = match (granted.is_empty(), revoked.is_empty()) {
            (false, true) => "User.Role.Assign",
            (true, false) => "User.Role.Unassign",
            _ => "User.Roles.Replace",
        };
        let changed = super::users::update_as(
            conn,
            caller,
            uid,
            &super::Expect::Any,
            None,
            action,
            |_, u| {
                let mut d = u.data.clone();
                for n in &revoked {
                    let key = n.to_lowercase();
                    d.roles.retain(|r| r.name.to_lowercase() != key);
                }
                for n in &granted {
                    if !d.roles.iter().any(|r| r.name.eq_ignore_ascii_case(n)) {
                        d.roles.push(RoleValue {
                            name: n.clone(),
                            ..RoleValue::default()
                        });
                    }
                }
                Ok::<_, StoreError>(d)
            },
        )?;
        Ok(changed.changed)
    })
}

/// Take role `id` from user `uid`; `NotFound` when the user does not hold it.
pub fn unassign(conn: &mut DbConn, caller: &Caller<'_>, id: i64, uid: i64) -> StoreResult<()> {
    store::write_tx(conn, |conn| {
        let role = store::roles::get(conn, caller.org(), id)?;
        if !set_holder(conn, caller, uid, &role.name, false)? {
            return Err(StoreError::NotFound);
        }
        Ok(())
    })
}

/// The scopes holding a role with `capabilities` gives its holder: every scope when one is
/// `orgs:admin` (an administrator's console session acts with all of them), else those of
/// its capabilities that name a scope.
pub fn scopes_conferred(capabilities: &[String]) -> Vec<Scope> {
    if capabilities.iter().any(|c| c == ADMIN_CAPABILITY) {
        return Scope::ALL.to_vec();
    }
    let mut out: Vec<Scope> = capabilities
        .iter()
        .filter_map(|c| Scope::parse(c))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// No escalation: refuse, unless `caller` holds every scope in `scopes`, giving them to
/// someone (`what` says how, for the message).
pub fn check_scopes(caller: &Caller<'_>, scopes: &[Scope], what: &str) -> StoreResult<()> {
    let missing: Vec<&str> = scopes
        .iter()
        .filter(|s| !caller.principal.has(**s))
        .map(|s| s.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(StoreError::Forbidden(format!(
        "{what} would give the scope{} {} that this caller lacks",
        if missing.len() == 1 { "" } else { "s" },
        missing.join(", ")
    )))
}

/// No escalation through roles: granting roles `names` of the caller's organization needs
/// every scope they give (`scopes_conferred`). One statement, only when roles are granted.
pub fn check_grant(conn: &mut DbConn, caller: &Caller<'_>, names: &[String]) -> StoreResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    let caps = store::roles::capabilities_of(conn, caller.org(), names)?;
    check_scopes(caller, &scopes_conferred(&caps), "granting this role")
}

/// The capability that makes a role's holders administrators of their organization (the
/// web console lets them sign in).
pub const ADMIN_CAPABILITY: &str = "orgs:admin";
/// The role `grant_admin` gives.
pub const ADMIN_ROLE: &str = "Administrator";

/// Make user `uid` an administrator: give them the organization's `Administrator` role,
/// created with the `orgs:admin` capability when it does not exist. `Invalid` when a role of
/// that name exists without the capability (an admin decides what it means, not this).
pub fn grant_admin(conn: &mut DbConn, caller: &Caller<'_>, uid: i64) -> StoreResult<RoleView> {
    match store::roles::find_by_name(conn, caller.org(), ADMIN_ROLE)? {
        Some((id, _)) => {
            let role = store::roles::get(conn, caller.org(), id)?;
            if !role.capabilities.iter().any(|c| c == ADMIN_CAPABILITY) {
                return Err(StoreError::Invalid(format!(
                    "the role {ADMIN_ROLE:?} exists without the {ADMIN_CAPABILITY} capability"
                )));
            }
            assign(conn, caller, id, uid)
        }
        None => create(
            conn,
            caller,
            &RoleData {
                name: ADMIN_ROLE.into(),
                description: Some("Administrators of the organization (web console)".into()),
                filter_predicate: None,
                capabilities: vec![ADMIN_CAPABILITY.into()],
            },
            &[uid],
        ),
    }
}

/// Take the `Administrator` role from user `uid` (`grant_admin`'s undo); `NotFound` when they
/// do not hold it. Their console sessions end with it (a session re-checks its holder's
/// roles on every request).
pub fn revoke_admin(conn: &mut DbConn, caller: &Caller<'_>, uid: i64) -> StoreResult<()> {
    let (id, _) =
        store::roles::find_by_name(conn, caller.org(), ADMIN_ROLE)?.ok_or(StoreError::NotFound)?;
    unassign(conn, caller, id, uid)
}

/// The ids of the roles each of `user_ids` holds, by user and lower-cased role name: one
/// statement for a page of users.
pub fn ids_of_users(
    conn: &mut DbConn,
    org: &OrgId,
    user_ids: &[i64],
) -> StoreResult<std::collections::HashMap<i64, std::collections::HashMap<String, i64>>> {
    store::roles::ids_of_users(conn, org, user_ids)
}

/// The stored name of the organization's role `id`, if there is one.
pub fn name_of(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<Option<String>> {
    store::roles::find_by_id(conn, org, id)
}
