//! Groups and their members. Membership changes are row deltas: adding or removing members
//! touches only those rows, and concurrent deltas to one group queue on its row lock.

use crate::scim::schema::Kind;
use serde_json::json;

use super::read::{GroupFilter, GroupSearch};
use super::{audit, check_version, Caller, Changed, Expect, Subject};
use crate::domain::{id_to_hex, Group, GroupData, MemberChange, OrgId, UnknownMembers};
use crate::store::{self, DbConn, StoreError, StoreResult};

/// Whether a read or change brings the member list (one more statement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    Skip,
    Load,
}

pub fn get(conn: &mut DbConn, org: &OrgId, id: i64, members: Members) -> StoreResult<Group> {
    store::groups::get(conn, org, id, members == Members::Load)
}

/// A window of the organization's groups in id order (stable for offset paging).
pub fn page(conn: &mut DbConn, org: &OrgId, offset: i64, limit: i64) -> StoreResult<Vec<Group>> {
    let (groups, _) = search(conn, org, &GroupSearch::page(offset, limit))?;
    Ok(groups)
}

/// The groups a search selects, in its order and window (with their members when it asks:
/// one statement for the page's), and how many match in all when it asks.
pub fn search(
    conn: &mut DbConn,
    org: &OrgId,
    s: &GroupSearch,
) -> StoreResult<(Vec<Group>, Option<i64>)> {
    store::groups::query(conn, org, &s.filter, &s.order, s.window, s.members, s.total)
}

/// A group's members (users and nested groups).
pub fn members(conn: &mut DbConn, id: i64) -> StoreResult<Vec<crate::domain::Member>> {
    store::groups::members(conn, id)
}

/// How many groups the organization has: one statement.
pub fn count(conn: &mut DbConn, org: &OrgId) -> StoreResult<i64> {
    store::groups::count(conn, org)
}

/// How many users each group has directly (nested groups not counted), by group id.
pub fn user_counts(
    conn: &mut DbConn,
    groups: &[Group],
) -> StoreResult<std::collections::HashMap<i64, i64>> {
    let ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
    store::groups::user_counts(conn, &ids)
}

/// How many groups are nested directly in each group, by group id.
pub fn group_counts(
    conn: &mut DbConn,
    groups: &[Group],
) -> StoreResult<std::collections::HashMap<i64, i64>> {
    let ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
    store::groups::group_counts(conn, &ids)
}

/// The groups nested directly in group `id` (id and name), by name.
pub fn member_groups(conn: &mut DbConn, id: i64) -> StoreResult<Vec<(i64, String)>> {
    store::groups::member_groups(conn, id)
}

/// A window of the ids of the users directly in group `id`, in id order; `NotFound` when
/// the organization has no such group.
pub fn user_ids(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
    offset: i64,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    store::groups::user_ids(conn, org, id, offset, limit)
}

/// Which of a change's named members is missing: the group (`Group`) or the user (`User`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Group,
    User,
}

/// Add user `user` to group `id` (a dialect that addresses one user of a group by path, as
/// Domo's `PUT /v1/groups/{g}/users/{u}` does): `Err(Missing)` names what does not exist,
/// so a group id in the user's place never nests a group.
pub fn add_user(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    user: i64,
) -> StoreResult<Result<Changed<Group>, Missing>> {
    user_change(conn, caller, id, user, true)
}

/// Remove user `user` from group `id`; a user who is not a member is no change.
pub fn remove_user(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    user: i64,
) -> StoreResult<Result<Changed<Group>, Missing>> {
    user_change(conn, caller, id, user, false)
}

