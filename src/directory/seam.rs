//! The dialect seam: what every caller of the directory (SCIM, the vendor dialects, the admin
//! API, the console) has in common at its edge, written once. The directory classifies its
//! errors and the credential check's here, as a [`Failure`], logging what needs logging in
//! one place; a dialect supplies only its vocabulary ([`Dialect`]): the name the audit trail
//! records it by, the format of its ids, and its wire error for each kind of failure. The
//! request layer's trip builder (`request::Trip`) runs an operation as that dialect's caller.

use crate::auth::AuthError;
use crate::domain::rules::Refused;
use crate::domain::{IdFormat, UniqueField};
use crate::store::StoreError;

/// Why an operation did not do what was asked, whoever asked: every dialect answers each
/// kind in its own words ([`Dialect::failure`]).
#[derive(Debug)]
pub enum Failure {
    /// Nothing of that id (in the caller's organization).
    NotFound,
    /// An id not in the dialect's format ([`Dialect::IDS`]): as given.
    MalformedId(String),
    /// A unique value is taken; the database's or the directory's words.
    Conflict(String),
    /// A unique field of a user is another user's in the organization.
    Taken(UniqueField),
    /// A value an identity rule refuses (`domain::rules`): the field and why.
    Refused(Refused),
    /// The caller may not do this: it would grant a scope the caller lacks.
    NotAllowed(String),
    /// The resource changed since the version the request carried.
    VersionMismatch,
    /// The request names something that cannot be (an unknown member, say).
    Invalid(String),
    /// No credential, or not a valid one.
    Unauthorized,
    /// The credential lacks this scope.
    Forbidden(&'static str),
    /// Too many failed checks: retry after this many seconds.
    Throttled(u64),
    /// The database is busy or unreachable (retry).
    Busy,
    /// Every connection is in use and the line for one is full (retry after a while).
    Overloaded,
    /// A bug or an unexpected database error: logged, answered as a 500.
    Internal,
}

impl Failure {
    /// The HTTP status a dialect without words of its own answers with.
    pub fn status(&self) -> poem::http::StatusCode {
        use poem::http::StatusCode;
        match self {
            Failure::NotFound | Failure::MalformedId(_) => StatusCode::NOT_FOUND,
            Failure::Conflict(_) | Failure::Taken(_) => StatusCode::CONFLICT,
            Failure::Refused(_) => StatusCode::BAD_REQUEST,
            Failure::NotAllowed(_) => StatusCode::FORBIDDEN,
            Failure::VersionMismatch => StatusCode::PRECONDITION_FAILED,
            Failure::Invalid(_) => StatusCode::BAD_REQUEST,
            Failure::Unauthorized => StatusCode::UNAUTHORIZED,
            Failure::Forbidden(_) => StatusCode::FORBIDDEN,
            Failure::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Failure::Busy | Failure::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl Failure {
    /// `status` for a dialect whose writes carry no version (no `If-Match`: Logto, Domo,
    /// Sumo, Adobe): a version mismatch there is a concurrent change, 409.
    pub fn status_unversioned(&self) -> poem::http::StatusCode {
        match self {
            Failure::VersionMismatch => poem::http::StatusCode::CONFLICT,
            other => other.status(),
        }
    }
}

/// Plain words for each kind (the credential's as `AuthError` says them), for a dialect
/// without words of its own.
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NotFound => write!(f, "not found"),
            Failure::MalformedId(id) => write!(f, "{id:?} not found"),
            Failure::Conflict(m) | Failure::Invalid(m) | Failure::NotAllowed(m) => write!(f, "{m}"),
            Failure::Taken(field) => write!(f, "{}", field.taken_message()),
            Failure::Refused(r) => write!(f, "{r}"),
            Failure::VersionMismatch => write!(f, "the resource changed"),
            Failure::Unauthorized => write!(f, "{}", AuthError::Unauthorized),
            Failure::Forbidden(s) => write!(f, "{}", AuthError::Forbidden(s)),
            Failure::Throttled(n) => write!(f, "{}", AuthError::Throttled(*n)),
            Failure::Busy => write!(f, "the database is unavailable; retry"),
            Failure::Overloaded => write!(
                f,
                "the server is overloaded; retry after the Retry-After interval"
            ),
            Failure::Internal => write!(f, "internal error"),
        }
    }
}

impl From<StoreError> for Failure {
    /// The one place a store error is classified and logged: a busy or unreachable
    /// database as a warning, a database error as an error. A panic was logged and counted
    /// where it was caught; an overload is counted by the gate.
    fn from(e: StoreError) -> Failure {
        match e {
            StoreError::NotFound => Failure::NotFound,
            StoreError::Conflict(m) => Failure::Conflict(m),
            StoreError::Taken(field) => Failure::Taken(field),
            StoreError::Refused(r) => Failure::Refused(r),
            StoreError::Forbidden(m) => Failure::NotAllowed(m),
            StoreError::VersionMismatch => Failure::VersionMismatch,
            StoreError::Invalid(m) => Failure::Invalid(m),
            StoreError::Busy(m) => {
                tracing::warn!(error = %m, "database busy or unavailable");
                Failure::Busy
            }
            StoreError::Overloaded => Failure::Overloaded,
            // Logged by the store once per episode (disk full, SQLite file replaced).
            StoreError::Unwritable(_) => Failure::Busy,
            StoreError::Panicked => Failure::Internal,
            StoreError::Db(e) => {
                tracing::error!(error = %e, "database error");
                Failure::Internal
            }
        }
    }
}

impl From<AuthError> for Failure {
    fn from(e: AuthError) -> Failure {
        match e {
            AuthError::Unauthorized => Failure::Unauthorized,
            AuthError::Forbidden(scope) => Failure::Forbidden(scope),
            AuthError::Throttled(secs) => Failure::Throttled(secs),
            AuthError::Unavailable(e) => e.into(),
        }
    }
}

/// A dialect's vocabulary at the seam: all it writes of errors, callers and ids. Its error
/// type implements this (and gets `From<StoreError>` and `From<AuthError>` from
/// [`dialect_errors!`]); the trip builder does the rest.
pub trait Dialect: Sized + Send + 'static {
    /// How the audit trail and `created_by` / `modified_by` name the dialect (`scim`,
    /// `logto`, …): the `dialect` of its `directory::Caller`.
    const NAME: &'static str;
    /// How its ids are written (16 hex digits unless it says otherwise).
    const IDS: IdFormat = IdFormat::Hex;

