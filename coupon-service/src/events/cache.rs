//! Event lookups for the hot path, in three tiers: this process (about a
//! second, so a sale's burst costs one lookup per instance per second),
//! Redis (shared by all instances), then PostgreSQL.
//!
//! moka coalesces concurrent misses of one key into a single load, so an
//! expiry under load does not stampede the tiers below.
//!
//! Pages of the public list are cached in this process too, one entry per
//! (status, page, size), for the same short time: a page-load storm at the
//! opening reads each page once per instance per second. The number of
//! entries is bounded (`events.list_cache_entries`), so clients asking for
//! many different pages cannot grow the memory; they only miss.

use std::{sync::Arc, time::Duration};

use moka::future::Cache;
use sqlx::PgPool;

use super::{filter::PublicStatus, model::Event, store, views::EventViews};
use crate::{paging::Paging, redis_store::RedisStore};

/// How long the Redis tier keeps an event. Admin writes delete it.
const REDIS_TTL: Duration = Duration::from_secs(10);

/// One page of the public list and the number of events in the whole list.
#[derive(Debug)]
pub struct ListPage {
    pub events: Vec<Event>,
    pub total: i64,
}

#[derive(Clone)]
pub struct EventCache {
    one: Cache<i64, Option<Arc<Event>>>,
    list: Cache<(PublicStatus, Paging), Arc<ListPage>>,
    db: PgPool,
    views: EventViews,
}

impl EventCache {
    pub fn new(db: PgPool, redis: RedisStore, ttl: Duration, list_entries: u64) -> Self {
        Self {
            one: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            list: Cache::builder()
                .max_capacity(list_entries)
                .time_to_live(ttl)
                .build(),
            db,
            views: EventViews::new(redis),
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

    /// One page of the public list (see `store::list_public`).
    pub async fn list(
        &self,
        status: PublicStatus,
        paging: Paging,
    ) -> Result<Arc<ListPage>, Arc<sqlx::Error>> {
        self.list
            .try_get_with((status, paging), async move {
                let (events, total) = store::list_public(&self.db, status, paging).await?;
                Ok(Arc::new(ListPage { events, total }))
            })
            .await
    }

    /// Drops an event from this process and from Redis (after an admin write).
    pub async fn invalidate(&self, id: i64) -> anyhow::Result<()> {
        self.one.invalidate(&id).await;
        // Any page may hold the event, or shift because of it.
        self.list.invalidate_all();
        self.views.delete(id).await
    }

    async fn load(&self, id: i64) -> anyhow::Result<Option<Event>> {
        // Redis is a cache here: when it is down, PostgreSQL still answers.
        if let Ok(Some(json)) = self.views.get(id).await
            && let Ok(event) = serde_json::from_str::<Event>(&json)
        {
            return Ok(Some(event));
        }
        let event = store::find(&self.db, id).await?;
        if let Some(json) = event.as_ref().and_then(|e| serde_json::to_string(e).ok())
            && let Err(e) = self.views.put(id, &json, REDIS_TTL).await
        {
            tracing::debug!(error = %e, "could not cache event in Redis");
        }
        Ok(event)
    }
}
