//! Whether a connection a background loop keeps (to RabbitMQ, to a Redis
//! subscription) is up right now: the loop sets it, `/readyz` reads it, and
//! the same value is exported as a 0/1 gauge, so the two cannot disagree.

use std::sync::atomic::{AtomicBool, Ordering};

use prometheus::IntGauge;

pub struct Connected {
    up: AtomicBool,
    gauge: IntGauge,
}

impl Connected {
    /// Down until the loop first connects.
    pub fn new(gauge: IntGauge) -> Self {
        gauge.set(0);
        Self {
            up: AtomicBool::new(false),
            gauge,
        }
    }

    pub fn set(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
        self.gauge.set(i64::from(up));
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_and_its_gauge_move_together() {
        let gauge = IntGauge::new("link_up", "test").expect("gauge");
        let link = Connected::new(gauge.clone());
        assert!(!link.is_up());
        link.set(true);
        assert!(link.is_up());
        assert_eq!(gauge.get(), 1);
        link.set(false);
        assert_eq!((link.is_up(), gauge.get()), (false, 0));
    }
}
