//! One case: a fresh hub (or the floor's redis-server), N subscriptions ramped in batches,
//! memory before and after they are idle, M events at a fixed rate, and what arrived.

use crate::error::BenchError;
use crate::hub_process::HubProcess;
use crate::process::vm_rss_kib;
use crate::publisher::{publish_all, Publisher};
use crate::recorder::Recorder;
use crate::redis_floor::{RedisPublisher, RedisSubscriber};
use crate::redis_server::RedisServer;
use crate::sse_client::{HubPublisher, HubSubscriber};
use crate::stats::{summarize, Deliveries, Summary};
use crate::subscriber::{self, Outcome, Subscriber};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// What events go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Path {
    /// Redis PUBLISH straight to SUBSCRIBE connections: the floor.
    Floor,
    /// The hub with its embedded transport.
    Embedded,
    /// The hub with its Redis transport.
    Redis,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Floor => "floor (Redis pub/sub)",
            Self::Embedded => "hub, embedded",
            Self::Redis => "hub, Redis",
        })
    }
}

/// Settings shared by every case of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The hub binary.
    pub hub: PathBuf,
    /// Events published per case, warm-up included.
    pub events: usize,
    /// The first events, delivered and checked but left out of the latency figures.
    pub warmup: usize,
    /// Publications per second, at most.
    pub rate: f64,
    /// Deliveries per second, at most: caps the rate at `max_deliveries / clients`.
    pub max_deliveries: f64,
    /// Subscriptions opened at once.
    pub batch: usize,
    /// Idle time before the second memory reading.
    pub settle: Duration,
    /// How long to wait for stragglers after the last publication.
    pub drain: Duration,
}

/// The figures of one case.
#[derive(Debug)]
pub struct CaseResult {
    /// What was measured.
    pub path: Path,
    /// Subscriptions.
    pub clients: usize,
    /// Which repetition of the case this is, from 1.
    pub run: usize,
    /// Latencies and losses.
    pub deliveries: Deliveries,
    /// Publications per second offered.
    pub rate: f64,
    /// Publish send → accepted.
    pub publish: Option<Summary>,
    /// Deliveries per second, from the first publication to the last read.
    pub events_per_sec: f64,
    /// The hub's VmRSS before and after the idle subscriptions, in KiB (hub cases).
    pub rss_kib: Option<(u64, u64)>,
    /// Subscriptions that ended early, and the first reason.
    pub failed: (usize, Option<String>),
}

impl CaseResult {
    /// Hub memory per idle connection, in bytes.
    #[must_use]
    pub fn bytes_per_connection(&self) -> Option<f64> {
        let (before, after) = self.rss_kib?;
        Some((after as f64 - before as f64) * 1024.0 / self.clients as f64)
    }
}

/// Runs one case; the floor and the Redis transport use `redis`.
pub async fn run_case(
    path: Path,
    clients: usize,
    run: usize,
    settings: &Settings,
    redis: &RedisServer,
) -> Result<CaseResult, BenchError> {
    match path {
        Path::Floor => {
            measure::<RedisSubscriber, RedisPublisher>(
                path,
                clients,
                run,
                settings,
                redis.port(),
                None,
            )
            .await
        }
        Path::Embedded | Path::Redis => {
            let url = redis.url();
            let prefix = format!("bench-{clients}-{run}-{}", std::process::id());
            let transport = (path == Path::Redis).then_some((url.as_str(), prefix.as_str()));
            let hub = HubProcess::start(&settings.hub, clients, transport).await?;
            measure::<HubSubscriber, HubPublisher>(
                path,
                clients,
                run,
                settings,
                hub.port(),
                Some(hub.pid()),
            )
            .await
        }
    }
}

