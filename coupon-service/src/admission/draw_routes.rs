//! `/api/coupons/events/{id}/entries…`, `…/draw…` and
//! `/api/admin/events/{id}/draw`: the draw over HTTP (docs/contract.md
//! §2.11). Entering, withdrawing and one's own entry need an account; the
//! draw's state and proof are public. An entry is a place in the event's
//! room (`store.rs`), a win an admission; the room's helpers are shared
//! with the queue's routes.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use contract::errors::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    Admission, draw,
    proof::{AdmissionRound, DrawRecord, QueueProof},
    room::Progress,
    routes::{account_older_than, holds, no_store, progress, queue_of, room_has_space},
    store::{self, Counts, PlaceRow, QueueRow},
};
use crate::{
    admin::audit::{self, Action, Actor},
    auth::{AdminUser, AuthUser},
    error::ApiError,
    events::Event,
    state::AppState,
};

const DRAW_STORE: &str = "the draw";

/// The draw as anyone sees it (never cached).
#[derive(Debug, Serialize, ToSchema)]
pub struct DrawView {
    pub event_id: i64,
    pub entry_opens_at: DateTime<Utc>,
    pub entry_closes_at: DateTime<Utc>,
    pub draw_at: DateTime<Utc>,
    pub seed_commitment: String,
    pub beacon_round: Option<String>,
    /// hex; the value the draw used once drawn, the admin's entry before.
    pub beacon: Option<String>,
    /// hex SHA-256 of the entrant list, once the entries are sealed.
    pub entrants_digest: Option<String>,
    /// hex; revealed by the draw.
    pub seed: Option<String>,
    pub drawn: bool,
    /// `sold_out`, `ended`, `closed` or `exhausted` once the draw closed.
    pub closed_reason: Option<String>,
    /// Entrants now (before the draw) or ranked (after it).
    pub entries: i64,
    /// Units not claimed.
    pub remaining: i64,
    /// Places that won so far: the first draw and every backfill.
    pub winners: i64,
    pub claimed: i64,
    /// Won, not claimed yet.
    pub held: i64,
    /// Ranked, not (yet) won.
    pub waitlisted: i64,
    /// Admission rounds so far (the draw, then one per backfill).
    pub rounds: i64,
    /// Before the draw: the chance of a win if nobody else enters,
    /// min(1, units ÷ entries).
    pub odds: Option<f64>,
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// In the draw, not drawn yet.
    Entered,
    /// Won: a unit is held until `claim_by`; press to claim it.
    Won,
    Claimed,
    /// Ranked after the winners: a unit not claimed in time may still come.
    Waitlisted,
    /// Won, but the claim window passed.
    Expired,
    Withdrawn,
    /// The draw closed before this entry won.
    Closed,
}

/// One's own entry (never cached).
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub event_id: i64,
    pub state: EntryState,
    /// From the draw on.
    pub rank: Option<i64>,
    /// While won: press before this.
    pub claim_by: Option<DateTime<Utc>>,
    pub entries: i64,
    pub remaining: i64,
    /// Before the draw: min(1, units ÷ entries).
    pub odds: Option<f64>,
    pub entered_at: DateTime<Utc>,
}

/// The event, in draw mode.
async fn drawn_event(state: &AppState, id: i64) -> Result<std::sync::Arc<Event>, ApiError> {
    if id <= 0 {
        return Err(ApiError::event_not_found(id));
    }
    let event = state.event(id).await?;
    if event.admission != Admission::Draw {
        return Err(ApiError::Conflict(
            ErrorCode::NotADraw,
            "this sale is not a draw".into(),
        ));
    }
    Ok(event)
}

async fn entry_of(state: &AppState, event_id: i64, user_id: i64) -> Result<PlaceRow, ApiError> {
    store::place(&state.db, event_id, user_id)
        .await
        .map_err(ApiError::store_down(DRAW_STORE))?
        .ok_or_else(|| {
            ApiError::NotFound(
                ErrorCode::NotEntered,
                "you have not entered this draw".into(),
            )
        })
}

fn closes_at(event: &Event) -> DateTime<Utc> {
    event.entry_closes_at.unwrap_or(event.start_time)
}

