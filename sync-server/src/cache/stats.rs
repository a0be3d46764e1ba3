//! Statistics: per-namespace counters kept in-process, and Redis-wide figures from `INFO`.
//!
//! The counters start at zero when the process starts; [`CacheStats::snapshot`] reads them and
//! [`render_prometheus`] writes them (and a [`RedisInfo`]) as Prometheus text.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The counters of one namespace. Every field starts at zero.
#[derive(Debug, Default)]
pub struct Counters {
    /// Reads answered from Redis.
    pub hits: AtomicU64,
    /// Reads that found nothing (or something undecodable).
    pub misses: AtomicU64,
    /// Values written.
    pub sets: AtomicU64,
    /// Keys removed by deletes and invalidations.
    pub deletes: AtomicU64,
    /// Loader calls (cache-aside misses and early refreshes).
    pub loads: AtomicU64,
    /// Hits that refreshed early (probabilistic early expiration).
    pub early_refreshes: AtomicU64,
    /// Callers that waited for another process's loader instead of loading.
    pub lock_waits: AtomicU64,
    /// Redis commands that failed (the request was served anyway).
    pub redis_errors: AtomicU64,
    /// Invalidations that could not be published to the hub.
    pub publish_errors: AtomicU64,
    /// Stored values that could not be decoded (treated as misses).
    pub corrupt: AtomicU64,
}

/// Adds one to a counter.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// A point-in-time copy of one namespace's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NamespaceStats {
    /// Reads answered from Redis.
    pub hits: u64,
    /// Reads that found nothing.
    pub misses: u64,
    /// `hits / (hits + misses)`, 0 when there were no reads.
    pub hit_rate: f64,
    /// Values written.
    pub sets: u64,
    /// Keys removed.
    pub deletes: u64,
    /// Loader calls.
    pub loads: u64,
    /// Early refreshes.
    pub early_refreshes: u64,
    /// Waits for another loader.
    pub lock_waits: u64,
    /// Failed Redis commands.
    pub redis_errors: u64,
    /// Failed hub publications.
    pub publish_errors: u64,
    /// Undecodable stored values.
    pub corrupt: u64,
}

/// Namespaces counted one by one; later ones share [`OTHER_NAMESPACES`]. Per-user
/// namespaces would otherwise grow the map, and the `/metrics` label set, with every user.
pub const MAX_COUNTED_NAMESPACES: usize = 1000;

/// The label of the counters shared by namespaces past [`MAX_COUNTED_NAMESPACES`].
pub const OTHER_NAMESPACES: &str = "(other)";

/// Counters per namespace, shared by every handle of one [`crate::cache::RedisCache`].
#[derive(Debug, Default)]
pub struct CacheStats {
    namespaces: Mutex<BTreeMap<String, Arc<Counters>>>,
}

impl CacheStats {
    /// The counters of `ns`, created at zero on first use; past [`MAX_COUNTED_NAMESPACES`],
    /// those shared under [`OTHER_NAMESPACES`].
    pub fn namespace(&self, ns: &str) -> Arc<Counters> {
        let mut map = self
            .namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(counters) = map.get(ns) {
            return counters.clone();
        }
        let name = if map.len() < MAX_COUNTED_NAMESPACES {
            ns
        } else {
            OTHER_NAMESPACES
        };
        map.entry(name.to_owned()).or_default().clone()
    }

    /// A copy of every namespace's counters, by namespace name.
    #[must_use]
    pub fn snapshot(&self) -> BTreeMap<String, NamespaceStats> {
        let map = self
            .namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.iter().map(|(ns, c)| (ns.clone(), read(c))).collect()
    }
}

fn read(c: &Counters) -> NamespaceStats {
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let (hits, misses) = (get(&c.hits), get(&c.misses));
    let reads = hits + misses;
    NamespaceStats {
        hits,
        misses,
        hit_rate: if reads == 0 {
            0.0
        } else {
            hits as f64 / reads as f64
        },
        sets: get(&c.sets),
        deletes: get(&c.deletes),
        loads: get(&c.loads),
        early_refreshes: get(&c.early_refreshes),
        lock_waits: get(&c.lock_waits),
        redis_errors: get(&c.redis_errors),
        publish_errors: get(&c.publish_errors),
        corrupt: get(&c.corrupt),
    }
}

/// Redis-wide figures from `INFO memory` and `INFO stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedisInfo {
    /// `used_memory`, in bytes.
    pub used_memory: u64,
    /// `maxmemory`, in bytes (0 = no limit).
    pub maxmemory: u64,
    /// `maxmemory_policy`.
    pub maxmemory_policy: String,
    /// `evicted_keys`: keys removed to stay under `maxmemory`.
    pub evicted_keys: u64,
    /// `expired_keys`: keys removed because their TTL ran out.
    pub expired_keys: u64,
    /// `keyspace_hits` (every client of this Redis, not only the cache).
    pub keyspace_hits: u64,
    /// `keyspace_misses`.
    pub keyspace_misses: u64,
}

