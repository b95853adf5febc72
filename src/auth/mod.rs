//! Credential checking, scopes, tenant extraction, and the token endpoints.

pub mod jwt;
pub mod schemes;
pub mod token_endpoints;

use rand::distributions::{Alphanumeric, DistString};

use crate::domain::{CredentialKind, Principal, Scope};
use crate::store::{self, Store, StoreError};

/// Why a request is not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("the credential lacks the {0} scope")]
    Forbidden(&'static str),
    #[error("the credential store is unavailable")]
    Unavailable(#[source] StoreError),
}

impl AuthError {
    pub fn status(&self) -> poem::http::StatusCode {
        use poem::http::StatusCode;
        match self {
            AuthError::Unauthorized => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<AuthError> for poem::Error {
    fn from(e: AuthError) -> poem::Error {
        let status = e.status();
        poem::Error::from_string(e.to_string(), status)
    }
}

/// A fresh random secret: `prefix` plus 40 alphanumerics (about 238 bits).
pub fn generate_secret(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
    )
}

/// A fresh random credential id.
pub fn generate_id(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric
            .sample_string(&mut rand::thread_rng(), 16)
            .to_ascii_lowercase()
    )
}

fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Resolve a bearer token: an access token minted by a token endpoint (JWT) or an API token.
pub async fn authenticate_bearer(store: &Store, token: String) -> Result<Principal, AuthError> {
    if token.is_empty() || token.len() > 4096 {
        return Err(AuthError::Unauthorized);
    }
    let found = store
        .run(move |conn| {
            let cred = if looks_like_jwt(&token) {
                match jwt::verify(conn, &token)? {
                    Some(p) => return Ok(Some(p)),
                    None => None,
                }
            } else {
                store::credentials::find_token(conn, &token)?
            };
            Ok(cred.map(|c| {
                let _ = store::credentials::touch(conn, &c.id);
                Principal {
                    org_id: c.org_id,
                    scopes: c.scopes,
                    credential_id: c.id,
                    user_id: c.user_id,
                }
            }))
        })
        .await
        .map_err(AuthError::Unavailable)?;
    found.ok_or(AuthError::Unauthorized)
}

/// Resolve HTTP Basic `client_id:client_secret` (Sumo Logic's accessId:accessKey).
pub async fn authenticate_basic(
    store: &Store,
    id: String,
    secret: String,
) -> Result<Principal, AuthError> {
    // NUL cannot be in a PostgreSQL text value; such a credential cannot exist.
    if id.is_empty() || id.len() > 256 || secret.len() > 4096 || id.contains('\0') {
        return Err(AuthError::Unauthorized);
    }
    let found = store
        .run(move |conn| {
            let cred = store::credentials::verify_client(conn, &id, &secret)?;
            if let Some(c) = &cred {
                let _ = store::credentials::touch(conn, &c.id);
            }
            Ok(cred)
        })
        .await
        .map_err(AuthError::Unavailable)?;
    match found {
        Some(c) if c.kind == CredentialKind::Client => Ok(Principal {
            org_id: c.org_id,
            scopes: c.scopes,
            credential_id: c.id,
            user_id: c.user_id,
        }),
        _ => Err(AuthError::Unauthorized),
    }
}

/// Require a scope of the principal.
pub fn require(p: &Principal, scope: Scope) -> Result<(), AuthError> {
    if p.has(scope) {
        Ok(())
    } else {
        Err(AuthError::Forbidden(scope.as_str()))
    }
}
