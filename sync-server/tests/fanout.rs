//! The direct fan-out over real sockets: subscriptions on fresh connections get their live
//! events written by the hub-wide fan-out. Every event reaches every subscriber once, in log
//! order, whether its socket took it at once or it waited in the subscriber's queue, and
//! whether the subscriber joined before, during or after a burst of publications.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};
use support::hub::{Hub, SseClient};
use support::raw::{subscription, Raw};
use support::*;
use sync_server::config::{HubConfig, Limits};
use sync_server::token::TokenRequest;

/// The number an event's data starts with (`<n>` or `<n>-<padding>`).
fn number(block: &str) -> u64 {
    let data = field(block, "data").unwrap();
    data.split('-').next().unwrap().parse().unwrap()
}

/// The offset of an embedded-transport id (`<epoch>-<n>-0`).
fn offset(id: &str) -> u64 {
    id.split('-').nth(1).unwrap().parse().unwrap()
}

/// Reads events until `last`, asserting they are exactly `first..=last`.
async fn expect_sequence(client: &mut SseClient, first: u64, last: u64) {
    for n in first..=last {
        let event = client
            .next_event_within(Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("the stream ended before event {n}"));
        assert_eq!(number(&event), n, "events arrive once and in order");
    }
}

#[tokio::test]
async fn a_subscriber_whose_socket_is_full_gets_every_event_later_in_order() {
    let hub = Hub::serve(state(config())).await;
    let mut slow = hub.subscribe("match=/a", &[]).await;
    let mut fast = hub.subscribe("match=/a", &[]).await;
    // 300 events of 64 KiB: far more than the loopback socket buffers hold, so most of
    // them wait in the slow subscriber's queue while it does not read.
    let padding = "x".repeat(64 * 1024);
    for n in 1..=300 {
        hub.publish(&format!("topic=/a&data={n}-{padding}")).await;
        assert_eq!(number(&fast.next_event().await.unwrap()), n);
    }
    expect_sequence(&mut slow, 1, 300).await;
    hub.publish("topic=/a&data=301").await;
    expect_sequence(&mut slow, 301, 301).await;
    assert!(
        !hub.state
            .metrics
            .render()
            .contains("hub_lagged_clients_total 1"),
        "a queue within its bound is not a lag"
    );
}

