//! One test's own names on the shared servers, chosen once for every suite:
//! the database `coupon_test_<tag>`, Redis keys under `t:<tag>:`, RabbitMQ
//! exchanges and queues under `t.<tag>.`. Everything goes when the scope is
//! dropped; what a killed run leaves behind carries its age in the tag and
//! is swept by a later run.

use contract::topology::{ROUTED_KINDS, Topology};
use lapin::{Connection, ConnectionProperties};

use crate::resources::{
    TestDatabase, cleanup_blocking, cleanup_stale_redis_keys, redis_connection, unique_tag,
};

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Unused throwaway queues vanish after this long, should a run be killed
/// before its scope is dropped (leftover queues slow the shared broker).
const QUEUE_EXPIRES_MS: u32 = 300_000;

pub struct TestScope {
    pub tag: String,
    /// Both services' `redis.key_prefix`.
    pub redis_prefix: String,
    /// Both services' RabbitMQ names: classic queues unless
    /// [`TestScope::with_queue_type`] says otherwise (hundreds of
    /// short-lived quorum queues, a Raft group each, slow the broker down).
    pub topology: Topology,
    database: Option<TestDatabase>,
}

impl TestScope {
    /// Names only: for suites that need no database of their own.
    pub async fn new() -> Self {
        cleanup_stale_redis_keys().await;
        let tag = unique_tag();
        Self {
            redis_prefix: format!("t:{tag}:"),
            topology: Topology {
                exchange: format!("t.{tag}.coupon.exchange"),
                dead_letter_exchange: format!("t.{tag}.coupon.dlx"),
                queue_prefix: format!("t.{tag}."),
                queue_type: "classic".into(),
                queue_expires_ms: Some(QUEUE_EXPIRES_MS),
            },
            tag,
            database: None,
        }
    }

    /// The names and a new, empty database.
    pub async fn with_database() -> Self {
        let mut scope = Self::new().await;
        scope.database = Some(TestDatabase::create(&format!("coupon_test_{}", scope.tag)).await);
        scope
    }

    /// `quorum` for the tests that need the production queue type.
    pub fn with_queue_type(mut self, queue_type: &str) -> Self {
        queue_type.clone_into(&mut self.topology.queue_type);
        self
    }

    /// The database's URL, reached at `port` (5432, or a fault proxy's).
    ///
    /// # Panics
    /// When the scope was made without a database.
    pub fn database_url(&self, port: u16) -> String {
        let database = self
            .database
            .as_ref()
            .expect("TestScope::with_database for a database");
        database.url_on_port(port)
    }
}

impl Drop for TestScope {
    /// Redis keys and RabbitMQ names here; the database with its own guard.
    fn drop(&mut self) {
        let (prefix, topology) = (self.redis_prefix.clone(), self.topology.clone());
        cleanup_blocking(async move {
            delete_redis_keys(&prefix).await;
            delete_amqp_names(&topology).await;
        });
    }
}

async fn delete_redis_keys(prefix: &str) {
    let mut c = redis_connection().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut c)
        .await
        .unwrap_or_default();
    // One DEL per key: on a cluster the keys live on different nodes.
    for key in keys {
        let _: Result<i64, _> = redis::cmd("DEL").arg(key).query_async(&mut c).await;
    }
}

async fn delete_amqp_names(topology: &Topology) {
    let Ok(conn) = Connection::connect(AMQP_URL, ConnectionProperties::default()).await else {
        return;
    };
    if let Ok(channel) = conn.create_channel().await {
        let mut queues: Vec<String> = ROUTED_KINDS.iter().map(|k| topology.queue(k)).collect();
        queues.push(topology.dead_letter_queue());
        for queue in queues {
            let _ = channel
                .queue_delete(queue.as_str().into(), Default::default())
                .await;
        }
        for exchange in [&topology.exchange, &topology.dead_letter_exchange] {
            let _ = channel
                .exchange_delete(exchange.as_str().into(), Default::default())
                .await;
        }
    }
    let _ = conn.close(0, "".into()).await;
}
