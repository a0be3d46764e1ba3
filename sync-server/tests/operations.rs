//! Heartbeats, token expiry, shutdown, health, metrics and CORS, through `oneshot`.
#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Body;
use axum::http::Request;
use std::time::Duration;
use support::*;
use sync_server::app;
use sync_server::config::HubConfig;
use sync_server::token::TokenRequest;
use tower::ServiceExt;

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
async fn heartbeat_events_on_request_carry_the_interval() {
    let state = state(HubConfig {
        heartbeat: Duration::from_secs(15),
        ..config()
    });
    let mut events = subscribe(&state, "match=/a&heartbeat=event").await;
    let heartbeat = "event: heartbeat\ndata: {\"interval_ms\":15000}\n\n";
    assert_eq!(
        events.next().await.unwrap(),
        heartbeat,
        "said once at the start"
    );
    events.next().await.unwrap(); // retry hint
    assert_eq!(
        events.next_within(Duration::from_secs(60)).await.unwrap(),
        "event: heartbeat\ndata: {\"interval_ms\":15000}\n\n"
    );
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
async fn a_token_expiring_past_what_the_clock_can_hold_is_accepted_and_never_ends_the_stream() {
    let state = state(HubConfig::default());
    // u64::MAX seconds is past what SystemTime holds; i64::MAX seconds is just within it.
    for exp in [u64::MAX, i64::MAX.unsigned_abs()] {
        let claims = serde_json::json!({
            "exp": exp,
            "mercure": {"publish": ["*"], "subscribe": ["*"]},
        });
        let key = jsonwebtoken::EncodingKey::from_secret(SECRET);
        let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap();
        let request = Request::get(format!("{}?match=/a", sync_server::MERCURE_PATH))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = app(state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200, "exp {exp}");
        let mut events = Events::new(response);
        let response = app(state.clone())
            .oneshot(publish_request(&token, &format!("topic=/a&data={exp}")))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "exp {exp}");
        let event = events.next_event().await.unwrap();
        assert_eq!(field(&event, "data"), Some(exp.to_string().as_str()));
    }
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
async fn shutdown_cuts_a_replay_short() {
    let state = state(config());
    for n in 1..=50 {
        publish(&state, &format!("topic=/a&data={n}")).await;
    }
    let mut events = subscribe(&state, "match=/a&last_event_id=earliest").await;
    events.next().await.unwrap(); // retry hint
    assert_eq!(field(&events.next().await.unwrap(), "data"), Some("1"));
    state.shutdown.cancel();
    // The rest of the replay is dropped: the client resumes from the last event it read.
    let retry = events.next().await.unwrap();
    assert!(retry.starts_with("retry: "), "{retry}");
    assert!(events.next().await.unwrap().contains("reconnect"));
    assert_eq!(events.next().await, None);
}

#[tokio::test(start_paused = true)]
async fn token_expiry_cuts_a_replay_short() {
    let state = state(config());
    for n in 1..=50 {
        publish(&state, &format!("topic=/a&data={n}")).await;
    }
    let token = TokenRequest::new()
        .subscribe("*")
        .ttl(Duration::from_secs(120))
        .hs256(SECRET)
        .unwrap();
    let request = Request::get(format!(
        "{}?match=/a&last_event_id=earliest",
        sync_server::MERCURE_PATH
    ))
    .header("authorization", format!("Bearer {token}"))
    .body(Body::empty())
    .unwrap();
    let mut events = Events::new(app(state.clone()).oneshot(request).await.unwrap());
    events.next().await.unwrap(); // retry hint
    assert_eq!(field(&events.next().await.unwrap(), "data"), Some("1"));
    tokio::time::advance(Duration::from_secs(121)).await;
    assert_eq!(events.next().await.as_deref(), Some(": token expired\n\n"));
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

#[tokio::test]
async fn without_cors_origins_answers_carry_no_cors_headers_and_no_vary() {
    let state = state(config());
    let request = Request::get("/healthz")
        .header("origin", "http://127.0.0.1:1234")
        .body(Body::empty())
        .unwrap();
    let response = app(state).oneshot(request).await.unwrap();
    assert!(response.headers().get("vary").is_none());
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}
