//! Cache-aside with stampede protection, and write-through.
//!
//! [`RedisCache::get_or_set`] runs at most one loader per key across every process sharing
//! the Redis: the first caller to miss takes a lock (`SET <ns>:lock:v<n>:<key> <token> NX PX
//! <lock_ttl>`), loads, stores, and releases the lock with a Lua compare-and-delete of its
//! token; the others poll every [`CacheOptions::lock_poll`](super::CacheOptions::lock_poll)
//! and get the stored value. A caller that takes the lock looks again before loading, so a
//! loader that just finished is never repeated. A waiter loads by itself only after
//! [`lock_wait`](super::CacheOptions::lock_wait), or at once when Redis fails.
//!
//! Hot keys are refreshed before they expire, probabilistically (XFetch, Vattani et al.,
//! VLDB 2015): a hit with `remaining TTL <= compute_time * beta * -ln(random)` reloads in the
//! background of that one request, if the lock is free, while everyone else keeps getting the
//! current value. So keys written at the same time do not all expire and reload at once.

use super::codec;
use super::guard::{Stamp, Ticket};
use super::keys;
use super::redis_cache::RedisCache;
use super::stats;
use super::CacheError;
use cache_core::key::validate_key;
use cache_core::message::Selector;
use redis::RedisError;
use std::future::Future;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

static UNLOCK: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
    )
});

fn token() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// Where a value stands, as read together with its remaining TTL and a ticket for loading it.
struct Peeked {
    stored: Option<Vec<u8>>,
    pttl_ms: i64,
    ticket: Ticket,
}

impl RedisCache {
    /// Cache-aside with the default TTL: the value of `key`, or the `loader`'s (stored).
    /// See [`RedisCache::get_or_set`].
    pub async fn fetch<F, Fut, E>(&self, key: &str, loader: F) -> Result<Vec<u8>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, E>>,
        E: From<CacheError>,
    {
        self.get_or_set(key, self.shared.options.default_ttl, loader)
            .await
    }

