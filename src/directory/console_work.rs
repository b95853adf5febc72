//! The web console's work kept between requests (bulk jobs, CSV import previews) in the
//! database, so any instance answers for it: the store's rows as they are. A caller names
//! the organization and the owner (the session's holder) of what it reads or claims.

pub use crate::store::console_work::{claim, get, insert, progress, NewWork, Progress, Work, KEEP};
