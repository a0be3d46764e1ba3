//! The measured app: one handler that does a little work (50 items serialized to ~2 KB of
//! JSON), served at [`CACHED`] behind `ResponseCacheLayer` and at [`PLAIN`] without it.

use crate::error::BenchError;
use crate::process::loopback;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use sync_server::cache::RedisCache;
use sync_server::response_cache::{ResponseCacheLayer, X_CACHE};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The route behind the response cache.
pub const CACHED: &str = "/cached/items";
/// The same handler without it.
pub const PLAIN: &str = "/plain/items";
/// The cached route's TTL: longer than any run, so every request after warming is a hit.
pub const ROUTE_TTL: Duration = Duration::from_secs(60);
/// How many items the handler serializes.
const ITEMS: u32 = 50;

/// How many times the handler ran, per route.
#[derive(Debug, Clone, Default)]
pub struct HandlerCalls {
    /// Calls through [`CACHED`] (misses of the cache).
    pub cached: Arc<AtomicU64>,
    /// Calls through [`PLAIN`].
    pub plain: Arc<AtomicU64>,
}

impl HandlerCalls {
    /// How many times the handler ran behind the cache so far.
    #[must_use]
    pub fn cached_now(&self) -> u64 {
        self.cached.load(Ordering::Relaxed)
    }
}

/// One item of the list.
#[derive(Debug, Serialize)]
struct Item {
    id: u32,
    sku: String,
    price: u32,
}

/// Builds and serializes the list: the "little work" both routes do on every call.
async fn items(State(calls): State<Arc<AtomicU64>>) -> Json<Vec<Item>> {
    calls.fetch_add(1, Ordering::Relaxed);
    let items = (1..=ITEMS)
        .map(|id| Item {
            id,
            sku: format!("SKU-{id:05}"),
            price: 100 + id * 37 % 9_000,
        })
        .collect();
    Json(items)
}

/// The app: [`CACHED`] behind a `ResponseCacheLayer` on `cache` (route TTL [`ROUTE_TTL`]),
/// [`PLAIN`] without it.
pub fn app(cache: RedisCache, calls: &HandlerCalls) -> Router {
    let cached = Router::new()
        .route(CACHED, get(items))
        .with_state(calls.cached.clone())
        .layer(ResponseCacheLayer::new(cache).route_ttl(CACHED, ROUTE_TTL));
    let plain = Router::new()
        .route(PLAIN, get(items))
        .with_state(calls.plain.clone());
    cached.merge(plain)
}

/// The app serving on a loopback port; the server task is aborted when this is dropped.
#[derive(Debug)]
pub struct Server {
    port: u16,
    task: JoinHandle<()>,
}

impl Server {
    /// Serves `app` on a free loopback port.
    pub async fn start(app: Router) -> Result<Self, BenchError> {
        let listener = TcpListener::bind(loopback(0))
            .await
            .map_err(BenchError::io("cannot bind the app's port"))?;
        let port = listener
            .local_addr()
            .map_err(BenchError::io("cannot read the app's address"))?
            .port();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("the app's server stopped: {e}");
            }
        });
        Ok(Self { port, task })
    }

    /// The URL of `path` on this server.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What one check request saw.
#[derive(Debug)]
pub struct Probe {
    /// The `X-Cache` header, if any.
    pub x_cache: Option<String>,
    /// The body's length in bytes.
    pub body_bytes: usize,
}

/// One `GET` of `url`; an error unless it answers 200.
pub async fn probe(client: &reqwest::Client, url: &str) -> Result<Probe, BenchError> {
    let response = client.get(url).send().await?.error_for_status()?;
    let x_cache = response
        .headers()
        .get(X_CACHE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body_bytes = response.bytes().await?.len();
    Ok(Probe {
        x_cache,
        body_bytes,
    })
}

/// Requests `url` until it answers `X-Cache: HIT` (at most 3 times: a miss stores, the next
/// request hits); an error if it never does.
pub async fn warm(client: &reqwest::Client, url: &str) -> Result<Probe, BenchError> {
    let mut seen = Vec::new();
    for _ in 0..3 {
        let probe = probe(client, url).await?;
        if probe.x_cache.as_deref() == Some("HIT") {
            return Ok(probe);
        }
        seen.push(probe.x_cache.unwrap_or_else(|| "(none)".into()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(BenchError::Invalid(format!(
        "{url} never answered X-Cache: HIT (saw {})",
        seen.join(", ")
    )))
}
