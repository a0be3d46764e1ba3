//! Invalidation beyond single keys: tags, glob patterns, whole namespaces, version bumps.
//!
//! - A tag is a Redis set `<ns>:tag:<tag>` of the entry keys stored with it
//!   ([`RedisCache::set_with_tags`]); it expires no earlier than its longest-lived entry, and
//!   never while an entry stored without expiry is in it. Each entry's index
//!   (`<ns>:entry-tags:<entry key>`) lists its sets, so an entry deleted or stored again
//!   leaves the sets it no longer belongs to; members that are gone otherwise (expired,
//!   evicted, unlinked by a pattern) are pruned by sampling as the set is added to.
//!   [`RedisCache::invalidate_tags`] walks the set with `SSCAN` and unlinks its members batch
//!   by batch, each batch in one Lua script, so Redis is never blocked on a whole set.
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

/// Takes entries (`KEYS`: pairs of an entry and its tag index) out of every tag set they are
/// in and drops their indexes; with `ARGV[1] == "unlink"`, unlinks the entries too. Answers
/// how many entries were unlinked.
const UNTAG: &str = r"local n = 0
for i = 1, #KEYS, 2 do
  for _, set in ipairs(redis.call('SMEMBERS', KEYS[i + 1])) do
    redis.call('SREM', set, KEYS[i])
  end
  redis.call('UNLINK', KEYS[i + 1])
  if ARGV[1] == 'unlink' then
    n = n + redis.call('UNLINK', KEYS[i])
  end
end
return n";

/// One batch of a tag invalidation: unlinks the members `KEYS[2..]` of the tag set `KEYS[1]`
/// and takes them out of it and every other set they are in (their indexes are `ARGV[1]` and
/// the entry key). Answers how many entries were unlinked.
static UNLINK_MEMBERS: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local n = 0
for i = 2, #KEYS do
  local index = ARGV[1] .. KEYS[i]
  for _, set in ipairs(redis.call('SMEMBERS', index)) do
    redis.call('SREM', set, KEYS[i])
  end
  redis.call('UNLINK', index)
  redis.call('SREM', KEYS[1], KEYS[i])
  n = n + redis.call('UNLINK', KEYS[i])
end
return n",
    )
});

/// An `EVAL` that takes the entry keys `entries` out of their tag sets (and, with `unlink`,
/// unlinks them); answers how many were unlinked.
pub(crate) fn untag_cmd(ns: &Namespace, entries: &[&str], unlink: bool) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(UNTAG).arg(entries.len() * 2);
    for entry in entries {
        cmd.arg(*entry).arg(keys::entry_tags_key(ns, entry));
    }
    cmd.arg(if unlink { "unlink" } else { "keep" });
    cmd
}

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
        let mut result = Ok(0);
        for tag in tags {
            let set = keys::tag_key(&self.namespace, tag);
            result = match (result, self.unlink_tag_members(&set).await) {
                (Ok(a), Ok(b)) => Ok(a + b),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
        }
        self.finish_invalidation("invalidate_tags", result, selector)
            .await
    }

    /// Unlinks the members of the tag set `set` in batches (`SSCAN`, so Redis is never blocked
    /// on a whole large set); answers how many entries were unlinked. Members added meanwhile
    /// may stay: they were stored after the invalidation's stamp, so they are current.
    async fn unlink_tag_members(&self, set: &str) -> Result<u64, RedisError> {
        let mut conn = self.conn();
        let prefix = keys::entry_tags_prefix(&self.namespace);
        let (mut cursor, mut removed) = (0_u64, 0);
        loop {
            let (next, members): (u64, Vec<Vec<u8>>) = redis::cmd("SSCAN")
                .arg(set)
                .arg(cursor)
                .arg("COUNT")
                .arg(BATCH)
                .query_async(&mut conn)
                .await?;
            if !members.is_empty() {
                let mut invocation = UNLINK_MEMBERS.prepare_invoke();
                invocation.key(set);
                for member in &members {
                    invocation.key(member);
                }
                removed += invocation
                    .arg(&prefix)
                    .invoke_async::<u64>(&mut conn)
                    .await?;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
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
        self.stamp_every_namespace().await?;
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
        self.stamp_every_namespace().await?;
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

    /// Keeps out of every namespace the fills that began before now (see
    /// [`super::guard`]), before an invalidation of all of them looks for what to remove.
    async fn stamp_every_namespace(&self) -> Result<(), CacheError> {
        self.stamp_everywhere().await.map_err(|e| {
            self.failed("stamp", &e);
            e.into()
        })
    }

    async fn publish_everywhere(
        &self,
        namespaces: &BTreeSet<String>,
        pattern: &str,
    ) -> Result<(), CacheError> {
        for ns in namespaces {
            let handle = self.with_namespace(ns)?;
            handle
                .publish(Selector::parse(nothing(), &[pattern], nothing())?)
                .await;
        }
        Ok(())
    }
}

/// The namespace of a cache key (`<ns>:v<n>:<key>`, `<ns>:tag:<tag>`, `<ns>:lock:...`,
/// `<ns>:entry-tags:...`).
fn cache_key_namespace(raw: &str) -> Option<&str> {
    if let Some((ns, _, _)) = keys::parse_entry_key(raw) {
        return Some(ns);
    }
    let (ns, rest) = raw.split_once(':')?;
    Namespace::parse(ns).ok()?;
    (rest.starts_with("tag:") || rest.starts_with("lock:v") || rest.starts_with("entry-tags:"))
        .then_some(ns)
}
