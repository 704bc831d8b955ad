//! Event lookups for the hot path, in three tiers: this process (about a
//! second, so a sale's burst costs one lookup per instance per second),
//! Redis (shared by all instances), then PostgreSQL.
//!
//! moka coalesces concurrent misses of one key into a single load, so an
//! expiry under load does not stampede the tiers below.

use std::{sync::Arc, time::Duration};

use moka::future::Cache;
use sqlx::PgPool;

use super::{model::Event, store};
use crate::issuance::redis_state::RedisState;

/// How long the Redis tier keeps an event. Admin writes delete it.
const REDIS_TTL: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct EventCache {
    one: Cache<i64, Option<Arc<Event>>>,
    list: Cache<(), Arc<Vec<Arc<Event>>>>,
    db: PgPool,
    redis: RedisState,
}

impl EventCache {
    pub fn new(db: PgPool, redis: RedisState, ttl: Duration) -> Self {
        Self {
            one: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            list: Cache::builder().max_capacity(1).time_to_live(ttl).build(),
            db,
            redis,
        }
    }

    /// The event, or `None` when it does not exist (cached too: a flood of
    /// requests for a bad id does not reach PostgreSQL).
    pub async fn get(&self, id: i64) -> Result<Option<Arc<Event>>, Arc<anyhow::Error>> {
        self.one
            .try_get_with(
                id,
                async move { self.load(id).await.map(|e| e.map(Arc::new)) },
            )
            .await
    }

    /// Public list (see `store::list_public`).
    pub async fn list(&self) -> Result<Arc<Vec<Arc<Event>>>, Arc<sqlx::Error>> {
        self.list
            .try_get_with((), async {
                let events = store::list_public(&self.db).await?;
                Ok(Arc::new(events.into_iter().map(Arc::new).collect()))
            })
            .await
    }

    /// Drops an event from this process and from Redis (after an admin write).
    pub async fn invalidate(&self, id: i64) -> anyhow::Result<()> {
        self.one.invalidate(&id).await;
        self.list.invalidate(&()).await;
        self.redis.delete_view(id).await
    }

    async fn load(&self, id: i64) -> anyhow::Result<Option<Event>> {
        // Redis is a cache here: when it is down, PostgreSQL still answers.
        if let Ok(Some(json)) = self.redis.get_view(id).await
            && let Ok(event) = serde_json::from_str::<Event>(&json)
        {
            return Ok(Some(event));
        }
        let event = store::find(&self.db, id).await?;
        if let Some(json) = event.as_ref().and_then(|e| serde_json::to_string(e).ok())
            && let Err(e) = self.redis.put_view(id, &json, REDIS_TTL).await
        {
            tracing::debug!(error = %e, "could not cache event in Redis");
        }
        Ok(event)
    }
}
