//! API tokens and OAuth clients. Secrets are stored only as SHA-256 digests: they are long
//! random strings, so a fast hash is right (bcrypt is for passwords people choose).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

// A row is the dump format's: one column list for both.
use super::portable::CredentialRow as Row;
use super::schema::{credentials, organizations};
use super::{now, DbConn, MultiConn, StoreError, StoreResult};
use crate::domain::{Credential, CredentialKind, OrgId, Scopes};

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Row {
    fn into_domain(self) -> StoreResult<Credential> {
        let bad = |what: &str| StoreError::Conflict(format!("credential {} has {what}", self.id));
        Ok(Credential {
            org_id: OrgId::parse(&self.org_id).map_err(|_| bad("an invalid organization"))?,
            kind: CredentialKind::parse(&self.kind).ok_or_else(|| bad("an unknown kind"))?,
            scopes: Scopes::parse(&self.scopes).map_err(|_| bad("invalid scopes"))?,
            id: self.id,
            label: self.label,
            user_id: self.user_id,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
            expires_at: self.expires_at,
            previous_expires_at: self
                .previous_expires_at
                .filter(|_| self.previous_secret_hash.is_some()),
        })
    }
}

pub struct NewCredential<'a> {
    pub id: &'a str,
    pub org_id: &'a OrgId,
    pub kind: CredentialKind,
    pub label: &'a str,
    pub secret: &'a str,
    pub scopes: &'a Scopes,
    pub user_id: Option<i64>,
    /// When it stops working (`None`: never).
    pub expires_at: Option<NaiveDateTime>,
}

pub fn create(conn: &mut DbConn, new: NewCredential<'_>) -> StoreResult<Credential> {
    super::write_tx(conn, |conn| {
        super::orgs::get(conn, new.org_id)?;
        diesel::insert_into(credentials::table)
            .values((
                credentials::id.eq(new.id),
                credentials::org_id.eq(new.org_id.as_str()),
                credentials::kind.eq(new.kind.as_str()),
                credentials::label.eq(new.label),
                credentials::secret_hash.eq(hash_secret(new.secret)),
                credentials::scopes.eq(new.scopes.to_string()),
                credentials::user_id.eq(new.user_id),
                credentials::created_at.eq(now()),
                credentials::expires_at.eq(new.expires_at),
            ))
            .execute(conn.db())
            .map_err(|e| {
                StoreError::conflict_as(e, || {
                    "a credential with this id or secret already exists".into()
                })
            })?;
        get(conn, new.id)
    })
}

pub fn get(conn: &mut DbConn, id: &str) -> StoreResult<Credential> {
    credentials::table
        .filter(credentials::id.eq(id))
        .first::<Row>(conn.db())?
        .into_domain()
}

/// Credentials of one organization, or of all when `org` is `None` (the command line).
pub fn list(conn: &mut DbConn, org: Option<&OrgId>) -> StoreResult<Vec<Credential>> {
    let mut q = credentials::table.into_boxed();
    if let Some(org) = org {
        q = q.filter(credentials::org_id.eq(org.as_str().to_string()));
    }
    q.order((credentials::org_id.asc(), credentials::id.asc()))
        .load::<Row>(conn.db())?
        .into_iter()
        .map(Row::into_domain)
        .collect()
}

/// Revoke a credential; with `org` given, only one of that organization (else `NotFound`).
pub fn revoke(conn: &mut DbConn, org: Option<&OrgId>, id: &str) -> StoreResult<Credential> {
    super::write_tx(conn, |conn| {
        let existing = get(conn, id)?;
        if org.is_some_and(|o| *o != existing.org_id) {
            return Err(StoreError::NotFound);
        }
        if existing.revoked_at.is_none() {
            diesel::update(credentials::table.filter(credentials::id.eq(id)))
                .set(credentials::revoked_at.eq(Some(now())))
                .execute(conn.db())?;
        }
        get(conn, id)
    })
}

/// A credential with its organization's `schemas_version` (read in the same statement).
pub type WithVersion = (Credential, i64);

fn with_version((row, v): (Row, i64)) -> StoreResult<WithVersion> {
    Ok((row.into_domain()?, v))
}

