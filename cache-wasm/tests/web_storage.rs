//! The storage backends in a real browser (headless Chromium): records, reloads, corrupt and
//! foreign records, version bumps, a real quota, and storage that throws.
#![cfg(target_arch = "wasm32")]
// wasm_bindgen_test functions are tests, but clippy does not know them as such.
#![allow(clippy::unwrap_used)]

use cache_wasm::RawCache;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function storage(kind) { return kind === 'local' ? localStorage : sessionStorage; }
export function resetStorage() { localStorage.clear(); sessionStorage.clear(); }
// Makes window.localStorage throw like a browser with storage disabled; returns the undo.
export function breakLocalStorage() {
  const desc = Object.getOwnPropertyDescriptor(window, 'localStorage');
  Object.defineProperty(window, 'localStorage', {
    configurable: true,
    get() { throw new DOMException('The operation is insecure.', 'SecurityError'); },
  });
  return () => Object.defineProperty(window, 'localStorage', desc);
}
// Makes every setItem fail with QuotaExceededError, like a zero quota; returns the undo.
export function zeroQuota() {
  const original = Storage.prototype.setItem;
  Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); };
  return () => { Storage.prototype.setItem = original; };
}
// Fills localStorage with foreign keys until it is full, then frees `room` characters.
export function fillWithForeignKeys(room) {
  const chunk = 'x'.repeat(256 * 1024);
  let i = 0;
  try { for (;;) { localStorage.setItem('foreign-' + i, chunk); i++; } } catch (e) {}
  let small = 0;
  try { for (;;) { localStorage.setItem('foreign-small-' + small, 'y'.repeat(1024)); small++; } } catch (e) {}
  for (let freed = 0; freed < room && small > 0; freed += 1024) localStorage.removeItem('foreign-small-' + --small);
  return i + small;
}
export function countForeign() {
  let n = 0;
  for (let i = 0; i < localStorage.length; i++) if (localStorage.key(i).startsWith('foreign-')) n++;
  return n;
}
export function errorCode(err) { return err && err.code; }
"#)]
extern "C" {
    fn storage(kind: &str) -> web_sys::Storage;
    #[wasm_bindgen(js_name = resetStorage)]
    fn reset_storage();
    #[wasm_bindgen(js_name = breakLocalStorage)]
    fn break_local_storage() -> js_sys::Function;
    #[wasm_bindgen(js_name = zeroQuota)]
    fn zero_quota() -> js_sys::Function;
    #[wasm_bindgen(js_name = fillWithForeignKeys)]
    fn fill_with_foreign_keys(room: u32) -> u32;
    #[wasm_bindgen(js_name = countForeign)]
    fn count_foreign() -> u32;
    #[wasm_bindgen(js_name = errorCode)]
    fn error_code(err: &JsValue) -> Option<String>;
}

const INF: f64 = f64::INFINITY;

fn open(kind: &str, ns: &str, version: u32, now: f64) -> RawCache {
    RawCache::new(kind, ns, version, INF, INF, now).expect("opens")
}

fn stat(cache: &RawCache, name: &str) -> JsValue {
    js_sys::Reflect::get(&cache.stats(), &name.into()).unwrap()
}

fn num(cache: &RawCache, name: &str) -> f64 {
    stat(cache, name).as_f64().expect("numeric stat")
}

/// `(code, slot)` pairs, then the JSON of every externally written entry by key.
fn external_entries(cache: &mut RawCache) -> Vec<(String, String)> {
    let events = cache.take_events();
    events
        .chunks(2)
        .filter(|p| p[0] == 6)
        .map(|p| (cache.key_of(p[1]).unwrap(), cache.take_json(p[1]).unwrap()))
        .collect()
}

