//! [`RedisCache`]: the handle, its connection, and the plain operations (`get`, `set`,
//! `delete`, `get_many`, `set_many`).

use super::codec;
use super::guard::{Stamp, Ticket};
use super::keys;
use super::options::{CacheBuilder, CacheOptions};
use super::publisher::Publisher;
use super::stats::{self, CacheStats, Counters, NamespaceStats, RedisInfo};
use super::tags;
use super::CacheError;
use cache_core::key::{validate_key, KeySpace, Namespace};
use cache_core::message::{Invalidation, Selector, MAX_SELECTOR_ITEMS};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What every handle of one cache shares.
pub(crate) struct Shared {
    pub(crate) conn: ConnectionManager,
    pub(crate) options: CacheOptions,
    pub(crate) stats: CacheStats,
    versions: Mutex<HashMap<String, (u32, Instant)>>,
    publisher: Option<Publisher>,
}

/// A Redis cache bound to one namespace; cheap to clone. Handles for other namespaces share
/// the connection, options, statistics and publisher ([`RedisCache::with_namespace`]).
///
/// Keys are cache-core keys (non-empty, at most 1024 bytes; build them from parts with
/// [`cache_core::key::key_from_parts`]), stored as `<ns>:v<version>:<key>` (see
/// [`super::keys`]). A Redis failure never fails a data operation: reads answer a miss (and
/// [`RedisCache::fetch`] calls the loader), writes answer `false`; both are logged and
/// counted in [`NamespaceStats::redis_errors`]. Only invalid input is an error there.
#[derive(Clone)]
pub struct RedisCache {
    pub(crate) shared: Arc<Shared>,
    pub(crate) namespace: Namespace,
    pub(crate) counters: Arc<Counters>,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("namespace", &self.namespace)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

/// Entries per `EVAL` of a batch operation.
const BATCH: usize = 500;

/// Milliseconds of a TTL for `PX`, at least 1.
pub(crate) fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Namespace versions remembered before those older than `version_ttl` are forgotten.
const MAX_REMEMBERED_VERSIONS: usize = 1000;

impl RedisCache {
    /// A builder for a cache at `redis_url` (`redis://host:port/db`, `rediss://`, `unix://`).
    pub fn builder(redis_url: &str) -> CacheBuilder {
        CacheBuilder::new(redis_url)
    }

    pub(crate) fn from_builder(b: CacheBuilder) -> Result<Self, CacheError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(CacheError::Config(
                "build the cache inside a Tokio runtime".into(),
            ));
        }
        let client = redis::Client::open(b.url.as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(b.options.response_timeout))
            .set_connection_timeout(Some(b.options.connect_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        let namespace = match b.namespace {
            Some(ns) => ns,
            None => Namespace::parse("default")?,
        };
        let shared = Arc::new(Shared {
            conn,
            options: b.options,
            stats: CacheStats::default(),
            versions: Mutex::new(HashMap::new()),
            publisher: b.publisher,
        });
        let counters = shared.stats.namespace(namespace.as_str());
        Ok(Self {
            shared,
            namespace,
            counters,
        })
    }

    /// A handle on namespace `ns` sharing this one's connection, options and statistics.
    pub fn with_namespace(&self, ns: &str) -> Result<Self, CacheError> {
        let namespace = Namespace::parse(ns)?;
        Ok(Self {
            counters: self.shared.stats.namespace(namespace.as_str()),
            shared: self.shared.clone(),
            namespace,
        })
    }

    /// The namespace.
    #[must_use]
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &CacheOptions {
        &self.shared.options
    }

    /// This namespace's counters.
    #[must_use]
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Every namespace's counters (of this process), by name.
    #[must_use]
    pub fn stats(&self) -> BTreeMap<String, NamespaceStats> {
        self.shared.stats.snapshot()
    }

    /// Redis-wide figures from `INFO`.
    pub async fn redis_info(&self) -> Result<RedisInfo, CacheError> {
        let text: String = redis::cmd("INFO")
            .arg("everything")
            .query_async(&mut self.conn())
            .await?;
        Ok(RedisInfo::parse(&text))
    }

    /// Whether Redis answers `PING` (within the response timeout).
    pub async fn ping(&self) -> bool {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn())
            .await
            .is_ok()
    }

