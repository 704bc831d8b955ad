//! PostgreSQL reads of coupons.

use sqlx::PgPool;

use super::model::Coupon;
use crate::coupon_columns;

/// The coupon a reservation became, if it committed.
pub async fn find_by_ticket(
    pool: &PgPool,
    event_id: i64,
    ticket: i32,
    user_id: i64,
) -> sqlx::Result<Option<Coupon>> {
    sqlx::query_as(concat!(
        "SELECT ",
        coupon_columns!(),
        " FROM user_coupons WHERE event_id = $1 AND stock_seq = $2 AND user_id = $3"
    ))
    .bind(event_id)
    .bind(ticket)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// One page of a user's coupons, newest first, and the user's total.
#[tracing::instrument(skip_all, fields(user.id = user_id))]
pub async fn page_of_user(
    pool: &PgPool,
    user_id: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Coupon>, i64)> {
    let items = sqlx::query_as(concat!(
        "SELECT ",
        coupon_columns!(),
        " FROM user_coupons WHERE user_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM user_coupons WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(pool)
        .await?;
    Ok((items, total))
}
