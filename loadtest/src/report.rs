//! The summary table on stdout and the JSON report file.

use crate::{scenarios::ScenarioReport, target::Target};

/// The reports of a run, each with the presses its scenario sent (keyed and
/// unkeyed) in its parameters: the scenarios run one after the other, so
/// the target's counts between two reports are the later one's.
#[derive(Default)]
pub struct Reports {
    reports: Vec<ScenarioReport>,
    /// The target's (keyed, unkeyed) counts at the last report.
    counted: (u64, u64),
}

impl Reports {
    pub fn push(&mut self, target: &Target, mut report: ScenarioReport) {
        let (keyed, unkeyed) = target.presses().get();
        let presses = (keyed - self.counted.0, unkeyed - self.counted.1);
        self.counted = (keyed, unkeyed);
        if presses != (0, 0)
            && let Some(parameters) = report.parameters.as_object_mut()
        {
            parameters.insert("keyed".into(), target.config.keyed.into());
            parameters.insert(
                "presses".into(),
                serde_json::json!({"keyed": presses.0, "unkeyed": presses.1}),
            );
        }
        self.reports.push(report);
    }

    pub fn into_vec(self) -> Vec<ScenarioReport> {
        self.reports
    }
}

pub fn print_table(reports: &[ScenarioReport]) {
    println!(
        "{:<11} {:>9} {:>10} {:>14}  {:<26} {:>9} {:>9} {:>9} {:>9}  invariants",
        "scenario", "requests", "req/s", "rate", "rate is", "p50 ms", "p90 ms", "p99 ms", "max ms",
    );
    for r in reports {
        println!(
            "{:<11} {:>9} {:>10.0} {:>14.1}  {:<26} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {}",
            r.scenario,
            r.requests,
            r.throughput_per_sec,
            r.rate_per_sec,
            r.rate_name,
            r.latency.p50_ms,
            r.latency.p90_ms,
            r.latency.p99_ms,
            r.latency.max_ms,
            if r.violations.is_empty() {
                "ok".to_owned()
            } else {
                format!("{} VIOLATED", r.violations.len())
            }
        );
        // Whether the presses carried an `Idempotency-Key` (set by
        // flashload's main for the scenarios that pressed).
        if let Some(presses) = r.parameters.get("presses") {
            println!(
                "{:<11}   presses: {} keyed (Idempotency-Key), {} unkeyed",
                "", presses["keyed"], presses["unkeyed"]
            );
        }
        for (outcome, n) in &r.outcomes {
            println!("{:<11}   {outcome}: {n}", "");
        }
        // Scenario-specific numbers that fit on a line (nested ones: JSON only).
        if let Some(extra) = r.extra.as_object() {
            for (name, value) in extra.iter().filter(|(_, v)| v.is_number()) {
                println!("{:<11}   {name}: {value}", "");
            }
        }
        for v in &r.violations {
            println!("{:<11}   VIOLATION {v}", "");
        }
    }
}

pub fn write_json(path: &std::path::Path, reports: &[ScenarioReport]) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "generated_at": chrono::Utc::now().to_rfc3339(),
        "reports": reports,
    });
    std::fs::write(path, serde_json::to_vec_pretty(&body)?)?;
    Ok(())
}
