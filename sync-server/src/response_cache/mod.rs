//! [`ResponseCacheLayer`]: a tower layer for axum that caches `GET` 200 responses in Redis
//! through a [`RedisCache`].
//!
//! - TTL per layer ([`ResponseCacheLayer::ttl`], default 60 s), overridden per route
//!   ([`ResponseCacheLayer::route_ttl`], by axum's matched path, else the request path).
//! - Keys ([`key`]) include the user for authenticated requests: the user id comes from
//!   [`ResponseCacheLayer::user_id`] (default: a [`CacheUser`] request extension set by the
//!   app's auth middleware). A request with `Authorization` but no user id is not cached.
//!   Configurable vary on headers and cookies. Keys include the request's host.
//! - Sets `ETag` (SHA-256 of the body, unless the handler set one) and answers
//!   `If-None-Match` with 304; sets `Last-Modified` (unless set: the time of caching) and
//!   answers `If-Modified-Since` ([`conditional`]).
//! - Adds `Cache-Control` when the handler did not: `no-cache` (`private, no-cache` per
//!   user), because a browser's HTTP cache cannot hear the hub's invalidations: it must
//!   revalidate, which the ETag makes a cheap 304.
//! - Adds `Cache-Tag` (the handler's own `Cache-Tag` and `Surrogate-Key`, split on commas
//!   and whitespace as browsers split them, plus [`ResponseCacheLayer::tags`]);
//!   entries are stored with those tags, so [`RedisCache::invalidate_tags`] drops the cached
//!   responses and, through the hub, the browsers' copies.
//! - `X-Cache: HIT` or `MISS`, or `BYPASS` when the request is not eligible (including
//!   when it has no [`key`]: an ambiguous vary cookie, or a key over cache-core's limit).
//! - Optionally ([`ResponseCacheLayer::coalesce_misses`]) one handler call per missed key
//!   across processes; the other requests get its stored response.
//! - Never caches a response with `Set-Cookie`, `Cache-Control: no-store`, or (without a
//!   user) `private`, nor a status other than 200, nor a body over
//!   [`ResponseCacheLayer::max_body_bytes`] or of unknown size, nor one whose own `Vary`
//!   names a header the key does not hold (the [`ResponseCacheLayer::vary_header`]s, and
//!   `Cookie` and `Authorization` per user) or is `*`.
//! - Redis failing never fails a request: a failed read is a miss, a failed write is skipped;
//!   both are counted in the cache's statistics.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sync_server::cache::CacheError> {
//! use axum::{routing::get, Router};
//! use std::time::Duration;
//! use sync_server::cache::RedisCache;
//! use sync_server::response_cache::ResponseCacheLayer;
//! let cache = RedisCache::builder("redis://127.0.0.1:6379/0").namespace("http")?.build()?;
//! let app: Router = Router::new()
//!     .route("/products", get(|| async { "[]" }))
//!     .route("/products/{id}", get(|| async { "{}" }))
//!     .layer(
//!         ResponseCacheLayer::new(cache)
//!             .ttl(Duration::from_secs(60))
//!             .route_ttl("/products/{id}", Duration::from_secs(300))
//!             .vary_header(axum::http::header::ACCEPT_LANGUAGE)
//!             .tags(&["catalog"]),
//!     );
//! # Ok(()) }
//! ```

pub mod conditional;
pub mod key;
pub mod layer;
pub mod stored;

pub use layer::ResponseCache;

use crate::cache::RedisCache;
use axum::http::request::Parts;
use axum::http::HeaderName;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The `X-Cache` header.
pub const X_CACHE: &str = "x-cache";
/// The `Cache-Tag` header.
pub const CACHE_TAG: &str = "cache-tag";

/// The authenticated user of a request, as a request extension: the default source of the
/// user id (see [`ResponseCacheLayer::user_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheUser(pub String);

type UserFn = dyn Fn(&Parts) -> Option<String> + Send + Sync;

/// The layer's settings, shared by every service it builds.
pub(crate) struct Config {
    pub(crate) cache: RedisCache,
    pub(crate) ttl: Duration,
    pub(crate) route_ttls: HashMap<String, Duration>,
    pub(crate) vary_headers: Vec<HeaderName>,
    pub(crate) vary_cookies: Vec<String>,
    pub(crate) user: Arc<UserFn>,
    pub(crate) tags: Vec<String>,
    pub(crate) max_body_bytes: usize,
    pub(crate) coalesce: bool,
}

