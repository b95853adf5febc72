//! Credentials as the directory hands them out: no credential gets a scope its granter
//! lacks, and each grant and revoke is in the audit trail with who did it.

use serde_json::json;

use super::{audit, roles, Caller, Subject};
use crate::domain::{Credential, CredentialKind, Scope, Scopes};
use crate::store::{self, DbConn, StoreResult};

/// Make a token or client with `scopes` (`auth::mint_credential`): `Forbidden` when the
/// caller lacks one of them. Returns it with its secret, to show once.
pub fn mint(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    kind: CredentialKind,
    label: &str,
    scopes: &Scopes,
) -> StoreResult<(Credential, String)> {
    let wanted: Vec<Scope> = scopes.iter().collect();
    roles::check_scopes(caller, &wanted, "this credential")?;
    store::write_tx(conn, |conn| {
        let (cred, secret) = crate::auth::mint_credential(conn, caller.org(), kind, label, scopes)?;
        audit(
            conn,
            caller,
            None,
            "Credential.Create",
            json!({"credentialId": cred.id, "kind": kind.as_str(), "scopes": scopes.to_string()}),
            Subject::None,
        )?;
        Ok((cred, secret))
    })
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
            json!({"credentialId": cred.id, "scopes": cred.scopes.to_string()}),
            Subject::None,
        )?;
        Ok(cred)
    })
}
