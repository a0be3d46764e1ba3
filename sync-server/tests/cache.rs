//! The Redis cache against a real redis-server: every operation, tags and patterns,
//! invalidations reaching an SSE subscriber of the hub, namespaces, statistics, and Redis
//! being down. Loading (cache-aside, stampedes, early refresh, write-through) is in
//! cache_loading.rs.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;
use support::cache::{cache, MINUTE};
use support::redis_server::RedisServer;
use support::{config, field, state, subscribe};
use sync_server::cache::{CacheError, Publisher, RedisCache};

#[tokio::test]
async fn get_set_delete_with_ttl_in_the_shared_key_grammar() {
    let redis = RedisServer::start();
    let cache = cache(&redis, None);
    assert_eq!(cache.get("product:42").await.unwrap(), None);
    assert!(cache
        .set("product:42", b"{\"id\":42}", MINUTE)
        .await
        .unwrap());
    assert_eq!(
        cache.get("product:42").await.unwrap().unwrap(),
        b"{\"id\":42}"
    );
    // The browser's key grammar, without a prefix, and a real TTL.
    let pttl: i64 = redis.cli(&["PTTL", "shop:v1:product:42"]).parse().unwrap();
    assert!((59_000..=60_000).contains(&pttl), "{pttl}");
    assert!(cache.set("forever", b"x", None).await.unwrap());
    assert_eq!(redis.cli(&["PTTL", "shop:v1:forever"]), "-1");
    assert!(cache.delete("product:42").await.unwrap());
    assert!(!cache.delete("product:42").await.unwrap());
    assert_eq!(cache.get("product:42").await.unwrap(), None);
    let stats = &cache.stats()["shop"];
    assert_eq!((stats.hits, stats.misses, stats.sets), (1, 2, 2));
    assert!(matches!(cache.get("").await, Err(CacheError::Invalid(_))));
}

#[tokio::test]
async fn many_at_once_and_compression() {
    let redis = RedisServer::start();
    let cache = RedisCache::builder(&redis.url())
        .namespace("shop")
        .unwrap()
        .compress_above(Some(64))
        .build()
        .unwrap();
    let big = vec![b'a'; 10_000];
    let entries: [(&str, &[u8]); 2] = [("a", b"1"), ("big", &big)];
    assert!(cache.set_many(&entries, MINUTE).await.unwrap());
    let got = cache.get_many(&["a", "big", "missing"]).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got["a"], b"1");
    assert_eq!(got["big"], big);
    let stored: usize = redis.cli(&["STRLEN", "shop:v1:big"]).parse().unwrap();
    assert!(stored < 200, "stored {stored} bytes: not compressed");
    assert_eq!(redis.cli(&["STRLEN", "shop:v1:a"]), "6");
}

#[tokio::test]
async fn tag_invalidation_removes_entries_and_reaches_a_subscriber() {
    let redis = RedisServer::start();
    let hub = state(config());
    let cache = cache(&redis, Some(&hub));
    cache
        .set_with_tags("product:1", b"1", MINUTE, &["catalog", "p1"])
        .await
        .unwrap();
    cache
        .set_with_tags(
            "product:2",
            b"2",
            Some(Duration::from_secs(120)),
            &["catalog"],
        )
        .await
        .unwrap();
    cache
        .set_with_tags("cart", b"c", MINUTE, &["user"])
        .await
        .unwrap();
    let pttl: i64 = redis.cli(&["PTTL", "shop:tag:catalog"]).parse().unwrap();
    assert!(
        pttl > 110_000,
        "a tag set lives as long as its longest entry: {pttl}"
    );
    let mut browser = subscribe(&hub, "match=/cache/shop").await;
    assert_eq!(cache.invalidate_tags(&["catalog"]).await.unwrap(), 2);
    assert_eq!(cache.get("product:1").await.unwrap(), None);
    assert_eq!(cache.get("product:2").await.unwrap(), None);
    assert_eq!(cache.get("cart").await.unwrap().unwrap(), b"c");
    assert_eq!(redis.cli(&["EXISTS", "shop:tag:catalog"]), "0");
    let event = browser.next_event().await.unwrap();
    assert_eq!(field(&event, "event"), Some("invalidate"));
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","tags":["catalog"]}"#)
    );
}

