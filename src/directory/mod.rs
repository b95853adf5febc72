//! The directory: the operations every dialect performs on the one store. A dialect parses
//! its wire format, then calls these inside its request's one database trip
//! (`AppState::trip`); each write here is one transaction that includes its audit entry.
//! Uniqueness, row locks, version checks, "nothing changed → no version bump", password
//! hashing and the audit trail live here once, for SCIM and every vendor dialect alike.
//!
//! Concurrency: a change reads its row with `lock` (PostgreSQL: `SELECT … FOR UPDATE`;
//! SQLite: the `BEGIN IMMEDIATE` transaction), computes the new state from what it read,
//! and writes it. Writers of one resource queue on the row instead of losing a
//! compare-and-set, so a change without `If-Match` never fails for concurrency; with
//! `If-Match` (`expected`), a different current version is `VersionMismatch` (412).

pub mod audit;
pub mod console_work;
pub mod credentials;
pub mod events;
pub mod extensions;
pub mod groups;
pub mod hooks;
pub mod identities;
pub mod orgs;
pub mod passwords;
pub mod read;
pub mod roles;
pub mod schemas;
pub mod seam;
pub mod usage;
pub mod users;

pub use crate::changes::Subject;
use crate::domain::{OrgId, PasswordHash, Principal};
/// Regular expressions as searches match them (`store::regexp`): for callers that match in
/// memory what the store matches in SQL.
pub use crate::store::regexp;
use crate::store::{self, DbConn};
/// One transaction around several directory operations, for a caller that makes them one
/// (SCIM Bulk, Adobe's action batches): `write_tx`, `savepoint`, `flattened` as the store
/// defines them.
pub use crate::store::{flattened, savepoint, write_tx};
/// The connection a request's trip runs on, and the store's errors, as the directory's
/// callers name them (they never import the store).
pub use crate::store::{DbConn as Conn, KeyCache, StoreError, StoreResult};

/// Who is changing the directory and through which dialect: the audit trail and
/// `created_by`/`modified_by` record it.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    pub principal: &'a Principal,
    /// `scim`, `logto`, `domo`, `sumo`, `adobe`.
    pub dialect: &'static str,
    /// bcrypt cost for passwords set through this call.
    pub bcrypt_cost: u32,
}

impl<'a> Caller<'a> {
    pub fn new(principal: &'a Principal, dialect: &'static str, bcrypt_cost: u32) -> Caller<'a> {
        Caller {
            principal,
            dialect,
            bcrypt_cost,
        }
    }

    pub fn org(&self) -> &OrgId {
        &self.principal.org_id
    }

    /// `dialect:credential`, as stored in `created_by` / `modified_by` and the audit trail.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.dialect, self.principal.credential_id)
    }

    /// The caller's organization's schema registry: no statement when the credential brought
    /// the organization's schema version and the registry is cached.
    pub fn schemas(
        &self,
        conn: &mut Conn,
    ) -> StoreResult<std::sync::Arc<crate::scim::schema::Registry>> {
        store::schemas::registry(conn, self.org(), self.principal.schemas_version)
    }
}

/// A caller is its principal acting through a dialect: a handler reads the principal's
/// organization, scopes and user through it.
impl std::ops::Deref for Caller<'_> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        self.principal
    }
}

/// A password a dialect sets: cleartext to hash, or a digest imported as it is (Logto's
/// `passwordDigest` with its algorithm).
#[derive(Clone)]
pub enum NewPassword {
    Plain(String),
    Digest(PasswordHash),
}

impl std::fmt::Debug for NewPassword {
    // Never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NewPassword::Plain(_) => f.write_str("Plain(…)"),
            NewPassword::Digest(d) => write!(f, "Digest({}, …)", d.algorithm),
        }
    }
}

/// bcrypt takes at most 72 bytes; longer passwords would be silently truncated, so refuse.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// The stored form of a new password. bcrypt runs here, on the request's blocking thread
/// and before its write transaction on `conn` begins, so no lock is held while it hashes
/// (one that is open is counted: `store::note_hashing`).
pub fn hash_password(conn: &DbConn, p: NewPassword, cost: u32) -> StoreResult<PasswordHash> {
    match p {
        NewPassword::Digest(d) => Ok(d),
        NewPassword::Plain(plain) => {
            if plain.is_empty() || plain.len() > MAX_PASSWORD_BYTES {
                return Err(StoreError::Invalid(format!(
                    "password must be 1 to {MAX_PASSWORD_BYTES} bytes"
                )));
            }
            // The rule book's minimum for every dialect: a password of nothing but
            // whitespace is no password (the console's fuller policy is
            // `passwords::check_chosen`).
            if plain.trim().is_empty() {
                return Err(StoreError::Invalid(
                    "password must not be only whitespace".into(),
                ));
            }
            store::note_hashing(conn);
            let hash = bcrypt::hash(plain, cost)
                .map_err(|_| StoreError::Invalid("the password cannot be hashed".into()))?;
            Ok(PasswordHash {
                hash,
                algorithm: "bcrypt".into(),
            })
        }
    }
}

