//! `RawCache`: the wasm half of one cache. The JS `Cache` class (js/cache.js) owns the values
//! and a key → slot map; this side owns everything else (index, TTL, bounds, tags, storage
//! records, statistics) and reports each change as a `(kind, slot)` pair that the JS side
//! drains with `takeEvents`. A cache hit crosses the boundary with numbers only.

use crate::error::CacheError;
use crate::storage::{Backend, MemoryBackend, WebStorage, WebStorageKind};
use cache_core::index::{CacheIndex, EventKind, Limits, Lookup, Slot};
use cache_core::key::{validate_key, KeySpace, Namespace};
use cache_core::message::{Invalidation, Reset, Selector};
use cache_core::ttl::{clock_ms, expiry};
use std::collections::HashMap;
use wasm_bindgen::prelude::*;

/// Prefix of every Web Storage key this package writes.
pub const STORAGE_PREFIX: &str = "cw";

/// Event codes the JS side reads from `takeEvents`, besides the removal kinds of
/// [`EventKind`] (2 remove, 3 invalidate, 4 expire, 5 evict).
pub(crate) mod code {
    /// Written elsewhere (loaded from storage, another tab): take key and JSON.
    pub const SET_EXTERNAL: u32 = 6;
}

/// The wasm half of one cache; see the module documentation.
#[wasm_bindgen]
pub struct RawCache {
    pub(crate) index: CacheIndex,
    pub(crate) space: KeySpace,
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) fallback: bool,
    /// JSON of entries written elsewhere, until the JS side takes it.
    pub(crate) pending_json: HashMap<Slot, String>,
    /// Flat `(code, slot)` pairs not yet taken by the JS side.
    pub(crate) out: Vec<u32>,
}

fn limit(name: &'static str, value: f64) -> Result<Option<u64>, CacheError> {
    if value == f64::INFINITY {
        Ok(None)
    } else if value >= 1.0 && value.is_finite() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(Some(value as u64))
    } else {
        Err(CacheError::InvalidOption {
            name,
            reason: "must be a positive number or Infinity",
        })
    }
}

#[wasm_bindgen]
impl RawCache {
    /// Opens a cache. `storage` is `memory`, `local` or `session`; a Web Storage area that
    /// cannot be used falls back to memory with one console warning.
    #[wasm_bindgen(constructor)]
    pub fn new(
        storage: &str,
        namespace: &str,
        version: u32,
        max_entries: f64,
        max_bytes: f64,
        now: f64,
    ) -> Result<RawCache, JsValue> {
        let limits = Limits {
            max_entries: limit("maxEntries", max_entries)?,
            max_bytes: limit("maxBytes", max_bytes)?,
        };
        let space = KeySpace::new(
            Namespace::parse(namespace).map_err(CacheError::from)?,
            version,
        );
        let kind = match storage {
            "memory" => None,
            "local" => Some(WebStorageKind::Local),
            "session" => Some(WebStorageKind::Session),
            _ => {
                return Err(CacheError::InvalidOption {
                    name: "storage",
                    reason: "must be 'memory', 'local' or 'session'",
                }
                .into())
            }
        };
        let (backend, fallback): (Box<dyn Backend>, bool) = match kind.map(WebStorage::open) {
            None => (Box::new(MemoryBackend), false),
            Some(Ok(web)) => (Box::new(web), false),
            Some(Err(reason)) => {
                let mut warning = String::from("cache-wasm: ");
                for part in [storage, " storage is unusable (", &reason, "); namespace '"] {
                    warning.push_str(part);
                }
                warning.push_str(namespace);
                warning.push_str("' falls back to memory");
                web_sys::console::warn_1(&warning.into());
                (Box::new(MemoryBackend), true)
            }
        };
        let mut cache = RawCache {
            index: CacheIndex::new(limits),
            space,
            backend,
            fallback,
            pending_json: HashMap::new(),
            out: Vec::new(),
        };
        cache.load(clock_ms(now));
        Ok(cache)
    }

    /// Whether entries persist (false for memory and after a fallback).
    #[wasm_bindgen(getter)]
    pub fn persistent(&self) -> bool {
        self.backend.persistent()
    }

    /// The Web Storage prefix of this namespace (`cw:<namespace>:`), for filtering events.
    #[wasm_bindgen(getter, js_name = storagePrefix)]
    pub fn storage_prefix(&self) -> String {
        self.space.namespace_prefix(STORAGE_PREFIX)
    }

    /// Reads `slot` for a `get`: 1 = live hit, 2 = expired (events pending), 0 = miss.
    pub fn lookup(&mut self, slot: u32, now: f64) -> u32 {
        match self.index.lookup(slot, clock_ms(now)) {
            Lookup::Hit => 1,
            Lookup::Expired => {
                self.settle(false);
                2
            }
            Lookup::Missing => 0,
        }
    }

