//! Coalesced `event.stock` messages: live remaining stock for the pages
//! watching an event, at most about ten per second per event across all
//! instances, however many coupons are issued meanwhile.
//!
//! The batch writer marks events whose stock changed; every tick this task
//! reads the live count from Redis and queues one message per changed event
//! through the outbox (same relay, same guarantees). A short Redis key per
//! event (SET NX PX) keeps instances from each sending their own.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use contract::messages::{EVENT_STOCK, Envelope, EventStock};
use sqlx::PgPool;

use super::{
    handoff::Handoff,
    store::{NewMessages, OutboxRow},
};
use crate::{events::cache::EventCache, redis_store::RedisStore};

/// Events whose stock changed since the last tick (shared with the writer).
#[derive(Clone, Default)]
pub struct StockChanges(Arc<Mutex<HashSet<i64>>>);

impl StockChanges {
    pub fn mark(&self, events: impl IntoIterator<Item = i64>) {
        if let Ok(mut changed) = self.0.lock() {
            changed.extend(events);
        }
    }

    fn take(&self) -> HashSet<i64> {
        self.0
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }
}

/// Queues an `event.stock` for each changed event every `every`, at most
/// one per event per `every` across instances (`outbox.stock_interval_ms`:
/// each message goes to every watcher of the event, so the interval sets
/// the fan-out's frame rate per watcher).
pub async fn stock_loop(
    changes: StockChanges,
    db: PgPool,
    redis: RedisStore,
    events: EventCache,
    handoff: Handoff,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let changed = changes.take();
        if changed.is_empty() {
            continue;
        }
        match queue_messages(&changed, &db, &redis, &events, every).await {
            Ok(Sent { rows, throttled }) => {
                handoff.pass(rows);
                // Sent by another instance moments ago: ours goes next tick,
                // so the last change (e.g. remaining 0) is never dropped.
                changes.mark(throttled);
            }
            Err(e) => {
                tracing::debug!(error = %e, "stock update postponed");
                changes.mark(changed);
            }
        }
    }
}

struct Sent {
    /// The committed outbox rows.
    rows: Vec<OutboxRow>,
    throttled: Vec<i64>,
}

async fn queue_messages(
    changed: &HashSet<i64>,
    db: &PgPool,
    redis: &RedisStore,
    events: &EventCache,
    every: Duration,
) -> anyhow::Result<Sent> {
    let mut messages = NewMessages::default();
    let mut throttled = Vec::new();
    let now = Utc::now();
    for &event_id in changed {
        if !claim_tick(redis, event_id, every).await? {
            throttled.push(event_id);
            continue;
        }
        let (Some(remaining), Ok(Some(event))) = (
            redis.remaining(&[event_id]).await?.pop().flatten(),
            events.get(event_id).await,
        ) else {
            continue;
        };
        let data = EventStock {
            event_id,
            remaining,
            total: i64::from(event.total_count),
        };
        messages.push(EVENT_STOCK, &Envelope::new(data, now), None)?;
    }
    let rows = messages.insert(db).await?;
    Ok(Sent { rows, throttled })
}

/// Claims the right to send the next `event.stock` of this event: one
/// sender per interval across instances.
async fn claim_tick(redis: &RedisStore, event_id: i64, every: Duration) -> anyhow::Result<bool> {
    let key = redis.keys(event_id).stock_tick();
    let mut c = redis.conn();
    let taken: Option<String> = redis
        .call(
            "SET NX stock tick",
            redis::cmd("SET")
                .arg(key)
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(every.as_millis() as u64)
                .query_async(&mut c),
        )
        .await?;
    Ok(taken.is_some())
}
