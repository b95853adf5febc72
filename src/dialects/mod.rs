//! One module per wire dialect. Each holds its request/response types (serde names exactly as
//! the vendor spells them), its error shape, and handlers that translate to and from domain
//! types and call store functions. A dialect never talks to another dialect.

pub mod admin;
pub mod adobe;
pub mod domo;
pub mod logto;
pub mod oauth;
pub mod scim;
pub mod sumo;

/// A dialect's `#[OpenApi]` impl whose every route takes the request's credential and the
/// state: the impl names them once, `impl Api(auth: Scheme, state)`, and each route is written
/// without them. poem-openapi's attribute reads the impl whole and cannot see a macro inside
/// it, so the macro makes the whole impl.
macro_rules! routes {
    (
        #[OpenApi($($api:tt)*)]
        $(#[$($impl_attr:tt)*])*
        impl $name:ident($auth:ident: $scheme:ty, $state:ident) {
            $(
                $(#[$($attr:tt)*])*
                async fn $route:ident(
                    $($(#[$($param_attr:tt)*])* $param:ident: $param_ty:ty),* $(,)?
                ) -> $answer:ty $body:block
            )*
        }
    ) => {
        #[poem_openapi::OpenApi($($api)*)]
        $(#[$($impl_attr)*])*
        impl $name {
            $(
                $(#[$($attr)*])*
                async fn $route(
                    &self,
                    $auth: $scheme,
                    $state: poem::web::Data<&crate::request::AppState>,
                    $($(#[$($param_attr)*])* $param: $param_ty),*
                ) -> $answer $body
            )*
        }
    };
}
pub(crate) use routes;
