//! Benchmark of the server-side cache (docs/BENCHMARKS.md, "Server-side cache"):
//!
//! 1. cached `GET` throughput and p99 through `ResponseCacheLayer`, measured with wrk, against
//!    the same handler uncached;
//! 2. `RedisCache::get_or_set` under a stampede: concurrent callers on a cold key, the
//!    loader's calls counted.
//!
//! Starts its own redis-server and serves the app in this process, both on loopback ports;
//! the redis-server is killed and the server stopped at the end, also on error. Prints a
//! markdown table of the figures against the targets.

mod app;
mod error;
mod process;
mod report;
mod stampede;
mod wrk;

use crate::app::{HandlerCalls, Server, CACHED, PLAIN};
use crate::error::BenchError;
use crate::process::{load_average, RedisServer};
use crate::report::RunReport;
use crate::stampede::StampedeSettings;
use crate::wrk::{WrkReport, WrkSettings};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use sync_server::cache::RedisCache;

/// Cached vs uncached GET through ResponseCacheLayer (wrk), and get_or_set under a stampede.
#[derive(Debug, Parser)]
#[command(name = "response-cache-bench", version)]
struct Args {
    /// The redis-server binary to start.
    #[arg(long, default_value = "/usr/bin/redis-server")]
    redis_server: PathBuf,
    /// The wrk binary.
    #[arg(long, default_value = "wrk")]
    wrk: PathBuf,
    /// wrk's threads (-t).
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// wrk's connections (-c).
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// Seconds of each wrk run (-d).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent `get_or_set` callers per stampede.
    #[arg(long, default_value_t = 200)]
    callers: usize,
    /// Stampedes, each on a fresh key.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// How long the stampede's loader takes, in milliseconds.
    #[arg(long, default_value_t = 100)]
    loader_ms: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(report) => {
            println!("{}", report.markdown());
            if report.all_met() {
                println!("All targets met.");
            } else {
                println!("Some targets missed (see the table).");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("response-cache-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The whole run; the redis-server and the app server are dropped (killed, stopped) when it
/// returns, whether it succeeded or not.
async fn run(args: &Args) -> Result<RunReport, BenchError> {
    let load_before = load_average();
    let redis = RedisServer::start(&args.redis_server).await?;
    let cache = RedisCache::builder(&redis.url())
        .namespace("http")?
        .build()?;
    let calls = HandlerCalls::default();
    let server = Server::start(app::app(cache.clone(), &calls)).await?;
    let client = reqwest::Client::new();

    let plain_probe = app::probe(&client, &server.url(PLAIN)).await?;
    let cached_probe = app::warm(&client, &server.url(CACHED)).await?;
    if plain_probe.body_bytes != cached_probe.body_bytes {
        return Err(BenchError::Invalid(format!(
            "the routes answer different bodies ({} and {} bytes)",
            plain_probe.body_bytes, cached_probe.body_bytes
        )));
    }
    eprintln!(
        "app on {}, redis at {}; body {} bytes; load average {}",
        server.url(""),
        redis.url(),
        cached_probe.body_bytes,
        load_before.as_deref().unwrap_or("unknown")
    );

    let settings = WrkSettings {
        threads: args.threads,
        connections: args.connections,
        seconds: args.seconds,
    };
    let cached = measure_cached(args, &settings, &server, &client, &calls, &cache).await?;
    eprintln!("wrk {PLAIN} ...");
    let plain = wrk::run(&args.wrk, &settings, &server.url(PLAIN)).await?;
    check_all_ok(PLAIN, &plain)?;

    let stampede_settings = StampedeSettings {
        callers: args.callers,
        rounds: args.rounds,
        loader_time: Duration::from_millis(args.loader_ms),
    };
    eprintln!("stampedes ...");
    // Built as in sync-server/tests/cache.rs: a namespace and a short lock poll.
    let stampede_cache = RedisCache::builder(&redis.url())
        .namespace("shop")?
        .lock_poll(Duration::from_millis(5))
        .build()?;
    let stampede = stampede::run(&stampede_cache, &stampede_settings).await?;

    drop(server);
    drop(redis);
    Ok(RunReport {
        cached,
        plain,
        wrk: settings,
        stampede,
        stampede_settings,
        body_bytes: cached_probe.body_bytes,
        load_before,
        load_after: load_average(),
    })
}

/// wrk against the cached route, checking that it measured hits only: the handler did not
/// run during the run, Redis never failed, and the route still answers `X-Cache: HIT`.
async fn measure_cached(
    args: &Args,
    settings: &WrkSettings,
    server: &Server,
    client: &reqwest::Client,
    calls: &HandlerCalls,
    cache: &RedisCache,
) -> Result<WrkReport, BenchError> {
    let handler_before = calls.cached_now();
    let stats_before = cache.stats().get("http").cloned().unwrap_or_default();
    eprintln!("wrk {CACHED} ...");
    let report = wrk::run(&args.wrk, settings, &server.url(CACHED)).await?;
    check_all_ok(CACHED, &report)?;
    let handler_runs = calls.cached_now().saturating_sub(handler_before);
    let stats = cache.stats().get("http").cloned().unwrap_or_default();
    let (hits, errors) = (
        stats.hits.saturating_sub(stats_before.hits),
        stats.redis_errors.saturating_sub(stats_before.redis_errors),
    );
    if handler_runs > 0 || errors > 0 || hits < report.requests {
        return Err(BenchError::Invalid(format!(
            "{CACHED} did not only hit during wrk: {handler_runs} handler calls, {errors} \
             Redis errors, {hits} hits for {} requests",
            report.requests
        )));
    }
    let after = app::probe(client, &server.url(CACHED)).await?;
    if after.x_cache.as_deref() != Some("HIT") {
        return Err(BenchError::Invalid(format!(
            "{CACHED} answered X-Cache: {:?} after wrk",
            after.x_cache
        )));
    }
    Ok(report)
}

/// An error if wrk saw an answer other than 2xx/3xx.
fn check_all_ok(route: &str, report: &WrkReport) -> Result<(), BenchError> {
    if report.non_2xx > 0 {
        return Err(BenchError::Invalid(format!(
            "{route}: {} non-2xx answers",
            report.non_2xx
        )));
    }
    Ok(())
}
