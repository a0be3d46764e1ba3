//! The Redis transport: a Redis Stream is the log (XADD with a MAXLEN bound), so any hub
//! instance replays for any client and every instance delivers every event.
//!
//! Keys (one hash slot, for Cluster): `{<prefix>}:log` (the stream) and `{<prefix>}:epoch`.
//! The epoch is created with the stream's first entry, a marker `epoch=<epoch>`; a missing
//! epoch or stream (Redis restarted empty, flushed, key deleted) makes the next writer or the
//! tail start a new epoch, and every subscriber on the old one gets a reset. One script does
//! both the epoch check and the XADD, so an event always belongs to the epoch it is numbered in.
//! The script also answers the entry before the new one, so the publishing instance can send
//! its own event to its subscribers at once when the tail has sent everything before it
//! ([`delivery`]). Given an epoch to retire, it starts a new one if that is still the current
//! epoch: the tail does so when the log may have lost entries while keeping its epoch (Redis
//! restarted from an older snapshot, [`tail`]).

use super::{Cursor, Event, Replay, Transport, TransportHealth, Update};
use crate::error::HubError;
use crate::event_id::{is_valid_epoch, new_epoch, EventId};
use crate::redis_target::{Conn, RedisTarget, RESPONSE_TIMEOUT};
use delivery::Delivery;
use futures_util::future::{BoxFuture, FutureExt};
use redis::streams::{StreamId, StreamRangeReply};
use redis::{RedisError, RedisResult, Script};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

mod delivery;
mod tail;

const APPEND: &str = r"
local e = redis.call('GET', KEYS[1])
if (not e) or redis.call('EXISTS', KEYS[2]) == 0 or e == ARGV[4] then
  e = ARGV[1]
  redis.call('SET', KEYS[1], e)
  redis.call('DEL', KEYS[2])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'epoch', e)
end
local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
local last = newest and newest[1] or ''
if ARGV[3] == '' then
  return {e, last, ''}
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'u', ARGV[3])
return {e, id, last}
";

/// Settings of the Redis transport.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Key prefix (inside the hash tag). Default `hub`.
    pub prefix: String,
    /// MAXLEN of the stream (approximate, `~`). Default 10 000.
    pub max_len: usize,
    /// Per-subscriber queue bound. Default 1024.
    pub queue: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "hub".into(),
            max_len: 10_000,
            queue: 1024,
        }
    }
}

#[derive(Debug, Default)]
struct Status {
    ok: bool,
    epoch: Option<String>,
    detail: Option<String>,
}

/// Shared between the transport and its tail task.
struct Inner {
    target: RedisTarget,
    stream_key: String,
    epoch_key: String,
    max_len: usize,
    script: Script,
    conn: tokio::sync::Mutex<Option<Conn>>,
    delivery: Delivery,
    status: Mutex<Status>,
    /// The `run_id` of the Redis server the tail last found the log on.
    server: Mutex<Option<String>>,
}

/// What the append script answers.
struct Appended {
    /// The appended entry (or the newest, when nothing was appended).
    id: EventId,
    /// The entry just before the appended one, if something was appended.
    previous: Option<(u64, u64)>,
}

/// The Redis Streams transport.
pub struct RedisTransport {
    inner: Arc<Inner>,
    shutdown: CancellationToken,
}

fn unavailable(e: &RedisError) -> HubError {
    HubError::Unavailable(e.to_string())
}

