use super::*;
use proptest::prelude::*;

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn hit_miss_and_expiry_boundary() {
    let mut ix = CacheIndex::new(Limits::default());
    let s = ix.insert("a", Some(100), vec![], 1, 0).unwrap();
    assert_eq!(ix.lookup(s, 99), Lookup::Hit);
    assert_eq!(ix.lookup(s, 100), Lookup::Expired);
    assert_eq!(ix.lookup(s, 100), Lookup::Missing);
    let c = ix.counters();
    assert_eq!((c.hits, c.misses, c.expired), (1, 2, 1));
    assert!(ix.is_empty());
}

#[test]
fn replacing_keeps_the_slot_and_fixes_accounting() {
    let mut ix = CacheIndex::new(Limits::default());
    let s = ix.insert("a", Some(10), tags(&["x"]), 5, 0).unwrap();
    let s2 = ix.insert("a", None, tags(&["y"]), 7, 0).unwrap();
    assert_eq!(s, s2);
    assert_eq!(ix.bytes(), 7);
    assert_eq!(ix.purge_expired(1_000), 0);
    assert_eq!(
        ix.invalidate(&Selector::parse::<&str, &str, _>(&[], &[], &["x"]).unwrap()),
        0
    );
    assert_eq!(
        ix.invalidate(&Selector::parse::<&str, &str, _>(&[], &[], &["y"]).unwrap()),
        1
    );
    assert_eq!(ix.bytes(), 0);
}

#[test]
fn bounds_evict_expired_first_then_lru() {
    let mut ix = CacheIndex::new(Limits {
        max_entries: Some(3),
        max_bytes: None,
    });
    let a = ix.insert("a", None, vec![], 1, 0).unwrap();
    ix.insert("b", Some(5), vec![], 1, 0).unwrap();
    ix.insert("c", None, vec![], 1, 0).unwrap();
    ix.drain_events();
    // "b" has expired by t=10: it goes first, although "a" is older.
    ix.insert("d", None, vec![], 1, 10).unwrap();
    let gone: Vec<_> = ix
        .drain_events()
        .into_iter()
        .filter(|e| e.kind.removes())
        .map(|e| (e.kind, e.key))
        .collect();
    assert_eq!(gone, [(EventKind::Expire, "b".to_owned())]);
    // Touch "a" so "c" is now the least recently used.
    assert_eq!(ix.lookup(a, 10), Lookup::Hit);
    ix.insert("e", None, vec![], 1, 10).unwrap();
    assert_eq!(ix.live_keys(10), ["e", "a", "d"]);
    assert_eq!(ix.counters().evictions, 1);
}

#[test]
fn byte_bound_and_oversized_entries() {
    let mut ix = CacheIndex::new(Limits {
        max_entries: None,
        max_bytes: Some(10),
    });
    ix.insert("a", None, vec![], 6, 0).unwrap();
    ix.insert("b", None, vec![], 6, 0).unwrap();
    assert_eq!(ix.live_keys(0), ["b"]);
    assert_eq!(
        ix.insert("c", None, vec![], 11, 0),
        Err(CoreError::EntryTooLarge { bytes: 11, max: 10 })
    );
    assert_eq!(ix.live_keys(0), ["b"], "a failed write loses nothing");
}

#[test]
fn quota_pass_frees_what_is_needed() {
    let mut ix = CacheIndex::new(Limits::default());
    for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
        ix.insert(k, None, vec![], 10, i as u64).unwrap();
    }
    let d = ix.slot_of("d").unwrap();
    assert_eq!(ix.evict_for_quota(15, 10, Some(d)), 20);
    assert_eq!(ix.live_keys(10), ["d", "c"]);
    assert_eq!(ix.counters().quota_evictions, 2);
    assert_eq!(ix.evict_for_quota(100, 10, Some(d)), 10);
    assert_eq!(ix.live_keys(10), ["d"]);
}

#[test]
fn invalidation_by_key_pattern_and_tag() {
    let mut ix = CacheIndex::new(Limits::default());
    ix.insert("product:1", None, tags(&["catalog"]), 1, 0)
        .unwrap();
    ix.insert("product:2", None, vec![], 1, 0).unwrap();
    ix.insert("user:1", None, tags(&["catalog"]), 1, 0).unwrap();
    ix.insert("cart", None, vec![], 1, 0).unwrap();
    ix.insert("a*b", None, vec![], 1, 0).unwrap();
    ix.insert("aXb", None, vec![], 1, 0).unwrap();
    let sel = Selector::parse(&["cart"], &["product:*", "a\\*b"], &["catalog"]).unwrap();
    assert_eq!(ix.invalidate(&sel), 5);
    assert_eq!(ix.live_keys(0), ["aXb"]);
    assert_eq!(ix.counters().invalidated, 5);
}

