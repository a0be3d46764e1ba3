//! When a stored response may be used without asking the origin (RFC 9111 §4.2, RFC 5861).
//!
//! Everything is computed once, when the response arrives, as absolute instants on the
//! client's clock: `fresh_until`, the stale-while-revalidate and stale-if-error windows.
//! The age a response had on arrival is its `Age` header plus the time the request took,
//! never the server's `Date` against the client's clock, so a skewed client clock neither
//! shortens nor extends freshness. (RFC 9111 also allows the "apparent age" from `Date`;
//! it is the one term a skewed clock corrupts, and it is left out on purpose.)

use super::{parse_http_date, CacheControl};

/// Heuristic freshness (10 % of the time since `Last-Modified`) is capped at one day.
const HEURISTIC_CAP_MS: u64 = 86_400_000;

/// When the request was sent and its response received, on the client's clock (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseTimes {
    /// When the request was sent.
    pub request_time: u64,
    /// When the response headers arrived.
    pub response_time: u64,
}

/// The response headers freshness depends on, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct FreshnessHeaders<'a> {
    /// `Cache-Control`, parsed.
    pub cache_control: CacheControl,
    /// `Date`.
    pub date: Option<&'a str>,
    /// `Expires`.
    pub expires: Option<&'a str>,
    /// `Age`.
    pub age: Option<&'a str>,
    /// `Last-Modified`.
    pub last_modified: Option<&'a str>,
}

/// How a stored response may be used at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Fresh,
    /// Serve it, and revalidate in the background (stale-while-revalidate).
    StaleWhileRevalidate,
    /// Revalidate before use; on a network error it may be served if
    /// [`Freshness::usable_on_error`] says so.
    Stale,
}

/// The freshness of one stored response, as instants on the client's clock (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Fresh strictly before this instant.
    pub fresh_until: u64,
    /// Servable while revalidating in the background strictly before this instant.
    pub revalidate_until: u64,
    /// Servable when the origin fails strictly before this instant.
    pub on_error_until: u64,
    /// `immutable`: a fresh response is not revalidated even on reload.
    pub immutable: bool,
}

