//! Router-level tests with `oneshot`: publish, subscribe, replay, auth, limits and errors.
#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use std::net::SocketAddr;
use std::time::Duration;
use support::*;
use sync_server::config::{HubConfig, Limits};
use sync_server::token::TokenRequest;
use sync_server::{app, AppState};
use tower::ServiceExt;

async fn publish(state: &AppState, form: &str) -> String {
    let response = app(state.clone())
        .oneshot(publish_request(&publisher_token(), form))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    text(response).await
}

async fn subscribe(state: &AppState, query: &str) -> Events {
    let response = app(state.clone())
        .oneshot(subscribe_request(query))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    Events::new(response)
}

async fn error_of(state: &AppState, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    (status, serde_json::from_str(&text(response).await).unwrap())
}

#[tokio::test]
async fn publish_reaches_subscriber_with_sse_framing() {
    let state = state(config());
    let response = app(state.clone())
        .oneshot(subscribe_request("match=/books/1"))
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let mut events = Events::new(response);
    let hint = events.next().await.unwrap();
    assert!(hint.starts_with("retry: "), "{hint}");
    let id = publish(&state, "topic=/books/1&data=line1%0Aline2&type=update").await;
    publish(&state, "topic=/books/2&data=other").await;
    let event = events.next_event().await.unwrap();
    assert_eq!(
        event,
        format!("id: {id}\nevent: update\ndata: line1\ndata: line2\n\n")
    );
    assert!(
        events.is_quiet_for(Duration::from_millis(100)).await,
        "/books/2 leaked"
    );
}

#[tokio::test]
async fn topic_alias_and_url_patterns_select_topics() {
    let state = state(config());
    let mut legacy = subscribe(&state, "topic=/cache/shop").await;
    let mut template = subscribe(&state, "topic=/cache/{ns}").await;
    let mut pattern = subscribe(&state, "match_urlpattern=/cache/:ns").await;
    publish(&state, "topic=/cache/shop&data=x").await;
    assert!(legacy.next_event().await.unwrap().contains("data: x"));
    assert!(template.next_event().await.unwrap().contains("data: x"));
    assert!(pattern.next_event().await.unwrap().contains("data: x"));
}

