//! The tail: one task per hub instance that follows the stream (XREAD BLOCK on a dedicated
//! connection) after the last entry sent, and hands each entry to the [`super::Delivery`],
//! which numbers, serializes and broadcasts it once (unless its publisher on this instance
//! already did). It also watches continuity, on every read: a missing epoch or stream, a new
//! epoch marker, or entries trimmed before the tail read them all announce an epoch change
//! (a reset) instead of the entries after the gap. On each new connection it also checks
//! whether Redis restarted or its log went back, and then starts a new epoch.

use super::{entry_update, offset, protocol, Inner};
use crate::event_id::EventId;
use crate::redis_target::{Conn, RESPONSE_TIMEOUT};
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::RedisResult;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long one XREAD waits for new entries.
const BLOCK: Duration = Duration::from_millis(1000);
/// Entries read per XREAD.
const BATCH: usize = 1000;
/// The `run_id` of the server, from a script so that a Cluster runs it on the log's node.
const RUN_ID: &str = "return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')";

/// Follows the stream from the delivery's position until `shutdown`.
pub(super) async fn run(inner: Arc<Inner>, shutdown: CancellationToken) {
    let mut reader: Option<Conn> = None;
    let mut failures = 0u32;
    loop {
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            r = step(&inner, &mut reader) => r,
        };
        match result {
            Ok(()) => {
                failures = 0;
                let epoch = inner.delivery.position().epoch;
                inner.set_status(true, Some(&epoch), None);
            }
            Err(e) => {
                tracing::warn!(error = %e, "redis tail failed; reconnecting");
                reader = None;
                *inner.conn.lock().await = None;
                failures += 1;
                inner.set_status(false, None, Some(e.to_string()));
                let backoff = Duration::from_millis(50 << failures.min(4));
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
            }
        }
    }
}

/// Whether a log whose epoch is `epoch` and whose first entry is `first` still holds
/// everything after `position`: same epoch, and nothing after `position` trimmed (trimming
/// removes the oldest entries first, so the first entry is at or before `position`).
fn continues(position: &EventId, epoch: Option<&str>, first: Option<(u64, u64)>) -> bool {
    epoch == Some(position.epoch.as_str()) && first.is_some_and(|f| f <= position.offset)
}

/// The log lost continuity: every subscriber resets to its head (a new epoch when the
/// epoch or the stream is gone).
async fn announce_head(inner: &Inner) -> RedisResult<()> {
    let head = inner.head().await?;
    inner.delivery.announce(head);
    Ok(())
}

/// Whether the log, still in the epoch of `position`, may have lost entries that were
/// already sent or acknowledged: Redis restarted (or another server took its place), or the
/// log's newest entry `last` is older than `position`. A restart may load a snapshot older
/// than what publishers were told was appended: the epoch and the entries up to the
/// snapshot come back, later appends get ids after the lost ones, and nothing else would
/// tell a subscriber, or a replayed cursor, that entries are missing. Whether a restart
/// lost anything cannot be known, so every restart counts.
fn rolled_back(
    position: &EventId,
    epoch: Option<&str>,
    last: Option<(u64, u64)>,
    restarted: bool,
) -> bool {
    let went_back = last.is_some_and(|l| l < position.offset);
    epoch == Some(position.epoch.as_str()) && (restarted || went_back)
}

/// After (re)connecting: announces a new head unless the log still continues from the
/// last entry sent (Redis may have restarted, or the key been deleted, meanwhile). A log
/// that rolled back gets a new epoch, so that its cursors, too, get a reset.
async fn check_continuity(inner: &Inner) -> RedisResult<()> {
    let position = inner.delivery.position();
    let mut conn = inner.conn().await?;
    let (epoch, first, last, run_id): (
        Option<String>,
        StreamRangeReply,
        StreamRangeReply,
        Option<String>,
    ) = redis::pipe()
        .atomic()
        .get(&inner.epoch_key)
        .xrange_count(&inner.stream_key, "-", "+", 1)
        .xrevrange_count(&inner.stream_key, "+", "-", 1)
        .cmd("EVAL")
        .arg(RUN_ID)
        .arg(1)
        .arg(&inner.epoch_key)
        .query_async(&mut conn)
        .await?;
    let first = first.ids.first().and_then(|e| offset(&e.id));
    let last = last.ids.first().and_then(|e| offset(&e.id));
    let restarted = inner.server_changed(run_id);
    if rolled_back(&position, epoch.as_deref(), last, restarted) {
        let head = inner.retire(&position.epoch).await?;
        inner.delivery.announce(head);
    } else if !continues(&position, epoch.as_deref(), first) {
        announce_head(inner).await?;
    }
    Ok(())
}

