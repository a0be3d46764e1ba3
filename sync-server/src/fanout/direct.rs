//! A direct subscriber: a lean connection whose live events the fan-out writes.
//!
//! Its task writes the start of the stream (retry hint, replay), joins the fan-out, and then
//! sleeps until there is something only it can do: write the queue that built up while the
//! socket was full, send a heartbeat, end the stream on token expiry or shutdown, or notice
//! that the client went away.

use super::Fanout;
use crate::chunked::{self, LAST_CHUNK};
use crate::event_id::EventId;
use crate::metrics::Metrics;
use crate::sse;
use crate::stream::{follow, Filter, Subscription};
use crate::transport::{reset_frame, Event};
use bytes::Bytes;
use futures_util::future::OptionFuture;
use futures_util::FutureExt as _;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// One direct subscriber, shared by its task and (weakly) the fan-out.
pub struct Direct {
    socket: TcpStream,
    state: Mutex<State>,
    /// Wakes the task: its queue has chunks, or the stream is closing.
    wake: Notify,
    metrics: Arc<Metrics>,
    /// The queue bound, in chunks.
    limit: usize,
    _open: OpenCount,
}

/// Holds one count of the fan-out's open subscribers while the subscriber lives.
struct OpenCount(Arc<AtomicUsize>);