fn entries_closed(event: &Event) -> ApiError {
    ApiError::Conflict(
        ErrorCode::EntriesClosed,
        format!("the entries closed at {}", closes_at(event).to_rfc3339()),
    )
}

/// Entrants: the waiting places before the draw, the ranked ones after.
fn entries(p: &Progress, queue: Option<&QueueRow>) -> i64 {
    match queue.and_then(|q| q.pre_queue_count) {
        Some(ranked) => i64::from(ranked),
        None => p.waiting,
    }
}

fn odds(p: &Progress, entries: i64, drawn: bool) -> Option<f64> {
    (!drawn).then(|| {
        if entries <= 0 {
            1.0
        } else {
            (p.remaining as f64 / entries as f64).min(1.0)
        }
    })
}

fn entry_view(
    event: &Event,
    entry: &PlaceRow,
    p: &Progress,
    queue: Option<&QueueRow>,
) -> EntryView {
    let drawn = queue.is_some_and(|q| q.drawn_at.is_some());
    let closed = p.closed_reason.is_some() || queue.is_some_and(|q| q.closed_reason.is_some());
    let state = match entry.state.as_str() {
        _ if entry.claimed => EntryState::Claimed,
        _ if entry.lapsed(Utc::now()) => EntryState::Expired,
        "admitted" => EntryState::Won,
        "expired" => EntryState::Expired,
        "left" => EntryState::Withdrawn,
        _ if closed => EntryState::Closed,
        _ if entry.position.is_some() => EntryState::Waitlisted,
        _ => EntryState::Entered,
    };
    let entries = entries(p, queue);
    EntryView {
        event_id: event.id,
        state,
        rank: entry.position.map(i64::from),
        claim_by: entry.claim_by.filter(|_| state == EntryState::Won),
        entries,
        remaining: p.remaining,
        odds: odds(p, entries, drawn),
        entered_at: entry.joined_at,
    }
}

/// The draw's public state.
#[utoipa::path(tag = "draw", params(("id" = i64, Path, minimum = 1)), responses(
    (status = 200, body = DrawView), (status = 404, description = "event_not_found"),
    (status = 409, description = "not_a_draw"),
    (status = 429, description = "rate_limited (the gateway, per client address)"),
    (status = 503, description = "unavailable")))]
#[get("/events/{id}/draw")]
pub async fn draw_state(
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let event = drawn_event(&state, *id).await?;
    let queue = queue_of(&state, event.id).await?;
    let p = progress(&state, &event).await;
    let drawn = queue.drawn_at.is_some();
    let entries = entries(&p, Some(&queue));
    Ok(no_store(HttpResponse::Ok()).json(DrawView {
        event_id: event.id,
        entry_opens_at: event.entry_opens_at.unwrap_or(event.start_time),
        entry_closes_at: closes_at(&event),
        draw_at: event.draw_at.unwrap_or(event.start_time),
        seed_commitment: super::ranking::commitment(&queue.seed),
        beacon_round: event.draw_beacon_round.clone(),
        beacon: queue.beacon.clone().or_else(|| event.draw_beacon.clone()),
        entrants_digest: queue.entrants_digest.clone(),
        seed: drawn.then(|| super::ranking::hex(&queue.seed)),
        drawn,
        closed_reason: queue.closed_reason.clone(),
        entries,
        remaining: p.remaining,
        winners: p.held + p.claimed + p.expired,
        claimed: p.claimed,
        held: p.held,
        waitlisted: if drawn { p.waiting } else { 0 },
        rounds: p.rounds,
        odds: odds(&p, entries, drawn),
    }))
}

/// Enter the draw: one entry per account, the same entry when asked again
/// (201 the first time, 200 after). When in the window one enters makes no
/// difference.
#[utoipa::path(tag = "draw", params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 201, body = EntryView), (status = 200, body = EntryView), (status = 401),
    (status = 403, description = "account_too_new"), (status = 404, description = "event_not_found"),
    (status = 409, description = "not_a_draw, entries_not_open, entries_closed or entries_full"),
    (status = 410, description = "event_ended"), (status = 429, description = "rate_limited"),
    (status = 503, description = "unavailable")))]
