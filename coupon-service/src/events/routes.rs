//! `GET /api/coupons/events` and `GET /api/coupons/events/{id}`.

use actix_web::{HttpResponse, get, web};
use chrono::Utc;

use crate::{error::ApiError, state::AppState};

use super::model::{Event, EventView};

/// Live remaining: Redis when the event is loaded there, else PostgreSQL's
/// count (an event not yet loaded has not sold anything through Redis).
async fn views(state: &AppState, events: &[&Event]) -> Vec<EventView> {
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let live = state.redis.remaining(&ids).await.unwrap_or_else(|e| {
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

/// Events not ended more than a week ago, soonest first, with live stock.
#[utoipa::path(tag = "events", responses((status = 200, body = [EventView]), (status = 503)))]
#[get("/events")]
#[tracing::instrument(skip_all)]
pub async fn list_events(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let events = state.events.list().await.map_err(|e| {
        tracing::warn!(error = %e, "event list unavailable");
        ApiError::unavailable("the event list")
    })?;
    let refs: Vec<&Event> = events.iter().map(|e| e.as_ref()).collect();
    Ok(HttpResponse::Ok().json(views(&state, &refs).await))
}

/// One event with its live remaining stock.
#[utoipa::path(tag = "events", params(("id" = i64, Path)),
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
