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

/// `GET /metrics`.
pub async fn handler(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
