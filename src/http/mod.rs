//! Shared HTTP plumbing: request ids, tracing, metrics, the body limit, rendering
//! framework errors in each dialect's shape, and the panic safety net.

pub mod body;
pub mod body_limit;
pub mod errors;
pub mod metrics;
pub mod observe;
pub mod panic;
pub mod strict;
pub mod throttle;

pub use observe::RequestId;
