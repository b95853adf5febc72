//! The search of `GET /api/users`: what Logto's query asks for, as the directory's filter
//! (the store writes the SQL).

use crate::directory::read::{FieldSearch, UserFilter};
use crate::domain::id_from_hex;

/// The users `GET /api/users` selects: those `s` matches, less those holding `exclude_role`.
pub fn filter(s: FieldSearch, exclude_role: Option<&str>) -> UserFilter {
    let mut f = UserFilter::fields(s);
    if let Some(role) = exclude_role {
        // A role's canonical id: 16 hex digits (as SCIM and Sumo show ids) or the integer
        // (as Domo's `roleId`). One that cannot exist excludes nobody.
        let rid = id_from_hex(role).or_else(|| role.parse::<i64>().ok().filter(|v| *v > 0));
        if let Some(rid) = rid {
            f = f.and(UserFilter::without_role(rid));
        }
    }
    f
}
