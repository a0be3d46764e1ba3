//! Direct fan-out: one writer sends each live event straight to every lean subscriber's
//! socket.
//!
//! With a task per subscriber, every event wakes N tasks, and each polls its stream before
//! it writes. Here one task receives each event once, walks the subscribers, and writes the
//! shared frame to each socket with a write that never waits (`try_write_vectored`), as
//! Redis fans out a `PUBLISH`. A subscriber's own task ([`direct`]) sleeps meanwhile; it is
//! woken only when its socket is full (it then writes the subscriber's queue as the socket
//! drains), for heartbeats, token expiry, shutdown, or when its client goes away.
//!
//! Order: a subscriber's frames leave in log order. The fan-out writes directly only while
//! the subscriber's queue is empty; otherwise it appends, and the subscriber's task writes
//! the queue front to back. A subscriber joins once its replay is written and its own
//! receiver is empty, under the registry's lock, so no event falls between the two feeds;
//! events the fan-out has not reached yet but the subscriber already sent are skipped by
//! position ([`crate::stream::follow`]).

pub mod direct;

use crate::chunked;
use crate::transport::{Event, Transport};
use direct::Direct;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use tokio::sync::broadcast::{self, error::RecvError};

/// The hub-wide writer of live events to direct subscribers.
pub struct Fanout {
    transport: Arc<dyn Transport>,
    /// Events a subscriber's queue may hold before it is cut off and told to resync.
    queue: usize,
    registry: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    /// Every direct subscriber; an entry whose task ended no longer upgrades and is pruned.
    subscribers: Vec<Weak<Direct>>,
    /// Entries known to be dead, pruned once they are half of the list.
    dead: usize,
    /// Whether the fan-out task runs (it starts with the first subscriber).
    running: bool,
}

impl Fanout {
    /// A fan-out of `transport`'s events; subscribers whose queue passes `queue` events are
    /// cut off.
    #[must_use]
    pub fn new(transport: Arc<dyn Transport>, queue: usize) -> Self {
        Self {
            transport,
            queue: queue.max(1),
            registry: Mutex::new(Registry::default()),
        }
    }

    /// The per-subscriber queue bound.
    #[must_use]
    pub fn queue(&self) -> usize {
        self.queue
    }