impl RedisInfo {
    /// Reads the fields above from the text of `INFO`; missing fields stay at their default.
    #[must_use]
    pub fn parse(info: &str) -> Self {
        let mut out = Self::default();
        for line in info.lines() {
            let Some((name, value)) = line.trim_end().split_once(':') else {
                continue;
            };
            let number = || value.parse::<u64>().unwrap_or(0);
            match name {
                "used_memory" => out.used_memory = number(),
                "maxmemory" => out.maxmemory = number(),
                "maxmemory_policy" => value.clone_into(&mut out.maxmemory_policy),
                "evicted_keys" => out.evicted_keys = number(),
                "expired_keys" => out.expired_keys = number(),
                "keyspace_hits" => out.keyspace_hits = number(),
                "keyspace_misses" => out.keyspace_misses = number(),
                _ => {}
            }
        }
        out
    }
}

/// A counter's name, help text and reader.
type Field = (&'static str, &'static str, fn(&NamespaceStats) -> u64);

/// Prometheus text for the counters (`cache_hits_total{namespace="shop"}`, ...,
/// `cache_hit_rate`) and, when known, Redis (`cache_redis_used_memory_bytes`,
/// `cache_redis_evicted_keys_total`, `cache_redis_expired_keys_total`, `cache_redis_up`).
#[must_use]
pub fn render_prometheus(
    stats: &BTreeMap<String, NamespaceStats>,
    info: Option<&RedisInfo>,
) -> String {
    let mut out = String::new();
    let counters: [Field; 10] = [
        ("hits", "Reads answered from Redis", |s| s.hits),
        ("misses", "Reads that found nothing", |s| s.misses),
        ("sets", "Values written", |s| s.sets),
        ("deletes", "Keys removed", |s| s.deletes),
        ("loads", "Loader calls", |s| s.loads),
        ("early_refreshes", "Early refreshes", |s| s.early_refreshes),
        ("lock_waits", "Waits for another loader", |s| s.lock_waits),
        ("redis_errors", "Failed Redis commands", |s| s.redis_errors),
        ("publish_errors", "Failed hub publications", |s| {
            s.publish_errors
        }),
        ("corrupt", "Undecodable stored values", |s| s.corrupt),
    ];
    for (name, help, get) in counters {
        let _ = writeln!(
            out,
            "# HELP cache_{name} {help}.\n# TYPE cache_{name} counter"
        );
        for (ns, s) in stats {
            let _ = writeln!(out, "cache_{name}_total{{namespace=\"{ns}\"}} {}", get(s));
        }
    }
    let _ = writeln!(
        out,
        "# HELP cache_hit_rate Hits over reads.\n# TYPE cache_hit_rate gauge"
    );
    for (ns, s) in stats {
        let _ = writeln!(out, "cache_hit_rate{{namespace=\"{ns}\"}} {}", s.hit_rate);
    }
    let up = u8::from(info.is_some());
    let _ = writeln!(out, "# HELP cache_redis_up Whether INFO answered.\n# TYPE cache_redis_up gauge\ncache_redis_up {up}");
    if let Some(i) = info {
        let _ = writeln!(
            out,
            "# HELP cache_redis_used_memory_bytes Redis used_memory.\n# TYPE cache_redis_used_memory_bytes gauge\ncache_redis_used_memory_bytes {}\n\
             # HELP cache_redis_evicted_keys Redis evicted_keys.\n# TYPE cache_redis_evicted_keys counter\ncache_redis_evicted_keys_total {}\n\
             # HELP cache_redis_expired_keys Redis expired_keys.\n# TYPE cache_redis_expired_keys counter\ncache_redis_expired_keys_total {}",
            i.used_memory, i.evicted_keys, i.expired_keys
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_are_read() {
        let info = RedisInfo::parse(
            "# Memory\r\nused_memory:1024\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n# Stats\r\nexpired_keys:3\r\nevicted_keys:2\r\n",
        );
        assert_eq!(info.used_memory, 1024);
        assert_eq!(info.maxmemory_policy, "noeviction");
        assert_eq!((info.expired_keys, info.evicted_keys), (3, 2));
    }

    #[test]
    fn hit_rate_per_namespace() {
        let stats = CacheStats::default();
        let shop = stats.namespace("shop");
        bump(&shop.hits);
        bump(&shop.hits);
        bump(&shop.hits);
        bump(&shop.misses);
        let snap = stats.snapshot();
        assert!((snap["shop"].hit_rate - 0.75).abs() < f64::EPSILON);
        let text = render_prometheus(&snap, None);
        assert!(text.contains("cache_hits_total{namespace=\"shop\"} 3"));
        assert!(text.contains("cache_redis_up 0"));
    }

    #[test]
    fn namespaces_past_the_bound_share_one_set_of_counters() {
        let stats = CacheStats::default();
        for n in 0..MAX_COUNTED_NAMESPACES + 50 {
            bump(&stats.namespace(&format!("user-{n}")).hits);
        }
        // A namespace counted before keeps its own counters.
        bump(&stats.namespace("user-0").hits);
        let snap = stats.snapshot();
        assert_eq!(snap.len(), MAX_COUNTED_NAMESPACES + 1);
        assert_eq!(snap["user-0"].hits, 2);
        assert_eq!(snap[OTHER_NAMESPACES].hits, 50);
    }
}