impl Freshness {
    /// Computes freshness at receipt. `heuristic` allows the `Last-Modified` heuristic (for
    /// statuses cacheable by default, when no explicit lifetime is given).
    #[must_use]
    pub fn at_receipt(
        headers: &FreshnessHeaders<'_>,
        times: ResponseTimes,
        heuristic: bool,
    ) -> Self {
        let cc = &headers.cache_control;
        let lifetime = lifetime_ms(headers, times, heuristic);
        let age_value = headers
            .age
            .and_then(|a| a.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let delay = times.response_time.saturating_sub(times.request_time);
        let initial_age = age_value.saturating_mul(1000).saturating_add(delay);
        let fresh_until = if cc.no_cache {
            times.response_time
        } else {
            times
                .response_time
                .saturating_add(lifetime.saturating_sub(initial_age))
        };
        let window = |secs: Option<u64>| {
            secs.filter(|_| !cc.must_revalidate && !cc.no_cache)
                .map_or(fresh_until, |s| {
                    fresh_until.saturating_add(s.saturating_mul(1000))
                })
        };
        Self {
            fresh_until,
            revalidate_until: window(cc.stale_while_revalidate),
            on_error_until: window(cc.stale_if_error),
            immutable: cc.immutable,
        }
    }

    /// How the response may be used at `now`.
    #[must_use]
    pub fn verdict(&self, now: u64) -> Verdict {
        if now < self.fresh_until {
            Verdict::Fresh
        } else if now < self.revalidate_until {
            Verdict::StaleWhileRevalidate
        } else {
            Verdict::Stale
        }
    }

    /// Whether the response may stand in for an origin that failed at `now`.
    #[must_use]
    pub fn usable_on_error(&self, now: u64) -> bool {
        now < self.on_error_until
    }
}

fn lifetime_ms(headers: &FreshnessHeaders<'_>, times: ResponseTimes, heuristic: bool) -> u64 {
    if let Some(max_age) = headers.cache_control.max_age {
        return max_age.saturating_mul(1000);
    }
    let date = headers.date.and_then(parse_http_date);
    if let Some(expires) = headers.expires {
        // An invalid Expires (such as "0") means already expired.
        let Some(expires) = parse_http_date(expires) else {
            return 0;
        };
        return expires.saturating_sub(date.unwrap_or(times.response_time));
    }
    match (heuristic, headers.last_modified.and_then(parse_http_date)) {
        (true, Some(modified)) => (date.unwrap_or(times.response_time).saturating_sub(modified)
            / 10)
            .min(HEURISTIC_CAP_MS),
        _ => 0,
    }
}

/// Whether a response may be stored, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storability {
    /// Not at all; the reason is a short word for statistics and logs.
    No(&'static str),
    /// In memory, but never persisted to Web Storage unless the app says the entry belongs to
    /// the user's namespace (`private`, `Set-Cookie`, `Vary: Authorization` or `Cookie`).
    UserOnly(&'static str),
    /// Anywhere.
    Yes,
}

/// Decides whether a response may be stored (RFC 9111 §3 for a private cache, plus this
/// product's safety rules). `authorization`: the request carried `Authorization`.
#[must_use]
pub fn storability(
    method: &str,
    status: u16,
    cacheable_statuses: &[u16],
    cache_control: &CacheControl,
    set_cookie: bool,
    vary: Option<&str>,
    authorization: bool,
) -> Storability {
    let varies_on = |name: &str| {
        vary.is_some_and(|v| v.split(',').any(|f| f.trim().eq_ignore_ascii_case(name)))
    };
    if !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD") {
        Storability::No("method")
    } else if !cacheable_statuses.contains(&status) {
        Storability::No("status")
    } else if cache_control.no_store {
        Storability::No("no-store")
    } else if varies_on("*") {
        Storability::No("vary-star")
    } else if cache_control.private {
        Storability::UserOnly("private")
    } else if set_cookie {
        Storability::UserOnly("set-cookie")
    } else if varies_on("authorization") {
        Storability::UserOnly("vary-authorization")
    } else if varies_on("cookie") {
        // Per user like Authorization; and a page cannot read its Cookie request header, so a
        // shared entry would be keyed by an empty value and answer the next user.
        Storability::UserOnly("vary-cookie")
    } else if authorization
        && !(cache_control.public || cache_control.s_maxage || cache_control.must_revalidate)
    {
        // RFC 9111 §3.5: shared only when the response says so; else it may be the user's.
        Storability::UserOnly("authorization")
    } else {
        Storability::Yes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::CACHEABLE_BY_DEFAULT;

    const T0: u64 = 1_700_000_000_000;

    fn times(delay: u64) -> ResponseTimes {
        ResponseTimes {
            request_time: T0 - delay,
            response_time: T0,
        }
    }

    fn fresh(cc: &str, extra: impl FnOnce(&mut FreshnessHeaders<'static>)) -> Freshness {
        let mut h = FreshnessHeaders {
            cache_control: CacheControl::parse(cc),
            ..Default::default()
        };
        extra(&mut h);
        Freshness::at_receipt(&h, times(0), true)
    }

    #[test]
    fn max_age_counts_from_receipt_minus_age() {
        let f = fresh("max-age=60", |h| h.age = Some("10"));
        assert_eq!(f.fresh_until, T0 + 50_000);
        assert_eq!(f.verdict(T0 + 49_999), Verdict::Fresh);
        assert_eq!(f.verdict(T0 + 50_000), Verdict::Stale);
        // The time the request took counts as age too.
        let h = FreshnessHeaders {
            cache_control: CacheControl::parse("max-age=60"),
            ..Default::default()
        };
        assert_eq!(
            Freshness::at_receipt(&h, times(2_000), true).fresh_until,
            T0 + 58_000
        );
    }

    #[test]
    fn a_skewed_date_does_not_matter() {
        // The server's clock is an hour ahead: with max-age, Date plays no part.
        let f = fresh("max-age=60", |h| {
            h.date = Some("Tue, 14 Nov 2023 23:13:20 GMT")
        });
        assert_eq!(f.fresh_until, T0 + 60_000);
        // Expires is read against the server's own Date.
        let f = fresh("", |h| {
            h.date = Some("Wed, 15 Nov 2023 00:13:20 GMT");
            h.expires = Some("Wed, 15 Nov 2023 00:15:20 GMT");
        });
        assert_eq!(f.fresh_until, T0 + 120_000);
    }

    #[test]
    fn invalid_expires_is_expired_and_max_age_wins() {
        assert_eq!(fresh("", |h| h.expires = Some("0")).fresh_until, T0);
        let f = fresh("max-age=5", |h| h.expires = Some("0"));
        assert_eq!(f.fresh_until, T0 + 5_000);
    }

    #[test]
    fn stale_windows() {
        let f = fresh(
            "max-age=10, stale-while-revalidate=20, stale-if-error=100",
            |_| {},
        );
        assert_eq!(f.verdict(T0 + 9_999), Verdict::Fresh);
        assert_eq!(f.verdict(T0 + 29_999), Verdict::StaleWhileRevalidate);
        assert_eq!(f.verdict(T0 + 30_000), Verdict::Stale);
        assert!(f.usable_on_error(T0 + 109_999));
        assert!(!f.usable_on_error(T0 + 110_000));
        let f = fresh(
            "max-age=10, must-revalidate, stale-while-revalidate=20, stale-if-error=100",
            |_| {},
        );
        assert_eq!(f.verdict(T0 + 10_000), Verdict::Stale);
        assert!(!f.usable_on_error(T0 + 10_000));
        assert_eq!(
            fresh("no-cache, max-age=60", |_| {}).verdict(T0),
            Verdict::Stale
        );
    }

    #[test]
    fn heuristic_freshness() {
        // Modified 10 days before Date: fresh for one day (10 %, capped).
        let f = fresh("", |h| {
            h.date = Some("Tue, 14 Nov 2023 22:13:20 GMT");
            h.last_modified = Some("Sat, 04 Nov 2023 22:13:20 GMT");
        });
        assert_eq!(f.fresh_until, T0 + 86_400_000);
        let h = FreshnessHeaders {
            last_modified: Some("Sat, 04 Nov 2023 22:13:20 GMT"),
            ..Default::default()
        };
        assert_eq!(Freshness::at_receipt(&h, times(0), false).fresh_until, T0);
    }

    #[test]
    fn storability_rules() {
        let s = |m, st, cc: &str, cookie, vary| {
            storability(
                m,
                st,
                &CACHEABLE_BY_DEFAULT,
                &CacheControl::parse(cc),
                cookie,
                vary,
                false,
            )
        };
        assert_eq!(s("GET", 200, "", false, None), Storability::Yes);
        assert_eq!(s("HEAD", 404, "", false, None), Storability::Yes);
        assert_eq!(s("POST", 200, "", false, None), Storability::No("method"));
        assert_eq!(s("GET", 500, "", false, None), Storability::No("status"));
        assert_eq!(s("GET", 206, "", false, None), Storability::No("status"));
        assert_eq!(
            s("GET", 200, "no-store", false, None),
            Storability::No("no-store")
        );
        assert_eq!(
            s("GET", 200, "", false, Some("Accept, *")),
            Storability::No("vary-star")
        );
        assert_eq!(
            s("GET", 200, "private", false, None),
            Storability::UserOnly("private")
        );
        assert_eq!(
            s("GET", 200, "", true, None),
            Storability::UserOnly("set-cookie")
        );
        assert_eq!(
            s("GET", 200, "", false, Some("accept, Authorization")),
            Storability::UserOnly("vary-authorization")
        );
        assert_eq!(
            s("GET", 200, "", false, Some("Accept-Language, cookie")),
            Storability::UserOnly("vary-cookie")
        );
    }
}
