//! The cache index: which keys exist, when they expire, how recently they were used, their
//! tags and sizes. It holds no values: the browser keeps values on the JS side, addressed by
//! the numeric [`Slot`] the index hands out, so a cache hit crosses into wasm with numbers
//! only.
//!
//! Time is passed in (`now`, milliseconds of the caller's clock), so tests advance a number
//! instead of sleeping. An entry is live while `now < expires_at`; none is ever reported live
//! after its expiry.
//!
//! Every change is recorded as an [`Event`]; the owner drains them with
//! [`CacheIndex::drain_events`] to mirror removals into its storage and tell listeners. A slot
//! freed by a removal is not reused before the next drain, so an event's slot always names the
//! entry it was about.
//!
//! ```
//! use cache_core::index::{CacheIndex, Limits, Lookup};
//! let mut index = CacheIndex::new(Limits::default());
//! let slot = index.insert("product:42", Some(1_000), vec!["catalog".into()], 10, 0).unwrap();
//! assert_eq!(index.lookup(slot, 999), Lookup::Hit);
//! assert_eq!(index.lookup(slot, 1_000), Lookup::Expired);
//! ```

mod inflight;
mod lru;
#[cfg(test)]
mod tests;

use crate::key::validate_key;
use crate::message::{validate_tag, Selector, MAX_TAGS_PER_ENTRY};
use crate::stats::{Counters, Snapshot};
use crate::CoreError;
use inflight::Inflight;
pub use inflight::LoadTicket;
use lru::LruList;
use std::collections::{BTreeSet, HashMap, HashSet};

/// A numeric handle for one entry, stable while the entry lives.
pub type Slot = u32;

/// What happened to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventKind {
    /// Written (new or replaced).
    Set = 1,
    /// Removed on request (`remove`, `clear`).
    Remove = 2,
    /// Removed by an invalidation or reset.
    Invalidate = 3,
    /// Removed because its TTL ran out.
    Expire = 4,
    /// Removed to respect a bound or the storage quota.
    Evict = 5,
}

impl EventKind {
    /// The lower-case name listeners see: `set`, `remove`, `invalidate`, `expire`, `evict`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Set => "set",
            Self::Remove => "remove",
            Self::Invalidate => "invalidate",
            Self::Expire => "expire",
            Self::Evict => "evict",
        }
    }

    /// Whether the entry is gone after this event.
    #[must_use]
    pub fn removes(self) -> bool {
        self != Self::Set
    }
}

/// One change to the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The entry's slot.
    pub slot: Slot,
    /// The entry's key.
    pub key: String,
}

/// Bounds on the index. Default: unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Most entries; `None` for no bound.
    pub max_entries: Option<u64>,
    /// Most accounted bytes; `None` for no bound.
    pub max_bytes: Option<u64>,
}

/// The outcome of [`CacheIndex::lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Live; its recency was refreshed.
    Hit,
    /// It had expired and is now removed.
    Expired,
    /// No entry at that slot.
    Missing,
}

/// A read-only view of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryView<'a> {
    /// The key.
    pub key: &'a str,
    /// Absolute expiry, `None` for never.
    pub expires_at: Option<u64>,
    /// Tags.
    pub tags: &'a [String],
    /// Accounted size.
    pub bytes: u64,
}

#[derive(Debug)]
struct Entry {
    key: String,
    expires_at: Option<u64>,
    tags: Vec<String>,
    bytes: u64,
}

/// The index of one cache. See the [module documentation](self).
#[derive(Debug, Default)]
pub struct CacheIndex {
    entries: Vec<Option<Entry>>,
    free: Vec<Slot>,
    released: Vec<Slot>,
    by_key: HashMap<String, Slot>,
    lru: LruList,
    expiries: BTreeSet<(u64, Slot)>,
    by_tag: HashMap<String, HashSet<Slot>>,
    bytes: u64,
    limits: Limits,
    counters: Counters,
    events: Vec<Event>,
    inflight: Inflight,
}

impl CacheIndex {
    /// An empty index with these bounds.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Changes the bounds, evicting at once what no longer fits.
    pub fn set_limits(&mut self, limits: Limits, now: u64) {
        self.limits = limits;
        self.enforce_bounds(now, None);
    }

