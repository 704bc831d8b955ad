//! `sellout`: N users, stock S, everyone fires at once; measured until sold out.

use std::{sync::Arc, time::Instant};

use serde_json::json;

use super::{ScenarioReport, fire_once, per_sec, record};
use crate::{http, invariants, setup, target::Target};

pub async fn run(
    target: &Arc<Target>,
    users: usize,
    stock: i64,
    concurrency: usize,
) -> anyhow::Result<ScenarioReport> {
    let admin = setup::admin_token(target).await?;
    let people = setup::users(target, users).await?;
    let event = setup::event(target, &admin, stock, 1).await?;

    let started = Instant::now();
    let results = fire_once(target, &people.tokens, event, concurrency, None).await;
    let elapsed = started.elapsed();
    let recorder = record(&results);
    let issued = http::issued(&results);
    let sold_out_after =
        http::last_201(&results).map_or(elapsed, |last| last.duration_since(started));
    let violations = invariants::check(
        target,
        event,
        &invariants::Observed {
            issued: issued.clone(),
            ..Default::default()
        },
    )
    .await?;
    let mut violations = violations;
    if issued.len() as i64 != stock.min(users as i64) {
        violations.push(format!(
            "sellout: {} coupons issued, expected {}",
            issued.len(),
            stock.min(users as i64)
        ));
    }
    Ok(ScenarioReport {
        scenario: "sellout".into(),
        parameters: json!({"users": users, "stock": stock, "concurrency": concurrency, "event_id": event}),
        duration_secs: elapsed.as_secs_f64(),
        requests: results.len() as u64,
        throughput_per_sec: per_sec(results.len() as u64, elapsed),
        rate_name: "issued/s until sold out".into(),
        rate_per_sec: per_sec(issued.len() as u64, sold_out_after),
        latency: recorder.summary(),
        outcomes: recorder.outcomes.clone(),
        extra: json!({"sold_out_after_secs": sold_out_after.as_secs_f64()}),
        violations,
    })
}
