//! One sale, several processes: a crowd larger than one process may hold
//! (open files, `ulimit -n`) spread over several notify-service instances
//! and as many `flashload crowd --event-id` processes, each holding its
//! part, and one seller, `flashload crowd --sell-only`, who sells the
//! event out once every part is open (`scripts/bench crowd-spread`).
//!
//! They meet through files:
//!
//! - `--ready-file`: a crowd process writes `<opened> <wanted>` once its
//!   sockets are open and its memory reading taken;
//! - `--sold-at-file`: the seller writes the wall-clock time of the last
//!   201, unix milliseconds (three decimals), which each crowd process
//!   awaits and counts its sockets' sold-out latency from;
//! - `--latencies-file`: each crowd process writes its sockets' latencies,
//!   one per line in milliseconds, for exact percentiles over all of them.
//!
//! Processes share no `Instant`, so a shared sale's arrivals are read by the
//! wall clock (`SystemTime`), on one machine and one clock.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use serde_json::json;

use crate::{
    http, invariants,
    scenarios::{ScenarioReport, fire_once, per_sec, record},
    setup,
    target::Target,
};

/// How often a crowd process looks for the sold-at file.
const POLL: Duration = Duration::from_millis(50);

/// Sells a shared sale's event out over the API (one buyer per coupon of
/// its stock, 64 at a time, as a single crowd does) and writes the last
/// 201's wall-clock time to `sold_at_file`; then checks the event's
/// invariants. An event not sold out is a violation, and no time is written
/// (the crowd processes report that they never got one).
pub async fn sell(
    target: &Arc<Target>,
    event: i64,
    sold_at_file: &Path,
) -> anyhow::Result<ScenarioReport> {
    anyhow::ensure!(
        !sold_at_file.exists(),
        "{} exists already: a sold-at file of an earlier run?",
        sold_at_file.display()
    );
    let stock: i32 = sqlx::query_scalar("SELECT total_count FROM coupon_events WHERE id = $1")
        .bind(event)
        .fetch_optional(&target.db)
        .await?
        .with_context(|| format!("no event {event} in the database"))?;
    let buyers = setup::users(target, usize::try_from(stock)?).await?;
    let started = Instant::now();
    let results = fire_once(target, &buyers.tokens, event, 64, None).await;
    let elapsed = started.elapsed();
    let issued = http::issued(&results);
    let last_201 = http::last_201(&results);
    let mut violations = Vec::new();
    let sold_at = match last_201 {
        Some(last) if issued.len() == usize::try_from(stock)? => {
            let ms = unix_ms(last);
            write_atomically(sold_at_file, &format!("{ms:.3}\n"))?;
            Some(ms)
        }
        _ => {
            violations.push(format!(
                "crowd: {} of {stock} coupons issued: the event did not sell out (no sold-at time written)",
                issued.len()
            ));
            None
        }
    };
    let count = issued.len() as u64;
    violations.extend(
        invariants::check(
            target,
            event,
            &invariants::Observed {
                issued,
                ..Default::default()
            },
        )
        .await?,
    );
    let requests = record(&results);
    Ok(ScenarioReport {
        scenario: "crowd-sell".into(),
        parameters: json!({
            "event_id": event,
            "stock": stock,
            "sold_at_file": sold_at_file.display().to_string(),
        }),
        duration_secs: elapsed.as_secs_f64(),
        requests: results.len() as u64,
        throughput_per_sec: per_sec(results.len() as u64, elapsed),
        rate_name: "issued/s".into(),
        rate_per_sec: per_sec(count, elapsed),
        latency: requests.summary(),
        outcomes: requests.outcomes.clone(),
        extra: json!({ "sold_at_unix_ms": sold_at }),
        violations,
    })
}

/// The sold-at time (unix milliseconds) once `path` holds it, or None if it
/// did not come within `within`.
pub(super) async fn await_sold_at(path: &Path, within: Duration) -> anyhow::Result<Option<f64>> {
    let deadline = Instant::now() + within;
    loop {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let ms: f64 = text
                    .trim()
                    .parse()
                    .with_context(|| format!("{} holds {text:?}, not a time", path.display()))?;
                anyhow::ensure!(
                    ms.is_finite() && ms > 0.0,
                    "{} holds {ms}, not unix milliseconds",
                    path.display()
                );
                return Ok(Some(ms));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// From `sold_at` (unix milliseconds) to `arrival`; none if the frame came
/// first (the sold-out may leave before the last 201 reaches its buyer, as a
/// single crowd's `saturating_duration_since` also counts it).
pub(super) fn since(arrival: SystemTime, sold_at: f64) -> Duration {
    let arrived = arrival
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    Duration::from_secs_f64(((arrived - sold_at) / 1000.0).max(0.0))
}

/// An `Instant` of this process by the wall clock, in unix milliseconds.
fn unix_ms(at: Instant) -> f64 {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let then = wall
        .checked_sub(now.saturating_duration_since(at))
        .unwrap_or(wall);
    then.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Writes `text` to `path` through a temporary file renamed over it: a
/// process polling for `path` never reads half of it.
pub(super) fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {}", tmp.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_counted_from_the_sold_at_time_and_never_negative() {
        let sold_at = 1_700_000_000_000.0;
        let arrival = UNIX_EPOCH + Duration::from_micros(1_700_000_000_250_500);
        let latency = since(arrival, sold_at);
        assert!(
            (latency.as_secs_f64() * 1000.0 - 250.5).abs() < 0.01,
            "{latency:?}"
        );
        let before = UNIX_EPOCH + Duration::from_millis(1_699_999_999_900);
        assert_eq!(since(before, sold_at), Duration::ZERO);
    }

    #[test]
    fn an_instant_maps_to_the_wall_clock() {
        let at = Instant::now();
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64()
            * 1000.0;
        let ms = unix_ms(at);
        assert!((ms - before).abs() < 50.0, "{ms} vs {before}");
    }

    #[tokio::test]
    async fn the_sold_at_file_is_awaited_and_read() {
        let dir = std::env::temp_dir().join(format!("flashload-spread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("sold-at");
        let _ = std::fs::remove_file(&path);
        let missing = await_sold_at(&path, Duration::from_millis(120))
            .await
            .expect("no error");
        assert_eq!(missing, None, "no file, no time");
        let writer = {
            let path = path.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                write_atomically(&path, "1700000000123.456\n").expect("written");
            })
        };
        let got = await_sold_at(&path, Duration::from_secs(5))
            .await
            .expect("no error");
        writer.await.expect("writer");
        assert_eq!(got, Some(1_700_000_000_123.456));
        write_atomically(&path, "soon").expect("written");
        assert!(await_sold_at(&path, Duration::from_secs(1)).await.is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