#[test]
fn a_hub_invalidation_names_entries_by_key_or_by_tag() {
    let mut ix = CacheIndex::new(Limits::default());
    ix.insert("GET /api/products/42", None, tags(&["product:42"]), 1, 0)
        .unwrap();
    ix.insert("GET /api/posts/1", None, tags(&["blog:post-1"]), 1, 0)
        .unwrap();
    ix.insert("product:42", None, vec![], 1, 0).unwrap();
    ix.insert("GET /api/users/1", None, tags(&["user:1"]), 1, 0)
        .unwrap();
    let sel = Selector::parse::<_, _, &str>(&["product:42"], &["blog:*"], &[]).unwrap();
    // Read as written, the keys and patterns name keys only.
    assert_eq!(ix.invalidate(&sel), 1);
    assert_eq!(
        ix.live_keys(0),
        [
            "GET /api/users/1",
            "GET /api/posts/1",
            "GET /api/products/42"
        ]
    );
    // As a hub invalidation, tags too.
    assert!(sel
        .by_key_or_tag()
        .selects("GET /x", &tags(&["product:42"])));
    assert!(sel
        .by_key_or_tag()
        .selects("GET /y", &tags(&["blog:post-2"])));
    assert!(!sel.by_key_or_tag().selects("GET /z", &tags(&["user:1"])));
    assert_eq!(ix.invalidate(&sel.by_key_or_tag()), 2);
    assert_eq!(ix.live_keys(0), ["GET /api/users/1"]);
}

#[test]
fn slots_are_not_reused_before_drain() {
    let mut ix = CacheIndex::new(Limits::default());
    let a = ix.insert("a", None, vec![], 1, 0).unwrap();
    ix.remove("a");
    let b = ix.insert("b", None, vec![], 1, 0).unwrap();
    assert_ne!(a, b);
    let events = ix.drain_events();
    assert_eq!(
        events[1],
        Event {
            kind: EventKind::Remove,
            slot: a,
            key: "a".into()
        }
    );
    let c = ix.insert("c", None, vec![], 1, 0).unwrap();
    assert_eq!(c, a, "after the drain the freed slot is reused");
}

#[test]
fn loads_in_progress_go_stale_on_invalidation() {
    let mut ix = CacheIndex::new(Limits::default());
    let t1 = ix.begin_load("product:1", &tags(&["catalog"]));
    let t2 = ix.begin_load("product:2", &[]);
    let t3 = ix.begin_load("other", &[]);
    let t4 = ix.begin_load("x", &[]);
    ix.invalidate(&Selector::parse::<&str, &str, _>(&[], &[], &["catalog"]).unwrap());
    ix.invalidate(&Selector::parse::<&str, _, &str>(&[], &["product:2"], &[]).unwrap());
    ix.remove("x");
    assert!(!ix.load_is_fresh(t1) && !ix.load_is_fresh(t2));
    assert!(ix.load_is_fresh(t3));
    assert!(!ix.finish_load(t1));
    assert!(!ix.finish_load(t2));
    assert!(ix.finish_load(t3));
    assert!(!ix.finish_load(t4));
    assert!(!ix.finish_load(t3), "a ticket ends once");
    assert!(!ix.load_is_fresh(t3), "a finished load is not shared");
    let t5 = ix.begin_load("y", &[]);
    ix.clear(EventKind::Remove);
    assert!(!ix.finish_load(t5));
}

#[test]
fn bad_input_is_rejected_without_change() {
    let mut ix = CacheIndex::new(Limits::default());
    assert_eq!(
        ix.insert("", None, vec![], 1, 0).unwrap_err().code(),
        "InvalidKey"
    );
    assert_eq!(
        ix.insert("k", None, tags(&[""]), 1, 0).unwrap_err().code(),
        "InvalidTag"
    );
    let many: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
    assert_eq!(
        ix.insert("k", None, many, 1, 0).unwrap_err().code(),
        "InvalidTag"
    );
    assert!(ix.is_empty());
    assert_eq!(ix.lookup(12_345, 0), Lookup::Missing);
    assert!(!ix.is_live(Slot::MAX, 0));
}

/// Operations of the model-based test.
#[derive(Debug, Clone)]
enum Op {
    Set {
        key: u8,
        ttl: Option<u64>,
        tags: Vec<u8>,
    },
    Get(u8),
    Remove(u8),
    InvalidateTag(u8),
    InvalidatePrefix(u8),
    Advance(u64),
    Purge,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..8, proptest::option::of(1u64..40), proptest::collection::vec(0u8..3, 0..3))
            .prop_map(|(key, ttl, tags)| Op::Set { key, ttl, tags }),
        4 => (0u8..8).prop_map(Op::Get),
        1 => (0u8..8).prop_map(Op::Remove),
        1 => (0u8..3).prop_map(Op::InvalidateTag),
        1 => (0u8..2).prop_map(Op::InvalidatePrefix),
        2 => (0u64..20).prop_map(Op::Advance),
        1 => Just(Op::Purge),
    ]
}

