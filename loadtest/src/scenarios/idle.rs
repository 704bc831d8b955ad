//! `idle`: K authenticated sockets that do nothing; the headline is the
//! notify-service's resident memory per connection, read from /proc (the
//! sum over every instance given: behind the gateway the sockets spread
//! over several).

use std::{sync::Arc, time::Duration};

use serde_json::json;

use super::{ScenarioReport, watchers::open_sockets};
use crate::{setup, stats::Recorder, target::Target};

/// Resident set size of a process, in KiB (`VmRSS` of /proc/<pid>/status).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for pid {pid}"))
}

/// The resident sets of several processes together, in KiB.
pub fn total_rss_kib(pids: &[u32]) -> anyhow::Result<u64> {
    pids.iter().map(|pid| rss_kib(*pid)).sum()
}

pub async fn run(
    target: &Arc<Target>,
    connections: usize,
    notify_pids: &[u32],
) -> anyhow::Result<ScenarioReport> {
    let people = setup::users(target, connections).await?;
    let before = total_rss_kib(notify_pids)?;
    let pairs = people.pairs();
    let started = std::time::Instant::now();
    let sockets = open_sockets(target, &pairs, &[]).await?;
    let opened = started.elapsed();
    // Let allocations settle (buffers of the handshake are released).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = total_rss_kib(notify_pids)?;
    let per_connection = (after.saturating_sub(before)) as f64 / connections.max(1) as f64;
    let count = sockets.len();
    for socket in sockets {
        socket.close();
    }
    Ok(ScenarioReport {
        scenario: "idle".into(),
        parameters: json!({"connections": connections, "notify_pids": notify_pids}),
        duration_secs: opened.as_secs_f64(),
        requests: count as u64,
        throughput_per_sec: super::per_sec(count as u64, opened),
        rate_name: "KiB per idle connection".into(),
        rate_per_sec: per_connection,
        latency: Recorder::default().summary(),
        outcomes: Default::default(),
        extra: json!({"rss_before_kib": before, "rss_after_kib": after, "kib_per_connection": per_connection}),
        violations: Vec::new(),
    })
}
