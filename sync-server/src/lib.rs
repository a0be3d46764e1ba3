//! The invalidation hub: a Mercure hub (SSE subscribe, form publish, JWT authorization) with
//! cache invalidation on top, an embedded or Redis transport, and a Redis keyspace bridge.
//!
//! [`app`] builds the router from an [`AppState`]; `main.rs` only parses the command line.

pub mod auth;
pub mod bridge;
pub mod cache;
pub mod chunked;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo_api;
pub mod error;
pub mod event_id;
pub mod fanout;
pub mod health;
pub mod invalidate;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod publish;
pub mod redis_target;
pub mod response_cache;
pub mod serve;
pub mod sse;
pub mod stream;
pub mod subscribe;
pub mod token;
pub mod topic;
pub mod transport;

use auth::Auth;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::routing::{get, post};
use axum::Router;
use config::HubConfig;
use health::HealthFlag;
use limits::ConnectionLimiter;
use metrics::Metrics;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;
use transport::Transport;

/// The Mercure endpoint.
pub const MERCURE_PATH: &str = "/.well-known/mercure";

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Settings. Default [`HubConfig::default`].
    pub config: Arc<HubConfig>,
    /// Token verification. Default: no keys.
    pub auth: Arc<Auth>,
    /// The log.
    pub transport: Arc<dyn Transport>,
    /// Writes live events to the subscribers served outside hyper.
    pub fanout: Arc<fanout::Fanout>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Open streams per client address.
    pub connections: Arc<ConnectionLimiter>,
    /// Cancelled on shutdown: every stream then tells its client to reconnect and ends.
    pub shutdown: CancellationToken,
    /// The keyspace bridge's health, when one runs. Default: none.
    pub bridge_health: Option<Arc<HealthFlag>>,
    /// A Redis cache in this process: its statistics join `/metrics` and `/stats` is served.
    /// Default: none.
    pub cache: Option<cache::RedisCache>,
    /// The demo API's catalogue, when `/api/products` is served. Default: none.
    pub demo: Option<demo_api::Catalog>,
}

impl AppState {
    /// State over `transport` with `config` and `auth`; no bridge.
    #[must_use]
    pub fn new(config: HubConfig, auth: Auth, transport: Arc<dyn Transport>) -> Self {
        Self {
            connections: Arc::new(ConnectionLimiter::new(
                config.limits.connections_per_address,
            )),
            fanout: Arc::new(fanout::Fanout::new(
                Arc::clone(&transport),
                config.limits.subscriber_queue,
            )),
            config: Arc::new(config),
            auth: Arc::new(auth),
            transport,
            metrics: Arc::new(Metrics::new()),
            shutdown: CancellationToken::new(),
            bridge_health: None,
            cache: None,
            demo: None,
        }
    }

    /// The same state serving the demo API over `catalog`.
    #[must_use]
    pub fn with_demo_api(mut self, catalog: demo_api::Catalog) -> Self {
        self.demo = Some(catalog);
        self
    }

    /// The same state with `cache`'s statistics on `/metrics` and `/stats`.
    #[must_use]
    pub fn with_cache(mut self, cache: cache::RedisCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// State with the embedded transport sized from `config`.
    #[must_use]
    pub fn embedded(config: HubConfig, auth: Auth) -> Self {
        let transport =
            transport::embedded::Embedded::new(config.history, config.limits.subscriber_queue);
        Self::new(config, auth, Arc::new(transport))
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::CACHE_CONTROL,
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([HeaderName::from_static(subscribe::LAST_EVENT_ID_HEADER)])
}

/// Drops `Access-Control-Allow-Credentials` from answers to origins that are not allowed, so
/// credentials are only ever allowed together with a listed origin.
async fn credentials_only_for_listed_origins(
    mut response: axum::response::Response,
) -> axum::response::Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    }
    response
}

/// The hub's router: Mercure, `/invalidate`, `/healthz`, `/metrics`, `/stats` (with a cache),
/// and the static directory.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route(MERCURE_PATH, get(subscribe::handler).post(publish::handler))
        .route("/invalidate", post(invalidate::handler))
        .route("/healthz", get(health::handler))
        .route("/metrics", get(metrics::handler));
    if state.cache.is_some() {
        router = router.route("/stats", get(metrics::stats_handler));
    }
    if let Some(catalog) = &state.demo {
        router = router.merge(demo_api::router(catalog.clone()));
    }
    if let Some(dir) = &state.config.static_dir {
        router = router.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    // Without listed origins there is no CORS at all: the layer would only add
    // `Vary: origin, …` to every answer, which splits caches (a service worker's Cache
    // Storage among them) by the Origin header of same-origin requests.
    if !state.config.cors_origins.is_empty() {
        router = router.layer(cors(&state.config.cors_origins));
    }
    router
        .layer(axum::middleware::map_response(
            credentials_only_for_listed_origins,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
