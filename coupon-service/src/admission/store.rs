//! PostgreSQL side of the waiting room: places (one per account and
//! event), the queue's seed and draw, admissions and their expiry. What is
//! recorded here survives any Redis loss: an admission is written here
//! before its user is told, and a rebuilt Redis gets its hold back
//! (`issuance::rebuild`).

use chrono::{DateTime, Utc};
use contract::messages::{
    DRAW_LOST, DRAW_WON, DrawLost, DrawWon, Envelope, QUEUE_ADMITTED, QUEUE_CLOSED, QueueAdmitted,
    QueueClosed, QueueClosedReason,
};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use super::{Admission, ranking};
use crate::outbox::store::{NewMessages, OutboxRow};

/// Most late joiners given a position in one tick, and most holds looked
/// at for expiry in one tick: bounds one tick's work.
pub const TICK_BATCH: i64 = 10_000;

/// Where a place stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaceState {
    Waiting,
    /// Holding a unit until `claim_by`.
    Admitted,
    /// Pressed in time: the coupon is theirs.
    Claimed,
    /// The claim window passed unclaimed.
    Expired,
    Left,
    /// The room closed before this place was admitted.
    Closed,
}

/// A place as stored, with whether its user holds the event's coupon.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlaceRow {
    pub user_id: i64,
    pub joined_at: DateTime<Utc>,
    pub position: Option<i32>,
    pub state: String,
    pub claim_by: Option<DateTime<Utc>>,
    pub claimed: bool,
}

impl PlaceRow {
    /// Admitted, unclaimed, and its claim deadline passed: lapsed, though
    /// the room's next tick may not have recorded it yet. A press now is
    /// refused, so no read says otherwise.
    pub fn lapsed(&self, now: DateTime<Utc>) -> bool {
        self.state == "admitted" && !self.claimed && self.claim_by.is_some_and(|by| by <= now)
    }

    /// The state a user sees (`closed` needs the room's state).
    pub fn state(&self, room_closed: bool) -> PlaceState {
        match self.state.as_str() {
            _ if self.claimed => PlaceState::Claimed,
            _ if self.lapsed(Utc::now()) => PlaceState::Expired,
            "admitted" => PlaceState::Admitted,
            "expired" => PlaceState::Expired,
            "left" => PlaceState::Left,
            _ if room_closed => PlaceState::Closed,
            _ => PlaceState::Waiting,
        }
    }
}

/// The room row of an event (a queue's or a draw's).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRow {
    pub seed: Vec<u8>,
    pub drawn_at: Option<DateTime<Utc>>,
    pub pre_queue_count: Option<i32>,
    pub closed_reason: Option<String>,
    /// A draw's: when its entries were sealed, their digest, the beacon
    /// the draw used.
    pub sealed_at: Option<DateTime<Utc>>,
    pub entrants_digest: Option<String>,
    pub beacon: Option<String>,
}

/// Whether place `p` got its coupon. A claimed place keeps the state
/// `admitted`, and every coupon of a queued event is a claimed admission.
/// A macro so the queries stay literals (`concat!`).
macro_rules! claimed {
    () => {
        "EXISTS (SELECT 1 FROM user_coupons c WHERE c.event_id = p.event_id AND c.user_id = p.user_id)"
    };
}

const PLACE: &str = concat!(
    "SELECT p.user_id, p.joined_at, p.position, p.state, p.claim_by, ",
    claimed!(),
    " AS claimed FROM queue_places p WHERE p.event_id = $1 AND p.user_id = $2"
);

pub async fn place(db: &PgPool, event_id: i64, user_id: i64) -> sqlx::Result<Option<PlaceRow>> {
    sqlx::query_as(PLACE)
        .bind(event_id)
        .bind(user_id)
        .fetch_optional(db)
        .await
}

pub async fn queue(db: &PgPool, event_id: i64) -> sqlx::Result<Option<QueueRow>> {
    sqlx::query_as(
        "SELECT seed, drawn_at, pre_queue_count, closed_reason, sealed_at, entrants_digest, beacon \
         FROM event_queues WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_optional(db)
    .await
}

/// When the account was made (the "accounts older than the queue" rule).
pub async fn account_created(db: &PgPool, user_id: i64) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT created_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await
}

