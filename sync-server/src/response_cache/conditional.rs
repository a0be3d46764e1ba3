//! Conditional requests (RFC 9110 §13): `If-None-Match` against the `ETag`, and
//! `If-Modified-Since` against `Last-Modified` when there is no `If-None-Match`.
//!
//! ```
//! use axum::http::HeaderMap;
//! use sync_server::response_cache::conditional::not_modified;
//! let mut request = HeaderMap::new();
//! request.insert("if-none-match", "W/\"a\", \"b\"".parse().unwrap());
//! assert!(not_modified(&request, "\"b\"", None));
//! assert!(not_modified(&request, "\"a\"", None)); // weak comparison
//! assert!(!not_modified(&request, "\"c\"", None));
//! ```

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::time::SystemTime;

/// A strong entity tag of `body`: the first 128 bits of its SHA-256, quoted.
#[must_use]
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut out = String::with_capacity(34);
    out.push('"');
    for byte in &digest[..16] {
        let _ = write!(out, "{byte:02x}");
    }
    out.push('"');
    out
}

fn opaque(tag: &str) -> &str {
    tag.trim().trim_start_matches("W/")
}

/// Whether a request with `request` headers may be answered 304 for a representation with
/// `etag` and `last_modified`.
#[must_use]
pub fn not_modified(request: &HeaderMap, etag: &str, last_modified: Option<SystemTime>) -> bool {
    let mut conditions = request.get_all(header::IF_NONE_MATCH).iter().peekable();
    if conditions.peek().is_some() {
        return conditions
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|candidate| candidate.trim() == "*" || opaque(candidate) == opaque(etag));
    }
    let since = request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    match (since, last_modified) {
        (Some(since), Some(modified)) => modified <= since,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn if_modified_since_only_without_if_none_match() {
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut request = HeaderMap::new();
        let later = httpdate::fmt_http_date(modified + Duration::from_secs(10));
        request.insert(header::IF_MODIFIED_SINCE, later.parse().unwrap());
        assert!(not_modified(&request, "\"x\"", Some(modified)));
        assert!(!not_modified(
            &request,
            "\"x\"",
            Some(modified + Duration::from_secs(11))
        ));
        assert!(!not_modified(&request, "\"x\"", None));
        request.insert(header::IF_NONE_MATCH, "\"y\"".parse().unwrap());
        assert!(!not_modified(&request, "\"x\"", Some(modified)));
    }

    #[test]
    fn etags_are_stable_and_quoted() {
        assert_eq!(etag_of(b"abc"), etag_of(b"abc"));
        assert_ne!(etag_of(b"abc"), etag_of(b"abd"));
        assert_eq!(etag_of(b"").len(), 34);
    }
}
