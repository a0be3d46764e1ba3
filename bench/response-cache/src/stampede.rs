//! `get_or_set` under a stampede: many concurrent callers on one cold key, the loader's
//! calls counted, each caller's latency recorded.

use crate::error::BenchError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use sync_server::cache::{CacheError, RedisCache};
use tokio::sync::Barrier;

/// The stampede's settings.
#[derive(Debug, Clone)]
pub struct StampedeSettings {
    /// Concurrent callers per stampede. Default 200.
    pub callers: usize,
    /// Stampedes, each on a fresh key. Default 5.
    pub rounds: usize,
    /// How long the loader takes (a slow query). Default 100 ms.
    pub loader_time: Duration,
}

/// What the stampedes measured.
#[derive(Debug, Clone)]
pub struct StampedeReport {
    /// Loader calls, per stampede.
    pub loads: Vec<usize>,
    /// Every caller's time in `get_or_set`, every stampede, sorted.
    pub latencies: Vec<Duration>,
}

/// Runs `settings.rounds` stampedes against `cache` (a cache built as in
/// `sync-server/tests/cache.rs`), each on a fresh key; an error if a caller fails or gets a
/// value other than its stampede's loader's.
pub async fn run(
    cache: &RedisCache,
    settings: &StampedeSettings,
) -> Result<StampedeReport, BenchError> {
    let mut loads = Vec::with_capacity(settings.rounds);
    let mut latencies = Vec::with_capacity(settings.rounds * settings.callers);
    for round in 0..settings.rounds {
        let (count, mut times) = one(cache, settings, &format!("cold:{round}")).await?;
        loads.push(count);
        latencies.append(&mut times);
    }
    latencies.sort_unstable();
    Ok(StampedeReport { loads, latencies })
}

/// One stampede on `key`: loader calls and the callers' latencies.
async fn one(
    cache: &RedisCache,
    settings: &StampedeSettings,
    key: &str,
) -> Result<(usize, Vec<Duration>), BenchError> {
    let calls = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(settings.callers));
    let expected = format!("loaded {key}").into_bytes();
    let tasks: Vec<_> = (0..settings.callers)
        .map(|_| {
            let (cache, calls, start) = (cache.clone(), calls.clone(), start.clone());
            let (key, value, delay) = (key.to_owned(), expected.clone(), settings.loader_time);
            tokio::spawn(async move {
                start.wait().await;
                let began = Instant::now();
                let got = cache
                    .get_or_set(&key, Some(Duration::from_secs(60)), || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(delay).await;
                        Ok::<_, CacheError>(value)
                    })
                    .await;
                (got, began.elapsed())
            })
        })
        .collect();
    let mut times = Vec::with_capacity(settings.callers);
    for task in tasks {
        let (got, elapsed) = task
            .await
            .map_err(|e| BenchError::Invalid(format!("a stampede caller panicked: {e}")))?;
        if got? != expected {
            return Err(BenchError::Invalid(format!(
                "a caller of {key} got another value than the loader's"
            )));
        }
        times.push(elapsed);
    }
    Ok((calls.load(Ordering::SeqCst), times))
}

/// The nearest-rank percentile `p` (0–100) of `sorted`; zero when empty.
#[must_use]
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms: Vec<_> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&ms, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&ms, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&ms[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
