//! The persistent side of `RawCache`: loading a namespace's records at start, writing one
//! record per entry with quota handling, and following other tabs through `storage` events.

use crate::error::CacheError;
use crate::raw_cache::{RawCache, STORAGE_PREFIX};
use crate::storage::WriteFailure;
use cache_core::envelope::{decode, encode, Record};
use cache_core::index::Slot;
use cache_core::key::KeySpace;
use cache_core::ttl::clock_ms;
use cache_core::CoreError;
use wasm_bindgen::prelude::*;

/// Accounted size of a record: Web Storage quotas count UTF-16 code units of key and value.
fn record_bytes(storage_key: &str, record: &str) -> u64 {
    2 * (storage_key.encode_utf16().count() + record.encode_utf16().count()) as u64
}

#[wasm_bindgen]
impl RawCache {
    /// Applies a `storage` event from another tab (`key` is `null` after `storage.clear()`).
    /// Keys outside this namespace and version are ignored. The event says which key changed;
    /// its value is read from the storage now, not taken from the event, because events arrive
    /// late: applying an old event's value could bring back an entry removed since.
    #[wasm_bindgen(js_name = applyStorageEvent)]
    pub fn apply_storage_event(&mut self, key: Option<String>, now: f64) {
        if !self.backend.persistent() {
            return;
        }
        let now = clock_ms(now);
        let Some(storage_key) = key else {
            self.index.clear(cache_core::index::EventKind::Remove);
            self.settle_events(false, false);
            self.load(now);
            return;
        };
        let Some((ns, version, user_key)) =
            KeySpace::parse_storage_key(STORAGE_PREFIX, &storage_key)
        else {
            return;
        };
        if ns != self.space.namespace().as_str() || version != self.space.version() {
            return;
        }
        let user_key = user_key.to_owned();
        let current = self.backend.read(&storage_key);
        match current.as_deref().map(decode) {
            None => {
                self.index.remove(&user_key);
            }
            Some(Ok(record)) => {
                let bytes = record_bytes(&storage_key, current.as_deref().unwrap_or_default());
                self.adopt(&user_key, &storage_key, &record, bytes, now);
            }
            Some(Err(_)) => {
                self.index.record_corrupt(1);
                self.index.remove(&user_key);
                self.backend.remove(&storage_key);
            }
        }
        self.settle(true);
    }
}

impl RawCache {
    /// Loads this namespace's records, oldest write first so recency survives a reload.
    /// Records of other versions are removed (a version bump drops them); corrupt, foreign
    /// and old-format records are removed and counted; expired ones are removed.
    pub(crate) fn load(&mut self, now: u64) {
        if !self.backend.persistent() {
            return;
        }
        let meta = self.space.meta_key(STORAGE_PREFIX);
        let mut raws = Vec::new();
        let mut corrupt = 0;
        for storage_key in self
            .backend
            .keys_with_prefix(&self.space.namespace_prefix(STORAGE_PREFIX))
        {
            if storage_key == meta {
                continue;
            }
            match KeySpace::parse_storage_key(STORAGE_PREFIX, &storage_key) {
                Some((_, version, _)) if version == self.space.version() => {
                    if let Some(raw) = self.backend.read(&storage_key) {
                        raws.push((storage_key, raw));
                    }
                }
                Some(_) => self.backend.remove(&storage_key),
                None => {
                    corrupt += 1;
                    self.backend.remove(&storage_key);
                }
            }
        }
        let mut records = Vec::with_capacity(raws.len());
        for (storage_key, raw) in &raws {
            match decode(raw) {
                Ok(record) => {
                    records.push((storage_key.as_str(), record, record_bytes(storage_key, raw)))
                }
                Err(_) => {
                    corrupt += 1;
                    self.backend.remove(storage_key);
                }
            }
        }
        records.sort_by_key(|(_, r, _)| r.written_at);
        for (storage_key, record, bytes) in &records {
            if let Some((_, _, user_key)) = KeySpace::parse_storage_key(STORAGE_PREFIX, storage_key)
            {
                self.adopt(user_key, storage_key, record, *bytes, now);
            }
        }
        self.index.record_corrupt(corrupt);
        self.settle(true);
    }

    /// Takes a record written elsewhere into the index, its JSON kept for the JS side.
    /// `bytes` is the record's accounted size, counted as the writer counted it.
    fn adopt(
        &mut self,
        user_key: &str,
        storage_key: &str,
        record: &Record<'_>,
        bytes: u64,
        now: u64,
    ) {
        if record.expires_at.is_some_and(|e| e <= now) {
            self.index.remove(user_key);
            self.backend.remove(storage_key);
            return;
        }
        match self
            .index
            .insert(user_key, record.expires_at, record.tags.clone(), bytes, now)
        {
            Ok(slot) => {
                self.pending_json.insert(slot, record.value_json.to_owned());
            }
            Err(CoreError::EntryTooLarge { .. }) => {
                // A valid record, written by a page whose `maxBytes` is larger: this page
                // cannot hold it, but it is not corrupt, and the writer may still use it.
                self.index.remove(user_key);
            }
            Err(_) => {
                // Tags or size no valid writer produces: treat as corrupt.
                self.index.record_corrupt(1);
                self.index.remove(user_key);
                self.backend.remove(storage_key);
            }
        }
    }

    /// Writes one record: index first (bounds may evict), then storage. On a full quota,
    /// evicts this namespace's entries (expired first, then least recently used) in one pass
    /// sized to the record, retries once, and otherwise drops the key and reports
    /// `QuotaExceeded`. Other namespaces' and other apps' keys are never touched.
    pub(crate) fn set_persistent(
        &mut self,
        key: &str,
        json: &str,
        expires_at: Option<u64>,
        tags: Vec<String>,
        now: u64,
    ) -> Result<Slot, CacheError> {
        let storage_key = self.space.storage_key(STORAGE_PREFIX, key);
        let record = encode(expires_at, now, &tags, json);
        let bytes = record_bytes(&storage_key, &record);
        let slot = self.index.insert(key, expires_at, tags, bytes, now)?;
        self.pending_json.remove(&slot);
        self.settle(false);
        let failure = match self.backend.write(&storage_key, &record) {
            Ok(()) => return Ok(slot),
            Err(WriteFailure::Quota) => {
                self.index.evict_for_quota(bytes, now, Some(slot));
                self.settle(false);
                match self.backend.write(&storage_key, &record) {
                    Ok(()) => return Ok(slot),
                    Err(WriteFailure::Quota) => CacheError::QuotaExceeded { needed: bytes },
                    Err(WriteFailure::Other(msg)) => CacheError::Storage(msg),
                }
            }
            Err(WriteFailure::Other(msg)) => CacheError::Storage(msg),
        };
        // The write failed: the key must not keep an index entry (or an older record) that
        // claims a value the storage does not hold.
        self.index.remove(key);
        self.settle(false);
        Err(failure)
    }
}
