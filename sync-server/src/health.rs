//! `GET /healthz`: always 200 while the process serves; the body says whether the transport
//! (and the keyspace bridge, and the cache's Redis, when there are ones) is healthy
//! (`"status": "ok"`) or the hub runs degraded (`"status": "degraded"`).

use crate::AppState;
use axum::extract::State;
use axum::Json;

/// Handles a health probe.
pub async fn handler(State(state): State<AppState>) -> Json<serde_json::Value> {
    let transport = state.transport.health().await;
    let bridge_ok = state.bridge_health.as_ref().is_none_or(|b| b.is_ok());
    let cache = match &state.cache {
        Some(cache) => Some(cache.ping().await),
        None => None,
    };
    let status = if transport.ok && bridge_ok && cache != Some(false) {
        "ok"
    } else {
        "degraded"
    };
    Json(serde_json::json!({
        "status": status,
        "transport": transport,
        "bridge": state.bridge_health.as_ref().map(|b| b.is_ok()),
        "cache": cache,
    }))
}

/// A shared healthy/unhealthy flag, set by background tasks (the keyspace bridge).
/// Default: healthy.
#[derive(Debug)]
pub struct HealthFlag(std::sync::atomic::AtomicBool);

impl Default for HealthFlag {
    fn default() -> Self {
        Self(std::sync::atomic::AtomicBool::new(true))
    }
}

impl HealthFlag {
    /// Whether the task is healthy.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records the task's health.
    pub fn set(&self, ok: bool) {
        self.0.store(ok, std::sync::atomic::Ordering::Relaxed);
    }
}
