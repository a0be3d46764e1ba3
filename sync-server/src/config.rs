//! The hub's settings, with their defaults written once.

use std::time::Duration;

/// Bounds on what one client or request may use. Each has a default and a CLI flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Open SSE connections per client address. Default 100.
    pub connections_per_address: usize,
    /// Topic selectors in one subscription, and topics in one update. Default 100.
    pub topics_per_subscription: usize,
    /// Request body size in bytes for publish and invalidate. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Size of an update's `data` in bytes. Default 512 KiB.
    pub max_data_bytes: usize,
    /// Events a subscriber may fall behind before it is cut off and told to resync.
    /// Default 1024.
    pub subscriber_queue: usize,
    /// Longest topic, id or type accepted, in bytes. Default 2048.
    pub max_field_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connections_per_address: 100,
            topics_per_subscription: 100,
            max_body_bytes: 1 << 20,
            max_data_bytes: 512 << 10,
            subscriber_queue: 1024,
            max_field_bytes: 2048,
        }
    }
}

/// How the hub behaves towards subscribers.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Interval of heartbeat comments on idle streams. Default 15 s.
    pub heartbeat: Duration,
    /// Base of the `retry:` hint sent on every stream, in ms (plus up to 50 % jitter).
    /// Default 2000.
    pub retry_ms: u64,
    /// Whether subscribers without a token are accepted (they never get private updates).
    /// Default false.
    pub anonymous: bool,
    /// Whether updates may be published without a token (development only). Default false.
    pub anonymous_publish: bool,
    /// Events retained for replay (embedded transport; MAXLEN for Redis). Default 10 000.
    pub history: usize,
    /// The limits. Default [`Limits::default`].
    pub limits: Limits,
    /// Origins allowed to call the hub from a browser, with credentials. Default: none.
    pub cors_origins: Vec<String>,
    /// A directory served at `/` (the web demo). Default: none.
    pub static_dir: Option<std::path::PathBuf>,
    /// Whether the last `X-Forwarded-For` address (the one the proxy saw) identifies the
    /// client (only behind a proxy that sets or appends it). Default false.
    pub trust_forwarded_for: bool,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(15),
            retry_ms: 2000,
            anonymous: false,
            anonymous_publish: false,
            history: 10_000,
            limits: Limits::default(),
            cors_origins: Vec::new(),
            static_dir: None,
            trust_forwarded_for: false,
        }
    }
}
