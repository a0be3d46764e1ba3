//! The command line: `serve`; `publish`, `invalidate` and `token` for scripts; and `cache
//! clear | warm | stats` for the server-side Redis cache. Every flag of `serve` has an
//! environment variable (`HUB_...`), shown by `sync-server <command> --help`.

use crate::auth::Auth;
use crate::config::{HubConfig, Limits};
use crate::error::HubError;
use clap::{ArgGroup, Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// The hub's command line.
#[derive(Debug, Parser)]
#[command(
    name = "sync-server",
    version,
    about = "Mercure hub with cache invalidation"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the hub.
    Serve(Box<ServeArgs>),
    /// Publishes one update to a running hub and prints its event id.
    Publish(PublishArgs),
    /// Publishes one invalidation through `POST /invalidate` and prints the answer.
    Invalidate(InvalidateArgs),
    /// Prints an access token (`typ: at+jwt`) for scripts and tests.
    Token(TokenArgs),
    /// Manages the server-side Redis cache: `clear`, `warm`, `stats`.
    #[command(subcommand)]
    Cache(CacheCommand),
}

/// `sync-server cache ...`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Removes cached entries (SCAN + UNLINK) and tells browsers through the hub.
    Clear(CacheClearArgs),
    /// GETs every URL of a file through the app's response cache, so it is filled.
    Warm(CacheWarmArgs),
    /// Prints Redis memory, evictions and expirations, and each namespace's entries.
    Stats(CacheStatsArgs),
}

/// The cache's Redis.
#[derive(Debug, Args)]
pub struct CacheRedisArgs {
    /// Redis URL of the cache.
    #[arg(long, env = "CACHE_REDIS", default_value = "redis://127.0.0.1:6379/0")]
    pub redis: String,
}

/// `sync-server cache clear`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).multiple(true).args(["all", "pattern", "namespace"])))]
pub struct CacheClearArgs {
    /// The cache's Redis.
    #[command(flatten)]
    pub redis: CacheRedisArgs,
    /// Every cache key of every namespace (keys outside the cache grammar are kept).
    #[arg(long, conflicts_with_all = ["pattern", "namespace"])]
    pub all: bool,
    /// A glob over keys, e.g. 'user:*' (in --namespace, or in every namespace).
    #[arg(long)]
    pub pattern: Option<String>,
    /// One namespace (all of it, or only --pattern in it).
    #[arg(long)]
    pub namespace: Option<String>,
    /// The hub to tell browsers through. Default: browsers are not told.
    #[arg(long)]
    pub hub: Option<String>,
    /// A token with publish rights on the hub.
    #[arg(long, env = "HUB_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl CacheClearArgs {
    /// What the flags ask to clear.
    #[must_use]
    pub fn target(&self) -> crate::cache::admin::ClearTarget {
        use crate::cache::admin::ClearTarget;
        match (&self.pattern, self.all) {
            (_, true) => ClearTarget::All,
            (Some(pattern), false) => ClearTarget::Pattern {
                pattern: pattern.clone(),
                everywhere: self.namespace.is_none(),
            },
            (None, false) => ClearTarget::Namespace,
        }
    }
}

