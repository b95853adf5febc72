//! Reading the audit trail (each change writes its entry in its own transaction:
//! `directory::audit`'s sibling `fn audit` in `mod.rs`). The store's reads serve as they
//! are: `Filter` (a user, a key, a credential, a dialect, a time range), `search` (two
//! statements), `list`, `recent` and `per_day` (one statement each), `get`.

pub use crate::store::audit::{get, list, per_day, recent, search, Filter};
