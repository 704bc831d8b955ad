//! `sustained`: a large stock, C clients issuing back to back for T seconds.
//! The headline is durable issuances per second.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::json;

use super::{ScenarioReport, per_sec};
use crate::{http, invariants, setup, stats::Recorder, target::Target};

/// `max_per_user` of the event: high, so users are not the limit.
const PER_USER: i64 = 1_000;

pub async fn run(
    target: &Arc<Target>,
    users: usize,
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
) -> anyhow::Result<ScenarioReport> {
    let admin = setup::admin_token(target).await?;
    let people = Arc::new(setup::users(target, users).await?);
    let stock = i64::try_from(users)? * PER_USER;
    let event = setup::event(target, &admin, stock.min(100_000_000), PER_USER).await?;
    let (recorder, issued, elapsed) =
        hammer(target, &people.tokens, event, concurrency, duration, rate).await;
    let violations = invariants::check(
        target,
        event,
        &invariants::Observed {
            issued: issued.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(ScenarioReport {
        scenario: "sustained".into(),
        parameters: json!({"users": users, "concurrency": concurrency, "duration_secs": duration.as_secs(), "rate": rate, "event_id": event}),
        duration_secs: elapsed.as_secs_f64(),
        requests: recorder.latency.len(),
        throughput_per_sec: per_sec(recorder.latency.len(), elapsed),
        rate_name: "issued/s (committed)".into(),
        rate_per_sec: per_sec(issued.len() as u64, elapsed),
        latency: recorder.summary(),
        outcomes: recorder.outcomes,
        extra: json!({}),
        violations,
    })
}

/// C workers issuing for `duration`, worker i cycling through users
/// i, i + C, i + 2C, … With a `rate`, each worker fires on its own schedule
/// (rate / C per second, workers staggered) instead of back to back; a
/// worker behind schedule fires at once until it has caught up.
/// Returns what they saw, the 201 coupon ids and the measured window.
pub async fn hammer(
    target: &Arc<Target>,
    tokens: &[String],
    event: i64,
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
) -> (Recorder, Vec<i64>, Duration) {
    let concurrency = concurrency.max(1);
    // Time between two requests of one worker, when paced.
    let interval = rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(concurrency as f64 / r));
    let tokens: Arc<Vec<String>> = Arc::new(tokens.to_vec());
    let bar = super::progress(duration.as_secs(), "seconds");
    let started = Instant::now();
    let deadline = started + duration;
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                bar.inc(1);
            }
        })
    };
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (target, tokens) = (target.clone(), tokens.clone());
            tokio::spawn(async move {
                let mut recorder = Recorder::default();
                let mut issued = Vec::new();
                let mut next = w;
                // (next send time, interval) when paced.
                let mut pace =
                    interval.map(|i| (started + i.mul_f64(w as f64 / concurrency as f64), i));
                while Instant::now() < deadline {
                    if let Some((at, every)) = pace.as_mut() {
                        tokio::time::sleep_until((*at).into()).await;
                        *at += *every;
                        if Instant::now() >= deadline {
                            break;
                        }
                    }
                    let token = &tokens[next % tokens.len()];
                    next += concurrency;
                    let r = http::issue(&target, token, event).await;
                    recorder.record(&r.outcome, r.latency);
                    issued.extend(r.coupon_id);
                }
                (recorder, issued)
            })
        })
        .collect();
    let mut recorder = Recorder::default();
    let mut issued = Vec::new();
    for worker in workers {
        if let Ok((r, i)) = worker.await {
            recorder.merge(&r);
            issued.extend(i);
        }
    }
    let elapsed = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    (recorder, issued, elapsed)
}
