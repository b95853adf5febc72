//! Groups and their memberships, one row per member: adding or removing members touches only
//! those rows; members are read only when asked for.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

// A group's row is the dump format's: one column list for both.
use super::portable::GroupRow as Row;
use super::portable::GroupValueRow;
use super::raw::{Bind, Raw};
use super::schema::{group_values, groups};
use super::{new_id, now, DbConn, MultiConn, StoreError, StoreResult};
use crate::domain::ext;
use crate::domain::{
    Group, GroupData, GroupKind, Member, MemberChange, MemberKind, OrgId, UnknownMembers,
};

fn from_row(r: Row) -> StoreResult<Group> {
    Ok(Group {
        id: r.id,
        org_id: OrgId::parse(&r.org_id).map_err(StoreError::Conflict)?,
        data: GroupData {
            display_name: r.display_name,
            external_id: r.external_id,
            description: r.description,
            kind: GroupKind::parse(&r.group_type).unwrap_or_default(),
            active: r.active,
            extensions: Default::default(),
        },
        members: None,
        is_default: r.is_default,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// Groups from their rows, with the extension values of those whose row says they have any:
/// one statement more, and none when no group has any.
fn from_rows(conn: &mut DbConn, rows: Vec<Row>) -> StoreResult<Vec<Group>> {
    let with: Vec<i64> = rows
        .iter()
        .filter(|r| r.has_extensions)
        .map(|r| r.id)
        .collect();
    let mut groups = rows
        .into_iter()
        .map(from_row)
        .collect::<StoreResult<Vec<Group>>>()?;
    if with.is_empty() {
        return Ok(groups);
    }
    let rows: Vec<(i64, String, i32, Option<String>, String)> = Raw::sql(
        "SELECT gv.group_id, gv.attribute, gv.position, gv.value, gv.kind \
         FROM group_values gv WHERE gv.group_id",
    )
    .in_ids(&with)
    .query::<(BigInt, Text, Integer, Nullable<Text>, Text)>()
    .load(conn.db())?;
    let mut by_group: HashMap<i64, Vec<(String, i32, String, String)>> = HashMap::new();
    for (g, attribute, position, value, kind) in rows {
        by_group
            .entry(g)
            .or_default()
            .push((attribute, position, value.unwrap_or_default(), kind));
    }
    for g in &mut groups {
        if let Some(rows) = by_group.remove(&g.id) {
            g.data.extensions = ext::from_rows(rows);
        }
    }
    Ok(groups)
}

fn one(conn: &mut DbConn, row: Row) -> StoreResult<Group> {
    from_rows(conn, vec![row])?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Replace group `id`'s extension values with `data`'s.
fn write_extensions(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
    data: &GroupData,
    fresh: bool,
) -> StoreResult<()> {
    if !fresh {
        diesel::delete(group_values::table.filter(group_values::group_id.eq(id)))
            .execute(conn.db())?;
    }
    let rows: Vec<GroupValueRow> = ext::to_rows(&data.extensions)
        .into_iter()
        .map(|r| GroupValueRow {
            group_id: id,
            value_lower: Some(r.value_lower()),
            attribute: r.attribute,
            position: r.position,
            org_id: org.as_str().to_string(),
            value: Some(r.value),
            kind: r.kind.to_string(),
            value_num: r.value_num,
        })
        .collect();
    for chunk in rows.chunks(1000) {
        super::on_backend!(&mut *conn, c => diesel::insert_into(group_values::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// The columns a group's `GroupData` is written to (an insert's and an update's).
macro_rules! data_columns {
    ($d:expr) => {
        (
            groups::display_name.eq(&$d.display_name),
            groups::display_name_lower.eq($d.display_name.to_lowercase()),
            groups::external_id.eq(&$d.external_id),
            groups::description.eq(&$d.description),
            groups::group_type.eq($d.kind.as_str()),
            groups::active.eq($d.active),
            groups::has_extensions.eq(!$d.extensions.is_empty()),
        )
    };
}

fn conflict(e: diesel::result::Error) -> StoreError {
    StoreError::conflict_as(e, || "displayName is already taken".into())
}

/// Which of `ids` are users and which are groups of `org`: one statement.
fn kinds_of(conn: &mut DbConn, org: &OrgId, ids: &[i64]) -> StoreResult<HashMap<i64, MemberKind>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let o = || Bind::Text(org.as_str().to_string());
    let rows: Vec<(i64, i32)> = Raw::sql("SELECT u.id, 1 FROM users u WHERE u.org_id = ")
        .bind(o())
        .push(" AND u.id")
        .in_ids(ids)
        .push(" UNION ALL SELECT g.id, 2 FROM groups g WHERE g.org_id = ")
        .bind(o())
        .push(" AND g.id")
        .in_ids(ids)
        .query::<(BigInt, Integer)>()
        .load(conn.db())?;
    Ok(rows
        .into_iter()
        .map(|(id, k)| {
            let kind = if k == 1 {
                MemberKind::User
            } else {
                MemberKind::Group
            };
            (id, kind)
        })
        .collect())
}

/// `DELETE FROM <table> WHERE group_id = ? [AND <column> IN ids]`; rows deleted.
fn delete_members(
    conn: &mut DbConn,
    table: &str,
    column: &str,
    gid: i64,
    ids: Option<&[i64]>,
) -> StoreResult<usize> {
    let mut q = Raw::sql(format!("DELETE FROM {table} WHERE group_id = ")).bind(Bind::Int(gid));
    if let Some(ids) = ids {
        q = q.push(format!(" AND {column}")).in_ids(ids);
    }
    Ok(q.query::<Integer>().execute(conn.db())?)
}

/// `DELETE FROM <table> WHERE group_id = ? AND NOT (<column> IN keep)`; rows deleted.
fn delete_others(
    conn: &mut DbConn,
    table: &str,
    column: &str,
    gid: i64,
    keep: &[i64],
) -> StoreResult<usize> {
    Ok(Raw::sql(format!("DELETE FROM {table} WHERE group_id = "))
        .bind(Bind::Int(gid))
        .push(format!(" AND NOT ({column}"))
        .in_ids(keep)
        .push(")")
        .query::<Integer>()
        .execute(conn.db())?)
}

/// Insert membership rows for `ids` in one statement; rows that exist already are left
/// alone. Rows inserted.
fn insert_members(
    conn: &mut DbConn,
    table: &str,
    column: &str,
    org: &OrgId,
    gid: i64,
    ids: &[i64],
) -> StoreResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    // SQLite needs the WHERE to tell the SELECT's end from the ON CONFLICT clause.
    let q = Raw::sql(format!(
        "INSERT INTO {table} (group_id, {column}, org_id, created_at) SELECT "
    ))
    .bind(Bind::Int(gid))
    .push(", t.id, ")
    .bind(Bind::Text(org.as_str().to_string()))
    .push(", ")
    .bind(Bind::Time(now()))
    .push(" FROM ")
    .id_table(ids)
    .push(" t WHERE 1 = 1 ON CONFLICT DO NOTHING");
    // A member deleted by another writer since we looked is no member: a 400, not a 500.
    q.query::<Integer>()
        .execute(conn.db())
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => StoreError::Invalid("a member named in the request no longer exists".into()),
            other => other.into(),
        })
}

/// Apply a membership change to group `gid`: only the named rows are read or written, a
/// handful of statements whatever the number of members. Returns whether anything changed,
/// and the ids of `add` left out because they name no user or group of the organization
/// (`UnknownMembers::Skip`; with `Reject` such an id is `Invalid` and nothing is written).
fn change_members(
    conn: &mut DbConn,
    org: &OrgId,
    gid: i64,
    change: &MemberChange,
) -> StoreResult<(bool, Vec<i64>)> {
    let mut changed = false;
    if change.clear {
        // A replace is a diff: rows of members that stay are neither deleted nor rewritten,
        // so an unchanged replace changes nothing (no version bump) and touches no row.
        changed |= delete_others(conn, "group_users", "user_id", gid, &change.add)? > 0;
        changed |= delete_others(conn, "group_groups", "member_group_id", gid, &change.add)? > 0;
    }
    if !change.remove.is_empty() {
        changed |= delete_members(conn, "group_users", "user_id", gid, Some(&change.remove))? > 0;
        changed |= delete_members(
            conn,
            "group_groups",
            "member_group_id",
            gid,
            Some(&change.remove),
        )? > 0;
    }
    if change.add.is_empty() {
        return Ok((changed, vec![]));
    }
    let kinds = kinds_of(conn, org, &change.add)?;
    let (mut users, mut groups, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for &mid in &change.add {
        match kinds.get(&mid) {
            Some(MemberKind::User) => users.push(mid),
            Some(MemberKind::Group) if mid == gid => {
                return Err(StoreError::Invalid(format!(
                    "group {} cannot contain itself",
                    crate::domain::id_to_hex(gid)
                )))
            }
            Some(MemberKind::Group) => groups.push(mid),
            None => unknown.push(mid),
        }
    }
    if !unknown.is_empty() && change.unknown == UnknownMembers::Reject {
        let shown: Vec<String> = unknown
            .iter()
            .take(10)
            .map(|&id| crate::domain::id_to_hex(id))
            .collect();
        return Err(StoreError::Invalid(format!(
            "{} {} not a user or group of this organization: {}{}",
            if unknown.len() == 1 {
                "member"
            } else {
                "members"
            },
            if unknown.len() == 1 { "is" } else { "are" },
            shown.join(", "),
            if unknown.len() > 10 { ", ..." } else { "" }
        )));
    }
    changed |= insert_members(conn, "group_users", "user_id", org, gid, &users)? > 0;
    changed |= insert_members(conn, "group_groups", "member_group_id", org, gid, &groups)? > 0;
    Ok((changed, unknown))
}

/// Insert a group with its members. Call inside a write transaction (the directory's).
/// Returns the group and the member ids skipped as unknown (`unknown` as in `MemberChange`).
pub fn insert(
    conn: &mut DbConn,
    org: &OrgId,
    data: &GroupData,
    members: &[i64],
    unknown: UnknownMembers,
) -> StoreResult<(Group, Vec<i64>)> {
    let id = new_id();
    let t = now();
    diesel::insert_into(groups::table)
        .values((
            groups::id.eq(id),
            groups::org_id.eq(org.as_str()),
            data_columns!(data),
            groups::is_default.eq(false),
            groups::version.eq(1i64),
            groups::created_at.eq(t),
            groups::updated_at.eq(t),
        ))
        .execute(conn.db())
        .map_err(conflict)?;
    if !data.extensions.is_empty() {
        write_extensions(conn, org, id, data, true)?;
    }
    let (_, skipped) = change_members(
        conn,
        org,
        id,
        &MemberChange {
            clear: false,
            add: members.to_vec(),
            remove: vec![],
            unknown,
        },
    )?;
    Ok((
        Group {
            id,
            org_id: org.clone(),
            data: data.clone(),
            members: None,
            is_default: false,
            version: 1,
            created_at: t,
            updated_at: t,
        },
        skipped,
    ))
}

/// Read a group for changing it; on PostgreSQL its row stays locked until the transaction
/// ends, so concurrent member changes queue instead of losing a compare-and-set.
pub fn lock(
    conn: &mut DbConn,
    org: &OrgId,
    id: i64,
    purpose: super::LockFor,
) -> StoreResult<Group> {
    let q = groups::table
        .filter(groups::id.eq(id))
        .filter(groups::org_id.eq(org.as_str()));
    let row: Row = match (conn.db(), purpose) {
        (MultiConn::Pg(c), super::LockFor::Change) => q.for_no_key_update().first(c)?,
        (MultiConn::Pg(c), super::LockFor::Delete) => q.for_update().first(c)?,
        (MultiConn::Sqlite(c), _) => q.first(c)?,
    };
    one(conn, row)
}

/// What `write` did: the group as written, whether anything changed, and the member ids
/// left out as unknown.
pub struct Written {
    pub group: Group,
    pub changed: bool,
    pub skipped: Vec<i64>,
}

/// Write new data and a membership change over `current` (read with `lock` in this
/// transaction). Nothing changed → no version bump.
pub fn write(
    conn: &mut DbConn,
    current: &Group,
    data: &GroupData,
    members: &MemberChange,
) -> StoreResult<Written> {
    let id = current.id;
    let (mut changed, skipped) = change_members(conn, &current.org_id, id, members)?;
    changed |= current.data != *data;
    if !changed {
        return Ok(Written {
            group: current.clone(),
            changed: false,
            skipped,
        });
    }
    let t = now();
    let target = groups::table.find(id);
    let bump = (
        groups::version.eq(current.version + 1),
        groups::updated_at.eq(t),
    );
    if current.data.extensions != data.extensions {
        write_extensions(conn, &current.org_id, id, data, false)?;
    }
    if current.data != *data {
        diesel::update(target)
            .set((bump, data_columns!(data)))
            .execute(conn.db())
            .map_err(conflict)?;
    } else {
        diesel::update(target).set(bump).execute(conn.db())?;
    }
    Ok(Written {
        group: Group {
            data: data.clone(),
            version: current.version + 1,
            updated_at: t,
            members: None,
            ..current.clone()
        },
        changed: true,
        skipped,
    })
}

pub fn delete(conn: &mut DbConn, id: i64) -> StoreResult<()> {
    diesel::delete(groups::table.find(id)).execute(conn.db())?;
    Ok(())
}

pub fn get(conn: &mut DbConn, org: &OrgId, id: i64, with_members: bool) -> StoreResult<Group> {
    let row: Row = super::on_backend!(conn, c => groups::table
        .filter(groups::id.eq(id))
        .filter(groups::org_id.eq(org.as_str()))
        .select(Row::as_select())
        .first(c))?;
    let mut g = one(conn, row)?;
    if with_members {
        g.members = Some(members(conn, id)?);
    }
    Ok(g)
}

/// The members of a group: users first, then nested groups, each in id order.
pub fn members(conn: &mut DbConn, gid: i64) -> StoreResult<Vec<Member>> {
    Ok(members_of_many(conn, &[gid])?
        .remove(&gid)
        .unwrap_or_default())
}

/// Members of several groups in one statement (only membership rows are read).
pub fn members_of_many(conn: &mut DbConn, gids: &[i64]) -> StoreResult<HashMap<i64, Vec<Member>>> {
    if gids.is_empty() {
        return Ok(HashMap::new());
    }
    // The display names come from the same statement: each membership row joined to its
    // member's row by primary key, never a statement per member.
    let rows: Vec<(i64, i64, i32, Option<String>)> = Raw::sql(
        "SELECT gu.group_id, gu.user_id, 1, \
         COALESCE(u.display_name, u.user_name, u.user_name_lower) \
         FROM group_users gu JOIN users u ON u.id = gu.user_id WHERE gu.group_id",
    )
    .in_ids(gids)
    .push(
        " UNION ALL SELECT gg.group_id, gg.member_group_id, 2, mg.display_name \
         FROM group_groups gg JOIN groups mg ON mg.id = gg.member_group_id \
         WHERE gg.group_id",
    )
    .in_ids(gids)
    .query::<(BigInt, BigInt, Integer, Nullable<Text>)>()
    .load(conn.db())?;
    let mut out: HashMap<i64, Vec<(i32, i64, Option<String>)>> = HashMap::new();
    for (g, m, k, d) in rows {
        out.entry(g).or_default().push((k, m, d));
    }
    Ok(out
        .into_iter()
        .map(|(g, mut ms)| {
            ms.sort_unstable_by_key(|&(k, id, _)| (k, id));
            let members = ms
                .into_iter()
                .map(|(k, id, display)| Member {
                    id,
                    kind: if k == 1 {
                        MemberKind::User
                    } else {
                        MemberKind::Group
                    },
                    display,
                })
                .collect();
            (g, members)
        })
        .collect())
}

/// The number of users directly in each of `gids` (nested groups not counted): one
/// statement; groups without members are absent.
pub fn user_counts(conn: &mut DbConn, gids: &[i64]) -> StoreResult<HashMap<i64, i64>> {
    let head = "SELECT gu.group_id, COUNT(*) FROM group_users gu WHERE gu.group_id";
    let rows = super::raw::id_pairs(conn, head, gids, " GROUP BY gu.group_id")?;
    Ok(rows.into_iter().collect())
}

/// The number of groups nested directly in each of `gids`: one statement; groups without
/// nested groups are absent.
pub fn group_counts(conn: &mut DbConn, gids: &[i64]) -> StoreResult<HashMap<i64, i64>> {
    let head = "SELECT gg.group_id, COUNT(*) FROM group_groups gg WHERE gg.group_id";
    let rows = super::raw::id_pairs(conn, head, gids, " GROUP BY gg.group_id")?;
    Ok(rows.into_iter().collect())
}

/// The groups nested directly in group `gid`, by name: one statement.
pub fn member_groups(conn: &mut DbConn, gid: i64) -> StoreResult<Vec<(i64, String)>> {
    let mut rows: Vec<(i64, String)> = Raw::sql(
        "SELECT mg.id, mg.display_name FROM group_groups gg \
         JOIN groups mg ON mg.id = gg.member_group_id WHERE gg.group_id = ",
    )
    .bind(Bind::Int(gid))
    .query::<(BigInt, Text)>()
    .load(conn.db())?;
    rows.sort_by_key(|(_, n)| n.to_lowercase());
    Ok(rows)
}

/// A window of the ids of the users directly in group `gid` of `org`, in id order; `NotFound`
/// when there is no such group. One statement: the group's row joined to its memberships, so
/// a group without members still answers (with no ids).
pub fn user_ids(
    conn: &mut DbConn,
    org: &OrgId,
    gid: i64,
    offset: i64,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    let rows: Vec<(i64, Option<i64>)> = Raw::sql(
        "SELECT g.id, m.user_id FROM groups g LEFT JOIN (SELECT gu.group_id, gu.user_id \
         FROM group_users gu WHERE gu.group_id = ",
    )
    .bind(Bind::Int(gid))
    .push(" ORDER BY gu.user_id LIMIT ")
    .bind(Bind::Int(limit))
    .push(" OFFSET ")
    .bind(Bind::Int(offset))
    .push(") m ON m.group_id = g.id WHERE g.id = ")
    .bind(Bind::Int(gid))
    .push(" AND g.org_id = ")
    .bind(Bind::Text(org.as_str().to_string()))
    .push(" ORDER BY m.user_id")
    .query::<(BigInt, diesel::sql_types::Nullable<BigInt>)>()
    .load(conn.db())?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    Ok(rows.into_iter().filter_map(|(_, u)| u).collect())
}

/// Groups of `org` matching `filter`, ordered, windowed; and the number matching.
pub fn query(
    conn: &mut DbConn,
    org: &OrgId,
    filter: &super::search::GroupFilter,
    order: &super::Order,
    window: super::Window,
    with_members: bool,
    with_total: bool,
) -> StoreResult<(Vec<Group>, Option<i64>)> {
    let filter = filter.sql();
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
        Some(base().count().get_result(conn.db())?)
    } else {
        None
    };
    let w = window.sql(order, r#""groups"."id""#);
    let mut q = base().order_by(w.order).offset(w.offset).limit(w.limit);
    if let Some(f) = w.filter {
        q = q.filter(f);
    }
    let mut rows: Vec<Row> = q.select(Row::as_select()).load(conn.db())?;
    if w.reverse {
        rows.reverse();
    }
    let mut out = from_rows(conn, rows)?;
    if with_members {
        let ids: Vec<i64> = out.iter().map(|g| g.id).collect();
        let mut members = members_of_many(conn, &ids)?;
        for g in out.iter_mut() {
            g.members = Some(members.remove(&g.id).unwrap_or_default());
        }
    }
    Ok((out, total))
}

/// The groups of `org` named `names` (case-insensitively), by lower-cased name: one
/// statement.
pub fn find_by_names(
    conn: &mut DbConn,
    org: &OrgId,
    names: &[String],
) -> StoreResult<HashMap<String, Group>> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    let q = groups::table.filter(groups::org_id.eq(org.as_str()));
    // One name (every read) is a statement SQLite can cache; a list's `IN` is not.
    let rows: Vec<Row> = if let [one] = lower.as_slice() {
        super::on_backend!(conn, c => q.filter(groups::display_name_lower.eq(one)).load(c))?
    } else {
        super::on_backend!(conn, c => q.filter(groups::display_name_lower.eq_any(&lower)).load(c))?
    };
    Ok(from_rows(conn, rows)?
        .into_iter()
        .map(|g| (g.data.display_name.to_lowercase(), g))
        .collect())
}

/// The condition "the group is of one of `kinds`" (`None`: any kind).
pub(super) fn of_kinds(kinds: &[GroupKind]) -> Option<Raw> {
    kinds
        .iter()
        .map(|k| Raw::sql("\"groups\".\"group_type\" = ").bind(Bind::Text(k.as_str().into())))
        .reduce(|a, b| Raw::join("OR", a, b))
}

/// How many groups `org` has: one statement.
pub fn count(conn: &mut DbConn, org: &OrgId) -> StoreResult<i64> {
    Ok(groups::table
        .filter(groups::org_id.eq(org.as_str().to_string()))
        .count()
        .get_result(conn.db())?)
}
