//! The waiting room's clock: every instance looks at the open rooms a few
//! times a second, and for each room one instance at a time (a Redis
//! lease, `holds::try_tick`, renewed while the tick runs and kept until a
//! second after it started) runs its tick, at most one a second:
//!
//! 1. close it when the event ended or was closed, or every unit is claimed;
//! 2. at the start (a second after, so joins in flight have landed) draw
//!    the pre-queue's order, once (`store::draw`);
//! 3. give late joiners their positions in arrival order;
//! 4. take back the holds whose claim window passed;
//! 5. admit the next waiting places while a unit stands behind each;
//! 6. push the room's progress, one message for the whole crowd.
//!
//! A draw's room runs its own first steps (`draw.rs`: seal the entries when
//! they close, rank them at the draw, tell those not drawn, close when the
//! ranked list ran out) around the same expiry and admission.
//!
//! Every step is idempotent (a tick that dies half-way is finished by the
//! next one, on any instance): Redis grants admissions per user at most once
//! (`admit.lua`), PostgreSQL records each once and tells only then.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use contract::messages::{Envelope, QUEUE_PROGRESS, QueueClosedReason, QueueProgress};
use sqlx::PgPool;

use super::{
    Admission,
    holds::{Holds, TickLease},
    store::{self, Entrants},
};
use crate::{
    events::Event,
    issuance::{rebuild, redis_state::RedisState},
    metrics::Metrics,
    outbox::{handoff::Handoff, store::NewMessages},
};

/// How often an instance looks for rooms to tick.
const LOOK_EVERY: Duration = Duration::from_millis(250);
/// At most one tick per room this often, whichever instance takes it.
const TICK_EVERY: Duration = Duration::from_millis(1000);
/// The tick lease lasts this long unless renewed: a tick that runs longer
/// (a draw ranking 200,000 entrants on a busy database) renews it every
/// [`TICK_RENEW_EVERY`], so no second instance starts the same work beside
/// it; an instance that dies mid-tick holds the room this long at most.
const TICK_HOLD: Duration = Duration::from_secs(5);
const TICK_RENEW_EVERY: Duration = Duration::from_secs(1);
/// A tick slower than this is logged with its room.
const SLOW_TICK: Duration = Duration::from_secs(1);
/// The draw waits this long after the start: a join that started before
/// the start has committed by then.
const DRAW_DELAY: chrono::TimeDelta = chrono::TimeDelta::seconds(1);
/// How long the last progress is kept for status reads.
const PROGRESS_TTL: Duration = Duration::from_secs(60);
/// How long a closed room's last progress is kept.
const CLOSED_PROGRESS_TTL: Duration = Duration::from_secs(2 * 24 * 3600);

#[derive(Clone)]
pub struct Room {
    pub db: PgPool,
    pub redis: RedisState,
    pub holds: Holds,
    pub handoff: Handoff,
    pub metrics: Arc<Metrics>,
    /// Rooms this instance set gauges for.
    pub labelled: Arc<Mutex<HashSet<i64>>>,
}

/// The `state` label values of `queue_places`.
const GAUGE_STATES: [&str; 6] = [
    "waiting",
    "held",
    "claimed",
    "expired",
    "left",
    "admission_rate_milli",
];

/// The room's state as `queue.progress` and status reads carry it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    pub serving: i64,
    pub waiting: i64,
    pub remaining: i64,
    pub admitted_per_second: f64,
    pub held: i64,
    pub claimed: i64,
    pub expired: i64,
    pub left: i64,
    #[serde(default)]
    pub rounds: i64,
    /// Set by the tick that closed the room (the last progress written).
    #[serde(default)]
    pub closed_reason: Option<String>,
}

impl Progress {
    /// The room as its counts and the event's claimed units say.
    pub fn of(event: &Event, counts: &store::Counts) -> Self {
        Self {
            serving: counts.serving,
            waiting: counts.waiting,
            remaining: event.remaining_in_db().max(0),
            admitted_per_second: counts.admitted_per_second(),
            held: counts.admitted,
            claimed: counts.claimed,
            expired: counts.expired,
            left: counts.left,
            rounds: counts.rounds,
            closed_reason: None,
        }
    }
}

