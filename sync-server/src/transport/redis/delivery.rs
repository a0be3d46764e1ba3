//! What this instance has sent its subscribers, in log order, from two sources: the tail
//! (every entry, read from the stream) and this instance's own publishes, each sent as soon
//! as the append script answers when its entry directly follows the last one sent. That
//! saves the publisher's local subscribers the tail's wake-up and reply decoding; other
//! instances still get the entry through their tails. Both sources go through one lock and
//! compare positions, so every entry is sent once, in log order.

use crate::event_id::EventId;
use crate::transport::{Event, Update};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::broadcast;

/// The local fan-out and the position it reached.
pub(super) struct Delivery {
    sender: broadcast::Sender<Arc<Event>>,
    /// The last entry sent (or announced). Its epoch is empty until the tail starts.
    sent: Mutex<EventId>,
}

impl Delivery {
    /// A fan-out whose subscribers may fall `queue` events behind; nothing is sent before
    /// [`Delivery::start_at`].
    pub(super) fn new(queue: usize) -> Self {
        let (sender, _) = broadcast::channel(queue.max(1));
        Self {
            sender,
            sent: Mutex::new(EventId::new("", (0, 0))),
        }
    }

    fn sent(&self) -> MutexGuard<'_, EventId> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A receiver of every event sent from now on.
    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// Where the tail starts: `head`, the log's newest entry.
    pub(super) fn start_at(&self, head: EventId) {
        *self.sent() = head;
    }

    /// The last entry sent: the tail reads after it.
    pub(super) fn position(&self) -> EventId {
        self.sent().clone()
    }

    /// This instance appended `update` as `id`, right after the entry at `previous`: sends
    /// it now if that entry is the last one sent, else leaves it to the tail. Answers
    /// whether it was sent.
    pub(super) fn own(&self, id: &EventId, previous: (u64, u64), update: &Update) -> bool {
        let mut sent = self.sent();
        if sent.epoch != id.epoch || sent.offset != previous {
            return false;
        }
        let _ = self
            .sender
            .send(Arc::new(Event::from_update(id.clone(), update)));
        *sent = id.clone();
        true
    }

    /// The tail read the entry at `at` of the current epoch (`update` decodes it; `None`
    /// for an entry that is not an update): sent unless its publisher already sent it. The
    /// entry is decoded only then: most entries a publishing instance reads are its own.
    pub(super) fn read(&self, at: (u64, u64), update: impl FnOnce() -> Option<Update>) {
        let mut sent = self.sent();
        if at <= sent.offset {
            return;
        }
        if let Some(update) = update() {
            let id = EventId::new(&sent.epoch, at);
            let _ = self.sender.send(Arc::new(Event::from_update(id, &update)));
        }
        sent.offset = at;
    }

    /// The tail read an epoch marker at `at`: a new epoch announces itself.
    pub(super) fn marker(&self, epoch: &str, at: (u64, u64)) {
        let known = self.sent().epoch == epoch;
        if known {
            self.read(at, || None);
        } else {
            self.announce(EventId::new(epoch, at));
        }
    }

    /// The log lost continuity: every subscriber resets to `head`. Never moves back inside
    /// an epoch, so what a publisher already sent is not sent again.
    pub(super) fn announce(&self, head: EventId) {
        tracing::info!(epoch = %head.epoch, "redis log lost continuity: new epoch");
        let mut sent = self.sent();
        let _ = self
            .sender
            .send(Arc::new(Event::epoch_changed(head.clone())));
        if head.epoch != sent.epoch || head.offset > sent.offset {
            *sent = head;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::EventKind;

    fn drain(rx: &mut broadcast::Receiver<Arc<Event>>) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| match e.kind {
                EventKind::Update => e.id.to_string(),
                EventKind::EpochChanged => format!("reset {}", e.id),
            })
            .collect()
    }

    #[test]
    fn nothing_is_sent_before_the_tail_starts() {
        let delivery = Delivery::new(8);
        let mut rx = delivery.subscribe();
        assert!(!delivery.own(&EventId::new("e", (1, 0)), (0, 0), &Update::on_a("x")));
        assert!(drain(&mut rx).is_empty());
    }

    #[test]
    fn an_own_entry_right_after_the_last_sent_goes_out_at_once_and_once() {
        let delivery = Delivery::new(8);
        delivery.start_at(EventId::new("e", (5, 0)));
        let mut rx = delivery.subscribe();
        assert!(delivery.own(&EventId::new("e", (6, 0)), (5, 0), &Update::on_a("mine")));
        // The tail reads it later, and skips it.
        delivery.read((6, 0), || Some(Update::on_a("mine")));
        delivery.read((7, 0), || Some(Update::on_a("next")));
        assert_eq!(drain(&mut rx), ["e-6-0", "e-7-0"]);
        assert_eq!(delivery.position(), EventId::new("e", (7, 0)));
    }

    #[test]
    fn an_own_entry_after_one_not_yet_sent_is_left_to_the_tail() {
        let delivery = Delivery::new(8);
        delivery.start_at(EventId::new("e", (5, 0)));
        let mut rx = delivery.subscribe();
        // Another instance appended (6, 0); the tail has not read it yet.
        assert!(!delivery.own(&EventId::new("e", (7, 0)), (6, 0), &Update::on_a("mine")));
        assert!(drain(&mut rx).is_empty());
        delivery.read((6, 0), || Some(Update::on_a("theirs")));
        delivery.read((7, 0), || Some(Update::on_a("mine")));
        assert_eq!(drain(&mut rx), ["e-6-0", "e-7-0"]);
        // Nor in another epoch.
        assert!(!delivery.own(&EventId::new("f", (8, 0)), (7, 0), &Update::on_a("x")));
    }

    #[test]
    fn markers_of_a_new_epoch_announce_it_and_announcements_never_move_back() {
        let delivery = Delivery::new(8);
        delivery.start_at(EventId::new("e", (5, 0)));
        let mut rx = delivery.subscribe();
        delivery.marker("e", (6, 0));
        assert!(delivery.own(&EventId::new("e", (7, 0)), (6, 0), &Update::on_a("x")));
        delivery.announce(EventId::new("e", (6, 0)));
        assert_eq!(delivery.position(), EventId::new("e", (7, 0)));
        delivery.marker("f", (9, 0));
        assert_eq!(drain(&mut rx), ["e-7-0", "reset e-6-0", "reset f-9-0"]);
        assert_eq!(delivery.position(), EventId::new("f", (9, 0)));
    }
}
