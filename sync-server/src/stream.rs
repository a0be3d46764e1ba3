//! One subscriber's event stream: replay first, then live events in log order, heartbeats,
//! and the reasons a stream ends (token expiry, lag, shutdown).

use crate::event_id::EventId;
use crate::fanout::Fanout;
use crate::limits::ConnectionGuard;
use crate::metrics::Metrics;
use crate::sse;
use crate::topic::{any_match, TopicSelector};
use crate::transport::{reset_frame, Event, EventKind};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// Which events a subscriber receives.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The subscription's topic selectors (`match`, `match_urlpattern`).
    pub selectors: Vec<TopicSelector>,
    /// The token's `subscribe` selectors, for private updates (empty when anonymous).
    pub private: Vec<TopicSelector>,
}

impl Filter {
    /// Whether `event` is delivered: a topic matches and, if private, the token allows it.
    #[must_use]
    pub fn accepts(&self, event: &Event) -> bool {
        any_match(&self.selectors, &event.topics)
            && (!event.private || any_match(&self.private, &event.topics))
    }
}

/// What a live event means for a subscriber: see [`follow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use]
pub struct Step {
    /// Send a reset first: the log's epoch moved under the subscriber.
    pub reset: bool,
    /// Send the event's frame.
    pub deliver: bool,
}

/// What a live `event` means for a subscriber at `position` with `filter`, with the position
/// moved past it. Events already covered by the replay are skipped. Shared by the stream
/// below and the direct fan-out ([`crate::fanout`]).
pub fn follow(position: &mut EventId, filter: &Filter, metrics: &Metrics, event: &Event) -> Step {
    let same_epoch = event.id.epoch == position.epoch;
    if same_epoch && event.id.offset <= position.offset {
        // Already covered by the replay (or by a later reset).
        return Step::default();
    }
    if event.kind == EventKind::EpochChanged {
        // Its frame is the reset, with the new epoch's head as id.
        metrics.resets.inc();
        *position = event.id.clone();
        return Step {
            reset: false,
            deliver: true,
        };
    }
    let reset = !same_epoch;
    if reset {
        metrics.resets.inc();
        *position = event.id.clone();
    } else {
        // Only the offset moves: no epoch string is copied per event.
        position.offset = event.id.offset;
    }
    let deliver = filter.accepts(event);
    if deliver {
        metrics.events_out.inc();
    }
    Step { reset, deliver }
}

/// Everything a stream needs once the subscription is accepted.
pub struct Subscription {
    /// Frames to send before any live event (retry hint, replay or reset).
    pub pending: VecDeque<Bytes>,
    /// The live feed.
    pub live: broadcast::Receiver<Arc<Event>>,
    /// What to deliver.
    pub filter: Filter,
    /// The position already delivered: live events at or before it are skipped.
    pub position: EventId,
    /// Heartbeat interval.
    pub heartbeat: Duration,
    /// What a heartbeat sends: [`sse::HEARTBEAT`] or [`sse::heartbeat_event`].
    pub heartbeat_frame: Bytes,
    /// When the token expires, if it does.
    pub deadline: Option<Instant>,
    /// Cancelled when the hub shuts down.
    pub shutdown: CancellationToken,
    /// Base of the retry hint sent on shutdown, in ms.
    pub retry_ms: u64,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The connection slot, released with the stream.
    pub guard: ConnectionGuard,
}

#[cfg(test)]
impl Subscription {
    /// A subscription to every topic at `position`, with no frames pending, no expiry and a
    /// minute between heartbeats, for unit tests.
    pub(crate) fn for_tests(live: broadcast::Receiver<Arc<Event>>, position: EventId) -> Self {
        let metrics = Arc::new(Metrics::new());
        Self {
            pending: VecDeque::new(),
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
            guard: Arc::new(crate::limits::ConnectionLimiter::new(1))
                .acquire(None, &metrics.connections)
                .unwrap_or_else(|_| unreachable!("one slot, taken once")),
            metrics,
        }
    }
}

/// A stream's state between frames. What an idle subscriber holds, so it is kept small, and
/// what every event goes through, so nothing here is set up again per event: the shutdown
/// and expiry waits stay registered, and the heartbeat timer is moved only when it fires.
struct State {
    sub: Subscription,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    expiry: Option<Pin<Box<Sleep>>>,
    /// Fires `heartbeat` after the last frame, or later; checked against `last_sent` then.
    heartbeat: Pin<Box<Sleep>>,
    last_sent: Instant,
    closing: bool,
}

