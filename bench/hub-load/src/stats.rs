//! Percentiles, and the figures of one case computed from every subscriber's receipts.

use crate::recorder::{Recorder, MISSING};

/// p50, p99 and max of a set of durations, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Median (nearest rank).
    pub p50: u64,
    /// 99th percentile (nearest rank).
    pub p99: u64,
    /// Largest value.
    pub max: u64,
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of sorted `values`; `None` if empty.
#[must_use]
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    // Nearest rank: the smallest value with at least p % of the values at or below it.
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Sorts `values` and summarizes them; `None` if empty.
#[must_use]
pub fn summarize(values: &mut [u64]) -> Option<Summary> {
    values.sort_unstable();
    Some(Summary {
        p50: percentile(values, 50.0)?,
        p99: percentile(values, 99.0)?,
        max: *values.last()?,
    })
}

/// Latency figures of one case.
#[derive(Debug, Clone, Copy)]
pub struct Deliveries {
    /// Over every (client, measured event) delivery.
    pub per_client: Option<Summary>,
    /// Over measured events that every client received, each taken at its slowest client
    /// (when the last client had it).
    pub last_client: Option<Summary>,
    /// Events delivered, warm-up included.
    pub delivered: u64,
    /// Events expected (clients × events, warm-up included).
    pub expected: u64,
    /// Payloads that were not expected (duplicates, foreign data).
    pub unexpected: u64,
    /// When the last event was read, in ns after the epoch.
    pub last_read_ns: u64,
}

impl Deliveries {
    /// Computes the figures; sequence numbers below `warmup` count for losses only.
    #[must_use]
    pub fn from_recorders(recorders: &[Recorder], events: usize, warmup: usize) -> Self {
        let measured = events.saturating_sub(warmup);
        let mut all = Vec::with_capacity(recorders.len() * measured);
        let mut slowest = vec![0u64; measured];
        let mut receivers = vec![0usize; measured];
        let mut delivered = 0;
        let mut unexpected = 0;
        let mut last_read_ns = 0;
        for r in recorders {
            delivered += r.received as u64;
            unexpected += r.unexpected as u64;
            last_read_ns = last_read_ns.max(r.last_read_ns);
            for (i, &latency) in r.latencies.iter().enumerate().skip(warmup) {
                if latency != MISSING {
                    all.push(latency);
                    slowest[i - warmup] = slowest[i - warmup].max(latency);
                    receivers[i - warmup] += 1;
                }
            }
        }
        let mut complete: Vec<u64> = slowest
            .into_iter()
            .zip(receivers)
            .filter(|&(_, n)| n == recorders.len())
            .map(|(latency, _)| latency)
            .collect();
        Self {
            per_client: summarize(&mut all),
            last_client: summarize(&mut complete),
            delivered,
            expected: (recorders.len() * events) as u64,
            unexpected,
            last_read_ns,
        }
    }

    /// Events not delivered.
    #[must_use]
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 99.0), Some(99));
        assert_eq!(percentile(&values, 100.0), Some(100));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[1, 2, 3], 50.0), Some(2));
        assert_eq!(percentile(&[], 50.0), None);
        let mut shuffled = vec![5, 1, 4, 2, 3];
        assert_eq!(
            summarize(&mut shuffled),
            Some(Summary {
                p50: 3,
                p99: 5,
                max: 5
            })
        );
    }

    #[test]
    fn last_client_is_the_slowest_per_event_and_warmup_is_skipped() {
        let epoch = Instant::now();
        let mut a = Recorder::new(epoch, 3);
        let mut b = Recorder::new(epoch, 3);
        a.record_at(b"0_0", 1_000);
        a.record_at(b"1_0", 10);
        a.record_at(b"2_0", 40);
        b.record_at(b"1_0", 30);
        let d = Deliveries::from_recorders(&[a, b], 3, 1);
        assert_eq!((d.delivered, d.expected, d.lost()), (4, 6, 2));
        assert_eq!(
            d.per_client,
            Some(Summary {
                p50: 30,
                p99: 40,
                max: 40
            })
        );
        // Event 2 did not reach b: no last-client figure for it.
        assert_eq!(
            d.last_client,
            Some(Summary {
                p50: 30,
                p99: 30,
                max: 30
            })
        );
        assert_eq!(d.last_read_ns, 1_000);
    }
}
