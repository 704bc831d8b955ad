//! Graceful shutdown in order: stop consuming (unacked messages go back to
//! the queue for the other instances), close every socket with 1001 so
//! clients reconnect elsewhere and `resume`, then stop the server.

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Running,
    /// The RabbitMQ consumer detaches.
    StopConsuming,
    /// Connections close with 1001; the fan-out subscription ends.
    CloseSockets,
}

/// Starts a graceful shutdown (SIGTERM / Ctrl-C do the same).
#[derive(Clone)]
pub struct ShutdownHandle(watch::Sender<Phase>);

impl ShutdownHandle {
    pub fn new() -> (Self, watch::Receiver<Phase>) {
        let (tx, rx) = watch::channel(Phase::Running);
        (Self(tx), rx)
    }

    /// Asks for a shutdown; `run_until_stopped` carries it out.
    pub fn trigger(&self) {
        self.0.send_if_modified(|phase| {
            let start = *phase == Phase::Running;
            if start {
                *phase = Phase::StopConsuming;
            }
            start
        });
    }

    pub(crate) fn advance(&self, to: Phase) {
        self.0.send_if_modified(|phase| {
            let later = *phase < to;
            if later {
                *phase = to;
            }
            later
        });
    }

    pub fn subscribe(&self) -> watch::Receiver<Phase> {
        self.0.subscribe()
    }
}

/// Resolves once the phase is at least `phase` (or the sender is gone).
pub async fn reached(rx: &mut watch::Receiver<Phase>, phase: Phase) {
    let _ = rx.wait_for(|current| *current >= phase).await;
}
