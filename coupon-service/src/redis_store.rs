//! The deployment's Redis as every part of coupon-service reaches it: the
//! shared connections, the key prefix and the per-call deadline. Each
//! capability wraps it in a type of its own, next to the code that owns it:
//! the issuance scripts (`issuance::redis_state`), the cached event views
//! (`events::views`), the stock-message claims (`outbox::stock_ticker`).
//! Key names come from `contract::redis_keys`, shared with notify-service.

use anyhow::Context;
use contract::redis_keys::EventKeys;
use redis::RedisResult;
use service_kit::redis::{RedisConn, RedisConnections};

/// A fresh id for one script call: a script that changes state remembers
/// it, so a call the Redis client runs again (it retries a call whose reply
/// was lost, on a cluster) finds its own first run instead of acting twice.
pub fn call_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[derive(Clone)]
pub struct RedisStore {
    connections: RedisConnections,
    prefix: String,
}

impl RedisStore {
    pub fn new(connections: RedisConnections, prefix: String) -> Self {
        Self {
            connections,
            prefix,
        }
    }

    /// The deployment's key prefix (`redis.key_prefix`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn keys(&self, event_id: i64) -> EventKeys {
        EventKeys::new(&self.prefix, event_id)
    }

    /// One of the shared multiplexed connections; use it inside
    /// [`Self::call`].
    pub fn conn(&self) -> RedisConn {
        self.connections.get()
    }

    /// Awaits one Redis call under the configured deadline, failing at once
    /// while Redis is known to be unreachable: a Redis that is down turns
    /// into a quick 503, not a stuck request.
    pub async fn call<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = RedisResult<T>>,
    ) -> anyhow::Result<T> {
        self.connections.call(call).await.context(what)
    }

    /// Tickets left per event (`None` where the event is not loaded): the
    /// live stock the lists, the admin panel and `event.stock` report.
    pub async fn remaining(&self, event_ids: &[i64]) -> anyhow::Result<Vec<Option<i64>>> {
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        // One GET per event, all at once (not MGET, nor one pipeline: on a
        // cluster the stocks live in different slots, on different nodes).
        // The multiplexed connection sends them together: one round trip
        // to each node involved.
        let gets = event_ids.iter().map(|id| {
            let mut c = self.conn();
            let key = self.keys(*id).stock();
            async move {
                redis::cmd("GET")
                    .arg(key)
                    .query_async::<Option<i64>>(&mut c)
                    .await
            }
        });
        self.call("GET stocks", async {
            futures::future::join_all(gets).await.into_iter().collect()
        })
        .await
    }
}
