//! Group commit: reservations from concurrent requests are written to
//! PostgreSQL together, one transaction per batch, and each request is
//! answered only after its batch COMMITs.
//!
//! One transaction inserts the coupons (multi-row, UNNEST), their
//! `coupon.issued` outbox rows, bumps `issued_count`, and — when that makes an
//! event reach its total — sets `sold_out_at` and writes the one
//! `coupon.soldout` row. Failure handling:
//! - failed before COMMIT: nothing was written; give the reservations back;
//! - refused by a constraint: retry each reservation alone to find the bad
//!   one, then settle it by what PostgreSQL really holds (see `settle`); a
//!   coupon for a closed or ended event (`coupon_events_issue_open`: Redis
//!   missed a close) is given back, answered `event_ended`, and Redis gets
//!   PostgreSQL's sale state;
//! - COMMIT itself failed or timed out (ambiguous): look the rows up, never
//!   give back blindly; if even that fails, leave the reservations pending
//!   for the sweeper.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use contract::messages::{COUPON_ISSUED, COUPON_SOLDOUT, CouponIssued, CouponSoldout, Envelope};
use service_kit::tasks::Tasks;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{code::new_code, rebuild, redis_state::RedisState, reservation::Reservation};
use crate::{
    coupon_columns,
    coupons::Coupon,
    events::Event,
    lifecycle,
    metrics::Metrics,
    outbox::{
        handoff::Handoff,
        stock_ticker::StockChanges,
        store::{NewMessages, OutboxRow},
    },
};

/// Why a reservation did not become a coupon. Nothing was issued.
/// A batch's transaction, which PostgreSQL ends if it sits without a
/// statement: one that does lost its instance (a host cut off mid-commit),
/// and its row and index locks would otherwise hold every later batch of
/// the event until TCP gives up, minutes later. (One round trip, as BEGIN.)
const BEGIN_BATCH: &str = "BEGIN; SET LOCAL idle_in_transaction_session_timeout = '5s'";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// PostgreSQL is unavailable; the reservation was given back (or is
    /// pending for the sweeper when the outcome was ambiguous).
    #[error("the coupon store is unavailable")]
    Unavailable,
    /// The database refused the ticket or slot: Redis handed out state a
    /// committed coupon already holds (e.g. after a rebuild). Redis was
    /// repaired; a new attempt gets a fresh ticket.
    #[error("the reservation conflicted with a committed coupon")]
    Refused,
    /// The database refused a coupon for a closed or ended event: Redis had
    /// missed the close. The reservation was given back and Redis repaired.
    #[error("the event is closed or over")]
    Ended,
    /// The token's user does not exist.
    #[error("unknown user")]
    UnknownUser,
}

struct Job {
    reservation: Reservation,
    event: Arc<Event>,
    code: String,
    /// The request's trace id, carried into the message headers.
    trace_id: String,
    reply: oneshot::Sender<Result<Coupon, WriteError>>,
}

/// Handle used by request handlers; cheap to clone.
#[derive(Clone)]
pub struct BatchWriter {
    tx: mpsc::Sender<Job>,
}

/// Tuning of the writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    pub batch_max: usize,
    pub writers: usize,
    pub write_timeout: Duration,
}

struct Writer {
    db: PgPool,
    redis: RedisState,
    metrics: Arc<Metrics>,
    handoff: Handoff,
    stock_changes: StockChanges,
    config: WriterConfig,
}

/// How a batch transaction ended.
enum BatchError {
    /// Nothing was committed (the error came before COMMIT was sent).
    BeforeCommit(sqlx::Error),
    /// COMMIT failed or the deadline passed: the outcome is unknown.
    Ambiguous(String),
}

const CODE_COLLISION_RETRIES: usize = 3;

/// The check (a trigger) refusing coupons for a closed or ended event.
const EVENT_OPEN: &str = "coupon_events_issue_open";

