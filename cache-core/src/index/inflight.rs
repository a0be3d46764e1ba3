//! Bookkeeping for loads in progress (`getOrSet`), so that a result that arrives after an
//! invalidation of its key is returned to its callers but not stored as fresh.

use crate::message::Selector;
use std::collections::HashMap;

/// Identifies one load in progress.
pub type LoadTicket = u32;

#[derive(Debug)]
struct Load {
    key: String,
    tags: Vec<String>,
    stale: bool,
}

/// Loads in progress, by ticket.
#[derive(Debug, Default)]
pub(crate) struct Inflight {
    loads: HashMap<LoadTicket, Load>,
    next: LoadTicket,
}

impl Inflight {
    pub fn begin(&mut self, key: &str, tags: &[String]) -> LoadTicket {
        self.next = self.next.wrapping_add(1);
        self.loads.insert(
            self.next,
            Load {
                key: key.to_owned(),
                tags: tags.to_vec(),
                stale: false,
            },
        );
        self.next
    }

    /// Ends a load; `true` when its result may be stored. Unknown tickets answer `false`.
    pub fn finish(&mut self, ticket: LoadTicket) -> bool {
        self.loads.remove(&ticket).is_some_and(|l| !l.stale)
    }

    /// Whether the load is still running and nothing has made its result stale.
    pub fn is_fresh(&self, ticket: LoadTicket) -> bool {
        self.loads.get(&ticket).is_some_and(|l| !l.stale)
    }

    pub fn is_empty(&self) -> bool {
        self.loads.is_empty()
    }

    pub fn mark_key(&mut self, key: &str) {
        for load in self.loads.values_mut().filter(|l| l.key == key) {
            load.stale = true;
        }
    }

    pub fn mark_selected(&mut self, selector: &Selector) {
        for load in self.loads.values_mut() {
            if selector.selects(&load.key, &load.tags) {
                load.stale = true;
            }
        }
    }

    pub fn mark_all(&mut self) {
        for load in self.loads.values_mut() {
            load.stale = true;
        }
    }
}
