//! Graceful shutdown in order: stop consuming (unacked messages go back to
//! the queue for the other instances), close every socket with 1001 so
//! clients reconnect elsewhere and `resume`, then stop the server.

use service_kit::tasks::{Stage, Tasks};
use tokio::sync::watch;

/// Stages of the background tasks, in the order they stop.
pub const CONSUMER_STAGE: Stage = 0;
pub const SUBSCRIBER_STAGE: Stage = 1;

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
pub struct ShutdownHandle {
    phase: watch::Sender<Phase>,
    tasks: Tasks,
}

impl ShutdownHandle {
    pub fn new(tasks: Tasks) -> (Self, watch::Receiver<Phase>) {
        let (phase, rx) = watch::channel(Phase::Running);
        (Self { phase, tasks }, rx)
    }

    /// Asks for a shutdown; `run_until_stopped` carries it out.
    pub fn trigger(&self) {
        // Before the phase moves: the loops that end on it are stopping,
        // not failing.
        self.tasks.begin_stopping();
        self.phase.send_if_modified(|phase| {
            let start = *phase == Phase::Running;
            if start {
                *phase = Phase::StopConsuming;
            }
            start
        });
    }

    pub(crate) fn advance(&self, to: Phase) {
        self.phase.send_if_modified(|phase| {
            let later = *phase < to;
            if later {
                *phase = to;
            }
            later
        });
    }

    pub fn subscribe(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }
}

/// Resolves once the phase is at least `phase` (or the sender is gone).
pub async fn reached(rx: &mut watch::Receiver<Phase>, phase: Phase) {
    let _ = rx.wait_for(|current| *current >= phase).await;
}
