//! Resource endpoints matched case-insensitively: `/scim/v2/users`, `/scim/v2/GROUPS/{id}`,
//! `/scim/v2/serviceproviderconfig` reach the routes of `/scim/v2/Users`, `/scim/v2/Groups`,
//! `/scim/v2/ServiceProviderConfig`. Some clients and testers send lower case, and RFC 7643
//! treats schema and resource names case-insensitively; poem's router is case-sensitive, so
//! this middleware rewrites the endpoint segment (and a `.search` after it) to its canonical
//! spelling before routing. Ids, schema URNs and the query string are left as they are.

use poem::http::uri::{PathAndQuery, Uri};
use poem::{Endpoint, Request, Result};

const PREFIX: &str = "/scim/v2/";

/// The endpoints under `/scim/v2/`, as routed.
const ENDPOINTS: &[&str] = &[
    "Users",
    "Groups",
    "Me",
    "Bulk",
    "ServiceProviderConfig",
    "ResourceTypes",
    "Schemas",
    ".search",
];

/// The canonical spelling of `path`, when it differs only in the case of an endpoint name.
pub fn canonical(path: &str) -> Option<String> {
    let rest = path.strip_prefix(PREFIX)?;
    let (first, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let name = ENDPOINTS.iter().find(|e| e.eq_ignore_ascii_case(first))?;
    // `/Users/.search` and `/Groups/.search`; any other second segment is an id.
    let tail = match tail.strip_prefix('/') {
        Some(t) if t.eq_ignore_ascii_case(".search") && matches!(*name, "Users" | "Groups") => {
            "/.search"
        }
        _ => tail,
    };
    let out = format!("{PREFIX}{name}{tail}");
    (out != path).then_some(out)
}

#[derive(Clone)]
pub struct CaseInsensitiveEndpoints;

crate::http::middleware!(CaseInsensitiveEndpoints);

impl<E: Endpoint> Endpoint for crate::http::Wrapped<CaseInsensitiveEndpoints, E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        if let Some(path) = canonical(req.uri().path()) {
            let pq = match req.uri().query() {
                Some(q) => format!("{path}?{q}"),
                None => path,
            };
            let mut parts = req.uri().clone().into_parts();
            if let Ok(pq) = PathAndQuery::try_from(pq) {
                parts.path_and_query = Some(pq);
                if let Ok(uri) = Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                }
            }
        }
        self.ep.call(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn endpoint_names_are_canonicalised_and_nothing_else() {
        for (given, canonical_path) in [
            ("/scim/v2/users", "/scim/v2/Users"),
            (
                "/scim/v2/GROUPS/00000000000000AB",
                "/scim/v2/Groups/00000000000000AB",
            ),
            ("/scim/v2/users/.SEARCH", "/scim/v2/Users/.search"),
            ("/scim/v2/Users/.SEARCH", "/scim/v2/Users/.search"),
            (
                "/scim/v2/serviceproviderconfig",
                "/scim/v2/ServiceProviderConfig",
            ),
            (
                "/scim/v2/schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            ),
            // An id is never rewritten, whatever its case.
            ("/scim/v2/groups/.Search-not", "/scim/v2/Groups/.Search-not"),
        ] {
            assert_eq!(canonical(given).as_deref(), Some(canonical_path), "{given}");
        }
        // Already canonical, unknown, or outside /scim/v2: untouched.
        for p in [
            "/scim/v2/Users",
            "/scim/v2/Users/abc",
            "/scim/v2/Users/.search",
            "/scim/v2/Widgets",
            "/scim/v2/",
            "/scim/v1/users",
            "/api/users",
            "/scim/v2/usersx",
        ] {
            assert_eq!(canonical(p), None, "{p}");
        }
    }
}
