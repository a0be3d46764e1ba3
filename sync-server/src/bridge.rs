//! The keyspace bridge: Redis keyspace notifications for watched key prefixes become
//! invalidations, so a backend that only writes Redis keeps browsers coherent.
//!
//! Watched patterns follow the server key grammar `<ns>:v<version>:<key>` (for example
//! `shop:v1:*`); a change of `shop:v1:product:42` publishes `type: invalidate` with
//! `{"v":1,"ns":"shop","keys":["product:42"]}` on `/cache/shop`. Changes arriving together are
//! batched (up to [`BATCH_KEYS`] keys, or what arrives within [`BATCH_WINDOW`] of the first)
//! into one invalidation per namespace.
//!
//! Keyspace notifications are fire-and-forget, so the bridge resets (reason `bridge-lost`)
//! every watched namespace whenever it may have missed some. Once it starts listening: what
//! changed while no bridge listened (every hub stopped) was never bridged. When the
//! subscription connection drops: it resets, reconnects, and resets again once it listens
//! again, covering what changed in between. An invalidation that cannot be published (the
//! transport is unreachable) is retried a few times; then the bridge starts over the same
//! way: it stops listening (so that nothing piles up), resets, subscribes again and resets
//! again. A reset is retried until it is published: the changes it stands for reached no
//! browser.
//! The bridge needs one node (or a Sentinel master); Cluster nodes notify only locally.

use crate::error::HubError;
use crate::health::HealthFlag;
use crate::publish::publish_update;
use crate::redis_target::RedisTarget;
use crate::transport::Update;
use crate::AppState;
use cache_core::key::{KeySpace, Namespace};
use cache_core::message::{
    Invalidation, Reset, ResetReason, Selector, TYPE_INVALIDATE, TYPE_RESET,
};
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Most keys in one bridged invalidation.
pub const BATCH_KEYS: usize = 256;
/// How long the bridge collects changes, from the first one of a batch, before publishing it.
pub const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Attempts at publishing one bridged invalidation before a reset of its namespace replaces it.
pub const PUBLISH_ATTEMPTS: u32 = 3;

/// The pause before publishing again after `failures` failed attempts: 100 ms, doubling up
/// to 3.2 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(50 << failures.clamp(1, 6))
}

/// One watched pattern, such as `shop:v1:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchPattern {
    /// The namespace the pattern lies in.
    pub namespace: Namespace,
    /// The Redis glob pattern.
    pub pattern: String,
}

impl WatchPattern {
    /// Parses `<ns>:<rest>`, where `<ns>` is a valid namespace.
    pub fn parse(raw: &str) -> Result<Self, HubError> {
        let (ns, _) = raw.split_once(':').ok_or_else(|| {
            HubError::BadRequest(format!(
                "watch pattern {raw:?} must look like <ns>:v<version>:*"
            ))
        })?;
        Ok(Self {
            namespace: Namespace::parse(ns)?,
            pattern: raw.to_owned(),
        })
    }

    fn channel(&self) -> String {
        format!("__keyspace@*__:{}", self.pattern)
    }
}

/// The namespace and cache key of a notification channel `__keyspace@<db>__:<ns>:v<n>:<key>`.
#[must_use]
pub fn parse_channel(channel: &str) -> Option<(Namespace, String)> {
    let rest = channel.strip_prefix("__keyspace@")?;
    let (_, key) = rest.split_once("__:")?;
    let (ns, _, key) = KeySpace::parse_server_key(key)?;
    Some((Namespace::parse(ns).ok()?, key.to_owned()))
}

/// A running bridge.
#[derive(Debug)]
pub struct Bridge {
    /// Whether the subscription is up.
    pub health: Arc<HealthFlag>,
}