/// Caches `GET` 200 responses in Redis; see the module documentation. Cheap to clone.
#[derive(Clone)]
#[must_use]
pub struct ResponseCacheLayer {
    pub(crate) config: Arc<Config>,
}

impl std::fmt::Debug for ResponseCacheLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCacheLayer")
            .field("namespace", self.config.cache.namespace())
            .field("ttl", &self.config.ttl)
            .finish_non_exhaustive()
    }
}

fn default_user(parts: &Parts) -> Option<String> {
    parts.extensions.get::<CacheUser>().map(|u| u.0.clone())
}

impl ResponseCacheLayer {
    /// A layer storing responses in `cache`'s namespace.
    pub fn new(cache: RedisCache) -> Self {
        Self {
            config: Arc::new(Config {
                cache,
                ttl: Duration::from_secs(60),
                route_ttls: HashMap::new(),
                vary_headers: Vec::new(),
                vary_cookies: Vec::new(),
                user: Arc::new(default_user),
                tags: Vec::new(),
                max_body_bytes: 1 << 20,
                coalesce: false,
            }),
        }
    }

    fn with(self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = match Arc::try_unwrap(self.config) {
            Ok(config) => config,
            Err(shared) => Config {
                cache: shared.cache.clone(),
                ttl: shared.ttl,
                route_ttls: shared.route_ttls.clone(),
                vary_headers: shared.vary_headers.clone(),
                vary_cookies: shared.vary_cookies.clone(),
                user: shared.user.clone(),
                tags: shared.tags.clone(),
                max_body_bytes: shared.max_body_bytes,
                coalesce: shared.coalesce,
            },
        };
        change(&mut config);
        Self {
            config: Arc::new(config),
        }
    }

    /// How long responses are cached. Default 60 s.
    pub fn ttl(self, ttl: Duration) -> Self {
        self.with(|c| c.ttl = ttl)
    }

    /// The TTL of one route, by its axum path (`/products/{id}`) or, outside a router, the
    /// request path. Default: [`ResponseCacheLayer::ttl`].
    pub fn route_ttl(self, route: &str, ttl: Duration) -> Self {
        self.with(|c| {
            c.route_ttls.insert(route.to_owned(), ttl);
        })
    }

    /// Adds a request header whose value is part of the key (and of `Vary`). Default: none.
    pub fn vary_header(self, name: HeaderName) -> Self {
        self.with(|c| c.vary_headers.push(name))
    }

    /// Adds a cookie whose value is part of the key. Default: none. A request sending it
    /// twice, or with whitespace or `%`-escapes in its name, is not cached ([`key`]).
    pub fn vary_cookie(self, name: &str) -> Self {
        self.with(|c| c.vary_cookies.push(name.to_owned()))
    }

    /// Where the user id of a request comes from. Default: the [`CacheUser`] extension.
    pub fn user_id<F>(self, user: F) -> Self
    where
        F: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    {
        self.with(|c| c.user = Arc::new(user))
    }

    /// Tags given to every cached response (and sent in `Cache-Tag`); a tag with a comma or
    /// whitespace cannot travel in the header and is left out. Default: none.
    pub fn tags(self, tags: &[&str]) -> Self {
        self.with(|c| c.tags.extend(tags.iter().map(|t| (*t).to_owned())))
    }

    /// Whether concurrent misses of one key, in every process, wait for a single handler
    /// call (the cache's stampede lock) instead of each calling the handler. Waiting costs
    /// latency where responses turn out not cacheable, hence opt-in. Default false.
    pub fn coalesce_misses(self, coalesce: bool) -> Self {
        self.with(|c| c.coalesce = coalesce)
    }

    /// Larger bodies (or bodies of unknown size) are not cached. Default 1 MiB.
    pub fn max_body_bytes(self, bytes: usize) -> Self {
        self.with(|c| c.max_body_bytes = bytes)
    }
}

impl<S> tower_layer::Layer<S> for ResponseCacheLayer {
    type Service = ResponseCache<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResponseCache::new(inner, self.config.clone())
    }
}
