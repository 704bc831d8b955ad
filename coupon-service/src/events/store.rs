//! PostgreSQL access for events.

use sqlx::{PgPool, Postgres, postgres::PgArguments, query::QueryAs};

use super::{
    filter::PublicStatus,
    model::{Event, NewEvent},
};
use crate::paging::Paging;

/// The columns of `Event`; a macro so queries stay literals (`concat!`).
macro_rules! columns {
    () => {
        "id, title, description, total_count, issued_count, max_per_user, start_time, end_time, \
         discount_type, discount_value, min_purchase_amount, valid_days, code_prefix, closed_at, \
         sold_out_at, created_at, updated_at, state_version, admission, queue_opens_at, \
         claim_window_secs, queue_only_existing_accounts, queue_seed_commitment, \
         (SELECT encode(q.seed, 'hex') FROM event_queues q WHERE q.event_id = id \
            AND q.drawn_at IS NOT NULL) AS queue_seed, \
         (SELECT q.closed_reason FROM event_queues q WHERE q.event_id = id) AS queue_closed_reason, \
         (SELECT count(*) FROM queue_places p WHERE p.event_id = id) AS queue_joined, \
         entry_opens_at, entry_closes_at, draw_at, draw_beacon_round, draw_beacon, \
         (SELECT q.entrants_digest FROM event_queues q WHERE q.event_id = id) AS draw_entrants_digest"
    };
}

#[tracing::instrument(skip_all, fields(event.id = id))]
pub async fn find(pool: &PgPool, id: i64) -> sqlx::Result<Option<Event>> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM coupon_events WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The item query and the count query of one public list, sharing their
/// `WHERE` (literals, so the queries stay `&'static str`).
macro_rules! public_list {
    ($where:literal, $order:literal) => {
        (
            concat!(
                "SELECT ",
                columns!(),
                " FROM coupon_events WHERE ",
                $where,
                " ORDER BY ",
                $order,
                " LIMIT $1 OFFSET $2"
            ),
            concat!("SELECT count(*) FROM coupon_events WHERE ", $where),
        )
    };
}

/// One page of the public list and the number of events it holds in all.
/// "Ended" is over or closed; an ended event's end is the earlier of its
/// close and its end time (`LEAST` skips a NULL `closed_at`).
#[tracing::instrument(skip_all, fields(list.status = ?status, list.page = paging.page()))]
pub async fn list_public(
    pool: &PgPool,
    status: PublicStatus,
    paging: Paging,
) -> sqlx::Result<(Vec<Event>, i64)> {
    let (items, count) = match status {
        PublicStatus::Current => public_list!(
            "closed_at IS NULL AND end_time > now()",
            "start_time > now(), CASE WHEN start_time <= now() THEN end_time END, start_time, id"
        ),
        PublicStatus::Live => public_list!(
            "closed_at IS NULL AND start_time <= now() AND end_time > now()",
            "end_time, id"
        ),
        PublicStatus::Upcoming => {
            public_list!("closed_at IS NULL AND start_time > now()", "start_time, id")
        }
        PublicStatus::Ended => public_list!(
            "(closed_at IS NOT NULL OR end_time <= now())",
            "LEAST(closed_at, end_time) DESC, id DESC"
        ),
    };
    let events = sqlx::query_as(items)
        .bind(paging.size())
        .bind(paging.offset())
        .fetch_all(pool);
    let total = sqlx::query_scalar(count).fetch_one(pool);
    tokio::try_join!(events, total)
}

/// The sale state's version of an event that may still hold Redis state,
/// and whether that state must be there (not over, not closed).
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct StateVersion {
    pub id: i64,
    pub state_version: i64,
    pub live: bool,
}

/// Versions of the events that may still hold Redis state (ended less than
/// a day ago, closed ones included: a close Redis missed is repaired).
pub async fn recent_versions(pool: &PgPool) -> sqlx::Result<Vec<StateVersion>> {
    sqlx::query_as(
        "SELECT id, state_version, (end_time > now() AND closed_at IS NULL) AS live \
         FROM coupon_events WHERE end_time > now() - interval '1 day' ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// Ids of events that may still hold Redis state (ended less than a day ago).
pub async fn recent_ids(pool: &PgPool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM coupon_events WHERE end_time > now() - interval '1 day' ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// Inserts an event; in queue or draw mode also its room with a fresh seed, whose
/// commitment the event shows from now on (one statement: both or none).
#[tracing::instrument(skip_all)]
pub async fn insert(db: impl sqlx::PgExecutor<'_>, e: &NewEvent) -> sqlx::Result<Event> {
    let insert = sqlx::query_as(concat!(
        "WITH e AS (INSERT INTO coupon_events (title, description, total_count, max_per_user, \
         start_time, end_time, discount_type, discount_value, min_purchase_amount, valid_days, \
         code_prefix, admission, queue_opens_at, claim_window_secs, queue_only_existing_accounts, \
         queue_seed_commitment, entry_opens_at, entry_closes_at, draw_at, draw_beacon_round, \
         draw_beacon) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         CASE WHEN $12 <> 'first_come' THEN encode(sha256($16), 'hex') END, $17, $18, $19, $20, $21) \
         RETURNING *), \
         q AS (INSERT INTO event_queues (event_id, seed) SELECT id, $16 FROM e \
           WHERE admission <> 'first_come') \
         SELECT ",
        columns!(),
        " FROM e"
    ));
    let seed = crate::admission::ranking::new_seed().to_vec();
    bind_draw_fields(bind_fields(insert, e).bind(seed), e)
        .fetch_one(db)
        .await
}

/// Binds an event's writable fields as `$1`…`$15`, in the column order of
/// the insert above (the admin's update writes the same fields).
pub fn bind_fields<'q, O>(
    query: QueryAs<'q, Postgres, O, PgArguments>,
    e: &'q NewEvent,
) -> QueryAs<'q, Postgres, O, PgArguments> {
    query
        .bind(&e.title)
        .bind(&e.description)
        .bind(e.total_count)
        .bind(e.max_per_user)
        .bind(e.start_time)
        .bind(e.end_time)
        .bind(&e.discount_type)
        .bind(e.discount_value)
        .bind(e.min_purchase_amount)
        .bind(e.valid_days)
        .bind(&e.code_prefix)
        .bind(e.admission.as_str())
        .bind(e.resolved_queue_opens_at())
        .bind(e.claim_window_secs)
        .bind(e.queue_only_existing_accounts)
}

/// Binds the draw's settings as the five parameters after `$16` (the
/// insert's seed, the update's id), `$17`…`$21`; `None` outside draw mode.
pub fn bind_draw_fields<'q, O>(
    query: QueryAs<'q, Postgres, O, PgArguments>,
    e: &'q NewEvent,
) -> QueryAs<'q, Postgres, O, PgArguments> {
    let draw = e.admission == crate::admission::Admission::Draw;
    query
        .bind(e.entry_opens_at.filter(|_| draw))
        .bind(e.entry_closes_at.filter(|_| draw))
        .bind(e.resolved_draw_at())
        .bind(e.draw_beacon_round.as_deref().filter(|_| draw))
        .bind(e.draw_beacon.as_deref().filter(|_| draw))
}
