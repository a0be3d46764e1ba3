//! The embedded transport: an in-process log with bounded history. One instance, nothing to
//! install; a restart starts a new epoch, so every resuming client gets a reset.

use super::{Cursor, Event, Replay, Transport, TransportHealth, Update};
use crate::error::HubError;
use crate::event_id::{new_epoch, EventId};
use futures_util::future::{self, BoxFuture, FutureExt};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::broadcast;

struct Log {
    history: VecDeque<Arc<Event>>,
    last: u64,
}

/// The in-process transport.
pub struct Embedded {
    epoch: String,
    capacity: usize,
    log: Mutex<Log>,
    sender: broadcast::Sender<Arc<Event>>,
}

impl Embedded {
    /// A log keeping the last `history` events (at least 1), whose subscribers may fall
    /// `queue` events behind (at least 1) before they are cut off.
    #[must_use]
    pub fn new(history: usize, queue: usize) -> Self {
        let (sender, _) = broadcast::channel(queue.max(1));
        Self {
            epoch: new_epoch(),
            capacity: history.max(1),
            log: Mutex::new(Log {
                history: VecDeque::new(),
                last: 0,
            }),
            sender,
        }
    }

    fn head(&self, log: &Log) -> EventId {
        EventId::new(&self.epoch, (log.last, 0))
    }

    fn replay_now(&self, cursor: &Cursor) -> Replay {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let head = self.head(&log);
        let first = log.history.front().map_or(log.last + 1, |e| e.id.offset.0);
        let after = match cursor {
            Cursor::Now => log.last,
            Cursor::Earliest => 0,
            Cursor::Unknown => return Replay::Reset { head },
            Cursor::After(id) => {
                let known = id.epoch == self.epoch
                    && id.offset.1 == 0
                    && id.offset.0 <= log.last
                    && id.offset.0 + 1 >= first;
                if !known {
                    return Replay::Reset { head };
                }
                id.offset.0
            }
        };
        let events = log
            .history
            .iter()
            .filter(|e| e.id.offset.0 > after)
            .cloned()
            .collect();
        Replay::Events { events, head }
    }
}

impl Transport for Embedded {
    fn publish(&self, update: Update) -> BoxFuture<'_, Result<EventId, HubError>> {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.last += 1;
        let id = EventId::new(&self.epoch, (log.last, 0));
        let event = Arc::new(Event::from_update(id.clone(), &update));
        if log.history.len() == self.capacity {
            log.history.pop_front();
        }
        log.history.push_back(Arc::clone(&event));
        // Sent under the lock so that every receiver sees log order; no receiver is fine.
        let _ = self.sender.send(event);
        future::ready(Ok(id)).boxed()
    }

    fn listen(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    fn replay(&self, cursor: Cursor) -> BoxFuture<'_, Result<Replay, HubError>> {
        future::ready(Ok(self.replay_now(&cursor))).boxed()
    }

    fn health(&self) -> BoxFuture<'_, TransportHealth> {
        future::ready(TransportHealth {
            transport: "embedded",
            ok: true,
            epoch: Some(self.epoch.clone()),
            detail: None,
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(n: u32) -> Update {
        Update {
            topics: vec!["/t".into()],
            data: n.to_string(),
            private: false,
            kind: None,
            retry: None,
        }
    }

    async fn ids(t: &Embedded, cursor: Cursor) -> Option<Vec<u64>> {
        match t.replay(cursor).await.unwrap() {
            Replay::Events { events, .. } => Some(events.iter().map(|e| e.id.offset.0).collect()),
            Replay::Reset { .. } => None,
        }
    }

    #[tokio::test]
    async fn replays_only_complete_history() {
        let t = Embedded::new(3, 8);
        let mut ids_published = Vec::new();
        for n in 0..5 {
            ids_published.push(t.publish(update(n)).await.unwrap());
        }
        // History holds 3, 4, 5.
        assert_eq!(
            ids(&t, Cursor::After(ids_published[1].clone())).await,
            Some(vec![3, 4, 5])
        );
        assert_eq!(
            ids(&t, Cursor::After(ids_published[3].clone())).await,
            Some(vec![5])
        );
        assert_eq!(
            ids(&t, Cursor::After(ids_published[4].clone())).await,
            Some(vec![])
        );
        assert_eq!(
            ids(&t, Cursor::After(ids_published[0].clone())).await,
            None,
            "trimmed"
        );
        assert_eq!(ids(&t, Cursor::Earliest).await, Some(vec![3, 4, 5]));
        assert_eq!(ids(&t, Cursor::Now).await, Some(vec![]));
        assert_eq!(ids(&t, Cursor::Unknown).await, None);
        let other = EventId::new("abc", (4, 0));
        assert_eq!(ids(&t, Cursor::After(other)).await, None, "other epoch");
        let future = EventId::new(&t.epoch, (9, 0));
        assert_eq!(
            ids(&t, Cursor::After(future)).await,
            None,
            "ahead of the log"
        );
    }

    #[tokio::test]
    async fn a_fresh_log_replays_from_its_start() {
        let t = Embedded::new(3, 8);
        let start = EventId::new(&t.epoch, (0, 0));
        t.publish(update(1)).await.unwrap();
        assert_eq!(ids(&t, Cursor::After(start)).await, Some(vec![1]));
    }
}
