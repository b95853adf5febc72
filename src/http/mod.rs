//! Shared HTTP plumbing: request ids, tracing, metrics, the body limit, and rendering
//! framework errors in each dialect's shape.

pub mod body_limit;
pub mod errors;
pub mod metrics;
pub mod observe;

pub use observe::RequestId;
