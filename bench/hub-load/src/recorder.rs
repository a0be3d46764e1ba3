//! The event payload (`<seq>_<publish time in ns>`) and what one subscriber records of it:
//! the latency of each sequence number, from the publisher's send to this client's read.

use std::time::Instant;

/// Marks a sequence number not (yet) received.
pub const MISSING: u64 = u64::MAX;

/// The payload of event `seq`, sent `sent_ns` after the run's epoch. Form-safe as is.
#[must_use]
pub fn encode(seq: u32, sent_ns: u64) -> String {
    format!("{seq}_{sent_ns}")
}

/// The sequence number and send time of a payload, if it is one of ours.
#[must_use]
pub fn decode(payload: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (seq, sent) = text.split_once('_')?;
    Some((seq.parse().ok()?, sent.parse().ok()?))
}

/// Nanoseconds from `epoch` to now.
#[must_use]
pub fn since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// One client's receipts.
#[derive(Debug, Clone)]
pub struct Recorder {
    epoch: Instant,
    /// Latency in ns per sequence number, [`MISSING`] if not received.
    pub latencies: Vec<u64>,
    /// Events received (first copies).
    pub received: usize,
    /// Payloads that were not ours, out of range, or duplicates.
    pub unexpected: usize,
    /// When the last event was read, in ns after the epoch.
    pub last_read_ns: u64,
}

impl Recorder {
    /// A recorder expecting sequence numbers `0..events`, timed from `epoch`.
    #[must_use]
    pub fn new(epoch: Instant, events: usize) -> Self {
        Self {
            epoch,
            latencies: vec![MISSING; events],
            received: 0,
            unexpected: 0,
            last_read_ns: 0,
        }
    }

    /// Records a payload read now.
    pub fn record(&mut self, payload: &[u8]) {
        let now = since(self.epoch);
        self.record_at(payload, now);
    }

    /// Records a payload read at `now_ns`.
    pub fn record_at(&mut self, payload: &[u8], now_ns: u64) {
        let Some((seq, sent)) = decode(payload) else {
            self.unexpected += 1;
            return;
        };
        match self.latencies.get_mut(seq as usize) {
            Some(slot) if *slot == MISSING => {
                *slot = now_ns.saturating_sub(sent);
                self.received += 1;
                self.last_read_ns = self.last_read_ns.max(now_ns);
            }
            _ => self.unexpected += 1,
        }
    }

    /// Whether every expected event arrived.
    #[must_use]
    pub fn complete(&self) -> bool {
        self.received == self.latencies.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        assert_eq!(decode(encode(7, 123_456).as_bytes()), Some((7, 123_456)));
        assert_eq!(decode(b"7-123"), None);
        assert_eq!(decode(b"x_1"), None);
        assert_eq!(decode(&[0xff, b'_', b'1']), None);
    }

    #[test]
    fn records_first_copies_in_range() {
        let mut r = Recorder::new(Instant::now(), 2);
        r.record_at(b"1_1000", 1500);
        r.record_at(b"1_1000", 1600);
        r.record_at(b"2_1000", 1700);
        r.record_at(b"hello", 1700);
        assert_eq!(r.latencies, vec![MISSING, 500]);
        assert_eq!((r.received, r.unexpected, r.last_read_ns), (1, 3, 1500));
        assert!(!r.complete());
        r.record_at(b"0_10", 20);
        assert!(r.complete());
    }
}
