//! Invalidation beyond single keys: tags, glob patterns, whole namespaces, version bumps.
//!
//! - A tag is a Redis set `<ns>:tag:<tag>` of the entry keys stored with it
//!   ([`RedisCache::set_with_tags`]); it expires no earlier than its longest-lived entry, and
//!   never while an entry stored without expiry is in it.
//!   [`RedisCache::invalidate_tags`] unlinks the members and the set in one Lua script, so an
//!   entry tagged meanwhile is never orphaned.
//! - Patterns are cache-core globs over user keys, translated to `SCAN MATCH` (never `KEYS`)
//!   and removed with `UNLINK`, batch by batch.
//! - [`RedisCache::clear_namespace`] removes every entry, tag and lock of a namespace;
//!   [`RedisCache::bump_version`] invalidates all of it in O(1) by moving to the next version
//!   (old entries become unreachable and expire by themselves).
//!
//! Each publishes the same invalidation to the hub (tags, the pattern, or `*`).

use super::guard::{Stamp, Ticket};
use super::keys;
use super::redis_cache::RedisCache;
use super::{codec, stats, CacheError};
use cache_core::key::{validate_key, Namespace};
use cache_core::message::{validate_tag, Selector, MAX_TAGS_PER_ENTRY};
use cache_core::pattern::Pattern;
use cache_core::CoreError;
use redis::RedisError;
use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::time::Duration;

/// Keys unlinked per `UNLINK` and scanned per `SCAN` step.
const BATCH: usize = 500;

static INVALIDATE_TAGS: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local n = 0
for _, tag in ipairs(KEYS) do
  local members = redis.call('SMEMBERS', tag)
  for i = 1, #members, 500 do
    n = n + redis.call('UNLINK', unpack(members, i, math.min(i + 499, #members)))
  end
  redis.call('UNLINK', tag)
end
return n",
    )
});

static BUMP_VERSION: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], 1) end return redis.call('INCR', KEYS[1])",
    )
});

fn nothing() -> &'static [&'static str] {
    &[]
}

/// A `SCAN MATCH <glob>` walk over the whole database (never `KEYS`), one batch at a time.
struct Scan<'a> {
    glob: &'a str,
    /// The next cursor; `None` once Redis answered cursor 0.
    cursor: Option<u64>,
}

impl<'a> Scan<'a> {
    fn new(glob: &'a str) -> Self {
        Self {
            glob,
            cursor: Some(0),
        }
    }

    /// The next batch of keys (those that are UTF-8), or `None` when the walk is done.
    async fn next_batch(
        &mut self,
        conn: &mut redis::aio::ConnectionManager,
    ) -> Result<Option<Vec<String>>, RedisError> {
        let Some(cursor) = self.cursor else {
            return Ok(None);
        };
        let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(self.glob)
            .arg("COUNT")
            .arg(BATCH)
            .query_async(conn)
            .await?;
        self.cursor = (next != 0).then_some(next);
        Ok(Some(
            batch
                .into_iter()
                .filter_map(|k| String::from_utf8(k).ok())
                .collect(),
        ))
    }
}

/// Calls `each` with every key matching `glob`.
pub(crate) async fn scan_each(
    conn: &mut redis::aio::ConnectionManager,
    glob: &str,
    mut each: impl FnMut(&str),
) -> Result<(), RedisError> {
    let mut scan = Scan::new(glob);
    while let Some(batch) = scan.next_batch(conn).await? {
        batch.iter().for_each(|key| each(key));
    }
    Ok(())
}

/// `UNLINK`s the keys matching `glob` that `keep` selects, batch by batch; answers how many
/// were removed.
pub(crate) async fn scan_unlink(
    conn: &mut redis::aio::ConnectionManager,
    glob: &str,
    mut keep: impl FnMut(&str) -> bool,
) -> Result<u64, RedisError> {
    let mut scan = Scan::new(glob);
    let mut removed = 0;
    while let Some(batch) = scan.next_batch(conn).await? {
        let doomed: Vec<&String> = batch.iter().filter(|k| keep(k)).collect();
        if !doomed.is_empty() {
            removed += redis::cmd("UNLINK")
                .arg(&doomed)
                .query_async::<u64>(conn)
                .await?;
        }
    }
    Ok(removed)
}

