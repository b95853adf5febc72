//! The authentication schemes the dialects declare in the OpenAPI document. Their checkers
//! resolve a credential to a `Principal`; a failure is a plain 401 (or 503) that the
//! dialect-error middleware renders in the caller's dialect.

use poem::Request;
use poem_openapi::auth::{Basic, Bearer};
use poem_openapi::SecurityScheme;

use crate::domain::Principal;
use crate::AppState;

fn state(req: &Request) -> poem::Result<&AppState> {
    req.data::<AppState>().ok_or_else(|| {
        poem::Error::from_string(
            "server state missing",
            poem::http::StatusCode::INTERNAL_SERVER_ERROR,
        )
    })
}

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let st = state(req)?;
    Ok(super::authenticate_bearer(&st.store, bearer.token).await?)
}

async fn check_basic(req: &Request, basic: Basic) -> poem::Result<Principal> {
    let st = state(req)?;
    Ok(super::authenticate_basic(&st.store, basic.username, basic.password).await?)
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
pub struct BearerAuth(pub Principal);

/// `Authorization: Basic` with an OAuth client's id and secret (Sumo Logic accessId:accessKey).
#[derive(SecurityScheme)]
#[oai(rename = "basic", ty = "basic", checker = "check_basic")]
pub struct BasicAuth(pub Principal);

/// Either of the two.
#[derive(SecurityScheme)]
pub enum BearerOrBasic {
    Bearer(BearerAuth),
    Basic(BasicAuth),
}

impl BearerOrBasic {
    pub fn principal(&self) -> &Principal {
        match self {
            BearerOrBasic::Bearer(b) => &b.0,
            BearerOrBasic::Basic(b) => &b.0,
        }
    }
}
