//! Router-level tests with `oneshot`: publish, subscribe, replay, auth and errors.
#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use std::time::Duration;
use support::*;
use sync_server::config::HubConfig;
use sync_server::token::TokenRequest;
use sync_server::{app, AppState};
use tower::ServiceExt;

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
    let private = Request::post("/invalidate?private=on")
        .header("authorization", format!("Bearer {}", publisher_token()))
        .body(Body::from(r#"{"ns":"shop","keys":["user-secret"]}"#))
        .unwrap();
    assert_eq!(
        app(state.clone()).oneshot(private).await.unwrap().status(),
        StatusCode::OK
    );
    let public = Request::post("/invalidate")
        .header("authorization", format!("Bearer {}", publisher_token()))
        .body(Body::from(r#"{"ns":"shop","keys":["public"]}"#))
        .unwrap();
    assert_eq!(
        app(state.clone()).oneshot(public).await.unwrap().status(),
        StatusCode::OK
    );
    let next = events.next_event().await.unwrap();
    assert!(
        next.contains("public") && !next.contains("user-secret"),
        "anonymous got a private update: {next}"
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
