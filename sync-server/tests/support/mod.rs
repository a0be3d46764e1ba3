//! Shared test helpers: building hubs, reading SSE bodies, and a throw-away redis-server.
#![allow(dead_code, missing_docs)]

pub mod cache;
pub mod hub;
pub mod raw;
pub mod redis_server;

use axum::body::Body;
use axum::http::StatusCode;
use axum::http::{Request, Response};
use http_body_util::BodyExt;
use std::time::Duration;
use sync_server::auth::Auth;
use sync_server::config::HubConfig;
use sync_server::token::TokenRequest;
use sync_server::AppState;
use sync_server::{app, AppState as State};
use tower::ServiceExt;

pub const SECRET: &[u8] = b"test-secret-that-is-long-enough-for-hs256";
pub const RSA_PRIVATE: &[u8] = include_bytes!("rsa_private.pem");
pub const RSA_PUBLIC: &[u8] = include_bytes!("rsa_public.pem");

pub fn config() -> HubConfig {
    HubConfig {
        anonymous: true,
        ..HubConfig::default()
    }
}

pub fn auth() -> Auth {
    Auth::new().with_hs256(SECRET)
}

pub fn state(config: HubConfig) -> AppState {
    AppState::embedded(config, auth())
}

pub fn publisher_token() -> String {
    TokenRequest::new().publish("*").hs256(SECRET).unwrap()
}

pub fn publish_request(token: &str, form: &str) -> Request<Body> {
    Request::post(sync_server::MERCURE_PATH)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

pub fn subscribe_request(query: &str) -> Request<Body> {
    Request::get(format!("{}?{query}", sync_server::MERCURE_PATH))
        .body(Body::empty())
        .unwrap()
}

pub async fn text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Reads an SSE body event by event (a block ending in a blank line).
pub struct Events {
    body: Body,
    buffer: String,
}

impl Events {
    pub fn new(response: Response<Body>) -> Self {
        Self {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// The next block, `None` when the stream ended, panicking after `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(block);
            }
            let frame = tokio::time::timeout(wait, self.body.frame())
                .await
                .expect("no event in time");
            match frame {
                None => return None,
                Some(frame) => {
                    if let Ok(data) = frame.unwrap().into_data() {
                        self.buffer.push_str(std::str::from_utf8(&data).unwrap());
                    }
                }
            }
        }
    }

    pub async fn next(&mut self) -> Option<String> {
        self.next_within(Duration::from_secs(5)).await
    }

    /// The next block that is an event (has `data:`), skipping retry hints and comments.
    pub async fn next_event(&mut self) -> Option<String> {
        loop {
            let block = self.next().await?;
            if block.contains("data:") {
                return Some(block);
            }
        }
    }

    /// Whether nothing arrives within `wait`.
    pub async fn is_quiet_for(&mut self, wait: Duration) -> bool {
        if self.buffer.contains("data:") {
            return false;
        }
        tokio::time::timeout(wait, self.body.frame()).await.is_err()
    }
}

pub fn field<'a>(block: &'a str, name: &str) -> Option<&'a str> {
    block
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
}

/// Publishes through `oneshot` with a publisher token and answers the id.
pub async fn publish(state: &State, form: &str) -> String {
    let response = app(state.clone())
        .oneshot(publish_request(&publisher_token(), form))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    text(response).await
}

/// Subscribes through `oneshot`.
pub async fn subscribe(state: &State, query: &str) -> Events {
    let response = app(state.clone())
        .oneshot(subscribe_request(query))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    Events::new(response)
}

/// The status and JSON body of a failing request.
pub async fn error_of(state: &State, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    (status, serde_json::from_str(&text(response).await).unwrap())
}

/// The body of `GET path` through `oneshot`, which must answer 200.
pub async fn text_of(state: &State, path: &str) -> String {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    text(response).await
}

/// The JSON body of `GET path` through `oneshot`, which must answer 200.
pub async fn json_of(state: &State, path: &str) -> serde_json::Value {
    serde_json::from_str(&text_of(state, path).await).unwrap()
}
