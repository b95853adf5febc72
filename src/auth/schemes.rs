//! The authentication schemes the dialects declare in the OpenAPI document. Their checkers
//! only take the credential off the request (refusing what cannot be one); it is checked
//! inside the request's one database trip (`AppState::trip`). A failure is a plain 401 that
//! the dialect-error middleware renders in the caller's dialect.

use poem::Request;
use poem_openapi::auth::{Basic, Bearer};
use poem_openapi::SecurityScheme;

use super::Presented;

async fn check_bearer(_req: &Request, bearer: Bearer) -> poem::Result<Presented> {
    Ok(Presented::bearer(bearer.token)?)
}

async fn check_basic(_req: &Request, basic: Basic) -> poem::Result<Presented> {
    Ok(Presented::basic(basic.username, basic.password)?)
}

/// `Authorization: Bearer <token>` (scheme matched case-insensitively): an API token or an
/// access token from a token endpoint.
#[derive(SecurityScheme)]
#[oai(
    rename = "bearer",
    ty = "bearer",
    checker = "check_bearer",
    bearer_format = "API token or access token"
)]
pub struct BearerAuth(pub Presented);

/// `Authorization: Basic` with an OAuth client's id and secret (Sumo Logic accessId:accessKey).
#[derive(SecurityScheme)]
#[oai(rename = "basic", ty = "basic", checker = "check_basic")]
pub struct BasicAuth(pub Presented);

/// Either of the two.
#[derive(SecurityScheme)]
pub enum BearerOrBasic {
    Bearer(BearerAuth),
    Basic(BasicAuth),
}

impl BearerOrBasic {
    pub fn presented(&self) -> &Presented {
        match self {
            BearerOrBasic::Bearer(b) => &b.0,
            BearerOrBasic::Basic(b) => &b.0,
        }
    }
}
