//! `reads`: C clients reading one live event (`GET /api/coupons/events/{id}`,
//! what a sale page loads) for T seconds, without signing in. The headline
//! is reads per second; docs/capacity.md turns it into the CPU of one read.

use std::{sync::Arc, time::Duration};

use serde_json::json;

use super::{ScenarioReport, Window, sustained::hammer_with};
use crate::{http, setup, target::Target};

pub async fn run(
    target: &Arc<Target>,
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
) -> anyhow::Result<ScenarioReport> {
    let admin = setup::admin_token(target).await?;
    let event = setup::event(target, &admin, 1_000, 1).await?;
    // Anonymous readers: the token slot carries nothing.
    let readers = vec![String::new(); concurrency.max(1)];
    let (recorder, _, elapsed) = hammer_with(
        target,
        &readers,
        concurrency,
        duration,
        rate,
        move |target, _| async move { http::read_event(&target, event).await },
    )
    .await;
    let mut violations = Vec::new();
    let recorder_ok = recorder.count("200");
    let failed = recorder.latency.len() - recorder_ok;
    if failed > 0 {
        violations.push(format!("reads: {failed} reads did not answer 200"));
    }
    Ok(ScenarioReport::timed(
        "reads",
        json!({"concurrency": concurrency, "duration_secs": duration.as_secs(), "rate": rate, "event_id": event}),
        Window { recorder, elapsed },
        "reads/s",
        recorder_ok,
        json!({}),
        violations,
    ))
}