/// Subscription tasks, aborted if the case fails half-way.
struct Tasks(Vec<JoinHandle<Outcome>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Opens `clients` subscriptions, `batch` at a time, each batch confirmed before the next.
async fn ramp<S: Subscriber>(
    clients: usize,
    settings: &Settings,
    port: u16,
    epoch: Instant,
    stop: &watch::Receiver<bool>,
) -> Result<Tasks, BenchError> {
    let mut tasks = Tasks(Vec::with_capacity(clients));
    while tasks.0.len() < clients {
        let batch = settings.batch.max(1).min(clients - tasks.0.len());
        let mut readies = Vec::with_capacity(batch);
        for _ in 0..batch {
            let (ready, confirmed) = oneshot::channel();
            let recorder = Recorder::new(epoch, settings.events);
            tasks.0.push(tokio::spawn(subscriber::run::<S>(
                port,
                recorder,
                ready,
                stop.clone(),
            )));
            readies.push(confirmed);
        }
        let opened = tasks.0.len() - batch;
        for (i, confirmed) in readies.into_iter().enumerate() {
            match tokio::time::timeout(Duration::from_secs(30), confirmed).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => {
                    return Err(BenchError::Setup(format!(
                        "subscription {} of {clients} (batch from {opened}): {e}",
                        opened + i + 1
                    )))
                }
                Ok(Err(_)) => return Err(BenchError::Setup("a subscription task died".into())),
                Err(_) => {
                    return Err(BenchError::Timeout(format!(
                        "subscription {} of {clients} not confirmed in 30 s",
                        tasks.0.len()
                    )))
                }
            }
        }
    }
    Ok(tasks)
}

/// Waits for every subscription to finish, stopping them all at `deadline`.
async fn collect(
    mut tasks: Tasks,
    deadline: tokio::time::Instant,
    stop: &watch::Sender<bool>,
) -> (Vec<Recorder>, usize, Option<String>) {
    let mut recorders = Vec::with_capacity(tasks.0.len());
    let mut failed = 0;
    let mut first_error = None;
    for task in &mut tasks.0 {
        let joined = match tokio::time::timeout_at(deadline, &mut *task).await {
            Ok(joined) => joined,
            Err(_) => {
                let _ = stop.send(true);
                task.await
            }
        };
        match joined {
            Ok(outcome) => {
                if let Some(e) = outcome.error {
                    failed += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                }
                recorders.push(outcome.recorder);
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("subscription task: {e}"));
            }
        }
    }
    (recorders, failed, first_error)
}

async fn measure<S: Subscriber, P: Publisher>(
    path: Path,
    clients: usize,
    run: usize,
    settings: &Settings,
    port: u16,
    hub_pid: Option<u32>,
) -> Result<CaseResult, BenchError> {
    let epoch = Instant::now();
    let before = hub_pid.map(vm_rss_kib).transpose()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let tasks = ramp::<S>(clients, settings, port, epoch, &stop_rx).await?;
    tokio::time::sleep(settings.settle).await;
    let after = hub_pid.map(vm_rss_kib).transpose()?;
    let mut publisher = P::connect(port).await?;
    let events =
        u32::try_from(settings.events).map_err(|_| BenchError::Setup("too many events".into()))?;
    let rate = settings
        .rate
        .min(settings.max_deliveries / clients.max(1) as f64);
    let published = publish_all(&mut publisher, epoch, events, rate).await?;
    let deadline = tokio::time::Instant::now() + settings.drain;
    let (recorders, failed, first_error) = collect(tasks, deadline, &stop_tx).await;
    let deliveries = Deliveries::from_recorders(&recorders, settings.events, settings.warmup);
    let span = deliveries
        .last_read_ns
        .saturating_sub(published.first_sent_ns)
        .max(1);
    let mut round_trips = published.round_trips;
    let measured = settings.warmup.min(round_trips.len());
    Ok(CaseResult {
        path,
        clients,
        run,
        rate,
        events_per_sec: deliveries.delivered as f64 * 1e9 / span as f64,
        deliveries,
        publish: summarize(&mut round_trips[measured..]),
        rss_kib: before.zip(after),
        failed: (failed, first_error),
    })
}
