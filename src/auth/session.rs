//! Web console sessions. Signing in (an admin user's password, or an API token with
//! `orgs:admin`) makes a server-side row keyed by the SHA-256 of a fresh random token that
//! travels only in the cookie. Each console request resolves that token inside its one
//! database trip (`AppState::session_trip`): the row must exist, be younger than the
//! absolute lifetime, have been used within the idle timeout, and its holder must still be
//! an active admin of the organization (or the token still live with `orgs:admin`). So
//! sign-out, a suspension, losing the admin role or a revoked token end the session on
//! every instance at once.
//!
//! The CSRF token of a session is derived from its secret (`csrf_of`), so it needs no
//! storage, differs per session, and cannot be computed without the cookie.

use sha2::{Digest, Sha256};

use super::AuthError;
use crate::domain::{OrgId, Principal, Scope, Scopes};
use crate::store::{self, console_sessions, DbConn};

/// The cookie's name over plain HTTP (a development setup): `Path=/console`, not `Secure`.
pub const COOKIE: &str = "muster_console";

/// The cookie's name over HTTPS: the `__Host-` prefix makes a browser keep it only when it
/// is `Secure`, has `Path=/` and no `Domain`, so no other host (a sibling subdomain) can
/// set or shadow it.
pub const HOST_COOKIE: &str = "__Host-muster_console";

/// `last_seen_at` is written at most this often (a console page is otherwise a read).
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// When each session of this instance last served a request. The idle timeout is measured
/// from the later of this and the row's `last_seen_at` (written at most once a minute), so
/// on one instance it runs from the last request, not from the last write; a session used
/// on several instances may end up to a minute early on one that has not served it lately.
#[derive(Default)]
pub struct Seen(std::sync::Mutex<std::collections::HashMap<String, chrono::NaiveDateTime>>);

/// Most sessions `Seen` remembers; past it, the ones idle longest are forgotten.
const SEEN_MAX: usize = 50_000;

impl Seen {
    fn get(&self, key: &str) -> Option<chrono::NaiveDateTime> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(key).copied()
    }

    fn note(&self, key: &str, at: chrono::NaiveDateTime, idle: chrono::Duration) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= SEEN_MAX && !m.contains_key(key) {
            m.retain(|_, t| at - *t <= idle);
            if m.len() >= SEEN_MAX {
                return;
            }
        }
        m.insert(key.to_string(), at);
    }

    fn forget(&self, key: &str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(key);
    }
}

pub use crate::config::ConsoleSessions as Lifetimes;

/// A resolved console session.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    /// The signed-in user's name, or the token's id.
    pub label: String,
    /// The token for this session's forms.
    pub csrf: String,
    /// The hash its row is keyed by (this browser's, in the list of sessions).
    pub key: String,
    /// A token session's credential (the one it signed in with).
    pub credential_id: Option<String>,
}

/// A fresh session secret (about 238 bits).
pub fn new_secret() -> String {
    super::generate_secret("mcs_")
}

/// What is stored for a secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of the session whose secret is `secret`.
pub fn csrf_of(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"muster console csrf\0");
    h.update(secret.as_bytes());
    hex::encode(&h.finalize()[..20])
}

/// Does `presented` equal the CSRF token of `secret` (in constant time)?
pub fn csrf_ok(secret: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    let want = csrf_of(secret);
    want.len() == presented.len() && bool::from(want.as_bytes().ct_eq(presented.as_bytes()))
}

/// The principal a user session acts as (`console` audit entries name `user:<id>`).
pub fn user_principal(org: OrgId, user_id: i64) -> Principal {
    Principal {
        org_id: org,
        scopes: Scopes::all(),
        credential_id: format!("user:{}", crate::domain::id_to_hex(user_id)),
        user_id: Some(user_id),
        schemas_version: None,
    }
}

