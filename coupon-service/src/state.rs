//! What every handler shares.

use std::sync::Arc;

use service_kit::{connected::Connected, tasks::Tasks};
use sqlx::PgPool;

use crate::{
    auth::password_gate::PasswordGate,
    configuration::Settings,
    error::ApiError,
    events::{Event, cache::EventCache},
    issuance::{
        batch_writer::BatchWriter, redis_state::RedisState, slot_holders::SlotHolders,
        sold_out::SoldOutMemo,
    },
    outbox::handoff::Handoff,
    rate_limit::Limiters,
};

pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: PgPool,
    pub redis: RedisState,
    pub events: EventCache,
    pub writer: BatchWriter,
    pub sold_out: SoldOutMemo,
    /// Who holds a slot of a sold-out event (keyed presses after a sell-out).
    pub slot_holders: SlotHolders,
    /// The outbox relay's broker connection.
    pub relay: Arc<Connected>,
    /// Committed outbox rows straight to this instance's relay (admin
    /// changes, revocations: published at once, not at the next poll).
    pub handoff: Handoff,
    pub limiters: Arc<Limiters>,
    pub password_gate: PasswordGate,
    /// The background tasks; one that ended makes the instance not ready.
    pub tasks: Tasks,
}

impl AppState {
    /// The event or the API's 404 / 503.
    pub async fn event(&self, id: i64) -> Result<Arc<Event>, ApiError> {
        match self.events.get(id).await {
            Ok(Some(event)) => Ok(event),
            Ok(None) => Err(ApiError::event_not_found(id)),
            Err(e) => {
                tracing::warn!(error = %e, "event lookup failed");
                Err(ApiError::unavailable("the event store"))
            }
        }
    }
}
