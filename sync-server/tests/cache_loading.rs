//! Loading through the Redis cache against a real redis-server: cache-aside, one load per
//! stampede, locks released by dropped loaders, early refresh, loads overtaken by an
//! invalidation, and write-through.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::cache::{cache, MINUTE};
use support::redis_server::RedisServer;
use support::{config, field, state, subscribe};
use sync_server::cache::{CacheError, RedisCache};

#[derive(Debug)]
enum AppError {
    Cache,
    Db,
}

impl From<CacheError> for AppError {
    fn from(_: CacheError) -> Self {
        Self::Cache
    }
}

#[tokio::test]
async fn cache_aside_loads_once_and_does_not_store_failures() {
    let redis = RedisServer::start();
    let cache = cache(&redis, None);
    let calls = AtomicUsize::new(0);
    for _ in 0..3 {
        let value = cache
            .get_or_set("user:1", MINUTE, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok::<_, AppError>(b"ada".to_vec())
            })
            .await
            .unwrap();
        assert_eq!(value, b"ada");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let failed = cache
        .fetch("user:2", || async { Err::<Vec<u8>, _>(AppError::Db) })
        .await;
    assert!(matches!(failed, Err(AppError::Db)));
    assert_eq!(redis.cli(&["EXISTS", "shop:v1:user:2"]), "0");
    assert_eq!(redis.cli(&["EXISTS", "shop:lock:v1:user:2"]), "0");
    // The default TTL (300 s) applies to fetch.
    cache
        .fetch("user:3", || async { Ok::<_, CacheError>(b"x".to_vec()) })
        .await
        .unwrap();
    let pttl: i64 = redis.cli(&["PTTL", "shop:v1:user:3"]).parse().unwrap();
    assert!(pttl > 299_000, "{pttl}");
}

#[tokio::test]
async fn concurrent_misses_in_one_process_load_once() {
    let redis = RedisServer::start();
    let cache = cache(&redis, None);
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                cache
                    .get_or_set("hot", MINUTE, || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok::<_, CacheError>(b"v".to_vec())
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), b"v");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(cache.stats()["shop"].lock_waits > 0);
}

#[tokio::test]
async fn a_loader_dropped_mid_load_releases_its_lock() {
    let redis = RedisServer::start();
    let cache = cache(&redis, None);
    let started = Arc::new(AtomicUsize::new(0));
    let (c, s) = (cache.clone(), started.clone());
    let caller = tokio::spawn(async move {
        c.get_or_set("slow", MINUTE, || async move {
            s.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, CacheError>(b"never".to_vec())
        })
        .await
    });
    while started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(redis.cli(&["EXISTS", "shop:lock:v1:slow"]), "1");
    caller.abort();
    let _ = caller.await;
    let value = tokio::time::timeout(
        Duration::from_secs(3),
        cache.get_or_set("slow", MINUTE, || async {
            Ok::<_, CacheError>(b"v".to_vec())
        }),
    )
    .await
    .expect("waited for the lock of a caller that was gone")
    .unwrap();
    assert_eq!(value, b"v");
}

/// A cache on namespace `shop` refreshing early with `beta` (0: never).
fn refreshing_cache(redis: &RedisServer, beta: f64) -> RedisCache {
    RedisCache::builder(&redis.url())
        .namespace("shop")
        .unwrap()
        .early_refresh_beta(beta)
        .build()
        .unwrap()
}

/// Stores `value` as `shop:v1:report`, computed in 10 s and with 5 s left: due for an early
/// refresh when β is large.
fn store_due_for_refresh(redis: &RedisServer, value: &[u8]) {
    let frame = sync_server::cache::codec::encode(value, 10_000, None);
    let mut conn = redis::Client::open(redis.url()).unwrap();
    let _: () = redis::cmd("SET")
        .arg("shop:v1:report")
        .arg(frame)
        .arg("PX")
        .arg(5000)
        .query(&mut conn)
        .unwrap();
}

#[tokio::test]
async fn hot_keys_near_expiry_refresh_early_once_and_never_when_disabled() {
    let redis = RedisServer::start();
    // A value that took 10 s to compute with 5 s left: with β = 10⁶ it is due for refresh
    // (XFetch draws at random; with β = 100 it would skip the refresh once in 200 runs).
    store_due_for_refresh(&redis, b"old");
    let lazy = refreshing_cache(&redis, 0.0);
    let load = || async { Ok::<_, CacheError>(b"new".to_vec()) };
    assert_eq!(
        lazy.get_or_set("report", MINUTE, load).await.unwrap(),
        b"old"
    );
    let eager = refreshing_cache(&redis, 1_000_000.0);
    assert_eq!(
        eager.get_or_set("report", MINUTE, load).await.unwrap(),
        b"new"
    );
    assert_eq!(eager.stats()["shop"].early_refreshes, 1);
    let pttl: i64 = redis.cli(&["PTTL", "shop:v1:report"]).parse().unwrap();
    assert!(pttl > 50_000, "refreshed with the new TTL: {pttl}");
}