impl State {
    fn new(sub: Subscription) -> Self {
        let now = Instant::now();
        Self {
            shutdown: Box::pin(sub.shutdown.clone().cancelled_owned()),
            expiry: sub.deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
            heartbeat: Box::pin(tokio::time::sleep_until(now + sub.heartbeat)),
            last_sent: now,
            closing: false,
            sub,
        }
    }

    fn push(&mut self, frame: Bytes) {
        self.sub.pending.push_back(frame);
    }

    fn close_with(&mut self, frames: &[Bytes]) {
        self.closing = true;
        for f in frames {
            self.push(f.clone());
        }
    }

    fn accept(&mut self, event: &Event) {
        let sub = &mut self.sub;
        let step = follow(&mut sub.position, &sub.filter, &sub.metrics, event);
        if step.reset {
            sub.pending.push_back(reset_frame(None));
        }
        if step.deliver {
            sub.pending.push_back(event.frame.clone());
        }
    }

    /// The heartbeat timer fired: a heartbeat if the stream was silent for a whole interval,
    /// else the timer moves to one interval after the last frame.
    fn heartbeat_due(&mut self) {
        let period = self.sub.heartbeat;
        let now = Instant::now();
        let next = if now >= self.last_sent + period {
            let frame = self.sub.heartbeat_frame.clone();
            self.push(frame);
            now + period
        } else {
            self.last_sent + period
        };
        self.heartbeat.as_mut().reset(next);
    }

    async fn wait(&mut self) {
        let expiry = async {
            match self.expiry.as_mut() {
                Some(sleep) => sleep.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = self.shutdown.as_mut() => self.shut_down(),
            () = expiry => self.expire(),
            received = self.sub.live.recv() => match received {
                Ok(event) => self.accept(&event),
                Err(RecvError::Lagged(_)) => {
                    self.sub.metrics.lagged.inc();
                    self.sub.metrics.resets.inc();
                    self.close_with(&[reset_frame(None), sse::comment("too slow: resync")]);
                }
                Err(RecvError::Closed) => self.closing = true,
            },
            () = self.heartbeat.as_mut() => self.heartbeat_due(),
        }
    }

    /// Ends the stream for a shutdown: what is still pending (a replay, say) is dropped, the
    /// client resumes from the last event it read.
    fn shut_down(&mut self) {
        self.sub.pending.clear();
        self.close_with(&sse::goodbye(self.sub.retry_ms));
    }

    /// Ends the stream for the token's expiry, dropping what is still pending.
    fn expire(&mut self) {
        self.sub.pending.clear();
        self.close_with(&[sse::token_expired()]);
    }

    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if !self.sub.pending.is_empty() {
                let now = Instant::now();
                // `wait` sees shutdown and expiry only once nothing is pending: checked here
                // too, so that they cut a long replay to a slow reader short.
                if !self.closing {
                    if self.sub.shutdown.is_cancelled() {
                        self.shut_down();
                    } else if self.sub.deadline.is_some_and(|d| now >= d) {
                        self.expire();
                    }
                }
                if let Some(frame) = self.sub.pending.pop_front() {
                    self.last_sent = now;
                    return Some(frame);
                }
            }
            if self.closing {
                return None;
            }
            self.wait().await;
        }
    }
}

/// A subscription on its way from the router to whoever writes it. The handler puts it in
/// the response's extensions: the lean listener takes it from there and serves it through
/// the direct fan-out ([`crate::fanout`]); otherwise the response body takes it when first
/// polled ([`Handoff::frames`]), as hyper does for a subscription on a keep-alive connection.
#[derive(Clone)]
pub struct Handoff {
    slot: Arc<Mutex<Option<Subscription>>>,
    fanout: Arc<Fanout>,
}

impl Handoff {
    /// `sub`, to be served by `fanout` or by a response body.
    #[must_use]
    pub fn new(sub: Subscription, fanout: Arc<Fanout>) -> Self {
        Self {
            slot: Arc::new(Mutex::new(Some(sub))),
            fanout,
        }
    }

    /// The subscription, to the first caller only.
    #[must_use]
    pub fn take(&self) -> Option<Subscription> {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The fan-out that serves direct subscribers.
    #[must_use]
    pub fn fanout(&self) -> &Arc<Fanout> {
        &self.fanout
    }

    /// The frames of the subscription, unless someone took it first (then none).
    pub fn frames(self) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
        futures_util::stream::once(async move { self.take() })
            .filter_map(std::future::ready)
            .flat_map(frames)
    }
}

