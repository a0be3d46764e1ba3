//! Direct fan-out: one writer sends each live event straight to every lean subscriber's
//! socket.
//!
//! With a task per subscriber, every event wakes N tasks, and each polls its stream before
//! it writes. Here one thread receives each event once, frames it once, walks the
//! subscribers, and writes the shared chunk to each socket with a write that never waits
//! (`try_write`), as Redis fans out a `PUBLISH`. A subscriber's own task ([`direct`]) sleeps
//! meanwhile; it wakes only to write the queue that built up while its socket was full, for
//! heartbeats, token expiry and shutdown, or when its client goes away.
//!
//! Order: a subscriber's frames leave in log order. The fan-out writes directly only while
//! the subscriber's queue is empty; otherwise it appends, and the subscriber's task writes
//! the queue front to back. A subscriber joins once its replay is written: under the
//! registry's lock it takes every event still in its own receiver and enters the list. The
//! fan-out takes its copy of the list under the same lock, after it received the event it
//! is about to deliver, so a subscriber missing from that copy already had the event from
//! its own receiver; events it had both ways are skipped by their send number
//! ([`Event::seq`]). Each event reaches it once, in order. The walk itself holds no lock,
//! so a subscriber joining never waits for one.
//!
//! Bounds: a subscriber's queue holds at most `queue` chunks, past which it is cut off with
//! a reset. The fan-out's own receiver has the same bound: should the fan-out itself fall
//! that far behind the log, every direct subscriber is cut off with a reset (each counted
//! in `hub_lagged_clients_total`).

pub mod direct;

use crate::chunked;
use crate::transport::{Event, Transport};
use direct::Direct;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

/// The hub-wide writer of live events to direct subscribers.
pub struct Fanout {
    transport: Arc<dyn Transport>,
    /// Events a subscriber's queue may hold before it is cut off and told to resync.
    queue: usize,
    registry: Mutex<Registry>,
    /// Direct subscribers whose task still runs (each holds one count while it does).
    open: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Registry {
    /// Every direct subscriber; an entry whose task ended no longer upgrades and is pruned
    /// once dead entries outnumber open ones.
    subscribers: Vec<Weak<Direct>>,
    /// Whether the fan-out thread runs (it starts with the first subscriber).
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
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The per-subscriber queue bound.
    #[must_use]
    pub fn queue(&self) -> usize {
        self.queue
    }

    /// The count of open direct subscribers, which each subscriber holds while it runs.
    pub(crate) fn open_count(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.open)
    }