/// Places taken in the event's queue (left ones included).
pub async fn count_places(db: &PgPool, event_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM queue_places WHERE event_id = $1")
        .bind(event_id)
        .fetch_one(db)
        .await
}

/// Joins the queue: a new place, or back in after leaving (at the back);
/// `None` when the account holds a place already (a concurrent join made
/// it: read it with [`place`]).
pub async fn join(db: &PgPool, event_id: i64, user_id: i64) -> sqlx::Result<Option<PlaceRow>> {
    sqlx::query_as(
        "INSERT INTO queue_places (event_id, user_id) VALUES ($1, $2) \
         ON CONFLICT (event_id, user_id) DO UPDATE SET state = 'waiting', \
           arrival = nextval(pg_get_serial_sequence('queue_places', 'arrival')), \
           joined_at = now(), position = NULL, admitted_at = NULL, claim_by = NULL \
         WHERE queue_places.state = 'left' \
         RETURNING user_id, joined_at, position, state, claim_by, false AS claimed",
    )
    .bind(event_id)
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// The draw's entry lock (a transaction-scoped advisory lock keyed by the
/// event id): entries and withdrawals take it shared, the seal alone.
async fn entry_lock(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    event_id: i64,
    alone: bool,
) -> sqlx::Result<()> {
    let lock = if alone {
        "SELECT pg_advisory_xact_lock($1)"
    } else {
        "SELECT pg_advisory_xact_lock_shared($1)"
    };
    sqlx::query(lock).bind(event_id).execute(&mut **tx).await?;
    Ok(())
}

/// Enters a draw: a new entry, or back in after withdrawing; `None` when
/// the account holds an entry already (read it with [`place`]) or the
/// entries are closed or sealed. Entries and withdrawals share the draw's
/// advisory lock (keyed by the event id), which sealing takes alone: once
/// the entrant list's digest is written, nothing in flight can change the
/// list.
pub async fn enter(db: &PgPool, event_id: i64, user_id: i64) -> sqlx::Result<Option<PlaceRow>> {
    let mut tx = db.begin().await?;
    entry_lock(&mut tx, event_id, false).await?;
    let entry = sqlx::query_as(
        "INSERT INTO queue_places (event_id, user_id) \
         SELECT $1, $2 FROM event_queues q JOIN coupon_events e ON e.id = q.event_id \
         WHERE q.event_id = $1 AND q.sealed_at IS NULL AND statement_timestamp() < e.entry_closes_at \
         ON CONFLICT (event_id, user_id) DO UPDATE SET state = 'waiting', \
           arrival = nextval(pg_get_serial_sequence('queue_places', 'arrival')), \
           joined_at = now(), position = NULL, admitted_at = NULL, claim_by = NULL \
         WHERE queue_places.state = 'left' \
         RETURNING user_id, joined_at, position, state, claim_by, false AS claimed",
    )
    .bind(event_id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(entry)
}

/// Withdraws a draw entry while the entries are open; false when they are
/// closed or sealed (or there was no entry to withdraw).
pub async fn withdraw(db: &PgPool, event_id: i64, user_id: i64) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    entry_lock(&mut tx, event_id, false).await?;
    let done = sqlx::query(
        "UPDATE queue_places p SET state = 'left' FROM event_queues q, coupon_events e \
         WHERE p.event_id = $1 AND p.user_id = $2 AND p.state = 'waiting' \
         AND q.event_id = $1 AND q.sealed_at IS NULL \
         AND e.id = $1 AND statement_timestamp() < e.entry_closes_at",
    )
    .bind(event_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    tx.commit().await?;
    Ok(done)
}

/// Leaves the queue (waiting or admitted); a claimed place stays as it is:
/// the coupon is the user's.
pub async fn leave(db: &PgPool, event_id: i64, user_id: i64) -> sqlx::Result<()> {
    sqlx::query(concat!(
        "UPDATE queue_places p SET state = 'left' WHERE p.event_id = $1 AND p.user_id = $2 \
         AND p.state IN ('waiting', 'admitted') AND NOT ",
        claimed!()
    ))
    .bind(event_id)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Who a draw ranks, and with what.
pub enum Entrants {
    /// The waiting room: the places that joined before the start, seed
    /// alone.
    JoinedBefore(DateTime<Utc>),
    /// The draw: every entry (sealed when the entries closed), seed and
    /// the beacon stored on the event (hex; none: empty).
    Sealed,
}

/// The draw: the entrants get positions 1..N in the seeded ranking. Once
/// per room; the number ranked, or `None` when it was drawn already.
pub async fn draw(db: &PgPool, event_id: i64, entrants: Entrants) -> sqlx::Result<Option<i32>> {
    let mut tx = db.begin().await?;
    let queue: Option<(Vec<u8>, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT seed, drawn_at FROM event_queues WHERE event_id = $1 FOR UPDATE")
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((seed, None)) = queue else {
        return Ok(None);
    };
    let (users, beacon): (Vec<i64>, Option<String>) = match entrants {
        Entrants::JoinedBefore(start) => (
            sqlx::query_scalar(
                "SELECT user_id FROM queue_places WHERE event_id = $1 AND state = 'waiting' \
                 AND joined_at < $2",
            )
            .bind(event_id)
            .bind(start)
            .fetch_all(&mut *tx)
            .await?,
            None,
        ),
        Entrants::Sealed => (
            sqlx::query_scalar(
                "SELECT user_id FROM queue_places WHERE event_id = $1 AND state = 'waiting'",
            )
            .bind(event_id)
            .fetch_all(&mut *tx)
            .await?,
            sqlx::query_scalar("SELECT draw_beacon FROM coupon_events WHERE id = $1")
                .bind(event_id)
                .fetch_one(&mut *tx)
                .await?,
        ),
    };
    let beacon_bytes = beacon
        .as_deref()
        .and_then(ranking::unhex)
        .unwrap_or_default();
    let ranked = ranking::ranked_with(&seed, &beacon_bytes, users);
    let count = i32::try_from(ranked.len()).unwrap_or(i32::MAX);
    sqlx::query(
        "UPDATE queue_places p SET position = r.position FROM \
         UNNEST($2::bigint[]) WITH ORDINALITY AS r(user_id, position) \
         WHERE p.event_id = $1 AND p.user_id = r.user_id",
    )
    .bind(event_id)
    .bind(&ranked)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE event_queues SET drawn_at = now(), pre_queue_count = $2, last_position = $2, \
         beacon = $3 WHERE event_id = $1",
    )
    .bind(event_id)
    .bind(count)
    .bind(beacon)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(count))
}

/// Seals a draw's entries once (the entry window closed): the digest of
/// the entrant list, public from now on. True when this call sealed them.
pub async fn seal(db: &PgPool, event_id: i64) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    // Waits for the entries and withdrawals in flight (see [`enter`]).
    entry_lock(&mut tx, event_id, true).await?;
    let unsealed: Option<bool> = sqlx::query_scalar(
        "SELECT sealed_at IS NULL FROM event_queues WHERE event_id = $1 FOR UPDATE",
    )
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await?;
    if unsealed != Some(true) {
        return Ok(false);
    }
    let entrants: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM queue_places WHERE event_id = $1 AND state = 'waiting'",
    )
    .bind(event_id)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE event_queues SET sealed_at = now(), entrants_digest = $2 WHERE event_id = $1",
    )
    .bind(event_id)
    .bind(contract::admission::entrants_digest(&entrants))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Late joiners (after the draw) get the next positions in arrival order.