impl RedisCache {
    /// [`RedisCache::set`], and adds `key` to each of `tags` (at most 32, each at most 256
    /// bytes). Publishes the key's invalidation. Answers whether Redis stored it.
    pub async fn set_with_tags(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
        tags: &[&str],
    ) -> Result<bool, CacheError> {
        validate_key(key)?;
        self.stamp(Stamp::Keys(&[key])).await;
        let stored = self.store_tagged(key, value, ttl, tags, None).await?;
        self.publish(Selector::parse(&[key], nothing(), nothing())?)
            .await;
        Ok(stored)
    }

    /// [`RedisCache::set_with_tags`] without stamping or publishing; with a `guard` (a cache
    /// fill), only if nothing invalidated the key, its tags or the namespace since the ticket
    /// was taken ([`super::guard`]). Answers whether Redis stored it.
    pub(crate) async fn store_tagged(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
        tags: &[&str],
        guard: Option<&Ticket>,
    ) -> Result<bool, CacheError> {
        validate_key(key)?;
        if tags.len() > MAX_TAGS_PER_ENTRY {
            return Err(CoreError::InvalidTag("at most 32 tags per entry").into());
        }
        for tag in tags {
            validate_tag(tag)?;
        }
        let result = match self.space().await {
            Ok(space) => {
                let entry = keys::entry_key(&space, key);
                let frame = codec::encode(value, 0, self.shared.options.compress_above);
                self.store_entry(&entry, key, &frame, ttl, tags, guard)
                    .await
            }
            Err(e) => Err(e),
        };
        let stored = matches!(result, Ok(true));
        Ok(self.written("set", result.map(u64::from), &self.counters.sets) && stored)
    }

    /// Removes every entry stored with any of `tags`, and publishes the tags' invalidation.
    /// Answers how many entries were removed.
    pub async fn invalidate_tags(&self, tags: &[&str]) -> Result<u64, CacheError> {
        let selector = Selector::parse(nothing(), nothing(), tags)?;
        self.stamp(Stamp::Tags(tags)).await;
        let sets: Vec<String> = tags
            .iter()
            .map(|t| keys::tag_key(&self.namespace, t))
            .collect();
        let mut invocation = INVALIDATE_TAGS.prepare_invoke();
        for set in &sets {
            invocation.key(set);
        }
        let result = invocation.invoke_async::<u64>(&mut self.conn()).await;
        self.finish_invalidation("invalidate_tags", result, selector)
            .await
    }

