//! The keyspace bridge against a real redis-server.
#![allow(clippy::unwrap_used)]

mod support;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::hub::Hub;
use support::redis_server::RedisServer;
use support::{auth, config, field, state};
use sync_server::bridge::{Bridge, WatchPattern, PUBLISH_ATTEMPTS};
use sync_server::error::HubError;
use sync_server::event_id::EventId;
use sync_server::redis_target::RedisTarget;
use sync_server::transport::embedded::Embedded;
use sync_server::transport::redis::{RedisOptions, RedisTransport};
use sync_server::transport::{Cursor, Event, Replay, Transport, TransportHealth, Update};
use sync_server::AppState;
use tokio::sync::broadcast;

async fn bridged_hub(redis: &RedisServer) -> Hub {
    bridge(redis, state(config())).await
}

/// Serves `state` with a bridge watching `shop:v1:*` on `redis`.
async fn bridge(redis: &RedisServer, mut state: AppState) -> Hub {
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

/// A hub on the Redis transport of `redis`, bridging `shop:v1:*`.
async fn redis_bridged_hub(redis: &RedisServer) -> Hub {
    let options = RedisOptions {
        max_len: 100,
        queue: 100,
        ..RedisOptions::default()
    };
    let target = RedisTarget::parse(&redis.url()).unwrap();
    let transport = RedisTransport::start(target, options).await.unwrap();
    bridge(redis, AppState::new(config(), auth(), Arc::new(transport))).await
}

#[tokio::test]
async fn changes_made_while_no_hub_listened_reach_a_resuming_client() {
    let redis = RedisServer::start();
    let mut a = redis_bridged_hub(&redis).await;
    let mut client = a.subscribe("match=/cache/shop", &[]).await;
    redis.cli(&["SET", "shop:v1:product:1", "{}"]);
    let event = client.next_event().await.unwrap();
    let id = field(&event, "id").unwrap().to_owned();
    drop(client);
    a.state.shutdown.cancel();
    assert!(a.stopped_within(Duration::from_secs(5)).await);
    // No bridge listens any more.
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis.cli(&["PUBSUB", "NUMPAT"]) != "0" {
        assert!(Instant::now() < deadline, "hub A's bridge still listens");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    redis.cli(&["SET", "shop:v1:product:42", "changed while no hub listened"]);
    let b = redis_bridged_hub(&redis).await;
    let mut client = b
        .subscribe("match=/cache/shop", &[("last-event-id", &id)])
        .await;
    let event = client
        .next_event_within(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(field(&event, "event"), Some("reset"), "{event}");
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","reason":"bridge-lost"}"#)
    );
}

#[tokio::test]
async fn steady_traffic_on_one_key_does_not_hold_back_another() {
    let redis = RedisServer::start();
    let hub = bridged_hub(&redis).await;
    let mut client = hub.subscribe("match=/cache/shop", &[]).await;
    let client_of_redis = redis::Client::open(redis.url()).unwrap();
    let mut hot = client_of_redis
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut cold = hot.clone();
    // One hot key written every 3 ms for 2 s: always within the batching window of the last.
    let writer = tokio::spawn(async move {
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            redis::cmd("SET")
                .arg("shop:v1:hot")
                .arg("1")
                .query_async::<()>(&mut hot)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let changed = Instant::now();
    redis::cmd("SET")
        .arg("shop:v1:cold")
        .arg("1")
        .query_async::<()>(&mut cold)
        .await
        .unwrap();
    loop {
        let event = client.next_event().await.unwrap();
        if field(&event, "data").unwrap().contains(r#""cold""#) {
            break;
        }
    }
    let waited = changed.elapsed();
    assert!(
        waited < Duration::from_millis(500),
        "cold key bridged after {waited:?}"
    );
    writer.await.unwrap();
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

/// The embedded transport, refusing publications while `failing` is set.
struct Flaky {
    log: Embedded,
    failing: AtomicBool,
    refused: AtomicU32,
}

impl Flaky {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            log: Embedded::new(100, 100),
            failing: AtomicBool::new(false),
            refused: AtomicU32::new(0),
        })
    }
}

impl Transport for Flaky {
    fn publish(&self, update: Update) -> BoxFuture<'_, Result<EventId, HubError>> {
        if self.failing.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            let down = HubError::Unavailable("the test's transport is down".into());
            return std::future::ready(Err(down)).boxed();
        }
        self.log.publish(update)
    }
    fn listen(&self) -> broadcast::Receiver<Arc<Event>> {
        self.log.listen()
    }
    fn replay(&self, cursor: Cursor) -> BoxFuture<'_, Result<Replay, HubError>> {
        self.log.replay(cursor)
    }
    fn health(&self) -> BoxFuture<'_, TransportHealth> {
        self.log.health()
    }
}

/// A bridged hub whose transport is `flaky`.
async fn flaky_hub(redis: &RedisServer, flaky: &Arc<Flaky>) -> Hub {
    let transport: Arc<dyn Transport> = flaky.clone();
    bridge(redis, AppState::new(config(), auth(), transport)).await
}

/// Waits until the transport has refused `n` publications.
async fn refused(flaky: &Flaky, n: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while flaky.refused.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "the bridge never tried to publish"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn an_invalidation_that_fails_once_is_published_on_a_retry() {
    let redis = RedisServer::start();
    let flaky = Flaky::new();
    let hub = flaky_hub(&redis, &flaky).await;
    let mut client = hub.subscribe("match=/cache/shop", &[]).await;
    flaky.failing.store(true, Ordering::SeqCst);
    redis.cli(&["SET", "shop:v1:product:1", "{}"]);
    refused(&flaky, 1).await;
    flaky.failing.store(false, Ordering::SeqCst);
    let event = client.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","keys":["product:1"]}"#)
    );
}

#[tokio::test]
async fn an_invalidation_that_cannot_be_published_becomes_resets_of_the_namespaces() {
    let redis = RedisServer::start();
    let flaky = Flaky::new();
    let hub = flaky_hub(&redis, &flaky).await;
    let mut client = hub.subscribe("match=/cache/shop", &[]).await;
    flaky.failing.store(true, Ordering::SeqCst);
    redis.cli(&["SET", "shop:v1:product:1", "{}"]);
    // Every attempt at the invalidation, then one at the reset that replaces it.
    refused(&flaky, PUBLISH_ATTEMPTS + 1).await;
    assert_eq!(hub.health().await["bridge"], false);
    flaky.failing.store(false, Ordering::SeqCst);
    for _ in 0..2 {
        let reset = client
            .next_event_within(Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(field(&reset, "event"), Some("reset"), "{reset}");
        assert_eq!(
            field(&reset, "data"),
            Some(r#"{"v":1,"ns":"shop","reason":"bridge-lost"}"#)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while hub.health().await["bridge"] != true {
        assert!(Instant::now() < deadline, "bridge never recovered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    redis.cli(&["SET", "shop:v1:product:2", "{}"]);
    let event = client.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","keys":["product:2"]}"#)
    );
}
