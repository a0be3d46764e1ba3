//! Counters every cache keeps, and the snapshot `stats()` returns.

/// Running counters. All start at zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Lookups that returned a live entry.
    pub hits: u64,
    /// Lookups that found nothing live (absent or expired).
    pub misses: u64,
    /// Entries dropped because their TTL ran out.
    pub expired: u64,
    /// Entries dropped to respect `maxEntries` / `maxBytes`.
    pub evictions: u64,
    /// Entries dropped to make room after the storage reported its quota full.
    pub quota_evictions: u64,
    /// Persisted records that were corrupt, foreign or of another format, and were removed.
    pub corrupt: u64,
    /// Entries dropped by invalidations and resets.
    pub invalidated: u64,
}

/// What `stats()` reports: the counters plus the current size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// See [`Counters::hits`].
    pub hits: u64,
    /// See [`Counters::misses`].
    pub misses: u64,
    /// `hits / (hits + misses)`, 0 before the first lookup.
    pub hit_rate: f64,
    /// Live entries (expired ones not yet purged included).
    pub entries: u64,
    /// Accounted bytes of all entries.
    pub bytes: u64,
    /// See [`Counters::expired`].
    pub expired: u64,
    /// See [`Counters::evictions`].
    pub evictions: u64,
    /// See [`Counters::quota_evictions`].
    pub quota_evictions: u64,
    /// See [`Counters::corrupt`].
    pub corrupt: u64,
    /// See [`Counters::invalidated`].
    pub invalidated: u64,
    /// Whether the cache fell back to memory because its storage was unusable.
    pub fallback: bool,
}

impl Counters {
    /// The snapshot for these counters and sizes.
    #[must_use]
    pub fn snapshot(&self, entries: u64, bytes: u64, fallback: bool) -> Snapshot {
        let lookups = self.hits + self.misses;
        #[allow(clippy::cast_precision_loss)] // counters stay far below 2^52
        let hit_rate = if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        };
        Snapshot {
            hits: self.hits,
            misses: self.misses,
            hit_rate,
            entries,
            bytes,
            expired: self.expired,
            evictions: self.evictions,
            quota_evictions: self.quota_evictions,
            corrupt: self.corrupt,
            invalidated: self.invalidated,
            fallback,
        }
    }
}
