//! The scenarios of the benchmark issue. Each prepares its own event and
//! users, runs, measures, and checks the invariants.

pub mod crowd;
pub mod draw;
pub mod idle;
pub mod losers;
pub mod push;
pub mod queue;
pub mod reads;
pub mod rejections;
pub mod sellout;
pub mod sustained;
pub mod watchers;

use std::{sync::Arc, time::Duration};

use serde::Serialize;
use serde_json::Value;

use crate::{
    http::{self, IssueResult},
    stats::{LatencySummary, Recorder},
    target::Target,
};

/// One scenario's result, printed as a table row and written as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: String,
    pub parameters: Value,
    pub duration_secs: f64,
    pub requests: u64,
    /// Requests per second over the measured window.
    pub throughput_per_sec: f64,
    /// The scenario's headline rate (issued/s, rejected/s, …) and its name.
    pub rate_name: String,
    pub rate_per_sec: f64,
    pub latency: LatencySummary,
    pub outcomes: std::collections::BTreeMap<String, u64>,
    /// Scenario-specific numbers (fan-out latency, memory per connection…).
    pub extra: Value,
    pub violations: Vec<String>,
}

/// The window of a timed scenario (sustained, rejections, losers, reads):
/// what its workers recorded over `elapsed`.
pub struct Window {
    pub recorder: Recorder,
    pub elapsed: Duration,
}

impl ScenarioReport {
    /// A timed scenario's report: `headline` of the recorded requests, per
    /// second, named `rate_name`.
    pub fn timed(
        scenario: &str,
        parameters: Value,
        window: Window,
        rate_name: &str,
        headline: u64,
        extra: Value,
        violations: Vec<String>,
    ) -> Self {
        let Window { recorder, elapsed } = window;
        Self {
            scenario: scenario.into(),
            parameters,
            duration_secs: elapsed.as_secs_f64(),
            requests: recorder.latency.len(),
            throughput_per_sec: per_sec(recorder.latency.len(), elapsed),
            rate_name: rate_name.into(),
            rate_per_sec: per_sec(headline, elapsed),
            latency: recorder.summary(),
            outcomes: recorder.outcomes,
            extra,
            violations,
        }
    }
}

/// A progress bar for long runs (hidden when stdout is not a terminal).
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:>12} [{bar:40}] {pos}/{len} {per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Fires one issue request per token, at most `concurrency` in flight:
/// all at once, or with a `rate` the i-th at `i / rate` seconds after the
/// start (open loop: a slow answer does not delay the next request).
pub async fn fire_once(
    target: &Arc<Target>,
    tokens: &[String],
    event_id: i64,
    concurrency: usize,
    rate: Option<f64>,
) -> Vec<IssueResult> {
    use futures::stream::{self, StreamExt};
    let bar = progress(tokens.len() as u64, "requests");
    let start = tokio::time::Instant::now();
    let results = stream::iter(tokens.iter().cloned().enumerate())
        .map(|(i, token)| {
            let (target, bar) = (target.clone(), bar.clone());
            async move {
                if let Some(rate) = rate {
                    tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate))
                        .await;
                }
                let r = http::issue(&target, &token, event_id).await;
                bar.inc(1);
                r
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    bar.finish_and_clear();
    results
}

/// Records a batch of results into one recorder.
pub fn record(results: &[IssueResult]) -> Recorder {
    let mut recorder = Recorder::default();
    for r in results {
        recorder.record(&r.outcome, r.latency);
    }
    recorder
}

pub fn per_sec(n: u64, window: Duration) -> f64 {
    if window.is_zero() {
        0.0
    } else {
        n as f64 / window.as_secs_f64()
    }
}
