//! `/api/admin/events…`: for ADMIN tokens only (403 otherwise).

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{
    audit::{self, Action, Actor},
    filter::{AdminListQuery, search_text},
    store, validation,
};
use crate::{
    auth::AdminUser,
    error::ApiError,
    events::{Event, EventView, NewEvent, store as events_store},
    issuance::rebuild,
    paging::PageQuery,
    state::AppState,
};

/// An event with the numbers an operator watches.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminEventView {
    #[serde(flatten)]
    pub event: EventView,
    pub code_prefix: String,
    pub issued_count: i32,
    pub redeemed_count: i64,
    pub closed_at: Option<DateTime<Utc>>,
    pub sold_out_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

async fn admin_view(state: &AppState, event: Event, redeemed: i64) -> AdminEventView {
    // `admin_views` answers one view per row, so one row gives one view.
    admin_views(state, vec![(event, redeemed)])
        .await
        .pop()
        .expect("one view per event")
}

/// Views with live remaining, read from Redis in one round trip for all;
/// an event Redis does not hold (or Redis down) shows PostgreSQL's count.
async fn admin_views(state: &AppState, rows: Vec<(Event, i64)>) -> Vec<AdminEventView> {
    let ids: Vec<i64> = rows.iter().map(|(e, _)| e.id).collect();
    let live = state
        .redis
        .store()
        .remaining(&ids)
        .await
        .unwrap_or_else(|_| vec![None; ids.len()]);
    let now = Utc::now();
    rows.into_iter()
        .zip(live)
        .map(|((event, redeemed), remaining)| {
            let remaining = remaining.unwrap_or_else(|| event.remaining_in_db());
            AdminEventView {
                event: event.view(now, remaining),
                code_prefix: event.code_prefix.clone(),
                issued_count: event.issued_count,
                redeemed_count: redeemed,
                closed_at: event.closed_at,
                sold_out_at: event.sold_out_at,
                created_at: event.created_at,
                updated_at: event.updated_at,
            }
        })
        .collect()
}

/// Pushes the event's new limits to Redis and drops cached copies, so every
/// instance issues under the new rules at once.
async fn propagate(state: &AppState, event: &Event) -> Result<(), ApiError> {
    state.redis.update(event.id, &rebuild::limits_of(event)).await.map_err(|e| {
        tracing::warn!(error = %e, event.id = event.id, "saved, but Redis not updated; retry the request");
        ApiError::unavailable("the live sale state")
    })?;
    if let Err(e) = state.events.invalidate(event.id).await {
        tracing::warn!(error = %e, "event cache not invalidated (expires by itself)");
    }
    // A raised stock is for sale at once here; other instances forget their
    // sold-out memory within `issuance.sold_out_memo_ms`.
    state.sold_out.forget(event.id);
    Ok(())
}

/// Create an event (validated field by field).
#[utoipa::path(tag = "admin", request_body = NewEvent, security(("bearer" = [])), responses(
    (status = 201, body = AdminEventView), (status = 422, description = "validation_failed with per-field errors"),
    (status = 401), (status = 403)))]
#[post("/events")]
pub async fn create_event(
    actor: Actor,
    body: web::Json<Map<String, Value>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let new = validation::new_event(&body, Utc::now())?;
    let store_down = || ApiError::store_down("the event store");
    let mut tx = state.db.begin().await.map_err(store_down())?;
    let event = events_store::insert(&mut *tx, &new)
        .await
        .map_err(store_down())?;
    let after = Some(audit::snapshot(&event));
    audit::record(&mut tx, &actor, Action::EventCreate, event.id, None, after)
        .await
        .map_err(store_down())?;
    tx.commit().await.map_err(store_down())?;
    // Load it now so the first request at opening time finds it in Redis.
    if let Err(e) = rebuild::ensure_loaded(&state.redis, &state.db, event.id).await {
        tracing::warn!(error = %e, "new event not preloaded; the preloader will");
    }
    state.events.invalidate(event.id).await.ok();
    Ok(HttpResponse::Created().json(admin_view(&state, event, 0).await))
}

/// `GET /api/admin/events` answer.
#[derive(Serialize, ToSchema)]
pub struct AdminEventPage {
    items: Vec<AdminEventView>,
    page: i64,
    size: i64,
    /// Events matching the filter (all pages).
    total: i64,
}

/// Events, newest start first, with live stats; filtered by status and
/// title, a page at a time.
#[utoipa::path(operation_id = "admin_list_events", tag = "admin", security(("bearer" = [])), params(AdminListQuery, PageQuery), responses(
    (status = 200, body = AdminEventPage),
    (status = 422, description = "validation_failed: bad status, q, page or size"),
    (status = 401), (status = 403)))]
