//! `crowd`: N sockets on one event, most of them anonymous watchers (a sale
//! page before 10:00), the rest signed in; then a few buyers sell it out.
//! Reported: notify-service's resident memory per socket, how fast the
//! sockets opened, and the fan-out latency of `coupon.soldout` from the
//! moment the last coupon's 201 reached its buyer to each socket's receipt.
//! Every socket that does not open, misses the sold-out, gets it twice or
//! is closed by the server is a violation.
//!
//! Set up like a crowd behind a gateway: anonymous sockets carry
//! `X-Forwarded-For` with a synthetic client address per household (see
//! `plan.rs`), so notify-service must trust the load generator's loopback
//! addresses as proxies (`websocket.trusted_proxies` 127.0.0.0/8, as
//! scripts/bench starts it); otherwise each source address is one client
//! and meets the per-address budget after 16 anonymous sockets.

mod plan;

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::stream::{self, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

pub use self::plan::Plan;
use self::plan::Role;
use super::{
    ScenarioReport, fire_once,
    idle::{rss_kib, total_rss_kib},
    per_sec, record, watchers,
};
use crate::{
    invariants, setup,
    stats::Recorder,
    target::Target,
    ws::{self, Auth, Keep, Options, Socket},
};

const SOLDOUT: &str = "coupon.soldout";

/// How long every socket may take to get the sold-out (as long as the
/// invariant checks wait for anything asynchronous).
const FANOUT_WITHIN: Duration = Duration::from_secs(15);

/// The crowd's size and make-up.
#[derive(Debug, Clone)]
pub struct Crowd {
    pub connections: usize,
    pub plan: Plan,
    /// Coupons sold to trigger the sold-out.
    pub stock: i64,
    /// notify-service processes whose memory is measured (none: not measured).
    pub notify_pids: Vec<u32>,
}

/// The sockets that opened, and why the others did not (counts per reason,
/// and the first failure in full).
struct Opened {
    sockets: Vec<Socket>,
    failures: BTreeMap<String, u64>,
    first_failure: Option<String>,
}

pub async fn run(target: &Arc<Target>, crowd: &Crowd) -> anyhow::Result<ScenarioReport> {
    let n = crowd.connections;
    let admin = setup::admin_token(target).await?;
    let event = setup::event(target, &admin, crowd.stock, 1).await?;
    let signed_in = crowd.plan.signed_in_before(n);
    let viewers = setup::users(target, signed_in).await?;
    let buyers = setup::users(target, usize::try_from(crowd.stock)?).await?;

    let rss_before = rss(&crowd.notify_pids)?;
    let started = Instant::now();
    let opened = open(target, crowd, &viewers, event).await;
    let open_elapsed = started.elapsed();
    // Let allocations settle (buffers of the handshake are released).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss(&crowd.notify_pids)?;
    // The load generator's own, for sizing a run: it holds the crowd too.
    let flashload_rss = rss_kib(std::process::id()).ok();
    let sockets = &opened.sockets;
    let kib_per_socket = match (rss_before, rss_after) {
        (Some(before), Some(after)) if !sockets.is_empty() => {
            Some(after.saturating_sub(before) as f64 / sockets.len() as f64)
        }
        _ => None,
    };

    let results = fire_once(target, &buyers.tokens, event, 64, None).await;
    let last_201 = results
        .iter()
        .filter(|r| r.coupon_id.is_some())
        .map(|r| r.finished)
        .max()
        .unwrap_or(started);
    await_soldout(sockets).await;

    let issued: Vec<i64> = results.iter().filter_map(|r| r.coupon_id).collect();
    let mut violations = invariants::check(
        target,
        event,
        &invariants::Observed {
            issued,
            ..Default::default()
        },
    )
    .await?;
    // Counted after the checks above: a second sold-out, or a socket the
    // server closes, has had that long to show.
    let mut fanout = Recorder::default();
    let (mut missing, mut doubled, mut closed) = (0_usize, 0_usize, 0_usize);
    for socket in sockets {
        let soldout = socket.arrivals(SOLDOUT);
        match soldout.first {
            Some(at) => fanout.record("soldout", at.saturating_duration_since(last_201)),
            None => missing += 1,
        }
        doubled += usize::from(soldout.count > 1);
        closed += usize::from(socket.is_closed());
    }
    for (kind, count) in &opened.failures {
        violations.push(format!(
            "crowd: {count} of {n} sockets did not open ({kind})"
        ));
    }
    if missing > 0 {
        violations.push(format!(
            "invariant 6: {missing} of {} open sockets never got {SOLDOUT}",
            sockets.len()
        ));
    }
    if doubled > 0 {
        violations.push(format!(
            "invariant 6: {doubled} sockets got {SOLDOUT} more than once"
        ));
    }
    if closed > 0 {
        violations.push(format!(
            "crowd: the server closed {closed} of {} sockets",
            sockets.len()
        ));
    }

    let requests = record(&results);
    let mut outcomes = requests.outcomes.clone();
    outcomes.insert("socket opened".into(), sockets.len() as u64);
    for (kind, count) in &opened.failures {
        outcomes.insert(format!("socket {kind}"), *count);
    }
    let reached = fanout.latency.len();
    let open_count = sockets.len();
    for socket in opened.sockets {
        socket.close();
    }
    Ok(ScenarioReport {
        scenario: "crowd".into(),
        parameters: json!({
            "connections": n,
            "signed_in": signed_in,
            "anonymous": n - signed_in,
            "source_addresses": crowd.plan.source_addresses(),
            "household": plan::HOUSEHOLD,
            "stock": crowd.stock,
            "event_id": event,
            "notify_pids": crowd.notify_pids,
        }),
        duration_secs: open_elapsed.as_secs_f64(),
        requests: n as u64,
        throughput_per_sec: per_sec(n as u64, open_elapsed),
        rate_name: "sockets opened/s".into(),
        rate_per_sec: per_sec(open_count as u64, open_elapsed),
        latency: fanout.summary(),
        outcomes,
        extra: json!({
            "sockets_opened": open_count,
            "open_secs": open_elapsed.as_secs_f64(),
            "rss_before_kib": rss_before,
            "rss_after_kib": rss_after,
            "kib_per_socket": kib_per_socket,
            "flashload_rss_kib": flashload_rss,
            "soldout_reached": reached,
            "soldout_missing": missing,
            "closed_by_server": closed,
            "first_open_failure": opened.first_failure,
            "fanout_latency": fanout.summary(),
            "issue_latency": requests.summary(),
        }),
        violations,
    })
}

fn rss(pids: &[u32]) -> anyhow::Result<Option<u64>> {
    if pids.is_empty() {
        return Ok(None);
    }
    total_rss_kib(pids).map(Some)
}

/// Opens the crowd, a bounded number of sockets at a time; a socket that
/// does not open is counted, not fatal (the rest of the crowd still says
/// what the service does under it).
async fn open(target: &Arc<Target>, crowd: &Crowd, viewers: &setup::Users, event: i64) -> Opened {
    let bar = super::progress(crowd.connections as u64, "sockets");
    let opened = Opened {
        sockets: Vec::with_capacity(crowd.connections),
        failures: BTreeMap::new(),
        first_failure: None,
    };
    // Past this many failures the service is not admitting the crowd
    // (full, or not accepting at all): the remaining sockets are not tried,
    // or each would wait out its timeout, a bounded number at a time.
    let give_up = (crowd.connections / 100).max(2 * watchers::CONNECT_CONCURRENCY);
    let failed = AtomicUsize::new(0);
    let opened = stream::iter(0..crowd.connections)
        .map(|i| {
            let options = options(crowd, viewers, event, i);
            let (target, bar, failed) = (target.clone(), bar.clone(), &failed);
            async move {
                bar.inc(1);
                if failed.load(Ordering::Relaxed) >= give_up {
                    return Err(NotTried.into());
                }
                let socket = Socket::open_with(&target.ws, options?).await;
                if socket.is_err() {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                socket
            }
        })
        .buffer_unordered(watchers::CONNECT_CONCURRENCY)
        .fold(opened, |mut opened, socket| async move {
            match socket {
                Ok(socket) => opened.sockets.push(socket),
                Err(e) if e.is::<NotTried>() => {
                    *opened.failures.entry("not tried".into()).or_default() += 1;
                }
                Err(e) => {
                    *opened.failures.entry(ws::failure_kind(&e)).or_default() += 1;
                    opened.first_failure.get_or_insert_with(|| format!("{e:#}"));
                }
            }
            opened
        })
        .await;
    bar.finish_and_clear();
    opened
}

/// A socket left out once too many others had failed.
#[derive(Debug)]
struct NotTried;

impl std::fmt::Display for NotTried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not tried: too many sockets had failed to open")
    }
}

impl std::error::Error for NotTried {}

/// Socket i of the crowd: its source address, and either its user's token
/// or its household's address.
fn options(crowd: &Crowd, viewers: &setup::Users, event: i64, i: usize) -> anyhow::Result<Options> {
    let (auth, headers) = match crowd.plan.role(i) {
        Role::SignedIn(k) => (
            Auth::Bearer {
                token: viewers.tokens[k].clone(),
                user_id: viewers.ids[k],
            },
            Vec::new(),
        ),
        Role::Anonymous(household) => (
            Auth::Anonymous,
            vec![(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::try_from(household.to_string())?,
            )],
        ),
    };
    Ok(Options {
        auth,
        events: vec![event],
        source: Some(crowd.plan.source(i)),
        headers,
        keep: Keep::Count(SOLDOUT),
    })
}

/// Until every socket has its sold-out or is closed, at most FANOUT_WITHIN.
async fn await_soldout(sockets: &[Socket]) {
    let deadline = Instant::now() + FANOUT_WITHIN;
    while Instant::now() < deadline
        && sockets
            .iter()
            .any(|s| s.arrivals(SOLDOUT).count == 0 && !s.is_closed())
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
