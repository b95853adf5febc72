//! The search of `GET /api/users` (`query::Search`) as SQL on the connection's engine.

use super::error::LogtoResult;
use super::query;
use crate::domain::id_from_hex;
use crate::store::raw::Raw;
use crate::store::user_search::{self, Backend};

/// The search of `GET /api/users` as SQL on this connection's engine.
pub fn search_sql(
    backend: Backend,
    s: &query::Search,
    exclude_role: Option<&str>,
) -> LogtoResult<Option<Raw>> {
    let mut joined: Option<Raw> = None;
    for conds in &s.matches {
        let mut any: Option<Raw> = None;
        for c in conds {
            let sql = user_search::condition(c, &backend)?;
            any = Some(match any {
                None => sql,
                Some(prev) => Raw::join("OR", prev, sql),
            });
        }
        let Some(any) = any else { continue };
        joined = Some(match joined {
            None => any,
            Some(prev) => Raw::join(if s.joint_and { "AND" } else { "OR" }, prev, any),
        });
    }
    if let Some(role) = exclude_role {
        // A role's canonical id: 16 hex digits (as SCIM and Sumo show ids) or the integer
        // (as Domo's `roleId`). One that cannot exist excludes nobody.
        let rid = id_from_hex(role).or_else(|| role.parse::<i64>().ok().filter(|v| *v > 0));
        if let Some(rid) = rid {
            let without = user_search::without_role(rid);
            joined = Some(match joined {
                None => without,
                Some(prev) => Raw::join("AND", prev, without),
            });
        }
    }
    Ok(joined)
}
