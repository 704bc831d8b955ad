//! The summary table on stdout and the JSON report file.

use crate::scenarios::ScenarioReport;

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