impl BatchWriter {
    /// Starts `config.writers` writer tasks sharing one queue.
    pub fn spawn(
        db: PgPool,
        redis: RedisState,
        metrics: Arc<Metrics>,
        handoff: Handoff,
        stock_changes: StockChanges,
        config: WriterConfig,
        tasks: &Tasks,
    ) -> Self {
        let (tx, rx) = mpsc::channel(config.batch_max * 8);
        let rx = Arc::new(Mutex::new(rx));
        let writer = Arc::new(Writer {
            db,
            redis,
            metrics,
            handoff,
            stock_changes,
            config,
        });
        for _ in 0..config.writers {
            let (rx, writer) = (rx.clone(), writer.clone());
            tasks.spawn_loop("batch-writer", lifecycle::PRODUCERS, async move {
                writer.run(rx).await;
            });
        }
        Self { tx }
    }

    /// Persists one reservation; resolves after its batch has committed.
    pub async fn write(
        &self,
        reservation: Reservation,
        event: Arc<Event>,
        trace_id: String,
    ) -> Result<Coupon, WriteError> {
        let (reply, answer) = oneshot::channel();
        let code = new_code(&event.code_prefix);
        let job = Job {
            reservation,
            event,
            code,
            trace_id,
            reply,
        };
        if self.tx.send(job).await.is_err() {
            // Shutting down: the reservation stays pending and the sweeper
            // of any instance gives it back.
            tracing::warn!("batch writer stopped");
            return Err(WriteError::Unavailable);
        }
        answer.await.unwrap_or(Err(WriteError::Unavailable))
    }
}

impl Writer {
    async fn run(&self, rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
        let mut jobs = Vec::with_capacity(self.config.batch_max);
        loop {
            // Whoever holds the lock collects everything queued meanwhile:
            // the busier the service, the bigger the batch.
            let received = rx
                .lock()
                .await
                .recv_many(&mut jobs, self.config.batch_max)
                .await;
            if received == 0 {
                return;
            }
            self.commit(std::mem::take(&mut jobs)).await;
        }
    }

    async fn commit(&self, jobs: Vec<Job>) {
        self.metrics.batch_size.observe(jobs.len() as f64);
        let started = Instant::now();
        let outcome = self.insert_in_time(&jobs).await;
        self.metrics
            .batch_commit_seconds
            .observe(started.elapsed().as_secs_f64());
        match outcome {
            Ok((coupons, messages)) => self.succeed(jobs, coupons, messages).await,
            Err(BatchError::BeforeCommit(e)) if is_integrity(&e) => {
                // One bad row spoils the batch; write each alone to find it.
                for job in jobs {
                    self.commit_alone(job).await;
                }
            }
            Err(BatchError::BeforeCommit(e)) => {
                tracing::warn!(error = %e, "batch failed before commit; giving reservations back");
                self.give_back_all(jobs, WriteError::Unavailable).await;
            }
            Err(BatchError::Ambiguous(why)) => {
                tracing::warn!(reason = %why, "batch outcome unknown; looking rows up");
                self.resolve_ambiguous(jobs).await;
            }
        }
    }

    /// A single reservation, retried with a fresh code on a code collision.
    async fn commit_alone(&self, mut job: Job) {
        for _ in 0..CODE_COLLISION_RETRIES {
            match self.insert_in_time(std::slice::from_ref(&job)).await {
                Ok((coupons, messages)) => {
                    return self.succeed(vec![job], coupons, messages).await;
                }
                Err(BatchError::BeforeCommit(e))
                    if constraint(&e) == Some("user_coupons_code_unique") =>
                {
                    job.code = new_code(&job.event.code_prefix);
                }
                Err(BatchError::BeforeCommit(e)) if is_integrity(&e) => {
                    return self.settle(job, &e).await;
                }
                Err(BatchError::BeforeCommit(e)) => {
                    tracing::warn!(error = %e, "write failed before commit; giving reservation back");
                    return self.give_back_all(vec![job], WriteError::Unavailable).await;
                }
                Err(BatchError::Ambiguous(_)) => return self.resolve_ambiguous(vec![job]).await,
            }
        }
        self.give_back_all(vec![job], WriteError::Unavailable).await;
    }

