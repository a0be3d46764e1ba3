//! Per-client-address connection counting (answering 429 past the limit).

use crate::error::HubError;
use prometheus_client::metrics::gauge::Gauge;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Counts open streams per client address. Default limit: see [`crate::config::Limits`].
#[derive(Debug)]
pub struct ConnectionLimiter {
    max: usize,
    open: Mutex<HashMap<Option<IpAddr>, usize>>,
}

/// One counted connection; dropping it releases the slot.
#[derive(Debug)]
pub struct ConnectionGuard {
    limiter: Arc<ConnectionLimiter>,
    address: Option<IpAddr>,
    gauge: Gauge,
}

impl ConnectionLimiter {
    /// A limiter allowing `max` open streams per address.
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self {
            max,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a slot for `address` (unknown addresses share one bucket), or answers 429.
    pub fn acquire(
        self: &Arc<Self>,
        address: Option<IpAddr>,
        gauge: &Gauge,
    ) -> Result<ConnectionGuard, HubError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(address).or_insert(0);
        if *count >= self.max {
            return Err(HubError::TooManyConnections(format!(
                "at most {} connections per client address",
                self.max
            )));
        }
        *count += 1;
        gauge.inc();
        Ok(ConnectionGuard {
            limiter: Arc::clone(self),
            address,
            gauge: gauge.clone(),
        })
    }

    /// Open streams of `address`.
    #[must_use]
    pub fn open(&self, address: Option<IpAddr>) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&address).copied().unwrap_or(0)
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.gauge.dec();
        let mut open = self
            .limiter
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_slots_on_drop() {
        let limiter = Arc::new(ConnectionLimiter::new(2));
        let gauge = Gauge::default();
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        let a = limiter.acquire(ip, &gauge).unwrap();
        let _b = limiter.acquire(ip, &gauge).unwrap();
        assert!(matches!(
            limiter.acquire(ip, &gauge),
            Err(HubError::TooManyConnections(_))
        ));
        assert!(limiter
            .acquire(Some(IpAddr::from([10, 0, 0, 2])), &gauge)
            .is_ok());
        drop(a);
        assert_eq!(limiter.open(ip), 1);
        assert!(limiter.acquire(ip, &gauge).is_ok());
        assert_eq!(gauge.get(), 1);
    }
}