#[tokio::test]
async fn a_load_invalidated_while_it_ran_is_returned_but_not_stored() {
    let redis = RedisServer::start();
    let cache = cache(&redis, None);
    // Deleted while loading: the old value must not come back as a hit.
    let c = cache.clone();
    let value = cache
        .get_or_set("k", MINUTE, || async move {
            c.delete("k").await.unwrap();
            Ok::<_, CacheError>(b"old".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(value, b"old", "the caller still gets what it loaded");
    assert_eq!(cache.get("k").await.unwrap(), None);
    // A write-through while loading wins over the older load.
    let c = cache.clone();
    cache
        .get_or_set("w", MINUTE, || async move {
            c.write("w", b"new", || async { Ok::<_, CacheError>(()) })
                .await
                .unwrap();
            Ok::<_, CacheError>(b"old".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(cache.get("w").await.unwrap().unwrap(), b"new");
    // A pattern invalidation while loading.
    let c = cache.clone();
    cache
        .fetch("user:1", || async move {
            c.invalidate_pattern("user:*").await.unwrap();
            Ok::<_, CacheError>(b"old".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(cache.get("user:1").await.unwrap(), None);
    // An invalidation of another key does not keep a load out.
    let c = cache.clone();
    cache
        .fetch("kept", || async move {
            c.delete("other").await.unwrap();
            Ok::<_, CacheError>(b"v".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(cache.get("kept").await.unwrap().unwrap(), b"v");
    // Every namespace cleared, or a pattern invalidated everywhere, while loading in a
    // namespace that held nothing yet (so the invalidation could not find it).
    let fresh = cache.with_namespace("fresh").unwrap();
    let c = cache.clone();
    fresh
        .fetch("a", || async move {
            c.clear_all().await.unwrap();
            Ok::<_, CacheError>(b"old".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(fresh.get("a").await.unwrap(), None, "cleared everywhere");
    let later = cache.with_namespace("later").unwrap();
    let c = cache.clone();
    later
        .fetch("user:2", || async move {
            c.invalidate_pattern_everywhere("user:*").await.unwrap();
            Ok::<_, CacheError>(b"old".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(
        later.get("user:2").await.unwrap(),
        None,
        "a pattern everywhere"
    );
    later
        .fetch("user:2", || async { Ok::<_, CacheError>(b"new".to_vec()) })
        .await
        .unwrap();
    assert_eq!(
        later.get("user:2").await.unwrap().unwrap(),
        b"new",
        "later loads are kept"
    );
    // An early refresh deleted while it ran.
    store_due_for_refresh(&redis, b"older");
    let eager = refreshing_cache(&redis, 1_000_000.0);
    let e = eager.clone();
    let refreshed = eager
        .get_or_set("report", MINUTE, || async move {
            e.delete("report").await.unwrap();
            Ok::<_, CacheError>(b"old".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(refreshed, b"old");
    assert_eq!(eager.stats()["shop"].early_refreshes, 1);
    assert_eq!(cache.get("report").await.unwrap(), None);
}

#[tokio::test]
async fn write_through_persists_first_and_a_failed_persist_leaves_the_cache_untouched() {
    let redis = RedisServer::start();
    let hub = state(config());
    let cache = cache(&redis, Some(&hub));
    let mut browser = subscribe(&hub, "match=/cache/shop").await;
    cache.set("cart:7", b"old", MINUTE).await.unwrap();
    browser.next_event().await.unwrap();
    let failed = cache
        .write("cart:7", b"new", || async { Err::<(), _>(AppError::Db) })
        .await;
    assert!(matches!(failed, Err(AppError::Db)));
    assert_eq!(cache.get("cart:7").await.unwrap().unwrap(), b"old");
    assert!(browser.is_quiet_for(Duration::from_millis(100)).await);
    let persisted = Arc::new(AtomicUsize::new(0));
    let p = persisted.clone();
    let stored = cache
        .write("cart:7", b"new", || async move {
            p.fetch_add(1, Ordering::SeqCst);
            Ok::<_, AppError>(())
        })
        .await
        .unwrap();
    assert!(stored);
    assert_eq!(persisted.load(Ordering::SeqCst), 1);
    assert_eq!(cache.get("cart:7").await.unwrap().unwrap(), b"new");
    let event = browser.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","keys":["cart:7"]}"#)
    );
}

#[tokio::test]
async fn two_writes_of_one_key_never_leave_the_older_value_cached() {
    let redis = RedisServer::start();
    let cache = cache(&redis, None);
    let db = Arc::new(std::sync::Mutex::new(Vec::new()));
    // W1 persists v1, then stalls until W2 has persisted v2 and cached it.
    let (persisted, resume) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let w1 = {
        let (cache, db, persisted, resume) =
            (cache.clone(), db.clone(), persisted.clone(), resume.clone());
        tokio::spawn(async move {
            cache
                .write("cart:9", b"v1", || async move {
                    *db.lock().unwrap() = b"v1".to_vec();
                    persisted.notify_one();
                    resume.notified().await;
                    Ok::<_, AppError>(())
                })
                .await
                .unwrap()
        })
    };
    persisted.notified().await;
    let d = db.clone();
    let w2 = cache
        .write("cart:9", b"v2", || async move {
            *d.lock().unwrap() = b"v2".to_vec();
            Ok::<_, AppError>(())
        })
        .await
        .unwrap();
    assert!(w2, "nothing overtook the second write");
    resume.notify_one();
    assert!(
        !w1.await.unwrap(),
        "the first write was overtaken: not cached"
    );
    assert_eq!(*db.lock().unwrap(), b"v2");
    let cached = cache.get("cart:9").await.unwrap();
    assert_ne!(
        cached.as_deref(),
        Some(&b"v1"[..]),
        "the older value is not cached"
    );
}
