//! Recency order over slots: a doubly linked list stored in a vector, so touching an entry is
//! O(1) and allocates nothing. The head is the most recently used slot.

use super::Slot;

const NIL: Slot = Slot::MAX;

#[derive(Debug, Clone, Copy)]
struct Links {
    prev: Slot,
    next: Slot,
}

/// The recency list. Slots must be below the length given to [`LruList::ensure`].
#[derive(Debug, Clone)]
pub(crate) struct LruList {
    links: Vec<Links>,
    head: Slot,
    tail: Slot,
}

impl Default for LruList {
    fn default() -> Self {
        Self {
            links: Vec::new(),
            head: NIL,
            tail: NIL,
        }
    }
}

impl LruList {
    /// Makes room for slots below `len`.
    pub fn ensure(&mut self, len: usize) {
        if self.links.len() < len {
            self.links.resize(
                len,
                Links {
                    prev: NIL,
                    next: NIL,
                },
            );
        }
    }

    /// Puts `slot`, which is not in the list, at the head.
    pub fn push_front(&mut self, slot: Slot) {
        let old_head = self.head;
        self.links[slot as usize] = Links {
            prev: NIL,
            next: old_head,
        };
        if old_head == NIL {
            self.tail = slot;
        } else {
            self.links[old_head as usize].prev = slot;
        }
        self.head = slot;
    }

    /// Takes `slot`, which is in the list, out of it.
    pub fn unlink(&mut self, slot: Slot) {
        let Links { prev, next } = self.links[slot as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.links[next as usize].prev = prev;
        }
        self.links[slot as usize] = Links {
            prev: NIL,
            next: NIL,
        };
    }

    /// Marks `slot`, which is in the list, as the most recently used.
    #[inline]
    pub fn touch(&mut self, slot: Slot) {
        if self.head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    /// The least recently used slot.
    pub fn back(&self) -> Option<Slot> {
        (self.tail != NIL).then_some(self.tail)
    }

    /// The slot used just before `slot` (towards the tail's neighbour at the head side).
    pub fn newer(&self, slot: Slot) -> Option<Slot> {
        let prev = self.links[slot as usize].prev;
        (prev != NIL).then_some(prev)
    }

    /// Slots from most to least recently used.
    pub fn iter(&self) -> impl Iterator<Item = Slot> + '_ {
        let mut at = self.head;
        std::iter::from_fn(move || {
            if at == NIL {
                return None;
            }
            let slot = at;
            at = self.links[slot as usize].next;
            Some(slot)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_follows_use() {
        let mut l = LruList::default();
        l.ensure(4);
        for s in 0..4 {
            l.push_front(s);
        }
        l.touch(1);
        l.unlink(3);
        assert_eq!(l.iter().collect::<Vec<_>>(), [1, 2, 0]);
        assert_eq!(l.back(), Some(0));
        assert_eq!(l.newer(0), Some(2));
        l.unlink(1);
        l.unlink(2);
        l.unlink(0);
        assert_eq!(l.back(), None);
        assert_eq!(l.iter().count(), 0);
    }
}
