//! PostgreSQL access for events.

use sqlx::PgPool;

use super::model::{Event, NewEvent};

/// The columns of `Event`; a macro so queries stay literals (`concat!`).
macro_rules! columns {
    () => {
        "id, title, description, total_count, issued_count, max_per_user, start_time, end_time, \
         discount_type, discount_value, min_purchase_amount, valid_days, code_prefix, closed_at, \
         sold_out_at, created_at, updated_at"
    };
}

#[tracing::instrument(skip_all, fields(event.id = id))]
pub async fn find(pool: &PgPool, id: i64) -> sqlx::Result<Option<Event>> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM coupon_events WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Events a shopper may care about: not ended more than a week ago, soonest
/// first, at most 100.
#[tracing::instrument(skip_all)]
pub async fn list_public(pool: &PgPool) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM coupon_events WHERE end_time > now() - interval '7 days' \
         ORDER BY start_time, id LIMIT 100"
    ))
    .fetch_all(pool)
    .await
}

/// Ids of events whose issuance state must be in Redis: not over, not closed.
pub async fn live_ids(pool: &PgPool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM coupon_events WHERE end_time > now() AND closed_at IS NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// Ids of events that may still hold Redis state (ended less than a day ago).
pub async fn recent_ids(pool: &PgPool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM coupon_events WHERE end_time > now() - interval '1 day' ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn insert(pool: &PgPool, e: &NewEvent) -> sqlx::Result<Event> {
    sqlx::query_as(concat!(
        "INSERT INTO coupon_events (title, description, total_count, max_per_user, start_time, \
         end_time, discount_type, discount_value, min_purchase_amount, valid_days, code_prefix) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ",
        columns!()
    ))
    .bind(&e.title)
    .bind(&e.description)
    .bind(e.total_count)
    .bind(e.max_per_user)
    .bind(e.start_time)
    .bind(e.end_time)
    .bind(&e.discount_type)
    .bind(e.discount_value)
    .bind(e.min_purchase_amount)
    .bind(e.valid_days)
    .bind(&e.code_prefix)
    .fetch_one(pool)
    .await
}
