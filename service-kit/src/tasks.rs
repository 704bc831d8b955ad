//! The background tasks a service owns: each spawned under a name and a
//! shutdown stage, its handle kept, its cancellation token given to it.
//!
//! A task that ends while the service is not stopping is a fault (a relay
//! that returned, a sweeper that panicked): it is logged once, and
//! [`Tasks::ended`] names it so `/readyz` fails. An instance missing one of
//! its loops must not keep taking traffic as if whole; the orchestrator
//! replaces it.
//!
//! Shutdown goes stage by stage, lowest first ([`Tasks::stop_stage`]): the
//! service decides what must be quiet before what (coupon-service stops its
//! producers before its relay, so what they committed can still go out).

use std::{
    future::Future,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::task::{AbortHandle, JoinHandle};
pub use tokio_util::sync::CancellationToken;

/// When a task is stopped during shutdown: lower stages first.
pub type Stage = u8;

#[derive(Clone, Default)]
pub struct Tasks {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    stopping: AtomicBool,
    owned: Mutex<Vec<Owned>>,
    ended: Mutex<Vec<&'static str>>,
}

struct Owned {
    name: &'static str,
    stage: Stage,
    stop: CancellationToken,
    /// The task itself: aborting it is what a crash looks like from outside.
    task: AbortHandle,
    /// The watcher that awaits the task and judges how it ended.
    watcher: JoinHandle<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data (handles, names) stays consistent across a panic elsewhere.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns `task(stop)`; the task ends soon after `stop` is cancelled
    /// (or is aborted when its stage's grace runs out).
    pub fn spawn<F, Fut>(&self, name: &'static str, stage: Stage, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let running = tokio::spawn(task(stop.clone()));
        let abort = running.abort_handle();
        let inner = self.inner.clone();
        let watcher = tokio::spawn(async move {
            let outcome = running.await;
            if inner.stopping.load(Ordering::SeqCst) {
                return;
            }
            match outcome {
                Err(e) if e.is_panic() => {
                    tracing::error!(
                        task = name,
                        "background task panicked; the instance reports not ready"
                    );
                }
                _ => {
                    tracing::error!(
                        task = name,
                        "background task ended unexpectedly; the instance reports not ready"
                    );
                }
            }
            lock(&inner.ended).push(name);
        });
        lock(&self.inner.owned).push(Owned {
            name,
            stage,
            stop,
            task: abort,
            watcher,
        });
    }

    /// Spawns a loop with no clean point to stop at: it is dropped at its
    /// next await once `stage` stops.
    pub fn spawn_loop<Fut>(&self, name: &'static str, stage: Stage, work: Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn(name, stage, |stop| async move {
            let _ = stop.run_until_cancelled_owned(work).await;
        });
    }

    /// The tasks that ended while the service was not stopping.
    pub fn ended(&self) -> Vec<&'static str> {
        lock(&self.inner.ended).clone()
    }

    /// How many owned tasks have not finished.
    pub fn running(&self) -> usize {
        lock(&self.inner.owned)
            .iter()
            .filter(|owned| !owned.watcher.is_finished())
            .count()
    }

    /// From now on a task that ends is stopping, not failing. Call it before
    /// anything that makes tasks end by themselves (a shutdown phase).
    pub fn begin_stopping(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
    }

    /// Stops the tasks of `stage`: cancels their tokens, waits up to `grace`
    /// for them to end, then aborts what is left.
    pub async fn stop_stage(&self, stage: Stage, grace: Duration) {
        self.begin_stopping();
        let stopping: Vec<Owned> = {
            let mut owned = lock(&self.inner.owned);
            let (these, rest) = std::mem::take(&mut *owned)
                .into_iter()
                .partition(|owned| owned.stage == stage);
            *owned = rest;
            these
        };
        for owned in &stopping {
            owned.stop.cancel();
        }
        let deadline = tokio::time::Instant::now() + grace;
        for owned in stopping {
            let Owned {
                name,
                task,
                mut watcher,
                ..
            } = owned;
            if tokio::time::timeout_at(deadline, &mut watcher)
                .await
                .is_err()
            {
                tracing::warn!(task = name, "background task did not stop in time; aborted");
                task.abort();
                let _ = watcher.await;
            }
        }
    }

    /// Stops every stage, lowest first.
    pub async fn stop_all(&self, grace_per_stage: Duration) {
        let mut stages: Vec<Stage> = lock(&self.inner.owned).iter().map(|o| o.stage).collect();
        stages.sort_unstable();
        stages.dedup();
        for stage in stages {
            self.stop_stage(stage, grace_per_stage).await;
        }
    }

    /// Aborts the task `name` as a crash would end it (operators' drills and
    /// tests); returns whether such a task was running.
    pub fn abort(&self, name: &str) -> bool {
        let owned = lock(&self.inner.owned);
        let mut found = false;
        for task in owned.iter().filter(|owned| owned.name == name) {
            found |= !task.watcher.is_finished();
            task.task.abort();
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Captures what the tasks log (the current-thread runtime runs every
    /// spawned task on this thread, under this subscriber).
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&lock(&self.0)).into_owned()
        }
    }

    fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_task_that_is_killed_is_named_and_logged_once() {
        let (log, _guard) = capture();
        let tasks = Tasks::new();
        tasks.spawn_loop("relay", 1, std::future::pending());
        tasks.spawn_loop("sweeper", 0, std::future::pending());
        settle().await;
        assert!(tasks.ended().is_empty());

        assert!(tasks.abort("relay"));
        settle().await;

        assert_eq!(tasks.ended(), ["relay"]);
        assert_eq!(tasks.running(), 1);
        let text = log.text();
        assert_eq!(
            text.matches("background task ended unexpectedly").count(),
            1,
            "{text}"
        );
        assert!(text.contains("task=\"relay\""), "{text}");
    }

    #[tokio::test]
    async fn a_task_that_panics_or_returns_is_a_fault_but_one_stopped_for_shutdown_is_not() {
        let (log, _guard) = capture();
        let tasks = Tasks::new();
        tasks.spawn("returns", 0, |_| async {});
        tasks.spawn("panics", 0, |_| async { panic!("boom") });
        tasks.spawn("obeys", 0, |stop| async move { stop.cancelled().await });
        settle().await;
        let mut ended = tasks.ended();
        ended.sort_unstable();
        assert_eq!(ended, ["panics", "returns"]);
        assert!(log.text().contains("background task panicked"));

        tasks.stop_all(Duration::from_secs(1)).await;
        assert_eq!(tasks.ended().len(), 2, "a shutdown is not a fault");
        assert_eq!(tasks.running(), 0);
    }

    #[tokio::test]
    async fn stages_stop_in_order_and_a_task_that_ignores_its_token_is_aborted() {
        let stopped_order = Arc::new(Mutex::new(Vec::new()));
        let tasks = Tasks::new();
        for (name, stage) in [("relay", 2), ("writer", 1), ("http-side", 0)] {
            let order = stopped_order.clone();
            tasks.spawn(name, stage, move |stop| async move {
                stop.cancelled().await;
                lock(&order).push(name);
            });
        }
        let aborted = Arc::new(AtomicUsize::new(0));
        let counter = aborted.clone();
        tasks.spawn("stubborn", 1, move |_| async move {
            struct OnDrop(Arc<AtomicUsize>);
            impl Drop for OnDrop {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let _dropped = OnDrop(counter);
            std::future::pending::<()>().await;
        });
        settle().await;

        tasks.stop_all(Duration::from_millis(50)).await;

        assert_eq!(*lock(&stopped_order), ["http-side", "writer", "relay"]);
        assert_eq!(
            aborted.load(Ordering::SeqCst),
            1,
            "the stubborn task was aborted"
        );
        assert_eq!(tasks.running(), 0);
        assert!(tasks.ended().is_empty());
    }
}
