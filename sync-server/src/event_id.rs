//! Event ids: `<epoch>-<hi>-<lo>`, an epoch and a position in that epoch's log.
//!
//! The epoch is 1 to 32 lowercase hex digits and changes whenever the log may have lost events.
//! The offset is a pair of integers ordered lexicographically: the embedded transport uses
//! `(sequence, 0)`, the Redis transport the stream entry id `(milliseconds, sequence)`.
//!
//! ```
//! use sync_server::event_id::EventId;
//! let id: EventId = "a1b2-1700000000000-3".parse().unwrap();
//! assert_eq!(id.offset, (1_700_000_000_000, 3));
//! assert_eq!(id.to_string(), "a1b2-1700000000000-3");
//! assert!("a1b2-1-x".parse::<EventId>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

/// The position of an event: its log's epoch and its offset in that log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId {
    /// The log generation, lowercase hex.
    pub epoch: String,
    /// The position inside the epoch; `(0, 0)` is "before the first event".
    pub offset: (u64, u64),
}

impl EventId {
    /// An id in `epoch` at `offset`.
    #[must_use]
    pub fn new(epoch: &str, offset: (u64, u64)) -> Self {
        Self {
            epoch: epoch.to_owned(),
            offset,
        }
    }
}

/// A fresh random epoch: 16 lowercase hex digits.
#[must_use]
pub fn new_epoch() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// Whether `epoch` follows the epoch grammar (1 to 32 lowercase hex digits).
#[must_use]
pub fn is_valid_epoch(epoch: &str) -> bool {
    (1..=32).contains(&epoch.len())
        && epoch
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.epoch, self.offset.0, self.offset.1)
    }
}

/// A string that is not an event id of this hub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an event id of this hub")]
pub struct UnknownEventId;

impl FromStr for EventId {
    type Err = UnknownEventId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.rsplitn(3, '-');
        let lo = parts.next().ok_or(UnknownEventId)?;
        let hi = parts.next().ok_or(UnknownEventId)?;
        let epoch = parts.next().ok_or(UnknownEventId)?;
        let number = |p: &str| {
            if p.is_empty() || p.len() > 20 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UnknownEventId);
            }
            p.parse::<u64>().map_err(|_| UnknownEventId)
        };
        if !is_valid_epoch(epoch) {
            return Err(UnknownEventId);
        }
        Ok(Self {
            epoch: epoch.to_owned(),
            offset: (number(hi)?, number(lo)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let id = EventId::new(&new_epoch(), (42, 0));
        assert_eq!(id.to_string().parse::<EventId>().unwrap(), id);
        for bad in [
            "",
            "abc",
            "x-1-2",
            "ab-1",
            "ab--1-2",
            "AB-1-2",
            "ab-+1-2",
            "ab-1-2\n",
            "ab-99999999999999999999-0",
            "earliest",
        ] {
            assert!(bad.parse::<EventId>().is_err(), "{bad:?}");
        }
    }
}
