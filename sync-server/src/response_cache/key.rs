//! The cache key of a request: method, path and query, `u=<user id>` (or `-` when
//! anonymous), then each vary header and cookie as `name=value`, then `@<host>` when the
//! request names one (its URI's authority, else its `Host` header; lowercased), so one
//! router serving several hosts keeps their pages apart; joined with cache-core's
//! [`key_from_parts`] (so no part can run into another or act as a wildcard: `:`, `?`, `*`,
//! `%` and `\` inside a part are escaped). `GET:/products%3Fpage=2:-` is the anonymous
//! second page; keys longer than cache-core's limit are replaced by `sha256:<hex>` of
//! themselves.
//!
//! ```
//! use axum::http::Request;
//! use sync_server::response_cache::key::request_key;
//! let request = Request::get("/products/42?x=1").body(()).unwrap();
//! let (parts, ()) = request.into_parts();
//! assert_eq!(request_key(&parts, Some("u:7"), &[], &[]), "GET:/products/42%3Fx=1:u=u%3A7");
//! ```

use axum::http::request::Parts;
use axum::http::{header, HeaderName};
use cache_core::key::{key_from_parts, MAX_KEY_BYTES};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The value of cookie `name` in the request's `Cookie` headers.
#[must_use]
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(n, v)| (n == name).then_some(v))
}

/// The key of a request by `user` (`None`: anonymous), varying on `headers` and `cookies`.
#[must_use]
pub fn request_key(
    parts: &Parts,
    user: Option<&str>,
    headers: &[HeaderName],
    cookies: &[String],
) -> String {
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let mut items = vec![
        parts.method.as_str().to_owned(),
        target,
        user.map_or_else(|| "-".to_owned(), |u| format!("u={u}")),
    ];
    for name in headers {
        let values: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("?"))
            .collect();
        items.push(format!("{name}={}", values.join(",")));
    }
    for name in cookies {
        items.push(format!("{name}={}", cookie(parts, name).unwrap_or("")));
    }
    // `@` cannot start a header or cookie name, so this part is never mistaken for one.
    let host = parts.uri.authority().map(|a| a.as_str()).or_else(|| {
        parts
            .headers
            .get(header::HOST)
            .map(|v| v.to_str().unwrap_or("?"))
    });
    if let Some(host) = host {
        items.push(format!("@{}", host.to_ascii_lowercase()));
    }
    let key = key_from_parts(&items);
    if key.len() <= MAX_KEY_BYTES {
        return key;
    }
    let mut hashed = String::from("sha256:");
    for byte in Sha256::digest(key.as_bytes()) {
        let _ = write!(hashed, "{byte:02x}");
    }
    hashed
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(builder: axum::http::request::Builder) -> Parts {
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn users_vary_headers_and_cookies_make_distinct_keys() {
        let lang = [HeaderName::from_static("accept-language")];
        let cookies = ["theme".to_owned()];
        let a = parts(
            Request::get("/p")
                .header("accept-language", "fr")
                .header("cookie", "sid=1; theme=dark"),
        );
        let b = parts(Request::get("/p").header("accept-language", "de"));
        assert_eq!(
            request_key(&a, None, &lang, &cookies),
            "GET:/p:-:accept-language=fr:theme=dark"
        );
        assert_ne!(
            request_key(&a, None, &lang, &[]),
            request_key(&b, None, &lang, &[])
        );
        assert_ne!(
            request_key(&a, Some("1"), &[], &[]),
            request_key(&a, Some("2"), &[], &[])
        );
        assert_ne!(
            request_key(&a, Some("-"), &[], &[]),
            request_key(&a, None, &[], &[])
        );
    }

    #[test]
    fn hosts_make_distinct_keys() {
        let a = parts(Request::get("/p").header("host", "A.example"));
        let b = parts(Request::get("http://b.example/p"));
        assert_eq!(request_key(&a, None, &[], &[]), "GET:/p:-:@a.example");
        assert_eq!(request_key(&b, None, &[], &[]), "GET:/p:-:@b.example");
        assert_eq!(
            request_key(&parts(Request::get("/p")), None, &[], &[]),
            "GET:/p:-"
        );
    }

    #[test]
    fn long_keys_are_hashed() {
        let long = format!("/{}", "x".repeat(2000));
        let key = request_key(&parts(Request::get(long.as_str())), None, &[], &[]);
        assert!(key.starts_with("sha256:") && key.len() == 71);
    }
}
