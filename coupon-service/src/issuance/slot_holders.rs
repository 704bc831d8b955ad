//! Who holds a slot of a sold-out event, as this instance last read it.
//!
//! After a sell-out the losing crowd is answered from the sold-out memo
//! (`sold_out.rs`). A keyed press must still get its coupon back if its
//! key won; a key can only have won if its user holds a slot in the event.
//! So a keyed press is answered from the memo too when its user is not
//! among the event's slot holders, read from Redis (the event's `users`
//! hash) at most once per [`HOLDERS_TTL`] per event on this instance,
//! concurrent asks sharing one read; only a holder's press goes on to
//! Redis. Bounded: [`MAX_EVENTS`] events, and an event with more than
//! [`MAX_HOLDERS`] holders is not read (every keyed press of it asks Redis).

use std::{collections::HashSet, sync::Arc, time::Duration};

use moka::future::Cache;

use super::redis_state::RedisState;

/// How long a reading of an event's holders is used. A slot taken after
/// the reading means the stock came back, which ends the memo anyway.
pub const HOLDERS_TTL: Duration = Duration::from_secs(1);
pub const MAX_EVENTS: u64 = 1_000;
pub const MAX_HOLDERS: usize = 200_000;

/// `None`: too many to keep; ask Redis.
type Holders = Option<Arc<HashSet<i64>>>;

pub struct SlotHolders {
    events: Cache<i64, Holders>,
}

impl Default for SlotHolders {
    fn default() -> Self {
        Self {
            events: Cache::builder()
                .max_capacity(MAX_EVENTS)
                .time_to_live(HOLDERS_TTL)
                .build(),
        }
    }
}

impl SlotHolders {
    /// Whether the user may hold a slot of the event (true as well when
    /// the holders are too many to keep).
    pub async fn may_hold(
        &self,
        redis: &RedisState,
        event_id: i64,
        user_id: i64,
    ) -> anyhow::Result<bool> {
        let holders = self
            .events
            .try_get_with(event_id, async {
                let users = redis.slot_holders(event_id, MAX_HOLDERS).await?;
                anyhow::Ok(users.map(|users| Arc::new(users.into_iter().collect())))
            })
            .await
            .map_err(|e| anyhow::anyhow!("reading the slot holders: {e:#}"))?;
        Ok(holders.is_none_or(|holders| holders.contains(&user_id)))
    }
}
