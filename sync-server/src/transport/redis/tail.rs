//! The tail: one task per hub instance that follows the stream (XREAD BLOCK on a dedicated
//! connection) after the last entry sent, and hands each entry to the [`super::Delivery`],
//! which numbers, serializes and broadcasts it once (unless its publisher on this instance
//! already did). It also watches continuity: a missing epoch or stream, a new epoch marker,
//! or entries trimmed before the tail read them all announce an epoch change (a reset).

use super::{entry_update, offset, protocol, Inner};
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

/// Follows the stream from the delivery's position until `shutdown`.
pub(super) async fn run(inner: Arc<Inner>, shutdown: CancellationToken) {
    let mut reader: Option<Conn> = None;
    let mut failures = 0u32;
    let mut check = true;
    loop {
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            r = step(&inner, &mut reader, check) => r,
        };
        match result {
            Ok(read) => {
                failures = 0;
                check = needs_check(read, inner.max_len);
                let epoch = inner.delivery.position().epoch;
                inner.set_status(true, Some(&epoch), None);
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

/// Whether the log still continues from the last entry sent; announces a new epoch when not.
async fn check_continuity(inner: &Inner) -> RedisResult<bool> {
    let position = inner.delivery.position();
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
        let head = inner.head().await?;
        inner.delivery.announce(head);
    }
    Ok(continuous)
}

fn deliver(inner: &Inner, entry: &StreamId) -> RedisResult<()> {
    let at = offset(&entry.id).ok_or_else(|| protocol("bad stream id"))?;
    match entry.get::<String>("epoch") {
        Some(marker) => inner.delivery.marker(&marker, at),
        None => inner.delivery.read(at, entry_update(entry).as_ref()),
    }
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
async fn step(inner: &Inner, reader: &mut Option<Conn>, check: bool) -> RedisResult<usize> {
    if check && !check_continuity(inner).await? {
        return Ok(0);
    }
    let conn = match reader {
        Some(c) => c,
        None => reader.insert(inner.target.connect(BLOCK + RESPONSE_TIMEOUT).await?),
    };
    let position = inner.delivery.position().offset;
    let cursor = format!("{}-{}", position.0, position.1);
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
            deliver(inner, entry)?;
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
