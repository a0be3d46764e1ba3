//! The `sync-server cache ...` commands: `clear`, `warm` and `stats`.

use super::keys;
use super::stats::RedisInfo;
use super::{CacheError, Publisher, RedisCache};
use crate::cli::{CacheClearArgs, CacheCommand, CacheStatsArgs, CacheWarmArgs};
use crate::error::HubError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn failed(e: impl std::fmt::Display) -> HubError {
    HubError::Config(e.to_string())
}

/// A cache handle for the commands: namespace `ns` (or `default`), publishing to `hub`.
pub fn open(
    redis: &str,
    ns: Option<&str>,
    hub: Option<(&str, Option<String>)>,
) -> Result<RedisCache, HubError> {
    let mut builder = RedisCache::builder(redis).response_timeout(Duration::from_secs(10));
    if let Some(ns) = ns {
        builder = builder.namespace(ns).map_err(failed)?;
    }
    if let Some((url, token)) = hub {
        builder = builder.publisher(Publisher::http(url, token));
    }
    builder.build().map_err(failed)
}

/// What to clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClearTarget {
    /// Every cache key of every namespace.
    All,
    /// One namespace (every version, tag and lock).
    Namespace,
    /// Keys matching a glob, in the handle's namespace or (`everywhere`) in all of them.
    Pattern {
        /// The cache-core glob.
        pattern: String,
        /// Whether to look in every namespace.
        everywhere: bool,
    },
}

/// Clears what `target` names; answers how many keys were removed.
pub async fn clear(cache: &RedisCache, target: &ClearTarget) -> Result<u64, CacheError> {
    match target {
        ClearTarget::All => cache.clear_all().await,
        ClearTarget::Namespace => cache.clear_namespace().await,
        ClearTarget::Pattern {
            pattern,
            everywhere: true,
        } => cache.invalidate_pattern_everywhere(pattern).await,
        ClearTarget::Pattern {
            pattern,
            everywhere: false,
        } => cache.invalidate_pattern(pattern).await,
    }
}

/// The outcome of warming.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WarmSummary {
    /// URLs requested.
    pub total: usize,
    /// Answers with `X-Cache: MISS` (now cached, if cacheable).
    pub miss: usize,
    /// Answers with `X-Cache: HIT` (already cached).
    pub hit: usize,
    /// Answers with another or no `X-Cache` (not cacheable).
    pub other: usize,
    /// Failed requests or non-2xx answers, with why.
    pub failed: Vec<String>,
}

/// The URLs of a file: one per line; blank lines and `#` comments are skipped.
#[must_use]
pub fn read_urls(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn progress(done: usize, total: usize) {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\r[{}{}] {done}/{total}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled)
    );
    if done == total {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}

async fn warm_one(client: &reqwest::Client, url: &str) -> Result<Option<String>, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let x_cache = response
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Read the body so the connection is reused and the server finished its work.
    let _ = response.bytes().await;
    if status.is_success() || status == reqwest::StatusCode::NOT_MODIFIED {
        Ok(x_cache)
    } else {
        Err(format!("{url}: {status}"))
    }
}

/// GETs every URL (`concurrency` at a time) so the app's response cache fills, drawing a
/// progress bar on stderr.
pub async fn warm(urls: Vec<String>, concurrency: usize) -> WarmSummary {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let total = urls.len();
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for url in urls {
        let (client, permits) = (client.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            warm_one(&client, &url).await
        });
    }
    let mut summary = WarmSummary {
        total,
        ..WarmSummary::default()
    };
    progress(0, total);
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(Some(x))) if x == "MISS" => summary.miss += 1,
            Ok(Ok(Some(x))) if x == "HIT" => summary.hit += 1,
            Ok(Ok(_)) => summary.other += 1,
            Ok(Err(why)) => summary.failed.push(why),
            Err(e) => summary.failed.push(e.to_string()),
        }
        done += 1;
        progress(done, total);
    }
    summary
}

/// One namespace as found in Redis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NamespaceSummary {
    /// The current version.
    pub version: u32,
    /// Entries of the current version.
    pub entries: u64,
    /// Entries of older versions (unreachable; they expire by themselves).
    pub stale_entries: u64,
    /// Tag sets.
    pub tags: u64,
}

/// Everything `cache stats` prints.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatsReport {
    /// Redis-wide figures.
    pub redis: RedisInfo,
    /// The namespaces found, by name.
    pub namespaces: BTreeMap<String, NamespaceSummary>,
}