    /// Counts a `get` whose key had no slot.
    #[wasm_bindgen(js_name = recordMiss)]
    pub fn record_miss(&mut self) {
        self.index.record_miss();
    }

    /// Whether `slot` is live, without counting a hit or refreshing recency.
    #[wasm_bindgen(js_name = isLive)]
    pub fn is_live(&mut self, slot: u32, now: f64) -> bool {
        let live = self.index.is_live(slot, clock_ms(now));
        self.settle(false);
        live
    }

    /// Writes `key`. `json` is the value's JSON for persistent storage (ignored for memory);
    /// `bytes` is the JS-side size estimate for memory (persistent storage counts the record).
    pub fn set(
        &mut self,
        key: &str,
        json: Option<String>,
        ttl_ms: f64,
        tags: Option<Vec<String>>,
        bytes: f64,
        now: f64,
    ) -> Result<u32, JsValue> {
        let now = clock_ms(now);
        validate_key(key).map_err(CacheError::from)?;
        let expires_at = expiry(now, ttl_ms).map_err(CacheError::from)?;
        let tags = tags.unwrap_or_default();
        if !self.backend.persistent() {
            let slot = self
                .index
                .insert(key, expires_at, tags, clock_ms(bytes), now)
                .map_err(CacheError::from)?;
            self.pending_json.remove(&slot);
            self.settle(false);
            return Ok(slot);
        }
        let json = json.ok_or(CacheError::InvalidOption {
            name: "value",
            reason: "persistent storage needs the value's JSON",
        })?;
        Ok(self.set_persistent(key, &json, expires_at, tags, now)?)
    }

    /// Rewrites the entry at `slot` (whose key the JS side knows) with no tags: `set` without
    /// passing the key string across. `false` when the slot holds no entry.
    pub fn rewrite(
        &mut self,
        slot: u32,
        json: Option<String>,
        ttl_ms: f64,
        bytes: f64,
        now: f64,
    ) -> Result<bool, JsValue> {
        let now = clock_ms(now);
        let expires_at = expiry(now, ttl_ms).map_err(CacheError::from)?;
        if !self.backend.persistent() {
            let done = self
                .index
                .rewrite(slot, expires_at, clock_ms(bytes), now)
                .map_err(CacheError::from)?;
            self.settle(false);
            return Ok(done);
        }
        let Some(key) = self.index.entry(slot).map(|e| e.key.to_owned()) else {
            return Ok(false);
        };
        let json = json.ok_or(CacheError::InvalidOption {
            name: "value",
            reason: "persistent storage needs the value's JSON",
        })?;
        self.set_persistent(&key, &json, expires_at, Vec::new(), now)?;
        Ok(true)
    }

    /// How many `(code, slot)` pairs wait for `takeEvents`.
    #[wasm_bindgen(js_name = pendingEvents)]
    pub fn pending_events(&self) -> u32 {
        u32::try_from(self.out.len() / 2).unwrap_or(u32::MAX)
    }