    async fn insert_in_time(&self, jobs: &[Job]) -> Result<Written, BatchError> {
        match tokio::time::timeout(self.config.write_timeout, self.insert(jobs)).await {
            Ok(result) => result,
            Err(_) => Err(BatchError::Ambiguous("write deadline passed".into())),
        }
    }

    /// The transaction of one batch. Its statements follow each other at
    /// once, so PostgreSQL ends it should it idle ([`BEGIN_BATCH`]).
    async fn insert(&self, jobs: &[Job]) -> Result<Written, BatchError> {
        let mut tx = self
            .db
            .begin_with(BEGIN_BATCH)
            .await
            .map_err(BatchError::BeforeCommit)?;
        let written = insert_rows(&mut tx, jobs)
            .await
            .map_err(BatchError::BeforeCommit)?;
        tx.commit()
            .await
            .map_err(|e| BatchError::Ambiguous(e.to_string()))?;
        Ok(written)
    }

    /// Answers the requests of committed reservations; `messages` are their
    /// committed outbox rows, if known (else the relay's poll finds them).
    async fn succeed(&self, jobs: Vec<Job>, coupons: Vec<Coupon>, messages: Vec<OutboxRow>) {
        self.handoff.pass(messages);
        self.stock_changes
            .mark(jobs.iter().map(|j| j.reservation.event_id));
        let mut by_ticket: HashMap<(i64, i32), Coupon> = coupons
            .into_iter()
            .map(|c| ((c.event_id, c.stock_seq), c))
            .collect();
        let mut committed: HashMap<i64, Vec<Reservation>> = HashMap::new();
        for job in jobs {
            let r = job.reservation;
            let coupon = by_ticket.remove(&(r.event_id, r.ticket));
            let _ = job.reply.send(coupon.ok_or(WriteError::Unavailable));
            committed.entry(r.event_id).or_default().push(r);
        }
        // Clearing `pending` is bookkeeping, off the response path: if it
        // fails, the sweeper finds the rows and clears the entries itself.
        for (event_id, reservations) in committed {
            let refs: Vec<&Reservation> = reservations.iter().collect();
            if let Err(e) = self.redis.confirm(event_id, &refs).await {
                tracing::warn!(error = %e, event.id = event_id, "could not clear pending reservations");
            }
        }
    }

    async fn give_back_all(&self, jobs: Vec<Job>, answer: WriteError) {
        for job in jobs {
            match self.redis.release(&job.reservation, true, true).await {
                Ok(_) => self.metrics.reservations_given_back.inc(),
                // Stays pending; the sweeper gives it back once Redis is back.
                Err(e) => tracing::warn!(error = %e, "could not give a reservation back"),
            }
            let _ = job.reply.send(Err(answer));
        }
    }

    /// After an ambiguous COMMIT: the rows decide.
    async fn resolve_ambiguous(&self, jobs: Vec<Job>) {
        let reservations: Vec<&Reservation> = jobs.iter().map(|j| &j.reservation).collect();
        let lookup = tokio::time::timeout(
            self.config.write_timeout,
            find_committed(&self.db, &reservations),
        )
        .await;
        let Ok(Ok(found)) = lookup else {
            // Unknown and unknowable for now: keep them pending (no ticket is
            // reused meanwhile); the sweeper settles them when PostgreSQL is back.
            tracing::warn!(
                count = jobs.len(),
                "left reservations pending for the sweeper"
            );
            for job in jobs {
                let _ = job.reply.send(Err(WriteError::Unavailable));
            }
            return;
        };
        let (done, lost): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| {
            found.iter().any(|c| {
                c.event_id == j.reservation.event_id && c.stock_seq == j.reservation.ticket
            })
        });
        if !done.is_empty() {
            self.succeed(done, found, Vec::new()).await;
        }
        self.give_back_all(lost, WriteError::Unavailable).await;
    }

    /// A reservation PostgreSQL refused: give back only what no committed
    /// coupon holds, so Redis converges on the truth.
    async fn settle(&self, job: Job, error: &sqlx::Error) {
        let r = &job.reservation;
        if constraint(error) == Some("user_coupons_user_fk") {
            let _ = self.redis.release(r, true, true).await;
            let _ = job.reply.send(Err(WriteError::UnknownUser));
            return;
        }
        let event_over = constraint(error) == Some(EVENT_OPEN);
        if event_over {
            // The next presses are refused by the script, not here.
            if let Err(e) = rebuild::repair(&self.redis, &self.db, r.event_id).await {
                tracing::warn!(error = %e, event.id = r.event_id, "could not repair the event's Redis state");
            }
        }
        let answer = match holders(&self.db, r).await {
            Ok(Holders {
                ticket_held,
                slot_held,
                ..
            }) => {
                tracing::warn!(
                    event.id = r.event_id,
                    ticket = r.ticket,
                    ticket_held,
                    slot_held,
                    constraint = constraint(error).unwrap_or("?"),
                    "database refused a reservation; repairing Redis"
                );
                match self.redis.release(r, !ticket_held, !slot_held).await {
                    Ok(_) if event_over => WriteError::Ended,
                    Ok(_) => WriteError::Refused,
                    Err(_) => WriteError::Unavailable,
                }
            }
            Err(_) => WriteError::Unavailable,
        };
        let _ = job.reply.send(Err(answer));
    }
}