/// Resolve the session of `secret`: at most three statements (the lookup with its holder's
/// standing, and a `last_seen_at` write at most once a minute or the delete of an expired row).
pub fn resolve(
    conn: &mut DbConn,
    secret: &str,
    life: Lifetimes,
    seen: &Seen,
) -> Result<Session, AuthError> {
    if secret.is_empty() || secret.len() > 256 {
        return Err(AuthError::Unauthorized);
    }
    let key = hash(secret);
    let found = console_sessions::find(conn, &key)?.ok_or(AuthError::Unauthorized)?;
    let now = store::now();
    let idle = chrono::Duration::from_std(life.idle).unwrap_or(chrono::Duration::MAX);
    let absolute = chrono::Duration::from_std(life.absolute).unwrap_or(chrono::Duration::MAX);
    let last = seen
        .get(&key)
        .map_or(found.last_seen_at, |t| t.max(found.last_seen_at));
    if now - last > idle || now - found.created_at > absolute {
        let _ = console_sessions::delete(conn, &key);
        seen.forget(&key);
        return Err(AuthError::Unauthorized);
    }
    seen.note(&key, now, idle);
    let org = OrgId::parse(&found.org_id).map_err(|_| AuthError::Unauthorized)?;
    let principal = match (found.user_id, &found.credential_id) {
        (Some(uid), _) if found.user_is_admin => Principal {
            schemas_version: Some(found.schemas_version),
            ..user_principal(org, uid)
        },
        (None, Some(cred)) => {
            let scopes = found
                .credential_scopes
                .as_deref()
                .and_then(|s| Scopes::parse(s).ok())
                .ok_or(AuthError::Unauthorized)?;
            let p = Principal {
                org_id: org,
                scopes,
                credential_id: cred.clone(),
                user_id: None,
                schemas_version: Some(found.schemas_version),
            };
            if !p.has(Scope::OrgsAdmin) {
                return Err(AuthError::Unauthorized);
            }
            p
        }
        _ => return Err(AuthError::Unauthorized),
    };
    if now - found.last_seen_at > TOUCH_EVERY {
        // Best effort, like a credential's `last_used_at`.
        let _ = console_sessions::touch(conn, &key);
    }
    Ok(Session {
        principal,
        label: found.label,
        csrf: csrf_of(secret),
        key,
        credential_id: found.credential_id,
    })
}

/// What a new session row holds.
pub use crate::store::console_sessions::NewSession;

/// Store a new session (keyed by the hash of its secret, `hash`).
pub fn start(conn: &mut DbConn, s: NewSession<'_>) -> store::StoreResult<()> {
    console_sessions::insert(conn, s)
}

/// End the session whose secret hashes to `key_hash`; whether there was one.
pub fn end(conn: &mut DbConn, key_hash: &str) -> store::StoreResult<bool> {
    console_sessions::delete(conn, key_hash)
}

/// A session as its holder's list shows it.
pub use crate::store::console_sessions::Listed;

/// The sessions of the holder of `s` (the same user, or the same token), newest first.
pub fn of_holder(conn: &mut DbConn, s: &Session) -> store::StoreResult<Vec<Listed>> {
    console_sessions::of_holder(
        conn,
        &s.principal.org_id,
        s.principal.user_id,
        s.credential_id.as_deref(),
    )
}

/// End every session of the holder of `s` ("sign out everywhere"), this one included.
pub fn end_all(conn: &mut DbConn, s: &Session) -> store::StoreResult<usize> {
    console_sessions::delete_of_holder(
        conn,
        &s.principal.org_id,
        s.principal.user_id,
        s.credential_id.as_deref(),
    )
}

/// End one session of the holder of `s`, named by the start of its key (`Listed::id`).
pub fn end_one(conn: &mut DbConn, s: &Session, id: &str) -> store::StoreResult<bool> {
    let key = of_holder(conn, s)?
        .into_iter()
        .find(|l| l.id() == id)
        .map(|l| l.token_hash);
    match key {
        Some(k) => console_sessions::delete(conn, &k),
        None => Ok(false),
    }
}
