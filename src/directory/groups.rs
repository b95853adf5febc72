//! Groups and their members. Membership changes are row deltas: adding or removing members
//! touches only those rows, and concurrent deltas to one group queue on its row lock.

use serde_json::json;

use super::{audit, check_version, Caller, Changed, Expect};
use crate::domain::{id_to_hex, Group, GroupData, MemberChange, OrgId};
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

fn payload(g: &Group) -> serde_json::Value {
    json!({"groupId": id_to_hex(g.id), "version": g.version})
}

/// Create a group with members. `Conflict` when the name is taken; `Invalid` names an
/// unknown member.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    data: &GroupData,
    members: &[i64],
) -> StoreResult<Group> {
    store::write_tx(conn, |conn| {
        let g = store::groups::insert(conn, caller.org(), data, members)?;
        audit(conn, caller, None, "Group.Create", payload(&g))?;
        Ok(g)
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
        let (data, delta) = change(&current)?;
        let (mut g, changed) = store::groups::write(conn, &current, &data, &delta)?;
        if changed {
            audit(conn, caller, None, "Group.Update", payload(&g))?;
        }
        // Read in the transaction, so the members shown are those of the version shown.
        if output == Members::Load {
            g.members = Some(store::groups::members(conn, id)?);
        }
        Ok::<_, E>(Changed { value: g, changed })
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
        clear: false,
        add,
        remove,
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
        audit(conn, caller, None, "Group.Delete", payload(&current))
    })
}
