//! Where Redis is: one node, a Sentinel-managed master, or a Cluster, from one URL.
//!
//! - `redis://[user:pass@]host:port[/db]` and `rediss://...`: one node;
//! - `redis+sentinel://host1:26379,host2:26379/<master-name>[/db]`: the master that the
//!   Sentinels name, through [`redis::sentinel::SentinelClient`];
//! - `redis+cluster://host1:7000,host2:7001`: a Cluster, through
//!   [`redis::cluster::ClusterClient`] (the hub's keys share one hash slot: `{hub}:...`).
//!
//! ```
//! use sync_server::redis_target::RedisTarget;
//! assert!(RedisTarget::parse("redis://127.0.0.1:6379/0").is_ok());
//! assert!(RedisTarget::parse("redis+sentinel://a:26379,b:26379/mymaster/0").is_ok());
//! assert!(RedisTarget::parse("redis+cluster://a:7000,b:7001").is_ok());
//! assert!(RedisTarget::parse("http://a").is_err());
//! ```

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{AsyncConnectionConfig, Client, Cmd, Pipeline, RedisFuture, RedisResult, Value};
use std::time::Duration;
use tokio::sync::Mutex;

/// Commands that take longer than this are treated as a lost connection.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connecting takes at most this.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A parsed Redis URL.
pub enum RedisTarget {
    /// One node.
    Node(Client),
    /// A master found through Sentinels.
    Sentinel(Mutex<SentinelClient>),
    /// A Cluster.
    Cluster(ClusterClient),
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Node(_) => "RedisTarget::Node",
            Self::Sentinel(_) => "RedisTarget::Sentinel",
            Self::Cluster(_) => "RedisTarget::Cluster",
        })
    }
}

/// A connection to any kind of target; cheap to clone.
#[derive(Clone)]
pub enum Conn {
    /// To one node (or the Sentinel's master).
    Node(MultiplexedConnection),
    /// To a Cluster.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

fn invalid(message: &str) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::InvalidClientConfig,
        "invalid Redis URL",
        message.to_owned(),
    ))
}

fn hosts(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|h| !h.is_empty())
        .map(|h| format!("redis://{h}"))
        .collect()
}

impl RedisTarget {
    /// Parses one of the URL forms above.
    pub fn parse(url: &str) -> RedisResult<Self> {
        if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            let (list, path) = rest
                .split_once('/')
                .ok_or_else(|| invalid("missing master name"))?;
            let (master, db) = path.split_once('/').unwrap_or((path, ""));
            if master.is_empty() {
                return Err(invalid("missing master name"));
            }
            let node = if db.is_empty() {
                None
            } else {
                let db: i64 = db.parse().map_err(|_| invalid("bad database number"))?;
                let info = redis::RedisConnectionInfo::default().set_db(db);
                Some(
                    redis::sentinel::SentinelNodeConnectionInfo::default()
                        .set_redis_connection_info(info),
                )
            };
            let client = SentinelClient::build(
                hosts(list),
                master.to_owned(),
                node,
                SentinelServerType::Master,
            )?;
            return Ok(Self::Sentinel(Mutex::new(client)));
        }
        if let Some(rest) = url.strip_prefix("redis+cluster://") {
            let nodes = hosts(rest.trim_end_matches('/'));
            let client = ClusterClientBuilder::new(nodes)
                .connection_timeout(CONNECT_TIMEOUT)
                .response_timeout(RESPONSE_TIMEOUT)
                .build()?;
            return Ok(Self::Cluster(client));
        }
        if url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://")
        {
            return Ok(Self::Node(Client::open(url)?));
        }
        Err(invalid(
            "use redis://, rediss://, redis+sentinel:// or redis+cluster://",
        ))
    }

    /// A client for the node to talk to (the current master, for Sentinel); `None` for a Cluster.
    pub async fn node_client(&self) -> RedisResult<Option<Client>> {
        match self {
            Self::Node(c) => Ok(Some(c.clone())),
            Self::Sentinel(s) => s.lock().await.async_get_client().await.map(Some),
            Self::Cluster(_) => Ok(None),
        }
    }

    /// A new connection whose commands time out after `response`.
    pub async fn connect(&self, response: Duration) -> RedisResult<Conn> {
        if let Self::Cluster(c) = self {
            return c.get_async_connection().await.map(Conn::Cluster);
        }
        let client = self
            .node_client()
            .await?
            .ok_or_else(|| invalid("no node"))?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(response));
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map(Conn::Node)
    }
}