pub async fn place_late_joiners(db: &PgPool, event_id: i64) -> sqlx::Result<u64> {
    let mut tx = db.begin().await?;
    let last: Option<i32> = sqlx::query_scalar(
        "SELECT last_position FROM event_queues WHERE event_id = $1 AND drawn_at IS NOT NULL FOR UPDATE",
    )
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(last) = last else {
        return Ok(0);
    };
    let placed = sqlx::query(
        "UPDATE queue_places p SET position = $2 + l.n FROM \
         (SELECT user_id, row_number() OVER (ORDER BY arrival) AS n FROM queue_places \
          WHERE event_id = $1 AND position IS NULL AND state = 'waiting' ORDER BY arrival LIMIT $3) l \
         WHERE p.event_id = $1 AND p.user_id = l.user_id",
    )
    .bind(event_id)
    .bind(last)
    .bind(TICK_BATCH)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if placed > 0 {
        sqlx::query(
            "UPDATE event_queues SET last_position = last_position + $2 WHERE event_id = $1",
        )
        .bind(event_id)
        .bind(i32::try_from(placed).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(placed)
}

/// The next waiting places in order: (user, position).
pub async fn next_waiting(db: &PgPool, event_id: i64, limit: i64) -> sqlx::Result<Vec<(i64, i32)>> {
    sqlx::query_as(
        "SELECT user_id, position FROM queue_places WHERE event_id = $1 AND state = 'waiting' \
         AND position IS NOT NULL ORDER BY position LIMIT $2",
    )
    .bind(event_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Records admissions Redis granted, with each user's `queue.admitted`
/// (a draw's `draw.won`) in the same transaction. Returns the outbox rows
/// and the users that were no longer waiting (they left meanwhile: their
/// holds go back).
pub async fn record_admitted(
    db: &PgPool,
    event_id: i64,
    mode: Admission,
    users: &[i64],
    claim_by: DateTime<Utc>,
) -> sqlx::Result<(Vec<OutboxRow>, Vec<i64>)> {
    let mut tx = db.begin().await?;
    let admitted: Vec<(i64, i32)> = sqlx::query_as(
        "UPDATE queue_places SET state = 'admitted', admitted_at = now(), claim_by = $3 \
         WHERE event_id = $1 AND user_id = ANY($2) AND state = 'waiting' RETURNING user_id, position",
    )
    .bind(event_id)
    .bind(users)
    .bind(claim_by)
    .fetch_all(&mut *tx)
    .await?;
    let mut messages = NewMessages::default();
    let now = Utc::now();
    if mode == Admission::Draw {
        // A draw's first round wins by the thousand: written packed.
        let won: Vec<Envelope<DrawWon>> = admitted
            .iter()
            .map(|&(user_id, rank)| {
                let won = DrawWon {
                    user_id,
                    event_id,
                    rank: i64::from(rank),
                    claim_by,
                };
                Envelope::new(won, now)
            })
            .collect();
        messages.push_packed(DRAW_WON, &won)?;
    } else {
        for &(user_id, position) in &admitted {
            let admitted = QueueAdmitted {
                user_id,
                event_id,
                position: i64::from(position),
                claim_by,
            };
            messages.push(QUEUE_ADMITTED, &Envelope::new(admitted, now), None)?;
        }
    }
    let rows = messages.insert(&mut *tx).await?;
    // Admitted earlier (a tick that crashed before telling) count as told
    // only if they are still admitted; anyone else is not waiting any more.
    let still: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM queue_places WHERE event_id = $1 AND user_id = ANY($2) AND state = 'admitted'",
    )
    .bind(event_id)
    .bind(users)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let gone = users
        .iter()
        .copied()
        .filter(|u| !still.contains(u))
        .collect();
    Ok((rows, gone))
}

/// Tells the next `limit` entrants not drawn (waiting, with a position
/// past those told so far) with one `draw.lost` each, in the transaction
/// that moves the cursor; returns the outbox rows (empty: all told).
pub async fn tell_not_drawn(
    db: &PgPool,
    event_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<OutboxRow>> {
    let mut tx = db.begin().await?;
    let told: Option<i32> = sqlx::query_scalar(
        "SELECT lost_told_upto FROM event_queues WHERE event_id = $1 FOR UPDATE",
    )
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(told) = told else {
        return Ok(Vec::new());
    };
    let next: Vec<(i64, i32)> = sqlx::query_as(
        "SELECT user_id, position FROM queue_places WHERE event_id = $1 AND state = 'waiting' \
         AND position > $2 ORDER BY position LIMIT $3",
    )
    .bind(event_id)
    .bind(told)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let Some(&(_, last)) = next.last() else {
        return Ok(Vec::new());
    };
    let now = Utc::now();
    let lost: Vec<Envelope<DrawLost>> = next
        .into_iter()
        .map(|(user_id, rank)| {
            let lost = DrawLost {
                user_id,
                event_id,
                rank: i64::from(rank),
            };
            Envelope::new(lost, now)
        })
        .collect();
    let mut messages = NewMessages::default();
    messages.push_packed(DRAW_LOST, &lost)?;
    let rows = messages.insert(&mut *tx).await?;
    sqlx::query("UPDATE event_queues SET lost_told_upto = $2 WHERE event_id = $1")
        .bind(event_id)
        .bind(last)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// Draws the admin moved forward ("draw now"): the draw time becomes now
/// for a draw not drawn yet. The new draw time when it changed.
pub async fn draw_now(db: &mut PgConnection, event_id: i64) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar(
        "UPDATE coupon_events SET draw_at = now(), updated_at = now() \
         WHERE id = $1 AND admission = 'draw' AND draw_at > now() RETURNING draw_at",
    )
    .bind(event_id)
    .fetch_optional(db)
    .await
}

/// Admitted users whose claim window passed and who hold no coupon.
pub async fn lapsed(db: &PgPool, event_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(concat!(
        "SELECT p.user_id FROM queue_places p WHERE p.event_id = $1 AND p.state = 'admitted' \
             AND p.claim_by <= now() AND NOT ",
        claimed!(),
        " ORDER BY p.claim_by LIMIT $2"
    ))
    .bind(event_id)
    .bind(TICK_BATCH)
    .fetch_all(db)
    .await
}

/// Marks lapsed admissions expired (unless a coupon got in meanwhile).
pub async fn record_expired(db: &PgPool, event_id: i64, users: &[i64]) -> sqlx::Result<u64> {
    Ok(sqlx::query(concat!(
        "UPDATE queue_places p SET state = 'expired' WHERE p.event_id = $1 \
             AND p.user_id = ANY($2) AND p.state = 'admitted' AND NOT ",
        claimed!()
    ))
    .bind(event_id)
    .bind(users)
    .execute(db)
    .await?
    .rows_affected())
}

/// The room's counts, for progress, status and the admin panel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct Counts {
    pub waiting: i64,
    /// Admitted and holding (not claimed yet).
    pub admitted: i64,
    pub claimed: i64,
    pub expired: i64,
    pub left: i64,
    /// The highest position admitted so far.
    pub serving: i64,
    /// Admitted in the last [`RATE_WINDOW_SECS`] seconds.
    pub admitted_recently: i64,
    /// Admission rounds so far (one per tick that admitted anyone).
    pub rounds: i64,
}

/// The window the admission rate is measured over (the counts' query).
pub const RATE_WINDOW_SECS: i64 = 10;

impl Counts {
    pub fn admitted_per_second(&self) -> f64 {
        self.admitted_recently as f64 / RATE_WINDOW_SECS as f64
    }
}

/// One pass over the event's places. A claimed place keeps the state
/// `admitted` (expiry and leaving skip places with a coupon), and every
/// coupon of a queued event was claimed through an admission: the event's
/// coupon count is the claimed count, read with the rest.
pub async fn counts(db: &PgPool, event_id: i64) -> sqlx::Result<Counts> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE p.state = 'waiting') AS waiting, \
         GREATEST(count(*) FILTER (WHERE p.state = 'admitted') - e.issued, 0) AS admitted, \
         e.issued AS claimed, \
         count(*) FILTER (WHERE p.state = 'expired') AS expired, \
         count(*) FILTER (WHERE p.state = 'left') AS left, \
         COALESCE(max(p.position) FILTER (WHERE p.admitted_at IS NOT NULL), 0)::bigint AS serving, \
         count(*) FILTER (WHERE p.admitted_at > now() - make_interval(secs => $2)) AS admitted_recently, \
         count(DISTINCT p.admitted_at) AS rounds \
         FROM (SELECT issued_count::bigint AS issued FROM coupon_events WHERE id = $1) e \
         LEFT JOIN queue_places p ON p.event_id = $1 GROUP BY e.issued",
    )
    .bind(event_id)
    .bind(RATE_WINDOW_SECS as f64)
    .fetch_one(db)
    .await
}

