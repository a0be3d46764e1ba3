//! Transports: where updates are logged, numbered and fanned out.
//!
//! A transport appends each update to a log, gives it an [`EventId`], serializes its SSE frame
//! once and broadcasts the shared [`Event`] to this instance's subscribers. It replays the log
//! after a cursor, or answers [`Replay::Reset`] when it cannot do so completely.

pub mod embedded;
pub mod redis;

use crate::error::HubError;
use crate::event_id::EventId;
use crate::sse;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

/// An update as published: what the log stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// The topics; the first is the canonical one.
    pub topics: Vec<String>,
    /// The payload (any text).
    pub data: String,
    /// Whether only authorized subscribers may receive it.
    #[serde(default)]
    pub private: bool,
    /// The SSE event type (`invalidate`, `reset`, ...), if any.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A reconnection delay to send with the event, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u64>,
}

#[cfg(test)]
impl Update {
    /// A public, untyped update of `data` on topic `/a`, for unit tests.
    pub(crate) fn on_a(data: &str) -> Self {
        Self {
            topics: vec!["/a".into()],
            data: data.into(),
            private: false,
            kind: None,
            retry: None,
        }
    }
}

/// What subscribers receive from the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A logged update.
    Update,
    /// The log lost continuity: every subscriber must reset; the id is the new epoch's head.
    EpochChanged,
}

/// A numbered update with its SSE frame, shared by every subscriber.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its id.
    pub id: EventId,
    /// Whether it is an update or a continuity break.
    pub kind: EventKind,
    /// The update's topics (empty for [`EventKind::EpochChanged`]).
    pub topics: Vec<String>,
    /// Whether the update is private.
    pub private: bool,
    /// The serialized SSE event.
    pub frame: Bytes,
    /// Its place in this process's sending order (see [`next_seq`]).
    pub seq: u64,
}

/// The next number of one process-wide counter, taken by every [`Event`] as it is built.
/// Transports build and send each event under one lock, so every receiver of a transport
/// sees `seq` increase; the fan-out uses it to tell which events a subscriber joining it
/// already had from its own receiver.
fn next_seq() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Event {
    /// Numbers `update` as `id` and serializes its frame.
    #[must_use]
    pub fn from_update(id: EventId, update: &Update) -> Self {
        let id_text = id.to_string();
        let frame = sse::frame(
            Some(&id_text),
            update.kind.as_deref(),
            &update.data,
            update.retry,
        );
        Self {
            id,
            kind: EventKind::Update,
            topics: update.topics.clone(),
            private: update.private,
            frame,
            seq: next_seq(),
        }
    }

    /// The continuity break announced when the log moved to the epoch of `head`.
    #[must_use]
    pub fn epoch_changed(head: EventId) -> Self {
        Self {
            frame: reset_frame(Some(&head)),
            id: head,
            kind: EventKind::EpochChanged,
            topics: Vec::new(),
            private: false,
            seq: next_seq(),
        }
    }
}

/// A `type: reset` event for every namespace (reason `continuity`), with `id` as its id.
#[must_use]
pub fn reset_frame(id: Option<&EventId>) -> Bytes {
    use cache_core::message::{Reset, ResetReason, TYPE_RESET};
    let data = Reset::new(None, ResetReason::Continuity).to_json();
    let id = id.map(ToString::to_string);
    sse::frame(id.as_deref(), Some(TYPE_RESET), &data, None)
}

/// Where a subscriber wants to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// Now: no replay.
    Now,
    /// Everything still retained (`Last-Event-ID: earliest`).
    Earliest,
    /// After this event.
    After(EventId),
    /// After an id that is not one of ours: always a reset.
    Unknown,
}

/// The answer to a replay request.
#[derive(Debug, Clone)]
pub enum Replay {
    /// The complete list of events after the cursor, oldest first, and the log's head.
    Events {
        /// The missed events.
        events: Vec<Arc<Event>>,
        /// The id of the newest event (or the epoch's start when the log is empty).
        head: EventId,
    },
    /// The cursor cannot be honoured: the client must reset; `head` is where it resumes.
    Reset {
        /// The id of the newest event.
        head: EventId,
    },
}

/// The transport's view of its own health.
#[derive(Debug, Clone, Serialize)]
pub struct TransportHealth {
    /// `embedded` or `redis`.
    pub transport: &'static str,
    /// Whether the log is reachable.
    pub ok: bool,
    /// The current epoch, if known.
    pub epoch: Option<String>,
    /// What is wrong, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A log of updates with replay and local fan-out. Implementations: [`embedded::Embedded`]
/// (in-process, the default) and [`redis::RedisTransport`] (Redis Streams).
pub trait Transport: Send + Sync + 'static {
    /// Appends `update` to the log and answers its id; subscribers get it through
    /// [`Transport::listen`].
    fn publish(&self, update: Update) -> BoxFuture<'_, Result<EventId, HubError>>;

    /// A receiver of every event of this instance, in log order. Its capacity is the
    /// per-subscriber queue bound: a receiver that falls further behind is told it lagged.
    fn listen(&self) -> broadcast::Receiver<Arc<Event>>;

    /// The events after `cursor`, or a reset when they are not all retained.
    fn replay(&self, cursor: Cursor) -> BoxFuture<'_, Result<Replay, HubError>>;

    /// The transport's health.
    fn health(&self) -> BoxFuture<'_, TransportHealth>;
}