#[tokio::test]
async fn a_tag_set_never_expires_while_it_holds_an_entry_without_expiry() {
    let redis = RedisServer::start();
    let cache = cache(&redis, None);
    cache
        .set_with_tags("a", b"1", None, &["catalog"])
        .await
        .unwrap();
    cache
        .set_with_tags("b", b"2", MINUTE, &["catalog"])
        .await
        .unwrap();
    assert_eq!(
        redis.cli(&["PTTL", "shop:tag:catalog"]),
        "-1",
        "a TTL on the set would orphan \"a\", which never expires"
    );
    // A set created by an entry with a TTL still expires, and longer entries extend it.
    cache
        .set_with_tags("c", b"3", MINUTE, &["short"])
        .await
        .unwrap();
    cache
        .set_with_tags("d", b"4", Some(Duration::from_secs(30)), &["short"])
        .await
        .unwrap();
    let pttl: i64 = redis.cli(&["PTTL", "shop:tag:short"]).parse().unwrap();
    assert!((50_000..=60_000).contains(&pttl), "{pttl}");
    assert_eq!(cache.invalidate_tags(&["catalog"]).await.unwrap(), 2);
    assert_eq!(cache.get("a").await.unwrap(), None);
}

#[tokio::test]
async fn tag_sets_keep_only_their_members_and_are_invalidated_in_batches() {
    let redis = RedisServer::start();
    let cache = cache(&redis, None);
    let scard = |set: &str| -> u64 { redis.cli(&["SCARD", set]).parse().unwrap() };
    // Deleted, re-tagged or stored without tags: the entry leaves its old sets.
    cache
        .set_with_tags("a", b"1", MINUTE, &["t1"])
        .await
        .unwrap();
    cache
        .set_with_tags("a", b"2", MINUTE, &["t2"])
        .await
        .unwrap();
    assert_eq!((scard("shop:tag:t1"), scard("shop:tag:t2")), (0, 1));
    cache.set("a", b"3", MINUTE).await.unwrap();
    assert_eq!(scard("shop:tag:t2"), 0);
    cache
        .set_with_tags("b", b"1", MINUTE, &["t1"])
        .await
        .unwrap();
    cache.delete("b").await.unwrap();
    cache
        .set_with_tags("c", b"1", MINUTE, &["t1"])
        .await
        .unwrap();
    cache.set_many(&[("c", b"2")], MINUTE).await.unwrap();
    assert_eq!(scard("shop:tag:t1"), 0);
    assert_eq!(redis.cli(&["KEYS", "shop:entry-tags:*"]), "");
    // Members that vanish otherwise (evicted here) are pruned as the set grows.
    for i in 0..200 {
        let key = format!("gone:{i}");
        cache
            .set_with_tags(&key, b"x", MINUTE, &["hot"])
            .await
            .unwrap();
        redis.cli(&["DEL", &format!("shop:v1:{key}")]);
    }
    for i in 0..200 {
        let key = format!("live:{i}");
        cache
            .set_with_tags(&key, b"x", MINUTE, &["hot"])
            .await
            .unwrap();
    }
    let members = scard("shop:tag:hot");
    assert!(members < 300, "{members} members for 200 live entries");
    // A large set is invalidated batch by batch, and its entries leave their other sets.
    let entries: Vec<String> = (0..1200).map(|i| format!("big:{i}")).collect();
    for key in &entries {
        cache
            .set_with_tags(key, b"x", MINUTE, &["big", "other"])
            .await
            .unwrap();
    }
    assert_eq!(cache.invalidate_tags(&["big"]).await.unwrap(), 1200);
    assert_eq!(
        redis.cli(&["EXISTS", "shop:tag:big", "shop:tag:other"]),
        "0"
    );
    assert_eq!(cache.get("big:7").await.unwrap(), None);
    assert_eq!(redis.cli(&["EXISTS", "shop:entry-tags:shop:v1:big:7"]), "0");
}

