//! SCIM as a pure library, no I/O: the schema registry, attribute paths and the filter
//! language, the lenient normalisation pass, the PATCH engine, projection and errors.

pub mod error;
pub mod etag;
pub mod filter;
pub mod lookup;
pub mod normalize;
pub mod patch;
pub mod projection;
pub mod schema;

pub use error::{ScimError, ScimResult};