    /// Its wire error for `f`, about a `what` (`user`, `group`, … or `resource` where the
    /// failure does not say).
    fn failure(f: Failure, what: &str) -> Self;

    /// Its wire error for a store or credential error about a `what`.
    fn about(e: impl Into<Failure>, what: &str) -> Self {
        Self::failure(e.into(), what)
    }

    /// The canonical id `s` names, in the dialect's id format; anything else is a
    /// [`Failure::MalformedId`] about the `what` it was to name.
    fn id(s: &str, what: &str) -> Result<i64, Self> {
        Self::IDS
            .parse(s)
            .ok_or_else(|| Self::failure(Failure::MalformedId(s.to_string()), what))
    }
}

/// What most writes prepare before their trip: the id a path names and the body, in that
/// order (a malformed id is answered before a malformed body, both after the credential,
/// through `Trip::judged`).
pub fn id_and<E: Dialect, B>(id: &str, what: &str, body: Result<B, E>) -> Result<(i64, B), E> {
    let id = E::id(id, what)?;
    Ok((id, body?))
}

/// `From<StoreError>` and `From<AuthError>` for a dialect's error type, through its
/// [`Dialect::failure`] table, so `?` works in its handlers.
macro_rules! dialect_errors {
    ($t:ty) => {
        impl From<$crate::store::StoreError> for $t {
            fn from(e: $crate::store::StoreError) -> $t {
                <$t as $crate::directory::seam::Dialect>::about(e, "resource")
            }
        }
        impl From<$crate::auth::AuthError> for $t {
            fn from(e: $crate::auth::AuthError) -> $t {
                <$t as $crate::directory::seam::Dialect>::about(e, "resource")
            }
        }
    };
}
pub(crate) use dialect_errors;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Said(String);

    impl Dialect for Said {
        const NAME: &'static str = "test";
        fn failure(f: Failure, what: &str) -> Said {
            Said(format!("{what}: {f:?}"))
        }
    }

    #[test]
    fn errors_are_classified_once() {
        assert!(matches!(
            Failure::from(AuthError::Unavailable(StoreError::Busy("locked".into()))),
            Failure::Busy
        ));
        assert!(matches!(
            Failure::from(StoreError::Panicked),
            Failure::Internal
        ));
        assert!(matches!(
            Failure::from(AuthError::Forbidden("scim")),
            Failure::Forbidden("scim")
        ));
        assert_eq!(
            Said::about(StoreError::NotFound, "user"),
            Said("user: NotFound".into())
        );
    }

    #[test]
    fn ids_are_parsed_by_the_dialects_format() {
        assert_eq!(Said::id("000000000000000a", "user"), Ok(10));
        assert_eq!(
            Said::id("10", "user"),
            Err(Said("user: MalformedId(\"10\")".into()))
        );
    }
}
