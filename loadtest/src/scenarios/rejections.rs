//! `rejections`: a sold-out event hammered by C clients for T seconds; the
//! headline is rejected requests per second.
//!
//! Around the hammering, what Redis holds (`used_memory`, the keys under
//! the prefix, the idempotency records among them): refused presses, keyed
//! or not, should leave it as it was.

use std::{sync::Arc, time::Duration};

use serde_json::json;

use super::{ScenarioReport, Window, sustained::hammer};
use crate::{http, invariants, redis_usage, setup, target::Target};

pub async fn run(
    target: &Arc<Target>,
    users: usize,
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
) -> anyhow::Result<ScenarioReport> {
    let admin = setup::admin_token(target).await?;
    let people = setup::users(target, users.max(2)).await?;
    let event = setup::event(target, &admin, 1, 1).await?;
    // The one coupon goes first; everyone else is refused.
    let first = http::issue(target, &people.tokens[0], event).await;
    anyhow::ensure!(
        first.coupon_id.is_some(),
        "the first request did not win: {}",
        first.outcome
    );
    let redis_before = redis_usage::read(target).await?;
    let (recorder, issued, elapsed) = hammer(
        target,
        &people.tokens[1..],
        event,
        concurrency,
        duration,
        rate,
    )
    .await;
    let redis_after = redis_usage::read(target).await?;
    let mut all_issued = issued.clone();
    all_issued.extend(first.coupon_id);
    let mut violations = invariants::check(
        target,
        event,
        &invariants::Observed {
            issued: all_issued,
            ..Default::default()
        },
    )
    .await?;
    if !issued.is_empty() {
        violations.push(format!(
            "rejections: {} coupons issued after the sell-out",
            issued.len()
        ));
    }
    let rejected = recorder.count("410") + recorder.count("409");
    Ok(ScenarioReport::timed(
        "rejections",
        json!({"users": users, "concurrency": concurrency, "duration_secs": duration.as_secs(), "rate": rate, "event_id": event}),
        Window { recorder, elapsed },
        "rejected/s",
        rejected,
        json!({
            "redis_used_memory_before_bytes": redis_before.used_memory,
            "redis_used_memory_after_bytes": redis_after.used_memory,
            "redis_used_memory_delta_bytes": redis_before.used_memory_delta(&redis_after),
            "redis_keys_before": redis_before.keys,
            "redis_keys_after": redis_after.keys,
            "redis_idempotency_keys_before": redis_before.idempotency_keys,
            "redis_idempotency_keys_after": redis_after.idempotency_keys,
        }),
        violations,
    ))
}
