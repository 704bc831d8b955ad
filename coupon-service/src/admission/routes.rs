//! `/api/coupons/events/{id}/queue…` and `/api/admin/events/{id}/queue`:
//! the waiting room over HTTP (docs/contract.md §2.8). Joining, leaving and
//! one's own status need an account; the room's progress and the proof are
//! public.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use contract::errors::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    Admission,
    holds::{Dropped, Holds},
    proof::QueueProof,
    room::Progress,
    store::{self, Counts, PlaceRow, PlaceState},
};
use crate::{
    auth::{AdminUser, AuthUser},
    error::ApiError,
    events::Event,
    state::AppState,
};

const QUEUE_STORE: &str = "the waiting room";

/// The room as anyone sees it: its commitment, its seed once drawn, and
/// the latest progress (never cached).
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomView {
    pub event_id: i64,
    pub opens_at: DateTime<Utc>,
    pub seed_commitment: String,
    /// hex; revealed by the draw a second after the start.
    pub seed: Option<String>,
    pub drawn: bool,
    /// `sold_out`, `ended` or `closed` once the room closed.
    pub closed_reason: Option<String>,
    /// The highest position admitted so far.
    pub serving: i64,
    pub waiting: i64,
    /// Units not yet claimed.
    pub remaining: i64,
    pub admitted_per_second: f64,
}

/// Whether the places ahead can still be served, said plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Odds {
    /// A free unit stands behind every place ahead and yours.
    Good,
    /// Only if some admitted users do not claim.
    Uncertain,
    /// More places ahead than units left, counting expected no-shows.
    Unlikely,
}

/// One's own place (never cached).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceView {
    pub event_id: i64,
    pub state: PlaceState,
    /// Given at the draw (joined before the start) or within a second of
    /// joining (after it); `null` until then.
    pub position: Option<i64>,
    /// Places before yours not yet served (those who left ahead of you are
    /// counted until they would have been served).
    pub ahead: Option<i64>,
    pub serving: i64,
    pub waiting: i64,
    pub remaining: i64,
    /// While admitted: press before this.
    pub claim_by: Option<DateTime<Utc>>,
    pub joined_at: DateTime<Utc>,
    /// While waiting with a position.
    pub odds: Option<Odds>,
}

/// `ahead` places before one's own; units `remaining` of which `held` are
/// held by admitted users; `no_show_rate`: the share of admissions that
/// lapsed so far.
pub fn odds(ahead: i64, remaining: i64, held: i64, no_show_rate: f64) -> Odds {
    let free = (remaining - held).max(0);
    let expected_back = held as f64 * no_show_rate;
    if ahead < free {
        Odds::Good
    } else if ahead as f64 >= free as f64 + expected_back {
        Odds::Unlikely
    } else {
        Odds::Uncertain
    }
}

pub(super) fn holds(state: &AppState) -> Holds {
    Holds::new(state.redis.store().clone())
}

/// The event, in queue mode.
async fn queued_event(state: &AppState, id: i64) -> Result<std::sync::Arc<Event>, ApiError> {
    if id <= 0 {
        return Err(ApiError::event_not_found(id));
    }
    let event = state.event(id).await?;
    if event.admission != Admission::Queue {
        return Err(ApiError::Conflict(
            ErrorCode::NotQueued,
            "this sale is first come, first served: it has no queue".into(),
        ));
    }
    Ok(event)
}

/// The room's latest progress, as the last tick left it (before the first
/// tick: nothing served yet).
pub(super) async fn progress(state: &AppState, event: &Event) -> Progress {
    let stored = holds(state).progress(event.id).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "waiting room progress unavailable");
        None
    });
    stored.unwrap_or_else(|| Progress::of(event, &store::Counts::default()))
}

/// The event's queue row (seed, draw, closing).
pub(super) async fn queue_of(state: &AppState, event_id: i64) -> Result<store::QueueRow, ApiError> {
    store::queue(&state.db, event_id)
        .await
        .map_err(ApiError::store_down(QUEUE_STORE))?
        .ok_or_else(|| ApiError::unavailable(QUEUE_STORE))
}

/// The caller's place, or 404 `not_in_queue`.
async fn place_of(state: &AppState, event_id: i64, user_id: i64) -> Result<PlaceRow, ApiError> {
    store::place(&state.db, event_id, user_id)
        .await
        .map_err(ApiError::store_down(QUEUE_STORE))?
        .ok_or_else(not_in_queue)
}