impl Bridge {
    /// Subscribes to `patterns` on `target` (waiting for the first subscription), publishes a
    /// `bridge-lost` reset of every watched namespace, then keeps bridging in the background
    /// until `shutdown`.
    pub async fn start(
        target: Arc<RedisTarget>,
        patterns: Vec<WatchPattern>,
        state: AppState,
        shutdown: CancellationToken,
    ) -> Result<Self, HubError> {
        let health = Arc::new(HealthFlag::default());
        let first = subscribe(&target, &patterns)
            .await
            .map_err(|e| HubError::Unavailable(e.to_string()))?;
        let task = Task {
            target,
            patterns,
            state,
            health: Arc::clone(&health),
        };
        // Changes made while no bridge listened (every hub stopped, a deploy, a crash) were
        // never bridged, and the log's epoch survives a restart, so a resuming client would
        // replay without a gap: reset, as `recover` does. Only now that the subscription is
        // up, so that no change falls between the reset and the first notification.
        tokio::select! {
            () = shutdown.cancelled() => {
                return Err(HubError::Unavailable("shut down while the bridge started".into()));
            }
            () = task.reset_all() => {}
        }
        tokio::spawn(task.run(first, shutdown));
        Ok(Self { health })
    }
}

type Messages = redis::aio::PubSubStream;

async fn subscribe(
    target: &RedisTarget,
    patterns: &[WatchPattern],
) -> redis::RedisResult<Messages> {
    let client = target.node_client().await?.ok_or_else(|| {
        redis::RedisError::from((
            redis::ErrorKind::InvalidClientConfig,
            "the keyspace bridge needs a single node or a Sentinel master, not a Cluster",
        ))
    })?;
    enable_notifications(&client).await;
    let mut pubsub = client.get_async_pubsub().await?;
    for p in patterns {
        pubsub.psubscribe(p.channel()).await?;
    }
    Ok(pubsub.into_on_message())
}

/// Makes sure keyspace events are on (`K` plus all event classes), keeping other flags.
async fn enable_notifications(client: &redis::Client) {
    let result: redis::RedisResult<()> = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        let (_, flags): (String, String) = redis::cmd("CONFIG")
            .arg("GET")
            .arg("notify-keyspace-events")
            .query_async(&mut conn)
            .await?;
        if !(flags.contains('K') && flags.contains('A')) {
            let wanted = format!("{flags}KA");
            redis::cmd("CONFIG")
                .arg("SET")
                .arg("notify-keyspace-events")
                .arg(wanted)
                .query_async::<()>(&mut conn)
                .await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not enable keyspace notifications; set notify-keyspace-events to include KA");
    }
}

struct Task {
    target: Arc<RedisTarget>,
    patterns: Vec<WatchPattern>,
    state: AppState,
    health: Arc<HealthFlag>,
}