    pub(crate) fn conn(&self) -> ConnectionManager {
        self.shared.conn.clone()
    }

    /// Logs and counts a failed Redis command.
    pub(crate) fn failed(&self, what: &str, e: &RedisError) {
        stats::bump(&self.counters.redis_errors);
        tracing::warn!(namespace = %self.namespace, error = %e, "cache {what} failed; served without Redis");
    }

    /// The namespace at its current version (remembered for [`CacheOptions::version_ttl`]).
    pub(crate) async fn space(&self) -> Result<KeySpace, RedisError> {
        let ns = self.namespace.as_str();
        {
            let versions = self
                .shared
                .versions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((v, at)) = versions.get(ns) {
                if at.elapsed() < self.shared.options.version_ttl {
                    return Ok(KeySpace::new(self.namespace.clone(), *v));
                }
            }
        }
        let raw: Option<u64> = self.conn().get(keys::version_key(&self.namespace)).await?;
        let version = raw.and_then(|v| u32::try_from(v).ok()).unwrap_or(1);
        let version = self.remember_version(version);
        Ok(KeySpace::new(self.namespace.clone(), version))
    }

    /// Remembers `version` and answers the version to use. A fresh memory is never lowered:
    /// a read that started before this process bumped the version must not bring the old one
    /// back.
    pub(crate) fn remember_version(&self, version: u32) -> u32 {
        let mut versions = self
            .shared
            .versions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let fresh = self.shared.options.version_ttl;
        // A remembered version older than `version_ttl` is read again anyway: forgetting those
        // keeps the map to the namespaces in use, however many per-user namespaces come by.
        if versions.len() >= MAX_REMEMBERED_VERSIONS
            && !versions.contains_key(self.namespace.as_str())
        {
            versions.retain(|_, (_, at)| at.elapsed() < fresh);
        }
        let entry = versions
            .entry(self.namespace.as_str().to_owned())
            .or_insert((version, Instant::now()));
        if entry.1.elapsed() >= fresh || version >= entry.0 {
            *entry = (version, Instant::now());
        }
        entry.0
    }

    /// The storage key of `key` at the current version.
    pub(crate) async fn entry_key(&self, key: &str) -> Result<String, RedisError> {
        Ok(keys::entry_key(&self.space().await?, key))
    }

    /// Decodes a stored value, counting a hit, a miss or a corrupt value.
    pub(crate) fn decode_hit(&self, stored: Option<Vec<u8>>) -> Option<codec::Frame> {
        let Some(stored) = stored else {
            stats::bump(&self.counters.misses);
            return None;
        };
        match codec::decode(&stored) {
            Ok(frame) => {
                stats::bump(&self.counters.hits);
                Some(frame)
            }
            Err(e) => {
                stats::bump(&self.counters.corrupt);
                stats::bump(&self.counters.misses);
                tracing::warn!(namespace = %self.namespace, error = %e, "undecodable cache value");
                None
            }
        }
    }

