//! Child organizations (Sumo Logic's organizations API): create, change the subscription,
//! deactivate, delink, and mint a child's credential. The caller manages only its own
//! children; each write is one transaction with its audit entry in the caller's
//! organization.

use serde_json::json;

use super::{audit, Caller, Subject};
use crate::domain::{Credential, CredentialKind, OrgDetails, OrgId, Scopes, Subscription};
use crate::store::{self, DbConn, StoreError, StoreResult};

pub const ACTIVE: &str = "Active";
pub const INACTIVE: &str = "Inactive";
pub const DELINKED: &str = "Delinked";

/// A child of the caller's organization that is still linked to it (any other id is
/// `NotFound`, so other tenants' ids are not confirmed to exist).
pub fn child(conn: &mut DbConn, caller_org: &OrgId, id: &OrgId) -> StoreResult<OrgDetails> {
    let d = store::orgs::details(conn, id)?;
    if d.org.parent_id.as_ref() != Some(caller_org) || d.status == DELINKED {
        return Err(StoreError::NotFound);
    }
    Ok(d)
}

/// What a new child is made with.
pub struct NewChild {
    pub id: OrgId,
    pub name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub deployment_id: String,
    pub subscription: Subscription,
}

pub fn create_child(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    c: &NewChild,
) -> StoreResult<OrgDetails> {
    store::write_tx(conn, |conn| {
        let d = store::orgs::create_child(
            conn,
            store::orgs::NewChild {
                id: &c.id,
                parent: caller.org(),
                name: &c.name,
                email: &c.email,
                first_name: &c.first_name,
                last_name: c.last_name.as_deref(),
                deployment_id: &c.deployment_id,
                subscription: &c.subscription,
            },
        )?;
        audit(
            conn,
            caller,
            None,
            "Organization.Create",
            json!({"orgId": c.id.as_str(), "name": c.name,
                   "plan": c.subscription.plan_name, "credits": c.subscription.credits}),
            Subject::Payload,
        )?;
        Ok(d)
    })
}

/// Change a child's subscription: `change` computes it from the current one. Only an active
/// child's subscription can change.
pub fn update_subscription(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: &OrgId,
    change: impl FnOnce(&Subscription) -> Subscription,
) -> StoreResult<OrgDetails> {
    store::write_tx(conn, |conn| {
        let current = child(conn, caller.org(), id)?;
        if current.status != ACTIVE {
            return Err(StoreError::Invalid(format!(
                "organization {id} is deactivated; its subscription cannot change"
            )));
        }
        let s = change(&current.subscription);
        let d = store::orgs::write_state(conn, &current, ACTIVE, &s)?;
        audit(
            conn,
            caller,
            None,
            "Organization.Update",
            json!({"orgId": id.as_str(), "credits": s.credits, "version": d.version}),
            Subject::Payload,
        )?;
        Ok(d)
    })
}

/// Deactivate a child: its subscription is canceled and every credential of it revoked (its
/// users and data stay, unreachable). Deactivating it again changes nothing.
pub fn deactivate(conn: &mut DbConn, caller: &Caller<'_>, id: &OrgId) -> StoreResult<OrgDetails> {
    store::write_tx(conn, |conn| {
        let current = child(conn, caller.org(), id)?;
        if current.status == INACTIVE {
            return Ok(current);
        }
        let s = Subscription {
            status: Some("Canceled".into()),
            ..current.subscription.clone()
        };
        let d = store::orgs::write_state(conn, &current, INACTIVE, &s)?;
        let revoked = store::credentials::revoke_all(conn, id)?;
        audit(
            conn,
            caller,
            None,
            "Organization.Deactivate",
            json!({"orgId": id.as_str(), "credentialsRevoked": revoked}),
            Subject::Payload,
        )?;
        Ok(d)
    })
}

/// Delink deactivated children: they stop being the caller's children (no longer listed or
/// managed; the usage report over dates still names them `Delinked`). All or none: an id
/// that is not a deactivated child of the caller fails the whole request.
pub fn delink(conn: &mut DbConn, caller: &Caller<'_>, ids: &[OrgId]) -> StoreResult<usize> {
    store::write_tx(conn, |conn| {
        for id in ids {
            let current = child(conn, caller.org(), id)?;
            if current.status != INACTIVE {
                return Err(StoreError::Invalid(format!(
                    "organization {id} is active: only deactivated organizations can be delinked"
                )));
            }
            let s = current.subscription.clone();
            store::orgs::write_state(conn, &current, DELINKED, &s)?;
            audit(
                conn,
                caller,
                None,
                "Organization.Delink",
                json!({"orgId": id.as_str()}),
                Subject::Payload,
            )?;
        }
        Ok(ids.len())
    })
}

/// Mint a client credential of child `id` (an access id and key for HTTP Basic): it works on
/// the child's users and nowhere else. `scopes` must be within the caller's own. The secret
/// is returned once, here.
pub fn mint_child_key(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    id: &OrgId,
    label: &str,
    scopes: &Scopes,
) -> StoreResult<(Credential, String)> {
    if scopes.iter().any(|s| !caller.principal.has(s)) {
        return Err(StoreError::Invalid(
            "a key cannot grant scopes its creator lacks".into(),
        ));
    }
    store::write_tx(conn, |conn| {
        let current = child(conn, caller.org(), id)?;
        if current.status != ACTIVE {
            return Err(StoreError::Invalid(format!(
                "organization {id} is deactivated"
            )));
        }
        let key_id = crate::auth::generate_id("cli_");
        let secret = crate::auth::generate_secret("");
        let cred = store::credentials::create(
            conn,
            store::credentials::NewCredential {
                id: &key_id,
                org_id: id,
                kind: CredentialKind::Client,
                label,
                secret: &secret,
                scopes,
                user_id: None,
                expires_at: None,
            },
        )?;
        audit(
            conn,
            caller,
            None,
            "Organization.AccessKey.Create",
            json!({"orgId": id.as_str(), "credentialId": cred.id, "label": label}),
            Subject::None,
        )?;
        Ok((cred, secret))
    })
}

/// A fresh random id (Sumo Logic builds a child's organization id from one).
pub use crate::store::new_id;

/// The store's reads of organizations serve as they are.
pub use crate::store::orgs::{children, children_by_id, details, get, manageable};