#[wasm_bindgen_test]
fn records_persist_and_reload_for_both_areas() {
    reset_storage();
    for kind in ["local", "session"] {
        let mut c = open(kind, "shop", 1, 1_000.0);
        c.set(
            "product:42",
            Some(r#"{"id":42}"#.into()),
            60_000.0,
            Some(vec!["catalog".into()]),
            0.0,
            1_000.0,
        )
        .unwrap();
        let raw = storage(kind)
            .get_item("cw:shop:v1:product:42")
            .unwrap()
            .unwrap();
        assert_eq!(
            raw,
            r#"{"f":1,"e":61000,"w":1000,"t":["catalog"],"d":{"id":42}}"#
        );

        let mut reopened = open(kind, "shop", 1, 2_000.0);
        assert_eq!(
            external_entries(&mut reopened),
            [("product:42".to_owned(), r#"{"id":42}"#.to_owned())]
        );
        // Expired by the time a third page opens: removed, never served.
        let mut late = open(kind, "shop", 1, 61_000.0);
        assert!(external_entries(&mut late).is_empty());
        assert!(storage(kind)
            .get_item("cw:shop:v1:product:42")
            .unwrap()
            .is_none());
    }
}

#[wasm_bindgen_test]
fn corrupt_foreign_and_old_format_records_are_removed_and_counted() {
    reset_storage();
    let ls = storage("local");
    ls.set_item("cw:shop:v1:garbage", "not json").unwrap();
    ls.set_item("cw:shop:v1:old", r#"{"f":0,"value":1}"#)
        .unwrap();
    ls.set_item("cw:shop:v1:half", r#"{"f":1,"e":null,"w":1,"t":[],"d":"#)
        .unwrap();
    ls.set_item("cw:shop:nonsense", "1").unwrap();
    ls.set_item("cw:shop:v1:ok", r#"{"f":1,"e":null,"w":1,"t":[],"d":true}"#)
        .unwrap();
    ls.set_item("cw:shop:meta", "{}").unwrap();
    ls.set_item("other-app", "keep me").unwrap();
    let mut c = open("local", "shop", 1, 10.0);
    assert_eq!(num(&c, "corrupt"), 4.0);
    assert_eq!(
        external_entries(&mut c),
        [("ok".to_owned(), "true".to_owned())]
    );
    for gone in [
        "cw:shop:v1:garbage",
        "cw:shop:v1:old",
        "cw:shop:v1:half",
        "cw:shop:nonsense",
    ] {
        assert!(ls.get_item(gone).unwrap().is_none(), "{gone}");
    }
    assert_eq!(
        ls.get_item("other-app").unwrap().as_deref(),
        Some("keep me")
    );
    assert_eq!(ls.get_item("cw:shop:meta").unwrap().as_deref(), Some("{}"));
}

#[wasm_bindgen_test]
fn a_version_bump_drops_the_old_version_only() {
    reset_storage();
    let mut v1 = open("local", "shop", 1, 0.0);
    v1.set("a", Some("1".into()), INF, None, 0.0, 0.0).unwrap();
    let mut other = open("local", "shopx", 1, 0.0);
    other
        .set("a", Some("2".into()), INF, None, 0.0, 0.0)
        .unwrap();
    let mut v2 = open("local", "shop", 2, 0.0);
    assert!(external_entries(&mut v2).is_empty());
    let ls = storage("local");
    assert!(ls.get_item("cw:shop:v1:a").unwrap().is_none());
    assert!(
        ls.get_item("cw:shopx:v1:a").unwrap().is_some(),
        "other namespaces untouched"
    );
}

#[wasm_bindgen_test]
fn a_full_quota_evicts_own_entries_and_never_foreign_keys() {
    reset_storage();
    let foreign = fill_with_foreign_keys(200 * 1024);
    assert!(foreign > 0);
    let mut c = open("local", "quota", 1, 0.0);
    let value = format!("\"{}\"", "v".repeat(20 * 1024));
    // ~40 KiB records into ~200 KiB of room: the quota is hit repeatedly.
    for i in 0..30 {
        c.set(
            &format!("k{i}"),
            Some(value.clone()),
            INF,
            None,
            0.0,
            f64::from(i),
        )
        .expect("fits after eviction");
    }
    assert!(num(&c, "quotaEvictions") > 0.0);
    assert_eq!(count_foreign(), foreign, "foreign keys are never touched");
    let keys = c.keys(100.0);
    assert_eq!(keys[0], "k29", "the newest entry is kept");
    assert!(
        !keys.contains(&"k0".to_owned()),
        "the least recently used went first"
    );
    // An entry larger than all room the namespace can free: a typed error, nothing lost
    // of other apps, and the key holds nothing.
    let huge = format!("\"{}\"", "h".repeat(3 * 1024 * 1024));
    let err = c
        .set("huge", Some(huge), INF, None, 0.0, 200.0)
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("QuotaExceeded"));
    assert!(c.key_of(c.keys(200.0).len() as u32 + 1000).is_none());
    assert!(!c.keys(200.0).contains(&"huge".to_owned()));
    assert_eq!(count_foreign(), foreign);
    reset_storage();
}

#[wasm_bindgen_test]
fn storage_that_throws_falls_back_to_memory() {
    reset_storage();
    let undo = break_local_storage();
    let mut c = open("local", "shop", 1, 0.0);
    undo.call0(&JsValue::NULL).unwrap();
    assert!(!c.persistent());
    assert_eq!(stat(&c, "fallback"), JsValue::TRUE);
    let slot = c.set("a", None, INF, None, 1.0, 0.0).unwrap();
    assert_eq!(c.lookup(slot, 1.0), 1);

    let undo = zero_quota();
    let c = open("local", "shop", 1, 0.0);
    undo.call0(&JsValue::NULL).unwrap();
    assert_eq!(stat(&c, "fallback"), JsValue::TRUE);
    assert!(storage("local").get_item("cw:shop:v1:a").unwrap().is_none());
}

#[wasm_bindgen_test]
fn another_tabs_writes_and_removals_are_followed() {
    reset_storage();
    let mut c = open("local", "shop", 1, 0.0);
    let area = storage("local");
    // What another tab does: write (or remove) the record, then this tab hears the event.
    let record = r#"{"f":1,"e":null,"w":5,"t":["t"],"d":[1,2]}"#;
    area.set_item("cw:shop:v1:x", record).unwrap();
    c.apply_storage_event(Some("cw:shop:v1:x".into()), 10.0);
    assert_eq!(
        external_entries(&mut c),
        [("x".to_owned(), "[1,2]".to_owned())]
    );
    // Other namespaces, other versions and other apps are ignored.
    for key in ["cw:shop:v2:x", "cw:shopx:v1:x", "x"] {
        area.set_item(key, record).unwrap();
        c.apply_storage_event(Some(key.into()), 10.0);
    }
    assert!(c.take_events().is_empty());
    area.remove_item("cw:shop:v1:x").unwrap();
    c.apply_storage_event(Some("cw:shop:v1:x".into()), 11.0);
    assert_eq!(c.take_events(), [2, 0]);
    area.set_item("cw:shop:v1:y", "garbage").unwrap();
    c.apply_storage_event(Some("cw:shop:v1:y".into()), 12.0);
    assert_eq!(num(&c, "corrupt"), 1.0);
    assert!(c.keys(12.0).is_empty());
    // An event that arrives after its record was removed again brings nothing back.
    c.apply_storage_event(Some("cw:shop:v1:x".into()), 13.0);
    assert!(c.keys(13.0).is_empty());
}

#[wasm_bindgen_test]
fn another_tabs_clear_leaves_what_is_stored_since() {
    reset_storage();
    let mut c = open("local", "shop", 1, 0.0);
    c.set("x", Some("1".into()), INF, None, 0.0, 1.0).unwrap();
    c.set("y", Some("2".into()), INF, None, 0.0, 2.0).unwrap();
    c.take_events();
    // Another tab cleared the storage, then someone wrote x again before this tab heard the
    // clear: the record there now is newer than anything this tab knew.
    let area = storage("local");
    area.clear().unwrap();
    let record = r#"{"f":1,"e":null,"w":5,"t":[],"d":"fresh"}"#;
    area.set_item("cw:shop:v1:x", record).unwrap();
    c.apply_storage_event(None, 10.0);
    assert_eq!(
        area.get_item("cw:shop:v1:x").unwrap().as_deref(),
        Some(record)
    );
    assert_eq!(c.keys(10.0), ["x"]);
    assert_eq!(
        external_entries(&mut c),
        [("x".to_owned(), r#""fresh""#.to_owned())]
    );
}

#[wasm_bindgen_test]
fn bad_options_and_keys_are_typed_errors() {
    for (storage, ns, max) in [
        ("disk", "a", INF),
        ("memory", "a:b", INF),
        ("memory", "a", 0.0),
    ] {
        let err = RawCache::new(storage, ns, 1, max, INF, 0.0).err().unwrap();
        assert!(error_code(&err).is_some());
    }
    let mut c = open("memory", "m", 1, 0.0);
    let err = c.set("", None, INF, None, 0.0, 0.0).unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidKey"));
    let err = c.set("k", None, -1.0, None, 0.0, 0.0).unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidTtl"));
    let err = c
        .invalidate(vec![], vec!["x\\".into()], vec![])
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidPattern"));
    assert_eq!(
        c.lookup(999, 0.0),
        0,
        "unknown slots are misses, not panics"
    );
}
