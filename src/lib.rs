//! Muster: one store of users, groups and organizations, reachable through SCIM 2.0 and the
//! user-management dialects of Logto, Domo, Sumo Logic and Adobe.
//!
//! Follow the data: request → `dialects` → `directory` → `store` → database, and back.

pub mod auth;
pub mod changes;
pub mod config;
pub mod console;
pub mod dialects;
pub mod directory;
pub mod domain;
pub mod events;
#[doc(hidden)]
pub mod fuzz;
pub mod health;
pub mod http;
pub mod portability;
pub mod request;
pub mod scim;
pub mod server;
pub mod store;

use poem::middleware::{NormalizePath, TrailingSlash};
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;

pub use config::Config;
pub use request::AppState;
pub use store::Store;

/// Every API the OpenAPI document describes, listed once: their type, and the value of it.
macro_rules! apis {
    ($($api:path),* $(,)?) => {
        type Apis = ($($api,)*);
        fn apis() -> Apis {
            ($($api,)*)
        }
    };
}

apis!(
    health::HealthApi,
    dialects::oauth::TokenApi,
    dialects::admin::AdminApi,
    dialects::admin::events::AdminEventsApi,
    dialects::admin::schemas::AdminSchemasApi,
    dialects::scim::ScimApi,
    dialects::logto::LogtoApi,
    dialects::logto::hooks::LogtoHooksApi,
    dialects::domo::DomoApi,
    dialects::adobe::AdobeApi,
    dialects::sumo::SumoApi,
);

/// The OpenAPI service describing every endpoint.
pub fn openapi(config: &Config) -> OpenApiService<Apis, ()> {
    OpenApiService::new(apis(), "Muster", env!("CARGO_PKG_VERSION"))
        .description(
            "Identity provisioning server: SCIM 2.0 and the Logto, Domo, Sumo Logic and Adobe \
         user-management dialects over one store.",
        )
        .server(config.url(""))
}

/// Fixed path words of routes outside the OpenAPI description (for the metrics' route labels).
pub const UNDESCRIBED_ROUTE_WORDS: &[&str] = &["openapi.json", "docs", "scim", "v1", "console"];

/// The error shape of each dialect's paths, for the errors the framework raises.
pub fn error_shapes() -> http::errors::ErrorShapes {
    http::errors::ErrorShapes::new(dialects::admin::error::framework_error)
        .with("/scim", "scim", dialects::scim::error::framework_error)
        .with("/api/v1", "sumo", dialects::sumo::error::framework_error)
        .with("/api", "logto", dialects::logto::error::framework_error)
        .with("/v1", "domo", dialects::domo::error::framework_error)
        .with(
            "/v2/usermanagement",
            "adobe",
            dialects::adobe::error::framework_error,
        )
        .with("/oauth", "oauth", dialects::oauth::framework_error)
        .with("/oidc", "oauth", dialects::oauth::framework_error)
        .with("/ims", "oauth", dialects::oauth::framework_error)
        .with("/admin", "admin", dialects::admin::error::framework_error)
        .with("/console", "console", console::framework_error)
}

/// Each dialect's rendering of one user, for the console's side-by-side page.
pub fn user_views() -> request::UserViews {
    request::UserViews(std::sync::Arc::new(vec![
        (
            "SCIM",
            "GET /scim/v2/Users/{id}",
            dialects::scim::users::console_view as request::UserRender,
        ),
        (
            "Logto",
            "GET /api/users/{userId}",
            dialects::logto::console_view,
        ),
        (
            "Domo",
            "GET /v1/users/{id}",
            dialects::domo::users::console_view,
        ),
        (
            "Sumo Logic",
            "GET /api/v1/users/{id}",
            dialects::sumo::users::console_view,
        ),
        (
            "Adobe",
            "GET /v2/usermanagement/organizations/{orgId}/users/{userString}",
            dialects::adobe::reads::console_view,
        ),
    ]))
}

/// The whole route tree, used by the server and by the tests.
pub fn app(mut state: AppState) -> impl Endpoint {
    state.user_views = user_views();
    let api = openapi(&state.config);
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let max_body = state.config.max_body_bytes;
    let metrics = state.metrics.clone();
    let shapes = error_shapes();
    let labels = std::sync::Arc::new(http::metrics::RouteLabels::new(
        &api.spec(),
        UNDESCRIBED_ROUTE_WORDS,
        shapes.clone(),
    ));
    Route::new()
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api)
        .nest("/scim/v1", dialects::scim::error::unsupported_version)
        .nest("/console", console::routes())
        .with(http::body_limit::BodyLimit {
            max: max_body,
            bulk_max: dialects::scim::bulk::payload_limit(max_body),
        })
        // `/scim/v2/users` reaches `/scim/v2/Users` (after the slashes are normalised).
        .with(dialects::scim::paths::CaseInsensitiveEndpoints)
        // `/v1/users/` (pydomo), `/ims/token/v2/` (umapi-client) and `//Users` (Entra's
        // samples) all reach their routes.
        .with(NormalizePath::new(TrailingSlash::Trim))
        // `GET /` is the landing page (before the path is normalised to the API's root).
        .with(console::Landing(state.config.url("")))
        .data(state)
        .with(http::errors::DialectErrors {
            shapes: shapes.clone(),
        })
        .with(http::throttle::RetryAfter)
        .with(http::panic::CatchPanics::new(
            metrics.clone(),
            shapes.clone(),
        ))
        .with(http::observe::Observe { metrics, labels })
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_map_to_dialects() {
        let shapes = super::error_shapes();
        let of = |p| shapes.dialect_of(p);
        assert_eq!(of("/scim/v2/Users"), Some("scim"));
        assert_eq!(of("/api/v1/users"), Some("sumo"));
        assert_eq!(of("/api/users/abc"), Some("logto"));
        assert_eq!(of("/api/logs"), Some("logto"));
        assert_eq!(of("/v1/groups"), Some("domo"));
        assert_eq!(of("/v2/usermanagement/action/x"), Some("adobe"));
        assert_eq!(of("/oidc/token"), Some("oauth"));
        assert_eq!(of("/admin/v1/whoami"), Some("admin"));
        assert_eq!(of("/apix"), None);
        assert_eq!(of("/scimx"), None);
    }
}
