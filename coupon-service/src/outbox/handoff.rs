//! Committed outbox rows go straight to this instance's relay, in commit
//! order, so the hot path publishes without reading them back from
//! PostgreSQL (no claim query, no row locks). PostgreSQL still holds every
//! row: what the handoff drops (relay behind, broker away, instance
//! crashed) the relay's poll finds once it is `recover_after` old.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::store::OutboxRow;
use crate::metrics::Metrics;

/// Batches the relay may have waiting before the handoff drops rows to the
/// poll (a few seconds of a full sale; the relay takes up to 64 at a time).
const CAPACITY: usize = 256;

/// The writers' end; cheap to clone.
#[derive(Clone)]
pub struct Handoff {
    tx: mpsc::Sender<Vec<OutboxRow>>,
    metrics: Arc<Metrics>,
}

/// The relay's end.
pub type Handed = mpsc::Receiver<Vec<OutboxRow>>;

pub fn channel(metrics: Arc<Metrics>) -> (Handoff, Handed) {
    let (tx, rx) = mpsc::channel(CAPACITY);
    (Handoff { tx, metrics }, rx)
}

impl Handoff {
    /// Passes rows whose transaction has committed. Never waits: when the
    /// relay is this far behind, the rows are left to its poll.
    pub fn pass(&self, rows: Vec<OutboxRow>) {
        if rows.is_empty() {
            return;
        }
        let count = rows.len() as u64;
        if self.tx.try_send(rows).is_err() {
            self.metrics.outbox_handoff_dropped.inc_by(count);
        }
    }
}
