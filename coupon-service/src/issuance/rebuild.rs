//! Loading an event's issuance state into Redis from PostgreSQL: the first
//! load before a sale, and the rebuild after Redis lost the keys (restart
//! without persistence, failover, flush). One instance rebuilds at a time;
//! meanwhile the others answer 503 for that event.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{redis_state::RedisState, reservation::EventState};
use crate::admission::Admission;

/// How long a rebuild may hold the lock (it takes milliseconds).
const LOCK_TTL: Duration = Duration::from_secs(10);
/// How long a request waits for another instance's rebuild to land.
const WAIT_FOR_OTHER: Duration = Duration::from_secs(1);

/// Makes sure the event is loaded. `Ok(true)`: it is now (loaded by us or by
/// another instance); `Ok(false)`: another instance is still rebuilding.
/// A loaded event costs one `EXISTS` and no PostgreSQL read (a waiting
/// room's tick asks every second; the rebuild's read of every coupon and
/// unclaimed hold took a second of PostgreSQL at 10,000 wins).
pub async fn ensure_loaded(redis: &RedisState, db: &PgPool, event_id: i64) -> anyhow::Result<bool> {
    if redis.is_loaded(event_id).await? {
        return Ok(true);
    }
    let Some(token) = redis.try_lock_rebuild(event_id, LOCK_TTL).await? else {
        let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if redis.is_loaded(event_id).await? {
                return Ok(true);
            }
        }
        return Ok(false);
    };
    let result = async {
        let Some(state) = state_from_db(db, event_id).await? else {
            anyhow::bail!("event {event_id} does not exist");
        };
        let wrote = redis.load(event_id, &state).await?;
        if wrote {
            tracing::info!(
                event.id = event_id,
                remaining = state.remaining,
                "event state loaded into Redis"
            );
        }
        Ok(wrote)
    }
    .await;
    if let Err(e) = redis.unlock_rebuild(event_id, &token).await {
        tracing::warn!(error = %e, "could not release the rebuild lock (it expires)");
    }
    result.map(|_| true)
}

#[derive(sqlx::FromRow)]
struct EventRow {
    total_count: i32,
    max_per_user: i32,
    start_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
    closed: bool,
    state_version: i64,
    admission: Admission,
}

/// Applies PostgreSQL's sale state (window, stock, limit, closed) to the
/// event's loaded Redis copy: after an admin write that never reached Redis,
/// or a coupon the database refused for a closed event. A copy as new or
/// newer is left alone. True when it applied.
pub async fn repair(redis: &RedisState, db: &PgPool, event_id: i64) -> anyhow::Result<bool> {
    let Some(event) = crate::events::store::find(db, event_id).await? else {
        return Ok(false);
    };
    let applied = redis.update(event_id, &limits_of(&event)).await?;
    if applied {
        tracing::warn!(
            event.id = event_id,
            state.version = event.state_version,
            "Redis missed an admin write; PostgreSQL's sale state applied"
        );
    }
    Ok(applied)
}

