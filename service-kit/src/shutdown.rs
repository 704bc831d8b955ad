//! What starts a graceful shutdown: SIGTERM or Ctrl-C in `main`, a test
//! from outside. The service then stops in its own order.

use tokio::sync::watch;

/// Asks a running service to shut down; cheap to clone.
#[derive(Clone)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl Default for ShutdownTrigger {
    fn default() -> Self {
        Self(watch::channel(false).0)
    }
}

impl ShutdownTrigger {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once [`Self::trigger`] has been called.
    pub async fn triggered(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|asked| *asked).await;
    }
}

/// Resolves on SIGTERM or Ctrl-C. Only `main` listens: a test process
/// keeps the default Ctrl-C behaviour.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
