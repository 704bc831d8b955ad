//! The two housekeeping loops of issuance, run by every instance:
//! - preload: every live event is loaded in Redis before its sale opens, and
//!   reloaded soon after Redis lost it; an event whose Redis copy is older
//!   than PostgreSQL's sale state (an admin write that never reached Redis,
//!   a close included) gets PostgreSQL's state;
//! - sweep: reservations left pending by a crash or an ambiguous COMMIT are
//!   settled by what PostgreSQL holds.
//!
//! Both are idempotent, so instances running them concurrently is safe.

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;

use super::{batch_writer::holders, rebuild, redis_state::RedisState};
use crate::{events::store, metrics::Metrics};

pub async fn preload_loop(db: PgPool, redis: RedisState, metrics: Arc<Metrics>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = preload_once(&db, &redis, &metrics).await {
            tracing::debug!(error = %e, "preload pass skipped");
        }
    }
}

/// One pass: one read of the version per recent event; a load or a repair
/// only where Redis lacks a live event or holds an older state.
pub async fn preload_once(
    db: &PgPool,
    redis: &RedisState,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    for event in store::recent_versions(db).await? {
        let Some(version) = redis.loaded_version(event.id).await? else {
            if event.live && rebuild::ensure_loaded(redis, db, event.id).await? {
                metrics.redis_rebuilds.inc();
            }
            continue;
        };
        if version < event.state_version && rebuild::repair(redis, db, event.id).await? {
            metrics.redis_state_repairs.inc();
        }
    }
    Ok(())
}

pub async fn sweep_loop(
    db: PgPool,
    redis: RedisState,
    metrics: Arc<Metrics>,
    every: Duration,
    older_than: Duration,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = sweep_once(&db, &redis, &metrics, older_than).await {
            tracing::debug!(error = %e, "sweep pass skipped");
        }
    }
}

/// Settles every reservation pending for longer than `older_than`. Returns
/// how many it settled.
pub async fn sweep_once(
    db: &PgPool,
    redis: &RedisState,
    metrics: &Metrics,
    older_than: Duration,
) -> anyhow::Result<usize> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let cutoff = now_ms - i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
    let mut settled = 0;
    for event_id in store::recent_ids(db).await? {
        for r in redis.pending(event_id).await? {
            if r.reserved_ms > cutoff {
                continue;
            }
            let held = holders(db, &r).await?;
            let result = if held.committed {
                redis
                    .release(&r, false, false)
                    .await?
                    .then_some("confirmed")
            } else {
                redis
                    .release(&r, !held.ticket_held, !held.slot_held)
                    .await?
                    .then_some("given_back")
            };
            if let Some(result) = result {
                tracing::info!(
                    event.id = event_id,
                    ticket = r.ticket,
                    result,
                    "settled a stale reservation"
                );
                metrics
                    .sweeper_reconciled
                    .with_label_values(&[result])
                    .inc();
                settled += 1;
            }
        }
    }
    Ok(settled)
}