#[post("/events/{id}/entries")]
#[tracing::instrument(skip_all, fields(user.id = user.id(), event.id = *id))]
pub async fn enter(
    id: web::Path<i64>,
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    crate::rate_limit::check(&state.limiters.issue, &user.id())?;
    let event = drawn_event(&state, *id).await?;
    let now = Utc::now();
    if event.closed_at.is_some() || now >= event.end_time {
        return Err(ApiError::Gone(
            ErrorCode::EventEnded,
            "the event has ended".into(),
        ));
    }
    let opens_at = event.entry_opens_at.unwrap_or(event.start_time);
    if now < opens_at {
        return Err(ApiError::Conflict(
            ErrorCode::EntriesNotOpen,
            format!("the entries open at {}", opens_at.to_rfc3339()),
        ));
    }
    if now >= closes_at(&event) {
        return Err(entries_closed(&event));
    }
    if event.queue_only_existing_accounts {
        account_older_than(&state, user.id(), opens_at).await?;
    }
    let existing = store::place(&state.db, event.id, user.id())
        .await
        .map_err(ApiError::store_down(DRAW_STORE))?;
    let answer = |entry: &PlaceRow, p: &Progress, status: actix_web::HttpResponseBuilder| {
        no_store(status).json(entry_view(&event, entry, p, None))
    };
    // Entered already: answered as it is, nothing written.
    if let Some(entry) = existing.as_ref().filter(|e| e.state != "left") {
        let p = progress(&state, &event).await;
        return Ok(answer(entry, &p, HttpResponse::Ok()));
    }
    room_has_space(&state, event.id, ErrorCode::EntriesFull).await?;
    let made = store::enter(&state.db, event.id, user.id())
        .await
        .map_err(
            |e| match e.as_database_error().and_then(|d| d.constraint()) {
                Some("queue_places_user_id_fkey") => ApiError::InvalidToken,
                _ => ApiError::store_down(DRAW_STORE)(e),
            },
        )?;
    let p = progress(&state, &event).await;
    match made {
        Some(entry) => {
            if existing.is_none()
                && let Err(e) = holds(&state).add_place(event.id).await
            {
                tracing::warn!(error = %e, "the draw's entry count missed an entry");
            }
            Ok(answer(&entry, &p, HttpResponse::Created()))
        }
        // A concurrent entry of the same account, or the entries closed
        // (sealed) meanwhile.
        None => match store::place(&state.db, event.id, user.id())
            .await
            .map_err(ApiError::store_down(DRAW_STORE))?
        {
            Some(entry) if entry.state != "left" => Ok(answer(&entry, &p, HttpResponse::Ok())),
            _ => Err(entries_closed(&event)),
        },
    }
}

/// One's own entry (never cached).
#[utoipa::path(tag = "draw", params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, body = EntryView), (status = 401),
    (status = 404, description = "event_not_found or not_entered"), (status = 409, description = "not_a_draw"),
    (status = 429, description = "rate_limited (the gateway, per client address)"),
    (status = 503, description = "unavailable")))]
#[get("/events/{id}/entries/me")]
pub async fn my_entry(
    id: web::Path<i64>,
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let event = drawn_event(&state, *id).await?;
    let entry = entry_of(&state, event.id, user.id()).await?;
    let queue = queue_of(&state, event.id).await?;
    let p = progress(&state, &event).await;
    Ok(no_store(HttpResponse::Ok()).json(entry_view(&event, &entry, &p, Some(&queue))))
}

/// Withdraw while the entries are open (entering again later is allowed).
#[utoipa::path(tag = "draw", params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 204), (status = 401), (status = 404, description = "event_not_found or not_entered"),
    (status = 409, description = "not_a_draw or entries_closed"),
    (status = 429, description = "rate_limited"), (status = 503, description = "unavailable")))]
