//! Sumo's `token` / `next`: an opaque keyset cursor. It is a JWT (HS256) signed with the
//! database's signing key, as SCIM's cursors are: URL-safe, tamper-proof, valid on every
//! instance on the same database, bound to the query it was issued for (organization,
//! resource, sort and filter) and expiring after `TTL_SECONDS`.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::sync::Arc;

use super::error::{SumoError, SumoResult};
use crate::auth::cursor::{self, CursorFault};
use crate::directory::{Conn, KeyCache};
use crate::request::AppState;

pub const TTL_SECONDS: u64 = 3600;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Hash of the query the cursor belongs to.
    q: String,
    /// The sort key of the last row shown.
    k: String,
    /// The id (or offset) of the last row shown.
    i: i64,
    exp: u64,
    iat: u64,
}

/// Where the next page starts: after the row with this key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub key: String,
    pub id: i64,
}

/// The hash binding a cursor to its query.
pub fn query_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0xff]);
    }
    hex::encode(&h.finalize()[..12])
}

fn invalid() -> SumoError {
    SumoError::invalid(
        "invalid_token",
        "The token is not one this server issued for this query.",
    )
}

pub fn encode(conn: &mut Conn, keys: &KeyCache, q: &str, after: &After) -> SumoResult<String> {
    let (kid, key) = keys.current(conn)?;
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let claims = Claims {
        q: q.to_string(),
        k: after.key.clone(),
        i: after.id,
        iat: now,
        exp: now + TTL_SECONDS,
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid);
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&key)).map_err(|_| {
        SumoError::new(
            poem::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal.error",
            "The token cannot be signed.",
        )
    })
}

/// The position a token names, if this server issued it for query `q` and it has not
/// expired.
pub fn decode(conn: &mut Conn, keys: &KeyCache, token: &str, q: &str) -> SumoResult<After> {
    let kid = cursor::key_id(token).map_err(fault)?;
    let key = keys.get(conn, &kid)?.ok_or_else(invalid)?;
    verify(token, &key, q)
}

fn fault(f: CursorFault) -> SumoError {
    match f {
        CursorFault::Invalid => invalid(),
        CursorFault::Expired => {
            SumoError::invalid("invalid_token", "The token has expired; start again.")
        }
    }
}

/// The position a token signed with `key` names, if it was issued for query `q` and has not
/// expired (the half of [`decode`] after the key lookup).
pub fn verify(token: &str, key: &[u8], q: &str) -> SumoResult<After> {
    let claims: Claims = cursor::verify(token, key).map_err(fault)?;
    if claims.q != q {
        return Err(invalid());
    }
    Ok(After {
        key: claims.k,
        id: claims.i,
    })
}

/// `limit`: 1 to 1000, default 100.
pub fn limit(v: Option<&str>) -> SumoResult<i64> {
    match v.map(str::trim) {
        None | Some("") => Ok(100),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(SumoError::invalid(
                "invalid_limit",
                format!("limit must be an integer from 1 to 1000, got {s:?}"),
            )),
        },
    }
}

/// A present, non-empty token.
pub fn token(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|t| !t.is_empty())
}

/// The page a list asks for: its `limit` and `token` as given, and the keys that sign and
/// check tokens. Every list of the dialect pages this way: load one row more than the
/// limit after the token's position ([`Paging::after`]), then keep the limit and issue the
/// next page's token ([`Paging::next`]).
pub struct Paging {
    limit: Option<String>,
    token: Option<String>,
    keys: Arc<KeyCache>,
}

impl Paging {
    pub fn new(state: &AppState, limit: Option<String>, token: Option<String>) -> Paging {
        Paging {
            limit,
            token,
            keys: state.store.keys(),
        }
    }

    /// `limit`: 1 to 1000, default 100.
    pub fn limit(&self) -> SumoResult<i64> {
        limit(self.limit.as_deref())
    }

    /// Where the page starts: the position the token names (one issued for the query
    /// `hash`), or `None` without a token.
    pub fn after(&self, conn: &mut Conn, hash: &str) -> SumoResult<Option<After>> {
        token(self.token.as_deref())
            .map(|t| decode(conn, &self.keys, t, hash))
            .transpose()
    }

    /// The token of the page from `after` on.
    pub fn token_at(&self, conn: &mut Conn, hash: &str, after: &After) -> SumoResult<String> {
        encode(conn, &self.keys, hash, after)
    }

    /// Keep the first `limit` of `rows` (loaded with one more, to tell whether there are
    /// more); when there are, the token of the next page, after the last row kept (`at`
    /// gives a row's position).
    pub fn next<T>(
        &self,
        conn: &mut Conn,
        hash: &str,
        rows: &mut Vec<T>,
        limit: i64,
        at: impl Fn(&T) -> After,
    ) -> SumoResult<Option<String>> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        match rows.last() {
            Some(last) if more => Ok(Some(self.token_at(conn, hash, &at(last))?)),
            _ => Ok(None),
        }
    }
}
