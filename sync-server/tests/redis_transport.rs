//! Integration tests of the Redis transport against a real redis-server per test.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};
use support::hub::Hub;
use support::redis_server::RedisServer;
use support::{config, field};
use sync_server::config::{HubConfig, Limits};

/// How long a client may wait for continuity news after Redis comes back.
const STALENESS: Duration = Duration::from_secs(5);

async fn wait_for_status(hub: &Hub, status: &str) {
    let deadline = Instant::now() + STALENESS;
    loop {
        if hub.health().await["status"] == status {
            return;
        }
        assert!(Instant::now() < deadline, "health never became {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A hub on `redis` whose log keeps about `history` entries.
async fn hub_keeping(redis: &RedisServer, history: usize) -> Hub {
    Hub::redis(
        &redis.url(),
        HubConfig {
            history,
            ..config()
        },
    )
    .await
}

#[tokio::test]
async fn two_instances_deliver_every_event_to_every_subscriber() {
    let redis = RedisServer::start();
    let a = Hub::redis(&redis.url(), config()).await;
    let b = Hub::redis(&redis.url(), config()).await;
    let mut on_a = a.subscribe("match=/cache/shop", &[]).await;
    let mut on_b = b.subscribe("match=/cache/shop", &[]).await;
    let first = a.publish("topic=/cache/shop&data=from-a").await;
    let second = b.publish("topic=/cache/shop&data=from-b").await;
    for client in [&mut on_a, &mut on_b] {
        let one = client.next_event().await.unwrap();
        let two = client.next_event().await.unwrap();
        assert_eq!(
            (field(&one, "id"), field(&one, "data")),
            (Some(first.as_str()), Some("from-a"))
        );
        assert_eq!(
            (field(&two, "id"), field(&two, "data")),
            (Some(second.as_str()), Some("from-b"))
        );
    }
    let stream_len = redis.cli(&["XLEN", "{hub}:log"]);
    assert_eq!(stream_len, "3", "marker + two updates");
}

#[tokio::test]
async fn any_instance_replays_after_a_reconnect() {
    let redis = RedisServer::start();
    let a = Hub::redis(&redis.url(), config()).await;
    let b = Hub::redis(&redis.url(), config()).await;
    let mut client = a.subscribe("match=/a", &[]).await;
    a.publish("topic=/a&data=1").await;
    let seen = client.next_event().await.unwrap();
    let cursor = field(&seen, "id").unwrap().to_owned();
    drop(client);
    a.publish("topic=/a&data=2").await;
    b.publish("topic=/b&data=not-mine").await;
    a.publish("topic=/a&data=3").await;
    for hub in [&a, &b] {
        let mut resumed = hub
            .subscribe("match=/a", &[("last-event-id", &cursor)])
            .await;
        assert_eq!(resumed.last_event_id.as_deref(), Some(cursor.as_str()));
        assert_eq!(
            field(&resumed.next_event().await.unwrap(), "data"),
            Some("2")
        );
        assert_eq!(
            field(&resumed.next_event().await.unwrap(), "data"),
            Some("3")
        );
        hub.publish("topic=/a&data=live").await;
        assert_eq!(
            field(&resumed.next_event().await.unwrap(), "data"),
            Some("live")
        );
    }
}

#[tokio::test]
async fn trimmed_or_foreign_cursors_get_a_reset() {
    let redis = RedisServer::start();
    let hub = hub_keeping(&redis, 5).await;
    let first = hub.publish("topic=/a&data=0").await;
    for n in 1..300 {
        hub.publish(&format!("topic=/a&data={n}")).await;
    }
    let mut client = hub
        .subscribe("match=/a", &[("last-event-id", &first)])
        .await;
    assert_eq!(client.last_event_id.as_deref(), Some("earliest"));
    assert_eq!(
        field(&client.next_event().await.unwrap(), "event"),
        Some("reset")
    );
    let foreign = first.replacen(first.split('-').next().unwrap(), "abc", 1);
    let mut client = hub
        .subscribe("match=/a", &[("last-event-id", &foreign)])
        .await;
    assert_eq!(
        field(&client.next_event().await.unwrap(), "event"),
        Some("reset")
    );
}

#[tokio::test]
async fn a_replay_longer_than_this_instance_reads_at_once_gets_a_reset() {
    let redis = RedisServer::start();
    // A rolling deploy: `short` reads at most 5 * 2 + 100 entries per replay, `long` keeps
    // a thousand in the log.
    let short = hub_keeping(&redis, 5).await;
    let long = hub_keeping(&redis, 1000).await;
    let first = long.publish("topic=/a&data=0").await;
    for n in 1..=200 {
        long.publish(&format!("topic=/a&data={n}")).await;
    }
    let mut client = short
        .subscribe("match=/a", &[("last-event-id", &first)])
        .await;
    assert_eq!(client.last_event_id.as_deref(), Some("earliest"));
    let reset = client.next_event().await.unwrap();
    assert_eq!(field(&reset, "event"), Some("reset"), "{reset}");
}

#[tokio::test]
async fn redis_restarting_empty_resets_clients_and_degrades_health_meanwhile() {
    let mut redis = RedisServer::start();
    let hub = Hub::redis(&redis.url(), config()).await;
    let mut client = hub.subscribe("match=/a", &[]).await;
    let before = hub.publish("topic=/a&data=before").await;
    client.next_event().await.unwrap();
    assert_eq!(hub.health().await["status"], "ok");

    redis.kill();
    wait_for_status(&hub, "degraded").await;
    let health = hub.health().await;
    assert_eq!(health["transport"]["ok"], false);
    // Subscribing still works while Redis is down: the stream starts with a reset.
    let mut during = hub
        .subscribe("match=/a", &[("last-event-id", &before)])
        .await;
    assert_eq!(
        (during.status, during.last_event_id.as_deref()),
        (200, Some("earliest"))
    );
    let reset = during.next_event().await.unwrap();
    assert_eq!(
        (field(&reset, "event"), field(&reset, "id")),
        (Some("reset"), None)
    );
    redis.restart_empty();

    let reset = client.next_event_within(STALENESS).await.unwrap();
    assert_eq!(field(&reset, "event"), Some("reset"), "{reset}");
    let new_epoch = field(&reset, "id")
        .unwrap()
        .split('-')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(Some(new_epoch.as_str()), before.split('-').next());
    wait_for_status(&hub, "ok").await;

    let after = hub.publish("topic=/a&data=after").await;
    assert!(after.starts_with(&new_epoch));
    assert_eq!(
        field(&client.next_event().await.unwrap(), "data"),
        Some("after")
    );
    let mut stale = hub
        .subscribe("match=/a", &[("last-event-id", &before)])
        .await;
    assert_eq!(
        field(&stale.next_event().await.unwrap(), "event"),
        Some("reset")
    );
}

/// The epoch of an event id `<epoch>-<ms>-<seq>`.
fn epoch_of(id: &str) -> &str {
    id.split('-').next().unwrap()
}

#[tokio::test]
async fn redis_restored_from_an_older_snapshot_starts_a_new_epoch() {
    let mut redis = RedisServer::start();
    let hub = Hub::redis(&redis.url(), config()).await;
    let mut client = hub.subscribe("match=/a", &[]).await;
    let kept = hub.publish("topic=/a&data=kept").await;
    client.next_event().await.unwrap();
    redis.save();
    // Acknowledged and delivered, then lost: the snapshot is older.
    let lost = hub.publish("topic=/a&data=lost-1").await;
    hub.publish("topic=/a&data=lost-2").await;
    for _ in 0..2 {
        client.next_event().await.unwrap();
    }
    redis.restart_from_snapshot();
    assert_eq!(redis.cli(&["GET", "{hub}:epoch"]), epoch_of(&kept));

    let reset = client.next_event_within(STALENESS).await.unwrap();
    assert_eq!(field(&reset, "event"), Some("reset"), "{reset}");
    let new_epoch = epoch_of(field(&reset, "id").unwrap()).to_owned();
    assert_ne!(new_epoch, epoch_of(&kept));
    wait_for_status(&hub, "ok").await;
    let after = hub.publish("topic=/a&data=after").await;
    assert_eq!(epoch_of(&after), new_epoch);
    assert_eq!(
        field(&client.next_event().await.unwrap(), "data"),
        Some("after")
    );
    // A cursor inside the lost entries cannot be replayed without a gap.
    let mut resumed = hub.subscribe("match=/a", &[("last-event-id", &lost)]).await;
    assert_eq!(resumed.last_event_id.as_deref(), Some("earliest"));
    let reset = resumed.next_event().await.unwrap();
    assert_eq!(field(&reset, "event"), Some("reset"), "{reset}");
}

#[tokio::test]
async fn a_redis_restart_starts_a_new_epoch_even_when_its_snapshot_is_current() {
    let mut redis = RedisServer::start();
    let hub = Hub::redis(&redis.url(), config()).await;
    let mut client = hub.subscribe("match=/a", &[]).await;
    let before = hub.publish("topic=/a&data=before").await;
    client.next_event().await.unwrap();
    // Nothing after the snapshot, so the log looks intact; only the restart says that it
    // may not be.
    redis.save();
    redis.restart_from_snapshot();
    let reset = client.next_event_within(STALENESS).await.unwrap();
    assert_eq!(field(&reset, "event"), Some("reset"), "{reset}");
    assert_ne!(epoch_of(field(&reset, "id").unwrap()), epoch_of(&before));
}

#[tokio::test]
async fn a_subscriber_without_a_cursor_starts_where_this_instance_is_even_with_redis_down() {
    let mut redis = RedisServer::start();
    let hub = Hub::redis(&redis.url(), config()).await;
    let mut early = hub.subscribe("match=/a", &[]).await;
    let last = hub.publish("topic=/a&data=one").await;
    early.next_event().await.unwrap();
    redis.kill();
    wait_for_status(&hub, "degraded").await;
    // Nothing to replay: it starts after the last event this instance delivered, with no
    // round trip to Redis and no reset, like the streams that were already open.
    let mut fresh = hub.subscribe("match=/a", &[]).await;
    assert_eq!(
        (fresh.status, fresh.last_event_id.as_deref()),
        (200, Some(last.as_str()))
    );
    assert!(fresh
        .next_within(Duration::from_secs(5))
        .await
        .unwrap()
        .starts_with("retry:"));
    redis.restart_empty();
    // The log is gone: both hear it the same way.
    for client in [&mut early, &mut fresh] {
        let reset = client.next_event_within(STALENESS).await.unwrap();
        assert_eq!(field(&reset, "event"), Some("reset"), "{reset}");
    }
    wait_for_status(&hub, "ok").await;
    hub.publish("topic=/a&data=after").await;
    for client in [&mut early, &mut fresh] {
        let event = client.next_event().await.unwrap();
        assert_eq!(field(&event, "data"), Some("after"));
    }
}

#[tokio::test]
async fn a_deleted_stream_starts_a_new_epoch() {
    let redis = RedisServer::start();
    let hub = Hub::redis(&redis.url(), config()).await;
    let mut client = hub.subscribe("match=/a", &[]).await;
    hub.publish("topic=/a&data=x").await;
    client.next_event().await.unwrap();
    redis.cli(&["DEL", "{hub}:log"]);
    let reset = client.next_event_within(STALENESS).await.unwrap();
    assert_eq!(field(&reset, "event"), Some("reset"));
}

#[tokio::test]
async fn entries_trimmed_before_the_tail_read_them_reset_subscribers_instead_of_leaving_a_gap() {
    let redis = RedisServer::start();
    let hub = hub_keeping(&redis, 5).await;
    let mut client = hub.subscribe("match=/a", &[]).await;
    hub.publish("topic=/a&data=before").await;
    client.next_event().await.unwrap();
    // Another instance appends 50 entries, trimming to 5, in one script: the tail reads
    // after its position only once they are all there, and the entries that followed its
    // position are gone.
    let script = "for i = 1, 50 do \
                  redis.call('XADD', KEYS[1], 'MAXLEN', 5, '*', 'u', ARGV[1] .. i .. '\"}') \
                  end";
    let update = r#"{"topics":["/a"],"data":"gap-"#;
    redis.cli(&["EVAL", script, "1", "{hub}:log", update]);
    assert_eq!(redis.cli(&["XLEN", "{hub}:log"]), "5");
    let first = client.next_event_within(STALENESS).await.unwrap();
    assert_eq!(field(&first, "event"), Some("reset"), "{first}");
    hub.publish("topic=/a&data=after").await;
    let next = client.next_event().await.unwrap();
    assert_eq!(field(&next, "data"), Some("after"), "{next}");
}

#[tokio::test]
async fn a_killed_subscriber_connection_frees_its_slot() {
    let redis = RedisServer::start();
    let limits = Limits {
        connections_per_address: 1,
        ..Limits::default()
    };
    let config = HubConfig {
        limits,
        heartbeat: Duration::from_millis(50),
        ..config()
    };
    let hub = Hub::redis(&redis.url(), config).await;
    let mut other = hub.subscribe("match=/b", &[]).await;
    assert_eq!(other.status, 200);
    let refused = hub.subscribe("match=/a", &[]).await;
    assert_eq!(refused.status, 429, "one connection per address");
    drop(other.next_within(Duration::from_secs(2)).await);
    drop(other);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = hub.subscribe("match=/a", &[]).await;
        if again.status == 200 {
            hub.publish("topic=/a&data=still-works").await;
            assert_eq!(
                field(&again.next_event().await.unwrap(), "data"),
                Some("still-works")
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed connection's slot was never released"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_slow_subscriber_is_cut_off_over_tcp() {
    let redis = RedisServer::start();
    let limits = Limits {
        subscriber_queue: 8,
        ..Limits::default()
    };
    let hub = Hub::redis(
        &redis.url(),
        HubConfig {
            limits,
            history: 1000,
            ..config()
        },
    )
    .await;
    let mut slow = hub.subscribe("match=/a", &[]).await;
    let mut fast = hub.subscribe("match=/a", &[]).await;
    let payload = "x".repeat(128 * 1024);
    for n in 0..200 {
        hub.publish(&format!("topic=/a&data={n}{payload}")).await;
        let event = fast.next_event().await.unwrap();
        assert!(field(&event, "data").unwrap().starts_with(&n.to_string()));
    }
    let mut saw_reset = false;
    while let Some(block) = slow.next_within(Duration::from_secs(5)).await {
        saw_reset |= field(&block, "event") == Some("reset");
    }
    assert!(saw_reset, "the slow subscriber was told to resync");
    hub.publish("topic=/a&data=after").await;
    assert_eq!(
        field(&fast.next_event().await.unwrap(), "data"),
        Some("after")
    );
}

#[tokio::test]
async fn a_stream_closes_when_its_token_expires() {
    let redis = RedisServer::start();
    let hub = Hub::redis(&redis.url(), HubConfig::default()).await;
    let token = sync_server::token::TokenRequest::new()
        .subscribe("*")
        .ttl(Duration::from_secs(2))
        .hs256(support::SECRET)
        .unwrap();
    let started = Instant::now();
    let auth = format!("Bearer {token}");
    let mut client = hub.subscribe("match=/a", &[("authorization", &auth)]).await;
    assert_eq!(client.status, 200);
    let mut last = None;
    while let Some(block) = client.next_within(Duration::from_secs(4)).await {
        last = Some(block);
    }
    assert_eq!(last.as_deref(), Some(": token expired\n\n"));
    assert!(started.elapsed() <= Duration::from_secs(3));
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_disconnected() {
    use std::io::Write;
    let redis = RedisServer::start();
    let hub = Hub::redis(&redis.url(), config()).await;
    let hub = Hub::serve_with_write_timeout(hub.state.clone(), Duration::from_millis(500)).await;
    let address = hub.url.trim_start_matches("http://").to_owned();
    // A raw client that sends its request and never reads a byte.
    let mut stalled = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stalled,
        "GET /.well-known/mercure?match=/a HTTP/1.1\r\nHost: hub\r\n\r\n"
    )
    .unwrap();
    let mut reader = hub.subscribe("match=/a", &[]).await;
    let gauge = || hub.state.metrics.render();
    assert!(gauge().contains("hub_connections 2"), "{}", gauge());
    let payload = "x".repeat(128 * 1024);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 0;
    while !gauge().contains("hub_connections 1") {
        assert!(
            Instant::now() < deadline,
            "the stalled subscriber was never disconnected"
        );
        hub.publish(&format!("topic=/a&data={n}{payload}")).await;
        reader.next_event().await.unwrap();
        n += 1;
    }
    hub.publish("topic=/a&data=after").await;
    assert_eq!(
        field(&reader.next_event().await.unwrap(), "data"),
        Some("after")
    );
    drop(stalled);
}

/// The (ms, seq) offset of an event id `<epoch>-<ms>-<seq>`.
fn offset_of(id: &str) -> (u64, u64) {
    let mut parts = id.rsplitn(3, '-');
    let seq = parts.next().unwrap().parse().unwrap();
    let ms = parts.next().unwrap().parse().unwrap();
    (ms, seq)
}

#[tokio::test]
async fn own_events_reach_local_subscribers_once_and_in_order_while_others_publish() {
    const PER_PUBLISHER: usize = 50;
    let redis = RedisServer::start();
    let a = Hub::redis(&redis.url(), config()).await;
    let b = Hub::redis(&redis.url(), config()).await;
    let mut on_a = a.subscribe("match=/a", &[]).await;
    let mut on_b = b.subscribe("match=/a", &[]).await;
    // Two publishers per instance at once: appends interleave, and answers race the tails.
    let publishers = (0..4).map(|p| {
        let hub = if p % 2 == 0 { &a } else { &b };
        async move {
            for n in 0..PER_PUBLISHER {
                hub.publish(&format!("topic=/a&data={p}-{n}")).await;
            }
        }
    });
    futures_util::future::join_all(publishers).await;
    a.publish("topic=/a&data=last").await;
    let mut seen = Vec::new();
    for client in [&mut on_a, &mut on_b] {
        let mut events = Vec::new();
        for _ in 0..4 * PER_PUBLISHER {
            let event = client.next_event().await.unwrap();
            let id = field(&event, "id").unwrap().to_owned();
            events.push((id, field(&event, "data").unwrap().to_owned()));
        }
        // Nothing sent twice in between: `last` follows at once.
        let last = client.next_event().await.unwrap();
        assert_eq!(field(&last, "data"), Some("last"));
        let offsets: Vec<_> = events.iter().map(|(id, _)| offset_of(id)).collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "log order");
        let mut data: Vec<_> = events.iter().map(|(_, d)| d.clone()).collect();
        data.sort();
        data.dedup();
        assert_eq!(data.len(), 4 * PER_PUBLISHER, "each event once");
        seen.push(events);
    }
    assert_eq!(seen[0], seen[1], "both instances deliver the same sequence");
}
