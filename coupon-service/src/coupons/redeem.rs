//! `POST /api/coupons/{code}/redeem {order_amount}`: the owner uses a coupon
//! at checkout, exactly once.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use contract::errors::ErrorCode;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::Coupon;
use crate::{auth::AuthUser, coupon_columns, error::ApiError, state::AppState};

/// Order amounts are integers in the currency's minor unit.
const MAX_ORDER: i64 = 1_000_000_000_000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RedeemRequest {
    /// In the currency's minor unit.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    order_amount: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redeemed {
    coupon: Coupon,
    discount_amount: i64,
    final_amount: i64,
}

/// The discount a coupon gives on an order: a percentage rounded down, or a
/// fixed amount; never more than the order itself.
pub fn discount(discount_type: &str, value: i64, order_amount: i64) -> i64 {
    let raw = match discount_type {
        "percentage" => {
            i64::try_from(i128::from(order_amount) * i128::from(value) / 100).unwrap_or(i64::MAX)
        }
        _ => value,
    };
    raw.clamp(0, order_amount)
}

/// Redeem a coupon you own. Another user's code answers 404, like a code
/// that does not exist.
#[utoipa::path(tag = "coupons", request_body = RedeemRequest, security(("bearer" = [])), params(("code" = String, Path)),
    responses((status = 200, body = Redeemed), (status = 404, description = "coupon_not_found"),
    (status = 409, description = "coupon_used"), (status = 410, description = "coupon_expired"),
    (status = 422, description = "min_purchase_not_met or validation_failed"), (status = 429, description = "rate_limited")))]
#[post("/{code}/redeem")]
pub async fn redeem(
    user: AuthUser,
    code: web::Path<String>,
    body: web::Json<RedeemRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.limiters.check_redeem(user.id()).await?;
    let order = body.order_amount;
    if !(1..=MAX_ORDER).contains(&order) {
        return Err(ApiError::validation(
            "order_amount",
            "must be a positive amount",
        ));
    }
    let code = code.trim().to_uppercase();
    // One UPDATE decides: of two concurrent redeems, one matches the row.
    let used: Option<Coupon> = sqlx::query_as(concat!(
        "UPDATE user_coupons SET status = 'used', used_at = now() \
         WHERE code = $1 AND user_id = $2 AND status = 'issued' AND expires_at > now() \
         AND min_purchase_amount <= $3 RETURNING ",
        coupon_columns!()
    ))
    .bind(&code)
    .bind(user.id())
    .bind(order)
    .fetch_optional(&state.db)
    .await
    .map_err(ApiError::store_down("the coupon store"))?;
    let Some(coupon) = used else {
        return Err(why_not(&state.db, &code, user.id(), order).await);
    };
    let discount_amount = discount(&coupon.discount_type, coupon.discount_value, order);
    Ok(HttpResponse::Ok().json(Redeemed {
        final_amount: order - discount_amount,
        discount_amount,
        coupon,
    }))
}

/// Explains a redeem that matched nothing, from the coupon as it is now.
async fn why_not(db: &PgPool, code: &str, user_id: i64, order: i64) -> ApiError {
    let found: Result<Option<Coupon>, _> = sqlx::query_as(concat!(
        "SELECT ",
        coupon_columns!(),
        " FROM user_coupons WHERE code = $1 AND user_id = $2"
    ))
    .bind(code)
    .bind(user_id)
    .fetch_optional(db)
    .await;
    match found {
        Err(e) => ApiError::store_down("the coupon store")(e),
        Ok(None) => ApiError::NotFound(ErrorCode::CouponNotFound, "no such coupon".into()),
        Ok(Some(c)) if c.status == "used" => {
            ApiError::Conflict(ErrorCode::CouponUsed, "this coupon was already used".into())
        }
        Ok(Some(c)) if c.expires_at <= Utc::now() => {
            ApiError::Gone(ErrorCode::CouponExpired, "this coupon has expired".into())
        }
        Ok(Some(c)) if c.min_purchase_amount > order => ApiError::Unprocessable(
            ErrorCode::MinPurchaseNotMet,
            format!("the order must be at least {}", c.min_purchase_amount),
        ),
        // It changed between the two reads (e.g. redeemed meanwhile).
        Ok(Some(_)) => {
            ApiError::Conflict(ErrorCode::CouponUsed, "this coupon was already used".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::discount;

    #[test]
    fn discounts_are_capped_by_the_order() {
        assert_eq!(discount("percentage", 10, 25_000), 2_500);
        assert_eq!(discount("percentage", 15, 999), 149, "rounded down");
        assert_eq!(discount("percentage", 100, 5_000), 5_000);
        assert_eq!(discount("fixed", 3_000, 10_000), 3_000);
        assert_eq!(
            discount("fixed", 3_000, 2_000),
            2_000,
            "never more than the order"
        );
    }
}
