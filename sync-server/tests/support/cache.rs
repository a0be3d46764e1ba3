//! The Redis cache as the cache tests build it.

use super::redis_server::RedisServer;
use std::time::Duration;
use sync_server::cache::{Publisher, RedisCache};
use sync_server::AppState;

/// A TTL of one minute.
pub const MINUTE: Option<Duration> = Some(Duration::from_secs(60));

/// A cache on namespace `shop` polling locks every 5 ms, publishing to `hub` if given.
pub fn cache(redis: &RedisServer, hub: Option<&AppState>) -> RedisCache {
    let mut builder = RedisCache::builder(&redis.url())
        .namespace("shop")
        .unwrap()
        .lock_poll(Duration::from_millis(5));
    if let Some(hub) = hub {
        builder = builder.publisher(Publisher::in_process(hub));
    }
    builder.build().unwrap()
}
