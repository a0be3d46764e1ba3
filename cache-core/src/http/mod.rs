//! HTTP caching rules (RFC 9111) for a private (browser) cache: `Cache-Control` parsing, HTTP
//! dates, the tags a response carries, and the freshness of a stored response computed from
//! the time it was received, so a client clock that disagrees with the server's does not
//! change the answer.

mod cache_control;
mod date;
mod freshness;
mod tags;

pub use cache_control::CacheControl;
pub use date::{format_http_date, parse_http_date};
pub use freshness::{
    storability, Freshness, FreshnessHeaders, ResponseTimes, Storability, Verdict,
};
pub use tags::{response_tags, TAG_HEADERS};

/// Statuses cacheable by default (RFC 9110 §15.1), the ones `ApiCache` stores unless told
/// otherwise: 200, 203, 204, 300, 301, 404, 410.
pub const CACHEABLE_BY_DEFAULT: [u16; 7] = [200, 203, 204, 300, 301, 404, 410];