fn redis_unavailable(e: anyhow::Error) -> ApiError {
    tracing::warn!(error = %e, "Redis unavailable");
    ApiError::unavailable(QUEUE_STORE)
}

fn place_view(event: &Event, place: &PlaceRow, room_closed: bool, p: &Progress) -> PlaceView {
    let state = place.state(room_closed);
    let position = place.position.map(i64::from);
    let ahead = position
        .filter(|_| state == PlaceState::Waiting)
        .map(|pos| (pos - p.serving - 1).max(0));
    let decided = p.claimed + p.expired;
    let no_show_rate = if decided > 0 {
        p.expired as f64 / decided as f64
    } else {
        0.0
    };
    PlaceView {
        event_id: event.id,
        state,
        position,
        ahead,
        serving: p.serving,
        waiting: p.waiting,
        remaining: p.remaining,
        claim_by: place.claim_by.filter(|_| state == PlaceState::Admitted),
        joined_at: place.joined_at,
        odds: ahead.map(|a| odds(a, p.remaining, p.held, no_show_rate)),
    }
}

/// The waiting room's public state.
#[utoipa::path(tag = "queue", params(("id" = i64, Path, minimum = 1)), responses(
    (status = 200, body = RoomView), (status = 404, description = "event_not_found"),
    (status = 409, description = "not_queued"),
    (status = 429, description = "rate_limited (the gateway, per client address)"),
    (status = 503, description = "unavailable")))]
#[get("/events/{id}/queue")]
pub async fn room(
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let event = queued_event(&state, *id).await?;
    let queue = queue_of(&state, event.id).await?;
    let p = progress(&state, &event).await;
    let drawn = queue.drawn_at.is_some();
    Ok(no_store(HttpResponse::Ok()).json(RoomView {
        event_id: event.id,
        opens_at: event.queue_opens_at.unwrap_or(event.start_time),
        seed_commitment: super::ranking::commitment(&queue.seed),
        seed: drawn.then(|| super::ranking::hex(&queue.seed)),
        drawn,
        closed_reason: queue.closed_reason,
        serving: p.serving,
        waiting: p.waiting,
        remaining: p.remaining,
        admitted_per_second: p.admitted_per_second,
    }))
}

/// Join the event's queue: one place per account, the same place when
/// asked again (201 the first time, 200 after).
#[utoipa::path(tag = "queue", params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 201, body = PlaceView), (status = 200, body = PlaceView), (status = 401),
    (status = 403, description = "account_too_new"), (status = 404, description = "event_not_found"),
    (status = 409, description = "not_queued, queue_not_open or queue_full"),
    (status = 410, description = "sold_out or event_ended"), (status = 429, description = "rate_limited"),
    (status = 503, description = "unavailable")))]
#[post("/events/{id}/queue")]
#[tracing::instrument(skip_all, fields(user.id = user.id(), event.id = *id))]
pub async fn join(
    id: web::Path<i64>,
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    crate::rate_limit::check(&state.limiters.issue, &user.id())?;
    let event = queued_event(&state, *id).await?;
    let now = Utc::now();
    let opens_at = event.queue_opens_at.unwrap_or(event.start_time);
    if now < opens_at {
        return Err(ApiError::Conflict(
            ErrorCode::QueueNotOpen,
            format!("the queue opens at {}", opens_at.to_rfc3339()),
        ));
    }
    let closed = queue_of(&state, event.id).await?.closed_reason;
    if event.closed_at.is_some()
        || now >= event.end_time
        || matches!(closed.as_deref(), Some("ended" | "closed"))
    {
        return Err(ApiError::Gone(
            ErrorCode::EventEnded,
            "the event has ended".into(),
        ));
    }
    if closed.is_some() || event.issued_count >= event.total_count {
        return Err(ApiError::Gone(
            ErrorCode::SoldOut,
            "all coupons of this event are gone; the queue is closed".into(),
        ));
    }
    if event.queue_only_existing_accounts {
        account_older_than(&state, user.id(), opens_at).await?;
    }
    let existing = store::place(&state.db, event.id, user.id())
        .await
        .map_err(ApiError::store_down(QUEUE_STORE))?;
    // The place held already: answered as it is, nothing written.
    if let Some(place) = existing.as_ref().filter(|p| p.state != "left") {
        let p = progress(&state, &event).await;
        return Ok(no_store(HttpResponse::Ok()).json(place_view(&event, place, false, &p)));
    }
    room_has_space(&state, event.id, ErrorCode::QueueFull).await?;
    let made = store::join(&state.db, event.id, user.id())
        .await
        .map_err(
            |e| match e.as_database_error().and_then(|d| d.constraint()) {
                // The account is gone (deleted after its token was issued).
                Some("queue_places_user_id_fkey") => ApiError::InvalidToken,
                _ => ApiError::store_down(QUEUE_STORE)(e),
            },
        )?;
    let (place, answer) = match made {
        Some(place) => {
            if existing.is_none()
                && let Err(e) = holds(&state).add_place(event.id).await
            {
                tracing::warn!(error = %e, "the room's place count missed a join");
            }
            (place, HttpResponse::Created())
        }
        // A concurrent join of the same account made it first.
        None => (
            store::place(&state.db, event.id, user.id())
                .await
                .map_err(ApiError::store_down(QUEUE_STORE))?
                .ok_or_else(|| ApiError::unavailable(QUEUE_STORE))?,
            HttpResponse::Ok(),
        ),
    };
    let p = progress(&state, &event).await;
    let view = place_view(&event, &place, false, &p);
    Ok(no_store(answer).json(view))
}

