//! The opaque paging cursors of SCIM and Sumo Logic: HS256 JWTs signed with the database's
//! signing key. Decoding is split in two pure halves around the key lookup, so the parsing of
//! a hostile token can be tested (and fuzzed) without a database.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;

use crate::store::signing_keys;

/// Why a cursor is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorFault {
    /// Not a token this server issued (malformed, unknown key, bad signature, bad claims).
    Invalid,
    /// Issued here, but past its `exp`.
    Expired,
}

/// The signing key id a token names, if it is well-formed enough to name one.
pub fn key_id(token: &str) -> Result<String, CursorFault> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| CursorFault::Invalid)?;
    header
        .kid
        .filter(|k| signing_keys::is_key_id(k))
        .ok_or(CursorFault::Invalid)
}

/// The claims of a token signed with `key`, if its signature holds and it has not expired.
pub fn verify<C: DeserializeOwned>(token: &str, key: &[u8]) -> Result<C, CursorFault> {
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_aud = false;
    v.leeway = 0;
    v.set_required_spec_claims(&["exp"]);
    match jsonwebtoken::decode::<C>(token, &DecodingKey::from_secret(key), &v) {
        Ok(d) => Ok(d.claims),
        Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
            Err(CursorFault::Expired)
        }
        Err(_) => Err(CursorFault::Invalid),
    }
}
