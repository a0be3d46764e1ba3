//! `Cache-Control` response directives.

/// The directives a private cache acts on. Unknown directives are ignored; a directive with
/// an invalid value is treated the way that is safest for it (RFC 9111 §4.2.1: an invalid
/// `max-age` makes the response stale).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheControl {
    /// `max-age`, in seconds; `Some(0)` when present but invalid.
    pub max_age: Option<u64>,
    /// `no-store`.
    pub no_store: bool,
    /// `no-cache` (unqualified or with field names: both mean revalidate before use here).
    pub no_cache: bool,
    /// `private`.
    pub private: bool,
    /// `public`.
    pub public: bool,
    /// `must-revalidate` (or `proxy-revalidate`, which a private cache may treat alike).
    pub must_revalidate: bool,
    /// `s-maxage` is present (its value is for shared caches: only its presence counts here,
    /// as leave to share a response to a request with `Authorization`).
    pub s_maxage: bool,
    /// `immutable` (RFC 8246).
    pub immutable: bool,
    /// `stale-while-revalidate`, in seconds (RFC 5861).
    pub stale_while_revalidate: Option<u64>,
    /// `stale-if-error`, in seconds (RFC 5861).
    pub stale_if_error: Option<u64>,
}

impl CacheControl {
    /// Parses one or more comma-joined `Cache-Control` header values. `s-maxage` is for
    /// shared caches: only its presence is kept.
    #[must_use]
    pub fn parse(header: &str) -> Self {
        let mut cc = Self::default();
        for directive in split_directives(header) {
            let (name, value) = match directive.split_once('=') {
                Some((n, v)) => (n.trim(), Some(unquote(v.trim()))),
                None => (directive.trim(), None),
            };
            let seconds = || Some(value.and_then(parse_seconds).unwrap_or(0));
            match name.to_ascii_lowercase().as_str() {
                // The first occurrence wins; a duplicate cannot extend a lifetime.
                "max-age" if cc.max_age.is_none() => cc.max_age = seconds(),
                "max-age" => cc.max_age = cc.max_age.min(seconds()),
                "no-store" => cc.no_store = true,
                "no-cache" => cc.no_cache = true,
                "private" => cc.private = true,
                "public" => cc.public = true,
                "must-revalidate" | "proxy-revalidate" => cc.must_revalidate = true,
                "s-maxage" => cc.s_maxage = true,
                "immutable" => cc.immutable = true,
                "stale-while-revalidate" => {
                    cc.stale_while_revalidate = value.and_then(parse_seconds)
                }
                "stale-if-error" => cc.stale_if_error = value.and_then(parse_seconds),
                _ => {}
            }
        }
        cc
    }
}

/// Splits on commas outside quoted strings.
fn split_directives(header: &str) -> impl Iterator<Item = &str> {
    let mut rest = header;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut quoted = false;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    let item = &rest[..i];
                    rest = &rest[i + 1..];
                    return Some(item);
                }
                _ => {}
            }
        }
        let item = rest;
        rest = "";
        Some(item)
    })
    .filter(|d| !d.trim().is_empty())
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// Delta-seconds: digits only; values past 2^31 are capped (RFC 9111 §1.2.2).
fn parse_seconds(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = value.trim_start_matches('0');
    if digits.len() > 10 {
        return Some(1 << 31);
    }
    digits
        .parse::<u64>()
        .ok()
        .map(|s| s.min(1 << 31))
        .or(Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives() {
        let cc = CacheControl::parse(
            "Public, MAX-AGE=\"60\", s-maxage=600, must-revalidate, immutable, \
             stale-while-revalidate=30, stale-if-error=86400, x-ext=\"a,b\"",
        );
        assert_eq!(
            cc,
            CacheControl {
                max_age: Some(60),
                public: true,
                must_revalidate: true,
                s_maxage: true,
                immutable: true,
                stale_while_revalidate: Some(30),
                stale_if_error: Some(86400),
                ..CacheControl::default()
            }
        );
        let cc = CacheControl::parse("no-store, no-cache=\"set-cookie\", private");
        assert!(cc.no_store && cc.no_cache && cc.private);
    }

    #[test]
    fn invalid_and_duplicate_max_age_are_safe() {
        assert_eq!(CacheControl::parse("max-age=abc").max_age, Some(0));
        assert_eq!(CacheControl::parse("max-age").max_age, Some(0));
        assert_eq!(CacheControl::parse("max-age=-5").max_age, Some(0));
        assert_eq!(
            CacheControl::parse("max-age=60, max-age=10").max_age,
            Some(10)
        );
        assert_eq!(
            CacheControl::parse("max-age=10, max-age=60").max_age,
            Some(10)
        );
        assert_eq!(
            CacheControl::parse("max-age=99999999999999").max_age,
            Some(1 << 31)
        );
        assert_eq!(CacheControl::parse("max-age=007").max_age, Some(7));
        assert_eq!(CacheControl::parse("").max_age, None);
        assert_eq!(CacheControl::parse("stale-if-error=x").stale_if_error, None);
    }
}
