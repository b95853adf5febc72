//! Access tokens: JWTs (HS256) signed with the key in the database, so any instance on the
//! same database verifies what another minted. Clients such as pydomo read `exp` to decide
//! when to refresh; revoking the client ends its tokens at once, because verification checks
//! that the client is still live.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{Credential, OrgId, Principal, Scopes};
use crate::store::{self, DbConn, StoreResult};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    org: String,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    iat: u64,
    exp: u64,
    jti: String,
}

pub struct Minted {
    pub access_token: String,
    pub expires_in: u64,
}

/// Mint an access token for `client` with `scopes` (already narrowed by the caller).
pub fn mint(
    conn: &mut DbConn,
    keys: &store::KeyCache,
    issuer: &str,
    client: &Credential,
    scopes: &Scopes,
    audience: Option<&str>,
    ttl_seconds: u64,
) -> StoreResult<Minted> {
    let (kid, key) = keys.current(conn)?;
    let iat = chrono::Utc::now().timestamp().max(0) as u64;
    let claims = Claims {
        iss: issuer.to_string(),
        sub: client.id.clone(),
        org: client.org_id.to_string(),
        scope: scopes.to_string(),
        aud: audience.map(str::to_string),
        iat,
        exp: iat + ttl_seconds,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid);
    let access_token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&key))
        .map_err(|e| store::StoreError::Busy(format!("cannot sign token: {e}")))?;
    Ok(Minted {
        access_token,
        expires_in: ttl_seconds,
    })
}

/// The principal of a valid, unexpired access token whose client is still live.
pub fn verify(
    conn: &mut DbConn,
    keys: &store::KeyCache,
    token: &str,
) -> StoreResult<Option<Principal>> {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Ok(None);
    };
    if header.alg != Algorithm::HS256 {
        return Ok(None);
    }
    // The key id is the caller's text, read before any signature: only ids we make.
    let Some(kid) = header.kid.filter(|k| store::signing_keys::is_key_id(k)) else {
        return Ok(None);
    };
    let Some(key) = keys.get(conn, &kid)? else {
        return Ok(None);
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let Ok(data) =
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&key), &validation)
    else {
        return Ok(None);
    };
    let claims = data.claims;
    let Some((client, schemas_version)) = store::credentials::find_live(conn, &claims.sub)? else {
        return Ok(None);
    };
    let (Ok(org), Ok(scopes)) = (OrgId::parse(&claims.org), Scopes::parse(&claims.scope)) else {
        return Ok(None);
    };
    if org != client.org_id {
        return Ok(None);
    }
    Ok(Some(Principal {
        org_id: org,
        // Never more than the client holds now, even if its scopes were narrowed since.
        scopes: scopes.intersect(&client.scopes),
        credential_id: client.id,
        user_id: client.user_id,
        schemas_version: Some(schemas_version),
    }))
}