    /// Adds `subscriber` once `own` (its receiver since before its replay) is empty: every
    /// event still in `own` is offered to it first, under the lock that the fan-out holds
    /// while it delivers, so each event reaches it from one feed or the other. Answers
    /// `false` when `own` lagged or closed (the subscriber was told so and is closing).
    pub fn join(
        self: &Arc<Self>,
        subscriber: &Arc<Direct>,
        own: &mut broadcast::Receiver<Arc<Event>>,
    ) {
        let mut registry = self.lock();
        loop {
            match own.try_recv() {
                Ok(event) => subscriber.offer(&event, &chunked::encode(&event.frame)),
                Err(broadcast::error::TryRecvError::Empty) => break,
                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    subscriber.cut_off();
                    return;
                }
                Err(broadcast::error::TryRecvError::Closed) => {
                    subscriber.end();
                    return;
                }
            }
        }
        if !registry.running {
            registry.running = true;
            // Listening starts under the lock: every event sent after the subscriber's
            // receiver was found empty reaches the fan-out.
            let live = self.transport.listen();
            tokio::spawn(Arc::clone(self).run(live));
        }
        if registry.dead * 2 > registry.subscribers.len() {
            registry.subscribers.retain(|s| s.strong_count() > 0);
            registry.dead = 0;
        }
        registry.subscribers.push(Arc::downgrade(subscriber));
    }

    /// Direct subscribers still open.
    #[must_use]
    pub fn subscribers(&self) -> usize {
        let registry = self.lock();
        registry
            .subscribers
            .iter()
            .filter(|s| s.strong_count() > 0)
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn run(self: Arc<Self>, mut live: broadcast::Receiver<Arc<Event>>) {
        loop {
            match live.recv().await {
                Ok(event) => {
                    // Framed once, written to every subscriber as it is.
                    let chunk = chunked::encode(&event.frame);
                    self.each(|subscriber| subscriber.offer(&event, &chunk));
                }
                // The fan-out itself fell behind: every subscriber may have missed events.
                Err(RecvError::Lagged(_)) => self.each(Direct::cut_off),
                Err(RecvError::Closed) => {
                    self.each(Direct::end);
                    return;
                }
            }
        }
    }

    /// Calls `f` on every open subscriber, in the order they joined.
    fn each(&self, mut f: impl FnMut(&Direct)) {
        let mut registry = self.lock();
        let mut dead = 0;
        for weak in &registry.subscribers {
            match weak.upgrade() {
                Some(subscriber) => f(&subscriber),
                None => dead += 1,
            }
        }
        registry.dead = dead;
        if dead * 2 > registry.subscribers.len() {
            registry.subscribers.retain(|s| s.strong_count() > 0);
            registry.dead = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_id::EventId;
    use crate::limits::ConnectionLimiter;
    use crate::metrics::Metrics;
    use crate::sse;
    use crate::stream::{Filter, Subscription};
    use crate::topic::TopicSelector;
    use crate::transport::embedded::Embedded;
    use crate::transport::{Cursor, Replay, Update};
    use bytes::Bytes;
    use std::collections::VecDeque;
    use std::time::Duration;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};
    use tokio_util::sync::CancellationToken;

    fn subscription(live: broadcast::Receiver<Arc<Event>>, position: EventId) -> Subscription {
        let metrics = Arc::new(Metrics::new());
        Subscription {
            pending: VecDeque::from([sse::retry_hint(1000)]),
            live,
            filter: Filter {
                selectors: vec![TopicSelector::Any],
                private: Vec::new(),
            },
            position,
            heartbeat: Duration::from_secs(60),
            heartbeat_frame: Bytes::from_static(sse::HEARTBEAT),
            deadline: None,
            shutdown: CancellationToken::new(),
            retry_ms: 1000,
            guard: Arc::new(ConnectionLimiter::new(1))
                .acquire(None, &metrics.connections)
                .unwrap(),
            metrics,
        }
    }

    async fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    /// What `client` reads until `needle` arrives.
    async fn read_until(client: &mut TcpStream, needle: &str) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&out).contains(needle) {
            let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
                .await
                .expect("nothing arrived")
                .unwrap();
            assert!(n > 0, "closed before {needle:?}");
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn events_sent_before_joining_reach_the_subscriber_through_its_own_receiver() {
        let log = Arc::new(Embedded::new(100, 100));
        let fanout = Arc::new(Fanout::new(log.clone(), 100));
        let Replay::Events { head, .. } = log.replay(Cursor::Now).await.unwrap() else {
            panic!("an empty log replays");
        };
        // The subscriber listens before its replay; these arrive before it joins, while
        // no fan-out runs yet: only its own receiver has them.
        let live = log.listen();
        log.publish(Update::on_a("one")).await.unwrap();
        log.publish(Update::on_a("two")).await.unwrap();
        let (mut client, server) = socket_pair().await;
        let sub = subscription(live, head);
        let stall = Duration::from_secs(5);
        let task = tokio::spawn(direct::serve(server, sub, Arc::clone(&fanout), stall));
        let mut seen = read_until(&mut client, "data: two").await;
        assert_eq!(fanout.subscribers(), 1);
        log.publish(Update::on_a("three")).await.unwrap();
        seen.push_str(&read_until(&mut client, "data: three").await);
        let at = |what: &str| {
            assert_eq!(seen.matches(what).count(), 1, "{what} once: {seen:?}");
            seen.find(what).unwrap()
        };
        assert!(at("retry: ") < at("data: one"));
        assert!(at("data: one") < at("data: two"));
        assert!(at("data: two") < at("data: three"));
        drop(client);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the task ends when its client leaves")
            .unwrap();
    }
}
