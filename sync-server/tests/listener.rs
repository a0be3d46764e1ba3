//! The accept loop over real sockets: a subscription on a fresh connection is served outside
//! hyper (chunked, `connection: close`) with the same answers as through hyper; everything
//! unusual is left to hyper; closed clients and shutdown release every subscriber.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::IpAddr;
use std::time::Duration;
use support::hub::Hub;
use support::raw::{subscription, Head, Raw};
use support::*;
use sync_server::config::HubConfig;

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: hub\r\n\r\n";

/// A connection that already served a request: its next request goes through hyper.
async fn keep_alive(hub: &Hub) -> Raw {
    let mut raw = Raw::connect(&hub.url).await;
    raw.send(HEALTHZ).await;
    let head = raw.head().await;
    assert_eq!(head.status, 200);
    raw.body(&head).await;
    raw
}

#[tokio::test]
async fn a_subscription_on_a_fresh_connection_is_chunked_and_closes() {
    let hub = Hub::serve(state(config())).await;
    let mut raw = Raw::connect(&hub.url).await;
    raw.send(&subscription("/a", "")).await;
    let head = raw.head().await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(head.header("connection"), Some("close"));
    assert_eq!(head.header("cache-control"), Some("no-store"));
    assert!(head.header("mercure-last-event-id").is_some(), "{head:?}");
    assert!(head.header("date").is_some(), "{head:?}");
    assert!(raw.chunk().await.unwrap().starts_with("retry: "));
    let id = hub.publish("topic=/a&data=hello").await;
    let event = raw.chunk_containing("data: hello").await;
    assert_eq!(field(&event, "id"), Some(id.as_str()));
}

#[tokio::test]
async fn a_subscription_after_another_request_goes_through_hyper() {
    let hub = Hub::serve(state(config())).await;
    let mut raw = keep_alive(&hub).await;
    raw.send(&subscription("/a", "")).await;
    let head = raw.head().await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(head.header("connection"), None, "hyper keeps it alive");
    hub.publish("topic=/a&data=through-hyper").await;
    raw.chunk_containing("data: through-hyper").await;
}

/// Everything but the headers that say when and whether the connection stays.
fn comparable(head: &Head) -> Vec<(String, String)> {
    let mut headers: Vec<_> = head
        .headers
        .iter()
        .filter(|(n, _)| n != "date" && n != "connection")
        .cloned()
        .collect();
    headers.sort();
    headers
}

#[tokio::test]
async fn errors_are_answered_the_same_outside_and_through_hyper() {
    let cors = HubConfig {
        anonymous: false,
        cors_origins: vec!["http://app.test".into()],
        ..HubConfig::default()
    };
    let hub = Hub::serve(state(cors)).await;
    let cases = [
        subscription("/a", "origin: http://app.test\r\n"),
        subscription("/a", "authorization: Bearer not-a-token\r\n"),
        format!("GET {}?foo=bar HTTP/1.1\r\n\r\n", sync_server::MERCURE_PATH).into_bytes(),
    ];
    for request in cases {
        let mut lean = Raw::connect(&hub.url).await;
        lean.send(&request).await;
        let lean_head = lean.head().await;
        let lean_body = lean.body(&lean_head).await;
        assert_eq!(lean_head.header("connection"), Some("close"));
        assert!(lean.closed().await, "one request per connection");
        let mut hyper = keep_alive(&hub).await;
        hyper.send(&request).await;
        let hyper_head = hyper.head().await;
        let hyper_body = hyper.body(&hyper_head).await;
        assert!(matches!(lean_head.status, 400 | 401), "{lean_head:?}");
        assert_eq!(lean_head.status, hyper_head.status);
        assert_eq!(comparable(&lean_head), comparable(&hyper_head));
        assert_eq!(lean_body, hyper_body);
    }
}