/// A stream entry id (`ms-seq`) as an offset.
fn offset(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The update of a stream entry, `None` for the epoch marker or a foreign entry.
fn entry_update(entry: &StreamId) -> Option<Update> {
    let raw: String = entry.get("u")?;
    serde_json::from_str(&raw).ok()
}

impl Inner {
    async fn conn(&self) -> RedisResult<Conn> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = self.target.connect(RESPONSE_TIMEOUT).await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    async fn forget_conn_on<T>(&self, result: RedisResult<T>) -> RedisResult<T> {
        if let Err(e) = &result {
            if e.is_io_error()
                || e.is_connection_dropped()
                || e.is_timeout()
                || e.is_unrecoverable_error()
            {
                *self.conn.lock().await = None;
            }
        }
        result
    }

    /// Runs the append script: `payload` empty only ensures the epoch (and retires `retire`,
    /// unless empty). Answers the id of the appended (or newest) entry and the entry before it.
    async fn append(&self, payload: &str, retire: &str) -> RedisResult<Appended> {
        let run = async {
            let mut conn = self.conn().await?;
            let (epoch, id, previous): (String, String, String) = self
                .script
                .key(&self.epoch_key)
                .key(&self.stream_key)
                .arg(new_epoch())
                .arg(self.max_len)
                .arg(payload)
                .arg(retire)
                .invoke_async(&mut conn)
                .await?;
            Ok((epoch, id, previous))
        };
        let (epoch, id, previous) = self.forget_conn_on(run.await).await?;
        let offset = offset(&id).ok_or_else(|| protocol("bad stream id"))?;
        if !is_valid_epoch(&epoch) {
            return Err(protocol("bad epoch"));
        }
        Ok(Appended {
            id: EventId::new(&epoch, offset),
            previous: self::offset(&previous),
        })
    }

    /// Ensures the log has an epoch; answers its newest entry.
    async fn head(&self) -> RedisResult<EventId> {
        Ok(self.append("", "").await?.id)
    }

    /// Starts a new epoch unless the log's epoch is no longer `epoch` (another instance
    /// retired it first); answers the newest entry.
    async fn retire(&self, epoch: &str) -> RedisResult<EventId> {
        Ok(self.append("", epoch).await?.id)
    }

    /// Records `run_id` as the server holding the log; answers whether another one was
    /// recorded before (the server restarted, or another took its place).
    fn server_changed(&self, run_id: Option<String>) -> bool {
        let mut known = self.server.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = matches!((&*known, &run_id), (Some(before), Some(now)) if before != now);
        if run_id.is_some() {
            *known = run_id;
        }
        changed
    }

    fn set_status(&self, ok: bool, epoch: Option<&str>, detail: Option<String>) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        status.ok = ok;
        if let Some(e) = epoch {
            status.epoch = Some(e.to_owned());
        }
        status.detail = detail;
    }
}

fn protocol(what: &str) -> RedisError {
    RedisError::from((redis::ErrorKind::Parse, "unexpected reply", what.to_owned()))
}

impl RedisTransport {
    /// Connects to `target`, ensures an epoch exists, and starts tailing the stream.
    pub async fn start(target: RedisTarget, options: RedisOptions) -> Result<Self, HubError> {
        let inner = Arc::new(Inner {
            target,
            stream_key: format!("{{{}}}:log", options.prefix),
            epoch_key: format!("{{{}}}:epoch", options.prefix),
            max_len: options.max_len.max(1),
            script: Script::new(APPEND),
            conn: tokio::sync::Mutex::new(None),
            delivery: Delivery::new(options.queue),
            status: Mutex::new(Status::default()),
            server: Mutex::new(None),
        });
        let head = inner.head().await.map_err(|e| unavailable(&e))?;
        inner.set_status(true, Some(&head.epoch), None);
        inner.delivery.start_at(head);
        let shutdown = CancellationToken::new();
        tokio::spawn(tail::run(Arc::clone(&inner), shutdown.clone()));
        Ok(Self { inner, shutdown })
    }

