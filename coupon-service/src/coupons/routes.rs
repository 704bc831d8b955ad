//! `GET /api/coupons/my?page=1&size=20`.

use actix_web::{HttpResponse, get, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::{auth::AuthUser, error::ApiError, state::AppState};

use super::{Coupon, store};

const MAX_PAGE_SIZE: i64 = 100;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    page: Option<i64>,
    size: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Page {
    items: Vec<Coupon>,
    page: i64,
    size: i64,
    total: i64,
}

/// Page and size of a paged list: page ≥ 1, size 1..=100 (defaults 1, 20).
pub fn page_and_size(page: Option<i64>, size: Option<i64>) -> Result<(i64, i64), ApiError> {
    let (page, size) = (page.unwrap_or(1), size.unwrap_or(20));
    if page < 1 {
        return Err(ApiError::validation("page", "must be 1 or more"));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::validation("size", "must be between 1 and 100"));
    }
    Ok((page, size))
}

/// Your coupons, newest first, paged.
#[utoipa::path(tag = "coupons", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page), (status = 401), (status = 422)))]
#[get("/my")]
#[tracing::instrument(skip_all, fields(user.id = user.id()))]
pub async fn my_coupons(
    user: AuthUser,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (page, size) = page_and_size(query.page, query.size)?;
    let (items, total) = store::page_of_user(&state.db, user.id(), size, (page - 1) * size)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "my coupons unavailable");
            ApiError::unavailable("the coupon store")
        })?;
    let now = Utc::now();
    Ok(HttpResponse::Ok().json(Page {
        items: items
            .into_iter()
            .map(|c| c.with_derived_status(now))
            .collect(),
        page,
        size,
        total,
    }))
}
