//! Entity tags: a resource's version as `W/"3"`, and reading the tags clients send back
//! (`If-Match`, `If-None-Match`, a `meta.version` filter value).

/// The weak entity tag of a version: 7 → `W/"7"`.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// `W/"7"` or `"7"` → 7.
pub fn parse_etag(tag: &str) -> Option<i64> {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.trim_matches('"').parse().ok()
}

/// Does an `If-None-Match` header match `version`?
pub fn none_match(header: Option<&str>, version: i64) -> bool {
    header.is_some_and(|h| {
        h.split(',')
            .any(|t| t.trim() == "*" || parse_etag(t) == Some(version))
    })
}