    /// The value of `key`, or `None` (absent, expired, undecodable, or Redis failed).
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        validate_key(key)?;
        let stored = match self.entry_key(key).await {
            Ok(k) => self.conn().get::<_, Option<Vec<u8>>>(k).await,
            Err(e) => Err(e),
        };
        match stored {
            Ok(stored) => Ok(self.decode_hit(stored).map(|f| f.value)),
            Err(e) => {
                stats::bump(&self.counters.misses);
                self.failed("get", &e);
                Ok(None)
            }
        }
    }

    /// Stores `value` under `key` for `ttl` (`None`: no expiry), and publishes an
    /// invalidation of `key` so browsers drop their copies. Answers whether Redis stored it.
    pub async fn set(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        validate_key(key)?;
        self.stamp(Stamp::Keys(&[key])).await;
        let stored = self.store(key, value, ttl, 0, None).await?;
        self.publish(Selector::parse(&[key], &[] as &[&str], &[] as &[&str])?)
            .await;
        Ok(stored)
    }

    /// Stores without stamping or publishing (for callers that do both); with a `guard`,
    /// only if no stamp newer than it keeps the value out. Answers whether Redis stored it.
    pub(crate) async fn store(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
        compute_ms: u32,
        guard: Option<&Ticket>,
    ) -> Result<bool, CacheError> {
        validate_key(key)?;
        let frame = codec::encode(value, compute_ms, self.shared.options.compress_above);
        let result = match self.entry_key(key).await {
            // Without tags: the entry also leaves the tag sets of an older value.
            Ok(k) => self.store_entry(&k, key, &frame, ttl, &[], guard).await,
            Err(e) => Err(e),
        };
        let stored = matches!(result, Ok(true));
        self.written("set", result.map(u64::from), &self.counters.sets);
        Ok(stored)
    }

    /// Counts a write's outcome: `n` into `counter`, or a Redis error.
    pub(crate) fn written(
        &self,
        what: &str,
        result: Result<u64, RedisError>,
        counter: &std::sync::atomic::AtomicU64,
    ) -> bool {
        match result {
            Ok(n) => {
                stats::add(counter, n);
                true
            }
            Err(e) => {
                self.failed(what, &e);
                false
            }
        }
    }

    /// Removes `key` and publishes its invalidation. Answers whether it existed.
    pub async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        validate_key(key)?;
        self.stamp(Stamp::Keys(&[key])).await;
        let removed = match self.entry_key(key).await {
            Ok(k) => {
                tags::untag_cmd(&self.namespace, &[&k], true)
                    .query_async::<u64>(&mut self.conn())
                    .await
            }
            Err(e) => Err(e),
        };
        let existed = matches!(removed, Ok(n) if n > 0);
        self.written("delete", removed, &self.counters.deletes);
        self.publish(Selector::parse(&[key], &[] as &[&str], &[] as &[&str])?)
            .await;
        Ok(existed)
    }

    /// The values of `keys` that are present, in one `MGET`.
    pub async fn get_many(&self, keys: &[&str]) -> Result<HashMap<String, Vec<u8>>, CacheError> {
        for key in keys {
            validate_key(key)?;
        }
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let stored: Result<Vec<Option<Vec<u8>>>, RedisError> = match self.space().await {
            Ok(space) => {
                let names: Vec<String> = keys.iter().map(|k| keys::entry_key(&space, k)).collect();
                redis::cmd("MGET")
                    .arg(&names)
                    .query_async(&mut self.conn())
                    .await
            }
            Err(e) => Err(e),
        };
        let stored = stored.unwrap_or_else(|e| {
            self.failed("get_many", &e);
            vec![None; keys.len()]
        });
        Ok(keys
            .iter()
            .zip(stored)
            .filter_map(|(k, v)| Some(((*k).to_owned(), self.decode_hit(v)?.value)))
            .collect())
    }

    /// Stores every entry with `ttl` in one pipeline and publishes one invalidation of their
    /// keys. Answers whether Redis stored them.
    pub async fn set_many(
        &self,
        entries: &[(&str, &[u8])],
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        for (key, _) in entries {
            validate_key(key)?;
        }
        let names: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
        self.stamp(Stamp::Keys(&names)).await;
        let result = match self.space().await {
            Ok(space) => {
                let mut pipe = redis::pipe();
                let stored: Vec<String> =
                    names.iter().map(|k| keys::entry_key(&space, k)).collect();
                let stored: Vec<&str> = stored.iter().map(String::as_str).collect();
                // Untagged: the entries leave the tag sets of older values.
                for chunk in stored.chunks(BATCH) {
                    pipe.add_command(tags::untag_cmd(&self.namespace, chunk, false))
                        .ignore();
                }
                for (key, value) in entries {
                    let frame = codec::encode(value, 0, self.shared.options.compress_above);
                    pipe.add_command(set_cmd(&keys::entry_key(&space, key), &frame, ttl))
                        .ignore();
                }
                pipe.query_async::<()>(&mut self.conn()).await
            }
            Err(e) => Err(e),
        };
        let n = entries.len() as u64;
        let stored = self.written("set_many", result.map(|()| n), &self.counters.sets);
        for chunk in publication_chunks(&names) {
            self.publish(Selector::parse(chunk, &[] as &[&str], &[] as &[&str])?)
                .await;
        }
        Ok(stored)
    }

    /// Publishes `selector` on this namespace, if a publisher is set; failures are counted.
    pub(crate) async fn publish(&self, selector: Selector) {
        let Some(publisher) = &self.shared.publisher else {
            return;
        };
        let invalidation = Invalidation {
            namespace: self.namespace.clone(),
            selector,
        };
        if let Err(e) = publisher.publish(&invalidation).await {
            stats::bump(&self.counters.publish_errors);
            tracing::warn!(namespace = %self.namespace, error = %e, "invalidation not published");
        }
    }
}

