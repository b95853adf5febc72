//! Users: create, read, change, suspend, delete, passwords.

use serde_json::json;

use super::{audit, check_version, hash_password, Caller, Changed, Expect, NewPassword, Subject};
use crate::domain::rules::{self, UniqueField};
use crate::domain::{id_to_hex, GroupRef, OrgId, User, UserData};
use crate::scim::schema::Kind;
use crate::store::users::Actor;
use crate::store::{self, DbConn, StoreError, StoreResult};

pub use super::read::{Groups, Loaded};
use super::read::{Search, SortKey, UserFilter};

/// A user, with their groups when asked for.
pub struct UserView {
    pub user: User,
    pub groups: Option<Vec<GroupRef>>,
}

pub fn get(conn: &mut DbConn, org: &OrgId, id: i64, groups: Groups) -> StoreResult<UserView> {
    match groups {
        Groups::Skip => Ok(UserView {
            user: store::users::get(conn, org, id)?,
            groups: None,
        }),
        Groups::Load => {
            let (user, groups) = store::users::get_with_groups(conn, org, id)?;
            Ok(UserView {
                user,
                groups: Some(groups),
            })
        }
    }
}

/// A window of the organization's users in id order (a stable order for offset paging),
/// with their groups when asked for: two statements for the page.
pub fn page(
    conn: &mut DbConn,
    org: &OrgId,
    offset: i64,
    limit: i64,
    groups: Groups,
) -> StoreResult<Loaded> {
    let (loaded, _) = search(
        conn,
        org,
        &Search {
            groups,
            ..Search::page(offset, limit)
        },
    )?;
    Ok(loaded)
}

/// The users a search selects, in its order and window, with what it brings; and how many
/// match in all when it asks. Two statements for a page (the rows, then their values, roles
/// and groups in one), one more for the total of a filtered search.
pub fn search(conn: &mut DbConn, org: &OrgId, s: &Search) -> StoreResult<(Loaded, Option<i64>)> {
    store::users::search(conn, org, &s.filter, &s.order, s.window, s.total, s.groups)
}

/// Up to `limit` users matching `filter` in `key` order after `after` (the key and id of the
/// last user of the previous page): keyset paging, exact on both backends whatever changes
/// between pages. The key of a user is `key.value_of(user)`.
pub fn page_by_key(
    conn: &mut DbConn,
    org: &OrgId,
    filter: &UserFilter,
    key: SortKey,
    after: Option<(String, i64)>,
    limit: i64,
) -> StoreResult<Loaded> {
    store::users::keyset_page(conn, org, filter, key, after, limit)
}