    /// Removes the entries of the current version whose key matches `pattern` (a cache-core
    /// glob: `*`, `?`, `\`), with SCAN and UNLINK, and publishes the pattern's invalidation.
    /// Answers how many entries were removed.
    pub async fn invalidate_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
        let parsed = Pattern::parse(pattern)?;
        let selector = Selector::parse(nothing(), &[pattern], nothing())?;
        self.stamp(Stamp::All).await;
        let result = match self.space().await {
            Ok(space) => {
                let glob = format!(
                    "{}{}",
                    keys::glob_literal(&keys::entry_prefix(&space)),
                    keys::redis_glob(&parsed)
                );
                scan_unlink(&mut self.conn(), &glob, |raw| {
                    keys::parse_entry_key(raw).is_some_and(|(_, _, key)| parsed.matches(key))
                })
                .await
            }
            Err(e) => Err(e),
        };
        self.finish_invalidation("invalidate_pattern", result, selector)
            .await
    }

    /// Removes every entry (of every version), tag set and lock of this namespace, keeping its
    /// version, and publishes an invalidation of `*`. Answers how many keys were removed.
    pub async fn clear_namespace(&self) -> Result<u64, CacheError> {
        let selector = Selector::parse(nothing(), &["*"], nothing())?;
        let glob = format!("{}:*", keys::glob_literal(self.namespace.as_str()));
        let version_key = keys::version_key(&self.namespace);
        self.stamp(Stamp::All).await;
        let result = scan_unlink(&mut self.conn(), &glob, |raw| {
            raw != version_key && !keys::is_guard_key(&self.namespace, raw)
        })
        .await;
        self.finish_invalidation("clear_namespace", result, selector)
            .await
    }

    /// Moves the namespace to its next version: every entry is invalidated in O(1) (old ones
    /// expire by themselves). Publishes an invalidation of `*`; answers the new version.
    pub async fn bump_version(&self) -> Result<u32, CacheError> {
        let selector = Selector::parse(nothing(), &["*"], nothing())?;
        self.stamp(Stamp::All).await;
        let result: Result<u64, RedisError> = BUMP_VERSION
            .key(keys::version_key(&self.namespace))
            .invoke_async(&mut self.conn())
            .await;
        let version = match result {
            Ok(v) => u32::try_from(v).unwrap_or(u32::MAX),
            Err(e) => {
                self.failed("bump_version", &e);
                return Err(e.into());
            }
        };
        let version = self.remember_version(version);
        self.publish(selector).await;
        Ok(version)
    }

    /// Counts, publishes (even when Redis failed: dropping browser copies is always safe),
    /// and reports an invalidation's outcome.
    async fn finish_invalidation(
        &self,
        what: &str,
        result: Result<u64, RedisError>,
        selector: Selector,
    ) -> Result<u64, CacheError> {
        if let Ok(n) = &result {
            stats::add(&self.counters.deletes, *n);
        }
        self.publish(selector).await;
        result.map_err(|e| {
            self.failed(what, &e);
            e.into()
        })
    }

    /// Removes every cache key of every namespace in the database (entries, tag sets, locks;
    /// not versions, and no key outside the cache grammar, such as the hub's), and publishes
    /// an invalidation of `*` for each namespace found. Answers the keys removed.
    pub async fn clear_all(&self) -> Result<u64, CacheError> {
        let mut namespaces = BTreeSet::new();
        let removed = scan_unlink(&mut self.conn(), "*", |raw| {
            let ns = cache_key_namespace(raw);
            if let Some(ns) = ns {
                namespaces.insert(ns.to_owned());
            }
            ns.is_some()
        })
        .await;
        self.publish_everywhere(&namespaces, "*").await?;
        Ok(removed?)
    }

    /// Removes the entries of every namespace and version whose key matches `pattern`, and
    /// publishes the pattern's invalidation in each namespace found. Answers the count.
    pub async fn invalidate_pattern_everywhere(&self, pattern: &str) -> Result<u64, CacheError> {
        let parsed = Pattern::parse(pattern)?;
        let mut namespaces = BTreeSet::new();
        let glob = format!("*:v*:{}", keys::redis_glob(&parsed));
        let removed = scan_unlink(&mut self.conn(), &glob, |raw| {
            match keys::parse_entry_key(raw) {
                Some((ns, _, key)) if parsed.matches(key) => {
                    namespaces.insert(ns.to_owned());
                    true
                }
                _ => false,
            }
        })
        .await;
        self.publish_everywhere(&namespaces, pattern).await?;
        Ok(removed?)
    }

    async fn publish_everywhere(
        &self,
        namespaces: &BTreeSet<String>,
        pattern: &str,
    ) -> Result<(), CacheError> {
        for ns in namespaces {
            let handle = self.with_namespace(ns)?;
            handle.stamp(Stamp::All).await;
            handle
                .publish(Selector::parse(nothing(), &[pattern], nothing())?)
                .await;
        }
        Ok(())
    }
}

/// The namespace of a cache key (`<ns>:v<n>:<key>`, `<ns>:tag:<tag>`, `<ns>:lock:...`).
fn cache_key_namespace(raw: &str) -> Option<&str> {
    if let Some((ns, _, _)) = keys::parse_entry_key(raw) {
        return Some(ns);
    }
    let (ns, rest) = raw.split_once(':')?;
    Namespace::parse(ns).ok()?;
    (rest.starts_with("tag:") || rest.starts_with("lock:v")).then_some(ns)
}