    /// The value of `key`; on a miss, the `loader`'s value, stored for `ttl` (`None`: no
    /// expiry). One loader per key across processes; see the module documentation. A
    /// loader's error is returned as is and nothing is stored.
    pub async fn get_or_set<F, Fut, E>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        loader: F,
    ) -> Result<Vec<u8>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, E>>,
        E: From<CacheError>,
    {
        validate_key(key).map_err(CacheError::from)?;
        let space = match self.space().await {
            Ok(space) => space,
            Err(e) => return self.load_without_redis(&e, loader).await,
        };
        let entry = keys::entry_key(&space, key);
        let lock = keys::lock_key(&space, key);
        let peeked = match self.peek(&entry).await {
            Ok(peeked) => peeked,
            Err(e) => return self.load_without_redis(&e, loader).await,
        };
        if let Some(frame) = self.decode_hit(peeked.stored) {
            if !self.refresh_early(frame.compute_ms, peeked.pttl_ms) {
                return Ok(frame.value);
            }
            let Ok(Some(held)) = self.try_lock(&lock).await else {
                return Ok(frame.value);
            };
            stats::bump(&self.counters.early_refreshes);
            let ticket = Some(peeked.ticket);
            let result = self.load_and_store(&entry, key, ttl, loader, ticket).await;
            self.release(held).await;
            // A failed early refresh keeps serving the value, which is still valid.
            return Ok(result.unwrap_or(frame.value));
        }
        self.load_locked(&entry, key, &lock, ttl, loader).await
    }

    /// `GET` and `PTTL` of an entry, and the guard's sequences, in one round trip.
    async fn peek(&self, entry: &str) -> Result<Peeked, RedisError> {
        let (stored, pttl_ms, seq, everywhere): (Option<Vec<u8>>, i64, Option<u64>, Option<u64>) =
            redis::pipe()
                .get(entry)
                .pttl(entry)
                .get(keys::seq_key(&self.namespace))
                .get(keys::EVERYWHERE_SEQ)
                .query_async(&mut self.conn())
                .await?;
        Ok(Peeked {
            stored,
            pttl_ms,
            ticket: Ticket::new(seq, everywhere),
        })
    }

    /// XFetch: whether this hit should reload now.
    fn refresh_early(&self, compute_ms: u32, pttl_ms: i64) -> bool {
        let beta = self.shared.options.early_refresh_beta;
        if beta <= 0.0 || compute_ms == 0 || pttl_ms < 0 {
            return false;
        }
        let gap = f64::from(compute_ms) * beta * -(1.0 - fastrand::f64()).ln();
        gap >= pttl_ms as f64
    }

    /// Takes the lock: `Some` when this caller holds it.
    async fn try_lock(&self, lock: &str) -> Result<Option<Held>, RedisError> {
        let token = token();
        let taken: Option<String> = redis::cmd("SET")
            .arg(lock)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(super::redis_cache::ttl_ms(self.shared.options.lock_ttl))
            .query_async(&mut self.conn())
            .await?;
        Ok(taken.map(|_| Held {
            cache: self.clone(),
            lock: lock.to_owned(),
            token,
            released: false,
        }))
    }

    async fn unlock(&self, lock: &str, token: &str) {
        let released: Result<i64, _> = UNLOCK
            .key(lock)
            .arg(token)
            .invoke_async(&mut self.conn())
            .await;
        if let Err(e) = released {
            self.failed("unlock", &e);
        }
    }

    /// A miss: load under the lock, or wait for whoever holds it.
    async fn load_locked<F, Fut, E>(
        &self,
        entry: &str,
        key: &str,
        lock: &str,
        ttl: Option<Duration>,
        loader: F,
    ) -> Result<Vec<u8>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, E>>,
        E: From<CacheError>,
    {
        let deadline = Instant::now() + self.shared.options.lock_wait;
        let mut counted_wait = false;
        loop {
            match self.try_lock(lock).await {
                Ok(Some(held)) => {
                    // Someone may have stored the value between our miss and the lock.
                    let again = self.peek(entry).await.ok();
                    let ticket = again.as_ref().map(|p| p.ticket);
                    let stored = again.and_then(|p| p.stored);
                    if let Some(frame) = stored.and_then(|s| codec::decode(&s).ok()) {
                        self.release(held).await;
                        return Ok(frame.value);
                    }
                    let result = self.load_and_store(entry, key, ttl, loader, ticket).await;
                    self.release(held).await;
                    return result;
                }
                Ok(None) => {}
                Err(e) => return self.load_without_redis(&e, loader).await,
            }
            if !counted_wait {
                counted_wait = true;
                stats::bump(&self.counters.lock_waits);
            }
            match self.wait_for_loader(entry, lock, deadline).await {
                Ok(Waited::Value(value)) => return Ok(value),
                Ok(Waited::LockFreed) => {}
                Ok(Waited::TimedOut) => {
                    let ticket = self.ticket().await;
                    return self.load_and_store(entry, key, ttl, loader, ticket).await;
                }
                Err(e) => return self.load_without_redis(&e, loader).await,
            }
        }
    }

    /// Polls until the value appears, the lock is released without one, or `deadline`.
    async fn wait_for_loader(
        &self,
        entry: &str,
        lock: &str,
        deadline: Instant,
    ) -> Result<Waited, RedisError> {
        loop {
            if Instant::now() >= deadline {
                return Ok(Waited::TimedOut);
            }
            tokio::time::sleep(self.shared.options.lock_poll).await;
            let (stored, locked): (Option<Vec<u8>>, bool) = redis::pipe()
                .get(entry)
                .exists(lock)
                .query_async(&mut self.conn())
                .await?;
            if let Some(frame) = stored.and_then(|s| codec::decode(&s).ok()) {
                return Ok(Waited::Value(frame.value));
            }
            if !locked {
                return Ok(Waited::LockFreed);
            }
        }
    }

    /// Runs the loader and stores its value (without publishing: it is the source's value),
    /// unless `key` was invalidated since `ticket` was taken ([`super::guard`]) or there is no
    /// ticket (Redis failed). The value is returned either way.
    async fn load_and_store<F, Fut, E>(
        &self,
        entry: &str,
        key: &str,
        ttl: Option<Duration>,
        loader: F,
        ticket: Option<Ticket>,
    ) -> Result<Vec<u8>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, E>>,
    {
        let started = Instant::now();
        stats::bump(&self.counters.loads);
        let value = loader().await?;
        let compute_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let Some(ticket) = ticket else {
            return Ok(value);
        };
        let frame = codec::encode(&value, compute_ms, self.shared.options.compress_above);
        let result = self
            .store_entry(entry, key, &frame, ttl, &[], Some(&ticket))
            .await;
        if matches!(result, Ok(false)) {
            tracing::debug!(namespace = %self.namespace, key, "loaded value invalidated meanwhile; not stored");
        }
        self.written("set", result.map(u64::from), &self.counters.sets);
        Ok(value)
    }

    /// Redis failed: count it and serve from the loader.
    async fn load_without_redis<F, Fut, E>(&self, e: &RedisError, loader: F) -> Result<Vec<u8>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, E>>,
    {
        stats::bump(&self.counters.misses);
        self.failed("fetch", e);
        stats::bump(&self.counters.loads);
        loader().await
    }

    /// Write-through: `persist` first (the source of truth), then cache `value` under `key`
    /// with the default TTL and publish the key's invalidation. A failed `persist` returns its
    /// error and leaves the cache (and browsers) untouched. Answers whether Redis stored it;
    /// when it did not, the old entry is unlinked if Redis lets us, so it is not served.
    pub async fn write<F, Fut, E>(&self, key: &str, value: &[u8], persist: F) -> Result<bool, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: From<CacheError>,
    {
        validate_key(key).map_err(CacheError::from)?;
        // Two writes of one key may persist in one order and cache in the other, leaving the
        // older value cached. So the value is cached only if nothing else in the namespace
        // took a number of the guard's sequence between this ticket and this write's stamp,
        // nor stamped the key after it (the store checks); otherwise the entry is unlinked
        // and the next read loads what the source of truth holds.
        let ticket = self.ticket().await;
        persist().await?;
        let stamp = self.stamp(Stamp::Keys(&[key])).await;
        let guard = ticket.zip(stamp).and_then(|(t, n)| t.at_own_stamp(n));
        let stored = match guard {
            Some(guard) => {
                let ttl = self.shared.options.default_ttl;
                self.store(key, value, ttl, 0, Some(&guard)).await?
            }
            None => false,
        };
        if !stored {
            if let Ok(entry) = self.entry_key(key).await {
                let _: Result<u64, _> = redis::cmd("UNLINK")
                    .arg(entry)
                    .query_async(&mut self.conn())
                    .await;
            }
        }
        let selector =
            Selector::parse(&[key], &[] as &[&str], &[] as &[&str]).map_err(CacheError::from)?;
        self.publish(selector).await;
        Ok(stored)
    }
}

