//! Roles as dialects name them: by name (Domo's `role`, SCIM's `roles.value`) or by id
//! (Domo's `roleId`, Sumo's `roleIds`). A dialect with built-in roles (Domo's `Admin`,
//! `Privileged`, `Participant`) passes their names; they are created in the organization when
//! first given to a user.

use crate::domain::OrgId;
use crate::store::{self, DbConn, StoreError, StoreResult};

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