/// `sync-server cache warm`.
#[derive(Debug, Args)]
pub struct CacheWarmArgs {
    /// A file of URLs, one per line (`#` comments and blank lines are skipped).
    #[arg(long)]
    pub urls: PathBuf,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

/// `sync-server cache stats`.
#[derive(Debug, Args)]
pub struct CacheStatsArgs {
    /// The cache's Redis.
    #[command(flatten)]
    pub redis: CacheRedisArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `sync-server serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HUB_BIND", default_value = "127.0.0.1:3000")]
    pub bind: String,
    /// Redis URL: redis://, rediss://, redis+sentinel://h1,h2/master, redis+cluster://h1,h2.
    /// Default: the embedded transport.
    #[arg(long, env = "HUB_REDIS")]
    pub redis: Option<String>,
    /// Prefix of the hub's Redis keys (`{prefix}:log`, `{prefix}:epoch`).
    #[arg(long, env = "HUB_REDIS_PREFIX", default_value = "hub")]
    pub redis_prefix: String,
    /// HS256 secret for access tokens.
    #[arg(long, env = "HUB_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM file with the RS256 public key for access tokens.
    #[arg(long, env = "HUB_JWT_RSA_PUBLIC_KEY")]
    pub jwt_rsa_public_key: Option<PathBuf>,
    /// Required `aud` of tokens. Default: not checked.
    #[arg(long, env = "HUB_JWT_AUDIENCE")]
    pub audience: Option<String>,
    /// Required `iss` of tokens. Default: not checked.
    #[arg(long, env = "HUB_JWT_ISSUER")]
    pub issuer: Option<String>,
    /// Accept subscribers without a token (they never receive private updates).
    #[arg(long, env = "HUB_ANONYMOUS")]
    pub anonymous: bool,
    /// Accept publications without a token. Development only.
    #[arg(long, env = "HUB_ANONYMOUS_PUBLISH")]
    pub anonymous_publish: bool,
    /// Browser origins allowed to call the hub, with credentials (repeat or comma-separate).
    #[arg(long = "cors-origin", env = "HUB_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Redis key patterns bridged to invalidations, e.g. `shop:v1:*` (needs --redis).
    #[arg(long, env = "HUB_WATCH", value_delimiter = ',')]
    pub watch: Vec<String>,
    /// Directory served at `/` (the web demo's build).
    #[arg(long, env = "HUB_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Serve the web demo's product API at `/api/products` (in-memory, publishes its own
    /// invalidations).
    #[arg(long, env = "HUB_DEMO_API")]
    pub demo_api: bool,
    /// Count connections per last `X-Forwarded-For` address, the one the trusted proxy
    /// appended (only behind such a proxy; earlier entries are the client's choice).
    #[arg(long, env = "HUB_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Seconds a write to a client may stall (it stopped reading) before the connection is
    /// closed.
    #[arg(long, env = "HUB_WRITE_TIMEOUT_SECS", default_value_t = 30)]
    pub write_timeout_secs: u64,
    /// Seconds between heartbeat comments.
    #[arg(long, env = "HUB_HEARTBEAT_SECS", default_value_t = 15)]
    pub heartbeat_secs: u64,
    /// Base reconnection delay sent to clients, in ms (plus up to 50 % jitter).
    #[arg(long, env = "HUB_RETRY_MS", default_value_t = 2000)]
    pub retry_ms: u64,
    /// Events kept for replay (Redis: the stream's MAXLEN).
    #[arg(long, env = "HUB_HISTORY", default_value_t = 10_000)]
    pub history: usize,
    /// Open streams per client address (429 beyond).
    #[arg(long, env = "HUB_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 100)]
    pub max_connections_per_address: usize,
    /// Topic selectors per subscription and topics per update (400 beyond).
    #[arg(long, env = "HUB_MAX_TOPICS", default_value_t = 100)]
    pub max_topics: usize,
    /// Request body size of publish and invalidate, in bytes (413 beyond).
    #[arg(long, env = "HUB_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Size of an update's data, in bytes (413 beyond).
    #[arg(long, env = "HUB_MAX_DATA_BYTES", default_value_t = 512 << 10)]
    pub max_data_bytes: usize,
    /// Events a subscriber may fall behind before it is cut off and told to resync.
    #[arg(long, env = "HUB_SUBSCRIBER_QUEUE", default_value_t = 1024)]
    pub subscriber_queue: usize,
}

impl ServeArgs {
    /// The hub settings these flags describe.
    #[must_use]
    pub fn config(&self) -> HubConfig {
        HubConfig {
            heartbeat: Duration::from_secs(self.heartbeat_secs.max(1)),
            retry_ms: self.retry_ms,
            anonymous: self.anonymous,
            anonymous_publish: self.anonymous_publish,
            history: self.history,
            limits: Limits {
                connections_per_address: self.max_connections_per_address,
                topics_per_subscription: self.max_topics,
                max_body_bytes: self.max_body_bytes,
                max_data_bytes: self.max_data_bytes,
                subscriber_queue: self.subscriber_queue,
                ..Limits::default()
            },
            cors_origins: self.cors_origins.clone(),
            static_dir: self.static_dir.clone(),
            trust_forwarded_for: self.trust_forwarded_for,
        }
    }

    /// The token verifier these flags describe.
    pub fn auth(&self) -> Result<Auth, HubError> {
        let mut auth = Auth::new()
            .with_audience(self.audience.clone())
            .with_issuer(self.issuer.clone());
        if let Some(secret) = &self.jwt_secret {
            auth = auth.with_hs256(secret.as_bytes());
        }
        if let Some(path) = &self.jwt_rsa_public_key {
            let pem = std::fs::read(path)
                .map_err(|e| HubError::Config(format!("cannot read {}: {e}", path.display())))?;
            auth = auth
                .with_rs256_pem(&pem)
                .map_err(|e| HubError::Config(format!("bad RSA public key: {e}")))?;
        }
        Ok(auth)
    }
}

/// Where a running hub is, and the token to talk to it with.
#[derive(Debug, Args)]
pub struct HubArgs {
    /// The hub's base URL.
    #[arg(long, env = "HUB_URL", default_value = "http://127.0.0.1:3000")]
    pub hub: String,
    /// A token with publish rights.
    #[arg(long, env = "HUB_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// `sync-server publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The hub.
    #[command(flatten)]
    pub hub: HubArgs,
    /// A topic (repeatable; at least one).
    #[arg(long, required = true)]
    pub topic: Vec<String>,
    /// The update's data.
    #[arg(long, default_value = "")]
    pub data: String,
    /// The SSE event type.
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Mark the update private.
    #[arg(long)]
    pub private: bool,
    /// Reconnection delay hint, in ms.
    #[arg(long)]
    pub retry: Option<u64>,
}

/// `sync-server invalidate`.
#[derive(Debug, Args)]
pub struct InvalidateArgs {
    /// The hub.
    #[command(flatten)]
    pub hub: HubArgs,
    /// The namespace.
    #[arg(long)]
    pub ns: String,
    /// Exact keys (repeatable).
    #[arg(long)]
    pub key: Vec<String>,
    /// Glob patterns over keys (repeatable).
    #[arg(long)]
    pub pattern: Vec<String>,
    /// Tags (repeatable).
    #[arg(long)]
    pub tag: Vec<String>,
}

/// `sync-server token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// HS256 secret to sign with.
    #[arg(long, env = "HUB_JWT_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// PEM file with an RS256 private key to sign with instead.
    #[arg(long)]
    pub rsa_private_key: Option<PathBuf>,
    /// Topic selectors the bearer may publish to (repeatable; `*` for all).
    #[arg(long)]
    pub publish: Vec<String>,
    /// Topic selectors whose private updates the bearer may receive (repeatable).
    #[arg(long)]
    pub subscribe: Vec<String>,
    /// Lifetime in seconds. Default: no expiry.
    #[arg(long)]
    pub ttl_secs: Option<u64>,
    /// `aud` claim.
    #[arg(long, env = "HUB_JWT_AUDIENCE")]
    pub audience: Option<String>,
    /// `iss` claim.
    #[arg(long, env = "HUB_JWT_ISSUER")]
    pub issuer: Option<String>,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), HubError> {
    match cli.command {
        Command::Serve(args) => crate::serve::serve(*args).await,
        Command::Publish(args) => crate::client::publish(&args).await,
        Command::Invalidate(args) => crate::client::invalidate(&args).await,
        Command::Token(args) => crate::client::token(&args),
        Command::Cache(command) => crate::cache::admin::run(command).await,
    }
}