/// Closes the room once, with its `queue.closed` in the same transaction;
/// the outbox rows when this call closed it.
pub async fn close(
    db: &PgPool,
    event_id: i64,
    reason: QueueClosedReason,
) -> sqlx::Result<Option<Vec<OutboxRow>>> {
    let mut tx = db.begin().await?;
    let closed = sqlx::query(
        "UPDATE event_queues SET closed_at = now(), closed_reason = $2 \
         WHERE event_id = $1 AND closed_at IS NULL",
    )
    .bind(event_id)
    .bind(reason.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !closed {
        return Ok(None);
    }
    let mut messages = NewMessages::default();
    messages.push(
        QUEUE_CLOSED,
        &Envelope::new(QueueClosed { event_id, reason }, Utc::now()),
        None,
    )?;
    let rows = messages.insert(&mut *tx).await?;
    tx.commit().await?;
    Ok(Some(rows))
}

/// The admissions not yet claimed whose window is still open: user →
/// claim_by (unix ms), for a rebuilt Redis.
pub async fn unclaimed_holds(
    db: &mut PgConnection,
    event_id: i64,
) -> sqlx::Result<Vec<(i64, i64)>> {
    let rows: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(concat!(
        "SELECT p.user_id, p.claim_by FROM queue_places p WHERE p.event_id = $1 \
             AND p.state = 'admitted' AND p.claim_by > now() AND NOT ",
        claimed!()
    ))
    .bind(event_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(u, by)| (u, by.timestamp_millis()))
        .collect())
}

