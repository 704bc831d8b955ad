//! PostgreSQL side of admin event changes.

use chrono::{DateTime, Utc};
use contract::errors::ErrorCode;
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use utoipa::ToSchema;

use super::{
    announce,
    audit::{self, Action, Actor},
    filter::{AdminFilter, AdminStatus, escape_like},
};
use crate::{
    admission::Admission,
    error::ApiError,
    events::{self, Event, NewEvent},
    outbox::store::OutboxRow,
    paging::Paging,
};

/// An event with its redemption count.
#[derive(Debug, sqlx::FromRow)]
pub struct EventStats {
    #[sqlx(flatten)]
    pub event: Event,
    pub redeemed: i64,
}

/// Selects events with their redemption count, for the admin list's item
/// and count queries (literals, so the queries stay `&'static str`).
/// `$1`: a `LIKE` pattern for the title or NULL; `$2`: a status name or NULL.
macro_rules! admin_list {
    ($select:literal, $tail:literal) => {
        concat!(
            $select,
            " FROM coupon_events e WHERE ($1::text IS NULL OR e.title ILIKE $1) AND CASE $2::text \
             WHEN 'upcoming' THEN e.closed_at IS NULL AND e.start_time > now() \
             WHEN 'live' THEN e.closed_at IS NULL AND e.start_time <= now() AND e.end_time > now() \
                 AND e.issued_count < e.total_count \
             WHEN 'sold_out' THEN e.closed_at IS NULL AND e.start_time <= now() AND e.end_time > now() \
                 AND e.issued_count >= e.total_count \
             WHEN 'ended' THEN e.closed_at IS NOT NULL OR e.end_time <= now() \
             WHEN 'closed' THEN e.closed_at IS NOT NULL \
             ELSE true END",
            $tail
        )
    };
}