/// `SET key value [PX ttl]`.
pub(crate) fn set_cmd(key: &str, frame: &[u8], ttl: Option<Duration>) -> redis::Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(frame);
    if let Some(ttl) = ttl {
        cmd.arg("PX").arg(ttl_ms(ttl));
    }
    cmd
}

/// Most bytes of keys (escaped for JSON at worst) one publication carries: well under the
/// hub's `--max-data-bytes` (512 KiB by default), which answers 413 to a larger invalidation.
const PUBLICATION_BYTES: usize = 64 << 10;

/// `names` cut into runs that each fit one publication: at most [`MAX_SELECTOR_ITEMS`] keys
/// and [`PUBLICATION_BYTES`] of JSON, counting each byte as its longest escape (`\u00XX`).
fn publication_chunks<'a, 'n>(names: &'n [&'a str]) -> impl Iterator<Item = &'n [&'a str]> {
    let mut rest = names;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut n = 0;
        while n < rest.len() && n < MAX_SELECTOR_ITEMS {
            let size = rest[n].len() * 6 + 3;
            if n > 0 && bytes + size > PUBLICATION_BYTES {
                break;
            }
            bytes += size;
            n += 1;
        }
        let (chunk, after) = rest.split_at(n);
        rest = after;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publications_stay_under_the_hubs_data_limit_and_keep_every_key_in_order() {
        let long: Vec<String> = (0..1000)
            .map(|i| format!("{i:04}{}", "k".repeat(596)))
            .collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        let chunks: Vec<_> = publication_chunks(&long).collect();
        assert!(
            chunks.len() > 1,
            "600 KB of keys is more than one publication"
        );
        for chunk in &chunks {
            let json = serde_json::to_string(chunk).unwrap();
            assert!(json.len() <= PUBLICATION_BYTES, "{} bytes", json.len());
        }
        assert_eq!(chunks.concat(), long);
        let short: Vec<String> = (0..2500).map(|i| format!("k{i}")).collect();
        let short: Vec<&str> = short.iter().map(String::as_str).collect();
        let sizes: Vec<usize> = publication_chunks(&short).map(<[&str]>::len).collect();
        assert_eq!(sizes, [1000, 1000, 500], "and at most 1,000 keys each");
        // One key longer than the budget still goes out, alone.
        let huge = "x".repeat(PUBLICATION_BYTES);
        assert_eq!(publication_chunks(&[huge.as_str(), "a"]).count(), 2);
        assert_eq!(publication_chunks(&[]).count(), 0);
    }

    #[tokio::test]
    async fn versions_not_read_lately_are_forgotten_past_the_bound() {
        // The connection is lazy: remembering versions needs no Redis.
        let cache = RedisCache::builder("redis://127.0.0.1:1/")
            .version_ttl(Duration::from_millis(1))
            .build()
            .unwrap();
        for n in 0..MAX_REMEMBERED_VERSIONS + 10 {
            if n == MAX_REMEMBERED_VERSIONS {
                std::thread::sleep(Duration::from_millis(5));
            }
            let user = cache.with_namespace(&format!("user-{n}")).unwrap();
            assert_eq!(user.remember_version(1), 1);
        }
        let remembered = cache.shared.versions.lock().unwrap().len();
        assert!(remembered <= 11, "{remembered} versions remembered");
    }
}
