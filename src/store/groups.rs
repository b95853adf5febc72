//! Groups and their memberships, one row per member: adding or removing members touches only
//! those rows; members are read only when asked for.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{group_groups, group_users, groups, users};
use super::{new_id, now, DbConn, StoreError, StoreResult};
use crate::domain::{Group, GroupData, Member, MemberChange, MemberKind, OrgId};

type Row = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    NaiveDateTime,
    NaiveDateTime,
);

macro_rules! row_columns {
    () => {
        (
            groups::id,
            groups::org_id,
            groups::display_name,
            groups::external_id,
            groups::description,
            groups::version,
            groups::created_at,
            groups::updated_at,
        )
    };
}

fn from_row(r: Row) -> StoreResult<Group> {
    Ok(Group {
        id: r.0,
        org_id: OrgId::parse(&r.1).map_err(StoreError::Conflict)?,
        data: GroupData {
            display_name: r.2,
            external_id: r.3,
            description: r.4,
        },
        members: None,
        version: r.5,
        created_at: r.6,
        updated_at: r.7,
    })
}

fn conflict(e: diesel::result::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("displayName is already taken".into()),
        other => other,
    }
}

/// A membership row another writer inserted meanwhile: recompute on the new state.
fn raced(e: diesel::result::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::VersionMismatch,
        other => other,
    }
}

fn kind_of(conn: &mut DbConn, org: &OrgId, id: i64) -> StoreResult<Option<MemberKind>> {
    let is_user: i64 = users::table
        .filter(users::id.eq(id))
        .filter(users::org_id.eq(org.as_str()))
        .count()
        .get_result(conn)?;
    if is_user > 0 {
        return Ok(Some(MemberKind::User));
    }
    let is_group: i64 = groups::table
        .filter(groups::id.eq(id))
        .filter(groups::org_id.eq(org.as_str()))
        .count()
        .get_result(conn)?;
    Ok((is_group > 0).then_some(MemberKind::Group))
}

/// Apply a membership change to group `gid`: only the named rows are read or written.
/// Returns whether anything changed; `Err(Conflict)` names an unknown member.
fn change_members(
    conn: &mut DbConn,
    org: &OrgId,
    gid: i64,
    change: &MemberChange,
) -> StoreResult<bool> {
    let mut changed = false;
    if change.clear {
        changed |= diesel::delete(group_users::table.filter(group_users::group_id.eq(gid)))
            .execute(conn)?
            > 0;
        changed |= diesel::delete(group_groups::table.filter(group_groups::group_id.eq(gid)))
            .execute(conn)?
            > 0;
    }
    if !change.remove.is_empty() {
        changed |= diesel::delete(
            group_users::table
                .filter(group_users::group_id.eq(gid))
                .filter(group_users::user_id.eq_any(&change.remove)),
        )
        .execute(conn)?
            > 0;
        changed |= diesel::delete(
            group_groups::table
                .filter(group_groups::group_id.eq(gid))
                .filter(group_groups::member_group_id.eq_any(&change.remove)),
        )
        .execute(conn)?
            > 0;
    }
    let t = now();
    for &mid in &change.add {
        match kind_of(conn, org, mid)? {
            Some(MemberKind::User) => {
                let exists: i64 = group_users::table
                    .filter(group_users::group_id.eq(gid))
                    .filter(group_users::user_id.eq(mid))
                    .count()
                    .get_result(conn)?;
                if exists == 0 {
                    diesel::insert_into(group_users::table)
                        .values((
                            group_users::group_id.eq(gid),
                            group_users::user_id.eq(mid),
                            group_users::org_id.eq(org.as_str()),
                            group_users::created_at.eq(t),
                        ))
                        .execute(conn)
                        .map_err(raced)?;
                    changed = true;
                }
            }
            Some(MemberKind::Group) => {
                if mid == gid {
                    return Err(StoreError::Invalid(format!(
                        "group {} cannot contain itself",
                        crate::domain::id_to_hex(gid)
                    )));
                }
                let exists: i64 = group_groups::table
                    .filter(group_groups::group_id.eq(gid))
                    .filter(group_groups::member_group_id.eq(mid))
                    .count()
                    .get_result(conn)?;
                if exists == 0 {
                    diesel::insert_into(group_groups::table)
                        .values((
                            group_groups::group_id.eq(gid),
                            group_groups::member_group_id.eq(mid),
                            group_groups::org_id.eq(org.as_str()),
                            group_groups::created_at.eq(t),
                        ))
                        .execute(conn)
                        .map_err(raced)?;
                    changed = true;
                }
            }
            None => {
                return Err(StoreError::Invalid(format!(
                    "member {} is not a user or group of this organization",
                    crate::domain::id_to_hex(mid)
                )))
            }
        }
    }
    Ok(changed)
}