#[tokio::test]
async fn a_client_that_goes_away_releases_its_subscription() {
    let hub = Hub::serve(state(config())).await;
    let localhost = Some(IpAddr::from([127, 0, 0, 1]));
    let mut raw = Raw::connect(&hub.url).await;
    raw.send(&subscription("/a", "")).await;
    assert_eq!(raw.head().await.status, 200);
    assert_eq!(hub.state.metrics.connections.get(), 1);
    assert_eq!(hub.state.connections.open(localhost), 1);
    drop(raw);
    // No event is published: the hub must notice the close by itself.
    let released = async {
        while hub.state.metrics.connections.get() != 0 || hub.state.connections.open(localhost) != 0
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), released)
        .await
        .expect("the subscription was not released");
    assert!(hub.state.metrics.render().contains("hub_connections 0"));
}

#[tokio::test]
async fn unusual_heads_are_left_to_hyper_and_never_break_the_hub() {
    let hub = Hub::serve(state(config())).await;
    let path = sync_server::MERCURE_PATH;
    // Malformed: hyper's 400.
    let mut raw = Raw::connect(&hub.url).await;
    raw.send(format!("GET {path}?match=/a HTTP/1.1\r\nBad Header\r\n\r\n").as_bytes())
        .await;
    assert_eq!(raw.head().await.status, 400);
    // Not HTTP at all (a TLS hello): answered or closed by hyper, never a panic.
    let mut raw = Raw::connect(&hub.url).await;
    raw.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")
        .await;
    drop(raw);
    // Larger than the lean path takes: served by hyper, a keep-alive answer.
    let big = format!("x-pad: {}\r\n", "p".repeat(sync_server::listener::MAX_HEAD));
    let mut raw = Raw::connect(&hub.url).await;
    raw.send(&subscription("/a", &big)).await;
    let head = raw.head().await;
    assert_eq!((head.status, head.header("connection")), (200, None));
    // HTTP/1.0 cannot be chunked: hyper streams it until the connection closes.
    let mut raw = Raw::connect(&hub.url).await;
    raw.send(format!("GET {path}?match=/a HTTP/1.0\r\n\r\n").as_bytes())
        .await;
    let head = raw.head().await;
    assert_eq!((head.status, head.header("transfer-encoding")), (200, None));
    // A body on the subscription: hyper's business too.
    let mut raw = Raw::connect(&hub.url).await;
    let with_body = subscription("/a", "content-length: 2\r\n");
    raw.send(&[&with_body[..], b"hi"].concat()).await;
    let head = raw.head().await;
    assert_eq!((head.status, head.header("connection")), (200, None));
    // A head that arrives in pieces is still recognized.
    let mut raw = Raw::connect(&hub.url).await;
    let request = subscription("/a", "");
    raw.send(&request[..10]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    raw.send(&request[10..]).await;
    let head = raw.head().await;
    assert_eq!(
        (head.status, head.header("connection")),
        (200, Some("close"))
    );
    // The hub still serves.
    assert_eq!(hub.health().await["status"], "ok");
}

#[tokio::test]
async fn shutdown_tells_subscribers_to_reconnect_and_serve_returns() {
    let mut hub = Hub::serve(state(config())).await;
    let mut lean = Raw::connect(&hub.url).await;
    lean.send(&subscription("/a", "")).await;
    assert_eq!(lean.head().await.header("connection"), Some("close"));
    let mut hyper = keep_alive(&hub).await;
    hyper.send(&subscription("/a", "")).await;
    assert_eq!(hyper.head().await.status, 200);
    // Connected, but no request yet: closed on shutdown.
    let mut idle = Raw::connect(&hub.url).await;
    assert!(lean.chunk().await.unwrap().starts_with("retry: "));
    hub.state.shutdown.cancel();
    for raw in [&mut lean, &mut hyper] {
        raw.chunk_containing("hub shutting down").await;
        assert_eq!(raw.chunk().await, None, "the last chunk");
    }
    assert!(lean.closed().await);
    assert!(idle.closed().await);
    assert!(hub.stopped_within(Duration::from_secs(5)).await);
}
