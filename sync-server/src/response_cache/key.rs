//! The cache key of a request: method, path and query, `u=<user id>` (or `-` when
//! anonymous), then each vary header and cookie as `name=value`, then `@<host>` when the
//! request names one (its URI's authority, else its `Host` header; lowercased), so one
//! router serving several hosts keeps their pages apart; joined with cache-core's
//! [`key_from_parts`] (so no part can run into another or act as a wildcard: `:`, `?`, `*`,
//! `%` and `\` inside a part are escaped). `GET:/products%3Fpage=2:-` is the anonymous
//! second page.
//!
//! Some requests have no key, so the layer passes them through uncached:
//! - a varied cookie sent twice, or with whitespace or `%`-escapes in its name: apps read
//!   cookies with the `cookie` crate (axum-extra's `CookieJar`), which trims and decodes
//!   names and keeps the last duplicate, so they could render another value than the key's;
//! - a key longer than cache-core's limit: a hash in its place would escape
//!   `invalidate_pattern`, so a stale page would outlive the invalidation of its path.
//!
//! ```
//! use axum::http::Request;
//! use sync_server::response_cache::key::request_key;
//! let request = Request::get("/products/42?x=1").body(()).unwrap();
//! let (parts, ()) = request.into_parts();
//! assert_eq!(
//!     request_key(&parts, Some("u:7"), &[], &[]).as_deref(),
//!     Some("GET:/products/42%3Fx=1:u=u%3A7")
//! );
//! ```

use axum::http::request::Parts;
use axum::http::{header, HeaderName};
use cache_core::key::{key_from_parts, MAX_KEY_BYTES};

/// A cookie the app may read differently from the cache key: see [`cookie`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmbiguousCookie;

/// The value of cookie `name` in the request's `Cookie` headers (`Ok(None)`: absent), or
/// [`AmbiguousCookie`] when `name` is sent more than once or spelled with whitespace or
/// `%`-escapes: the `cookie` crate (axum-extra's `CookieJar`) trims and decodes names and
/// keeps the last duplicate, so an app could read another value than the first exact match.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Result<Option<&'a str>, AmbiguousCookie> {
    let mut found = None;
    let pairs = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='));
    for (n, v) in pairs {
        let exact = n == name;
        if !exact && !decodes_to(n.trim(), name) {
            continue;
        }
        if !exact || found.is_some() {
            return Err(AmbiguousCookie);
        }
        found = Some(v);
    }
    Ok(found)
}

/// Whether `raw`, `%`-decoded as the `cookie` crate decodes names, is `name`.
fn decodes_to(raw: &str, name: &str) -> bool {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .is_ok_and(|decoded| decoded == name)
}

/// The key of a request by `user` (`None`: anonymous), varying on `headers` and `cookies`;
/// `None` when the request must not be cached (see the module documentation).
#[must_use]
pub fn request_key(
    parts: &Parts,
    user: Option<&str>,
    headers: &[HeaderName],
    cookies: &[String],
) -> Option<String> {
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
        let value = cookie(parts, name).ok()?;
        items.push(format!("{name}={}", value.unwrap_or("")));
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
    // Not hashed to fit: `invalidate_pattern("GET:/products*")` must still match every key.
    (key.len() <= MAX_KEY_BYTES).then_some(key)
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
            request_key(&a, None, &lang, &cookies).as_deref(),
            Some("GET:/p:-:accept-language=fr:theme=dark")
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
        let key = |p: &Parts| request_key(p, None, &[], &[]);
        assert_eq!(key(&a).as_deref(), Some("GET:/p:-:@a.example"));
        assert_eq!(key(&b).as_deref(), Some("GET:/p:-:@b.example"));
        assert_eq!(key(&parts(Request::get("/p"))).as_deref(), Some("GET:/p:-"));
    }

    #[test]
    fn long_keys_are_none() {
        let long = format!("/{}", "x".repeat(2000));
        assert_eq!(
            request_key(&parts(Request::get(long.as_str())), None, &[], &[]),
            None
        );
    }

    #[test]
    fn cookies_the_app_could_read_otherwise_are_ambiguous() {
        let read = |header: &str| {
            let parts = parts(Request::get("/").header("cookie", header));
            cookie(&parts, "c").map(|v| v.map(str::to_owned))
        };
        assert_eq!(read("a=1; c=2; cc=3"), Ok(Some("2".to_owned())));
        assert_eq!(read("a=1"), Ok(None));
        for header in ["c =2", "c=1; c=2", "%63=2", "c=1;  c =2"] {
            assert_eq!(read(header), Err(AmbiguousCookie), "{header}");
        }
        let two = parts(
            Request::get("/")
                .header("cookie", "c=1")
                .header("cookie", "c=2"),
        );
        assert_eq!(cookie(&two, "c"), Err(AmbiguousCookie));
    }
}
