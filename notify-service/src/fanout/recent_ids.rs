//! The event-wide message ids an instance delivered lately: a fan-out that
//! ran again (a retried call whose first run happened, a redelivery)
//! publishes again, and watchers must get the message once. Bounded: the
//! oldest id goes when a new one comes in full.

use std::collections::{HashSet, VecDeque};

/// How many ids are remembered: re-runs follow their first run within
/// seconds, and event-wide messages with an id (sell-outs, admin changes)
/// come a few per event.
pub const REMEMBERED: usize = 4096;

pub struct RecentIds {
    ids: HashSet<uuid::Uuid>,
    order: VecDeque<uuid::Uuid>,
    capacity: usize,
}

impl RecentIds {
    pub fn new(capacity: usize) -> Self {
        Self {
            ids: HashSet::with_capacity(capacity.min(REMEMBERED)),
            order: VecDeque::with_capacity(capacity.min(REMEMBERED)),
            capacity: capacity.max(1),
        }
    }

    /// True the first time an id is seen (deliver it), false after.
    pub fn first_time(&mut self, id: uuid::Uuid) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        self.order.push_back(id);
        true
    }
}

impl Default for RecentIds {
    fn default() -> Self {
        Self::new(REMEMBERED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_passes_once_and_the_memory_is_bounded() {
        let id = |n| uuid::Uuid::from_u128(n);
        let mut recent = RecentIds::new(2);
        assert!(recent.first_time(id(1)));
        assert!(!recent.first_time(id(1)));
        assert!(recent.first_time(id(2)));
        assert!(recent.first_time(id(3)));
        // 1 was pushed out by 3: remembered are 2 and 3 only.
        assert_eq!(recent.ids.len(), 2);
        assert!(!recent.first_time(id(3)));
        assert!(recent.first_time(id(1)));
    }
}
