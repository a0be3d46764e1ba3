//! The demo API through the hub's router (`oneshot`): pages, products, validation, the
//! failure switch, and the invalidation an edit publishes.
#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use std::time::Duration;
use support::*;
use sync_server::demo_api::Catalog;
use sync_server::{app, AppState};
use tower::ServiceExt;

fn demo() -> AppState {
    state(config()).with_demo_api(Catalog::sample(60))
}

fn put(id: &str, body: &str) -> Request<Body> {
    Request::put(format!("/api/products/{id}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn pages_carry_cache_headers_and_answer_304_to_their_etag() {
    let state = demo();
    let request = Request::get("/api/products?page=1&size=12")
        .body(Body::empty())
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "max-age=30");
    let tags = headers["cache-tag"].to_str().unwrap();
    assert!(tags.starts_with("catalog product:13 product:14"), "{tags}");
    let body: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(body["total"], 60);
    assert_eq!(body["items"].as_array().unwrap().len(), 12);
    assert_eq!(body["items"][0]["id"], 13);

    let last = json_of(&state, "/api/products?page=4&size=12").await;
    assert_eq!(last["items"].as_array().unwrap().len(), 12);
    let beyond = json_of(&state, "/api/products?page=5&size=12").await;
    assert_eq!(beyond["items"].as_array().unwrap().len(), 0);

    let revalidate = Request::get("/api/products?page=1&size=12")
        .header("if-none-match", headers["etag"].clone())
        .body(Body::empty())
        .unwrap();
    let response = app(state.clone()).oneshot(revalidate).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(response.headers()["etag"], headers["etag"]);
}

#[tokio::test]
async fn one_product_and_typed_errors() {
    let state = demo();
    let product = json_of(&state, "/api/products/7").await;
    assert_eq!(product["id"], 7);
    assert!(product["name"].as_str().unwrap().len() > 2);

    let missing = Request::get("/api/products/61")
        .body(Body::empty())
        .unwrap();
    let (status, body) = error_of(&state, missing).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    let bad_size = Request::get("/api/products?size=0")
        .body(Body::empty())
        .unwrap();
    let (status, body) = error_of(&state, bad_size).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );

    for body in [
        r#"{"name":"","price":1}"#,
        &format!(r#"{{"name":"{}","price":1}}"#, "x".repeat(101)),
        r#"{"name":"ok","price":-1}"#,
        r#"{"name":"ok"}"#,
        "not json",
    ] {
        let (status, json) = error_of(&state, put("7", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(json["error"], "bad_request", "{body}");
    }
    let (status, _) = error_of(&state, put("99", r#"{"name":"ok","price":1}"#)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        json_of(&state, "/api/products/7").await,
        product,
        "nothing changed"
    );
}

#[tokio::test]
async fn an_edit_is_stored_and_published_as_an_invalidation() {
    let state = demo();
    let mut events = subscribe(&state, "match=/cache/shop").await;
    let response = app(state.clone())
        .oneshot(put(
            "5",
            r#"{"name":" Blue lamp ","price":12.345,"stock":3}"#,
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let saved: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(
        (&saved["name"], &saved["price"], &saved["stock"]),
        (&"Blue lamp".into(), &12.35.into(), &3.into())
    );
    assert_eq!(json_of(&state, "/api/products/5").await, saved);

    let event = events.next_event().await.unwrap();
    assert_eq!(field(&event, "event"), Some("invalidate"));
    let data: serde_json::Value = serde_json::from_str(field(&event, "data").unwrap()).unwrap();
    assert_eq!(data["ns"], "shop");
    assert_eq!(data["keys"], serde_json::json!(["product:5"]));
    assert_eq!(data["tags"], serde_json::json!(["catalog"]));
}

#[tokio::test(start_paused = true)]
async fn the_failure_switch_answers_503_and_changes_nothing() {
    let state = demo();
    let before = json_of(&state, "/api/products/3").await;
    let mut events = subscribe(&state, "match=/cache/shop").await;
    let hint = events.next().await.unwrap();
    assert!(hint.starts_with("retry: "), "{hint}");
    let mut request = put("3", r#"{"name":"Never saved","price":1}"#);
    request
        .headers_mut()
        .insert("x-demo-fail", "1".parse().unwrap());
    let (status, body) = error_of(&state, request).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
    );
    assert_eq!(json_of(&state, "/api/products/3").await, before);
    assert!(
        events.is_quiet_for(Duration::from_millis(100)).await,
        "nothing published"
    );
}

#[tokio::test]
async fn without_the_flag_there_is_no_demo_api() {
    let request = Request::get("/api/products").body(Body::empty()).unwrap();
    let response = app(state(config())).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
