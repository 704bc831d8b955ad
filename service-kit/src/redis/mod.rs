//! Redis connections for the hot paths of both services.
//!
//! A few long-lived multiplexed connections (redis-rs `ConnectionManager`),
//! shared by every request: concurrent commands are pipelined on them, and a
//! connection that broke is re-established in the background. Not a checkout
//! pool: every checkout of a pooled connection pays one extra round trip (an
//! `UNWATCH` + `PING` health check), as many calls again as the real work.
//!
//! Every call goes through [`RedisConnections::call`]: a deadline, and an
//! answer at once while Redis is known to be unreachable.
//!
//! `redis.mode = cluster`: one cluster connection (redis-rs
//! `cluster-async`) instead, itself multiplexed over one connection per
//! node. It routes each command to the node of its key's slot, follows
//! `MOVED`/`ASK` after a failover or a resharding, reloads a script on the
//! node that answers `NOSCRIPT`, and reconnects in the background. Every
//! script of both services touches one slot (docs/contract.md §5).

mod cluster;
mod reachability;
mod settings;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use reachability::Reachability;
use redis::{
    Cmd, IntoConnectionInfo, Pipeline, ProtocolVersion, RedisError, RedisFuture, RedisResult,
    Value,
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
};
use serde::Deserialize;

pub use self::{cluster::LazyCluster, settings::RedisSettings};

/// One Redis server (with replicas behind it, or not), or a Redis Cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisMode {
    #[default]
    Single,
    Cluster,
}

/// A connection to use for one or more calls: cheap to clone, usable from
/// any task. Scripts, commands and pipelines run on it as on any redis-rs
/// async connection.
#[derive(Clone)]
pub enum RedisConn {
    Single(ConnectionManager),
    Cluster(LazyCluster),
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

#[derive(Clone)]
pub struct RedisConnections {
    connections: Arc<[RedisConn]>,
    next: Arc<AtomicUsize>,
    reachability: Arc<Reachability>,
    timeout: Duration,
}

/// Why a call did not get Redis' answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("Redis is unreachable")]
    KnownDown,
    #[error("Redis did not answer in time")]
    TimedOut,
    /// The call was waiting when Redis was found unreachable.
    #[error("Redis became unreachable while the call waited")]
    WentDown,
    #[error(transparent)]
    Redis(#[from] RedisError),
}

impl CallError {
    /// Whether the call may have run although no answer came (it timed out,
    /// or its connection broke after it was sent): what it did is unknown.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::KnownDown => false,
            Self::TimedOut | Self::WentDown => true,
            Self::Redis(e) => is_connection_error(e),
        }
    }
}

impl RedisConnections {
    /// `count` connections to `url`, opened on first use (a Redis that is
    /// down at start-up is reported by readiness, not a crash). `timeout`
    /// bounds each connection attempt and each reply, and is the deadline of
    /// every [`call`](Self::call): a command issued while Redis is away waits
    /// for the reconnection. Must be called inside a Tokio runtime: each
    /// connection's driver task lives on it.
    pub fn lazy(url: &str, count: usize, timeout: Duration) -> anyhow::Result<Self> {
        let info = url
            .into_connection_info()
            .context("redis.url is not valid")?;
        // RESP3: the connection tells the manager the moment it drops, so a
        // new one is being made before the next command needs it (with RESP2
        // the first command after an outage would fail to notice).
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings))
            .context("redis.url is not valid")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // While Redis is away, keep trying in the background (every
            // 500 ms at most): callers get their own deadline's error (503)
            // meanwhile, and the first command after Redis is back succeeds.
            .set_number_of_retries(usize::MAX)
            .set_max_delay(Duration::from_millis(500));
        let connections = (0..count.max(1))
            .map(|_| {
                ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
                    .map(RedisConn::Single)
            })
            .collect::<Result<Vec<_>, _>>()
            .context("creating Redis connections")?;
        Ok(Self {
            connections: connections.into(),
            next: Arc::new(AtomicUsize::new(0)),
            reachability: Arc::new(Reachability::new(vec![client], timeout)),
            timeout,
        })
    }

    /// One connection to the cluster whose seed nodes are `nodes`, opened
    /// on first use like [`Self::lazy`]'s.
    pub fn lazy_cluster(nodes: &[String], timeout: Duration) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !nodes.is_empty(),
            "redis.nodes: cluster mode needs at least one seed node"
        );
        let cluster = LazyCluster::new(nodes, timeout)?;
        let probes = nodes
            .iter()
            .map(|node| redis::Client::open(node.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .context("redis.nodes: a node is not a valid Redis URL")?;
        Ok(Self {
            connections: vec![RedisConn::Cluster(cluster)].into(),
            next: Arc::new(AtomicUsize::new(0)),
            reachability: Arc::new(Reachability::new(probes, timeout)),
            timeout,
        })
    }

    /// [`Self::lazy`] or [`Self::lazy_cluster`], as `mode` says.
    pub fn for_mode(
        mode: RedisMode,
        url: &str,
        nodes: &[String],
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        match mode {
            RedisMode::Single => Self::lazy(url, count, timeout),
            RedisMode::Cluster => Self::lazy_cluster(nodes, timeout),
        }
    }

    /// Awaits one Redis call under the deadline given at creation. While
    /// Redis is known to be unreachable it fails at once, without calling,
    /// and a call waiting when that becomes known fails then; a call that
    /// fails on the connection or times out makes a probe find out whether
    /// Redis is unreachable (see `reachability`).
    pub async fn call<T>(
        &self,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, CallError> {
        if self.reachability.is_known_down() {
            return Err(CallError::KnownDown);
        }
        let answer = tokio::select! {
            biased;
            answer = tokio::time::timeout(self.timeout, call) => answer,
            () = self.reachability.known_down() => return Err(CallError::WentDown),
        };
        let error = match answer {
            Ok(Ok(value)) => return Ok(value),
            // Redis answered with an error: it is reachable.
            Ok(Err(e)) if !is_connection_error(&e) => return Err(e.into()),
            Ok(Err(e)) => CallError::Redis(e),
            Err(_) => CallError::TimedOut,
        };
        self.reachability.call_failed();
        Err(error)
    }

    /// One of the shared connections (round robin); cheap to clone and use
    /// from any task.
    pub fn get(&self) -> RedisConn {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        self.connections[i].clone()
    }
}

fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}
