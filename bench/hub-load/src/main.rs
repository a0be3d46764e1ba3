//! `hub-load`: SSE fan-out latency, throughput and idle memory of the `sync-server` hub,
//! measured against Redis pub/sub delivering the same events (the floor), in one run.
//!
//! Build first (the tool builds nothing), then run from the workspace root:
//!
//! ```sh
//! cargo build --profile release-native -p sync-server -p hub-load
//! target/release-native/hub-load --clients 1000,10000 --transports embedded,redis
//! ```
//!
//! Every process (the hub, redis-server, the clients here) runs on 127.0.0.1; the hub and
//! redis-server are started fresh and killed at the end.

mod error;
mod http;
mod hub_process;
mod process;
mod publisher;
mod recorder;
mod redis_floor;
mod redis_server;
mod report;
mod resp;
mod scenario;
mod sse;
mod sse_client;
mod stats;
mod subscriber;

use clap::Parser;
use error::BenchError;
use redis_server::RedisServer;
use scenario::{run_case, CaseResult, Path, Settings};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "hub-load", about = "Load generator for the sync-server hub")]
struct Args {
    /// Subscriber counts, one set of cases each.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    clients: Vec<usize>,
    /// Hub transports to measure (the floor always runs).
    #[arg(long, value_delimiter = ',', default_value = "embedded,redis")]
    transports: Vec<Path>,
    /// The hub binary. Default: `sync-server` next to this binary.
    #[arg(long)]
    hub: Option<PathBuf>,
    /// The redis-server binary.
    #[arg(long, default_value = "/usr/bin/redis-server")]
    redis_server: PathBuf,
    /// Events published per case, after the warm-up.
    #[arg(long, default_value_t = 200)]
    events: usize,
    /// Warm-up events per case (delivered and checked, not in the latency figures).
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Publications per second, at most (see --max-deliveries).
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Deliveries per second offered, at most: with N clients the rate is
    /// min(--rate, this / N), so that the floor is not saturated and latencies are not
    /// queueing delays (2 cores: N = 1,000 at 50/s, N = 10,000 at 5/s).
    #[arg(long, default_value_t = 50_000.0)]
    max_deliveries: f64,
    /// Subscriptions opened at once while ramping up.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Seconds the subscriptions stay idle before the second memory reading.
    #[arg(long, default_value_t = 2)]
    settle_secs: u64,
    /// Seconds to wait for undelivered events after the last publication.
    #[arg(long, default_value_t = 10)]
    drain_secs: u64,
    /// Skip the single-client cases (hub vs floor with one subscriber).
    #[arg(long)]
    no_single_client: bool,
    /// Runs of every case. Each run measures the floor and then each transport, and a
    /// target is judged on the median of the runs' ratios to their own floor: on 2 shared
    /// cores one run's ratio moves by 20-30 %.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    repeat: u16,
}

fn default_hub() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("sync-server")))
        .unwrap_or_else(|| PathBuf::from("target/release-native/sync-server"))
}

/// What a run measured, and the cases that failed (each with its error).
struct Outcome {
    results: Vec<CaseResult>,
    failures: Vec<String>,
}

async fn run(args: Args) -> Result<Outcome, BenchError> {
    let open_files = process::raise_open_files_limit()?;
    let mut counts = args.clients.clone();
    if !args.no_single_client {
        counts.insert(0, 1);
    }
    counts.dedup();
    let largest = counts.iter().copied().max().unwrap_or(1);
    if (largest as u64) + 64 > open_files {
        return Err(BenchError::Setup(format!(
            "{largest} clients need more than the open-files limit of {open_files}"
        )));
    }
    let settings = Settings {
        hub: args.hub.clone().unwrap_or_else(default_hub),
        events: args.events + args.warmup,
        warmup: args.warmup,
        rate: args.rate,
        max_deliveries: args.max_deliveries,
        batch: args.batch,
        settle: Duration::from_secs(args.settle_secs),
        drain: Duration::from_secs(args.drain_secs),
    };
    let redis = RedisServer::start(&args.redis_server, largest).await?;
    eprintln!(
        "hub-load: redis-server pid {} on port {}, open files {open_files}",
        redis.pid(),
        redis.port()
    );
    let mut paths = vec![Path::Floor];
    paths.extend(args.transports.iter().filter(|&&p| p != Path::Floor));
    paths.dedup();
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for &clients in &counts {
        for (run, &path) in
            (1..=usize::from(args.repeat)).flat_map(|run| paths.iter().map(move |path| (run, path)))
        {
            eprintln!(
                "hub-load: {clients} clients, {path}, run {run}/{} ...",
                args.repeat
            );
            // A case that fails (a connection reset during the ramp, say) is reported and left
            // out; the others still count, so a long run is not lost to one case.
            let result = match run_case(path, clients, run, &settings, &redis).await {
                Ok(result) => result,
                Err(e) => {
                    eprintln!("hub-load:   failed: {e}");
                    failures.push(format!("{clients} clients, {path}, run {run}: {e}"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            eprintln!(
                "hub-load:   delivered {}/{} ({} subscriptions ended early{})",
                result.deliveries.delivered,
                result.deliveries.expected,
                result.failed.0,
                result
                    .failed
                    .1
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
            results.push(result);
            // Let the closed connections drain before the next case.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Ok(Outcome { results, failures })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let summary = format!(
        "{} run(s) of each case, {} events each after {} warm-up, at min({}/s, {} \
         deliveries/s / clients); load average before: {}",
        args.repeat,
        args.events,
        args.warmup,
        args.rate,
        args.max_deliveries,
        process::load_average().unwrap_or_default()
    );
    match run(args).await {
        Ok(Outcome { results, failures }) => {
            println!(
                "{summary}; after: {}\n",
                process::load_average().unwrap_or_default()
            );
            println!("{}", report::results_table(&results));
            println!("{}", report::targets_table(&results));
            if failures.is_empty() {
                return ExitCode::SUCCESS;
            }
            println!("Cases that failed (left out of the tables):\n");
            for failure in &failures {
                println!("- {failure}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("hub-load: {e}");
            ExitCode::FAILURE
        }
    }
}