impl Task {
    async fn run(self, first: Messages, shutdown: CancellationToken) {
        let mut messages = first;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.pump(&mut messages) => {}
            }
            // Changes from now on are covered by the resets; not listening meanwhile, no
            // notification piles up while they wait for the transport.
            drop(messages);
            self.health.set(false);
            // Resets wait for the transport for as long as it is down: shutdown ends that.
            messages = tokio::select! {
                () = shutdown.cancelled() => return,
                m = self.recover() => m,
            };
            self.health.set(true);
        }
    }

    /// Resets every watched namespace, subscribes again, and resets them again: the changes
    /// made while nobody listened are covered.
    async fn recover(&self) -> Messages {
        self.reset_all().await;
        let messages = self.reconnect().await;
        self.reset_all().await;
        messages
    }

    async fn reconnect(&self) -> Messages {
        let mut failures = 0u32;
        loop {
            match subscribe(&self.target, &self.patterns).await {
                Ok(m) => return m,
                Err(e) => tracing::warn!(error = %e, "keyspace bridge cannot resubscribe"),
            }
            failures += 1;
            tokio::time::sleep(Duration::from_millis(50 << failures.min(5))).await;
        }
    }

    /// Forwards notifications until the subscription ends or an invalidation cannot be
    /// published.
    async fn pump(&self, messages: &mut Messages) {
        let mut batch: BTreeMap<Namespace, Vec<String>> = BTreeMap::new();
        // Set once, when the first key enters the batch: a window restarted by every message
        // would let steady traffic on one (deduplicated) key hold back every other key.
        let mut deadline = tokio::time::Instant::now();
        loop {
            let next = if batch.is_empty() {
                messages.next().await
            } else {
                match tokio::time::timeout_at(deadline, messages.next()).await {
                    Ok(m) => m,
                    Err(_) => {
                        if !self.flush(&mut batch).await {
                            return;
                        }
                        continue;
                    }
                }
            };
            let Some(message) = next else {
                tracing::warn!("keyspace bridge lost its subscription");
                self.flush(&mut batch).await;
                return;
            };
            if let Some((ns, key)) = parse_channel(message.get_channel_name()) {
                if batch.is_empty() {
                    deadline = tokio::time::Instant::now() + BATCH_WINDOW;
                }
                let keys = batch.entry(ns).or_default();
                if !keys.contains(&key) {
                    keys.push(key);
                }
                if keys.len() >= BATCH_KEYS && !self.flush(&mut batch).await {
                    return;
                }
            }
        }
    }

    /// Publishes `batch`, one invalidation per namespace. Answers false at the first one
    /// that could not be published (the rest is dropped too: the resets that follow cover it).
    async fn flush(&self, batch: &mut BTreeMap<Namespace, Vec<String>>) -> bool {
        for (namespace, keys) in std::mem::take(batch) {
            let Ok(selector) = Selector::parse(&keys, &[] as &[&str], &[] as &[&str]) else {
                continue;
            };
            let invalidation = Invalidation {
                namespace,
                selector,
            };
            let update = Update {
                topics: vec![invalidation.namespace.topic()],
                data: invalidation.to_json(),
                private: false,
                kind: Some(TYPE_INVALIDATE.to_owned()),
                retry: None,
            };
            if !self.publish_with_retries(update).await {
                let ns = &invalidation.namespace;
                tracing::warn!(namespace = %ns, "bridged invalidation given up: resetting instead");
                return false;
            }
        }
        true
    }

    /// Publishes `update`, trying up to [`PUBLISH_ATTEMPTS`] times; answers whether it went out.
    async fn publish_with_retries(&self, update: Update) -> bool {
        for attempt in 1..=PUBLISH_ATTEMPTS {
            match publish_update(&self.state, update.clone()).await {
                Ok(_) => return true,
                Err(e) => tracing::warn!(error = %e, attempt, "bridged invalidation not published"),
            }
            if attempt < PUBLISH_ATTEMPTS {
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
        false
    }

    /// Publishes a `bridge-lost` reset of `ns`, trying until it goes out (or the bridge shuts
    /// down): the changes it stands for reached no browser, so it must not be dropped.
    async fn reset(&self, ns: &Namespace) {
        let update = Update {
            topics: vec![ns.topic()],
            data: Reset::new(Some(ns), ResetReason::BridgeLost).to_json(),
            private: false,
            kind: Some(TYPE_RESET.to_owned()),
            retry: None,
        };
        let mut failures = 0;
        while let Err(e) = publish_update(&self.state, update.clone()).await {
            tracing::warn!(error = %e, namespace = %ns, "bridge reset not published yet");
            failures += 1;
            tokio::time::sleep(backoff(failures)).await;
        }
    }

    async fn reset_all(&self) {
        let mut namespaces: Vec<&Namespace> = self.patterns.iter().map(|p| &p.namespace).collect();
        namespaces.dedup();
        for ns in namespaces {
            self.reset(ns).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_map_to_namespaced_keys() {
        let (ns, key) = parse_channel("__keyspace@0__:shop:v1:product:42").unwrap();
        assert_eq!((ns.as_str(), key.as_str()), ("shop", "product:42"));
        assert_eq!(parse_channel("__keyspace@0__:shop:vx:product"), None);
        assert_eq!(parse_channel("__keyevent@0__:set"), None);
        assert_eq!(parse_channel("__keyspace@0__:shop"), None);
        assert!(WatchPattern::parse("shop:v1:*").is_ok());
        assert!(WatchPattern::parse("sh op:v1:*").is_err());
        assert!(WatchPattern::parse("shop").is_err());
    }
}
