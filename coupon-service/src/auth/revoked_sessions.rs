//! Access tokens of ended sessions are refused by every instance, not only
//! the one that ended the session: each instance follows `revoked_sessions`
//! (written with every `session.revoked`, `revocation.rs`) into its own
//! in-memory [`Revocations`], which the extractors consult. A request costs
//! a lookup in memory, no store on the hot path; a revocation takes effect
//! everywhere within one poll (`auth.revocation_poll_ms`).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use contract::revocations::{MAX_ENTRIES, REMEMBER_SECS, Revocations};
use prometheus::IntGauge;
use sqlx::PgPool;
use uuid::Uuid;

/// How far back each read looks before the previous one (seconds):
/// `revoked_at` is taken before its transaction commits, so a transaction
/// that committed after a read may carry an earlier time than that read.
/// Reading a row twice is harmless.
const OVERLAP_SECS: i64 = 30;

/// Reads the revocations of the last hour, then every `every` those made
/// since, into `known`, and shows how many it holds on `held`. Runs on every
/// instance.
pub async fn follow_loop(db: PgPool, known: Arc<Revocations>, held: IntGauge, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut read_up_to: Option<DateTime<Utc>> = None;
    let mut failing = false;
    loop {
        tick.tick().await;
        match read(&db, read_up_to, &known).await {
            Ok(up_to) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("revoked sessions are read again");
                }
                read_up_to = Some(up_to);
                held.set(i64::try_from(known.len()).unwrap_or(i64::MAX));
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "could not read the revoked sessions; retrying");
            }
            Err(_) => {}
        }
    }
}

/// Records the revocations after `after` (minus [`OVERLAP_SECS`]; the last hour
/// when `None`); returns the database's time of this read.
async fn read(
    db: &PgPool,
    after: Option<DateTime<Utc>>,
    known: &Revocations,
) -> sqlx::Result<DateTime<Utc>> {
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(db).await?;
    let from = match after {
        Some(previous) => previous - TimeDelta::seconds(OVERLAP_SECS),
        None => now - TimeDelta::seconds(REMEMBER_SECS as i64),
    };
    // Sessions and whole accounts apart, the newest of each up to the bound
    // `known` keeps: many logouts must not hide an account's disable.
    for accounts in [false, true] {
        let rows: Vec<(i64, Option<Uuid>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT user_id, session_id, revoked_at FROM revoked_sessions \
             WHERE revoked_at > $1 AND (session_id IS NULL) = $3 \
             ORDER BY revoked_at DESC LIMIT $2",
        )
        .bind(from)
        .bind(MAX_ENTRIES as i64)
        .bind(accounts)
        .fetch_all(db)
        .await?;
        for (user_id, session, at) in rows.into_iter().rev() {
            known.record(
                user_id,
                session,
                u64::try_from(at.timestamp()).unwrap_or_default(),
            );
        }
    }
    Ok(now)
}

/// Deletes revocations older than any access token they could refuse.
pub async fn purge(db: &PgPool) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM revoked_sessions WHERE revoked_at < now() - $1::interval")
            .bind(format!("{REMEMBER_SECS} seconds"))
            .execute(db)
            .await?
            .rows_affected(),
    )
}