#[get("/events")]
pub async fn list_events(
    _admin: AdminUser,
    filter: web::Query<AdminListQuery>,
    paging: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.filter()?;
    let paging = paging.paging()?;
    let (rows, total) = store::list(&state.db, &filter, paging)
        .await
        .map_err(ApiError::store_down("the event store"))?;
    let rows = rows.into_iter().map(|r| (r.event, r.redeemed)).collect();
    Ok(HttpResponse::Ok().json(AdminEventPage {
        items: admin_views(&state, rows).await,
        page: paging.page(),
        size: paging.size(),
        total,
    }))
}

/// One event with live stats.
#[utoipa::path(operation_id = "admin_get_event", tag = "admin", security(("bearer" = [])), params(("id" = i64, Path, minimum = 1)),
    responses((status = 200, body = AdminEventView), (status = 404, description = "event_not_found"), (status = 403)))]
#[get("/events/{id}")]
pub async fn get_event(
    _admin: AdminUser,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let row = store::one(&state.db, *id)
        .await
        .map_err(ApiError::store_down("the event store"))?
        .ok_or_else(|| ApiError::event_not_found(*id))?;
    Ok(HttpResponse::Ok().json(admin_view(&state, row.event, row.redeemed).await))
}

/// Change an event. Raising the stock during a sale adds tickets at once;
/// lowering it below what is issued, or changing the window of an ended
/// event, is refused with 409.
#[utoipa::path(tag = "admin", request_body = validation::EventPatch, security(("bearer" = [])), params(("id" = i64, Path, minimum = 1)),
    responses((status = 200, body = AdminEventView), (status = 409, description = "stock_below_issued, limit_below_held, event_ended or event_started"),
    (status = 422, description = "validation_failed"), (status = 404), (status = 403)))]
#[patch("/events/{id}")]
pub async fn patch_event(
    actor: Actor,
    id: web::Path<i64>,
    body: web::Json<Map<String, Value>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let change = validation::patch(&body)?;
    let current = store::one(&state.db, *id)
        .await
        .map_err(ApiError::store_down("the event store"))?
        .ok_or_else(|| ApiError::event_not_found(*id))?;
    let next = validation::merged(&current.event.as_new(), &change)?;
    let (event, announced) = store::update(&state.db, *id, &next, &actor).await?;
    state.handoff.pass(announced);
    propagate(&state, &event).await?;
    Ok(HttpResponse::Ok().json(admin_view(&state, event, current.redeemed).await))
}

/// End the sale now: issuance answers 410 `event_ended` on every instance,
/// and the event's watchers get `event.updated` with status `ended`.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = i64, Path, minimum = 1)),
    responses((status = 200, body = AdminEventView), (status = 404), (status = 403)))]
#[post("/events/{id}/close")]
pub async fn close_event(
    actor: Actor,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (event, announced) = store::close(&state.db, *id, &actor).await?;
    state.handoff.pass(announced);
    propagate(&state, &event).await?;
    let redeemed = store::one(&state.db, event.id)
        .await
        .map_err(ApiError::store_down("the event store"))?
        .map_or(0, |r| r.redeemed);
    Ok(HttpResponse::Ok().json(admin_view(&state, event, redeemed).await))
}

/// Longest code search (codes are a prefix of at most 12 characters, a dash
/// and 8 characters).
const MAX_CODE_SEARCH_CHARS: usize = 32;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CouponQuery {
    /// Code prefix to search for (case-insensitive; `%` and `_` taken literally).
    #[param(max_length = 32, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CouponPage {
    items: Vec<store::IssuedCoupon>,
    page: i64,
    size: i64,
    total: i64,
}

/// An event's issued coupons, newest first, paged, searchable by code.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = i64, Path, minimum = 1), CouponQuery, PageQuery),
    responses((status = 200, body = CouponPage), (status = 404), (status = 422, description = "validation_failed: bad page, size or code"), (status = 403)))]
#[get("/events/{id}/coupons")]
pub async fn event_coupons(
    _admin: AdminUser,
    id: web::Path<i64>,
    query: web::Query<CouponQuery>,
    paging: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let paging = paging.paging()?;
    if let Some(code) = query.code.as_deref() {
        search_text("code", code, MAX_CODE_SEARCH_CHARS)?;
    }
    state.event(*id).await?;
    let (items, total) = store::coupons(&state.db, *id, query.code.as_deref(), paging)
        .await
        .map_err(ApiError::store_down("the event store"))?;
    Ok(HttpResponse::Ok().json(CouponPage {
        items,
        page: paging.page(),
        size: paging.size(),
        total,
    }))
}