/// One page of the admin list, newest start first, and the number matching.
#[tracing::instrument(skip_all, fields(list.page = paging.page()))]
pub async fn list(
    db: &PgPool,
    filter: &AdminFilter,
    paging: Paging,
) -> sqlx::Result<(Vec<EventStats>, i64)> {
    let status = filter.status.map(AdminStatus::as_str);
    let items = sqlx::query_as(admin_list!(
        "SELECT e.*, (SELECT count(*) FROM user_coupons c WHERE c.event_id = e.id AND c.status = 'used') AS redeemed",
        " ORDER BY e.start_time DESC, e.id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(&filter.title_pattern)
    .bind(status)
    .bind(paging.size())
    .bind(paging.offset())
    .fetch_all(db);
    let total = sqlx::query_scalar(admin_list!("SELECT count(*)", ""))
        .bind(&filter.title_pattern)
        .bind(status)
        .fetch_one(db);
    tokio::try_join!(items, total)
}

pub async fn one(db: &PgPool, id: i64) -> sqlx::Result<Option<EventStats>> {
    sqlx::query_as(
        "SELECT e.*, (SELECT count(*) FROM user_coupons c WHERE c.event_id = e.id AND c.status = 'used') AS redeemed \
         FROM coupon_events e WHERE e.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// What the errors of this store call the database.
const EVENT_STORE: &str = "the event store";

/// Writes a validated, merged event under the rules of a running sale.
/// The row is locked, so `issued_count` cannot move while it is checked.
/// Bumps `state_version`: the Redis copy takes only a newer state.
/// Applies the change and announces it; returns the event and the outbox
/// rows of the announcement (committed).
pub async fn update(
    db: &PgPool,
    id: i64,
    next: &NewEvent,
    actor: &Actor,
) -> Result<(Event, Vec<OutboxRow>), ApiError> {
    let mut tx = db
        .begin()
        .await
        .map_err(ApiError::store_down(EVENT_STORE))?;
    let current: Event = sqlx::query_as("SELECT * FROM coupon_events WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::store_down(EVENT_STORE))?
        .ok_or_else(|| ApiError::event_not_found(id))?;
    running_sale_allows(&current, next, Utc::now())?;
    if next.draw_beacon != current.draw_beacon && current.admission == Admission::Draw {
        beacon_not_drawn(&mut tx, id).await?;
    }
    if current.admission.has_room() && next.total_count < current.total_count {
        stock_covers_holds(&mut tx, &current, next.total_count).await?;
    }
    if next.admission.has_room() {
        // The room's seed, kept when the event had a room before: its
        // commitment may already be public.
        sqlx::query(
            "INSERT INTO event_queues (event_id, seed) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(crate::admission::ranking::new_seed().to_vec())
        .execute(&mut *tx)
        .await
        .map_err(ApiError::store_down(EVENT_STORE))?;
    }
    let update = sqlx::query_as(
        "UPDATE coupon_events SET title = $1, description = $2, total_count = $3, max_per_user = $4, \
         start_time = $5, end_time = $6, discount_type = $7, discount_value = $8, \
         min_purchase_amount = $9, valid_days = $10, code_prefix = $11, admission = $12, \
         queue_opens_at = $13, claim_window_secs = $14, queue_only_existing_accounts = $15, \
         queue_seed_commitment = CASE WHEN $12 <> 'first_come' THEN \
           (SELECT encode(sha256(seed), 'hex') FROM event_queues WHERE event_id = $16) END, \
         entry_opens_at = $17, entry_closes_at = $18, draw_at = $19, draw_beacon_round = $20, \
         draw_beacon = $21, \
         updated_at = now(), state_version = state_version + 1, \
         sold_out_at = CASE WHEN $3 > issued_count THEN NULL ELSE sold_out_at END \
         WHERE id = $16 RETURNING *",
    );
    let updated: Event =
        events::store::bind_draw_fields(events::store::bind_fields(update, next).bind(id), next)
            .fetch_one(&mut *tx)
            .await
            .map_err(
                |e| match e.as_database_error().and_then(|d| d.constraint()) {
                    // The cascade into user_coupons re-checks every held ticket and slot.
                    Some("user_coupons_ticket_in_stock") => ApiError::Conflict(
                        ErrorCode::StockBelowIssued,
                        "issued coupons hold tickets above the new stock".into(),
                    ),
                    Some("user_coupons_slot_in_limit") => ApiError::Conflict(
                        ErrorCode::LimitBelowHeld,
                        "some users already hold more coupons than the new limit".into(),
                    ),
                    _ => ApiError::store_down(EVENT_STORE)(e),
                },
            )?;
    let change = Change {
        actor,
        action: Action::EventUpdate,
        before: &current,
    };
    announce_and_commit(tx, updated, change).await
}

/// The rules of a sale that is running or over, for a change from
/// `current` to `next` at `now`: an ended sale keeps its window, stock and
/// limit; a started one its start; a new window must end in the future; the
/// stock never goes below what is issued.
fn running_sale_allows(
    current: &Event,
    next: &NewEvent,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let window_changed = next.start_time != current.start_time || next.end_time != current.end_time;
    let ended = current.closed_at.is_some() || now >= current.end_time;
    if ended
        && (window_changed
            || next.total_count != current.total_count
            || next.max_per_user != current.max_per_user)
    {
        return Err(ApiError::Conflict(
            ErrorCode::EventEnded,
            "the event has ended; its window and stock are final".into(),
        ));
    }
    if next.start_time != current.start_time && now >= current.start_time {
        return Err(ApiError::Conflict(
            ErrorCode::EventStarted,
            "the sale has started; its start time is final".into(),
        ));
    }
    if window_changed && next.end_time <= now {
        return Err(ApiError::validation(
            "end_time",
            "must be in the future (close the event to end it now)",
        ));
    }
    if admission_changed(current, next) && now >= admission_fixed_from(current) {
        return Err(ApiError::Conflict(
            ErrorCode::AdmissionFixed,
            "people may already be queueing, entering or buying; the admission settings are final"
                .into(),
        ));
    }

    if next.total_count < current.issued_count {
        return Err(ApiError::Conflict(
            ErrorCode::StockBelowIssued,
            format!("{} coupons are already issued", current.issued_count),
        ));
    }
    Ok(())
}

/// The draw's beacon may change until the draw used it. The room's row is
/// locked until this change commits, so a draw ranks with the value that
/// is stored, never a value replaced after it read it.
async fn beacon_not_drawn(
    tx: &mut Transaction<'static, Postgres>,
    id: i64,
) -> Result<(), ApiError> {
    let drawn: Option<bool> = sqlx::query_scalar(
        "SELECT drawn_at IS NOT NULL FROM event_queues WHERE event_id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(ApiError::store_down(EVENT_STORE))?;
    if drawn == Some(true) {
        return Err(ApiError::Conflict(
            ErrorCode::BeaconFixed,
            "the draw used the beacon; it is final".into(),
        ));
    }
    Ok(())
}

/// A queued or drawn sale's stock may not go below what is issued plus
/// what admitted users (winners) hold: each was promised a unit until its
/// claim deadline. Read under the event's row lock, which the admissions'
/// records do not take: a hold granted meanwhile is caught by the reserve
/// script (410) rather than here.
async fn stock_covers_holds(
    tx: &mut Transaction<'static, Postgres>,
    current: &Event,
    total: i32,
) -> Result<(), ApiError> {
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM queue_places p WHERE p.event_id = $1 AND p.state = 'admitted' \
         AND p.claim_by > now() AND NOT EXISTS (SELECT 1 FROM user_coupons c \
           WHERE c.event_id = p.event_id AND c.user_id = p.user_id)",
    )
    .bind(current.id)
    .fetch_one(&mut **tx)
    .await
    .map_err(ApiError::store_down(EVENT_STORE))?;
    let promised = i64::from(current.issued_count) + held;
    if i64::from(total) < promised {
        return Err(ApiError::Conflict(
            ErrorCode::StockBelowIssued,
            format!(
                "{} coupons are issued and {held} more held by admitted users until their claim deadline",
                current.issued_count
            ),
        ));
    }
    Ok(())
}

/// Whether a change touches the admission mode or the room's settings
/// (the draw's beacon value is not a setting: it is entered later).
fn admission_changed(current: &Event, next: &NewEvent) -> bool {
    let now = current.as_new();
    next.admission != now.admission
        || next.resolved_queue_opens_at() != current.queue_opens_at
        || next.claim_window_secs != now.claim_window_secs
        || next.queue_only_existing_accounts != now.queue_only_existing_accounts
        || (next.admission == Admission::Draw
            && (next.entry_opens_at != now.entry_opens_at
                || next.entry_closes_at != now.entry_closes_at
                || next.resolved_draw_at() != current.draw_at
                || next.draw_beacon_round != now.draw_beacon_round))
}

/// From when an event's admission settings are final: its room's opening
/// (queue or draw mode), else its start.
fn admission_fixed_from(current: &Event) -> DateTime<Utc> {
    current.room_opens_at().unwrap_or(current.start_time)
}

/// Ends the sale now, and announces it. Closing twice is harmless (and
/// announced again: watchers that missed the first learn it). Bumps
/// `state_version`, like an update.
pub async fn close(
    db: &PgPool,
    id: i64,
    actor: &Actor,
) -> Result<(Event, Vec<OutboxRow>), ApiError> {
    let mut tx = db
        .begin()
        .await
        .map_err(ApiError::store_down(EVENT_STORE))?;
    let before: Event = sqlx::query_as("SELECT * FROM coupon_events WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::store_down(EVENT_STORE))?
        .ok_or_else(|| ApiError::event_not_found(id))?;
    let closed: Event = sqlx::query_as(
        "UPDATE coupon_events SET closed_at = COALESCE(closed_at, now()), updated_at = now(), \
         state_version = state_version + 1 WHERE id = $1 RETURNING *",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(ApiError::store_down(EVENT_STORE))?
    .ok_or_else(|| ApiError::event_not_found(id))?;
    let change = Change {
        actor,
        action: Action::EventClose,
        before: &before,
    };
    announce_and_commit(tx, closed, change).await
}

/// An admin's change of an event, for the audit trail.
struct Change<'a> {
    actor: &'a Actor,
    action: Action,
    before: &'a Event,
}

/// Writes `event.updated` for the changed event and the change's audit
/// record in the change's own transaction and commits them all; returns
/// the event and the outbox rows for the relay.
async fn announce_and_commit(
    mut tx: Transaction<'_, Postgres>,
    event: Event,
    change: Change<'_>,
) -> Result<(Event, Vec<OutboxRow>), ApiError> {
    audit::record(
        &mut tx,
        change.actor,
        change.action,
        event.id,
        Some(audit::snapshot(change.before)),
        Some(audit::snapshot(&event)),
    )
    .await
    .map_err(ApiError::store_down(EVENT_STORE))?;
    let announced = announce::write(&mut tx, &event)
        .await
        .map_err(ApiError::store_down(EVENT_STORE))?;
    tx.commit()
        .await
        .map_err(ApiError::store_down(EVENT_STORE))?;
    Ok((event, announced))
}

/// An issued coupon as the admin sees it (with its owner).
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct IssuedCoupon {
    pub id: i64,
    pub code: String,
    pub user_id: i64,
    pub status: String,
    pub issued_at: chrono::DateTime<Utc>,
    pub expires_at: chrono::DateTime<Utc>,
    pub used_at: Option<chrono::DateTime<Utc>>,
}

/// A page of an event's coupons, newest first; `code` filters by prefix
/// (case-insensitive). Returns the page and the total matching.
pub async fn coupons(
    db: &PgPool,
    event_id: i64,
    code: Option<&str>,
    paging: Paging,
) -> sqlx::Result<(Vec<IssuedCoupon>, i64)> {
    // LIKE metacharacters in the search are taken literally.
    let pattern = code.map(|c| format!("{}%", escape_like(&c.trim().to_uppercase())));
    let items = sqlx::query_as(
        "SELECT id, code, user_id, status, issued_at, expires_at, used_at FROM user_coupons \
         WHERE event_id = $1 AND ($2::text IS NULL OR code LIKE $2) ORDER BY id DESC LIMIT $3 OFFSET $4",
    )
    .bind(event_id)
    .bind(&pattern)
    .bind(paging.size())
    .bind(paging.offset())
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM user_coupons WHERE event_id = $1 AND ($2::text IS NULL OR code LIKE $2)",
    )
    .bind(event_id)
    .bind(&pattern)
    .fetch_one(db)
    .await?;
    Ok((items, total))
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use contract::errors::ErrorCode;

    use super::*;

    /// A sale that started an hour ago, ends in an hour, 3 of 10 issued.
    fn running(now: DateTime<Utc>) -> Event {
        Event {
            issued_count: 3,
            start_time: now - TimeDelta::hours(1),
            end_time: now + TimeDelta::hours(1),
            ..Event::on_sale(now)
        }
    }

    fn refused_with(result: Result<(), ApiError>) -> Option<ErrorCode> {
        match result {
            Err(ApiError::Conflict(code, _)) => Some(code),
            Err(ApiError::Validation { .. }) => Some(ErrorCode::ValidationFailed),
            Err(other) => panic!("unexpected {other:?}"),
            Ok(()) => None,
        }
    }

    #[test]
    fn a_running_sale_takes_texts_stock_and_a_later_end_but_keeps_its_start() {
        let now = Utc::now();
        let current = running(now);
        let mut next = current.as_new();
        next.title = "Spring, extended".into();
        next.total_count = 20;
        next.end_time = now + TimeDelta::hours(2);
        assert_eq!(
            refused_with(running_sale_allows(&current, &next, now)),
            None
        );

        let mut earlier_start = current.as_new();
        earlier_start.start_time = now - TimeDelta::hours(2);
        assert_eq!(
            refused_with(running_sale_allows(&current, &earlier_start, now)),
            Some(ErrorCode::EventStarted)
        );
        let mut below_issued = current.as_new();
        below_issued.total_count = 2;
        assert_eq!(
            refused_with(running_sale_allows(&current, &below_issued, now)),
            Some(ErrorCode::StockBelowIssued)
        );
        let mut end_passed = current.as_new();
        end_passed.end_time = now - TimeDelta::minutes(1);
        assert_eq!(
            refused_with(running_sale_allows(&current, &end_passed, now)),
            Some(ErrorCode::ValidationFailed)
        );
    }

    #[test]
    fn an_ended_sale_keeps_window_stock_and_limit_but_takes_texts() {
        let now = Utc::now();
        let mut current = running(now);
        current.closed_at = Some(now - TimeDelta::minutes(5));
        let mut texts = current.as_new();
        texts.description = "Thank you!".into();
        assert_eq!(
            refused_with(running_sale_allows(&current, &texts, now)),
            None
        );
        for change in [
            |n: &mut NewEvent| n.total_count += 1,
            |n: &mut NewEvent| n.max_per_user += 1,
            |n: &mut NewEvent| n.end_time += TimeDelta::hours(1),
        ] {
            let mut next = current.as_new();
            change(&mut next);
            assert_eq!(
                refused_with(running_sale_allows(&current, &next, now)),
                Some(ErrorCode::EventEnded)
            );
        }
    }
}
