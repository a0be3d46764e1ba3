//! `GET /stats` (JSON) and the cache's part of `GET /metrics` (Prometheus text).
//!
//! `/stats` answers `{"namespaces": {"shop": {"hits": .., "misses": .., "hit_rate": .., ...}},
//! "redis": {"used_memory": .., "evicted_keys": .., "expired_keys": .., ...} | null,
//! "redis_up": true|false}`: counters of this process per namespace, Redis figures from
//! `INFO` (`null` while Redis is unreachable; the answer is still 200).
//!
//! The hub serves both when its [`crate::AppState::cache`] is set; an app without the hub
//! merges [`routes`] into its router.

use super::stats::render_prometheus;
use super::RedisCache;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

/// The OpenMetrics content type of `/metrics`.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The JSON body of `/stats`.
pub async fn stats_json(cache: &RedisCache) -> serde_json::Value {
    let info = cache.redis_info().await.ok();
    serde_json::json!({
        "namespaces": cache.stats(),
        "redis_up": info.is_some(),
        "redis": info,
    })
}

/// The cache's metrics as Prometheus text (without the final `# EOF`).
pub async fn metrics_text(cache: &RedisCache) -> String {
    let info = cache.redis_info().await.ok();
    render_prometheus(&cache.stats(), info.as_ref())
}

async fn stats_handler(State(cache): State<RedisCache>) -> Json<serde_json::Value> {
    Json(stats_json(&cache).await)
}

async fn metrics_handler(State(cache): State<RedisCache>) -> impl IntoResponse {
    let mut text = metrics_text(&cache).await;
    text.push_str("# EOF\n");
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text)
}

/// `GET /stats` and `GET /metrics` for `cache`, for an app that does not run the hub.
pub fn routes(cache: RedisCache) -> Router {
    Router::new()
        .route("/stats", get(stats_handler))
        .route("/metrics", get(metrics_handler))
        .with_state(cache)
}