    async fn replay_after(&self, cursor: Cursor) -> RedisResult<Replay> {
        let inner = &self.inner;
        let limit = inner.max_len * 2 + 100;
        let mut conn = inner.conn().await?;
        let range_start = match &cursor {
            Cursor::Earliest => Some("-".to_owned()),
            Cursor::After(id) => Some(format!("({}-{}", id.offset.0, id.offset.1)),
            Cursor::Now | Cursor::Unknown => None,
        };
        let mut pipe = redis::pipe();
        pipe.atomic()
            .get(&inner.epoch_key)
            .xrange_count(&inner.stream_key, "-", "+", 1)
            .xrevrange_count(&inner.stream_key, "+", "-", 1);
        if let Some(start) = &range_start {
            pipe.xrange_count(&inner.stream_key, start, "+", limit);
        } else {
            pipe.xrange_count(&inner.stream_key, "+", "+", 1);
        }
        let (epoch, first, last, entries): (
            Option<String>,
            StreamRangeReply,
            StreamRangeReply,
            StreamRangeReply,
        ) = inner
            .forget_conn_on(pipe.query_async(&mut conn).await)
            .await?;
        let (Some(epoch), Some(first), Some(last)) = (epoch, first.ids.first(), last.ids.first())
        else {
            // No epoch or no stream: history is gone. Start a new epoch.
            let head = inner.head().await?;
            return Ok(Replay::Reset { head });
        };
        let first = offset(&first.id).ok_or_else(|| protocol("bad stream id"))?;
        let last = offset(&last.id).ok_or_else(|| protocol("bad stream id"))?;
        let head = EventId::new(&epoch, last);
        let known = match &cursor {
            Cursor::After(id) => id.epoch == epoch && id.offset >= first && id.offset <= last,
            Cursor::Unknown => false,
            Cursor::Now | Cursor::Earliest => true,
        };
        if !known {
            return Ok(Replay::Reset { head });
        }
        if range_start.is_none() {
            return Ok(Replay::Events {
                events: Vec::new(),
                head,
            });
        }
        if stops_short(&entries, limit, last) {
            return Ok(Replay::Reset { head });
        }
        let events = entries
            .ids
            .iter()
            .filter_map(|entry| {
                let update = entry_update(entry)?;
                let id = EventId::new(&epoch, offset(&entry.id)?);
                (id.offset <= last).then(|| Arc::new(Event::from_update(id, &update)))
            })
            .collect();
        Ok(Replay::Events { events, head })
    }
}

/// Whether a replay's `entries`, read with COUNT `limit`, stop before the head at `last`:
/// more entries follow the cursor than one reply carries (an instance with a longer
/// `--history` appended them). Sending them would move the subscriber to the head past
/// entries it never got, so it gets a reset instead.
fn stops_short(entries: &StreamRangeReply, limit: usize, last: (u64, u64)) -> bool {
    entries.ids.len() >= limit && entries.ids.last().and_then(|e| offset(&e.id)) != Some(last)
}

impl Drop for RedisTransport {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Transport for RedisTransport {
    fn publish(&self, update: Update) -> BoxFuture<'_, Result<EventId, HubError>> {
        async move {
            let payload =
                serde_json::to_string(&update).map_err(|e| HubError::BadRequest(e.to_string()))?;
            let appended = self
                .inner
                .append(&payload, "")
                .await
                .map_err(|e| unavailable(&e))?;
            let sent = appended
                .previous
                .is_some_and(|previous| self.inner.delivery.own(&appended.id, previous, &update));
            if sent {
                // A woken subscriber waits in this worker's next-task slot until this task
                // yields: let it write its event before the publisher's answer is written.
                tokio::task::yield_now().await;
            }
            Ok(appended.id)
        }
        .boxed()
    }

    fn listen(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.delivery.subscribe()
    }

    fn replay(&self, cursor: Cursor) -> BoxFuture<'_, Result<Replay, HubError>> {
        if cursor == Cursor::Now {
            // Nothing to replay: the stream starts after the last entry this instance sent
            // its subscribers, and every later one reaches a receiver made before this call.
            // No round trip, so a crowd of new subscribers costs Redis nothing, and they
            // start while Redis is unreachable as the open streams carry on.
            let head = self.inner.delivery.position();
            return futures_util::future::ready(Ok(Replay::Events {
                events: Vec::new(),
                head,
            }))
            .boxed();
        }
        async move { self.replay_after(cursor).await.map_err(|e| unavailable(&e)) }.boxed()
    }

    fn health(&self) -> BoxFuture<'_, TransportHealth> {
        let status = self
            .inner
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let health = TransportHealth {
            transport: "redis",
            ok: status.ok,
            epoch: status.epoch.clone(),
            detail: status.detail.clone(),
        };
        futures_util::future::ready(health).boxed()
    }
}
