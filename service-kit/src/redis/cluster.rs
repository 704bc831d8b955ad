//! A Redis Cluster connection that is opened on first use: like the single
//! server's connection manager, a service starts while the cluster is down
//! (readiness reports it) and connects once it answers.
//!
//! The cluster client follows `MOVED` and reconnects to a node that closes
//! or refuses its connection, but a node that goes silent (its host's link
//! cut: no reset, no answer) keeps its slots in the client's map, and every
//! command for them times out. So a call that times out or loses its
//! connection drops the whole connection (at most once a second): the next
//! call opens a new one, which reads the slot map afresh from a node that
//! answers and finds the replica promoted in the silent node's place.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use anyhow::Context;
use redis::{
    Cmd, Pipeline, ProtocolVersion, RedisError, RedisFuture, Value,
    aio::ConnectionLike,
    cluster::{ClusterClient, ClusterClientBuilder},
    cluster_async::ClusterConnection,
};

/// At most one reconnection per this long, however many calls fail.
const RECONNECT_AT_MOST_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct LazyCluster {
    /// Shared: cloning a connection handle must stay cheap.
    client: Arc<ClusterClient>,
    state: Arc<Mutex<State>>,
    /// Wakes the callers waiting for a connection.
    connected: Arc<tokio::sync::Notify>,
}

#[derive(Default)]
struct State {
    connection: Option<ClusterConnection>,
    dropped_at: Option<Instant>,
    /// A connection attempt is under way (in a task of its own).
    connecting: bool,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl LazyCluster {
    pub fn new(nodes: &[String], timeout: Duration) -> anyhow::Result<Self> {
        let client = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
            // RESP3 as on a single server: a dropped connection is noticed
            // at once, not by the next command.
            .use_protocol(ProtocolVersion::RESP3)
            .connection_timeout(timeout)
            // Inside the caller's deadline, so a silent node shows here as a
            // timeout (see the module's comment) before the caller gives up.
            .response_timeout(timeout.mul_f64(0.8))
            .build()
            .context("redis.nodes: not a valid list of cluster nodes")?;
        Ok(Self {
            client: Arc::new(client),
            state: Arc::new(Mutex::new(State::default())),
            connected: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// The current connection, or one as soon as an attempt succeeds. The
    /// attempt runs in a task of its own: opening a cluster connection waits
    /// on every seed node, a silent one up to the connection timeout, and a
    /// caller's deadline must not cancel it halfway (each caller would then
    /// start over and none would ever finish). Callers wait under their own
    /// deadline.
    async fn connection(&self) -> redis::RedisResult<ClusterConnection> {
        loop {
            let notified = self.connected.notified();
            {
                let mut state = lock(&self.state);
                if let Some(connection) = state.connection.clone() {
                    return Ok(connection);
                }
                if !state.connecting {
                    state.connecting = true;
                    self.connect_in_background();
                }
            }
            notified.await;
        }
    }

    fn connect_in_background(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(100);
            loop {
                match this.client.get_async_connection().await {
                    Ok(connection) => {
                        let mut state = lock(&this.state);
                        state.connection = Some(connection);
                        state.connecting = false;
                        this.connected.notify_waiters();
                        return;
                    }
                    Err(error) => {
                        tracing::debug!(%error, "Redis Cluster unreachable; trying again");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(RECONNECT_AT_MOST_EVERY);
                    }
                }
            }
        });
    }

    /// After a call that timed out or lost its connection: drop the
    /// connection, so the next call maps the slots afresh.
    fn after_failure(&self, error: &RedisError) {
        let silent_or_gone = error.is_timeout()
            || error.is_io_error()
            || error.is_connection_dropped()
            || error.is_connection_refusal();
        if !silent_or_gone {
            return;
        }
        let mut state = lock(&self.state);
        let recently = state
            .dropped_at
            .is_some_and(|at| at.elapsed() < RECONNECT_AT_MOST_EVERY);
        if state.connection.is_some() && !recently {
            state.connection = None;
            state.dropped_at = Some(Instant::now());
            tracing::warn!(%error, "Redis Cluster call failed; reconnecting to read the slot map afresh");
        }
    }
}

impl ConnectionLike for LazyCluster {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let answer = connection.req_packed_command(cmd).await;
            if let Err(error) = &answer {
                self.after_failure(error);
            }
            answer
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let answer = connection.req_packed_commands(cmd, offset, count).await;
            if let Err(error) = &answer {
                self.after_failure(error);
            }
            answer
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}
