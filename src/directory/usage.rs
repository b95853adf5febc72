//! Credit usage of organizations (Sumo Logic's usage reports; the admin API records it): the
//! store's `insert` (one transaction), `list`, and the sums `totals` and `daily` (one
//! statement each) serve as they are.

pub use crate::store::usage::{daily, insert, list, totals};