/// The groups a user belongs to: directly, then through nested groups.
pub fn groups_of(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<Vec<GroupRef>> {
    store::users::groups_of(conn, org, id)
}

/// Is `id` a user of `org`? (Reads the id alone.)
pub fn exists(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<bool> {
    store::users::exists(conn, org, id)
}

/// How many users the organization has (kept by triggers: no scan).
pub fn count(conn: &mut DbConn, org: &OrgId) -> StoreResult<i64> {
    Ok(store::paging::counts(conn, org)?.0)
}

/// How many users of the organization are suspended: one indexed statement.
pub fn suspended_count(conn: &mut DbConn, org: &OrgId) -> StoreResult<i64> {
    store::users::suspended_count(conn, org)
}

/// How many active users each of `orgs` has; another user of the organization (not
/// `except`) that has an email among their emails, which user a dialect that addresses
/// users by email means (Adobe; uniqueness itself is `apply_rules`').
pub use crate::store::users::{active_counts, email_owner};

/// Run `f` on user `id` of the caller's organization, locked for `purpose`, in one write
/// transaction (`NotFound` for a user not of the organization).
fn locked<T>(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    purpose: store::LockFor,
    f: impl FnOnce(&mut DbConn, User) -> StoreResult<T>,
) -> StoreResult<T> {
    store::write_tx(conn, |conn| {
        let u = store::users::lock(conn, caller.org(), id, purpose)?;
        f(conn, u)
    })
}

/// The audit entry of an invitation of `u` to its primary email (`resent`: asked for again);
/// nothing is mailed.
fn audit_invite(conn: &mut DbConn, caller: &Caller<'_>, u: &User, resent: bool) -> StoreResult<()> {
    let email = u.data.primary(crate::domain::MultiAttr::Emails);
    let mut p = json!({"userId": id_to_hex(u.id), "email": email.and_then(|e| e.value.clone())});
    if resent {
        p["resent"] = json!(true);
    }
    audit(conn, caller, Some(u.id), "User.Invite", p, Subject::None)
}

/// `audit` of a change to user `u`.
fn audit_user(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    action: &str,
    payload: serde_json::Value,
    u: &User,
) -> StoreResult<()> {
    audit(conn, caller, Some(u.id), action, payload, Subject::User(u))
}

fn payload(u: &User) -> serde_json::Value {
    json!({"userId": id_to_hex(u.id), "version": u.version})
}

/// The identity rules a write of `new` (over `old`, the stored data, or `None` for a new
/// user) must pass, in its transaction: normalisation and refusals (`rules::prepare`,
/// which also keeps derived values derived), then uniqueness of the login name, primary
/// email and primary phone number among the organization's other users — checked only for
/// the keys the write changes (so a user stored with a duplicate from before the rule can
/// still be edited), after taking their locks (`store::users::lock_unique_keys`), in one
/// indexed statement. The login-key index catches anything this misses.
pub(crate) fn apply_rules(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: Option<i64>,
    new: &mut UserData,
    old: Option<&UserData>,
) -> StoreResult<()> {
    rules::prepare(new, old).map_err(StoreError::Refused)?;
    super::extensions::apply(
        conn,
        caller,
        Kind::User,
        id,
        &mut new.extensions,
        old.map(|o| &o.extensions),
    )?;
    let keys = rules::keys_to_check(new, old);
    check_unique(conn, caller.org(), id, &keys, rules::login_key_field(new))
}

/// Refuse `keys` that another user of `org` than `except` has; a login-key collision is
/// reported as `login_field` (the email, for a user without a login name).
fn check_unique(
    conn: &mut DbConn,
    org: &OrgId,
    except: Option<i64>,
    keys: &[(UniqueField, String)],
    login_field: UniqueField,
) -> StoreResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    store::users::lock_unique_keys(conn, org, keys)?;
    match store::users::taken(conn, org, keys, except)? {
        Some((UniqueField::LoginName, _)) => Err(StoreError::Taken(login_field)),
        Some((field, _)) => Err(StoreError::Taken(field)),
        None => Ok(()),
    }
}

/// The roles `new` holds that `old` did not, and those it no longer holds (by name,
/// case-insensitively).
fn role_changes(old: Option<&UserData>, new: &UserData) -> (Vec<String>, Vec<String>) {
    let names = |d: &UserData| -> Vec<String> { d.roles.iter().map(|r| r.name.clone()).collect() };
    let had = old.map(names).unwrap_or_default();
    let has = names(new);
    let lacks = |list: &[String], n: &String| !list.iter().any(|o| o.eq_ignore_ascii_case(n));
    (
        has.iter().filter(|n| lacks(&had, n)).cloned().collect(),
        had.iter().filter(|n| lacks(&has, n)).cloned().collect(),
    )
}

/// A write's payload with the roles it grants and revokes (the audit trail shows who gave
/// whom which role: the entry's actor).
/// What a change did to each attribute a person reads, as `{attribute: [before, after]}`
/// (`null` for none), for the activity log. Long values are cut to 200 characters.
fn attribute_changes(
    before: &UserData,
    after: &UserData,
) -> serde_json::Map<String, serde_json::Value> {
    use crate::domain::MultiAttr;
    fn flat(d: &UserData) -> Vec<(String, Option<String>)> {
        let primary = |a: MultiAttr| d.primary(a).and_then(|v| v.value.clone());
        let e = &d.enterprise;
        let mut out: Vec<(String, Option<String>)> = [
            ("userName", d.user_name.clone()),
            ("displayName", d.display_name.clone()),
            ("name.givenName", d.name.given.clone()),
            ("name.middleName", d.name.middle.clone()),
            ("name.familyName", d.name.family.clone()),
            ("nickName", d.nick_name.clone()),
            ("title", d.title.clone()),
            ("userType", d.user_type.clone()),
            ("externalId", d.external_id.clone()),
            ("preferredLanguage", d.preferred_language.clone()),
            ("locale", d.locale.clone()),
            ("timezone", d.timezone.clone()),
            ("profileUrl", d.profile_url.clone()),
            ("active", Some(d.is_active().to_string())),
            ("emails", primary(MultiAttr::Emails)),
            ("phoneNumbers", primary(MultiAttr::PhoneNumbers)),
            ("department", e.department.clone()),
            ("organization", e.organization.clone()),
            ("division", e.division.clone()),
            ("costCenter", e.cost_center.clone()),
            ("employeeNumber", e.employee_number.clone()),
            ("manager", e.manager.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut roles: Vec<&str> = d.roles.iter().map(|r| r.name.as_str()).collect();
        roles.sort_unstable();
        out.push((
            "roles".into(),
            (!roles.is_empty()).then(|| roles.join(", ")),
        ));
        for (urn, obj) in &d.extensions {
            for (k, v) in obj.as_object().into_iter().flatten() {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.push((format!("{urn}:{k}"), Some(text)));
            }
        }
        out
    }
    let cut = |v: Option<String>| match v {
        Some(s) if s.chars().count() > 200 => {
            json!(format!("{}…", s.chars().take(200).collect::<String>()))
        }
        Some(s) => json!(s),
        None => serde_json::Value::Null,
    };
    let (b, a) = (flat(before), flat(after));
    let old: std::collections::HashMap<&str, &Option<String>> =
        b.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let new: std::collections::HashMap<&str, &Option<String>> =
        a.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = serde_json::Map::new();
    for (k, _) in b.iter().chain(a.iter()) {
        let (was, now) = (
            old.get(k.as_str()).and_then(|v| (*v).clone()),
            new.get(k.as_str()).and_then(|v| (*v).clone()),
        );
        if was != now && !out.contains_key(k) && out.len() < 50 {
            out.insert(k.clone(), json!([cut(was), cut(now)]));
        }
    }
    out
}

fn with_roles(
    mut p: serde_json::Value,
    granted: &[String],
    revoked: &[String],
) -> serde_json::Value {
    if let Some(o) = p.as_object_mut() {
        if !granted.is_empty() {
            o.insert("rolesGranted".into(), json!(granted));
        }
        if !revoked.is_empty() {
            o.insert("rolesRevoked".into(), json!(revoked));
        }
    }
    p
}

/// Create a user. `Conflict` when the user name is taken in the organization.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    data: &UserData,
    password: Option<NewPassword>,
) -> StoreResult<User> {
    create_checked(conn, caller, data, password, |_| Ok::<_, StoreError>(()))
}

/// `create`, with `check` run first inside the write transaction: its error aborts the
/// create. The identity rules (`apply_rules`) run after it, for every create.
pub fn create_checked<E, G>(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    data: &UserData,
    password: Option<NewPassword>,
    check: G,
) -> Result<User, E>
where
    E: From<StoreError>,
    G: FnOnce(&mut DbConn) -> Result<(), E>,
{
    let mut data = data.clone();
    rules::prepare(&mut data, None).map_err(StoreError::Refused)?;
    let hash = password
        .map(|p| hash_password(conn, p, caller.bcrypt_cost))
        .transpose()?;
    let who = caller.actor();
    store::write_tx(conn, |conn| {
        check(conn)?;
        apply_rules(conn, caller, None, &mut data, None)?;
        let (granted, _) = role_changes(None, &data);
        super::roles::check_grant(conn, caller, &granted)?;
        let u = store::users::insert(conn, caller.org(), &data, hash.as_ref(), Actor(&who))?;
        audit_user(
            conn,
            caller,
            "User.Create",
            with_roles(payload(&u), &granted, &[]),
            &u,
        )?;
        Ok(u)
    })
}

/// Create many users without passwords in one transaction, with their audit entries, in
/// multi-row INSERTs (SCIM Bulk). `Conflict` when a user name is taken: nothing is written.
pub fn create_many(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    all: &[&UserData],
) -> StoreResult<Vec<User>> {
    let who = caller.actor();
    let mut prepared: Vec<UserData> = Vec::with_capacity(all.len());
    for d in all {
        let mut d = (*d).clone();
        rules::prepare(&mut d, None).map_err(StoreError::Refused)?;
        prepared.push(d);
    }
    // Two of the batch with one email or phone number are a conflict as much as one
    // already stored (a set: a linear search made a batch of 1,000 quadratic).
    let mut keys: Vec<(UniqueField, String)> = Vec::new();
    let mut seen: std::collections::HashSet<(UniqueField, String)> = Default::default();
    for d in &prepared {
        for k in rules::keys_to_check(d, None) {
            if k.0 != UniqueField::LoginName && !seen.insert(k.clone()) {
                return Err(StoreError::Taken(k.0));
            }
            keys.push(k);
        }
    }
    store::write_tx(conn, |conn| {
        let mut unique = std::collections::HashSet::new();
        for d in prepared.iter_mut() {
            super::extensions::apply(conn, caller, Kind::User, None, &mut d.extensions, None)?;
            for (path, key) in
                super::extensions::unique_keys(conn, caller, Kind::User, &d.extensions)?
            {
                if !unique.insert((path.clone(), key.clone())) {
                    return Err(StoreError::Conflict(format!(
                        "{path} {key:?} is already another user's"
                    )));
                }
            }
        }
        check_unique(conn, caller.org(), None, &keys, UniqueField::LoginName)?;
        let mut granted: Vec<String> = Vec::new();
        for d in &prepared {
            granted.extend(role_changes(None, d).0);
        }
        super::roles::check_grant(conn, caller, &granted)?;
        let refs: Vec<&UserData> = prepared.iter().collect();
        let users = store::users::insert_many(conn, caller.org(), &refs, Actor(&who))?;
        super::audit_many(
            conn,
            caller,
            "User.Create",
            users
                .iter()
                .map(|u| (Some(u.id), payload(u), Subject::User(u))),
        )?;
        Ok(users)
    })
}

/// What the rule book would say to creating each of `all` (an import's preview), without
/// writing: normalisation and refusals (`rules::prepare`), uniqueness among the
/// organization's users (one indexed statement a user) and within `all` itself (the second
/// of two with one key is refused). `None` for a user `create_many` would accept now; the
/// data is returned normalised, as it would be stored.
pub fn check_new(
    conn: &mut DbConn,
    org: &OrgId,
    all: &[UserData],
) -> StoreResult<Vec<(UserData, Option<StoreError>)>> {
    let mut seen: std::collections::HashSet<(UniqueField, String)> = Default::default();
    let mut out = Vec::with_capacity(all.len());
    for d in all {
        let mut d = d.clone();
        if let Err(r) = rules::prepare(&mut d, None) {
            out.push((d, Some(StoreError::Refused(r))));
            continue;
        }
        let keys = rules::keys_to_check(&d, None);
        let login = rules::login_key_field(&d);
        let field = |f: UniqueField| {
            if f == UniqueField::LoginName {
                login
            } else {
                f
            }
        };
        let error = if let Some((f, _)) = keys.iter().find(|k| seen.contains(*k)) {
            Some(StoreError::Taken(field(*f)))
        } else {
            store::users::taken(conn, org, &keys, None)?.map(|(f, _)| StoreError::Taken(field(f)))
        };
        seen.extend(keys);
        out.push((d, error));
    }
    Ok(out)
}

/// Create a user and record that they were invited (Domo's `sendInvite`): one transaction,
/// two audit entries. Nothing is mailed; the `User.Invite` entry is the invitation.
pub fn create_and_invite(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    data: &UserData,
) -> StoreResult<User> {
    let who = caller.actor();
    let mut data = data.clone();
    store::write_tx(conn, |conn| {
        apply_rules(conn, caller, None, &mut data, None)?;
        let (granted, _) = role_changes(None, &data);
        super::roles::check_grant(conn, caller, &granted)?;
        let u = store::users::insert(conn, caller.org(), &data, None, Actor(&who))?;
        audit_user(conn, caller, "User.Create", payload(&u), &u)?;
        audit_invite(conn, caller, &u, false)?;
        Ok(u)
    })
}

/// Change a user: `change` computes the new data from the current user, read under the
/// row lock in the same transaction, so concurrent changes apply one after the other.
/// `expected` is the version the caller insists on (`If-Match`). When the new data equals
/// the old and no password is set, nothing is written: no version bump, no audit entry.
pub fn update<E, F>(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    expected: &Expect,
    password: Option<NewPassword>,
    change: F,
) -> Result<Changed<User>, E>
where
    E: From<StoreError>,
    F: FnOnce(&User) -> Result<UserData, E>,
{
    let change = |_: &mut DbConn, u: &User| change(u);
    update_as(conn, caller, id, expected, password, "User.Update", change)
}

/// `update` recorded as `action`, with `change` also given the connection (inside the
/// transaction, after the lock) for checks of its own.
pub fn update_as<E, F>(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    expected: &Expect,
    password: Option<NewPassword>,
    action: &str,
    change: F,
) -> Result<Changed<User>, E>
where
    E: From<StoreError>,
    F: FnOnce(&mut DbConn, &User) -> Result<UserData, E>,
{
    let hash = password
        .map(|p| hash_password(conn, p, caller.bcrypt_cost))
        .transpose()?;
    let who = caller.actor();
    store::write_tx(conn, |conn| {
        let current = store::users::lock(conn, caller.org(), id, store::LockFor::Change)?;
        check_version(expected, current.version)?;
        let mut data = change(conn, &current)?;
        if data == current.data && hash.is_none() {
            return Ok(Changed {
                value: current,
                changed: false,
                skipped: vec![],
            });
        }
        apply_rules(conn, caller, Some(id), &mut data, Some(&current.data))?;
        let (granted, revoked) = role_changes(Some(&current.data), &data);
        super::roles::check_grant(conn, caller, &granted)?;
        let u = store::users::write(conn, &current, &data, hash.as_ref(), Actor(&who))?;
        if hash.is_some() && caller.principal.user_id != Some(id) {
            // Credentials follow passwords: whoever changed it, through whichever caller,
            // the user's console sessions signed in with the old one end with it. (A user
            // changing their own keeps the session doing it.)
            store::console_sessions::delete_for_user(conn, caller.org(), id)?;
        }
        let subject = Subject::UserUpdate {
            before: &current,
            after: &u,
        };
        let mut p = with_roles(payload(&u), &granted, &revoked);
        let changed = attribute_changes(&current.data, &u.data);
        if !changed.is_empty() {
            p["changes"] = serde_json::Value::Object(changed);
        }
        audit(conn, caller, Some(u.id), action, p, subject)?;
        Ok(Changed {
            value: u,
            changed: true,
            skipped: vec![],
        })
    })
}

/// `update_as` for a change that needs no connection and cannot fail.
fn update_plain(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    password: Option<NewPassword>,
    action: &str,
    change: impl FnOnce(&User) -> UserData,
) -> StoreResult<Changed<User>> {
    update_as(conn, caller, id, &Expect::Any, password, action, |_, u| {
        Ok::<_, StoreError>(change(u))
    })
}

/// Suspend or reinstate a user (Logto's `isSuspended`, Sumo's `isActive`, Domo's and
/// Adobe's status): `active` is the one column every dialect reads.
pub fn set_active(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    active: bool,
) -> StoreResult<Changed<User>> {
    let action = if active {
        "User.Reinstate"
    } else {
        "User.Suspend"
    };
    update_plain(conn, caller, id, None, action, |u| UserData {
        active: Some(active),
        ..u.data.clone()
    })
}

/// Set a new password (cleartext hashed with bcrypt, or an imported digest).
pub fn set_password(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    password: NewPassword,
) -> StoreResult<User> {
    update_plain(conn, caller, id, Some(password), "User.Password", |u| {
        u.data.clone()
    })
    .map(|c| c.value)
}

/// Does `plain` match the user's password? `false` when they have none; the hash runs on
/// the request's blocking thread. Imported digests are checked with their own algorithm
/// (`passwords::verify`); unknown algorithms never match.
pub fn verify_password(conn: &mut DbConn, org: &OrgId, id: i64, plain: &str) -> StoreResult<bool> {
    let Some(stored) = store::users::password_of(conn, org, id)? else {
        return Ok(false);
    };
    Ok(super::passwords::verify(&stored, plain))
}

/// The stored password digests of `ids` (users of the caller's organization; a user without
/// a password is absent), for a caller that asks to see them (Logto's
/// `includePasswordHash`). A digest is a secret: only a caller holding `users:write` may read
/// one, and each read is recorded in the audit trail (`PasswordHash.Read`, one entry per
/// user, in one transaction with the reads), whoever asks.
pub fn read_password_hashes(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    ids: &[i64],
) -> StoreResult<std::collections::HashMap<i64, crate::domain::PasswordHash>> {
    if !caller.principal.has(crate::domain::Scope::UsersWrite) {
        return Err(StoreError::Forbidden(
            "reading password digests needs the users:write scope".into(),
        ));
    }
    store::write_tx(conn, |conn| {
        let mut out = std::collections::HashMap::new();
        for id in ids {
            if let Some(h) = store::users::password_of(conn, caller.org(), *id)? {
                out.insert(*id, h);
            }
        }
        super::audit_many(
            conn,
            caller,
            "PasswordHash.Read",
            ids.iter().map(|id| {
                let algorithm = out.get(id).map(|h| h.algorithm.clone());
                (
                    Some(*id),
                    json!({"userId": id_to_hex(*id), "algorithm": algorithm}),
                    Subject::None,
                )
            }),
        )?;
        Ok(out)
    })
}

/// Delete a user; `expected` as in `update`.
pub fn delete(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    expected: &Expect,
) -> StoreResult<()> {
    delete_as(conn, caller, id, expected, json!({}))
}

/// Replace a user's custom data (Logto's `customData`, a JSON object), leaving the rest.
pub fn set_custom_data(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    custom_data: serde_json::Value,
) -> StoreResult<Changed<User>> {
    if !custom_data.is_object() {
        return Err(StoreError::Invalid(
            "custom data must be a JSON object".into(),
        ));
    }
    update_plain(conn, caller, id, None, "User.CustomData", |u| {
        let mut data = u.data.clone();
        data.vendor.custom_data = custom_data;
        data
    })
}

/// Give a user a role by name (created in the organization if it does not exist);
/// assigning a role the user has is no change.
pub fn assign_role(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    role: &str,
) -> StoreResult<Changed<User>> {
    let role = role.trim();
    if role.is_empty() || role.len() > 256 {
        return Err(StoreError::Invalid(
            "a role name is 1 to 256 characters".into(),
        ));
    }
    update_plain(conn, caller, id, None, "User.Role.Assign", |u| {
        let mut data = u.data.clone();
        if !data
            .roles
            .iter()
            .any(|r| r.name.to_lowercase() == role.to_lowercase())
        {
            data.roles.push(crate::domain::RoleValue {
                name: role.to_string(),
                display: None,
                kind: None,
                primary: None,
            });
        }
        data
    })
}

/// Take a role from a user; a role the user lacks is no change.
pub fn unassign_role(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    role: &str,
) -> StoreResult<Changed<User>> {
    update_plain(conn, caller, id, None, "User.Role.Unassign", |u| {
        let mut data = u.data.clone();
        let key = role.trim().to_lowercase();
        data.roles.retain(|r| r.name.to_lowercase() != key);
        data
    })
}

/// Link a user to an identity at an external target (Logto's social identities): one per
/// target, replaced when linked again. Whether the target is new to the user.
pub fn link_identity(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    identity: &crate::domain::Identity,
) -> StoreResult<bool> {
    locked(conn, caller, id, store::LockFor::Change, |conn, u| {
        let created = store::identities::upsert(conn, &u, identity)?;
        audit_user(
            conn,
            caller,
            "User.Identity.Link",
            json!({"userId": id_to_hex(id), "target": identity.target}),
            &u,
        )?;
        Ok(created)
    })
}

/// Remove a user's identity at `target`; `NotFound` when there is none.
pub fn unlink_identity(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    target: &str,
) -> StoreResult<()> {
    locked(conn, caller, id, store::LockFor::Change, |conn, u| {
        if !store::identities::delete(conn, id, target)? {
            return Err(StoreError::NotFound);
        }
        audit_user(
            conn,
            caller,
            "User.Identity.Unlink",
            json!({"userId": id_to_hex(id), "target": target}),
            &u,
        )
    })
}

/// A user's identities, by target.
pub fn identities(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
) -> StoreResult<Vec<crate::domain::Identity>> {
    store::users::get(conn, org, id)?;
    store::identities::of_user(conn, id)
}

/// The user Adobe means by `key`: the one with that email (any of theirs), else with that
/// login name, case-insensitively.
pub fn find_by_key(conn: &mut DbConn, org: &OrgId, key: &str) -> StoreResult<Option<i64>> {
    store::users::find_by_key(conn, org, key)
}

/// A window of the users `among` shows, in id order, with their groups when asked for, and
/// how many there are in all: three statements.
pub fn page_among(
    conn: &mut DbConn,
    org: &OrgId,
    among: &super::read::Among,
    offset: i64,
    limit: i64,
    groups: Groups,
) -> StoreResult<(Loaded, i64)> {
    let (loaded, total) = search(
        conn,
        org,
        &Search {
            filter: UserFilter::among(among.clone()),
            total: true,
            groups,
            ..Search::page(offset, limit)
        },
    )?;
    Ok((loaded, total.unwrap_or(0)))
}

/// Delete a user, recording `details` (such as Sumo Logic's `transferTo` / `deleteContent`)
/// in the audit entry.
pub fn delete_recorded(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    details: serde_json::Value,
) -> StoreResult<()> {
    delete_as(conn, caller, id, &Expect::Any, details)
}

fn delete_as(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    expected: &Expect,
    details: serde_json::Value,
) -> StoreResult<()> {
    locked(conn, caller, id, store::LockFor::Delete, |conn, current| {
        check_version(expected, current.version)?;
        store::users::delete(conn, id)?;
        let mut p = payload(&current);
        if let (Some(o), serde_json::Value::Object(d)) = (p.as_object_mut(), details) {
            o.extend(d);
        }
        audit_user(conn, caller, "User.Delete", p, &current)
    })
}

/// How long a pending email change waits for confirmation (Sumo Logic: 7 days).
pub const EMAIL_CHANGE_TTL_DAYS: i64 = 7;
/// How long a password reset stays pending.
pub const PASSWORD_RESET_TTL_HOURS: i64 = 24;

/// Record that user `id`'s email is to become `email` once confirmed (nothing is mailed;
/// `confirm_email_change` applies it). `Conflict` when another user has that email.
pub fn request_email_change(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    email: &str,
) -> StoreResult<store::user_requests::Pending> {
    let who = caller.actor();
    locked(conn, caller, id, store::LockFor::Change, |conn, u| {
        // The email it would become must pass the rules now too (refused early, not only
        // at confirmation).
        let mut d = u.data.clone();
        d.set_primary_email(Some(email.to_string()));
        apply_rules(conn, caller, Some(id), &mut d, Some(&u.data))?;
        let p = store::user_requests::put(
            conn,
            caller.org(),
            id,
            store::user_requests::EMAIL_CHANGE,
            Some(email),
            &who,
            chrono::Duration::days(EMAIL_CHANGE_TTL_DAYS),
        )?;
        audit(
            conn,
            caller,
            Some(id),
            "User.Email.RequestChange",
            json!({"userId": id_to_hex(id), "email": email,
                   "expiresAt": p.expires_at.and_utc().to_rfc3339()}),
            Subject::None,
        )?;
        Ok(p)
    })
}

/// Apply user `id`'s pending email change: the primary email becomes the requested one.
/// `NotFound` when there is none (or it expired); `expected` as in `update`.
pub fn confirm_email_change(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    expected: &Expect,
) -> StoreResult<User> {
    store::write_tx(conn, |conn| {
        let pending =
            store::user_requests::get(conn, caller.org(), id, store::user_requests::EMAIL_CHANGE)?
                .ok_or(StoreError::NotFound)?;
        let email = pending.email.clone().unwrap_or_default();
        let changed = update_as(
            conn,
            caller,
            id,
            expected,
            None,
            "User.Email.Confirm",
            |_, u| {
                let mut d = u.data.clone();
                d.set_primary_email(Some(email.clone()));
                Ok::<_, StoreError>(d)
            },
        )?;
        store::user_requests::remove(conn, id, store::user_requests::EMAIL_CHANGE)?;
        Ok(changed.value)
    })
}

/// Record a password reset for user `id` (nothing is mailed; the entry is the request).
pub fn request_password_reset(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
) -> StoreResult<store::user_requests::Pending> {
    let who = caller.actor();
    locked(conn, caller, id, store::LockFor::Change, |conn, _| {
        let p = store::user_requests::put(
            conn,
            caller.org(),
            id,
            store::user_requests::PASSWORD_RESET,
            None,
            &who,
            chrono::Duration::hours(PASSWORD_RESET_TTL_HOURS),
        )?;
        audit(
            conn,
            caller,
            Some(id),
            "User.Password.Reset",
            json!({"userId": id_to_hex(id), "expiresAt": p.expires_at.and_utc().to_rfc3339()}),
            Subject::None,
        )?;
        Ok(p)
    })
}

/// Record that a welcome (invitation) email was asked for again; nothing is mailed.
pub fn resend_welcome(conn: &mut DbConn, caller: &Caller<'_>, id: i64) -> StoreResult<()> {
    locked(conn, caller, id, store::LockFor::Change, |conn, u| {
        audit_invite(conn, caller, &u, true)
    })
}

/// Clear a user's lock (after failed logins).
pub fn unlock(conn: &mut DbConn, caller: &Caller<'_>, id: i64) -> StoreResult<Changed<User>> {
    update_plain(conn, caller, id, None, "User.Unlock", |u| {
        let mut d = u.data.clone();
        d.vendor.is_locked = false;
        d
    })
}

/// Turn a user's MFA off, after checking the user's own email and password (Sumo Logic's
/// `mfa/disable`). `Invalid` when they do not match.
pub fn disable_mfa(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    email: &str,
    password: &str,
) -> StoreResult<Changed<User>> {
    let u = store::users::get(conn, caller.org(), id)?;
    let email_ok = u
        .data
        .primary(crate::domain::MultiAttr::Emails)
        .and_then(|e| e.value.as_ref())
        .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()));
    // The password is checked even when the email is wrong: the time says nothing.
    let password_ok = verify_password(conn, caller.org(), id, password)?;
    if !(email_ok && password_ok) {
        return Err(StoreError::Invalid(
            "the email and password are not the user's".into(),
        ));
    }
    update_plain(conn, caller, id, None, "User.Mfa.Disable", |u| {
        let mut d = u.data.clone();
        d.vendor.mfa_enabled = false;
        d
    })
}