/// Queued or drawn events whose room may need a tick: open, not closed,
/// not over a minute past the end.
pub async fn open_rooms(db: &PgPool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT e.id FROM coupon_events e JOIN event_queues q ON q.event_id = e.id \
         WHERE e.admission IN ('queue', 'draw') AND q.closed_at IS NULL \
         AND COALESCE(e.queue_opens_at, e.entry_opens_at) <= now() \
         AND e.end_time > now() - interval '1 minute' ORDER BY e.id",
    )
    .fetch_all(db)
    .await
}

/// The admission rounds so far, oldest first.
pub async fn rounds(db: &PgPool, event_id: i64) -> sqlx::Result<Vec<(DateTime<Utc>, i64)>> {
    sqlx::query_as(
        "SELECT admitted_at, count(*) FROM queue_places WHERE event_id = $1 \
         AND admitted_at IS NOT NULL GROUP BY admitted_at ORDER BY admitted_at",
    )
    .bind(event_id)
    .fetch_all(db)
    .await
}

/// A place with a position, as the proof tells it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProofPlace {
    pub user_id: i64,
    pub position: i32,
    /// When it was admitted (one time per tick: a tick admits a run of
    /// positions at once).
    pub admitted_at: Option<DateTime<Utc>>,
    /// Left before being admitted: skipped by admission.
    pub left_unadmitted: bool,
}