#[tokio::test]
async fn pattern_invalidation_scans_and_reaches_a_subscriber() {
    let redis = RedisServer::start();
    let hub = state(config());
    let cache = cache(&redis, Some(&hub));
    let entries: Vec<(String, Vec<u8>)> = (0..1200)
        .map(|i| (format!("user:{i}"), b"u".to_vec()))
        .chain([
            ("users".to_owned(), b"x".to_vec()),
            ("us[e]r:1".to_owned(), b"y".to_vec()),
        ])
        .collect();
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    cache.set_many(&refs, MINUTE).await.unwrap();
    let other = cache.with_namespace("blog").unwrap();
    other.set("user:1", b"b", MINUTE).await.unwrap();
    let mut browser = subscribe(&hub, "match=/cache/shop").await;
    assert_eq!(cache.invalidate_pattern("user:*").await.unwrap(), 1200);
    assert_eq!(cache.get("users").await.unwrap().unwrap(), b"x");
    assert_eq!(cache.get("us[e]r:1").await.unwrap().unwrap(), b"y");
    assert_eq!(other.get("user:1").await.unwrap().unwrap(), b"b");
    let event = browser.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","patterns":["user:*"]}"#)
    );
    assert!(cache.invalidate_pattern("").await.is_err());
}

#[tokio::test]
async fn namespaces_clear_and_bump_without_touching_others() {
    let redis = RedisServer::start();
    let hub = state(config());
    let shop = cache(&redis, Some(&hub));
    let blog = shop.with_namespace("blog").unwrap();
    shop.set_with_tags("a", b"1", MINUTE, &["t"]).await.unwrap();
    blog.set("a", b"2", MINUTE).await.unwrap();
    let mut browser = subscribe(&hub, "match=/cache/shop").await;
    assert_eq!(shop.bump_version().await.unwrap(), 2);
    assert_eq!(shop.get("a").await.unwrap(), None);
    assert_eq!(
        redis.cli(&["EXISTS", "shop:v1:a"]),
        "1",
        "O(1): nothing deleted"
    );
    let event = browser.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","patterns":["*"]}"#)
    );
    shop.set("b", b"3", MINUTE).await.unwrap();
    assert_eq!(redis.cli(&["EXISTS", "shop:v2:b"]), "1");
    // Two entries, a tag set and the tagged entry's index.
    assert_eq!(shop.clear_namespace().await.unwrap(), 4);
    assert_eq!(
        redis.cli(&[
            "EXISTS",
            "shop:v1:a",
            "shop:v2:b",
            "shop:tag:t",
            "shop:entry-tags:shop:v1:a"
        ]),
        "0"
    );
    assert_eq!(
        redis.cli(&["GET", "shop:version"]),
        "2",
        "the version survives"
    );
    assert_eq!(blog.get("a").await.unwrap().unwrap(), b"2");
}

