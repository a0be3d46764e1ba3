//! The publisher contract shared by the hub and the Redis floor, and the fixed-rate loop
//! that stamps each event with its send time.

use crate::error::BenchError;
use crate::recorder::{encode, since};
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::time::MissedTickBehavior;

/// A connection that publishes payloads one at a time.
pub trait Publisher: Sized {
    /// Connects to 127.0.0.1:`port`.
    fn connect(port: u16) -> impl Future<Output = Result<Self, BenchError>>;

    /// Publishes `payload` and waits until it was accepted.
    fn publish(&mut self, payload: &str) -> impl Future<Output = Result<(), BenchError>>;
}

/// What the publishing loop measured.
#[derive(Debug, Clone)]
pub struct Published {
    /// Send → accepted time of each publication, in ns.
    pub round_trips: Vec<u64>,
    /// Send time of the first event, in ns after the epoch.
    pub first_sent_ns: u64,
}

/// Publishes `events` payloads at `rate` per second (waiting for each to be accepted; a
/// publication slower than the period delays the next), stamped relative to `epoch`.
pub async fn publish_all<P: Publisher>(
    publisher: &mut P,
    epoch: Instant,
    events: u32,
    rate: f64,
) -> Result<Published, BenchError> {
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut round_trips = Vec::with_capacity(events as usize);
    let mut first_sent_ns = 0;
    for seq in 0..events {
        ticks.tick().await;
        let sent = since(epoch);
        if seq == 0 {
            first_sent_ns = sent;
        }
        publisher.publish(&encode(seq, sent)).await?;
        round_trips.push(since(epoch).saturating_sub(sent));
    }
    Ok(Published {
        round_trips,
        first_sent_ns,
    })
}
