//! `GET /api/coupons/my?page=1&size=20`.

use actix_web::{HttpResponse, get, web};
use chrono::Utc;
use serde::Serialize;

use super::{Coupon, store};
use crate::{auth::AuthUser, error::ApiError, paging::PageQuery, state::AppState};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Page {
    items: Vec<Coupon>,
    page: i64,
    size: i64,
    total: i64,
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
    let paging = query.paging()?;
    let (items, total) = store::page_of_user(&state.db, user.id(), paging.size(), paging.offset())
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
        page: paging.page(),
        size: paging.size(),
        total,
    }))
}