/// One's own place in the queue (never cached).
#[utoipa::path(tag = "queue", params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, body = PlaceView), (status = 401),
    (status = 404, description = "event_not_found or not_in_queue"), (status = 409, description = "not_queued"),
    (status = 429, description = "rate_limited (the gateway, per client address)"),
    (status = 503, description = "unavailable")))]
#[get("/events/{id}/queue/me")]
pub async fn my_place(
    id: web::Path<i64>,
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let event = queued_event(&state, *id).await?;
    let place = place_of(&state, event.id, user.id()).await?;
    // Whether the room closed: the last tick's word (kept for days once
    // closed), else the cached event's (at most `events.cache_ttl_ms` old);
    // a status read costs one PostgreSQL read.
    let p = progress(&state, &event).await;
    let closed = p.closed_reason.is_some() || event.queue_closed_reason.is_some();
    Ok(no_store(HttpResponse::Ok()).json(place_view(&event, &place, closed, &p)))
}

/// Leave the queue; an admitted place's unit goes to the next place.
#[utoipa::path(tag = "queue", params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 204), (status = 401), (status = 404, description = "event_not_found or not_in_queue"),
    (status = 409, description = "not_queued, or claim_in_progress (the claim is being written)"),
    (status = 429, description = "rate_limited"), (status = 503, description = "unavailable")))]
#[delete("/events/{id}/queue/me")]
pub async fn leave(
    id: web::Path<i64>,
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    crate::rate_limit::check(&state.limiters.issue, &user.id())?;
    let event = queued_event(&state, *id).await?;
    let place = place_of(&state, event.id, user.id()).await?;
    if place.state(false) == PlaceState::Admitted {
        let dropped = holds(&state)
            .drop_hold(event.id, user.id())
            .await
            .map_err(redis_unavailable)?;
        if dropped == Dropped::Claiming {
            return Err(ApiError::Conflict(
                ErrorCode::ClaimInProgress,
                "your coupon is being written; it cannot be given back now".into(),
            ));
        }
    }
    store::leave(&state.db, event.id, user.id())
        .await
        .map_err(ApiError::store_down(QUEUE_STORE))?;
    Ok(HttpResponse::NoContent().finish())
}

/// Everything needed to recompute the queue's order: the seed, the places
/// and the admissions (`coupon-service verify-queue` checks it).
#[utoipa::path(operation_id = "queue_proof", tag = "queue", params(("id" = i64, Path, minimum = 1)), responses(
    (status = 200, body = QueueProof), (status = 404, description = "event_not_found"),
    (status = 409, description = "not_queued or queue_not_drawn"),
    (status = 429, description = "rate_limited (the gateway, per client address)"),
    (status = 503, description = "unavailable")))]
