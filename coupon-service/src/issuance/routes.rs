//! `POST /api/coupons/issue`: the hot path (docs/contract.md §2.5).
//!
//! 1. the token (extractor) and the event (process cache);
//! 2. a sold-out answer repeated for a moment without asking (`sold_out.rs`);
//! 3. an idempotency key that won with another body is refused;
//! 4. ONE Redis script decides: reserved, replay, or why not; a key that
//!    reserved is bound to this body (a refused press leaves nothing);
//! 5. the batch writer commits the coupon; 201 only after COMMIT.

use std::{sync::Arc, time::Duration};

use actix_web::{HttpRequest, HttpResponse, post, web};
use contract::errors::ErrorCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    batch_writer::WriteError,
    idempotency, rebuild,
    reservation::{Reservation, ReserveOutcome},
};
use crate::{
    auth::AuthUser, coupons::Coupon, error::ApiError, events::Event, metrics::Metrics,
    state::AppState,
};

/// Attempts when the database refused a ticket a rebuilt Redis handed out
/// again, or when the event had to be (re)loaded first.
const ATTEMPTS: usize = 3;

#[derive(Debug, Deserialize, ToSchema)]
pub struct IssueRequest {
    #[schema(minimum = 1)]
    event_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Issued {
    coupon: Coupon,
    remaining: i64,
}

/// Try to get a coupon of an event: first come, first served. Send an
/// `Idempotency-Key` header to make retries safe: a retry returns the first
/// result.
#[utoipa::path(tag = "coupons", request_body = IssueRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters",
        min_length = 1, max_length = 255, pattern = "^[!-~]+$")),
    responses((status = 201, body = Issued), (status = 401), (status = 403, description = "not_admitted (a queued sale)"), (status = 404, description = "event_not_found"),
    (status = 409, description = "event_not_started or user_limit_reached"), (status = 410, description = "sold_out or event_ended"),
    (status = 422, description = "idempotency_key_reused or validation_failed"), (status = 429, description = "rate_limited"),
    (status = 503, description = "unavailable")))]
#[post("/issue")]
#[tracing::instrument(skip_all, fields(user.id = user.id(), event.id = body.event_id))]
pub async fn issue(
    req: HttpRequest,
    user: AuthUser,
    body: web::Json<IssueRequest>,
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    let result = issue_coupon(&req, user, body.event_id, &state).await;
    let outcome = match &result {
        Ok(_) => "issued",
        Err(e) => e.code().as_str(),
    };
    metrics.issue_outcomes.with_label_values(&[outcome]).inc();
    let issued = result?;
    Ok(HttpResponse::Created().json(issued))
}

async fn issue_coupon(
    req: &HttpRequest,
    user: AuthUser,
    event_id: i64,
    state: &AppState,
) -> Result<Issued, ApiError> {
    if event_id <= 0 {
        return Err(ApiError::validation(
            "event_id",
            "must be a positive integer",
        ));
    }
    crate::rate_limit::check(&state.limiters.issue, &user.id())?;
    let idem = idempotency::key_hash(req)?;
    // Only an event Redis has answered for is remembered, so it exists:
    // the losing crowd skips the event lookup too. A keyed press is
    // answered from memory as well, unless its key may have won (a retry of
    // a press that won gets its coupon back): only a slot holder's key can
    // (`slot_holders.rs`), and only keys that reserved are bound.
    if state.sold_out.is_sold_out(event_id)
        && !may_replay(state, user.id(), event_id, &idem).await?
    {
        return Err(sold_out());
    }
    let event = state.event(event_id).await?;
    // Past the answers from memory: only a request that is about to reach
    // Redis anyway pays the shared limit's round trip.
    state.limiters.check_issue_shared(user.id()).await?;

    for _ in 0..ATTEMPTS {
        let outcome = state
            .redis
            .reserve(event_id, user.id(), &idem)
            .await
            .map_err(redis_down)?;
        match outcome {
            ReserveOutcome::Reserved(r) => {
                if !idem.is_empty() {
                    bind(state, &r).await?;
                }
                let remaining = r.remaining;
                match state
                    .writer
                    .write(r, Arc::clone(&event), trace_id(req))
                    .await
                {
                    Ok(coupon) => return Ok(Issued { coupon, remaining }),
                    Err(WriteError::Refused) => continue,
                    Err(WriteError::Ended) => return Err(event_ended()),
                    Err(WriteError::UnknownUser) => return Err(ApiError::InvalidToken),
                    Err(WriteError::Unavailable) => return Err(ApiError::unavailable("issuance")),
                }
            }
            ReserveOutcome::Replay {
                ticket,
                slot,
                remaining,
            } => {
                return match await_replayed(state, &event, user.id(), ticket, slot).await? {
                    Some(coupon) => Ok(Issued { coupon, remaining }),
                    None => Err(ApiError::unavailable("issuance")),
                };
            }
            ReserveOutcome::NotLoaded => {
                let loaded = rebuild::ensure_loaded(&state.redis, &state.db, event_id)
                    .await
                    .map_err(|e| {
                        tracing::warn!(error = %e, "event state rebuild failed");
                        ApiError::unavailable("this event")
                    })?;
                if !loaded {
                    return Err(ApiError::unavailable("this event"));
                }
            }
            ReserveOutcome::NotStarted => {
                return Err(ApiError::Conflict(
                    ErrorCode::EventNotStarted,
                    "the event has not started yet".into(),
                ));
            }
            ReserveOutcome::Ended => return Err(event_ended()),
            ReserveOutcome::SoldOut => {
                // Not in a queued sale: a holder whose claim failed to
                // write gets the unit back and must not hear "sold out"
                // from memory meanwhile.
                if event.admission == crate::admission::Admission::FirstCome {
                    state.sold_out.remember(event_id);
                }
                return Err(sold_out());
            }
            ReserveOutcome::NotAdmitted => {
                let why = if event.admission == crate::admission::Admission::Draw {
                    "this sale is a draw: only a winner may claim, before the claim window ends"
                } else {
                    "this sale admits through its queue: join it, and press once admitted, \
                     before your claim window ends"
                };
                return Err(ApiError::Refused(ErrorCode::NotAdmitted, why.into()));
            }
            ReserveOutcome::LimitReached => {
                return Err(ApiError::Conflict(
                    ErrorCode::UserLimitReached,
                    format!("at most {} coupon(s) per person", event.max_per_user),
                ));
            }
        }
    }
    Err(ApiError::unavailable("issuance"))
}