#[tokio::test]
async fn redis_down_serves_from_the_loader_and_counts() {
    let mut redis = RedisServer::start();
    let cache = RedisCache::builder(&redis.url())
        .namespace("shop")
        .unwrap()
        .response_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    cache.set("k", b"v", MINUTE).await.unwrap();
    redis.kill();
    assert_eq!(cache.get("k").await.unwrap(), None);
    assert!(!cache.set("k", b"w", MINUTE).await.unwrap());
    let value = cache
        .fetch("k", || async {
            Ok::<_, CacheError>(b"from the database".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(value, b"from the database");
    assert!(cache.invalidate_tags(&["t"]).await.is_err());
    let stats = &cache.stats()["shop"];
    assert!(stats.redis_errors >= 4, "{stats:?}");
    assert_eq!(stats.loads, 1);
    // Back up (empty): the same handle works again.
    redis.restart_empty();
    let mut ok = false;
    for _ in 0..50 {
        if cache.set("k", b"again", MINUTE).await.unwrap() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "the cache never reconnected");
    assert_eq!(cache.get("k").await.unwrap().unwrap(), b"again");
}

#[tokio::test]
async fn stats_and_metrics_report_hit_rates_memory_evictions_and_expirations() {
    let mut redis = RedisServer::start();
    redis.cli(&["CONFIG", "SET", "maxmemory", "4mb"]);
    redis.cli(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    let cache = cache(&redis, None);
    let hub = state(config()).with_cache(cache.clone());
    cache.set("a", b"1", MINUTE).await.unwrap();
    for key in ["a", "a", "a", "missing"] {
        cache.get(key).await.unwrap();
    }
    cache
        .set("short", b"x", Some(Duration::from_millis(1)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(cache.get("short").await.unwrap(), None); // expired on access
    let big = vec![7u8; 64 << 10];
    for i in 0..200 {
        cache.set(&format!("big:{i}"), &big, MINUTE).await.unwrap();
    }
    let stats = support::json_of(&hub, "/stats").await;
    assert_eq!(stats["namespaces"]["shop"]["hits"], 3);
    assert_eq!(stats["namespaces"]["shop"]["misses"], 2);
    assert_eq!(stats["namespaces"]["shop"]["hit_rate"], 0.6);
    assert_eq!(stats["redis_up"], true);
    assert!(stats["redis"]["used_memory"].as_u64().unwrap() > 0);
    assert!(stats["redis"]["evicted_keys"].as_u64().unwrap() > 0);
    assert!(stats["redis"]["expired_keys"].as_u64().unwrap() >= 1);
    let metrics = support::text_of(&hub, "/metrics").await;
    assert!(metrics.contains("hub_events_in_total"));
    assert!(metrics.contains("cache_hits_total{namespace=\"shop\"} 3"));
    assert!(metrics.contains("cache_hit_rate{namespace=\"shop\"} 0.6"));
    assert!(metrics.contains("cache_redis_evicted_keys_total "));
    assert!(metrics.ends_with("# EOF\n") && metrics.matches("# EOF").count() == 1);
    let health = support::json_of(&hub, "/healthz").await;
    assert_eq!(
        (health["status"].as_str(), health["cache"].as_bool()),
        (Some("ok"), Some(true))
    );
    redis.kill();
    let stats = support::json_of(&hub, "/stats").await;
    assert_eq!(stats["redis_up"], false);
    let health = support::json_of(&hub, "/healthz").await;
    assert_eq!(
        (health["status"].as_str(), health["cache"].as_bool()),
        (Some("degraded"), Some(false))
    );
    assert!(support::text_of(&hub, "/metrics")
        .await
        .contains("cache_redis_up 0"));
}

#[tokio::test]
async fn per_user_namespaces_publish_private_invalidations() {
    use sync_server::token::TokenRequest;
    use tower::ServiceExt;
    let redis = RedisServer::start();
    let hub = state(config());
    let cache = RedisCache::builder(&redis.url())
        .namespace("user-42")
        .unwrap()
        .publisher(Publisher::in_process(&hub).private(true))
        .build()
        .unwrap();
    let mut stranger = subscribe(&hub, "match=/cache/user-42").await;
    let token = TokenRequest::new()
        .subscribe("/cache/user-42")
        .hs256(support::SECRET)
        .unwrap();
    let request = axum::http::Request::get(format!(
        "{}?match=/cache/user-42",
        sync_server::MERCURE_PATH
    ))
    .header("authorization", format!("Bearer {token}"))
    .body(axum::body::Body::empty())
    .unwrap();
    let response = sync_server::app(hub.clone())
        .oneshot(request)
        .await
        .unwrap();
    let mut owner = support::Events::new(response);
    let hint = stranger.next().await.unwrap(); // every stream starts with a retry hint
    assert!(hint.starts_with("retry:"), "{hint}");
    cache.delete("cart").await.unwrap();
    let event = owner.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"user-42","keys":["cart"]}"#)
    );
    assert!(stranger.is_quiet_for(Duration::from_millis(100)).await);
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Product {
    id: u32,
    name: String,
}

#[tokio::test]
async fn typed_values_round_trip_as_json() {
    let redis = RedisServer::start();
    let cache = cache(&redis, None);
    let ada = Product {
        id: 1,
        name: "Ada".into(),
    };
    assert!(cache.set_json("product:1", &ada, MINUTE).await.unwrap());
    assert_eq!(
        redis.cli(&["GETRANGE", "shop:v1:product:1", "5", "-1"]),
        r#"{"id":1,"name":"Ada"}"#
    );
    assert_eq!(
        cache.get_json::<Product>("product:1").await.unwrap(),
        Some(ada)
    );
    let loaded: Product = cache
        .fetch_json("product:2", || async {
            Ok::<_, CacheError>(Product {
                id: 2,
                name: "Bob".into(),
            })
        })
        .await
        .unwrap();
    assert_eq!(loaded.id, 2);
    assert_eq!(
        cache.get_json::<Product>("product:2").await.unwrap(),
        Some(loaded)
    );
    // A value of another shape reads as a miss and counts as corrupt.
    cache.set("product:3", b"[1,2]", MINUTE).await.unwrap();
    assert_eq!(cache.get_json::<Product>("product:3").await.unwrap(), None);
    assert_eq!(cache.stats()["shop"].corrupt, 1);
}