fn user_change(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    user: i64,
    add: bool,
) -> StoreResult<Result<Changed<Group>, Missing>> {
    let change = if add {
        MemberChange {
            add: vec![user],
            ..MemberChange::default()
        }
    } else {
        MemberChange {
            remove: vec![user],
            ..MemberChange::default()
        }
    };
    let org = caller.org().clone();
    store::write_tx(conn, |conn| {
        let current = match store::groups::lock(conn, &org, id, store::LockFor::Change) {
            Ok(g) => g,
            Err(StoreError::NotFound) => return Ok(Err(Missing::Group)),
            Err(e) => return Err(e),
        };
        if !store::users::exists(conn, &org, user)? {
            return Ok(Err(Missing::User));
        }
        let w = store::groups::write(conn, &current, &current.data, &change)?;
        if w.changed {
            let done = without_skipped(&change, &w.skipped);
            let subject = Subject::Group {
                group: &w.group,
                data_changed: false,
                members: Some(&done),
            };
            audit(
                conn,
                caller,
                None,
                "Group.Update",
                payload(&w.group),
                subject,
            )?;
        }
        Ok(Ok(Changed {
            value: w.group,
            changed: w.changed,
            skipped: w.skipped,
        }))
    })
}

fn payload(g: &Group) -> serde_json::Value {
    json!({"groupId": id_to_hex(g.id), "version": g.version})
}

/// The membership change that was made: `delta` without the ids skipped as unknown (an
/// event names only members that exist).
fn without_skipped(delta: &MemberChange, skipped: &[i64]) -> MemberChange {
    let mut done = delta.clone();
    if !skipped.is_empty() {
        done.add.retain(|m| !skipped.contains(m));
    }
    done
}

/// At most this many skipped ids are listed in an audit entry (all are counted).
const SKIPPED_SHOWN: usize = 100;

/// `payload`, with the member ids the change left out as unknown, if any.
fn payload_skipping(g: &Group, skipped: &[i64]) -> serde_json::Value {
    let mut p = payload(g);
    if !skipped.is_empty() {
        p["skippedMembers"] = json!(skipped
            .iter()
            .take(SKIPPED_SHOWN)
            .map(|&id| id_to_hex(id))
            .collect::<Vec<_>>());
        p["skippedMemberCount"] = json!(skipped.len());
    }
    p
}

/// Create a group with members. `Conflict` when the name is taken; `Invalid` names an
/// unknown member.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    data: &GroupData,
    members: &[i64],
) -> StoreResult<Group> {
    create_with(conn, caller, data, members, UnknownMembers::Reject).map(|(g, _)| g)
}

/// `create`, with `unknown` saying what an unknown member id does: refuses the create
/// (`Invalid`), or is left out, listed in the audit entry and returned.
pub fn create_with(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    data: &GroupData,
    members: &[i64],
    unknown: UnknownMembers,
) -> StoreResult<(Group, Vec<i64>)> {
    store::write_tx(conn, |conn| {
        let mut data = data.clone();
        let ext = &mut data.extensions;
        super::extensions::apply(conn, caller, Kind::Group, None, ext, None)?;
        let (g, skipped) = store::groups::insert(conn, caller.org(), &data, members, unknown)?;
        let added = MemberChange::replace_with(
            members
                .iter()
                .copied()
                .filter(|m| !skipped.contains(m))
                .collect(),
        );
        let subject = Subject::Group {
            group: &g,
            data_changed: true,
            members: Some(&added),
        };
        audit(
            conn,
            caller,
            None,
            "Group.Create",
            payload_skipping(&g, &skipped),
            subject,
        )?;
        Ok((g, skipped))
    })
}

