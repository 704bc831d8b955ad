//! A short in-process memory of "this event is sold out".
//!
//! Once a sale is over, the losing crowd keeps pressing the button: every
//! one of those requests would run the reserve script only to hear
//! `sold_out`. After Redis has said so once, this instance answers the same
//! for a moment (`issuance.sold_out_memo_ms`, about 100 ms) without asking
//! again. The memory is short on purpose: a ticket given back or a stock
//! raise on another instance is seen within that moment; a stock raise
//! through this instance forgets it at once.
//!
//! Requests carrying an `Idempotency-Key` are answered from it too, unless
//! their key is bound (it won a reservation): a retry of a request that won
//! must get its coupon back, not `sold_out` (see `routes.rs`).

use std::time::Duration;

use moka::sync::Cache;

pub struct SoldOutMemo {
    events: Option<Cache<i64, ()>>,
}

impl SoldOutMemo {
    /// A zero `ttl` turns the memory off (every request asks Redis).
    pub fn new(ttl: Duration) -> Self {
        let events = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build()
        });
        Self { events }
    }

    /// Whether Redis said `sold_out` for this event within the last moment.
    pub fn is_sold_out(&self, event_id: i64) -> bool {
        self.events
            .as_ref()
            .is_some_and(|events| events.contains_key(&event_id))
    }

    /// Redis just answered `sold_out` for this event.
    pub fn remember(&self, event_id: i64) {
        if let Some(events) = &self.events {
            events.insert(event_id, ());
        }
    }

    /// The event has tickets again (stock raised through this instance).
    pub fn forget(&self, event_id: i64) {
        if let Some(events) = &self.events {
            events.invalidate(&event_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_the_ttl_then_forgets() {
        let memo = SoldOutMemo::new(Duration::from_millis(50));
        assert!(!memo.is_sold_out(1));
        memo.remember(1);
        assert!(memo.is_sold_out(1));
        assert!(!memo.is_sold_out(2), "only the event Redis named");
        std::thread::sleep(Duration::from_millis(80));
        assert!(!memo.is_sold_out(1), "the memory expires");
    }

    #[test]
    fn forget_clears_at_once_and_zero_ttl_disables() {
        let memo = SoldOutMemo::new(Duration::from_secs(60));
        memo.remember(7);
        memo.forget(7);
        assert!(!memo.is_sold_out(7));

        let off = SoldOutMemo::new(Duration::ZERO);
        off.remember(7);
        assert!(!off.is_sold_out(7));
    }
}
