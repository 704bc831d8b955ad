//! The Redis tier of the event cache: each event's public view as JSON,
//! shared by every instance, between a process's own cache and PostgreSQL.

use std::time::Duration;

use redis::cmd;

use crate::redis_store::RedisStore;

#[derive(Clone)]
pub struct EventViews {
    redis: RedisStore,
}

impl EventViews {
    pub fn new(redis: RedisStore) -> Self {
        Self { redis }
    }

    pub async fn get(&self, event_id: i64) -> anyhow::Result<Option<String>> {
        let key = self.redis.keys(event_id).view();
        let mut c = self.redis.conn();
        self.redis
            .call("GET view", cmd("GET").arg(key).query_async(&mut c))
            .await
    }

    pub async fn put(&self, event_id: i64, json: &str, ttl: Duration) -> anyhow::Result<()> {
        let key = self.redis.keys(event_id).view();
        let mut c = self.redis.conn();
        self.redis
            .call(
                "SET view",
                cmd("SET")
                    .arg(key)
                    .arg(json)
                    .arg("PX")
                    .arg(ttl.as_millis() as u64)
                    .query_async(&mut c),
            )
            .await
    }

    pub async fn delete(&self, event_id: i64) -> anyhow::Result<()> {
        let key = self.redis.keys(event_id).view();
        let mut c = self.redis.conn();
        self.redis
            .call("DEL view", cmd("DEL").arg(key).query_async::<i64>(&mut c))
            .await?;
        Ok(())
    }
}