    /// Adds `subscriber`, whose receiver `own` has listened since before its replay. Under
    /// the registry's lock, every event still in `own` is offered to it first (the fan-out
    /// skips those), then it enters the list. When `own` lagged or closed, the subscriber
    /// is told so and closes instead.
    pub fn join(
        self: &Arc<Self>,
        subscriber: &Arc<Direct>,
        own: &mut broadcast::Receiver<Arc<Event>>,
    ) {
        let mut registry = self.lock();
        if !registry.running {
            registry.running = true;
            // Listening starts before `own` is emptied: an event sent meanwhile is in both
            // feeds (and skipped once), never in neither.
            let live = self.transport.listen();
            let fanout = Arc::downgrade(self);
            let started = std::thread::Builder::new()
                .name("hub-fanout".into())
                .spawn(move || run(&fanout, live));
            if let Err(error) = started {
                // No thread, no live events: end this subscriber rather than leave it
                // silent; the next one tries again.
                tracing::error!(%error, "could not start the fan-out thread");
                registry.running = false;
                return subscriber.end();
            }
        }
        loop {
            match own.try_recv() {
                Ok(event) => subscriber.offer(&event, &chunked::encode(&event.frame)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => return subscriber.cut_off(),
                Err(TryRecvError::Closed) => return subscriber.end(),
            }
        }
        let open = self.open.load(Ordering::Relaxed);
        if registry.subscribers.len() > 2 * open + 16 {
            registry.subscribers.retain(|s| s.strong_count() > 0);
        }
        registry.subscribers.push(Arc::downgrade(subscriber));
    }

    /// Direct subscribers still open.
    #[must_use]
    pub fn subscribers(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `event` to every subscriber, framed once.
    fn deliver(&self, event: &Event) {
        let chunk = chunked::encode(&event.frame);
        self.each(|subscriber| subscriber.offer(event, &chunk));
    }

    /// Calls `f` on every open subscriber, in the order they joined, and prunes the list
    /// when most of it is dead. Walks a copy of the list taken under the lock (see the
    /// module's note on order), so joins never wait for a walk over thousands of sockets.
    fn each(&self, mut f: impl FnMut(&Direct)) {
        let subscribers = self.lock().subscribers.clone();
        let mut dead = 0;
        for weak in &subscribers {
            match weak.upgrade() {
                Some(subscriber) => f(&subscriber),
                None => dead += 1,
            }
        }
        if dead * 2 > subscribers.len() {
            self.lock().subscribers.retain(|s| s.strong_count() > 0);
        }
    }
}

/// The fan-out thread: delivers every event of `live` until the log closes or the fan-out
/// is dropped (it holds no strong reference, so a dropped hub stops it). A thread of its
/// own, not a task: one event's walk over thousands of sockets would otherwise hold a
/// runtime worker, and whatever waits on it (the publisher's answer, new connections).
fn run(fanout: &Weak<Fanout>, mut live: broadcast::Receiver<Arc<Event>>) {
    loop {
        let received = live.blocking_recv();
        let Some(fanout) = fanout.upgrade() else {
            return;
        };
        match received {
            Ok(event) => fanout.deliver(&event),
            // The fan-out itself fell behind: every subscriber may have missed events.
            Err(RecvError::Lagged(_)) => fanout.each(Direct::cut_off),
            Err(RecvError::Closed) => {
                fanout.each(Direct::end);
                fanout.lock().running = false;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_id::EventId;
    use crate::metrics::Metrics;
    use crate::sse;
    use crate::stream::{Filter, Subscription};
    use crate::topic::TopicSelector;
    use crate::transport::embedded::Embedded;
    use crate::transport::{Cursor, Replay, Update};
    use std::collections::VecDeque;
    use std::time::Duration;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    fn subscription(live: broadcast::Receiver<Arc<Event>>, position: EventId) -> Subscription {
        Subscription {
            pending: VecDeque::from([sse::retry_hint(1000)]),
            ..Subscription::for_tests(live, position)
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

    /// A transport whose events the test sends by hand.
    struct Feed(broadcast::Sender<Arc<Event>>);

    impl Transport for Feed {
        fn publish(
            &self,
            _: Update,
        ) -> futures_util::future::BoxFuture<'_, Result<EventId, crate::error::HubError>> {
            let refused =
                crate::error::HubError::Unavailable("the test sends events itself".into());
            Box::pin(std::future::ready(Err(refused)))
        }
        fn listen(&self) -> broadcast::Receiver<Arc<Event>> {
            self.0.subscribe()
        }
        fn replay(
            &self,
            _: Cursor,
        ) -> futures_util::future::BoxFuture<'_, Result<Replay, crate::error::HubError>> {
            let head = EventId::new("aa", (0, 0));
            Box::pin(std::future::ready(Ok(Replay::Reset { head })))
        }
        fn health(&self) -> futures_util::future::BoxFuture<'_, crate::transport::TransportHealth> {
            Box::pin(std::future::ready(crate::transport::TransportHealth {
                transport: "feed",
                ok: true,
                epoch: None,
                detail: None,
            }))
        }
    }

    /// What `client` reads until it has been quiet for a while.
    async fn read_all(client: &mut TcpStream) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(read) =
            tokio::time::timeout(Duration::from_millis(200), client.read(&mut buf)).await
        {
            let n = read.unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn a_join_across_an_epoch_change_sends_each_event_once() {
        let (sender, _) = broadcast::channel(16);
        let feed = Arc::new(Feed(sender.clone()));
        let fanout = Arc::new(Fanout::new(feed.clone(), 16));
        let metrics = Arc::new(Metrics::new());
        let any = Filter {
            selectors: vec![TopicSelector::Any],
            private: Vec::new(),
        };
        let direct = |socket, position| {
            let pending = VecDeque::new();
            Direct::new(
                socket,
                position,
                any.clone(),
                pending,
                metrics.clone(),
                &fanout,
            )
        };
        // The test plays the fan-out: no thread starts, and `deliver` below is the fan-out
        // catching up on events it has not reached when the second subscriber joins.
        fanout.lock().running = true;
        let (_first_client, first_server) = socket_pair().await;
        let (mut client, server) = socket_pair().await;
        let first = direct(first_server, EventId::new("aa", (4, 0)));
        fanout.join(&first, &mut feed.listen());
        // The next subscriber's receiver holds an epoch change the fan-out has not reached.
        let mut own = feed.listen();
        let events = [
            Event::from_update(EventId::new("aa", (5, 0)), &Update::on_a("five")),
            Event::epoch_changed(EventId::new("bb", (0, 0))),
            Event::from_update(EventId::new("bb", (1, 0)), &Update::on_a("one")),
        ]
        .map(Arc::new);
        for event in &events {
            sender.send(Arc::clone(event)).unwrap();
        }
        let second = direct(server, EventId::new("aa", (4, 0)));
        // It takes the three from its own receiver; the fan-out, behind, must skip them.
        fanout.join(&second, &mut own);
        for event in &events {
            fanout.deliver(event);
        }
        let seen = read_all(&mut client).await;
        assert_eq!(seen.matches("data: five").count(), 1, "{seen:?}");
        assert_eq!(seen.matches("event: reset").count(), 1, "{seen:?}");
        assert_eq!(seen.matches("data: one").count(), 1, "{seen:?}");
        let five = seen.find("data: five").unwrap();
        let reset = seen.find("id: bb-0-0\nevent: reset").unwrap();
        assert!(
            five < reset && reset < seen.find("data: one").unwrap(),
            "{seen:?}"
        );
    }
}
