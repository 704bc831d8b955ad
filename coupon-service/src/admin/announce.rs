//! `event.updated`: an admin's change to an event, for the people watching
//! it. Written to the outbox in the change's own transaction, so a change
//! that commits is announced (at least once) and one that does not never is.

use chrono::{DateTime, Utc};
use contract::messages::{EVENT_UPDATED, Envelope, EventUpdated};
use sqlx::{Postgres, Transaction};

use crate::{
    events::Event,
    outbox::store::{NewMessages, OutboxRow},
};

/// The event as its watchers see it at `now`. `remaining` is PostgreSQL's
/// count: behind Redis by at most the writers' last batch, which the next
/// `event.stock` corrects.
pub fn message(event: &Event, now: DateTime<Utc>) -> Envelope<EventUpdated> {
    let remaining = event.remaining_in_db().max(0);
    let status = serde_json::to_value(event.status(now, remaining))
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Envelope::new(
        EventUpdated {
            event_id: event.id,
            status,
            remaining,
            total: i64::from(event.total_count),
            start_time: event.start_time,
            end_time: event.end_time,
            title: event.title.clone(),
        },
        now,
    )
}

/// Writes the announcement of `event` (as just changed) in `tx`; the rows
/// go to the relay once `tx` has committed.
pub async fn write(
    tx: &mut Transaction<'_, Postgres>,
    event: &Event,
) -> sqlx::Result<Vec<OutboxRow>> {
    let mut messages = NewMessages::default();
    messages.push(EVENT_UPDATED, &message(event, Utc::now()), None)?;
    messages.insert(&mut **tx).await
}