/// The stream of SSE frames for `sub`.
pub fn frames(mut sub: Subscription) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    sub.heartbeat = sub.heartbeat.max(Duration::from_millis(1));
    futures_util::stream::unfold(State::new(sub), |mut state| async move {
        state.next().await.map(|frame| (Ok(frame), state))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::embedded::Embedded;
    use crate::transport::{Cursor, Replay, Transport, Update};
    use futures_util::StreamExt;

    fn subscription(live: broadcast::Receiver<Arc<Event>>, position: EventId) -> Subscription {
        Subscription::for_tests(live, position)
    }

    #[tokio::test(start_paused = true)]
    async fn a_heartbeat_follows_a_whole_interval_of_silence() {
        let (sender, live) = broadcast::channel(16);
        let sub = Subscription {
            heartbeat: Duration::from_secs(15),
            ..subscription(live, EventId::new("aa", (0, 0)))
        };
        let mut frames = Box::pin(frames(sub));
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(10)).await;
        let event = Event::from_update(EventId::new("aa", (1, 0)), &Update::on_a("x"));
        sender.send(Arc::new(event)).unwrap();
        assert!(frames
            .next()
            .await
            .unwrap()
            .unwrap()
            .starts_with(b"id: aa-1-0"));
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        // Not 15 s after the start: 15 s after the event.
        assert_eq!(&frames.next().await.unwrap().unwrap()[..], sse::HEARTBEAT);
        assert_eq!(started.elapsed(), Duration::from_secs(25));
        assert_eq!(&frames.next().await.unwrap().unwrap()[..], sse::HEARTBEAT);
        assert_eq!(started.elapsed(), Duration::from_secs(40));
    }

    #[tokio::test]
    async fn announcements_covered_by_the_replay_are_skipped() {
        let (sender, live) = broadcast::channel(16);
        // The subscriber's replay already ran in epoch bb, past the announcement.
        let sub = subscription(live, EventId::new("bb", (12, 0)));
        let send = |event: Event| sender.send(Arc::new(event)).unwrap();
        send(Event::epoch_changed(EventId::new("bb", (10, 0))));
        send(Event::from_update(
            EventId::new("bb", (11, 0)),
            &Update::on_a("seen"),
        ));
        send(Event::from_update(
            EventId::new("bb", (13, 0)),
            &Update::on_a("new"),
        ));
        send(Event::from_update(
            EventId::new("cc", (1, 0)),
            &Update::on_a("next"),
        ));
        send(Event::epoch_changed(EventId::new("dd", (5, 0))));
        drop(sender);
        let frames: Vec<_> = frames(sub).map(|f| f.unwrap()).collect().await;
        let text: Vec<_> = frames
            .iter()
            .map(|f| std::str::from_utf8(f).unwrap().to_owned())
            .collect();
        assert_eq!(text.len(), 4, "{text:?}");
        assert!(text[0].starts_with("id: bb-13-0"), "{text:?}");
        assert!(text[1].starts_with("event: reset"), "{text:?}");
        assert!(text[2].starts_with("id: cc-1-0"), "{text:?}");
        assert!(text[3].starts_with("id: dd-5-0\nevent: reset"), "{text:?}");
    }

    #[tokio::test]
    async fn live_events_already_replayed_are_not_sent_twice() {
        let log = Embedded::new(100, 100);
        let cursor = log.publish(Update::on_a("0")).await.unwrap();
        let live = log.listen();
        // Published after listening but before the replay is read: in both.
        log.publish(Update::on_a("1")).await.unwrap();
        let Replay::Events { events, head } = log.replay(Cursor::After(cursor)).await.unwrap()
        else {
            panic!("expected a replay");
        };
        log.publish(Update::on_a("2")).await.unwrap();
        let sub = Subscription {
            pending: events.iter().map(|e| e.frame.clone()).collect(),
            ..subscription(live, head)
        };
        let frames: Vec<_> = frames(sub).take(2).map(|f| f.unwrap()).collect().await;
        let text: Vec<_> = frames
            .iter()
            .map(|f| std::str::from_utf8(f).unwrap())
            .collect();
        assert!(text[0].ends_with("data: 1\n\n"), "{text:?}");
        assert!(text[1].ends_with("data: 2\n\n"), "{text:?}");
    }
}