/// Change a group: `change` sees the current group (with its members when `input` says so),
/// read under the row lock, and returns the new data and the membership delta.
/// `expected` as for users. The result carries members when `output` asks for them.
pub fn update<E, F>(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    expected: &Expect,
    input: Members,
    output: Members,
    change: F,
) -> Result<Changed<Group>, E>
where
    E: From<StoreError>,
    F: FnOnce(&Group) -> Result<(GroupData, MemberChange), E>,
{
    let org = caller.org().clone();
    let result: Changed<Group> = store::write_tx(conn, |conn| {
        let mut current = store::groups::lock(conn, &org, id, store::LockFor::Change)?;
        check_version(expected, current.version)?;
        if input == Members::Load {
            current.members = Some(store::groups::members(conn, id)?);
        }
        let (mut data, delta) = change(&current)?;
        if data.extensions != current.data.extensions {
            let (ext, old) = (&mut data.extensions, Some(&current.data.extensions));
            super::extensions::apply(conn, caller, Kind::Group, Some(id), ext, old)?;
        }
        let w = store::groups::write(conn, &current, &data, &delta)?;
        // A change that only named unknown members changes nothing (and fires no event), but
        // its entry still tells an operator which ids were left out.
        if w.changed || !w.skipped.is_empty() {
            let mut entry = payload_skipping(&w.group, &w.skipped);
            let done = without_skipped(&delta, &w.skipped);
            // Who was added or removed, for the activity log (the first ones, and how many).
            for (key, ids) in [
                ("membersAdded", &done.add),
                ("membersRemoved", &done.remove),
            ] {
                if !ids.is_empty() {
                    let shown: Vec<String> = ids
                        .iter()
                        .take(SKIPPED_SHOWN)
                        .map(|&id| id_to_hex(id))
                        .collect();
                    entry[key] = json!(shown);
                    entry[format!("{key}Count")] = json!(ids.len());
                }
            }
            if done.clear {
                entry["membersReplaced"] = json!(true);
            }
            let subject = if w.changed {
                Subject::Group {
                    group: &w.group,
                    data_changed: data != current.data,
                    members: Some(&done),
                }
            } else {
                entry["changed"] = json!(false);
                Subject::None
            };
            audit(conn, caller, None, "Group.Update", entry, subject)?;
        }
        let mut g = w.group;
        // Read in the transaction, so the members shown are those of the version shown.
        if output == Members::Load {
            g.members = Some(store::groups::members(conn, id)?);
        }
        Ok::<_, E>(Changed {
            value: g,
            changed: w.changed,
            skipped: w.skipped,
        })
    })?;
    Ok(result)
}

/// Add members (a row delta; members already there are left alone).
pub fn add_members(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    members: &[i64],
) -> StoreResult<Changed<Group>> {
    delta(conn, caller, id, members.to_vec(), vec![])
}

/// Remove members (a row delta; ids that are not members are ignored).
pub fn remove_members(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    members: &[i64],
) -> StoreResult<Changed<Group>> {
    delta(conn, caller, id, vec![], members.to_vec())
}

fn delta(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    add: Vec<i64>,
    remove: Vec<i64>,
) -> StoreResult<Changed<Group>> {
    let change = MemberChange {
        add,
        remove,
        ..MemberChange::default()
    };
    update(
        conn,
        caller,
        id,
        &Expect::Any,
        Members::Skip,
        Members::Skip,
        |g: &Group| Ok::<_, StoreError>((g.data.clone(), change)),
    )
}

/// Delete a group; `expected` as in `update`.
pub fn delete(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: i64,
    expected: &Expect,
) -> StoreResult<()> {
    store::write_tx(conn, |conn| {
        let current = store::groups::lock(conn, caller.org(), id, store::LockFor::Delete)?;
        check_version(expected, current.version)?;
        store::groups::delete(conn, id)?;
        let subject = Subject::Group {
            group: &current,
            data_changed: true,
            members: None,
        };
        audit(
            conn,
            caller,
            None,
            "Group.Delete",
            payload(&current),
            subject,
        )
    })
}

/// The organization's groups named `names` (case-insensitively), by lower-cased name.
pub fn find_by_names(
    conn: &mut DbConn,
    org: &OrgId,
    names: &[String],
) -> StoreResult<std::collections::HashMap<String, Group>> {
    store::groups::find_by_names(conn, org, names)
}

/// A window of the organization's groups of `kinds` (every kind when empty), in id order,
/// and how many there are in all: two statements.
pub fn page_of_kinds(
    conn: &mut DbConn,
    org: &OrgId,
    kinds: &[crate::domain::GroupKind],
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<Group>, i64)> {
    let (groups, total) = search(
        conn,
        org,
        &GroupSearch {
            filter: GroupFilter::of_kinds(kinds),
            total: true,
            ..GroupSearch::page(offset, limit)
        },
    )?;
    Ok((groups, total.unwrap_or(0)))
}