/// What one batch wrote: its coupons and its outbox rows.
type Written = (Vec<Coupon>, Vec<OutboxRow>);

/// The statements of one batch, inside its transaction.
async fn insert_rows(tx: &mut Transaction<'_, Postgres>, jobs: &[Job]) -> sqlx::Result<Written> {
    let event_ids: Vec<i64> = jobs.iter().map(|j| j.reservation.event_id).collect();
    let user_ids: Vec<i64> = jobs.iter().map(|j| j.reservation.user_id).collect();
    let tickets: Vec<i32> = jobs.iter().map(|j| j.reservation.ticket).collect();
    let slots: Vec<i32> = jobs.iter().map(|j| j.reservation.slot).collect();
    let codes: Vec<&str> = jobs.iter().map(|j| j.code.as_str()).collect();

    // Limits and terms come from the event row at insert time, so the
    // composite FK and CHECKs compare against the live values.
    let coupons: Vec<Coupon> = sqlx::query_as(concat!(
        "INSERT INTO user_coupons (event_id, user_id, total_count, max_per_user, stock_seq, \
           user_slot, code, discount_type, discount_value, min_purchase_amount, expires_at) \
         SELECT e.id, r.user_id, e.total_count, e.max_per_user, r.ticket, r.slot, r.code, \
           e.discount_type, e.discount_value, e.min_purchase_amount, \
           now() + make_interval(days => e.valid_days) \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::text[]) \
           AS r(event_id, user_id, ticket, slot, code) \
         JOIN coupon_events e ON e.id = r.event_id \
         RETURNING ",
        coupon_columns!()
    ))
    .bind(&event_ids)
    .bind(&user_ids)
    .bind(&tickets)
    .bind(&slots)
    .bind(&codes)
    .fetch_all(&mut **tx)
    .await?;
    if coupons.len() != jobs.len() {
        return Err(sqlx::Error::Protocol(format!(
            "{} of {} coupons inserted (event missing)",
            coupons.len(),
            jobs.len()
        )));
    }

    let now = Utc::now();
    let mut outbox = NewMessages::default();
    let traces: HashMap<(i64, i32), &str> = jobs
        .iter()
        .map(|j| {
            (
                (j.reservation.event_id, j.reservation.ticket),
                j.trace_id.as_str(),
            )
        })
        .collect();
    for c in &coupons {
        let trace = traces.get(&(c.event_id, c.stock_seq)).copied();
        outbox.push(
            COUPON_ISSUED,
            &Envelope::new(
                CouponIssued {
                    user_id: c.user_id,
                    coupon_id: c.id,
                    event_id: c.event_id,
                    coupon_code: c.code.clone(),
                    discount_value: c.discount_value,
                },
                now,
            ),
            trace,
        )?;
    }

    // Concurrent writers' batches share event rows: each transaction locks
    // them in ascending id order before updating, so two batches can never
    // each hold a row the other waits for (a deadlock fails every buyer in
    // the losing batch). The UPDATE's join order is the planner's choice,
    // hence the explicit lock first.
    let mut per_event: BTreeMap<i64, i32> = BTreeMap::new();
    for id in &event_ids {
        *per_event.entry(*id).or_default() += 1;
    }
    let (ids, counts): (Vec<i64>, Vec<i32>) = per_event.into_iter().unzip();
    sqlx::query("SELECT id FROM coupon_events WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
        .bind(&ids)
        .execute(&mut **tx)
        .await?;
    // Raising the count of a closed or ended event is refused
    // (`coupon_events_issue_open`): the lock waited for a concurrent close,
    // so this sees it.
    sqlx::query(
        "UPDATE coupon_events e SET issued_count = e.issued_count + c.n, updated_at = now() \
         FROM UNNEST($1::bigint[], $2::int[]) AS c(id, n) WHERE e.id = c.id",
    )
    .bind(&ids)
    .bind(&counts)
    .execute(&mut **tx)
    .await?;

    // The database, not Redis, says when the last coupon is in: exactly one
    // transaction flips sold_out_at, and it writes the one soldout message.
    let sold_out: Vec<(i64, String)> = sqlx::query_as(
        "UPDATE coupon_events SET sold_out_at = now() \
         WHERE id = ANY($1) AND issued_count >= total_count AND sold_out_at IS NULL \
         RETURNING id, title",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    for (event_id, title) in sold_out {
        outbox.push(
            COUPON_SOLDOUT,
            &Envelope::new(
                CouponSoldout {
                    event_id,
                    event_title: title,
                },
                now,
            ),
            None,
        )?;
    }
    let messages = outbox.insert(&mut **tx).await?;
    Ok((coupons, messages))
}

/// Which of these reservations have a committed coupon.
pub async fn find_committed(db: &PgPool, rs: &[&Reservation]) -> sqlx::Result<Vec<Coupon>> {
    let event_ids: Vec<i64> = rs.iter().map(|r| r.event_id).collect();
    let tickets: Vec<i32> = rs.iter().map(|r| r.ticket).collect();
    let users: Vec<i64> = rs.iter().map(|r| r.user_id).collect();
    // A semi-join keeps the column list unqualified (no ambiguity with r).
    sqlx::query_as(concat!(
        "SELECT ",
        coupon_columns!(),
        " FROM user_coupons WHERE (event_id, stock_seq, user_id) IN \
           (SELECT * FROM UNNEST($1::bigint[], $2::int[], $3::bigint[]))"
    ))
    .bind(&event_ids)
    .bind(&tickets)
    .bind(&users)
    .fetch_all(db)
    .await
}

/// What PostgreSQL holds of a reservation: whether any committed coupon
/// holds its ticket, whether one holds the user's slot, and whether the
/// reservation itself committed (its ticket held by its user and slot).
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Holders {
    pub ticket_held: bool,
    pub slot_held: bool,
    pub committed: bool,
}

pub async fn holders(db: &PgPool, r: &Reservation) -> sqlx::Result<Holders> {
    sqlx::query_as(
        "SELECT \
           EXISTS (SELECT 1 FROM user_coupons WHERE event_id = $1 AND stock_seq = $2) AS ticket_held, \
           EXISTS (SELECT 1 FROM user_coupons WHERE event_id = $1 AND user_id = $3 AND user_slot = $4) AS slot_held, \
           EXISTS (SELECT 1 FROM user_coupons WHERE event_id = $1 AND stock_seq = $2 \
                   AND user_id = $3 AND user_slot = $4) AS committed",
    )
    .bind(r.event_id)
    .bind(r.ticket)
    .bind(r.user_id)
    .bind(r.slot)
    .fetch_one(db)
    .await
}

fn constraint(e: &sqlx::Error) -> Option<&str> {
    e.as_database_error().and_then(|d| d.constraint())
}

/// SQLSTATE class 23: the database refused the data, not the connection.
fn is_integrity(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code.starts_with("23"))
}
