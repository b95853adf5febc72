//! Credential checking, scopes and tenant extraction (the token endpoints are routes: `dialects::oauth`).

pub mod cursor;
pub mod jwt;
pub mod schemes;
pub mod session;

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
    /// Too many failed checks of this client's secret or this user's password
    /// (`http::throttle`); the seconds until it is checked again.
    #[error("too many failed attempts; retry in {0} seconds")]
    Throttled(u64),
}

impl AuthError {
    pub fn status(&self) -> poem::http::StatusCode {
        use poem::http::StatusCode;
        match self {
            AuthError::Unauthorized => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
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

/// Make a new API token or OAuth client of `org` with a fresh id and secret (tokens `tok_…`
/// with a `mst_…` secret, clients `cli_…`); the secret is returned to show once and only its
/// hash is stored.
pub fn mint_credential(
    conn: &mut store::DbConn,
    org: &crate::domain::OrgId,
    kind: CredentialKind,
    label: &str,
    scopes: &crate::domain::Scopes,
    expires_at: Option<chrono::NaiveDateTime>,
) -> Result<(crate::domain::Credential, String), StoreError> {
    let (id, secret) = match kind {
        CredentialKind::Token => (generate_id("tok_"), new_secret(kind)),
        CredentialKind::Client => (generate_id("cli_"), new_secret(kind)),
    };
    let cred = store::credentials::create(
        conn,
        store::credentials::NewCredential {
            id: &id,
            org_id: org,
            kind,
            label,
            secret: &secret,
            scopes,
            user_id: None,
            expires_at,
        },
    )?;
    Ok((cred, secret))
}

/// A fresh secret for a credential of `kind` (a token's starts `mst_`).
pub fn new_secret(kind: CredentialKind) -> String {
    match kind {
        CredentialKind::Token => generate_secret("mst_"),
        CredentialKind::Client => generate_secret(""),
    }
}

fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// A credential as the request presented it, not yet checked. Checking it needs the database,
/// so it happens inside the request's one trip there (`AppState::trip`), on the same
/// connection as the operation.
#[derive(Clone)]
pub enum Presented {
    Bearer(String),
    Basic { id: String, secret: String },
}

impl std::fmt::Debug for Presented {
    // Never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Presented::Bearer(_) => f.write_str("Bearer(…)"),
            Presented::Basic { id, .. } => write!(f, "Basic({id}:…)"),
        }
    }
}

impl Presented {
    /// Refuse what cannot be a credential without asking the database.
    pub fn bearer(token: String) -> Result<Presented, AuthError> {
        if token.is_empty() || token.len() > 4096 || token.contains('\0') {
            return Err(AuthError::Unauthorized);
        }
        Ok(Presented::Bearer(token))
    }

    pub fn basic(id: String, secret: String) -> Result<Presented, AuthError> {
        // NUL cannot be in a PostgreSQL text value; such a credential cannot exist.
        if id.is_empty() || id.len() > 256 || secret.len() > 4096 || id.contains('\0') {
            return Err(AuthError::Unauthorized);
        }
        Ok(Presented::Basic { id, secret })
    }
}

/// Resolve a presented credential to the principal it stands for: one indexed lookup (a
/// JWT's signing key comes from `keys`), and a `last_used_at` write at most once a minute.
pub fn resolve(
    conn: &mut store::DbConn,
    keys: &store::KeyCache,
    presented: &Presented,
) -> Result<Principal, AuthError> {
    let unavailable = AuthError::Unavailable;
    let cred = match presented {
        Presented::Bearer(token) if looks_like_jwt(token) => {
            return jwt::verify(conn, keys, token)
                .map_err(unavailable)?
                .ok_or(AuthError::Unauthorized);
        }
        Presented::Bearer(token) => {
            store::credentials::find_token(conn, token).map_err(unavailable)?
        }
        Presented::Basic { id, secret } => store::credentials::verify_client(conn, id, secret)
            .map_err(unavailable)?
            .filter(|c| c.0.kind == CredentialKind::Client),
    };
    let (c, schemas_version) = cred.ok_or(AuthError::Unauthorized)?;
    // Best effort: a failed bookkeeping write never fails the request.
    let _ = store::credentials::touch_if_stale(conn, &c);
    Ok(Principal {
        org_id: c.org_id,
        scopes: c.scopes,
        credential_id: c.id,
        user_id: c.user_id,
        schemas_version: Some(schemas_version),
    })
}

/// Is `secret` the (current, live) secret of API token `credential_id`? A token console
/// session asks it again before a sensitive action, as a user session asks the password.
pub fn is_token_secret(
    conn: &mut store::DbConn,
    credential_id: &str,
    secret: &str,
) -> Result<bool, StoreError> {
    if secret.is_empty() || secret.len() > 4096 || secret.contains('\0') {
        return Ok(false);
    }
    Ok(store::credentials::find_token(conn, secret)?.is_some_and(|(c, _)| c.id == credential_id))
}

/// Resolve a presented credential in a trip of its own (the token endpoints, which then
/// mint in a second step only for a good client).
pub async fn authenticate(store: &Store, presented: Presented) -> Result<Principal, AuthError> {
    let keys = store.keys();
    store
        .run_with(move |conn| Ok::<_, AuthError>(resolve(conn, &keys, &presented)))
        .await?
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> AuthError {
        AuthError::Unavailable(e)
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