enum Waited {
    Value(Vec<u8>),
    LockFreed,
    TimedOut,
}

/// A held stampede lock; release it with [`RedisCache::release`]. Dropped unreleased (the
/// caller's future was dropped: client gone, handler panicked), it releases itself in a
/// spawned task, so waiters do not stall until `lock_wait`.
pub(crate) struct Held {
    cache: RedisCache,
    lock: String,
    token: String,
    released: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // No runtime to release in: the lock expires after `lock_ttl`.
        };
        let cache = self.cache.clone();
        let (lock, token) = (
            std::mem::take(&mut self.lock),
            std::mem::take(&mut self.token),
        );
        runtime.spawn(async move { cache.unlock(&lock, &token).await });
    }
}

/// The outcome of [`RedisCache::coalesce`].
pub(crate) enum Coalesced {
    /// This caller holds the lock: it computes, stores, then releases.
    Lead(Held),
    /// Another caller stored the value meanwhile.
    Value(Vec<u8>),
    /// Nothing to wait for (the other caller stored nothing, timed out, or Redis failed):
    /// compute without the lock.
    Alone,
}

impl RedisCache {
    /// Takes `key`'s stampede lock, or waits for whoever holds it (for callers that compute
    /// values outside [`RedisCache::get_or_set`], such as the response cache).
    pub(crate) async fn coalesce(&self, key: &str) -> Coalesced {
        let Ok(space) = self.space().await else {
            return Coalesced::Alone;
        };
        let (entry, lock) = (keys::entry_key(&space, key), keys::lock_key(&space, key));
        match self.try_lock(&lock).await {
            Ok(Some(held)) => return Coalesced::Lead(held),
            Ok(None) => stats::bump(&self.counters.lock_waits),
            Err(_) => return Coalesced::Alone,
        }
        let deadline = Instant::now() + self.shared.options.lock_wait;
        match self.wait_for_loader(&entry, &lock, deadline).await {
            Ok(Waited::Value(value)) => Coalesced::Value(value),
            _ => Coalesced::Alone,
        }
    }

    /// Releases a held lock.
    pub(crate) async fn release(&self, mut held: Held) {
        self.unlock(&held.lock, &held.token).await;
        held.released = true;
    }
}