impl Room {
    pub async fn run(self) {
        let mut look = tokio::time::interval(LOOK_EVERY);
        look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            look.tick().await;
            if let Err(e) = self.look_once().await {
                tracing::debug!(error = %e, "waiting rooms not ticked this time");
            }
        }
    }

    async fn look_once(&self) -> anyhow::Result<()> {
        let open = store::open_rooms(&self.db).await?;
        self.forget_closed_rooms(&open);
        for event_id in open {
            let Some(lease) = self.holds.try_tick(event_id, TICK_HOLD).await? else {
                continue;
            };
            let started = std::time::Instant::now();
            if let Err(e) = self.tick_holding(event_id, &lease).await {
                tracing::warn!(error = %e, event.id = event_id, "waiting room tick failed");
            }
            let took = started.elapsed();
            self.metrics.queue_tick_seconds.observe(took.as_secs_f64());
            if took > SLOW_TICK {
                tracing::info!(
                    event.id = event_id,
                    duration_ms = took.as_millis() as u64,
                    "waiting room tick was slow"
                );
            }
            // The next tick of this room comes a second after this one
            // started (at once if this one took longer).
            self.holds
                .keep_tick(event_id, &lease, TICK_EVERY.saturating_sub(took))
                .await?;
        }
        Ok(())
    }

    /// Runs the room's tick, renewing its lease while it runs.
    async fn tick_holding(&self, event_id: i64, lease: &TickLease) -> anyhow::Result<()> {
        let tick = self.tick(event_id);
        tokio::pin!(tick);
        let mut renew = tokio::time::interval(TICK_RENEW_EVERY);
        renew.tick().await;
        loop {
            tokio::select! {
                done = &mut tick => return done,
                _ = renew.tick() => {
                    // Lapsed (Redis lost it, or the tick stalled past the
                    // hold) or unreachable: the tick goes on, each of its
                    // steps idempotent should another instance start one.
                    if !matches!(self.holds.keep_tick(event_id, lease, TICK_HOLD).await, Ok(true)) {
                        tracing::warn!(event.id = event_id, "waiting room tick lease lost");
                    }
                }
            }
        }
    }

    /// Drops the gauges of rooms no longer open (this instance may have
    /// ticked them before another closed them): only open rooms have series.
    fn forget_closed_rooms(&self, open: &[i64]) {
        let mut labelled = self.labelled.lock().unwrap_or_else(|e| e.into_inner());
        labelled.retain(|event_id| {
            let keep = open.contains(event_id);
            if !keep {
                let label = event_id.to_string();
                for state in GAUGE_STATES {
                    let _ = self
                        .metrics
                        .queue_places
                        .remove_label_values(&[label.as_str(), state]);
                }
            }
            keep
        });
    }

    /// One tick of one room (see the module doc).
    pub async fn tick(&self, event_id: i64) -> anyhow::Result<()> {
        let Some(event) = crate::events::store::find(&self.db, event_id).await? else {
            return Ok(());
        };
        let now = Utc::now();
        let over = if event.closed_at.is_some() {
            Some(QueueClosedReason::Closed)
        } else if now >= event.end_time {
            Some(QueueClosedReason::Ended)
        } else if event.issued_count >= event.total_count {
            Some(QueueClosedReason::SoldOut)
        } else {
            None
        };
        if let Some(reason) = over {
            return self.close(&event, reason).await;
        }
        let drawn = if event.admission == Admission::Draw {
            self.draw_steps(&event, now).await?
        } else {
            self.queue_steps(&event, now).await?;
            false
        };
        // One pass over the places a tick: the progress, and for a draw
        // whether its ranked list ran out (nobody waiting, no win pending).
        let progress = self.progress_of(&event).await?;
        if drawn && progress.waiting == 0 && progress.held == 0 {
            return self.close(&event, QueueClosedReason::Exhausted).await;
        }
        self.publish_progress(&event, progress).await
    }

    /// The waiting room's steps from the start on: draw the pre-queue,
    /// place late joiners, expire, admit.
    async fn queue_steps(&self, event: &Event, now: chrono::DateTime<Utc>) -> anyhow::Result<()> {
        if now < event.start_time + DRAW_DELAY {
            return Ok(());
        }
        let entrants = Entrants::JoinedBefore(event.start_time);
        if let Some(n) = store::draw(&self.db, event.id, entrants).await? {
            tracing::info!(event.id = event.id, ranked = n, "waiting room drawn");
        }
        store::place_late_joiners(&self.db, event.id).await?;
        self.expire_and_admit(event).await?;
        Ok(())
    }

    /// Gives lapsed holds back and admits the next places; `None` when the
    /// event could not be loaded into Redis (nothing done this tick).
    pub(super) async fn expire_and_admit(&self, event: &Event) -> anyhow::Result<Option<usize>> {
        if !rebuild::ensure_loaded(&self.redis, &self.db, event.id).await? {
            return Ok(None);
        }
        self.expire(event.id).await?;
        self.admit(event).await.map(Some)
    }

    pub(super) async fn close(
        &self,
        event: &Event,
        reason: QueueClosedReason,
    ) -> anyhow::Result<()> {
        if let Some(rows) = store::close(&self.db, event.id, reason).await? {
            tracing::info!(
                event.id = event.id,
                reason = reason.as_str(),
                "waiting room closed"
            );
            self.handoff.pass(rows);
        }
        // The room's last word, kept as long as anyone may ask: status reads
        // take "closed" from it.
        let mut last = self.progress_of(event).await?;
        last.closed_reason = Some(reason.as_str().to_owned());
        self.holds
            .put_progress(event.id, &last, CLOSED_PROGRESS_TTL)
            .await?;
        Ok(())
    }

    /// Takes back lapsed holds; their units go to the next places.
    async fn expire(&self, event_id: i64) -> anyhow::Result<()> {
        let lapsed = store::lapsed(&self.db, event_id).await?;
        let gone = self.holds.expire(event_id, &lapsed).await?;
        if !gone.is_empty() {
            let expired = store::record_expired(&self.db, event_id, &gone).await?;
            self.metrics.queue_holds_expired.inc_by(expired);
        }
        Ok(())
    }

    /// Admits the next waiting places while free units stand behind them;
    /// returns how many were admitted.
    async fn admit(&self, event: &Event) -> anyhow::Result<usize> {
        let Some(stock) = self.holds.stock(event.id).await? else {
            return Ok(0);
        };
        if stock.free <= 0 {
            return Ok(0);
        }
        let next =
            store::next_waiting(&self.db, event.id, stock.free.min(store::TICK_BATCH)).await?;
        if next.is_empty() {
            return Ok(0);
        }
        let users: Vec<i64> = next.iter().map(|(u, _)| *u).collect();
        // Redis' clock is the one the press compares with; PostgreSQL's is
        // close enough for the record (a restored hold gets this value).
        let claim_by = Utc::now() + chrono::TimeDelta::seconds(i64::from(event.claim_window_secs));
        let Some(admitted) = self
            .holds
            .admit(event.id, claim_by.timestamp_millis(), &users)
            .await?
        else {
            return Ok(0);
        };
        if admitted.is_empty() {
            return Ok(0);
        }
        let (rows, gone) =
            store::record_admitted(&self.db, event.id, event.admission, &admitted, claim_by)
                .await?;
        let told = rows.len();
        self.handoff.pass(rows);
        // Left between the read and the grant: their units go on.
        for user in gone {
            self.holds.drop_hold(event.id, user).await?;
        }
        self.metrics.queue_admitted.inc_by(told as u64);
        Ok(told)
    }

    async fn progress_of(&self, event: &Event) -> anyhow::Result<Progress> {
        let counts = store::counts(&self.db, event.id).await?;
        Ok(Progress::of(event, &counts))
    }

    async fn publish_progress(&self, event: &Event, progress: Progress) -> anyhow::Result<()> {
        let label = event.id.to_string();
        let values = [
            progress.waiting,
            progress.held,
            progress.claimed,
            progress.expired,
            progress.left,
            (progress.admitted_per_second * 1000.0) as i64,
        ];
        for (state, value) in GAUGE_STATES.into_iter().zip(values) {
            self.metrics
                .queue_places
                .with_label_values(&[label.as_str(), state])
                .set(value);
        }
        self.labelled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event.id);
        self.holds
            .put_progress(event.id, &progress, PROGRESS_TTL)
            .await?;
        let mut messages = NewMessages::default();
        messages.push(
            QUEUE_PROGRESS,
            &Envelope::new(
                QueueProgress {
                    event_id: event.id,
                    serving: progress.serving,
                    waiting: progress.waiting,
                    remaining: progress.remaining,
                    admitted_per_second: progress.admitted_per_second,
                },
                Utc::now(),
            ),
            None,
        )?;
        let rows = messages.insert(&self.db).await?;
        self.handoff.pass(rows);
        Ok(())
    }
}