    /// Number of entries, expired ones not yet purged included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Accounted bytes of all entries.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The running counters.
    #[must_use]
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Counts persisted records found corrupt and removed by the owner.
    pub fn record_corrupt(&mut self, n: u64) {
        self.counters.corrupt += n;
    }

    /// Counts a lookup that found no slot for its key.
    pub fn record_miss(&mut self) {
        self.counters.misses += 1;
    }

    /// Counters and sizes as `stats()` reports them.
    #[must_use]
    pub fn snapshot(&self, fallback: bool) -> Snapshot {
        self.counters
            .snapshot(self.len() as u64, self.bytes, fallback)
    }

    /// The slot of `key`, live or not.
    #[must_use]
    pub fn slot_of(&self, key: &str) -> Option<Slot> {
        self.by_key.get(key).copied()
    }

    /// The entry at `slot`, live or not; `None` for a free or unknown slot.
    #[must_use]
    pub fn entry(&self, slot: Slot) -> Option<EntryView<'_>> {
        let e = self.entries.get(slot as usize)?.as_ref()?;
        Some(EntryView {
            key: &e.key,
            expires_at: e.expires_at,
            tags: &e.tags,
            bytes: e.bytes,
        })
    }

    /// Looks an entry up for reading: counts a hit or a miss, refreshes its recency, and
    /// removes it if it has expired. Unknown slots (from a confused caller) are misses.
    pub fn lookup(&mut self, slot: Slot, now: u64) -> Lookup {
        let expires_at = match self.entries.get(slot as usize) {
            Some(Some(e)) => e.expires_at,
            _ => {
                self.counters.misses += 1;
                return Lookup::Missing;
            }
        };
        if expires_at.is_some_and(|e| e <= now) {
            self.counters.misses += 1;
            self.expire(slot);
            Lookup::Expired
        } else {
            self.counters.hits += 1;
            self.lru.touch(slot);
            Lookup::Hit
        }
    }

    /// Whether `slot` holds a live entry, without counting or refreshing recency. An expired
    /// entry found this way is removed.
    pub fn is_live(&mut self, slot: Slot, now: u64) -> bool {
        match self.entry(slot).map(|e| e.expires_at) {
            Some(Some(e)) if e <= now => {
                self.expire(slot);
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    /// Inserts or replaces `key`. Evicts (expired entries first, then the least recently used)
    /// to stay within the bounds; never evicts the entry being written. A replaced entry keeps
    /// its slot. Fails, changing nothing, on a bad key or tag or an entry larger than
    /// `max_bytes`.
    pub fn insert(
        &mut self,
        key: &str,
        expires_at: Option<u64>,
        mut tags: Vec<String>,
        bytes: u64,
        now: u64,
    ) -> Result<Slot, CoreError> {
        validate_key(key)?;
        if tags.len() > MAX_TAGS_PER_ENTRY {
            return Err(CoreError::InvalidTag("at most 32 tags per entry"));
        }
        tags.iter().try_for_each(|t| validate_tag(t))?;
        // At most 32 tags: a quadratic dedup is cheaper in code size than a sort.
        let mut i = 0;
        while i < tags.len() {
            if tags[..i].contains(&tags[i]) {
                tags.swap_remove(i);
            } else {
                i += 1;
            }
        }
        if let Some(max) = self.limits.max_bytes.filter(|max| bytes > *max) {
            return Err(CoreError::EntryTooLarge { bytes, max });
        }
        if !self.inflight.is_empty() {
            self.inflight.mark_key(key);
        }
        let slot = match self.by_key.get(key) {
            Some(&slot) => {
                self.detach_metadata(slot);
                self.lru.touch(slot);
                slot
            }
            None => {
                let slot = self.allocate();
                self.by_key.insert(key.to_owned(), slot);
                self.lru.push_front(slot);
                slot
            }
        };
        self.events.push(Event {
            kind: EventKind::Set,
            slot,
            key: key.to_owned(),
        });
        self.attach_metadata(slot, key.to_owned(), expires_at, tags, bytes);
        self.enforce_bounds(now, Some(slot));
        Ok(slot)
    }

    /// Rewrites the live or expired entry at `slot` in place with a new expiry and size and no
    /// tags: `insert` for a key whose slot the caller already knows, without hashing the key.
    /// Returns `Ok(false)` for a free or unknown slot.
    pub fn rewrite(
        &mut self,
        slot: Slot,
        expires_at: Option<u64>,
        bytes: u64,
        now: u64,
    ) -> Result<bool, CoreError> {
        if let Some(max) = self.limits.max_bytes.filter(|max| bytes > *max) {
            return Err(CoreError::EntryTooLarge { bytes, max });
        }
        let Some(entry) = self.detach_metadata(slot) else {
            return Ok(false);
        };
        if !self.inflight.is_empty() {
            self.inflight.mark_key(&entry.key);
        }
        self.lru.touch(slot);
        self.events.push(Event {
            kind: EventKind::Set,
            slot,
            key: entry.key.clone(),
        });
        self.attach_metadata(slot, entry.key, expires_at, Vec::new(), bytes);
        self.enforce_bounds(now, Some(slot));
        Ok(true)
    }

    /// Removes `key`; `true` if it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        if !self.inflight.is_empty() {
            self.inflight.mark_key(key);
        }
        match self.by_key.get(key) {
            Some(&slot) => {
                self.remove_slot(slot, EventKind::Remove);
                true
            }
            None => false,
        }
    }

    /// Removes every entry the selector names, and marks matching loads in progress stale.
    /// Returns how many entries were removed.
    pub fn invalidate(&mut self, selector: &Selector) -> usize {
        self.inflight.mark_selected(selector);
        let mut victims: HashSet<Slot> = HashSet::new();
        victims.extend(selector.keys.iter().filter_map(|k| self.slot_of(k)));
        for pattern in &selector.patterns {
            match pattern.literal() {
                Some(key) => victims.extend(self.slot_of(&key)),
                None => victims.extend(
                    self.by_key
                        .iter()
                        .filter(|(k, _)| pattern.matches(k))
                        .map(|(_, s)| *s),
                ),
            }
        }
        for tag in &selector.tags {
            if let Some(slots) = self.by_tag.get(tag) {
                victims.extend(slots.iter().copied());
            }
        }
        for pattern in &selector.tag_patterns {
            for (tag, slots) in &self.by_tag {
                if pattern.matches(tag) {
                    victims.extend(slots.iter().copied());
                }
            }
        }
        let n = victims.len();
        let mut victims: Vec<Slot> = victims.into_iter().collect();
        victims.sort_unstable();
        for slot in victims {
            self.remove_slot(slot, EventKind::Invalidate);
        }
        self.counters.invalidated += n as u64;
        n
    }

    /// Removes every entry with events of `kind` (`Remove` for `clear`, `Invalidate` for a
    /// reset), and marks every load in progress stale.
    pub fn clear(&mut self, kind: EventKind) {
        self.inflight.mark_all();
        let slots: Vec<Slot> = self.lru.iter().collect();
        if kind == EventKind::Invalidate {
            self.counters.invalidated += slots.len() as u64;
        }
        for slot in slots {
            self.remove_slot(slot, kind);
        }
    }

    /// Removes every expired entry; returns how many.
    pub fn purge_expired(&mut self, now: u64) -> usize {
        let mut n = 0;
        while let Some(&(e, slot)) = self.expiries.first() {
            if e > now {
                break;
            }
            self.expire(slot);
            n += 1;
        }
        n
    }

    /// Frees at least `needed` accounted bytes after the storage reported its quota full:
    /// expired entries first, then the least recently used, never `protect`. Returns the bytes
    /// freed, which is less than `needed` only when nothing else is left.
    pub fn evict_for_quota(&mut self, needed: u64, now: u64, protect: Option<Slot>) -> u64 {
        let mut freed = 0;
        while freed < needed {
            let Some((slot, expired)) = self.next_victim(now, protect) else {
                break;
            };
            freed += self.entry(slot).map_or(0, |e| e.bytes);
            if expired {
                self.expire(slot);
            } else {
                self.counters.quota_evictions += 1;
                self.remove_slot(slot, EventKind::Evict);
            }
        }
        freed
    }

    /// Live keys, most recently used first.
    #[must_use]
    pub fn live_keys(&self, now: u64) -> Vec<&str> {
        self.lru
            .iter()
            .filter_map(|slot| self.entry(slot))
            .filter(|e| e.expires_at.is_none_or(|x| x > now))
            .map(|e| e.key)
            .collect()
    }

    /// Takes the events recorded since the last drain, and makes the slots they freed
    /// reusable.
    pub fn drain_events(&mut self) -> Vec<Event> {
        self.free.append(&mut self.released);
        std::mem::take(&mut self.events)
    }

    /// Starts a load of `key` (for `getOrSet`); the ticket goes to [`Self::finish_load`].
    pub fn begin_load(&mut self, key: &str, tags: &[String]) -> LoadTicket {
        self.inflight.begin(key, tags)
    }

    /// Ends a load: `true` when no invalidation, removal, write or clear touched its key
    /// meanwhile, so its result may be stored as fresh.
    pub fn finish_load(&mut self, ticket: LoadTicket) -> bool {
        self.inflight.finish(ticket)
    }

    /// Whether the load is still running and nothing has touched its key since it began: a
    /// new caller may share its result.
    #[must_use]
    pub fn load_is_fresh(&self, ticket: LoadTicket) -> bool {
        self.inflight.is_fresh(ticket)
    }

    fn allocate(&mut self) -> Slot {
        if let Some(slot) = self.free.pop() {
            return slot;
        }
        let slot = Slot::try_from(self.entries.len()).unwrap_or(Slot::MAX - 1);
        self.entries.push(None);
        self.lru.ensure(self.entries.len());
        slot
    }

    fn attach_metadata(
        &mut self,
        slot: Slot,
        key: String,
        expires_at: Option<u64>,
        tags: Vec<String>,
        bytes: u64,
    ) {
        if let Some(e) = expires_at {
            self.expiries.insert((e, slot));
        }
        for tag in &tags {
            self.by_tag.entry(tag.clone()).or_default().insert(slot);
        }
        self.bytes += bytes;
        self.entries[slot as usize] = Some(Entry {
            key,
            expires_at,
            tags,
            bytes,
        });
    }

    /// Takes the entry at `slot` out of the expiry and tag indexes and the byte count.
    fn detach_metadata(&mut self, slot: Slot) -> Option<Entry> {
        let entry = self.entries.get_mut(slot as usize)?.take()?;
        if let Some(e) = entry.expires_at {
            self.expiries.remove(&(e, slot));
        }
        for tag in &entry.tags {
            if let Some(set) = self.by_tag.get_mut(tag) {
                set.remove(&slot);
                if set.is_empty() {
                    self.by_tag.remove(tag);
                }
            }
        }
        self.bytes -= entry.bytes;
        Some(entry)
    }

    fn remove_slot(&mut self, slot: Slot, kind: EventKind) {
        let Some(entry) = self.detach_metadata(slot) else {
            return;
        };
        self.by_key.remove(&entry.key);
        self.lru.unlink(slot);
        self.released.push(slot);
        self.events.push(Event {
            kind,
            slot,
            key: entry.key,
        });
    }

    fn expire(&mut self, slot: Slot) {
        self.counters.expired += 1;
        self.remove_slot(slot, EventKind::Expire);
    }

    fn over_bounds(&self) -> bool {
        self.limits
            .max_entries
            .is_some_and(|max| self.len() as u64 > max)
            || self.limits.max_bytes.is_some_and(|max| self.bytes > max)
    }

    /// The next entry to evict: an expired one if any, else the least recently used.
    fn next_victim(&self, now: u64, protect: Option<Slot>) -> Option<(Slot, bool)> {
        let expired = self
            .expiries
            .iter()
            .take_while(|(e, _)| *e <= now)
            .map(|(_, s)| *s)
            .find(|s| Some(*s) != protect);
        if let Some(slot) = expired {
            return Some((slot, true));
        }
        let mut at = self.lru.back();
        while let Some(slot) = at {
            if Some(slot) != protect {
                return Some((slot, false));
            }
            at = self.lru.newer(slot);
        }
        None
    }

    fn enforce_bounds(&mut self, now: u64, protect: Option<Slot>) {
        while self.over_bounds() {
            let Some((slot, expired)) = self.next_victim(now, protect) else {
                break;
            };
            if expired {
                self.expire(slot);
            } else {
                self.counters.evictions += 1;
                self.remove_slot(slot, EventKind::Evict);
            }
        }
    }
}
