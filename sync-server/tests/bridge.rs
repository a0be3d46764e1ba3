//! The keyspace bridge against a real redis-server.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};
use support::hub::Hub;
use support::redis_server::RedisServer;
use support::{config, field, state};
use sync_server::bridge::{Bridge, WatchPattern};
use sync_server::redis_target::RedisTarget;

async fn bridged_hub(redis: &RedisServer) -> Hub {
    let mut state = state(config());
    let target = Arc::new(RedisTarget::parse(&redis.url()).unwrap());
    let patterns = vec![WatchPattern::parse("shop:v1:*").unwrap()];
    let bridge = Bridge::start(target, patterns, state.clone(), state.shutdown.clone())
        .await
        .unwrap();
    state.bridge_health = Some(bridge.health);
    Hub::serve(state).await
}

#[tokio::test]
async fn redis_writes_become_invalidations() {
    let redis = RedisServer::start();
    let hub = bridged_hub(&redis).await;
    let mut client = hub
        .subscribe("match=/cache/shop&match=/cache/blog", &[])
        .await;
    redis.cli(&["SET", "blog:v1:post:1", "not watched"]);
    redis.cli(&["SET", "shop:v1:product:42", "{}"]);
    let event = client.next_event().await.unwrap();
    assert_eq!(field(&event, "event"), Some("invalidate"));
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","keys":["product:42"]}"#)
    );
    redis.cli(&["DEL", "shop:v1:product:42"]);
    let event = client.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","keys":["product:42"]}"#)
    );
}

#[tokio::test]
async fn a_dropped_subscription_resets_the_watched_namespaces() {
    let redis = RedisServer::start();
    let hub = bridged_hub(&redis).await;
    let mut client = hub.subscribe("match=/cache/shop", &[]).await;
    assert_eq!(hub.health().await["bridge"], true);
    redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    let reset = client.next_event().await.unwrap();
    assert_eq!(field(&reset, "event"), Some("reset"));
    assert_eq!(
        field(&reset, "data"),
        Some(r#"{"v":1,"ns":"shop","reason":"bridge-lost"}"#)
    );
    // Once it listens again it says so with a second reset, then bridges again.
    let again = client.next_event().await.unwrap();
    assert_eq!(field(&again, "event"), Some("reset"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while hub.health().await["bridge"] != true {
        assert!(Instant::now() < deadline, "bridge never recovered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    redis.cli(&["SET", "shop:v1:cart", "1"]);
    let event = client.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","keys":["cart"]}"#)
    );
}
