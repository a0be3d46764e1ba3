//! Each limit, through `oneshot`: 400, 413, 429, the per-subscriber queue, and control
//! characters that must never reach an SSE field.
#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use std::net::SocketAddr;
use support::*;
use sync_server::config::{HubConfig, Limits};
use sync_server::{app, AppState};
use tower::ServiceExt;

#[tokio::test]
async fn control_characters_are_rejected_never_echoed() {
    let state = state(config());
    for form in [
        "topic=/a%0Aid: evil&data=x",
        "topic=/a%0D&data=x",
        "topic=/a%00&data=x",
        "topic=/a&id=1%0Adata: evil&data=x",
        "topic=/a&type=x%0Aevent: y&data=x",
        "topic=/a&retry=soon&data=x",
        "data=no-topic",
        "topic=&data=empty-topic",
    ] {
        let (status, body) = error_of(&state, publish_request(&publisher_token(), form)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form}");
        assert_eq!(body["error"], "bad_request", "{form}");
    }
    for query in [
        "match=/a%0Ab",
        "match=/a%0D",
        "match=%00",
        "",
        "last_event_id=x",
    ] {
        let (status, _) = error_of(&state, subscribe_request(query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn a_slow_subscriber_is_cut_off_and_others_are_not() {
    let limits = Limits {
        subscriber_queue: 4,
        ..Limits::default()
    };
    let state = state(HubConfig { limits, ..config() });
    let mut slow = subscribe(&state, "match=/a").await;
    let mut fast = subscribe(&state, "match=/a").await;
    for n in 0..10 {
        publish(&state, &format!("topic=/a&data={n}")).await;
        assert!(fast
            .next_event()
            .await
            .unwrap()
            .contains(&format!("data: {n}\n")));
    }
    let reset = slow.next_event().await.unwrap();
    assert_eq!(field(&reset, "event"), Some("reset"));
    while slow.next().await.is_some() {}
    publish(&state, "topic=/a&data=after").await;
    assert!(fast.next_event().await.unwrap().contains("data: after"));
    assert!(state
        .metrics
        .render()
        .contains("hub_lagged_clients_total 1"));
}

fn limited(limits: Limits) -> AppState {
    state(HubConfig { limits, ..config() })
}

#[tokio::test]
async fn too_many_topics_is_a_400() {
    let state = limited(Limits {
        topics_per_subscription: 3,
        ..Limits::default()
    });
    let mut ok = subscribe(&state, "match=a&match=b&match=c").await;
    assert!(ok.next().await.is_some());
    let (status, _) = error_of(&state, subscribe_request("match=a&match=b&match=c&match=d")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = error_of(
        &state,
        subscribe_request("match=a&topic=b&match_urlpattern=/c&match=d"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let form = "topic=a&topic=b&topic=c&topic=d&data=x";
    let (status, _) = error_of(&state, publish_request(&publisher_token(), form)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn oversized_data_and_bodies_are_a_413() {
    let state = limited(Limits {
        max_body_bytes: 200,
        max_data_bytes: 50,
        ..Limits::default()
    });
    publish(&state, &format!("topic=/a&data={}", "x".repeat(50))).await;
    let big_data = format!("topic=/a&data={}", "x".repeat(51));
    let (status, body) = error_of(&state, publish_request(&publisher_token(), &big_data)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    let big_body = format!("topic=/a&data=x&pad={}", "x".repeat(300));
    let (status, _) = error_of(&state, publish_request(&publisher_token(), &big_body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let invalidate = Request::post("/invalidate")
        .header("authorization", format!("Bearer {}", publisher_token()))
        .body(Body::from(format!(
            r#"{{"ns":"shop","keys":["{}"]}}"#,
            "k".repeat(300)
        )))
        .unwrap();
    let (status, _) = error_of(&state, invalidate).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn an_invalidation_whose_data_is_over_the_data_limit_is_a_413() {
    let state = limited(Limits {
        max_body_bytes: 10_000,
        max_data_bytes: 100,
        ..Limits::default()
    });
    let invalidate = |keys: &[String]| {
        let body = serde_json::json!({ "ns": "shop", "keys": keys }).to_string();
        Request::post("/invalidate")
            .header("authorization", format!("Bearer {}", publisher_token()))
            .body(Body::from(body))
            .unwrap()
    };
    let small = invalidate(&["product:1".to_owned()]);
    let response = app(state.clone()).oneshot(small).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // A body well within max_body_bytes whose published data is not within max_data_bytes.
    let keys: Vec<String> = (0..20).map(|n| format!("product:{n}")).collect();
    let (status, body) = error_of(&state, invalidate(&keys)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    assert!(body["message"].as_str().unwrap().contains("100"), "{body}");
}

fn from(ip: [u8; 4]) -> Request<Body> {
    let mut request = subscribe_request("match=/a");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 5000))));
    request
}

#[tokio::test]
async fn too_many_connections_from_one_address_is_a_429() {
    let state = limited(Limits {
        connections_per_address: 2,
        ..Limits::default()
    });
    let a = app(state.clone())
        .oneshot(from([10, 0, 0, 1]))
        .await
        .unwrap();
    let b = app(state.clone())
        .oneshot(from([10, 0, 0, 1]))
        .await
        .unwrap();
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let (status, body) = error_of(&state, from([10, 0, 0, 1])).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_connections"))
    );
    let other = app(state.clone())
        .oneshot(from([10, 0, 0, 2]))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    drop(a);
    let again = app(state.clone())
        .oneshot(from([10, 0, 0, 1]))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    drop(b);
}

/// A request from the proxy at 10.9.9.9 carrying `X-Forwarded-For` lines `forwarded`.
fn via_proxy(forwarded: &[&str]) -> Request<Body> {
    let mut request = from([10, 9, 9, 9]);
    for line in forwarded {
        request
            .headers_mut()
            .append("x-forwarded-for", line.parse().unwrap());
    }
    request
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_address_it_saw_is_counted() {
    let limits = Limits {
        connections_per_address: 1,
        ..Limits::default()
    };
    let proxied = state(HubConfig {
        limits,
        trust_forwarded_for: true,
        ..config()
    });
    // The proxy appends the address it saw to whatever the client sent: only the last entry
    // is the proxy's word, the ones before are the client's choice.
    // Statuses only: an accepted subscription's body never ends.
    let subscribe = |forwarded: &[&str]| app(proxied.clone()).oneshot(via_proxy(forwarded));
    let first = subscribe(&["1.1.1.1, 10.0.0.5"]).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let spoofed = subscribe(&["2.2.2.2, 10.0.0.5"]).await.unwrap();
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
    // A proxy may append a header line of its own instead.
    let spoofed = subscribe(&["3.3.3.3", "10.0.0.5"]).await.unwrap();
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = subscribe(&["10.0.0.5", "10.0.0.6"]).await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    drop(first);
}
