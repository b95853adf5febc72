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

/// The endpoint one of these middlewares makes: the endpoint it wraps, beside the middleware
/// itself (its settings). `middleware!(M)` writes `M`'s `impl Middleware`; each middleware
/// writes its own `impl Endpoint for Wrapped<M, E>`.
pub struct Wrapped<M, E> {
    pub ep: E,
    pub by: M,
}

/// `impl Middleware` for a `Clone` type whose endpoint is [`Wrapped`].
macro_rules! middleware {
    ($m:ty) => {
        impl<E: poem::Endpoint> poem::Middleware<E> for $m {
            type Output = $crate::http::Wrapped<$m, E>;
            fn transform(&self, ep: E) -> Self::Output {
                $crate::http::Wrapped {
                    ep,
                    by: self.clone(),
                }
            }
        }
    };
}
pub(crate) use middleware;