/// Whether a keyed press on a sold-out event may be a retry of one that won.
async fn may_replay(
    state: &AppState,
    user_id: i64,
    event_id: i64,
    idem: &str,
) -> Result<bool, ApiError> {
    if idem.is_empty() {
        return Ok(false);
    }
    let holder = state
        .slot_holders
        .may_hold(&state.redis, event_id, user_id)
        .await
        .map_err(redis_down)?;
    Ok(holder && bound_to(state, user_id, idem).await?.is_some())
}

/// The event a key is bound to (it won a reservation there), if any.
async fn bound_to(state: &AppState, user_id: i64, idem: &str) -> Result<Option<String>, ApiError> {
    state
        .redis
        .idempotency_bound_to(user_id, idem)
        .await
        .map_err(redis_down)
}

/// Binds the reservation's key to its event, the one check of a key reused
/// for another event: a key is bound only once it reserved (a refused press
/// leaves nothing), and a press whose key won in another event gives its
/// reservation back and is answered 422. (A replay needs no binding: its
/// record lives in this event.)
async fn bind(state: &AppState, r: &Reservation) -> Result<(), ApiError> {
    let earlier = state
        .redis
        .bind_idempotency(r.user_id, &r.idem, &r.event_id.to_string())
        .await
        .map_err(redis_down);
    let refused = match earlier {
        Ok(None) => return Ok(()),
        Ok(Some(_)) => key_reused(),
        Err(e) => e,
    };
    if let Err(e) = state.redis.release(r, true, true).await {
        // The sweeper gives it back after `pending_timeout`.
        tracing::warn!(error = %e, "giving back a reservation after a binding failed");
    }
    Err(refused)
}

fn key_reused() -> ApiError {
    ApiError::Unprocessable(
        ErrorCode::IdempotencyKeyReused,
        "this Idempotency-Key was already used with a different request".into(),
    )
}

/// A retry with the same key: answer with the coupon the first request
/// produced, waiting (bounded) while that first request is still writing.
async fn await_replayed(
    state: &AppState,
    event: &Event,
    user_id: i64,
    ticket: i32,
    slot: i32,
) -> Result<Option<Coupon>, ApiError> {
    let deadline = tokio::time::Instant::now()
        + state.settings.issuance.write_timeout()
        + Duration::from_secs(1);
    let probe = Reservation {
        event_id: event.id,
        user_id,
        ticket,
        slot,
        remaining: 0,
        reserved_ms: 0,
        idem: String::new(),
    };
    loop {
        let found = crate::coupons::store::find_by_ticket(&state.db, event.id, ticket, user_id)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "replay lookup failed");
                ApiError::unavailable("the coupon store")
            })?;
        if found.is_some() {
            return Ok(found);
        }
        let still_writing = state
            .redis
            .is_pending_for(&probe)
            .await
            .map_err(redis_down)?;
        if !still_writing || tokio::time::Instant::now() >= deadline {
            // Either given back (the retry may try again) or committed in the
            // instant between the two reads: one last look decides.
            return crate::coupons::store::find_by_ticket(&state.db, event.id, ticket, user_id)
                .await
                .map_err(|_| ApiError::unavailable("the coupon store"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The request's id (see `telemetry::request_span`): it follows the coupon
/// into the message headers.
fn trace_id(req: &HttpRequest) -> String {
    use actix_web::HttpMessage;
    req.extensions()
        .get::<crate::telemetry::RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default()
}

fn event_ended() -> ApiError {
    ApiError::Gone(ErrorCode::EventEnded, "the event has ended".into())
}

fn sold_out() -> ApiError {
    ApiError::Gone(
        ErrorCode::SoldOut,
        "all coupons of this event are gone".into(),
    )
}

fn redis_down(e: anyhow::Error) -> ApiError {
    tracing::warn!(error = %e, "Redis unavailable");
    ApiError::unavailable("issuance")
}