/// Reads the event and all its committed coupons from one snapshot.
pub async fn state_from_db(db: &PgPool, event_id: i64) -> anyhow::Result<Option<EventState>> {
    let mut tx = db.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let event: Option<EventRow> = sqlx::query_as(
        "SELECT total_count, max_per_user, start_time, end_time, closed_at IS NOT NULL AS closed, \
         state_version, admission FROM coupon_events WHERE id = $1",
    )
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(event) = event else {
        return Ok(None);
    };
    let held: Vec<(i32, i64, i32)> = sqlx::query_as(
        "SELECT stock_seq, user_id, user_slot FROM user_coupons WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_all(&mut *tx)
    .await?;
    // The room's admissions (wins) not yet claimed: each holds its unit
    // until claim_by, as PostgreSQL recorded it before anyone was told.
    let holds = if event.admission.has_room() {
        crate::admission::store::unclaimed_holds(&mut tx, event_id).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(Some(build_state(&event, &held, holds)))
}

/// When an event's Redis keys expire: a day after its end.
fn expire_at_ms(end: DateTime<Utc>) -> i64 {
    (end + chrono::Duration::days(1)).timestamp_millis()
}

/// The limits, window, closed flag and version of an event, for
/// `RedisState::update` (the ticket fields stay empty: an update never
/// touches tickets).
pub fn limits_of(event: &crate::events::Event) -> EventState {
    EventState {
        start_ms: event.start_time.timestamp_millis(),
        end_ms: event.end_time.timestamp_millis(),
        total: i64::from(event.total_count),
        max_per_user: i64::from(event.max_per_user),
        closed: event.closed_at.is_some(),
        expire_at_ms: expire_at_ms(event.end_time),
        version: event.state_version,
        admission: event.admission,
        ..EventState::default()
    }
}

/// Pure part of the rebuild: committed coupons → Redis state.
/// The waiting room's unclaimed holds are restored as they were; their
/// units are still in stock (a hold takes its unit only when pressed).
fn build_state(event: &EventRow, held: &[(i32, i64, i32)], holds: Vec<(i64, i64)>) -> EventState {
    let highest = held
        .iter()
        .map(|(seq, _, _)| i64::from(*seq))
        .max()
        .unwrap_or(0);
    let mut taken = vec![false; usize::try_from(highest).unwrap_or(0) + 1];
    let mut users: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
    for (seq, user, slot) in held {
        if let Some(t) = taken.get_mut(usize::try_from(*seq).unwrap_or(0)) {
            *t = true;
        }
        let slots = users.entry(*user).or_default();
        let index = usize::try_from(*slot).unwrap_or(1).saturating_sub(1);
        if slots.len() <= index {
            slots.resize(index + 1, b'0');
        }
        slots[index] = b'1';
    }
    let free_tickets = (1..=highest).filter(|t| !taken[*t as usize]).collect();
    EventState {
        start_ms: event.start_time.timestamp_millis(),
        end_ms: event.end_time.timestamp_millis(),
        total: i64::from(event.total_count),
        max_per_user: i64::from(event.max_per_user),
        closed: event.closed,
        expire_at_ms: expire_at_ms(event.end_time),
        version: event.state_version,
        admission: event.admission,
        remaining: (i64::from(event.total_count) - held.len() as i64).max(0),
        holds,
        highest_ticket: highest,
        free_tickets,
        users: users
            .into_iter()
            .map(|(u, s)| (u, String::from_utf8_lossy(&s).into_owned()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_become_free_tickets_and_slots_become_strings() {
        let now = Utc::now();
        let event = EventRow {
            total_count: 10,
            max_per_user: 3,
            start_time: now,
            end_time: now + chrono::Duration::hours(1),
            closed: false,
            state_version: 1,
            admission: Admission::FirstCome,
        };
        let state = build_state(&event, &[(1, 7, 1), (4, 7, 3), (2, 8, 1)], Vec::new());
        assert_eq!(state.highest_ticket, 4);
        assert_eq!(state.free_tickets, vec![3]);
        assert_eq!(state.remaining, 7);
        assert_eq!(
            state.users,
            vec![(7, "101".to_owned()), (8, "1".to_owned())]
        );
    }

    #[test]
    fn an_untouched_event_has_everything_left() {
        let now = Utc::now();
        let event = EventRow {
            total_count: 5,
            max_per_user: 1,
            start_time: now,
            end_time: now,
            closed: true,
            state_version: 3,
            admission: Admission::FirstCome,
        };
        let state = build_state(&event, &[], Vec::new());
        assert_eq!(
            (state.remaining, state.highest_ticket, state.closed),
            (5, 0, true)
        );
        assert!(state.free_tickets.is_empty() && state.users.is_empty());
    }

    #[test]
    fn a_queued_events_unclaimed_holds_come_back_with_their_units_in_stock() {
        let now = Utc::now();
        let event = EventRow {
            total_count: 5,
            max_per_user: 1,
            start_time: now,
            end_time: now + chrono::Duration::hours(1),
            closed: false,
            state_version: 1,
            admission: Admission::Queue,
        };
        let state = build_state(&event, &[(1, 7, 1)], vec![(8, 1), (9, 2)]);
        assert_eq!(state.remaining, 4);
        assert_eq!(state.holds, vec![(8, 1), (9, 2)]);
    }
}
