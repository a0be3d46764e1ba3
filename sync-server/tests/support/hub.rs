//! A hub served on a real socket (port 0), and an SSE client over reqwest.

use std::time::Duration;
use sync_server::config::HubConfig;
use sync_server::listener::{serve, HubListener};
use sync_server::redis_target::RedisTarget;
use sync_server::transport::redis::{RedisOptions, RedisTransport};
use sync_server::{app, AppState};

pub struct Hub {
    pub url: String,
    pub state: AppState,
    task: tokio::task::JoinHandle<()>,
}

impl Hub {
    pub async fn serve(state: AppState) -> Self {
        Self::serve_with_write_timeout(state, Duration::from_secs(30)).await
    }

    pub async fn serve_with_write_timeout(state: AppState, write_stall: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let listener = HubListener::new(listener, write_stall);
        let router = app(state.clone());
        let shutdown = state.shutdown.clone();
        let task = tokio::spawn(async move {
            serve(listener, router, async move { shutdown.cancelled().await })
                .await
                .unwrap();
        });
        Self { url, state, task }
    }

    pub async fn redis(redis_url: &str, config: HubConfig) -> Self {
        let options = RedisOptions {
            max_len: config.history,
            queue: config.limits.subscriber_queue,
            ..RedisOptions::default()
        };
        let target = RedisTarget::parse(redis_url).unwrap();
        let transport = RedisTransport::start(target, options).await.unwrap();
        let state = AppState::new(config, super::auth(), std::sync::Arc::new(transport));
        Self::serve(state).await
    }

    pub async fn publish(&self, form: &str) -> String {
        let response = reqwest::Client::new()
            .post(format!("{}{}", self.url, sync_server::MERCURE_PATH))
            .header(
                "authorization",
                format!("Bearer {}", super::publisher_token()),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "publish {form}");
        response.text().await.unwrap()
    }

    /// Whether `serve` returns within `wait` (after the shutdown token was cancelled).
    pub async fn stopped_within(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, &mut self.task).await.is_ok()
    }

    pub async fn health(&self) -> serde_json::Value {
        let body = reqwest::get(format!("{}/healthz", self.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&body).unwrap()
    }

    pub async fn subscribe(&self, query: &str, headers: &[(&str, &str)]) -> SseClient {
        SseClient::connect(
            &format!("{}{}?{query}", self.url, sync_server::MERCURE_PATH),
            headers,
        )
        .await
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct SseClient {
    pub status: u16,
    pub last_event_id: Option<String>,
    response: reqwest::Response,
    buffer: String,
}

impl SseClient {
    pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Self {
        let mut request = reqwest::Client::new().get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        Self {
            status: response.status().as_u16(),
            last_event_id: response
                .headers()
                .get("mercure-last-event-id")
                .map(|v| v.to_str().unwrap().to_owned()),
            response,
            buffer: String::new(),
        }
    }

    /// The next block, `None` at the end of the stream; panics after `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                return Some(self.buffer.drain(..end + 2).collect());
            }
            let chunk = tokio::time::timeout(wait, self.response.chunk())
                .await
                .expect("no event in time");
            match chunk {
                Ok(Some(bytes)) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The next event with `data:`, skipping hints and heartbeats.
    pub async fn next_event_within(&mut self, wait: Duration) -> Option<String> {
        loop {
            let block = self.next_within(wait).await?;
            if block.contains("data:") {
                return Some(block);
            }
        }
    }

    pub async fn next_event(&mut self) -> Option<String> {
        self.next_event_within(Duration::from_secs(5)).await
    }
}
