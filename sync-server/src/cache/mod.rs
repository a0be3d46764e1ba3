//! The server-side Redis cache: what Django's cache framework with django-redis gives a Python
//! backend, for Rust backends, with every invalidation also published to the hub so browsers
//! drop the same keys.
//!
//! - Keys follow cache-core's grammar: `<ns>:v<version>:<key>` ([`keys`]), so a key named on
//!   the server is the key browsers hold.
//! - Plain operations: [`RedisCache::get`], [`RedisCache::set`], [`RedisCache::delete`],
//!   [`RedisCache::get_many`] / [`RedisCache::set_many`] (one round trip each).
//! - Strategies: cache-aside [`RedisCache::fetch`] / [`RedisCache::get_or_set`] with
//!   stampede protection across processes and probabilistic early refresh ([`stampede`]),
//!   and write-through [`RedisCache::write`].
//! - Invalidation by tag, glob pattern (SCAN + UNLINK, never KEYS), whole namespace, and an
//!   O(1) version bump ([`tags`]).
//! - Typed values as JSON: `get_json`, `set_json`, `fetch_json`, `get_or_set_json` ([`json`]).
//! - Optional compression above a size threshold ([`codec`]).
//! - Statistics per namespace and from Redis `INFO` ([`stats`]).
//!
//! Data operations never fail because Redis does: reads miss (and `fetch` calls the loader),
//! writes answer `false`; failures are logged and counted. Invalidations and admin operations
//! report Redis errors to the caller (and count them), because their callers need to know.
//! Every write and invalidation is published to the hub through the [`Publisher`], if one is
//! set; cache fills after a load are not (the value is what the source already has). A fill
//! whose load began before an invalidation of its key, its tags or its namespace is not
//! stored ([`guard`]), so it cannot bring back what browsers were told is gone.

pub mod admin;
pub mod codec;
pub mod endpoints;
pub mod guard;
pub mod json;
pub mod keys;
pub mod options;
pub mod publisher;
pub mod redis_cache;
pub mod stampede;
pub mod stats;
pub mod tags;

pub use options::{CacheBuilder, CacheOptions};
pub use publisher::Publisher;
pub use redis_cache::RedisCache;
pub use stats::{NamespaceStats, RedisInfo};

use cache_core::CoreError;

/// Everything the cache can fail with: the one error type of [`crate::cache`].
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// An invalid key, tag, pattern or namespace, as cache-core reports it.
    #[error(transparent)]
    Invalid(#[from] CoreError),
    /// Redis failed (only from invalidations and admin operations, and from a bad URL).
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A bad setting.
    #[error("{0}")]
    Config(String),
    /// A typed value could not be serialized, or a stored one deserialized ([`json`]).
    #[error("JSON: {0}")]
    Encode(String),
    /// A stored value is not a frame of [`codec`] (the cache reads it as a miss).
    #[error("corrupt cache value: {0}")]
    Corrupt(&'static str),
    /// The hub did not take an invalidation (the cache logs and counts it).
    #[error("invalidation not published: {0}")]
    Publish(String),
}
