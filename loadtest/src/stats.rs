//! Latency histograms (HDR, microseconds) and outcome counts.

use std::{collections::BTreeMap, time::Duration};

use hdrhistogram::Histogram;
use serde::Serialize;

/// What one worker saw; merged at the end of a run.
#[derive(Clone)]
pub struct Recorder {
    pub latency: Histogram<u64>,
    /// `"201"`, `"410 sold_out"`, `"error connect"`, …
    pub outcomes: BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            // 1 µs .. 60 s, 3 significant digits.
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant, valid bounds"),
            outcomes: BTreeMap::new(),
        }
    }
}

impl Recorder {
    pub fn record(&mut self, outcome: &str, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = self.latency.record(micros.min(60_000_000));
        // Look up before inserting: no String allocated per request.
        match self.outcomes.get_mut(outcome) {
            Some(count) => *count += 1,
            None => {
                self.outcomes.insert(outcome.to_owned(), 1);
            }
        }
    }

    pub fn merge(&mut self, other: &Recorder) {
        let _ = self.latency.add(&other.latency);
        for (k, v) in &other.outcomes {
            *self.outcomes.entry(k.clone()).or_default() += v;
        }
    }

    pub fn count(&self, prefix: &str) -> u64 {
        self.outcomes
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }

    pub fn summary(&self) -> LatencySummary {
        let ms = |q: f64| self.latency.value_at_quantile(q) as f64 / 1000.0;
        LatencySummary {
            count: self.latency.len(),
            p50_ms: ms(0.50),
            p90_ms: ms(0.90),
            p99_ms: ms(0.99),
            max_ms: self.latency.max() as f64 / 1000.0,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorders_merge_counts_and_quantiles() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for i in 1..=99 {
            a.record("201", Duration::from_millis(i));
        }
        b.record("410 sold_out", Duration::from_millis(1000));
        a.merge(&b);
        assert_eq!(a.count("201"), 99);
        assert_eq!(a.count("410"), 1);
        let s = a.summary();
        assert_eq!(s.count, 100);
        assert!((49.0..=51.0).contains(&s.p50_ms), "{s:?}");
        assert!(s.max_ms >= 999.0);
    }
}
