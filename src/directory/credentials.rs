//! Credentials as the directory hands them out: no credential gets a scope its granter
//! lacks, and each grant and revoke is in the audit trail with who did it.

use serde_json::json;

use super::{audit, roles, Caller, Subject};
use crate::domain::{Credential, CredentialKind, Scope, Scopes};
use crate::store::{self, DbConn, StoreResult};

/// Longest label a credential may have.
pub const MAX_LABEL: usize = 255;

/// Make a token or client with `scopes` (`auth::mint_credential`): `Forbidden` when the
/// caller lacks one of them. Returns it with its secret, to show once.
pub fn mint(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    kind: CredentialKind,
    label: &str,
    scopes: &Scopes,
    expires_at: Option<chrono::NaiveDateTime>,
) -> StoreResult<(Credential, String)> {
    let wanted: Vec<Scope> = scopes.iter().collect();
    roles::check_scopes(caller, &wanted, "this credential")?;
    store::write_tx(conn, |conn| {
        let (cred, secret) =
            crate::auth::mint_credential(conn, caller.org(), kind, label, scopes, expires_at)?;
        audit(
            conn,
            caller,
            None,
            "Credential.Create",
            json!({"credentialId": cred.id, "kind": kind.as_str(), "label": label,
                   "scopes": scopes.to_string(),
                   "expiresAt": expires_at.map(|t| t.and_utc().to_rfc3339())}),
            Subject::None,
        )?;
        Ok((cred, secret))
    })
}

/// The credentials of `org` (every organization's when `None`), never their secrets.
pub fn list(conn: &mut DbConn, org: Option<&crate::domain::OrgId>) -> StoreResult<Vec<Credential>> {
    store::credentials::list(conn, org)
}

/// One credential by id (`NotFound` when there is none).
pub fn get(conn: &mut DbConn, id: &str) -> StoreResult<Credential> {
    store::credentials::get(conn, id)
}

/// Revoke credential `id` of the caller's organization (`NotFound` for another's).
pub fn revoke(conn: &mut DbConn, caller: &Caller<'_>, id: &str) -> StoreResult<Credential> {
    store::write_tx(conn, |conn| {
        let cred = store::credentials::revoke(conn, Some(caller.org()), id)?;
        audit(
            conn,
            caller,
            None,
            "Credential.Revoke",
            json!({"credentialId": cred.id, "label": cred.label,
                   "scopes": cred.scopes.to_string()}),
            Subject::None,
        )?;
        Ok(cred)
    })
}

/// The longest grace period a rotation gives the old secret.
pub const MAX_GRACE: chrono::Duration = chrono::Duration::days(30);

/// Give credential `id` of the caller's organization a new secret (returned, to show once);
/// the old one keeps working for `grace` (zero: it stops at once, up to `MAX_GRACE`), so an
/// identity provider can be switched over without a failed sync. `Conflict` for a revoked
/// or expired one, `NotFound` for another organization's.
pub fn rotate(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: &str,
    grace: chrono::Duration,
) -> StoreResult<(Credential, String)> {
    if grace < chrono::Duration::zero() || grace > MAX_GRACE {
        return Err(store::StoreError::Invalid(
            "the grace period is 0 to 30 days".into(),
        ));
    }
    store::write_tx(conn, |conn| {
        let kind = store::credentials::get(conn, id)?.kind;
        let secret = crate::auth::new_secret(kind);
        let until = (grace > chrono::Duration::zero()).then(|| store::now() + grace);
        let cred = store::credentials::rotate(conn, caller.org(), id, &secret, until)?;
        audit(
            conn,
            caller,
            None,
            "Credential.Rotate",
            json!({"credentialId": cred.id, "label": cred.label,
                   "previousValidUntil": until.map(|t| t.and_utc().to_rfc3339())}),
            Subject::None,
        )?;
        Ok((cred, secret))
    })
}