impl OpenCount {
    fn new(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for OpenCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct State {
    position: EventId,
    filter: Filter,
    /// The send number of the last live event offered: the fan-out skips what the
    /// subscriber already took from its own receiver.
    seen: u64,
    /// HTTP chunks not yet written, oldest first. While it is not empty only the task writes.
    queue: VecDeque<Bytes>,
    /// Bytes of the front chunk already written.
    written: usize,
    /// When the last chunk was written whole, for heartbeats.
    last_sent: Instant,
    /// When the queue last moved: it started, or some of its front was written. The write
    /// stall is measured from here, so only progress postpones it (as [`StallGuard`] does).
    ///
    /// [`StallGuard`]: crate::listener::StallGuard
    progress: Instant,
    /// No chunk is taken any more: the stream ends once the queue is written.
    closing: bool,
    /// The socket failed: the stream ends now.
    broken: bool,
}

impl State {
    /// Writes `chunk` now if nothing is queued and the socket takes it, else queues it.
    /// Answers whether the task must act.
    fn send(&mut self, socket: &TcpStream, chunk: &Bytes, limit: usize, metrics: &Metrics) -> bool {
        if !self.queue.is_empty() {
            if self.queue.len() >= limit {
                self.cut_off(metrics);
            } else {
                self.push(chunk.clone());
            }
            return true;
        }
        let written = match socket.try_write(chunk) {
            Ok(n) if n == chunk.len() => {
                self.last_sent = Instant::now();
                return false;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(_) => {
                self.broken = true;
                return true;
            }
        };
        self.written = written;
        self.push(chunk.clone());
        true
    }

    /// Queues `chunk`; a queue that starts now starts its stall clock.
    fn push(&mut self, chunk: Bytes) {
        if self.queue.is_empty() {
            self.progress = Instant::now();
        }
        self.queue.push_back(chunk);
    }

    /// Ends the stream with a reset: events are lost to it.
    fn cut_off(&mut self, metrics: &Metrics) {
        if self.closing {
            return;
        }
        metrics.lagged.inc();
        metrics.resets.inc();
        self.close_with(&[reset_frame(None), sse::comment("too slow: resync")]);
    }

    /// Ends the stream with `frames`. What is still queued is dropped, so the stream ends
    /// now rather than after the queue: the client resumes from the last event it read (or
    /// resets). The front chunk stays, since the task may be writing it and a chunk must
    /// not be cut.
    fn close_with(&mut self, frames: &[Bytes]) {
        if self.closing {
            return;
        }
        self.closing = true;
        self.queue.truncate(1);
        for frame in frames {
            self.push(chunked::encode(frame));
        }
    }
}

impl Direct {
    /// A subscriber of `fanout` on `socket`, at `position`, whose first frames are
    /// `pending` (its retry hint and replay).
    pub fn new(
        socket: TcpStream,
        position: EventId,
        filter: Filter,
        pending: VecDeque<Bytes>,
        metrics: Arc<Metrics>,
        fanout: &Fanout,
    ) -> Arc<Self> {
        Arc::new(Self {
            socket,
            state: Mutex::new(State {
                position,
                filter,
                seen: 0,
                queue: pending.into_iter().map(|f| chunked::encode(&f)).collect(),
                written: 0,
                last_sent: Instant::now(),
                progress: Instant::now(),
                closing: false,
                broken: false,
            }),
            wake: Notify::new(),
            metrics,
            limit: fanout.queue(),
            _open: OpenCount::new(fanout.open_count()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends what `event` means for this subscriber, unless it had it already; `chunk`
    /// carries the event's frame (framed once for every subscriber). Called in log order.
    pub fn offer(&self, event: &Event, chunk: &Bytes) {
        let wake = {
            let mut guard = self.lock();
            let state = &mut *guard;
            if state.closing || state.broken || event.seq <= state.seen {
                return;
            }
            state.seen = event.seq;
            let step = follow(&mut state.position, &state.filter, &self.metrics, event);
            let mut wake = false;
            if step.reset {
                let reset = chunked::encode(&reset_frame(None));
                wake |= state.send(&self.socket, &reset, self.limit, &self.metrics);
            }
            if step.deliver {
                wake |= state.send(&self.socket, chunk, self.limit, &self.metrics);
            }
            wake
        };
        if wake {
            self.wake.notify_one();
        }
    }

    /// Ends the stream with a reset: events were lost on the way to it.
    pub fn cut_off(&self) {
        self.lock().cut_off(&self.metrics);
        self.wake.notify_one();
    }

    /// Ends the stream: no more events will come.
    pub fn end(&self) {
        self.close(&[]);
    }

    fn close(&self, frames: &[Bytes]) {
        self.lock().close_with(frames);
        self.wake.notify_one();
    }

    fn has_queue(&self) -> bool {
        !self.lock().queue.is_empty()
    }

    /// Writes the queue's front chunk, waiting for the socket as needed. Progress is
    /// recorded as it is made, so the write may be abandoned (for a heartbeat or a shutdown,
    /// say) and resumed. Fails when the socket does, or when the queue has not moved for
    /// `stall`: the deadline lives in the state, so abandoning and resuming the write does
    /// not restart it.
    async fn write_front(&self, stall: Duration) -> io::Result<()> {
        loop {
            let (chunk, written, stalled_at) = {
                let state = self.lock();
                if state.broken {
                    return Err(io::ErrorKind::BrokenPipe.into());
                }
                match state.queue.front() {
                    Some(chunk) => (chunk.clone(), state.written, state.progress + stall),
                    None => return Ok(()),
                }
            };
            // The fan-out only appends while the queue is not empty, and a close keeps the
            // front: this chunk stays the front until it is popped here.
            match self.socket.try_write(&chunk[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    let mut state = self.lock();
                    state.written += n;
                    state.progress = Instant::now();
                    if state.written == chunk.len() {
                        state.queue.pop_front();
                        state.written = 0;
                        state.last_sent = Instant::now();
                        if state.queue.is_empty() && state.queue.capacity() > 64 {
                            // A burst or a replay is over: give its room back.
                            state.queue.shrink_to_fit();
                        }
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    tokio::time::timeout_at(stalled_at, self.socket.writable())
                        .await
                        .map_err(|_| {
                            io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")
                        })??;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The heartbeat timer fired: a heartbeat if nothing was written for a whole `period`
    /// (and nothing waits to be), and when the timer fires next.
    fn heartbeat_due(&self, period: Duration, chunk: &Bytes) -> Instant {
        let now = Instant::now();
        let mut state = self.lock();
        if state.closing || !state.queue.is_empty() {
            return now + period;
        }
        if now < state.last_sent + period {
            return state.last_sent + period;
        }
        // A heartbeat that had to be queued is written by the task itself, next.
        let _ = state.send(&self.socket, chunk, self.limit, &self.metrics);
        now + period
    }

    /// The chunk that ends the body, once everything else is written.
    async fn write_last_chunk(&self) {
        let mut rest = LAST_CHUNK;
        while !rest.is_empty() {
            match self.socket.try_write(rest) {
                Ok(n) if n > 0 => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.socket.writable().await.is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    fn finished(&self) -> bool {
        let state = self.lock();
        state.broken || (state.closing && state.queue.is_empty())
    }
}

/// Serves `sub` on `socket`, whose response head is written: the stream's first frames, then
/// live events through `fanout`, until the client leaves, the stream ends, or a write
/// stalls for `stall`.
pub async fn serve(socket: TcpStream, sub: Subscription, fanout: Arc<Fanout>, stall: Duration) {
    let Subscription {
        pending,
        mut live,
        filter,
        position,
        heartbeat,
        heartbeat_frame,
        deadline,
        shutdown,
        retry_ms,
        metrics,
        guard,
    } = sub;
    let heartbeat = heartbeat.max(Duration::from_millis(1));
    let heartbeat_chunk = chunked::encode(&heartbeat_frame);
    drop(heartbeat_frame);
    let direct = Direct::new(socket, position, filter, pending, metrics, &fanout);
    // Fused: once it has fired the stream is closing, and it is not polled again.
    let cancelled = shutdown.cancelled().fuse();
    // Boxed, and only for a token that expires; dropped once it fired.
    let mut expiry = deadline.map(|at| Box::pin(tokio::time::sleep_until(at)));
    tokio::pin!(cancelled);
    // The replay is written before joining; live events wait in `live` meanwhile. One chunk
    // at a time, so that shutdown and expiry cut a long replay to a slow reader short, as
    // they do a live queue: the client resumes from the last event it read.
    while direct.has_queue() && !direct.lock().closing {
        tokio::select! {
            biased;
            () = &mut cancelled => direct.close(&sse::goodbye(retry_ms)),
            () = async { if let Some(at) = expiry.as_mut() { at.await } }, if expiry.is_some() => {
                expiry = None;
                direct.close(&[sse::token_expired()]);
            }
            written = direct.write_front(stall) => {
                if let Err(error) = written {
                    tracing::debug!(%error, "subscription connection ended");
                    return;
                }
            }
        }
    }
    // A stream closed during its replay never joins: the loop below writes its goodbye.
    if !direct.lock().closing {
        fanout.join(&direct, &mut live);
    }
    drop((live, fanout));

    let beat = tokio::time::sleep_until(Instant::now() + heartbeat);
    tokio::pin!(beat);
    loop {
        if direct.finished() {
            if !direct.lock().broken {
                let _ = tokio::time::timeout(stall, direct.write_last_chunk()).await;
            }
            break;
        }
        let queued = direct.has_queue();
        // Shutdown and expiry come first, also while a queue is being written: one chunk
        // at a time, so a client that keeps its queue from emptying still hears them.
        tokio::select! {
            biased;
            () = &mut cancelled => direct.close(&sse::goodbye(retry_ms)),
            () = async { if let Some(at) = expiry.as_mut() { at.await } }, if expiry.is_some() => {
                expiry = None;
                direct.close(&[sse::token_expired()]);
            }
            // Boxed, and only when there is a queue: an idle subscriber keeps no room for it.
            Some(written) = OptionFuture::from(queued.then(|| Box::pin(direct.write_front(stall)))), if queued => {
                if let Err(error) = written {
                    tracing::debug!(%error, "subscription connection ended");
                    break;
                }
            }
            () = direct.wake.notified(), if !queued => {}
            () = client_closed(&direct.socket) => break,
            () = &mut beat => {
                let next = direct.heartbeat_due(heartbeat, &heartbeat_chunk);
                beat.as_mut().reset(next);
            }
        }
    }
    drop(guard);
}

/// Resolves when the client closes its side or the connection fails. What it sends is
/// discarded: the connection serves one request.
async fn client_closed(socket: &TcpStream) {
    // Small: it is part of what every idle subscriber holds.
    let mut sink = [0u8; 8];
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        match socket.try_read(&mut sink) {
            Ok(0) => return,
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return,
            _ => {}
        }
    }
}
