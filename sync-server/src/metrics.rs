//! Prometheus metrics, served as text at `/metrics`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::AppState;

/// The hub's counters. Every field starts at zero.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open SSE connections.
    pub connections: Gauge,
    /// Updates accepted by publish or invalidate.
    pub events_in: Counter,
    /// Events written to subscribers.
    pub events_out: Counter,
    /// Subscriptions that resumed with a replay.
    pub replays: Counter,
    /// Resets sent to subscribers.
    pub resets: Counter,
    /// Subscribers cut off because they fell behind.
    pub lagged: Counter,
    /// Publish latency in seconds, until the transport acknowledged.
    pub publish_latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hub");
        let metrics = Self {
            connections: Gauge::default(),
            events_in: Counter::default(),
            events_out: Counter::default(),
            replays: Counter::default(),
            resets: Counter::default(),
            lagged: Counter::default(),
            publish_latency: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
            registry: Registry::default(),
        };
        registry.register(
            "connections",
            "Open SSE connections",
            metrics.connections.clone(),
        );
        registry.register("events_in", "Updates published", metrics.events_in.clone());
        registry.register(
            "events_out",
            "Events written to subscribers",
            metrics.events_out.clone(),
        );
        registry.register(
            "replays",
            "Subscriptions resumed with a replay",
            metrics.replays.clone(),
        );
        registry.register(
            "resets",
            "Resets sent to subscribers",
            metrics.resets.clone(),
        );
        registry.register(
            "lagged_clients",
            "Subscribers cut off for falling behind",
            metrics.lagged.clone(),
        );
        registry.register(
            "publish_latency_seconds",
            "Time to append an update to the log",
            metrics.publish_latency.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// The Prometheus text exposition of every metric.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// `GET /metrics`: the hub's metrics, and the cache's when [`AppState::cache`] is set.
pub async fn handler(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    if let Some(cache) = &state.cache {
        let body_end = text.rfind("# EOF").unwrap_or(text.len());
        text.truncate(body_end);
        text.push_str(&crate::cache::endpoints::metrics_text(cache).await);
        text.push_str("# EOF\n");
    }
    (
        [(
            header::CONTENT_TYPE,
            crate::cache::endpoints::METRICS_CONTENT_TYPE,
        )],
        text,
    )
}

/// `GET /stats`: the cache's statistics as JSON (see [`crate::cache::endpoints`]).
pub async fn stats_handler(State(state): State<AppState>) -> axum::response::Response {
    match &state.cache {
        Some(cache) => axum::Json(crate::cache::endpoints::stats_json(cache).await).into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}
