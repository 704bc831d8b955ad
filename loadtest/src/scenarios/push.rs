//! `push`: P users, each with a socket, each wins a coupon; the headline is
//! the latency from the 201 reaching the buyer to `coupon.issued` arriving on
//! the buyer's socket (0 when the push beat the response). With a rate, the
//! buyers press one after another at that rate instead of all at once: the
//! push latency of a sale running below the machine's capacity.

use std::{sync::Arc, time::Instant};

use serde_json::json;

use super::{ScenarioReport, fire_once, per_sec, record, watchers::open_sockets};
use crate::{http, invariants, setup, stats::Recorder, target::Target};

/// Longer than notify-service's default resume window.
const RESUME_WINDOW: std::time::Duration = std::time::Duration::from_millis(1_200);

pub async fn run(
    target: &Arc<Target>,
    users: usize,
    concurrency: usize,
    rate: Option<f64>,
) -> anyhow::Result<ScenarioReport> {
    let admin = setup::admin_token(target).await?;
    let people = setup::users(target, users).await?;
    let event = setup::event(target, &admin, i64::try_from(users)?, 1).await?;
    let pairs = people.pairs();
    let sockets = open_sockets(target, &pairs, &[]).await?;
    // A fresh socket holds personal messages back for notify-service's
    // resume window (websocket.resume_window_ms, 1 s by default) so a
    // reconnecting client gets history and live messages in order; a
    // shopper's page has been open for longer than that when the sale opens.
    tokio::time::sleep(RESUME_WINDOW).await;

    let started = Instant::now();
    let results = fire_once(target, &people.tokens, event, concurrency, rate).await;
    // The sale itself; the checks below are not part of it.
    let elapsed = started.elapsed();
    let issued = http::issued(&results);
    let violations = invariants::check(
        target,
        event,
        &invariants::Observed {
            issued,
            devices: &sockets,
            ..Default::default()
        },
    )
    .await?;

    let mut push = Recorder::default();
    let mut answered = std::collections::HashMap::new();
    for r in &results {
        if let Some(id) = r.coupon_id {
            answered.insert(id, r.finished);
        }
    }
    for socket in &sockets {
        for frame in socket.of_type("coupon.issued") {
            if let Some(finished) = frame.frame()["data"]["couponId"]
                .as_i64()
                .and_then(|id| answered.get(&id))
            {
                push.record("pushed", frame.at.saturating_duration_since(*finished));
            }
        }
    }
    let requests = record(&results);
    for socket in sockets {
        socket.close();
    }
    Ok(ScenarioReport {
        scenario: "push".into(),
        parameters: json!({"users": users, "concurrency": concurrency, "rate": rate, "event_id": event}),
        duration_secs: elapsed.as_secs_f64(),
        requests: results.len() as u64,
        throughput_per_sec: per_sec(results.len() as u64, elapsed),
        rate_name: "pushes received".into(),
        rate_per_sec: push.latency.len() as f64,
        latency: push.summary(),
        outcomes: requests.outcomes.clone(),
        extra: json!({"push_latency": push.summary(), "issue_latency": requests.summary()}),
        violations,
    })
}