pub fn insert(
    conn: &mut DbConn,
    org: &OrgId,
    data: &GroupData,
    members: &[i64],
) -> StoreResult<Group> {
    super::write_tx(conn, |conn| {
        let id = new_id();
        let t = now();
        diesel::insert_into(groups::table)
            .values((
                groups::id.eq(id),
                groups::org_id.eq(org.as_str()),
                groups::display_name.eq(&data.display_name),
                groups::display_name_lower.eq(data.display_name.to_lowercase()),
                groups::external_id.eq(&data.external_id),
                groups::description.eq(&data.description),
                groups::group_type.eq("group"),
                groups::active.eq(true),
                groups::is_default.eq(false),
                groups::version.eq(1i64),
                groups::created_at.eq(t),
                groups::updated_at.eq(t),
            ))
            .execute(conn)
            .map_err(conflict)?;
        change_members(
            conn,
            org,
            id,
            &MemberChange {
                clear: false,
                add: members.to_vec(),
                remove: vec![],
            },
        )?;
        get(conn, org, id, false)
    })
}

/// Update data and members. Nothing changed → no version bump. Returns (group, changed).
pub fn update(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
    expected_version: Option<i64>,
    data: &GroupData,
    members: &MemberChange,
) -> StoreResult<(Group, bool)> {
    super::write_tx(conn, |conn| {
        let current = get(conn, org, id, false)?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(StoreError::VersionMismatch);
        }
        let mut changed = change_members(conn, org, id, members)?;
        if current.data != *data {
            diesel::update(groups::table.find(id))
                .set((
                    groups::display_name.eq(&data.display_name),
                    groups::display_name_lower.eq(data.display_name.to_lowercase()),
                    groups::external_id.eq(&data.external_id),
                    groups::description.eq(&data.description),
                ))
                .execute(conn)
                .map_err(conflict)?;
            changed = true;
        }
        if changed {
            // Compare-and-set on the version; a concurrent writer that read the same version
            // loses here and its whole transaction (member rows included) rolls back.
            let bumped = diesel::update(
                groups::table
                    .find(id)
                    .filter(groups::version.eq(current.version)),
            )
            .set((
                groups::version.eq(current.version + 1),
                groups::updated_at.eq(now()),
            ))
            .execute(conn)?;
            if bumped == 0 {
                return Err(StoreError::VersionMismatch);
            }
        }
        Ok((get(conn, org, id, false)?, changed))
    })
}

pub fn delete(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
    expected_version: Option<i64>,
) -> StoreResult<()> {
    super::write_tx(conn, |conn| {
        let current = get(conn, org, id, false)?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(StoreError::VersionMismatch);
        }
        diesel::delete(groups::table.find(id)).execute(conn)?;
        Ok(())
    })
}

pub fn get(conn: &mut DbConn, org: &OrgId, id: i64, with_members: bool) -> StoreResult<Group> {
    let row: Row = groups::table
        .filter(groups::id.eq(id))
        .filter(groups::org_id.eq(org.as_str()))
        .select(row_columns!())
        .first(conn)?;
    let mut g = from_row(row)?;
    if with_members {
        g.members = Some(members(conn, id)?);
    }
    Ok(g)
}

/// The members of a group: users first, then nested groups, each in id order. Only the
/// membership rows are read.
pub fn members(conn: &mut DbConn, gid: i64) -> StoreResult<Vec<Member>> {
    let us: Vec<i64> = group_users::table
        .filter(group_users::group_id.eq(gid))
        .select(group_users::user_id)
        .order(group_users::user_id.asc())
        .load(conn)?;
    let gs: Vec<i64> = group_groups::table
        .filter(group_groups::group_id.eq(gid))
        .select(group_groups::member_group_id)
        .order(group_groups::member_group_id.asc())
        .load(conn)?;
    Ok(us
        .into_iter()
        .map(|id| Member {
            id,
            kind: MemberKind::User,
        })
        .chain(gs.into_iter().map(|id| Member {
            id,
            kind: MemberKind::Group,
        }))
        .collect())
}

/// Groups of `org` matching `filter`, ordered, windowed; and the number matching.
pub fn query(
    conn: &mut DbConn,
    org: &OrgId,
    filter: Option<&super::raw::Raw>,
    order: &super::Order,
    window: super::Window,
    with_members: bool,
    with_total: bool,
) -> StoreResult<(Vec<Group>, Option<i64>)> {
    let base = || {
        let mut q = groups::table
            .filter(groups::org_id.eq(org.as_str().to_string()))
            .into_boxed();
        if let Some(f) = filter {
            q = q.filter(f.clone());
        }
        q
    };
    let total: Option<i64> = if with_total {
        Some(base().count().get_result(conn)?)
    } else {
        None
    };
    let w = window.sql(order, r#""groups"."id""#);
    let mut q = base().order_by(w.order).offset(w.offset).limit(w.limit);
    if let Some(f) = w.filter {
        q = q.filter(f);
    }
    let mut rows: Vec<Row> = q.select(row_columns!()).load(conn)?;
    if w.reverse {
        rows.reverse();
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut g = from_row(r)?;
        if with_members {
            g.members = Some(members(conn, g.id)?);
        }
        out.push(g);
    }
    Ok((out, total))
}
