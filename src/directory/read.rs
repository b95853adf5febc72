//! Reading the directory. A caller says what it wants in a search spec — which users or
//! groups (a typed filter: a SCIM filter, field searches, a domain or group, plain text),
//! in which order, which window of them, whether to count them all, and what to bring with
//! each (a user's groups come in the same statement as their values) — and the store writes
//! the SQL. Dialects and the console never see the store (`tests/layers.rs`): a read is the
//! same few statements whoever asks (`tests/budgets.rs`), and a rule about what a caller may
//! see has one place to live.

pub use crate::store::filter_sql::Target;
pub use crate::store::search::{FieldSearch, GroupFilter, Joint, UserFilter, UserOrder};
pub use crate::store::user_search::{Condition, Field, Mode};
pub use crate::store::users::{Among, Loaded, SortKey};
pub use crate::store::{Order, Window};

/// Whether a read of users also brings the groups each belongs to (directly, or through
/// nested groups), in the same statement as their values.
pub use crate::store::users::GroupsToo as Groups;

/// A search of the organization's users.
#[derive(Debug, Clone)]
pub struct Search {
    pub filter: UserFilter,
    pub order: Order,
    pub window: Window,
    /// Count every match too (one more statement, or none for an unfiltered list: the count
    /// is kept by triggers).
    pub total: bool,
    pub groups: Groups,
}

impl Search {
    /// Every user, by id, `limit` from `offset`, without a total or groups.
    pub fn page(offset: i64, limit: i64) -> Search {
        Search {
            filter: UserFilter::all(),
            order: Order::by_id(),
            window: Window::Offset { offset, limit },
            total: false,
            groups: Groups::Skip,
        }
    }
}

/// A search of the organization's groups.
#[derive(Debug, Clone)]
pub struct GroupSearch {
    pub filter: GroupFilter,
    pub order: Order,
    pub window: Window,
    pub total: bool,
    /// Bring each group's members (one more statement for the page).
    pub members: bool,
}

impl GroupSearch {
    /// Every group, by id, `limit` from `offset`, without a total or members.
    pub fn page(offset: i64, limit: i64) -> GroupSearch {
        GroupSearch {
            filter: GroupFilter::all(),
            order: Order::by_id(),
            window: Window::Offset { offset, limit },
            total: false,
            members: false,
        }
    }
}