#[get("/events/{id}/queue/proof")]
pub async fn proof(
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let event = queued_event(&state, *id).await?;
    let queue = queue_of(&state, event.id).await?;
    let Some(drawn_at) = queue.drawn_at else {
        return Err(ApiError::Conflict(
            ErrorCode::QueueNotDrawn,
            "the order is drawn a second after the start".into(),
        ));
    };
    let places = store::proof_places(&state.db, event.id)
        .await
        .map_err(ApiError::store_down(QUEUE_STORE))?;
    let pre = usize::try_from(queue.pre_queue_count.unwrap_or(0)).unwrap_or(0);
    Ok(no_store(HttpResponse::Ok()).json(super::proof::build(
        event.id,
        &queue.seed,
        event.start_time,
        drawn_at,
        pre,
        &places,
    )))
}

/// The room's counts for an operator.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminRoomView {
    #[serde(flatten)]
    pub counts: Counts,
    pub admitted_per_second: f64,
    pub closed_reason: Option<String>,
    pub drawn: bool,
}

/// The waiting room's counts, read from PostgreSQL now.
#[utoipa::path(tag = "admin", params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, body = AdminRoomView), (status = 401), (status = 403),
    (status = 404, description = "event_not_found"), (status = 409, description = "not_queued"),
    (status = 503, description = "unavailable")))]
#[get("/events/{id}/queue")]
pub async fn admin_room(
    _admin: AdminUser,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let event = queued_event(&state, *id).await?;
    let queue = queue_of(&state, event.id).await?;
    let counts = store::counts(&state.db, event.id)
        .await
        .map_err(ApiError::store_down(QUEUE_STORE))?;
    Ok(no_store(HttpResponse::Ok()).json(AdminRoomView {
        admitted_per_second: counts.admitted_per_second(),
        counts,
        closed_reason: queue.closed_reason,
        drawn: queue.drawn_at.is_some(),
    }))
}

/// Refuses a new place when the room holds `events.max_queue_places`
/// (counted in Redis; read from PostgreSQL when Redis lost the count):
/// `full` is the code (`queue_full`, a draw's `entries_full`).
pub(super) async fn room_has_space(
    state: &AppState,
    event_id: i64,
    full: ErrorCode,
) -> Result<(), ApiError> {
    let holds = holds(state);
    let places = match holds.places(event_id).await.map_err(redis_unavailable)? {
        Some(n) => n,
        None => {
            let n = store::count_places(&state.db, event_id)
                .await
                .map_err(ApiError::store_down(QUEUE_STORE))?;
            holds
                .count_places_from(event_id, n)
                .await
                .map_err(redis_unavailable)?;
            n
        }
    };
    let max = state.settings.events.max_queue_places;
    if places >= max {
        return Err(ApiError::Conflict(
            full,
            format!("this room holds its maximum of {max} places"),
        ));
    }
    Ok(())
}

/// 403 `account_too_new` unless the account existed at `opens_at` (the
/// room's "accounts older than the room" option).
pub(super) async fn account_older_than(
    state: &AppState,
    user_id: i64,
    opens_at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let created = store::account_created(&state.db, user_id)
        .await
        .map_err(ApiError::store_down(QUEUE_STORE))?
        .ok_or(ApiError::InvalidToken)?;
    if created >= opens_at {
        return Err(ApiError::Refused(
            ErrorCode::AccountTooNew,
            "this room is open to accounts that existed when it opened".into(),
        ));
    }
    Ok(())
}

fn not_in_queue() -> ApiError {
    ApiError::NotFound(
        ErrorCode::NotInQueue,
        "you hold no place in this queue".into(),
    )
}

/// Status answers are personal or live: no cache may keep them.
pub(super) fn no_store(
    mut builder: actix_web::HttpResponseBuilder,
) -> actix_web::HttpResponseBuilder {
    builder.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odds_say_plainly_when_the_places_ahead_exceed_what_is_left() {
        // 10 left, 4 held: 6 free.
        assert_eq!(odds(5, 10, 4, 0.0), Odds::Good);
        assert_eq!(odds(6, 10, 4, 0.0), Odds::Unlikely);
        // Half the admissions lapse so far: 2 of the 4 held may come back.
        assert_eq!(odds(7, 10, 4, 0.5), Odds::Uncertain);
        assert_eq!(odds(8, 10, 4, 0.5), Odds::Unlikely);
        assert_eq!(odds(0, 0, 0, 0.0), Odds::Unlikely);
    }
}