#[tokio::test]
async fn subscribers_joining_while_events_flow_miss_none_and_repeat_none() {
    let hub = Arc::new(
        Hub::serve(state(HubConfig {
            limits: Limits {
                subscriber_queue: 4096,
                ..Limits::default()
            },
            ..config()
        }))
        .await,
    );
    let first = hub.publish("topic=/a&data=1").await;
    let epoch = first.split('-').next().unwrap().to_owned();
    const LAST: u64 = 400;
    let publisher = {
        let hub = Arc::clone(&hub);
        tokio::spawn(async move {
            for n in 2..=LAST {
                hub.publish(&format!("topic=/a&data={n}")).await;
            }
        })
    };
    let mut readers = Vec::new();
    for i in 0..24u64 {
        // Half start now (no cursor), half resume from an event already published, so
        // both the live join and the replay-then-join hand-over race the publisher.
        let cursor = format!("{epoch}-{}-0", 1 + i * 3);
        let resume = i % 2 == 1;
        let mut client = if resume {
            hub.subscribe(&format!("match=/a&last_event_id={cursor}"), &[])
                .await
        } else {
            hub.subscribe("match=/a", &[]).await
        };
        let start = offset(client.last_event_id.as_deref().unwrap());
        if resume {
            assert_eq!(start, 1 + i * 3, "the stream starts at the cursor");
        }
        readers.push(tokio::spawn(async move {
            expect_sequence(&mut client, start + 1, LAST).await;
        }));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    publisher.await.unwrap();
    for reader in readers {
        reader.await.unwrap();
    }
}

#[tokio::test]
async fn direct_subscribers_get_heartbeats_when_idle() {
    let hub = Hub::serve(state(HubConfig {
        heartbeat: Duration::from_millis(200),
        ..config()
    }))
    .await;
    let subscribed = Instant::now();
    let mut comments = hub.subscribe("match=/a", &[]).await;
    let mut events = hub.subscribe("match=/a&heartbeat=event", &[]).await;
    let wait = Duration::from_secs(5);
    assert!(comments
        .next_within(wait)
        .await
        .unwrap()
        .starts_with("retry:"));
    assert_eq!(comments.next_within(wait).await.unwrap(), ":\n\n");
    let first = Instant::now();
    assert!(first - subscribed >= Duration::from_millis(200));
    // An event 150 ms after that heartbeat: silence is measured from the last frame written,
    // so the next heartbeat comes 200 ms after the event (350 ms after the first one), not
    // 200 ms after the first heartbeat. Lateness on either side only lengthens the gap.
    tokio::time::sleep(Duration::from_millis(150)).await;
    hub.publish("topic=/a&data=1").await;
    assert_eq!(number(&comments.next_within(wait).await.unwrap()), 1);
    assert_eq!(comments.next_within(wait).await.unwrap(), ":\n\n");
    assert!(
        first.elapsed() >= Duration::from_millis(300),
        "{:?}",
        first.elapsed()
    );

    let said = "event: heartbeat\ndata: {\"interval_ms\":200}\n\n";
    assert_eq!(events.next_within(wait).await.unwrap(), said);
    let mut heartbeats = 0;
    while heartbeats < 2 {
        let block = events.next_within(wait).await.unwrap();
        heartbeats += usize::from(block == said);
    }
}

#[tokio::test]
async fn subscribers_that_leave_are_dropped_from_the_fan_out() {
    let hub = Hub::serve(state(config())).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(hub.subscribe("match=/a", &[]).await);
    }
    hub.publish("topic=/a&data=1").await;
    for client in &mut clients {
        expect_sequence(client, 1, 1).await;
    }
    assert_eq!(hub.state.fanout.subscribers(), 5);
    drop(clients);
    let deadline = Instant::now() + Duration::from_secs(5);
    while hub.state.fanout.subscribers() > 0 {
        assert!(
            Instant::now() < deadline,
            "closed subscribers stay in the fan-out"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut next = hub.subscribe("match=/a", &[]).await;
    hub.publish("topic=/a&data=2").await;
    expect_sequence(&mut next, 2, 2).await;
}

#[tokio::test]
async fn shutdown_reaches_a_subscriber_with_a_full_queue_without_waiting_for_it() {
    let mut hub = Hub::serve(state(config())).await;
    let mut slow = hub.subscribe("match=/a", &[]).await;
    let padding = "x".repeat(64 * 1024);
    for n in 1..=300 {
        hub.publish(&format!("topic=/a&data={n}-{padding}")).await;
    }
    hub.state.shutdown.cancel();
    // What the socket already held arrives, then the goodbye: the queued events are
    // dropped (the client resumes from the last event it read), not written first.
    let (mut events, mut last) = (0, None);
    while let Some(block) = slow.next_within(Duration::from_secs(10)).await {
        if block.contains("data:") {
            events += 1;
            assert_eq!(number(&block), events, "in order, none skipped");
        }
        last = Some(block);
    }
    assert!(
        events < 300,
        "the whole queue was written before the shutdown"
    );
    assert!(
        last.as_deref()
            .is_some_and(|b| b.contains("hub shutting down")),
        "{last:?}"
    );
    assert!(hub.stopped_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn shutdown_cuts_a_long_replay_to_a_slow_reader_short() {
    let mut hub = Hub::serve(state(config())).await;
    let padding = "x".repeat(64 * 1024);
    for n in 1..=300 {
        hub.publish(&format!("topic=/a&data={n}-{padding}")).await;
    }
    // A fresh connection (so served by the fan-out) whose replay fills its socket.
    let mut slow = hub.subscribe("match=/a&last_event_id=earliest", &[]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    hub.state.shutdown.cancel();
    let (mut events, mut last) = (0, None);
    while let Some(block) = slow.next_within(Duration::from_secs(10)).await {
        if block.contains("data:") {
            events += 1;
            assert_eq!(number(&block), events, "in order, none skipped");
        }
        last = Some(block);
    }
    assert!(
        events < 300,
        "the whole replay was written before the shutdown"
    );
    assert!(
        last.as_deref()
            .is_some_and(|b| b.contains("hub shutting down")),
        "{last:?}"
    );
    assert!(hub.stopped_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn token_expiry_cuts_a_long_replay_to_a_slow_reader_short() {
    let hub = Hub::serve(state(config())).await;
    let padding = "x".repeat(64 * 1024);
    for n in 1..=300 {
        hub.publish(&format!("topic=/a&data={n}-{padding}")).await;
    }
    let token = TokenRequest::new()
        .subscribe("*")
        .ttl(Duration::from_secs(2))
        .hs256(SECRET)
        .unwrap();
    let bearer = format!("Bearer {token}");
    let mut slow = hub
        .subscribe(
            "match=/a&last_event_id=earliest",
            &[("authorization", &bearer)],
        )
        .await;
    // Not reading until the token has expired (whole seconds: 1 to 2 s from now).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (mut events, mut last) = (0, None);
    while let Some(block) = slow.next_within(Duration::from_secs(10)).await {
        if block.contains("data:") {
            events += 1;
            assert_eq!(number(&block), events, "in order, none skipped");
        }
        last = Some(block);
    }
    assert!(
        events < 300,
        "the whole replay was written after the token expired"
    );
    assert_eq!(last.as_deref(), Some(": token expired\n\n"));
}

/// A hub whose heartbeat (50 ms) comes far more often than its write timeout (1 s), so a
/// stalled write is interrupted by heartbeats many times before it may fail.
async fn hub_beating_faster_than_its_write_timeout(subscriber_queue: usize) -> Hub {
    let config = HubConfig {
        heartbeat: Duration::from_millis(50),
        limits: Limits {
            subscriber_queue,
            ..Limits::default()
        },
        ..config()
    };
    Hub::serve_with_write_timeout(state(config), Duration::from_secs(1)).await
}

/// A subscriber on a fresh connection (so served by the fan-out) that reads its answer's
/// head and then nothing more.
async fn stalled_subscriber(hub: &Hub) -> Raw {
    let mut raw = Raw::connect(&hub.url).await;
    raw.send(&subscription("/a", "")).await;
    assert_eq!(raw.head().await.status, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    while hub.state.fanout.subscribers() == 0 {
        assert!(Instant::now() < deadline, "the subscriber never joined");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    raw
}

/// Waits up to `wait` for the fan-out to have no subscriber left.
async fn subscribers_gone_within(hub: &Hub, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while hub.state.fanout.subscribers() > 0 {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_cut_off_although_heartbeats_keep_coming() {
    let hub = hub_beating_faster_than_its_write_timeout(4).await;
    let _stalled = stalled_subscriber(&hub).await;
    // Fill its socket, then its queue: it is cut off, and the reset waits behind a chunk
    // the client never takes.
    let padding = "x".repeat(64 * 1024);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !hub
        .state
        .metrics
        .render()
        .contains("hub_lagged_clients_total 1")
    {
        assert!(Instant::now() < deadline, "the queue never filled");
        hub.publish(&format!("topic=/a&data={padding}")).await;
    }
    assert!(
        subscribers_gone_within(&hub, Duration::from_secs(10)).await,
        "a write without progress for the write timeout must end the stream"
    );
}

#[tokio::test]
async fn shutdown_ends_a_subscriber_that_stopped_reading_within_the_write_timeout() {
    let mut hub = hub_beating_faster_than_its_write_timeout(1024).await;
    let _stalled = stalled_subscriber(&hub).await;
    // Far more than the loopback buffers hold, and less than the queue bound.
    let padding = "x".repeat(64 * 1024);
    for _ in 0..200 {
        hub.publish(&format!("topic=/a&data={padding}")).await;
    }
    hub.state.shutdown.cancel();
    // Its goodbye waits behind a chunk the client never takes: the stream ends once the
    // write timeout (1 s) passes without progress, and graceful shutdown with it.
    assert!(hub.stopped_within(Duration::from_secs(10)).await);
    assert_eq!(hub.state.fanout.subscribers(), 0);
}