/// Every place with a position, in position order.
pub async fn proof_places(db: &PgPool, event_id: i64) -> sqlx::Result<Vec<ProofPlace>> {
    sqlx::query_as(
        "SELECT user_id, position, admitted_at, (state = 'left' AND admitted_at IS NULL) AS left_unadmitted \
         FROM queue_places \
         WHERE event_id = $1 AND position IS NOT NULL ORDER BY position",
    )
    .bind(event_id)
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(claim_by: DateTime<Utc>, claimed: bool) -> PlaceRow {
        PlaceRow {
            user_id: 1,
            joined_at: claim_by - chrono::TimeDelta::minutes(5),
            position: Some(1),
            state: "admitted".into(),
            claim_by: Some(claim_by),
            claimed,
        }
    }

    #[test]
    fn an_admission_past_its_claim_deadline_reads_expired_before_the_tick_records_it() {
        let now = Utc::now();
        let running = admitted(now + chrono::TimeDelta::seconds(20), false);
        assert_eq!(running.state(false), PlaceState::Admitted);
        let lapsed = admitted(now - chrono::TimeDelta::milliseconds(1), false);
        assert_eq!(lapsed.state(false), PlaceState::Expired);
        assert!(lapsed.lapsed(now));
        let claimed = admitted(now - chrono::TimeDelta::seconds(5), true);
        assert_eq!(claimed.state(false), PlaceState::Claimed);
        assert!(!claimed.lapsed(now));
    }
}
