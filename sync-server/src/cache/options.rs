//! [`CacheBuilder`]: every option of a [`RedisCache`], with its default written once.

use super::publisher::Publisher;
use super::redis_cache::RedisCache;
use super::CacheError;
use cache_core::key::Namespace;
use std::time::Duration;

/// The settings of a [`RedisCache`]. Build one with [`RedisCache::builder`].
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// TTL of values stored by [`RedisCache::fetch`] and [`RedisCache::write`]. Default 300 s
    /// (Django's `TIMEOUT`); `None` stores them without expiry.
    pub default_ttl: Option<Duration>,
    /// Values longer than this many bytes are deflated. Default: never.
    pub compress_above: Option<usize>,
    /// Lifetime of a stampede lock: a loader that takes longer may be run again. Default 10 s.
    pub lock_ttl: Duration,
    /// How long a caller waits for another loader before loading itself. Default 10 s.
    pub lock_wait: Duration,
    /// How often a waiting caller looks for the value. Default 20 ms.
    pub lock_poll: Duration,
    /// The β of probabilistic early refresh (XFetch): 0 disables it, larger refreshes
    /// earlier. Default 1.0.
    pub early_refresh_beta: f64,
    /// How long a namespace's version is remembered before it is read again. Other processes
    /// see a version bump within this delay; this process sees its own at once. Default 1 s.
    pub version_ttl: Duration,
    /// A Redis command that takes longer counts as failed. Default 1 s.
    pub response_timeout: Duration,
    /// Connecting to Redis takes at most this. Default 1 s.
    pub connect_timeout: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            default_ttl: Some(Duration::from_secs(300)),
            compress_above: None,
            lock_ttl: Duration::from_secs(10),
            lock_wait: Duration::from_secs(10),
            lock_poll: Duration::from_millis(20),
            early_refresh_beta: 1.0,
            version_ttl: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
        }
    }
}

/// Builds a [`RedisCache`].
///
/// ```no_run
/// # async fn demo() -> Result<(), sync_server::cache::CacheError> {
/// use std::time::Duration;
/// use sync_server::cache::RedisCache;
/// let cache = RedisCache::builder("redis://127.0.0.1:6379/0")
///     .namespace("shop")?
///     .default_ttl(Some(Duration::from_secs(60)))
///     .compress_above(Some(1024))
///     .build()?;
/// cache.set("product:42", b"{}", Some(Duration::from_secs(30))).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct CacheBuilder {
    pub(crate) url: String,
    pub(crate) namespace: Option<Namespace>,
    pub(crate) options: CacheOptions,
    pub(crate) publisher: Option<Publisher>,
}

impl CacheBuilder {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            namespace: None,
            options: CacheOptions::default(),
            publisher: None,
        }
    }

    /// The namespace of the built handle (others: [`RedisCache::with_namespace`]).
    /// Default `default`.
    pub fn namespace(mut self, ns: &str) -> Result<Self, CacheError> {
        self.namespace = Some(Namespace::parse(ns)?);
        Ok(self)
    }

    /// Where invalidations are published. Default: nowhere.
    pub fn publisher(mut self, publisher: Publisher) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// See [`CacheOptions::default_ttl`]. Default 300 s.
    pub fn default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.options.default_ttl = ttl;
        self
    }

    /// See [`CacheOptions::compress_above`]. Default: never.
    pub fn compress_above(mut self, bytes: Option<usize>) -> Self {
        self.options.compress_above = bytes;
        self
    }

    /// See [`CacheOptions::lock_ttl`]. Default 10 s.
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.options.lock_ttl = ttl;
        self
    }

    /// See [`CacheOptions::lock_wait`]. Default 10 s.
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.options.lock_wait = wait;
        self
    }

    /// See [`CacheOptions::lock_poll`]. Default 20 ms.
    pub fn lock_poll(mut self, poll: Duration) -> Self {
        self.options.lock_poll = poll;
        self
    }

    /// See [`CacheOptions::early_refresh_beta`]. Default 1.0.
    pub fn early_refresh_beta(mut self, beta: f64) -> Self {
        self.options.early_refresh_beta = beta.max(0.0);
        self
    }

    /// See [`CacheOptions::version_ttl`]. Default 1 s.
    pub fn version_ttl(mut self, ttl: Duration) -> Self {
        self.options.version_ttl = ttl;
        self
    }

    /// See [`CacheOptions::response_timeout`]. Default 1 s.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.options.response_timeout = timeout;
        self
    }

    /// Builds the cache. It connects lazily (and reconnects by itself), so a Redis that is
    /// down now is not an error; a bad URL is. Must be called inside a Tokio runtime.
    pub fn build(self) -> Result<RedisCache, CacheError> {
        RedisCache::from_builder(self)
    }
}
