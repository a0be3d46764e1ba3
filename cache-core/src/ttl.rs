//! TTL arithmetic: turning a JS-style TTL (milliseconds, possibly `Infinity`) into an
//! absolute expiry on the caller's clock.

use crate::CoreError;

/// The expiry of an entry written at `now` with `ttl_ms` to live: `None` (never) for
/// `Infinity`, `now + ttl_ms` (rounded up, saturating) for a positive finite TTL.
/// Zero, negative and NaN TTLs are errors: an entry that is dead on arrival is a bug.
///
/// ```
/// use cache_core::ttl::expiry;
/// assert_eq!(expiry(1_000, 500.0), Ok(Some(1_500)));
/// assert_eq!(expiry(1_000, f64::INFINITY), Ok(None));
/// assert!(expiry(1_000, 0.0).is_err());
/// ```
pub fn expiry(now: u64, ttl_ms: f64) -> Result<Option<u64>, CoreError> {
    if ttl_ms == f64::INFINITY {
        return Ok(None);
    }
    if ttl_ms.is_nan() || ttl_ms <= 0.0 || !ttl_ms.is_finite() {
        return Err(CoreError::InvalidTtl);
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // positive, saturating
    let ttl = ttl_ms.ceil() as u64;
    Ok(Some(now.saturating_add(ttl)))
}

/// Converts a JS clock reading (milliseconds, a double) to the index's `u64` clock. Negative
/// and NaN readings count as 0.
#[must_use]
pub fn clock_ms(now: f64) -> u64 {
    if now > 0.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ms = now.floor() as u64;
        ms
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ttls() {
        for bad in [0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
            assert_eq!(expiry(0, bad), Err(CoreError::InvalidTtl), "{bad}");
        }
        assert_eq!(expiry(u64::MAX - 1, 10.0), Ok(Some(u64::MAX)));
        assert_eq!(expiry(0, 0.2), Ok(Some(1)));
        assert_eq!(clock_ms(f64::NAN), 0);
        assert_eq!(clock_ms(12.9), 12);
    }
}
