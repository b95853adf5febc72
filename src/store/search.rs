//! What a read of users or groups selects and in which order, said in types by the
//! directory's callers and written as SQL only here. A dialect says *what* to search (a SCIM
//! filter, Logto's field searches, Adobe's domain and group, the console's plain text); the
//! SQL text, its bind parameters and the backend's dialect of SQL stay in the store.
//!
//! The SQL a filter makes is the same text, part for part, as each caller composed before
//! (`Raw::join` in the same order), so statements stay cached and the budgets unchanged.

use super::filter_sql::{self, Target};
use super::raw::Raw;
use super::user_search::{self, Backend, Condition};
use super::users::Among;
use super::{DbConn, Order, StoreResult};
use crate::domain::{GroupKind, OrgId};
use crate::scim::filter::{AttrPath, Filter};
use crate::scim::ScimResult;

/// How the matches of a field search combine (Logto's `joint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Joint {
    #[default]
    Or,
    And,
}

/// A search by field (Logto's `search.<field>` with its modes): each match is one OR of
/// conditions (a search of every field is one match with a condition per field), and the
/// matches are joined by `joint`.
#[derive(Debug, Clone, Default)]
pub struct FieldSearch {
    pub matches: Vec<Vec<Condition>>,
    pub joint: Joint,
}

impl FieldSearch {
    /// One field matched one way (Sumo Logic's `email`).
    pub fn one(c: Condition) -> FieldSearch {
        FieldSearch {
            matches: vec![vec![c]],
            joint: Joint::Or,
        }
    }

    fn sql(&self, backend: &Backend) -> StoreResult<Option<Raw>> {
        let op = match self.joint {
            Joint::And => "AND",
            Joint::Or => "OR",
        };
        let mut joined: Option<Raw> = None;
        for conds in &self.matches {
            let mut any: Option<Raw> = None;
            for c in conds {
                let sql = user_search::condition(c, backend)?;
                any = Some(match any {
                    None => sql,
                    Some(prev) => Raw::join("OR", prev, sql),
                });
            }
            let Some(any) = any else { continue };
            joined = Some(match joined {
                None => any,
                Some(prev) => Raw::join(op, prev, any),
            });
        }
        Ok(joined)
    }
}

#[derive(Debug, Clone)]
enum UserPart {
    /// A SCIM filter, translated (and so checked) when the filter was made.
    Scim(Raw),
    Fields(FieldSearch),
    /// The console's plain search: anywhere in the login name, display name, emails, phones.
    Text(String),
    Among(Among),
    WithoutRole(i64),
}

/// Which users a read selects: every user, or those matching all of its parts.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    parts: Vec<UserPart>,
}

impl UserFilter {
    /// Every user of the organization.
    pub fn all() -> UserFilter {
        UserFilter::default()
    }

    /// A SCIM filter on users; an unknown attribute or a mismatched operator is SCIM's 400
    /// `invalidFilter` here, before anything is read.
    pub fn scim(f: &Filter, org: &OrgId) -> ScimResult<UserFilter> {
        let sql = filter_sql::translate(f, Target::Users, org.as_str())?;
        Ok(UserFilter::of(UserPart::Scim(sql)))
    }

    /// A field search. A mode the backend cannot run or a malformed pattern is `Invalid`
    /// when the read runs.
    pub fn fields(s: FieldSearch) -> UserFilter {
        UserFilter::of(UserPart::Fields(s))
    }

    /// `text` anywhere (case-insensitively) in the login name, the display name, or any
    /// email or phone number.
    pub fn text(text: &str) -> UserFilter {
        UserFilter::of(UserPart::Text(text.to_string()))
    }

    /// The users an Adobe list shows (an email domain, a group, active or not).
    pub fn among(a: Among) -> UserFilter {
        UserFilter::of(UserPart::Among(a))
    }

    /// Users lacking the role `role_id`.
    pub fn without_role(role_id: i64) -> UserFilter {
        UserFilter::of(UserPart::WithoutRole(role_id))
    }

    /// Users matching both.
    pub fn and(mut self, other: UserFilter) -> UserFilter {
        self.parts.extend(other.parts);
        self
    }

    fn of(p: UserPart) -> UserFilter {
        UserFilter { parts: vec![p] }
    }

    /// The condition on `users` (`None`: every user).
    pub(super) fn sql(&self, conn: &DbConn, org: &OrgId) -> StoreResult<Option<Raw>> {
        let backend = Backend::of(conn);
        let mut joined: Option<Raw> = None;
        for p in &self.parts {
            let sql = match p {
                UserPart::Scim(r) => Some(r.clone()),
                UserPart::Fields(s) => s.sql(&backend)?,
                UserPart::Text(t) => Some(user_search::text_anywhere(org.as_str(), t)),
                UserPart::Among(a) => a.sql(),
                UserPart::WithoutRole(id) => Some(user_search::without_role(*id)),
            };
            let Some(sql) = sql else { continue };
            joined = Some(match joined {
                None => sql,
                Some(prev) => Raw::join("AND", prev, sql),
            });
        }
        Ok(joined)
    }
}

/// Which groups a read selects.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter(Option<Raw>);

impl GroupFilter {
    /// Every group of the organization.
    pub fn all() -> GroupFilter {
        GroupFilter(None)
    }

    /// A SCIM filter on groups (SCIM's 400 `invalidFilter` when it cannot be).
    pub fn scim(f: &Filter, org: &OrgId) -> ScimResult<GroupFilter> {
        Ok(GroupFilter(Some(filter_sql::translate(
            f,
            Target::Groups,
            org.as_str(),
        )?)))
    }

    /// Groups of one of `kinds` (every kind when empty).
    pub fn of_kinds(kinds: &[GroupKind]) -> GroupFilter {
        GroupFilter(super::groups::of_kinds(kinds))
    }

    pub(super) fn sql(&self) -> Option<&Raw> {
        self.0.as_ref()
    }
}

impl Order {
    /// By id, ascending: the stable order of offset and keyset paging.
    pub fn by_id() -> Order {
        Order::default()
    }

    /// Users, newest first (Logto's lists).
    pub fn newest_first() -> Order {
        Order {
            key: Some("users.created_at".into()),
            descending: true,
        }
    }

    /// SCIM's `sortBy` (none: by id) and `sortOrder`; an attribute that cannot be sorted by
    /// is SCIM's 400 `invalidValue`.
    pub fn scim(by: Option<&AttrPath>, target: Target, descending: bool) -> ScimResult<Order> {
        let key = by.map(|p| filter_sql::sort_key(p, target)).transpose()?;
        Ok(Order { key, descending })
    }

    /// Whether the order is by a key other than the id (such lists page by offset).
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }
}