#[delete("/events/{id}/entries/me")]
pub async fn withdraw(
    id: web::Path<i64>,
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    crate::rate_limit::check(&state.limiters.issue, &user.id())?;
    let event = drawn_event(&state, *id).await?;
    let entry = entry_of(&state, event.id, user.id()).await?;
    if Utc::now() >= closes_at(&event) {
        return Err(entries_closed(&event));
    }
    if entry.state != "left"
        && !store::withdraw(&state.db, event.id, user.id())
            .await
            .map_err(ApiError::store_down(DRAW_STORE))?
    {
        return Err(entries_closed(&event));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Everything needed to recompute the draw: the seed, the beacon, the
/// entrant list (whose digest was public since the entries closed), the
/// ranking and the wins round by round (`coupon-service verify-draw`).
#[utoipa::path(operation_id = "draw_proof", tag = "draw", params(("id" = i64, Path, minimum = 1)), responses(
    (status = 200, body = QueueProof), (status = 404, description = "event_not_found"),
    (status = 409, description = "not_a_draw or not_drawn"),
    (status = 429, description = "rate_limited (the gateway, per client address)"),
    (status = 503, description = "unavailable")))]
#[get("/events/{id}/draw/proof")]
pub async fn proof(
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let event = drawn_event(&state, *id).await?;
    let queue = queue_of(&state, event.id).await?;
    let Some(drawn_at) = queue.drawn_at else {
        return Err(ApiError::Conflict(
            ErrorCode::NotDrawn,
            format!(
                "the draw is at {}",
                event.draw_at.unwrap_or(event.start_time).to_rfc3339()
            ),
        ));
    };
    let places = store::proof_places(&state.db, event.id)
        .await
        .map_err(ApiError::store_down(DRAW_STORE))?;
    Ok(no_store(HttpResponse::Ok()).json(super::proof::build_draw(
        event.id,
        &queue.seed,
        event.draw_at.unwrap_or(event.start_time),
        drawn_at,
        &places,
        DrawRecord {
            beacon_round: event.draw_beacon_round.clone(),
            beacon: queue.beacon,
            entrants_digest: queue.entrants_digest,
        },
    )))
}

/// The draw for an operator, read from PostgreSQL now.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminDrawView {
    /// Entrants now (before the draw) or ranked (after it).
    pub entries: i64,
    /// Every win so far: the draw's and each backfill's.
    pub winners: i64,
    /// Won, not claimed yet.
    pub held: i64,
    pub claimed: i64,
    /// Won, not claimed in time.
    pub expired: i64,
    pub withdrawn: i64,
    /// Ranked, not (yet) won.
    pub waitlisted: i64,
    pub sealed: bool,
    pub entrants_digest: Option<String>,
    pub drawn: bool,
    pub drawn_at: Option<DateTime<Utc>>,
    pub draw_at: DateTime<Utc>,
    pub beacon_round: Option<String>,
    pub beacon: Option<String>,
    pub closed_reason: Option<String>,
    /// The draw's round, then each backfill's: when, and how many won.
    pub rounds: Vec<AdmissionRound>,
}

/// The event as PostgreSQL holds it now, not the cached copy: "draw now"
/// and the beacon change it.
async fn fresh_event(state: &AppState, event_id: i64) -> Result<Event, ApiError> {
    crate::events::store::find(&state.db, event_id)
        .await
        .map_err(ApiError::store_down(DRAW_STORE))?
        .ok_or_else(|| ApiError::event_not_found(event_id))
}

async fn admin_view(state: &AppState, event_id: i64) -> Result<AdminDrawView, ApiError> {
    let event = fresh_event(state, event_id).await?;
    let queue = queue_of(state, event_id).await?;
    let counts: Counts = store::counts(&state.db, event_id)
        .await
        .map_err(ApiError::store_down(DRAW_STORE))?;
    let rounds = store::rounds(&state.db, event_id)
        .await
        .map_err(ApiError::store_down(DRAW_STORE))?;
    let drawn = queue.drawn_at.is_some();
    Ok(AdminDrawView {
        entries: queue.pre_queue_count.map_or(counts.waiting, i64::from),
        winners: counts.admitted + counts.claimed + counts.expired,
        held: counts.admitted,
        claimed: counts.claimed,
        expired: counts.expired,
        withdrawn: counts.left,
        waitlisted: if drawn { counts.waiting } else { 0 },
        sealed: queue.sealed_at.is_some(),
        entrants_digest: queue.entrants_digest,
        drawn,
        drawn_at: queue.drawn_at,
        draw_at: event.draw_at.unwrap_or(event.start_time),
        beacon_round: event.draw_beacon_round,
        beacon: queue.beacon.or(event.draw_beacon),
        closed_reason: queue.closed_reason,
        rounds: rounds
            .into_iter()
            .map(|(at, count)| AdmissionRound {
                at,
                count: usize::try_from(count).unwrap_or(0),
            })
            .collect(),
    })
}

