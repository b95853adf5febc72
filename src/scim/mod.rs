//! SCIM as a pure library, no I/O: the schema registry, attribute paths and the filter
//! language, the lenient normalisation pass, the PATCH engine, projection and errors.

pub mod error;
pub mod etag;
pub mod filter;
pub mod lookup;
pub mod normalize;
pub mod patch;
pub mod projection;
pub mod schema;
pub mod storage;

pub use error::{ScimError, ScimResult};

/// Attribute names with the wide character `w` that every parser refuses (an error, never a
/// panic on a byte slice inside the character).
#[cfg(test)]
pub(crate) fn wide_names(w: &str) -> [String; 4] {
    [
        format!("abc{w}"),
        format!("urn{w}"),
        format!("name.giv{w}"),
        format!("urn:{w}"),
    ]
}

/// RFC 7643's Barbara Jensen: the user the PATCH engine's tests and the fuzz targets start from.
#[doc(hidden)]
pub fn sample_user() -> serde_json::Value {
    serde_json::json!({
        "schemas": [schema::USER_SCHEMA],
        "id": "00000000000000AA",
        "userName": "bjensen",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bj@work.example", "type": "work", "primary": true},
            {"value": "bj@home.example", "type": "home"}
        ],
        "meta": {"resourceType": "User", "version": "W/\"1\""}
    })
}