/// Which versions of a resource a change may be made against (SCIM's `If-Match`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Expect {
    /// Whatever is current (no `If-Match`, or `*`).
    #[default]
    Any,
    /// One of these versions.
    OneOf(Vec<i64>),
}

/// Refuse a change made against a version the caller did not expect.
fn check_version(expected: &Expect, current: i64) -> StoreResult<()> {
    match expected {
        Expect::OneOf(v) if !v.contains(&current) => Err(StoreError::VersionMismatch),
        _ => Ok(()),
    }
}

/// The key an audit entry of `action` (a directory verb such as `User.Create`) is stored
/// under. Changes made through Logto carry Logto's own vocabulary (its webhook event names:
/// `User.Created`, `User.Data.Updated`, `User.SuspensionStatus.Updated`, `User.Deleted`), so
/// an existing Logto integration filtering `/api/logs` by `logKey` finds them; every other
/// dialect's are `<Dialect>.<action>` (`Scim.User.Create`, `Domo.Group.Update`, ...). The
/// exact verb is in every entry's payload as `action`.
pub fn audit_key(dialect: &str, action: &str) -> String {
    if dialect == "logto" {
        let key = match action {
            "User.Create" => "User.Created",
            "User.Delete" => "User.Deleted",
            "User.Suspend" | "User.Reinstate" => "User.SuspensionStatus.Updated",
            a if a.starts_with("User.") => "User.Data.Updated",
            a => return format!("Logto.{a}"),
        };
        return key.to_string();
    }
    let mut d = dialect.chars();
    let cap: String = d
        .next()
        .map(|c| c.to_ascii_uppercase())
        .into_iter()
        .chain(d)
        .collect();
    format!("{cap}.{action}")
}

/// One audit entry and the change event it fires (`changes::change`), written together in
/// the transaction of the change they record: a change that rolls back leaves neither, and
/// no write path can record one without the other. `action` is the directory verb
/// (`User.Update`); the stored key is `audit_key`'s; `subject` is the new state.
fn audit(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    user_id: Option<i64>,
    action: &str,
    payload: serde_json::Value,
    subject: Subject<'_>,
) -> StoreResult<()> {
    let change = std::iter::once((user_id, payload, subject));
    audit_many(conn, caller, action, change)
}

/// Audit entries and events for many changes of one kind (`action`), one multi-row INSERT
/// per 500 of each.
fn audit_many<'s>(
    conn: &mut DbConn,
    caller: &Caller<'_>,
    action: &str,
    changes: impl Iterator<Item = (Option<i64>, serde_json::Value, Subject<'s>)>,
) -> StoreResult<()> {
    let key = audit_key(caller.dialect, action);
    let actor = caller.actor();
    let mut events = Vec::new();
    let entries: Vec<store::audit::NewEntry<'_>> = changes
        .map(|(user_id, mut payload, subject)| {
            if let Some(obj) = payload.as_object_mut() {
                obj.insert("action".into(), action.into());
            }
            events.extend(crate::changes::changes(action, &subject, &payload));
            store::audit::NewEntry {
                org_id: caller.org(),
                user_id,
                key: &key,
                result: "Success",
                actor: &actor,
                dialect: caller.dialect,
                payload,
            }
        })
        .collect();
    store::audit::record_many(conn, &entries)?;
    let events: Vec<_> = events
        .into_iter()
        .map(|change| store::events::NewEvent {
            org_id: caller.org(),
            change,
            action,
            actor: &actor,
            dialect: caller.dialect,
        })
        .collect();
    store::events::record(conn, &events)
}

/// A changed resource and whether the change changed anything.
#[derive(Debug, Clone)]
pub struct Changed<T> {
    pub value: T,
    pub changed: bool,
    /// Member ids a group change left out because they name no user or group of the
    /// organization (`UnknownMembers::Skip`); empty otherwise.
    pub skipped: Vec<i64>,
}
