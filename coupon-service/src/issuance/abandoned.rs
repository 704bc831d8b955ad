//! A reserve call that got no answer (it timed out, its connection broke)
//! may still have run — a shard paused past the deadline runs it when it
//! comes back. Its request was answered 503, so nobody will write that
//! reservation to PostgreSQL: left alone, it would hold a unit and the
//! user's slot until the sweeper's `pending_timeout`, and the user's next
//! press would meet `user_limit_reached` for a coupon they never got.
//!
//! So the call is settled here: its record (kept by `reserve.lua` under the
//! call's id) is looked for a few times over the next seconds, and a
//! reservation it made is given back at once. Bounded: past
//! [`MAX_IN_FLIGHT`] calls being settled, the sweeper alone handles the rest.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use super::{redis_state::RedisState, reservation::Reservation};

/// Abandoned calls settled at once, at most.
pub const MAX_IN_FLIGHT: usize = 1024;

/// When to look for the call's record, after the failure (its record lives
/// `CALL_RECORD_SECS`, longer than the last look).
const LOOKS: [Duration; 5] = [
    Duration::from_millis(250),
    Duration::from_millis(750),
    Duration::from_secs(1),
    Duration::from_secs(3),
    Duration::from_secs(5),
];

/// A reserve call whose outcome is unknown.
pub struct Abandoned {
    pub event_id: i64,
    pub user_id: i64,
    pub idem: String,
    pub call_id: String,
}

#[derive(Clone, Default)]
pub struct AbandonedCalls {
    in_flight: Arc<AtomicUsize>,
}

impl AbandonedCalls {
    /// Settles the call in the background (on the current runtime).
    pub fn settle(&self, redis: RedisState, call: Abandoned) {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let in_flight = Arc::clone(&self.in_flight);
        tokio::spawn(async move {
            for wait in LOOKS {
                tokio::time::sleep(wait).await;
                // An error (Redis still away) is another look later.
                if let Ok(true) = give_back(&redis, &call).await {
                    break;
                }
            }
            in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

/// True once the call's reservation is given back (or was settled
/// already); false while no record of it is found (it has not run yet, or
/// reserved nothing: only the last look tells).
async fn give_back(redis: &RedisState, call: &Abandoned) -> anyhow::Result<bool> {
    let Some(record) = redis.call_record(call.event_id, &call.call_id).await? else {
        return Ok(false);
    };
    let reservation = Reservation {
        event_id: call.event_id,
        user_id: call.user_id,
        ticket: record.ticket,
        slot: record.slot,
        remaining: record.remaining,
        reserved_ms: record.reserved_ms,
        idem: call.idem.clone(),
    };
    let released = redis.release(&reservation, true, true).await?;
    if released {
        tracing::info!(
            event.id = call.event_id,
            user.id = call.user_id,
            "a reserve call that got no answer had run; its reservation was given back"
        );
    }
    Ok(true)
}