/// Scans the database (SCAN, not KEYS) and reads `INFO`.
pub async fn stats(cache: &RedisCache) -> Result<StatsReport, CacheError> {
    let redis = cache.redis_info().await?;
    let mut raw: BTreeMap<String, (Vec<u32>, u64)> = BTreeMap::new();
    super::tags::scan_each(&mut cache.conn(), "*", |key| {
        if let Some((ns, version, _)) = keys::parse_entry_key(key) {
            raw.entry(ns.to_owned()).or_default().0.push(version);
        } else if let Some((ns, rest)) = key.split_once(':') {
            if rest.starts_with("tag:") && cache_core::key::Namespace::parse(ns).is_ok() {
                raw.entry(ns.to_owned()).or_default().1 += 1;
            }
        }
    })
    .await?;
    let mut namespaces = BTreeMap::new();
    for (ns, (versions, tags)) in raw {
        let version = cache.with_namespace(&ns)?.space().await?.version();
        let entries = versions.iter().filter(|v| **v == version).count() as u64;
        let summary = NamespaceSummary {
            version,
            entries,
            stale_entries: versions.len() as u64 - entries,
            tags,
        };
        namespaces.insert(ns, summary);
    }
    Ok(StatsReport { redis, namespaces })
}

/// The human-readable form of a report.
#[must_use]
pub fn render_report(report: &StatsReport) -> String {
    let r = &report.redis;
    let mut out = format!(
        "redis: used_memory {} bytes, maxmemory {} ({}), evicted_keys {}, expired_keys {}, keyspace hits {} / misses {}\n",
        r.used_memory, r.maxmemory, r.maxmemory_policy, r.evicted_keys, r.expired_keys, r.keyspace_hits, r.keyspace_misses
    );
    out.push_str("namespace  version  entries  stale  tags\n");
    for (ns, s) in &report.namespaces {
        out.push_str(&format!(
            "{ns}  v{}  {}  {}  {}\n",
            s.version, s.entries, s.stale_entries, s.tags
        ));
    }
    out
}

/// Elapsed time as seconds with one decimal.
#[must_use]
pub fn seconds(since: Instant) -> String {
    format!("{:.1}", since.elapsed().as_secs_f64())
}

/// Runs one `sync-server cache ...` command.
pub async fn run(command: CacheCommand) -> Result<(), HubError> {
    match command {
        CacheCommand::Clear(args) => run_clear(&args).await,
        CacheCommand::Warm(args) => run_warm(&args).await,
        CacheCommand::Stats(args) => run_stats(&args).await,
    }
}

async fn run_clear(args: &CacheClearArgs) -> Result<(), HubError> {
    let hub = args.hub.as_deref().map(|h| (h, args.token.clone()));
    let cache = open(&args.redis.redis, args.namespace.as_deref(), hub)?;
    let removed = clear(&cache, &args.target()).await.map_err(failed)?;
    println!("removed {removed} keys");
    let unpublished: u64 = cache.stats().values().map(|s| s.publish_errors).sum();
    if args.hub.is_none() {
        eprintln!("browsers were not told (no --hub)");
    } else if unpublished > 0 {
        return Err(HubError::Config(format!(
            "{unpublished} invalidations not published to the hub"
        )));
    }
    Ok(())
}

async fn run_warm(args: &CacheWarmArgs) -> Result<(), HubError> {
    let text = std::fs::read_to_string(&args.urls)
        .map_err(|e| HubError::Config(format!("cannot read {}: {e}", args.urls.display())))?;
    let started = Instant::now();
    let summary = warm(read_urls(&text), args.concurrency).await;
    println!(
        "warmed {} URLs in {} s: {} cached now (MISS), {} already cached (HIT), {} not cacheable, {} failed",
        summary.total,
        seconds(started),
        summary.miss,
        summary.hit,
        summary.other,
        summary.failed.len()
    );
    for why in &summary.failed {
        eprintln!("failed: {why}");
    }
    if summary.failed.is_empty() {
        Ok(())
    } else {
        Err(HubError::Config(format!(
            "{} URLs failed",
            summary.failed.len()
        )))
    }
}

async fn run_stats(args: &CacheStatsArgs) -> Result<(), HubError> {
    let cache = open(&args.redis.redis, None, None)?;
    let report = stats(&cache).await.map_err(failed)?;
    if args.json {
        let json = serde_json::to_string_pretty(&report).map_err(failed)?;
        println!("{json}");
    } else {
        print!("{}", render_report(&report));
    }
    Ok(())
}