/// The live API token whose secret is `secret`, looked up by its digest.
pub fn find_token(conn: &mut DbConn, secret: &str) -> StoreResult<Option<WithVersion>> {
    let digest = hash_secret(secret);
    let t = now();
    let row = super::on_backend!(conn, c => credentials::table
        .inner_join(organizations::table)
        .filter(credentials::secret_hash.eq(&digest))
        .filter(credentials::kind.eq(CredentialKind::Token.as_str()))
        .filter(credentials::revoked_at.is_null())
        .filter(credentials::expires_at.is_null().or(credentials::expires_at.gt(t)))
        .select((Row::as_select(), organizations::schemas_version))
        .first::<(Row, i64)>(c)
        .optional())?;
    if row.is_some() {
        return row.map(with_version).transpose();
    }
    // The secret before the token's last rotation, during its grace period (a second
    // statement only for a secret that is not current: the hot path is unchanged).
    let row = super::on_backend!(conn, c => credentials::table
        .inner_join(organizations::table)
        .filter(credentials::previous_secret_hash.eq(&digest))
        .filter(credentials::previous_expires_at.gt(t))
        .filter(credentials::kind.eq(CredentialKind::Token.as_str()))
        .filter(credentials::revoked_at.is_null())
        .filter(credentials::expires_at.is_null().or(credentials::expires_at.gt(t)))
        .select((Row::as_select(), organizations::schemas_version))
        .first::<(Row, i64)>(c)
        .optional())?;
    row.map(with_version).transpose()
}

/// The live client `id` if `secret` is its secret (compared in constant time).
pub fn verify_client(
    conn: &mut DbConn,
    id: &str,
    secret: &str,
) -> StoreResult<Option<WithVersion>> {
    let t = now();
    let row = super::on_backend!(conn, c => credentials::table
        .inner_join(organizations::table)
        .filter(credentials::id.eq(id))
        .filter(credentials::kind.eq(CredentialKind::Client.as_str()))
        .filter(credentials::revoked_at.is_null())
        .filter(credentials::expires_at.is_null().or(credentials::expires_at.gt(t)))
        .select((Row::as_select(), organizations::schemas_version))
        .first::<(Row, i64)>(c)
        .optional())?;
    match row {
        Some(row) => {
            let presented = hash_secret(secret);
            let same = |h: &str| bool::from(presented.as_bytes().ct_eq(h.as_bytes()));
            let current = same(&row.0.secret_hash);
            // The secret before the last rotation, during its grace period.
            let previous = row.0.previous_expires_at.is_some_and(|until| until > t)
                && row.0.previous_secret_hash.as_deref().is_some_and(same);
            if current || previous {
                Ok(Some(with_version(row)?))
            } else {
                Ok(None)
            }
        }
        None => Ok(None),
    }
}

/// The credential `id` if it exists and is neither revoked nor expired.
pub fn find_live(conn: &mut DbConn, id: &str) -> StoreResult<Option<WithVersion>> {
    let row = super::on_backend!(conn, c => credentials::table
        .inner_join(organizations::table)
        .filter(credentials::id.eq(id))
        .filter(credentials::revoked_at.is_null())
        .filter(credentials::expires_at.is_null().or(credentials::expires_at.gt(now())))
        .select((Row::as_select(), organizations::schemas_version))
        .first::<(Row, i64)>(c)
        .optional())?;
    row.map(with_version).transpose()
}

/// Ensure a token with this id and secret exists, live, with `scopes` (idempotent). Instances
/// starting together may race to insert it; the loser finds it and updates instead.
pub fn ensure_token(
    conn: &mut DbConn,
    id: &str,
    org: &OrgId,
    secret: &str,
    scopes: &Scopes,
) -> StoreResult<()> {
    let once = |conn: &mut DbConn| {
        super::write_tx(conn, |conn| {
            let digest = hash_secret(secret);
            let existing = credentials::table
                .filter(credentials::id.eq(id))
                .first::<Row>(conn.db())
                .optional()?;
            match existing {
                Some(_) => {
                    diesel::update(credentials::table.filter(credentials::id.eq(id)))
                        .set((
                            credentials::secret_hash.eq(digest),
                            credentials::scopes.eq(scopes.to_string()),
                            credentials::org_id.eq(org.as_str()),
                            credentials::kind.eq(CredentialKind::Token.as_str()),
                            credentials::revoked_at.eq(None::<NaiveDateTime>),
                        ))
                        .execute(conn.db())?;
                }
                None => {
                    diesel::insert_into(credentials::table)
                        .values((
                            credentials::id.eq(id),
                            credentials::org_id.eq(org.as_str()),
                            credentials::kind.eq(CredentialKind::Token.as_str()),
                            credentials::label.eq("bootstrap"),
                            credentials::secret_hash.eq(digest),
                            credentials::scopes.eq(scopes.to_string()),
                            credentials::created_at.eq(now()),
                        ))
                        .execute(conn.db())?;
                }
            }
            Ok(())
        })
    };
    match once(conn) {
        Err(StoreError::Conflict(_)) => once(conn),
        other => other,
    }
}

