//! A token bucket for the frames one client sends: `rate` per second, up to
//! twice that in a burst. A page subscribes to a few events and pings now
//! and then; a client sending far more is refused frame by frame
//! (`rate_limited`), so it cannot make the server do Redis work in a loop.
//! `subscribe` has a bucket of its own besides: a small rate, in bursts
//! large enough for a page to (re)subscribe to everything it watches.

use tokio::time::Instant;

#[derive(Debug)]
pub struct FrameBudget {
    rate: f64,
    capacity: f64,
    tokens: f64,
    refilled: Instant,
}

impl FrameBudget {
    pub fn new(per_second: u32) -> Self {
        Self::with_burst(per_second, per_second.saturating_mul(2))
    }

    /// `per_second`, in bursts of up to `burst` (at least one).
    pub fn with_burst(per_second: u32, burst: u32) -> Self {
        let rate = f64::from(per_second.max(1));
        let capacity = f64::from(burst.max(1));
        Self {
            rate,
            capacity,
            tokens: capacity,
            refilled: Instant::now(),
        }
    }

    /// Takes one frame's worth; false when the client is over its budget.
    pub fn take(&mut self) -> bool {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_of_twice_the_rate_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut budget = FrameBudget::new(10);
        budget.refilled = start;
        assert!((0..20).all(|_| budget.take_at(start)));
        assert!(!budget.take_at(start));
        // A tenth of a second later: one more frame.
        let later = start + Duration::from_millis(100);
        assert!(budget.take_at(later));
        assert!(!budget.take_at(later));
        // Idle for a while: the burst is back, never more.
        let much_later = later + Duration::from_secs(60);
        assert_eq!((0..100).filter(|_| budget.take_at(much_later)).count(), 20);
    }

    #[test]
    fn a_burst_apart_from_the_rate() {
        let start = Instant::now();
        let mut budget = FrameBudget::with_burst(2, 32);
        budget.refilled = start;
        assert_eq!((0..100).filter(|_| budget.take_at(start)).count(), 32);
        let later = start + Duration::from_millis(500);
        assert!(budget.take_at(later));
        assert!(!budget.take_at(later));
    }
}
