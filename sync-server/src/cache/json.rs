//! Typed values: the same operations over any serde type, stored as JSON (the form browsers
//! and other languages read too).
//!
//! A stored value that no longer deserializes (the type changed) reads as a miss and counts
//! as `corrupt`; bump the namespace's version when a type changes shape.

use super::redis_cache::RedisCache;
use super::{stats, CacheError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::time::Duration;

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CacheError> {
    serde_json::to_vec(value).map_err(|e| CacheError::Encode(e.to_string()))
}

impl RedisCache {
    /// [`RedisCache::get`], deserialized from JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        let Some(bytes) = self.get(key).await? else {
            return Ok(None);
        };
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                stats::bump(&self.counters.corrupt);
                tracing::warn!(namespace = %self.namespace, error = %e, "cached JSON does not fit its type");
                Ok(None)
            }
        }
    }

    /// [`RedisCache::set`], serialized as JSON.
    pub async fn set_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        self.set(key, &encode(value)?, ttl).await
    }

    /// [`RedisCache::get_or_set`] of a JSON value. A stored value that does not deserialize
    /// is an [`CacheError::Encode`] error (bump the version when a type changes shape).
    pub async fn get_or_set_json<T, F, Fut, E>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        loader: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<CacheError>,
    {
        let bytes = self
            .get_or_set(key, ttl, || async {
                let value = loader().await?;
                Ok::<_, E>(encode(&value)?)
            })
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            stats::bump(&self.counters.corrupt);
            CacheError::Encode(e.to_string()).into()
        })
    }

    /// [`RedisCache::fetch`] of a JSON value: cache-aside with the default TTL.
    pub async fn fetch_json<T, F, Fut, E>(&self, key: &str, loader: F) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<CacheError>,
    {
        self.get_or_set_json(key, self.shared.options.default_ttl, loader)
            .await
    }
}
