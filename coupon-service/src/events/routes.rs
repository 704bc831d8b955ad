//! `GET /api/coupons/events` and `GET /api/coupons/events/{id}`.

use actix_web::{HttpResponse, get, web};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    filter::PublicListQuery,
    model::{Event, EventView},
};
use crate::{error::ApiError, paging::PageQuery, state::AppState};

/// Live remaining: Redis when the event is loaded there, else PostgreSQL's
/// count (an event not yet loaded has not sold anything through Redis).
async fn views(state: &AppState, events: &[&Event]) -> Vec<EventView> {
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let live = state
        .redis
        .store()
        .remaining(&ids)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "live stock unavailable, answering from PostgreSQL");
            vec![None; ids.len()]
        });
    let now = Utc::now();
    events
        .iter()
        .zip(live)
        .map(|(e, remaining)| e.view(now, remaining.unwrap_or_else(|| e.remaining_in_db())))
        .collect()
}

/// `GET /api/coupons/events` answer.
#[derive(Serialize, ToSchema)]
pub struct EventPage {
    items: Vec<EventView>,
    page: i64,
    size: i64,
    /// Events in the whole list (all pages).
    total: i64,
}

/// Events with live stock, a page at a time. By default the live and
/// upcoming ones, live first; `status=ended` for past sales.
#[utoipa::path(tag = "events", params(PublicListQuery, PageQuery), responses(
    (status = 200, body = EventPage),
    (status = 422, description = "validation_failed: bad status, page or size"),
    (status = 503, description = "unavailable")))]
#[get("/events")]
#[tracing::instrument(skip_all)]
pub async fn list_events(
    state: web::Data<AppState>,
    filter: web::Query<PublicListQuery>,
    paging: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = filter.status()?;
    let paging = paging.paging()?;
    let page = state.events.list(status, paging).await.map_err(|e| {
        tracing::warn!(error = %e, "event list unavailable");
        ApiError::unavailable("the event list")
    })?;
    let refs: Vec<&Event> = page.events.iter().collect();
    Ok(HttpResponse::Ok().json(EventPage {
        items: views(&state, &refs).await,
        page: paging.page(),
        size: paging.size(),
        total: page.total,
    }))
}

/// One event with its live remaining stock.
#[utoipa::path(tag = "events", params(("id" = i64, Path, minimum = 1)),
    responses((status = 200, body = EventView), (status = 404, description = "event_not_found")))]
#[get("/events/{id}")]
#[tracing::instrument(skip_all, fields(event.id = *id))]
pub async fn get_event(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let event = state.event(*id).await?;
    let view = views(&state, &[event.as_ref()]).await.pop();
    Ok(HttpResponse::Ok().json(view))
}