    /// Removes `key`; `true` if it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let removed = self.index.remove(key);
        self.settle(false);
        removed
    }

    /// Removes every entry of this namespace.
    pub fn clear(&mut self) {
        self.index.clear(EventKind::Remove);
        self.settle(false);
    }

    /// Drops every entry because continuity was lost (a hub `reset`): like `clear`, but
    /// listeners hear `invalidate` and the statistics count invalidations.
    pub fn reset(&mut self) {
        self.index.clear(EventKind::Invalidate);
        self.settle(false);
    }

    /// Removes the entries named by keys, glob patterns or tags; returns how many.
    pub fn invalidate(
        &mut self,
        keys: Vec<String>,
        patterns: Vec<String>,
        tags: Vec<String>,
    ) -> Result<u32, JsValue> {
        let selector = Selector::parse(&keys, &patterns, &tags).map_err(CacheError::from)?;
        Ok(self.apply_selector(&selector))
    }

    /// Applies a hub invalidation message (its JSON); messages for other namespaces are
    /// ignored. Its keys and patterns name entries by key or by tag, as in every layer
    /// ([`Selector::by_key_or_tag`]). Returns how many entries were removed.
    #[wasm_bindgen(js_name = applyInvalidation)]
    pub fn apply_invalidation(&mut self, json: &str) -> Result<u32, JsValue> {
        let msg = Invalidation::from_json(json).map_err(CacheError::from)?;
        if msg.namespace != *self.space.namespace() {
            return Ok(0);
        }
        Ok(self.apply_selector(&msg.selector.by_key_or_tag()))
    }

    /// Applies a hub reset message (its JSON): drops everything when it names no namespace
    /// or this one. Returns whether it applied.
    #[wasm_bindgen(js_name = applyReset)]
    pub fn apply_reset(&mut self, json: &str) -> Result<bool, JsValue> {
        let reset = Reset::from_json(json).map_err(CacheError::from)?;
        let applies = reset
            .ns
            .as_deref()
            .is_none_or(|ns| ns == self.space.namespace().as_str());
        if applies {
            self.reset();
        }
        Ok(applies)
    }

    /// Removes every expired entry now; returns how many.
    #[wasm_bindgen(js_name = purgeExpired)]
    pub fn purge_expired(&mut self, now: f64) -> u32 {
        let n = self.index.purge_expired(clock_ms(now));
        self.settle(false);
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Live keys, most recently used first.
    pub fn keys(&self, now: f64) -> Vec<String> {
        self.index
            .live_keys(clock_ms(now))
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The key at `slot`.
    #[wasm_bindgen(js_name = keyOf)]
    pub fn key_of(&self, slot: u32) -> Option<String> {
        self.index.entry(slot).map(|e| e.key.to_owned())
    }

    /// Takes the JSON of an entry written elsewhere (see `SET_EXTERNAL`).
    #[wasm_bindgen(js_name = takeJson)]
    pub fn take_json(&mut self, slot: u32) -> Option<String> {
        self.pending_json.remove(&slot)
    }

    /// Takes the `(code, slot)` pairs recorded since the last call.
    #[wasm_bindgen(js_name = takeEvents)]
    pub fn take_events(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.out)
    }

    /// Starts a `getOrSet` load of `key`; the ticket goes to `finishLoad`. The key and the
    /// TTL the result will be stored with are checked first, so a bad option is an error
    /// before the loader runs rather than a loaded value that cannot be kept.
    #[wasm_bindgen(js_name = beginLoad)]
    pub fn begin_load(
        &mut self,
        key: &str,
        tags: Option<Vec<String>>,
        ttl_ms: f64,
    ) -> Result<u32, JsValue> {
        validate_key(key).map_err(CacheError::from)?;
        expiry(0, ttl_ms).map_err(CacheError::from)?;
        Ok(self.index.begin_load(key, &tags.unwrap_or_default()))
    }

    /// Whether a load may still be shared: running, and its key untouched since it began.
    #[wasm_bindgen(js_name = loadIsFresh)]
    pub fn load_is_fresh(&self, ticket: u32) -> bool {
        self.index.load_is_fresh(ticket)
    }

    /// Ends a load: `true` when its result may be stored as fresh.
    #[wasm_bindgen(js_name = finishLoad)]
    pub fn finish_load(&mut self, ticket: u32) -> bool {
        self.index.finish_load(ticket)
    }

    /// Statistics: hits, misses, hitRate, entries, bytes, expired, evictions,
    /// quotaEvictions, corrupt, invalidated, fallback.
    pub fn stats(&self) -> js_sys::Object {
        let s = self.index.snapshot(self.fallback);
        let obj = js_sys::Object::new();
        #[allow(clippy::cast_precision_loss)] // counters stay far below 2^53
        let fields: [(&str, JsValue); 11] = [
            ("hits", (s.hits as f64).into()),
            ("misses", (s.misses as f64).into()),
            ("hitRate", s.hit_rate.into()),
            ("entries", (s.entries as f64).into()),
            ("bytes", (s.bytes as f64).into()),
            ("expired", (s.expired as f64).into()),
            ("evictions", (s.evictions as f64).into()),
            ("quotaEvictions", (s.quota_evictions as f64).into()),
            ("corrupt", (s.corrupt as f64).into()),
            ("invalidated", (s.invalidated as f64).into()),
            ("fallback", s.fallback.into()),
        ];
        for (name, value) in fields {
            // Defining a property on a fresh plain object cannot fail.
            let _ = js_sys::Reflect::set(&obj, &name.into(), &value);
        }
        obj
    }
}

impl RawCache {
    fn apply_selector(&mut self, selector: &Selector) -> u32 {
        let n = self.index.invalidate(selector);
        self.settle(false);
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Mirrors the index's events: removed entries leave the storage, and removals and
    /// `external` writes (whose value the JS side must take) are queued for the JS side. The
    /// JS side's own writes are not queued: it already knows them.
    pub(crate) fn settle(&mut self, external: bool) {
        self.settle_events(external, true);
    }

    /// [`Self::settle`], leaving the storage alone when `remove_records` is false: after
    /// another tab cleared the whole storage, the records are gone already, and any found
    /// there now were written since by someone else.
    pub(crate) fn settle_events(&mut self, external: bool, remove_records: bool) {
        for event in self.index.drain_events() {
            let code = if event.kind.removes() {
                self.pending_json.remove(&event.slot);
                if remove_records && self.backend.persistent() {
                    self.backend
                        .remove(&self.space.storage_key(STORAGE_PREFIX, &event.key));
                }
                event.kind as u32
            } else if external {
                code::SET_EXTERNAL
            } else {
                continue;
            };
            self.out.extend([code, event.slot]);
        }
    }
}