#[tokio::test]
async fn publish_errors_follow_rfc_6750() {
    let state = state(config());
    let no_token = Request::post(sync_server::MERCURE_PATH)
        .body(Body::from("topic=/a&data=x"))
        .unwrap();
    let response = app(state.clone()).oneshot(no_token).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"mercure\""
    );

    let (status, body) = error_of(&state, publish_request("not.a.jwt", "topic=/a")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );

    let wrong_key = TokenRequest::new()
        .publish("*")
        .hs256(b"another-secret")
        .unwrap();
    let response = app(state.clone())
        .oneshot(publish_request(&wrong_key, "topic=/a&data=x"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    let narrow = TokenRequest::new().publish("/a").hs256(SECRET).unwrap();
    let (status, body) =
        error_of(&state, publish_request(&narrow, "topic=/a&topic=/b&data=x")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    let ok = app(state.clone())
        .oneshot(publish_request(&narrow, "topic=/a&data=x"))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["content-type"], "text/plain; charset=utf-8");
}

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
async fn private_updates_need_a_subscribe_grant() {
    let state = state(config());
    let mut anonymous = subscribe(&state, "match=/orders/1").await;
    let token = TokenRequest::new()
        .subscribe("/orders/1")
        .hs256(SECRET)
        .unwrap();
    let request = Request::get(format!("{}?match=/orders/1", sync_server::MERCURE_PATH))
        .header(
            "cookie",
            format!("theme=dark; mercureAuthorization={token}"),
        )
        .body(Body::empty())
        .unwrap();
    let mut authorized = Events::new(app(state.clone()).oneshot(request).await.unwrap());
    publish(&state, "topic=/orders/1&data=secret&private=on").await;
    publish(&state, "topic=/orders/1&data=public").await;
    assert!(authorized
        .next_event()
        .await
        .unwrap()
        .contains("data: secret"));
    assert!(authorized
        .next_event()
        .await
        .unwrap()
        .contains("data: public"));
    assert!(anonymous
        .next_event()
        .await
        .unwrap()
        .contains("data: public"));
}

#[tokio::test]
async fn anonymous_subscribers_only_when_configured() {
    let state = state(HubConfig::default());
    let (status, body) = error_of(&state, subscribe_request("match=/a")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_request"))
    );
    let token = TokenRequest::new().subscribe("/a").hs256(SECRET).unwrap();
    let request = Request::get(format!("{}?match=/a", sync_server::MERCURE_PATH))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app(state).oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn rs256_audience_and_issuer_are_checked() {
    let auth = sync_server::auth::Auth::new()
        .with_rs256_pem(RSA_PUBLIC)
        .unwrap()
        .with_audience(Some("hub".into()))
        .with_issuer(Some("shop-backend".into()));
    let state = AppState::embedded(config(), auth);
    let good = TokenRequest::new()
        .publish("*")
        .audience(Some("hub".into()))
        .issuer(Some("shop-backend".into()));
    let token = good.clone().rs256(RSA_PRIVATE).unwrap();
    let ok = app(state.clone())
        .oneshot(publish_request(&token, "topic=/a&data=x"))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    for bad in [
        good.clone()
            .audience(Some("other".into()))
            .rs256(RSA_PRIVATE)
            .unwrap(),
        good.clone().issuer(None).rs256(RSA_PRIVATE).unwrap(),
        good.clone().hs256(SECRET).unwrap(),
        good.ttl(Duration::ZERO).rs256(RSA_PRIVATE).unwrap(),
    ] {
        std::thread::sleep(Duration::from_millis(1));
        let (status, _) = error_of(&state, publish_request(&bad, "topic=/a&data=x")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn replay_resumes_after_a_known_cursor() {
    let state = state(config());
    let first = publish(&state, "topic=/a&data=1").await;
    publish(&state, "topic=/b&data=2").await;
    publish(&state, "topic=/a&data=3").await;
    let request = Request::get(format!("{}?match=/a", sync_server::MERCURE_PATH))
        .header("last-event-id", &first)
        .body(Body::empty())
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.headers()["mercure-last-event-id"], first.as_str());
    let mut events = Events::new(response);
    assert!(events.next_event().await.unwrap().contains("data: 3"));
    publish(&state, "topic=/a&data=4").await;
    assert!(events.next_event().await.unwrap().contains("data: 4"));

    let mut earliest = subscribe(&state, "match=/a&last_event_id=earliest").await;
    assert!(earliest.next_event().await.unwrap().contains("data: 1"));
}

#[tokio::test]
async fn unknown_or_foreign_cursors_get_a_reset() {
    let state = state(config());
    publish(&state, "topic=/a&data=1").await;
    for cursor in ["garbage", "abcdef-1-0", "urn:uuid:1234"] {
        let response = app(state.clone())
            .oneshot(subscribe_request(&format!(
                "match=/a&last_event_id={cursor}"
            )))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["mercure-last-event-id"], "earliest");
        let reset = Events::new(response).next_event().await.unwrap();
        assert_eq!(field(&reset, "event"), Some("reset"), "{reset}");
        assert_eq!(
            field(&reset, "data"),
            Some(r#"{"v":1,"reason":"continuity"}"#)
        );
        assert!(
            field(&reset, "id").is_some(),
            "a reset carries the cursor to resume from"
        );
    }
}

#[tokio::test]
async fn trimmed_history_gets_a_reset() {
    let state = state(HubConfig {
        history: 2,
        ..config()
    });
    let first = publish(&state, "topic=/a&data=1").await;
    for n in 2..=4 {
        publish(&state, &format!("topic=/a&data={n}")).await;
    }
    let mut events = subscribe(&state, &format!("match=/a&last_event_id={first}")).await;
    let reset = events.next_event().await.unwrap();
    assert_eq!(field(&reset, "event"), Some("reset"));
}

#[tokio::test]
async fn invalidate_publishes_on_the_namespace_topic() {
    let state = state(config());
    let mut events = subscribe(&state, "match=/cache/shop").await;
    let request = Request::post("/invalidate")
        .header("authorization", format!("Bearer {}", publisher_token()))
        .body(Body::from(
            r#"{"ns":"shop","keys":["product:42"],"tags":["catalog"]}"#,
        ))
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(body["topic"], "/cache/shop");
    let event = events.next_event().await.unwrap();
    assert_eq!(field(&event, "id"), body["id"].as_str());
    assert_eq!(field(&event, "event"), Some("invalidate"));
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","keys":["product:42"],"tags":["catalog"]}"#)
    );
    let bad = Request::post("/invalidate")
        .header("authorization", format!("Bearer {}", publisher_token()))
        .body(Body::from(r#"{"ns":"a:b","keys":["k"]}"#))
        .unwrap();
    let (status, body) = error_of(&state, bad).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("InvalidNamespace"))
    );
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_idle_streams_alive() {
    let state = state(HubConfig {
        heartbeat: Duration::from_secs(15),
        ..config()
    });
    let mut events = subscribe(&state, "match=/a").await;
    events.next().await.unwrap(); // retry hint
    let started = tokio::time::Instant::now();
    assert_eq!(
        events.next_within(Duration::from_secs(60)).await.unwrap(),
        ":\n\n"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(15));
}

#[tokio::test(start_paused = true)]
async fn a_stream_ends_when_its_token_expires() {
    let state = state(HubConfig::default());
    let token = TokenRequest::new()
        .subscribe("*")
        .ttl(Duration::from_secs(120))
        .hs256(SECRET)
        .unwrap();
    let request = Request::get(format!("{}?match=/a", sync_server::MERCURE_PATH))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let mut events = Events::new(app(state.clone()).oneshot(request).await.unwrap());
    let started = tokio::time::Instant::now();
    let mut last = None;
    while let Some(block) = events.next_within(Duration::from_secs(600)).await {
        last = Some(block);
    }
    assert_eq!(last.as_deref(), Some(": token expired\n\n"));
    let lived = started.elapsed();
    assert!(
        lived > Duration::from_secs(118) && lived <= Duration::from_secs(120),
        "{lived:?}"
    );
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

#[tokio::test]
async fn limits_answer_400_413_and_429() {
    let limits = Limits {
        connections_per_address: 2,
        topics_per_subscription: 3,
        max_body_bytes: 200,
        max_data_bytes: 50,
        ..Limits::default()
    };
    let state = state(HubConfig { limits, ..config() });
    let (status, _) = error_of(&state, subscribe_request("match=a&match=b&match=c&match=d")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = error_of(
        &state,
        publish_request(&publisher_token(), "topic=a&topic=b&topic=c&topic=d"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let big_data = format!("topic=/a&data={}", "x".repeat(51));
    let (status, body) = error_of(&state, publish_request(&publisher_token(), &big_data)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    let big_body = format!("topic=/a&data=x&pad={}", "x".repeat(300));
    let (status, _) = error_of(&state, publish_request(&publisher_token(), &big_body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let from = |ip: [u8; 4]| {
        let mut request = subscribe_request("match=/a");
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 5000))));
        request
    };
    let a = app(state.clone())
        .oneshot(from([10, 0, 0, 1]))
        .await
        .unwrap();
    let b = app(state.clone())
        .oneshot(from([10, 0, 0, 1]))
        .await
        .unwrap();
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

    // Behind a trusted proxy, the forwarded address is the one counted.
    let limits = Limits {
        connections_per_address: 1,
        ..Limits::default()
    };
    let proxied = support::state(HubConfig {
        limits,
        trust_forwarded_for: true,
        ..config()
    });
    let via_proxy = |client: &str| {
        let mut request = subscribe_request("match=/a");
        request
            .headers_mut()
            .insert("x-forwarded-for", client.parse().unwrap());
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 9, 9, 9], 80))));
        request
    };
    let first = app(proxied.clone())
        .oneshot(via_proxy("203.0.113.1, 10.9.9.9"))
        .await
        .unwrap();
    let second = app(proxied.clone())
        .oneshot(via_proxy("203.0.113.2"))
        .await
        .unwrap();
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let (status, _) = error_of(&proxied, via_proxy("203.0.113.1")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn shutdown_tells_streams_to_reconnect() {
    let state = state(config());
    let mut events = subscribe(&state, "match=/a").await;
    events.next().await.unwrap();
    state.shutdown.cancel();
    let retry = events.next().await.unwrap();
    assert!(retry.starts_with("retry: "), "{retry}");
    assert!(events.next().await.unwrap().contains("reconnect"));
    assert_eq!(events.next().await, None);
}

#[tokio::test]
async fn health_metrics_and_cors() {
    let state = state(HubConfig {
        cors_origins: vec!["https://app.example".into()],
        ..config()
    });
    let health = text(
        app(state.clone())
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap(),
    )
    .await;
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["transport"]["transport"], "embedded");
    publish(&state, "topic=/a&data=x").await;
    let metrics = text(
        app(state.clone())
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap(),
    )
    .await;
    for name in [
        "hub_connections",
        "hub_events_in_total 1",
        "hub_events_out_total",
        "hub_replays_total",
        "hub_resets_total",
        "hub_lagged_clients_total",
        "hub_publish_latency_seconds_count 1",
    ] {
        assert!(metrics.contains(name), "{name} missing in {metrics}");
    }
    let preflight = |origin: &str| {
        Request::options(sync_server::MERCURE_PATH)
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = app(state.clone())
        .oneshot(preflight("https://app.example"))
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let denied = app(state)
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(denied
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}
