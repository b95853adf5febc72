//! The HMAC key that signs access tokens, kept in the database so every instance on the same
//! database verifies what any other minted.

use diesel::prelude::*;

use super::schema::signing_keys;
use super::{now, DbConn, StoreError, StoreResult};

pub const CURRENT_KEY_ID: &str = "k1";

/// Could `kid` be one of our key ids (`k` and digits)? Anything else is not looked up.
pub fn is_key_id(kid: &str) -> bool {
    kid.len() <= 16
        && kid.starts_with('k')
        && kid.len() > 1
        && kid[1..].bytes().all(|b| b.is_ascii_digit())
}

/// The current key, created on first use. Two instances racing both end up with the winner's.
pub fn current(conn: &mut DbConn) -> StoreResult<(String, Vec<u8>)> {
    if let Some(key) = get(conn, CURRENT_KEY_ID)? {
        return Ok((CURRENT_KEY_ID.to_string(), key));
    }
    let secret: [u8; 32] = rand::random();
    let inserted = diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::id.eq(CURRENT_KEY_ID),
            signing_keys::secret.eq(hex::encode(secret)),
            signing_keys::created_at.eq(now()),
        ))
        .execute(conn.db());
    match inserted.map_err(StoreError::from) {
        Ok(_) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e),
    }
    let key = get(conn, CURRENT_KEY_ID)?.ok_or(StoreError::NotFound)?;
    Ok((CURRENT_KEY_ID.to_string(), key))
}

pub fn get(conn: &mut DbConn, id: &str) -> StoreResult<Option<Vec<u8>>> {
    let secret: Option<String> = signing_keys::table
        .filter(signing_keys::id.eq(id))
        .select(signing_keys::secret)
        .first(conn.db())
        .optional()?;
    Ok(secret.and_then(|s| hex::decode(s).ok()))
}
