//! A Redis Cluster connection that is opened on first use: like the single
//! server's connection manager, a service starts while the cluster is down
//! (readiness reports it) and connects once it answers. Until the first
//! connection succeeds every call tries again, under the caller's deadline.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use redis::{
    Cmd, Pipeline, ProtocolVersion, RedisFuture, Value,
    aio::ConnectionLike,
    cluster::{ClusterClient, ClusterClientBuilder},
    cluster_async::ClusterConnection,
};
use tokio::sync::OnceCell;

#[derive(Clone)]
pub struct LazyCluster {
    /// Shared: cloning a connection handle must stay cheap.
    client: Arc<ClusterClient>,
    connection: Arc<OnceCell<ClusterConnection>>,
}

impl LazyCluster {
    pub fn new(nodes: &[String], timeout: Duration) -> anyhow::Result<Self> {
        let client = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
            // RESP3 as on a single server: a dropped connection is noticed
            // at once, not by the next command.
            .use_protocol(ProtocolVersion::RESP3)
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .build()
            .context("redis.nodes: not a valid list of cluster nodes")?;
        Ok(Self {
            client: Arc::new(client),
            connection: Arc::new(OnceCell::new()),
        })
    }

    async fn connection(&self) -> redis::RedisResult<ClusterConnection> {
        self.connection
            .get_or_try_init(|| self.client.get_async_connection())
            .await
            .cloned()
    }
}

impl ConnectionLike for LazyCluster {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            connection.req_packed_command(cmd).await
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
            connection.req_packed_commands(cmd, offset, count).await
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}