/// The draw's counts and rounds, read from PostgreSQL now.
#[utoipa::path(tag = "admin", params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, body = AdminDrawView), (status = 401), (status = 403),
    (status = 404, description = "event_not_found"), (status = 409, description = "not_a_draw"),
    (status = 503, description = "unavailable")))]
#[get("/events/{id}/draw")]
pub async fn admin_draw(
    _admin: AdminUser,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let event = drawn_event(&state, *id).await?;
    Ok(no_store(HttpResponse::Ok()).json(admin_view(&state, event.id).await?))
}

/// Draw now: once the entries closed and the sale started, the draw time
/// becomes now (the room draws within about a second). 200 when drawn
/// already.
#[utoipa::path(tag = "admin", params(("id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 202, body = AdminDrawView), (status = 200, body = AdminDrawView),
    (status = 401), (status = 403), (status = 404, description = "event_not_found"),
    (status = 409, description = "not_a_draw, entries_open, event_not_started or beacon_missing"),
    (status = 503, description = "unavailable")))]
#[post("/events/{id}/draw")]
pub async fn draw_now(
    actor: Actor,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    drawn_event(&state, *id).await?;
    let event = fresh_event(&state, *id).await?;
    if queue_of(&state, event.id).await?.drawn_at.is_some() {
        return Ok(no_store(HttpResponse::Ok()).json(admin_view(&state, event.id).await?));
    }
    let now = Utc::now();
    if now < closes_at(&event) {
        return Err(ApiError::Conflict(
            ErrorCode::EntriesOpen,
            "the entries are still open".into(),
        ));
    }
    if now < event.start_time {
        return Err(ApiError::Conflict(
            ErrorCode::EventNotStarted,
            "a draw's winners claim during the sale: draw once it started".into(),
        ));
    }
    if draw::beacon_missing(&event) {
        return Err(ApiError::Conflict(
            ErrorCode::BeaconMissing,
            "enter the named beacon's value first (draw_beacon)".into(),
        ));
    }
    let store_down = || ApiError::store_down(DRAW_STORE);
    let mut tx = state.db.begin().await.map_err(store_down())?;
    if let Some(moved) = store::draw_now(&mut tx, event.id)
        .await
        .map_err(store_down())?
    {
        let before = serde_json::json!({ "draw_at": event.draw_at });
        let after = serde_json::json!({ "draw_at": moved });
        audit::record(
            &mut tx,
            &actor,
            Action::EventDrawNow,
            event.id,
            Some(before),
            Some(after),
        )
        .await
        .map_err(store_down())?;
    }
    tx.commit().await.map_err(store_down())?;
    Ok(no_store(HttpResponse::Accepted()).json(admin_view(&state, event.id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(remaining: i64, waiting: i64) -> Progress {
        Progress {
            serving: 0,
            waiting,
            remaining,
            admitted_per_second: 0.0,
            held: 0,
            claimed: 0,
            expired: 0,
            left: 0,
            rounds: 0,
            closed_reason: None,
        }
    }

    #[test]
    fn odds_are_units_over_entries_capped_at_one_and_gone_after_the_draw() {
        assert_eq!(odds(&progress(10, 40), 40, false), Some(0.25));
        assert_eq!(odds(&progress(10, 4), 4, false), Some(1.0));
        assert_eq!(odds(&progress(10, 0), 0, false), Some(1.0));
        assert_eq!(odds(&progress(10, 40), 40, true), None);
    }
}