/// Record use at most once a minute per credential: the time read with the credential
/// decides, so a read request normally writes nothing (on SQLite any UPDATE takes the
/// database's write lock). Instances racing here write the same minute twice at worst.
pub fn touch_if_stale(conn: &mut DbConn, c: &Credential) -> StoreResult<bool> {
    let t = now();
    let stale = t - chrono::Duration::seconds(60);
    if c.last_used_at.is_some_and(|last| last >= stale) {
        return Ok(false);
    }
    let touch = |conn: &mut DbConn| {
        diesel::update(credentials::table.filter(credentials::id.eq(&c.id)))
            .set(credentials::last_used_at.eq(Some(t)))
            .execute(conn.db())
    };
    match conn.db() {
        // On SQLite the UPDATE needs the database's one write lock: never wait for it (a
        // read must not queue behind writers for bookkeeping); a busy database skips the
        // touch and the next request a minute on tries again.
        MultiConn::Sqlite(inner) => {
            use diesel::connection::SimpleConnection;
            inner.batch_execute("PRAGMA busy_timeout = 0")?;
            let result = touch(conn);
            if let MultiConn::Sqlite(inner) = conn.db() {
                inner.batch_execute(super::SQLITE_BUSY_TIMEOUT)?;
            }
            Ok(result.is_ok())
        }
        // PostgreSQL locks only this credential's row.
        MultiConn::Pg(_) => {
            touch(conn)?;
            Ok(true)
        }
    }
}

/// Give credential `id` (of `org`, else `NotFound`) the new secret `secret`; the one it had
/// keeps working until `previous_until` (`None`: it stops at once). A revoked or expired
/// credential cannot be rotated (`Conflict`).
pub fn rotate(
    conn: &mut DbConn,
    org: &OrgId,
    id: &str,
    secret: &str,
    previous_until: Option<NaiveDateTime>,
) -> StoreResult<Credential> {
    super::write_tx(conn, |conn| {
        let row = credentials::table
            .filter(credentials::id.eq(id))
            .filter(credentials::org_id.eq(org.as_str()))
            .first::<Row>(conn.db())
            .optional()?
            .ok_or(StoreError::NotFound)?;
        let t = now();
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= t) {
            return Err(StoreError::Conflict(
                "a revoked or expired credential cannot be rotated".into(),
            ));
        }
        let previous = previous_until.map(|_| row.secret_hash.clone());
        diesel::update(credentials::table.filter(credentials::id.eq(id)))
            .set((
                credentials::secret_hash.eq(hash_secret(secret)),
                credentials::previous_secret_hash.eq(previous),
                credentials::previous_expires_at.eq(previous_until),
            ))
            .execute(conn.db())?;
        get(conn, id)
    })
}

/// Set or clear when credential `id` (of `org`, else `NotFound`) expires.
pub fn set_expiry(
    conn: &mut DbConn,
    org: &OrgId,
    id: &str,
    expires_at: Option<NaiveDateTime>,
) -> StoreResult<Credential> {
    let n = diesel::update(
        credentials::table
            .filter(credentials::id.eq(id))
            .filter(credentials::org_id.eq(org.as_str())),
    )
    .set(credentials::expires_at.eq(expires_at))
    .execute(conn.db())?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, id)
}

/// Revoke every live credential of `org` (a deactivated organization's keys stop working).
/// Call inside a write transaction.
pub fn revoke_all(conn: &mut DbConn, org: &OrgId) -> StoreResult<usize> {
    Ok(diesel::update(
        credentials::table
            .filter(credentials::org_id.eq(org.as_str()))
            .filter(credentials::revoked_at.is_null()),
    )
    .set(credentials::revoked_at.eq(Some(now())))
    .execute(conn.db())?)
}
