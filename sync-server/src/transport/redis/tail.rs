//! The tail: one task per hub instance that follows the stream (XREAD BLOCK on a dedicated
//! connection), numbers and serializes each entry once, and broadcasts it to this instance's
//! subscribers. It also watches continuity: a missing epoch or stream, a new epoch marker,
//! or entries trimmed before the tail read them all announce an epoch change (a reset).

use super::{entry_update, offset, protocol, Inner};
use crate::event_id::EventId;
use crate::redis_target::{Conn, RESPONSE_TIMEOUT};
use crate::transport::Event;
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::RedisResult;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long one XREAD waits for new entries.
const BLOCK: Duration = Duration::from_millis(1000);
/// Entries read per XREAD.
const BATCH: usize = 1000;

/// Follows the stream from `head` until `shutdown`.
pub(super) async fn run(inner: Arc<Inner>, head: EventId, shutdown: CancellationToken) {
    let mut position = head;
    let mut reader: Option<Conn> = None;
    let mut failures = 0u32;
    let mut check = true;
    loop {
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            r = step(&inner, &mut reader, &mut position, check) => r,
        };
        match result {
            Ok(read) => {
                failures = 0;
                check = needs_check(read, inner.max_len);
                inner.set_status(true, Some(&position.epoch), None);
            }
            Err(e) => {
                tracing::warn!(error = %e, "redis tail failed; reconnecting");
                check = true;
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

fn announce(inner: &Inner, position: &mut EventId, head: EventId) {
    tracing::info!(epoch = %head.epoch, "redis log lost continuity: new epoch");
    let _ = inner
        .sender
        .send(Arc::new(Event::epoch_changed(head.clone())));
    *position = head;
}

/// Whether the log still continues from `position`; announces a new epoch when not.
async fn check_continuity(inner: &Inner, position: &mut EventId) -> RedisResult<bool> {
    let mut conn = inner.conn().await?;
    let (epoch, first): (Option<String>, StreamRangeReply) = redis::pipe()
        .atomic()
        .get(&inner.epoch_key)
        .xrange_count(&inner.stream_key, "-", "+", 1)
        .query_async(&mut conn)
        .await?;
    let first = first.ids.first().and_then(|e| offset(&e.id));
    let continuous = epoch.as_deref() == Some(position.epoch.as_str())
        && first.is_some_and(|f| f <= position.offset);
    if !continuous {
        let head = inner.append("").await?;
        announce(inner, position, head);
    }
    Ok(continuous)
}

fn deliver(inner: &Inner, position: &mut EventId, entry: &StreamId) -> RedisResult<()> {
    let at = offset(&entry.id).ok_or_else(|| protocol("bad stream id"))?;
    if let Some(marker) = entry.get::<String>("epoch") {
        if marker != position.epoch {
            announce(inner, position, EventId::new(&marker, at));
        }
    } else if let Some(update) = entry_update(entry) {
        let id = EventId::new(&position.epoch, at);
        let _ = inner.sender.send(Arc::new(Event::from_update(id, &update)));
    }
    position.offset = at;
    Ok(())
}

/// Whether the next read must first check continuity, after a read of `read` entries.
///
/// Checking costs a round trip before every read, so it is done only when a loss is possible:
/// after a read that found nothing (Redis may have restarted empty, the stream or the epoch
/// may be gone), and after a read as large as a batch or the log's bound (`MAXLEN ~` keeps at
/// least `max_len` entries, so had entries after our position been trimmed, at least that many
/// would follow it). A smaller read proves nothing after our position was trimmed. Errors
/// reconnect, and the first read after that checks too.
fn needs_check(read: usize, max_len: usize) -> bool {
    read == 0 || read >= BATCH.min(max_len.max(1))
}

/// One read; returns how many entries it delivered.
async fn step(
    inner: &Inner,
    reader: &mut Option<Conn>,
    position: &mut EventId,
    check: bool,
) -> RedisResult<usize> {
    if check && !check_continuity(inner, position).await? {
        return Ok(0);
    }
    let conn = match reader {
        Some(c) => c,
        None => reader.insert(inner.target.connect(BLOCK + RESPONSE_TIMEOUT).await?),
    };
    let cursor = format!("{}-{}", position.offset.0, position.offset.1);
    let reply: Option<StreamReadReply> = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(BATCH)
        .arg("BLOCK")
        .arg(BLOCK.as_millis() as u64)
        .arg("STREAMS")
        .arg(&inner.stream_key)
        .arg(cursor)
        .query_async(conn)
        .await?;
    let mut read = 0;
    for key in reply.map(|r| r.keys).unwrap_or_default() {
        for entry in &key.ids {
            deliver(inner, position, entry)?;
            read += 1;
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_only_when_a_loss_is_possible() {
        assert!(needs_check(0, 10_000), "an empty read");
        assert!(!needs_check(1, 10_000));
        assert!(!needs_check(BATCH - 1, 10_000));
        assert!(needs_check(BATCH, 10_000), "a full batch");
        assert!(needs_check(4, 4), "as many as the log keeps");
        assert!(!needs_check(3, 4));
    }
}
