//! `sync-server serve`: builds the transport, the bridge and the router, and serves until
//! SIGINT or SIGTERM. On shutdown every stream gets a short `retry:` and a comment telling
//! the client to reconnect (to another instance behind the load balancer), then ends.

use crate::bridge::{Bridge, WatchPattern};
use crate::cli::ServeArgs;
use crate::error::HubError;
use crate::listener::HubListener;
use crate::redis_target::RedisTarget;
use crate::transport::embedded::Embedded;
use crate::transport::redis::{RedisOptions, RedisTransport};
use crate::transport::Transport;
use crate::{app, AppState};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn transport(args: &ServeArgs) -> Result<Arc<dyn Transport>, HubError> {
    let Some(url) = &args.redis else {
        return Ok(Arc::new(Embedded::new(args.history, args.subscriber_queue)));
    };
    let target = RedisTarget::parse(url).map_err(|e| HubError::Config(e.to_string()))?;
    let options = RedisOptions {
        prefix: args.redis_prefix.clone(),
        max_len: args.history,
        queue: args.subscriber_queue,
    };
    Ok(Arc::new(RedisTransport::start(target, options).await?))
}

async fn signal(shutdown: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
        () = shutdown.cancelled() => {},
    }
    tracing::info!("shutting down: telling subscribers to reconnect");
    shutdown.cancel();
}

/// Runs the hub described by `args` until a shutdown signal.
pub async fn serve(args: ServeArgs) -> Result<(), HubError> {
    let auth = args.auth()?;
    if !auth.has_keys() {
        tracing::warn!("no JWT key configured: only anonymous access is possible");
    }
    let mut state = AppState::new(args.config(), auth, transport(&args).await?);
    if args.demo_api {
        state = state.with_demo_api(crate::demo_api::Catalog::sample(60));
    }
    if !args.watch.is_empty() {
        let url = args
            .redis
            .as_ref()
            .ok_or_else(|| HubError::Config("--watch needs --redis".into()))?;
        let target = RedisTarget::parse(url).map_err(|e| HubError::Config(e.to_string()))?;
        let patterns = args
            .watch
            .iter()
            .map(|w| WatchPattern::parse(w))
            .collect::<Result<Vec<_>, _>>()?;
        let bridge = Bridge::start(
            Arc::new(target),
            patterns,
            state.clone(),
            state.shutdown.clone(),
        )
        .await?;
        state.bridge_health = Some(bridge.health);
    }
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .map_err(|e| HubError::Config(format!("cannot listen on {}: {e}", args.bind)))?;
    let address = listener
        .local_addr()
        .map_err(|e| HubError::Config(e.to_string()))?;
    tracing::info!(%address, "hub listening; Mercure endpoint at {}", crate::MERCURE_PATH);
    let shutdown = state.shutdown.clone();
    let stall = Duration::from_secs(args.write_timeout_secs.max(1));
    crate::listener::serve(
        HubListener::new(listener, stall),
        app(state),
        signal(shutdown),
    )
    .await
    .map_err(|e| HubError::Config(format!("server failed: {e}")))
}