/// The simple model: a recency-ordered list of (key, expiry, tags).
#[derive(Default)]
struct Model {
    entries: Vec<(String, Option<u64>, Vec<String>)>,
    hits: u64,
    misses: u64,
}

impl Model {
    fn live(&self, now: u64) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, e, _)| e.is_none_or(|e| e > now))
            .map(|(k, _, _)| k.clone())
            .collect()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _, _)| k == key)
    }

    fn set(&mut self, key: String, exp: Option<u64>, tags: Vec<String>, now: u64, max: usize) {
        if let Some(i) = self.position(&key) {
            self.entries.remove(i);
        }
        self.entries.insert(0, (key, exp, tags));
        while self.entries.len() > max {
            let expired =
                (1..self.entries.len()).find(|&i| self.entries[i].1.is_some_and(|e| e <= now));
            self.entries
                .remove(expired.unwrap_or(self.entries.len() - 1));
        }
    }

    fn get(&mut self, key: &str, now: u64) -> bool {
        match self.position(key) {
            Some(i) if self.entries[i].1.is_none_or(|e| e > now) => {
                let entry = self.entries.remove(i);
                self.entries.insert(0, entry);
                self.hits += 1;
                true
            }
            Some(i) => {
                self.entries.remove(i);
                self.misses += 1;
                false
            }
            None => {
                self.misses += 1;
                false
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn index_agrees_with_model(ops in proptest::collection::vec(op(), 1..80), max in 2usize..6) {
        let mut ix = CacheIndex::new(Limits { max_entries: Some(max as u64), max_bytes: None });
        let mut model = Model::default();
        let mut now = 0u64;
        for op in ops {
            match op {
                Op::Set { key, ttl, tags } => {
                    let key = format!("k{key}");
                    let tags: Vec<String> = tags.iter().map(|t| format!("t{t}")).collect();
                    let exp = ttl.map(|t| now + t);
                    ix.insert(&key, exp, tags.clone(), 1, now).unwrap();
                    model.set(key, exp, tags, now, max);
                }
                Op::Get(key) => {
                    let key = format!("k{key}");
                    let hit = match ix.slot_of(&key) {
                        Some(slot) => ix.lookup(slot, now) == Lookup::Hit,
                        None => { ix.record_miss(); false }
                    };
                    prop_assert_eq!(hit, model.get(&key, now));
                }
                Op::Remove(key) => {
                    let key = format!("k{key}");
                    ix.remove(&key);
                    if let Some(i) = model.position(&key) { model.entries.remove(i); }
                }
                Op::InvalidateTag(t) => {
                    let tag = format!("t{t}");
                    ix.invalidate(&Selector::parse::<&str, &str, _>(&[], &[], &[&tag]).unwrap());
                    model.entries.retain(|(_, _, tags)| !tags.contains(&tag));
                }
                Op::InvalidatePrefix(p) => {
                    let pattern = format!("k{p}*");
                    ix.invalidate(&Selector::parse::<&str, _, &str>(&[], &[&pattern], &[]).unwrap());
                    model.entries.retain(|(k, _, _)| !k.starts_with(&format!("k{p}")));
                }
                Op::Advance(ms) => now += ms,
                Op::Purge => {
                    ix.purge_expired(now);
                    model.entries.retain(|(_, e, _)| e.is_none_or(|e| e > now));
                }
            }
            ix.drain_events();
            prop_assert_eq!(ix.live_keys(now), model.live(now));
            prop_assert!(ix.len() <= max);
            prop_assert_eq!(ix.bytes(), ix.len() as u64);
        }
        prop_assert_eq!((ix.counters().hits, ix.counters().misses), (model.hits, model.misses));
    }
}

#[test]
fn rewrite_keeps_the_key_and_drops_tags() {
    let mut ix = CacheIndex::new(Limits {
        max_entries: None,
        max_bytes: Some(10),
    });
    let a = ix.insert("a", Some(5), tags(&["t"]), 4, 0).unwrap();
    assert_eq!(ix.rewrite(a, None, 6, 0), Ok(true));
    assert_eq!(
        ix.entry(a)
            .map(|e| (e.key, e.expires_at, e.tags.len(), e.bytes)),
        Some(("a", None, 0, 6))
    );
    assert_eq!(ix.bytes(), 6);
    assert_eq!(ix.purge_expired(100), 0);
    assert_eq!(
        ix.rewrite(a, None, 11, 0),
        Err(CoreError::EntryTooLarge { bytes: 11, max: 10 })
    );
    assert_eq!(ix.rewrite(999, None, 1, 0), Ok(false));
    let t = ix.begin_load("a", &[]);
    ix.rewrite(a, None, 1, 0).unwrap();
    assert!(
        !ix.finish_load(t),
        "a write during a load makes the load stale"
    );
}
