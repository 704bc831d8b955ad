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
//!
//! Several processes can share one sale (`--event-id`, `scripts/bench
//! crowd-spread`), each holding its part of the crowd on a notify-service
//! of its own, where one process may not open enough files for all of it:
//! see `spread.rs`. Without `--event-id` this process creates the event and
//! sells it out itself, as above.

mod plan;
mod spread;

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::stream::{self, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use self::plan::Role;
pub use self::{plan::Plan, spread::sell};
use super::{
    ScenarioReport, fire_once,
    idle::{rss_kib, total_rss_kib},
    per_sec, record, watchers,
};
use crate::{
    http, invariants, setup,
    stats::Recorder,
    target::Target,
    ws::{self, Auth, Keep, Options, Socket},
};

const SOLDOUT: &str = "coupon.soldout";

/// How long every socket may take to get the sold-out (as long as the
/// invariant checks wait for anything asynchronous).
const FANOUT_WITHIN: Duration = Duration::from_secs(15);

/// A shared sale's watchers, once every socket has its sold-out, wait this
/// long before counting doubles and closed sockets (a single process runs
/// the invariant checks meanwhile).
const DOUBLES_WITHIN: Duration = Duration::from_secs(3);

/// The crowd's size and make-up.
#[derive(Debug, Clone)]
pub struct Crowd {
    pub connections: usize,
    pub plan: Plan,
    /// Coupons sold to trigger the sold-out.
    pub stock: i64,
    /// notify-service processes whose memory is measured (none: not measured).
    pub notify_pids: Vec<u32>,
    /// Watch an event another process sells out (None: create one and sell
    /// it out here).
    pub shared: Option<SharedSale>,
    /// Written once every socket has been tried, after the memory reading:
    /// `<sockets opened> <sockets wanted>`.
    pub ready_file: Option<PathBuf>,
    /// Each socket's sold-out latency in milliseconds, one per line.
    pub latencies_file: Option<PathBuf>,
}

/// A sale shared by several processes: this one watches `event_id`; the
/// seller (`crowd --sell-only`) writes the wall-clock time of the last 201
/// to `sold_at_file`, which this one awaits for at most `within` once its
/// crowd is open.
#[derive(Debug, Clone)]
pub struct SharedSale {
    pub event_id: i64,
    pub sold_at_file: PathBuf,
    pub within: Duration,
}

/// Who sells the event out.
enum Sale<'a> {
    /// This process, to these buyers.
    Own(setup::Users),
    /// Another process.
    Shared(&'a SharedSale),
}

/// What each socket's sold-out latency is counted from.
#[derive(Debug, Clone, Copy)]
enum Reference {
    /// The last 201 of this process's own buyers.
    Local(Instant),
    /// The seller's last 201, unix milliseconds by the wall clock.
    Wall(f64),
    /// None came (the shared sale was not sold out in time).
    Missing,
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
    let event = match &crowd.shared {
        Some(shared) => {
            // Left by an earlier run, it would end the wait at once.
            anyhow::ensure!(
                !shared.sold_at_file.exists(),
                "{} exists already: a sold-at file of an earlier run?",
                shared.sold_at_file.display()
            );
            shared.event_id
        }
        None => {
            let admin = setup::admin_token(target).await?;
            setup::event(target, &admin, crowd.stock, 1).await?
        }
    };
    let signed_in = crowd.plan.signed_in_before(n);
    let viewers = setup::users(target, signed_in).await?;
    let sale = match &crowd.shared {
        Some(shared) => Sale::Shared(shared),
        None => Sale::Own(setup::users(target, usize::try_from(crowd.stock)?).await?),
    };

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

    if let Some(path) = &crowd.ready_file {
        spread::write_atomically(path, &format!("{} {n}\n", sockets.len()))?;
    }

    let (reference, results, mut violations) = match sale {
        Sale::Shared(shared) => {
            let (reference, violations) = shared_sale(shared, sockets).await?;
            (reference, Vec::new(), violations)
        }
        Sale::Own(buyers) => {
            let results = fire_once(target, &buyers.tokens, event, 64, None).await;
            let last_201 = http::last_201(&results).unwrap_or(started);
            await_soldout(sockets).await;
            let issued = http::issued(&results);
            let violations = invariants::check(
                target,
                event,
                &invariants::Observed {
                    issued,
                    ..Default::default()
                },
            )
            .await?;
            (Reference::Local(last_201), results, violations)
        }
    };
    // Counted after the checks above (or, for a shared sale, a pause): a
    // second sold-out, or a socket the server closes, has had that long to
    // show.
    let mut fanout = Recorder::default();
    let mut latencies = String::new();
    let (mut missing, mut doubled, mut closed) = (0_usize, 0_usize, 0_usize);
    for socket in sockets {
        let soldout = socket.arrivals(SOLDOUT);
        let latency = match reference {
            Reference::Local(last_201) => soldout
                .first
                .map(|at| at.saturating_duration_since(last_201)),
            Reference::Wall(sold_at) => soldout.first_wall.map(|at| spread::since(at, sold_at)),
            Reference::Missing => None,
        };
        if soldout.count == 0 {
            missing += 1;
        } else if let Some(latency) = latency {
            fanout.record("soldout", latency);
            let _ = writeln!(latencies, "{:.3}", latency.as_secs_f64() * 1000.0);
        }
        doubled += usize::from(soldout.count > 1);
        closed += usize::from(socket.is_closed());
    }
    if let Some(path) = &crowd.latencies_file {
        spread::write_atomically(path, &latencies)?;
    }
    for (kind, count) in &opened.failures {
        violations.push(format!(
            "crowd: {count} of {n} sockets did not open ({kind})"
        ));
    }
    violations.extend(invariants::soldout_violations(
        "open sockets",
        missing,
        doubled,
        sockets.len(),
    ));
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
            "source_offset": crowd.plan.source_offset(),
            "household": plan::HOUSEHOLD,
            // A shared sale's stock is the seller's.
            "stock": crowd.shared.is_none().then_some(crowd.stock),
            "event_id": event,
            "shared_sale": crowd.shared.is_some(),
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
            "sold_at_unix_ms": match reference {
                Reference::Wall(ms) => Some(ms),
                Reference::Local(_) | Reference::Missing => None,
            },
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

/// The end of a shared sale: the seller's sold-at time (at most
/// `shared.within` after the crowd is open), then every socket's sold-out
/// (at most FANOUT_WITHIN), then DOUBLES_WITHIN for a second one to show.
async fn shared_sale(
    shared: &SharedSale,
    sockets: &[Socket],
) -> anyhow::Result<(Reference, Vec<String>)> {
    match spread::await_sold_at(&shared.sold_at_file, shared.within).await? {
        Some(sold_at) => {
            await_soldout(sockets).await;
            tokio::time::sleep(DOUBLES_WITHIN).await;
            Ok((Reference::Wall(sold_at), Vec::new()))
        }
        None => Ok((
            Reference::Missing,
            vec![format!(
                "crowd: no sold-at time in {} within {:?} of the crowd being open",
                shared.sold_at_file.display(),
                shared.within
            )],
        )),
    }
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