fn deliver(inner: &Inner, entry: &StreamId) -> RedisResult<()> {
    let at = offset(&entry.id).ok_or_else(|| protocol("bad stream id"))?;
    match entry.get::<String>("epoch") {
        Some(marker) => inner.delivery.marker(&marker, at),
        None => inner.delivery.read(at, || entry_update(entry)),
    }
    Ok(())
}

/// One read: checks continuity on a new connection, then reads and delivers what follows
/// the last entry sent.
async fn step(inner: &Inner, reader: &mut Option<Conn>) -> RedisResult<()> {
    let conn = match reader {
        Some(c) => c,
        None => {
            check_continuity(inner).await?;
            reader.insert(inner.target.connect(BLOCK + RESPONSE_TIMEOUT).await?)
        }
    };
    read(inner, conn).await
}

/// Reads the entries after the last one sent and delivers them, unless the log lost
/// continuity before them: then every subscriber resets instead.
///
/// The epoch and the first entry are asked right after the XREAD, in the same pipeline, so
/// they show what Redis held once the read was done: entries trimmed (or a new epoch
/// begun) before the read show up here, and a gap is announced before anything after it
/// is sent. A trim after the read costs at most a needless reset.
async fn read(inner: &Inner, conn: &mut Conn) -> RedisResult<()> {
    let position = inner.delivery.position();
    let cursor = format!("{}-{}", position.offset.0, position.offset.1);
    let (reply, epoch, first): (Option<StreamReadReply>, Option<String>, StreamRangeReply) =
        redis::pipe()
            .cmd("XREAD")
            .arg("COUNT")
            .arg(BATCH)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(&inner.stream_key)
            .arg(cursor)
            .get(&inner.epoch_key)
            .xrange_count(&inner.stream_key, "-", "+", 1)
            .query_async(conn)
            .await?;
    let first = first.ids.first().and_then(|e| offset(&e.id));
    if !continues(&position, epoch.as_deref(), first) {
        return announce_head(inner).await;
    }
    for key in reply.map(|r| r.keys).unwrap_or_default() {
        for entry in &key.ids {
            deliver(inner, entry)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_continues_while_its_epoch_stays_and_nothing_after_the_position_is_trimmed() {
        let position = EventId::new("e", (10, 0));
        assert!(continues(&position, Some("e"), Some((1, 0))));
        assert!(
            continues(&position, Some("e"), Some((10, 0))),
            "trimmed up to it"
        );
        assert!(
            !continues(&position, Some("e"), Some((10, 1))),
            "trimmed past it"
        );
        assert!(
            !continues(&position, Some("f"), Some((1, 0))),
            "another epoch"
        );
        assert!(!continues(&position, None, Some((1, 0))), "no epoch");
        assert!(!continues(&position, Some("e"), None), "no stream");
    }

    #[test]
    fn the_log_rolled_back_when_redis_restarted_or_its_newest_entry_is_behind_the_position() {
        let position = EventId::new("e", (10, 0));
        assert!(!rolled_back(&position, Some("e"), Some((10, 0)), false));
        assert!(!rolled_back(&position, Some("e"), Some((12, 0)), false));
        assert!(
            rolled_back(&position, Some("e"), Some((10, 0)), true),
            "a restart"
        );
        assert!(
            rolled_back(&position, Some("e"), Some((9, 5)), false),
            "went back"
        );
        // Another epoch, or none: a new epoch already, announced as such.
        assert!(!rolled_back(&position, Some("f"), Some((9, 0)), true));
        assert!(!rolled_back(&position, None, None, true));
    }
}
