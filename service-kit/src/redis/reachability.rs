//! Whether Redis is known to be unreachable, so callers can answer 503 at
//! once instead of each waiting out its deadline.
//!
//! While Redis is away, the connection manager keeps reconnecting and every
//! command waits for that reconnection, so each caller would spend its whole
//! deadline before failing: 600 buyers retrying become thousands of requests
//! in flight. After a call fails or times out, one background probe opens a
//! fresh connection and sends `PING`:
//! - refused, reset or closed: Redis is unreachable. Callers fail at once
//!   until a later probe (every `PROBE_INTERVAL`) gets an answer.
//! - no answer within the deadline: Redis (or the path to it) hangs. That
//!   is not "known unreachable": callers keep their deadline, since a slow
//!   Redis may still answer.
//!
//! Calls already waiting when the probe finds Redis unreachable give up at
//! that moment too ([`Reachability::known_down`]): otherwise the callers
//! that arrived between the first failure and the probe's verdict would
//! each still wait out their whole deadline.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use redis::{AsyncConnectionConfig, Client, RedisError};
use tokio::sync::Notify;

/// How often a probe retries while Redis is unreachable: how soon after its
/// return calls go through again.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);

pub(super) struct Reachability {
    /// One server, or every seed node of a cluster: Redis is unreachable
    /// only when none of them answers (one failed primary of a cluster
    /// leaves the others serving their slots).
    clients: Vec<Client>,
    timeout: Duration,
    down: AtomicBool,
    /// Wakes the calls in flight when `down` becomes true.
    went_down: Notify,
    probing: AtomicBool,
}

enum Probe {
    Answered,
    Unreachable(RedisError),
    Hung,
}

impl Reachability {
    pub(super) fn new(clients: Vec<Client>, timeout: Duration) -> Self {
        Self {
            clients,
            timeout,
            down: AtomicBool::new(false),
            went_down: Notify::new(),
            probing: AtomicBool::new(false),
        }
    }

    pub(super) fn is_known_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Resolves once Redis is known to be unreachable (at once if it is).
    pub(super) async fn known_down(&self) {
        loop {
            // Created before the check: a `notify_waiters` between the two
            // still wakes it.
            let notified = self.went_down.notified();
            if self.is_known_down() {
                return;
            }
            notified.await;
        }
    }

    /// Starts a probe unless one is running. Must be called inside a Tokio
    /// runtime.
    pub(super) fn call_failed(self: &Arc<Self>) {
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            this.probe_until_settled().await;
            this.probing.store(false, Ordering::Release);
        });
    }

    async fn probe_until_settled(&self) {
        loop {
            match self.probe().await {
                Probe::Unreachable(error) => {
                    if !self.down.swap(true, Ordering::AcqRel) {
                        self.went_down.notify_waiters();
                        tracing::warn!(%error, "Redis unreachable: answering 503 at once until it is back");
                    }
                    tokio::time::sleep(PROBE_INTERVAL).await;
                }
                Probe::Answered | Probe::Hung => {
                    if self.down.swap(false, Ordering::AcqRel) {
                        tracing::info!("Redis reachable again");
                    }
                    return;
                }
            }
        }
    }

    /// Answered if any node answers, unreachable if every node refuses,
    /// hung otherwise.
    async fn probe(&self) -> Probe {
        let probes =
            futures::future::join_all(self.clients.iter().map(|client| self.probe_one(client)))
                .await;
        let mut refused = None;
        let mut hung = false;
        for probe in probes {
            match probe {
                Probe::Answered => return Probe::Answered,
                Probe::Hung => hung = true,
                Probe::Unreachable(e) => refused = Some(e),
            }
        }
        match refused {
            Some(e) if !hung => Probe::Unreachable(e),
            _ => Probe::Hung,
        }
    }

    async fn probe_one(&self, client: &Client) -> Probe {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let ping = async {
            let mut connection = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            redis::cmd("PING")
                .query_async::<redis::Value>(&mut connection)
                .await
        };
        match tokio::time::timeout(self.timeout * 2, ping).await {
            Ok(Ok(_)) => Probe::Answered,
            Ok(Err(e)) if e.is_timeout() => Probe::Hung,
            Ok(Err(e)) => Probe::Unreachable(e),
            Err(_) => Probe::Hung,
        }
    }
}
