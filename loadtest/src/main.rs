//! `flashload <scenario>`: see `flashload --help` and docs/benchmarks.md.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use loadtest::{
    fdlimit, report, scenarios,
    target::{Target, TargetConfig},
};

/// mimalloc: glibc malloc's bookkeeping (consolidation, unlinking) was a
/// visible share of the CPU under load; see docs/benchmarks.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Sellout,
    Sustained,
    Rejections,
    /// Users who hold their one coupon press again: refused in Redis.
    Losers,
    /// Anonymous reads of one live event (a page load).
    Reads,
    Watchers,
    Push,
    Idle,
    /// A crowd of sockets (mostly anonymous) on one event: memory per
    /// socket, connect rate, sold-out fan-out to all of them. With
    /// --event-id, one of several processes sharing a sale; with
    /// --sell-only, its seller.
    Crowd,
    /// A waiting-room sale: --users accounts join around the start
    /// (--connections of them with a socket, the rest polling every
    /// --poll-secs), --stock coupons, a --no-show-share of the admitted
    /// never press; join cost, progress frames, the sold-out notice,
    /// admission order against the proof, the room's invariants.
    Queue,
    /// A drawn sale: --users accounts enter in a --draw-entry-secs window
    /// (--connections of them with a socket, the rest reading their entry
    /// every --poll-secs from the draw on), --stock coupons, a
    /// --no-show-share of the winners never press; entry cost, the draw's
    /// delay, the result pushed to every socket, backfill rounds, the proof
    /// and the draw's invariants.
    Draw,
    /// Creates a sale event running now (--stock coupons, one per user) and
    /// prints its id: the sale several crowd processes share.
    Event,
    /// Every scenario except idle, crowd and event, one after the other.
    All,
}

#[derive(Debug, Parser)]
#[command(
    name = "flashload",
    about = "Flash-sale load generator and invariant checker",
    // The last of a repeated option wins: scripts/bench appends
    // BENCH_FLASHLOAD_ARGS after its own sizes.
    args_override_self = true
)]
struct Args {
    scenario: Scenario,
    /// Users taking part (sellout, sustained, rejections, push).
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Stock of the sellout event (watchers, crowd: coupons sold to trigger
    /// sold-out, at most 100).
    #[arg(long, default_value_t = 1_000)]
    stock: i64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1_000)]
    concurrency: usize,
    /// Offered load of sustained / rejections / push in requests per second,
    /// spread over the clients (open loop: latency at a rate below
    /// capacity). By default each client fires again as soon as it has its
    /// answer (push: every buyer presses at once).
    #[arg(long)]
    rate: Option<f64>,
    /// Press without an `Idempotency-Key`. By default every issue request
    /// carries a fresh one, as the web sale page sends it (flashload never
    /// re-sends a press, so no key is sent twice); unkeyed presses are a
    /// client that does not exist, kept for comparison.
    #[arg(long)]
    unkeyed: bool,
    /// queue, draw: the share of admitted users (winners) who never press
    /// (their holds lapse after the 30 s claim window and pass on).
    #[arg(long, default_value_t = 0.1, value_parser = share)]
    no_show_share: f64,
    /// queue, draw: how often a user without a socket reads its place
    /// (entry).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    poll_secs: u64,
    /// queue: the sale starts this long after the joins begin (joins before
    /// it are drawn in the seeded order, later ones follow by arrival).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    queue_lead_secs: u64,
    /// draw: how long the entries stay open from the event's creation (the
    /// sockets open first; enough for every entry to land).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=7200))]
    draw_entry_secs: u64,
    /// Length of the timed scenarios (sustained, rejections).
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    /// WebSocket watchers of the watchers scenario.
    #[arg(long, default_value_t = 10_000)]
    watchers: usize,
    /// Sockets of idle (default 5,000) and crowd (default 100,000).
    #[arg(long)]
    connections: Option<usize>,
    /// Share of the crowd's sockets that are signed in; the rest watch
    /// anonymously.
    #[arg(long, default_value_t = 0.2)]
    signed_in_share: f64,
    /// Loopback addresses the crowd connects from, 127.0.0.2 onwards: one
    /// address has ~28,000 ephemeral ports toward one server.
    #[arg(long, default_value_t = 8)]
    source_addresses: usize,
    /// Addresses skipped before the crowd's first (127.0.0.(2+N) onwards):
    /// each process sharing a sale takes a range of its own.
    #[arg(long, default_value_t = 0)]
    source_offset: usize,
    /// crowd: watch this existing event (`flashload event`) instead of
    /// creating one; no buyers, no sell-out here: the seller is another
    /// process, whose time of the last 201 comes in --sold-at-file.
    #[arg(long, requires = "sold_at_file")]
    event_id: Option<i64>,
    /// crowd with --event-id: open no socket, sell the event out and write
    /// the wall-clock time of the last 201 to --sold-at-file.
    #[arg(long, requires = "event_id")]
    sell_only: bool,
    /// crowd: written once every socket has been tried, after the memory
    /// reading: `<sockets opened> <sockets wanted>`.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// crowd with --event-id: the seller's time of the last 201 (unix
    /// milliseconds, wall clock); the crowd awaits it once open and counts
    /// each socket's sold-out latency from it.
    #[arg(long, requires = "event_id")]
    sold_at_file: Option<PathBuf>,
    /// crowd with --event-id: how long the open crowd awaits --sold-at-file.
    #[arg(long, default_value_t = 120)]
    sold_out_within_secs: u64,
    /// crowd: each socket's sold-out latency in milliseconds, one per line.
    #[arg(long)]
    latencies_file: Option<PathBuf>,
    /// notify-service process(es) whose memory idle and crowd measure
    /// (comma-separated: summed, for several instances behind a gateway).
    #[arg(long, value_delimiter = ',')]
    notify_pid: Vec<u32>,
    #[arg(
        long,
        env = "FLASHLOAD_API_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    api_url: String,
    #[arg(
        long,
        env = "FLASHLOAD_WS_URL",
        default_value = "ws://127.0.0.1:8082/ws"
    )]
    ws_url: String,
    #[arg(
        long,
        env = "FLASHLOAD_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/coupons"
    )]
    database_url: String,
    #[arg(
        long,
        env = "FLASHLOAD_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis_url: String,
    #[arg(long, default_value = "")]
    redis_prefix: String,
    /// PEM certificate to trust, and only it, for https:// and wss:// URLs
    /// (the gateway's self-signed one). Without it: the system's roots.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// The token issuer's Ed25519 private key (tokens are minted, not logged in).
    #[arg(long, default_value = ".run/keys/access-ed25519.pem")]
    private_key: PathBuf,
    #[arg(long, default_value = "dev-1")]
    key_id: String,
    #[arg(long, default_value = "coupon-platform")]
    issuer: String,
    #[arg(long, default_value = "coupon-api")]
    audience: String,
    /// Where the JSON report goes.
    #[arg(long, default_value = "flashload-report.json")]
    report: PathBuf,
}

/// Raises the open-file limit to what the scenario holds: every socket and
/// connection is a file, and the HTTP clients, PostgreSQL and Redis take
/// some more. Short of it, crowd stops here (it would fail socket by
/// socket); the others only warn.
/// A share: a number from 0 to 1.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{text:?} is not a share from 0 to 1")),
    }
}

fn ensure_open_files(args: &Args, connections: usize) -> anyhow::Result<()> {
    let sockets = match args.scenario {
        Scenario::Crowd if args.sell_only => 0,
        Scenario::Crowd | Scenario::Idle => connections,
        Scenario::Queue | Scenario::Draw => connections.min(args.users),
        Scenario::Watchers => args.watchers,
        Scenario::Push => args.users.min(args.concurrency),
        Scenario::All => args.watchers.max(args.users.min(args.concurrency)),
        // sustained's canary
        _ => 1,
    };
    let need = (sockets + args.concurrency + 1_024) as u64;
    let limit = fdlimit::raise_open_files(need);
    if limit < need {
        let hint = format!(
            "{need} open files wanted, the limit is {limit}: raise the hard limit first \
             (ulimit -n 1048576, as root with CAP_SYS_RESOURCE) or open fewer sockets"
        );
        anyhow::ensure!(args.scenario != Scenario::Crowd, "crowd: {hint}");
        eprintln!("flashload: {hint}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(rate) = args.rate {
        anyhow::ensure!(
            rate.is_finite() && rate > 0.0,
            "--rate must be a positive number of requests per second, not {rate}"
        );
    }
    let config = TargetConfig {
        api_url: args.api_url.clone(),
        ws_url: args.ws_url.clone(),
        database_url: args.database_url.clone(),
        redis_url: args.redis_url.clone(),
        redis_prefix: args.redis_prefix.clone(),
        private_key_pem: std::fs::read(&args.private_key)
            .with_context(|| format!("reading the private key {}", args.private_key.display()))?,
        key_id: args.key_id.clone(),
        issuer: args.issuer.clone(),
        audience: args.audience.clone(),
        ca_cert_pem: args
            .ca_cert
            .as_ref()
            .map(|path| {
                std::fs::read(path)
                    .with_context(|| format!("reading the certificate {}", path.display()))
            })
            .transpose()?,
        keyed: !args.unkeyed,
    };
    anyhow::ensure!(
        args.scenario == Scenario::Crowd
            || (args.event_id.is_none()
                && args.ready_file.is_none()
                && args.latencies_file.is_none()),
        "--event-id, --sell-only, --ready-file, --sold-at-file and --latencies-file are options of crowd"
    );
    let connections = args.connections.unwrap_or(match args.scenario {
        Scenario::Crowd => 100_000,
        _ => 5_000,
    });
    ensure_open_files(&args, connections)?;
    let target = Arc::new(Target::connect(config, args.concurrency).await?);
    if args.scenario == Scenario::Event {
        let admin = loadtest::setup::admin_token(&target).await?;
        let event = loadtest::setup::event(&target, &admin, args.stock, 1).await?;
        println!("{event}");
        return Ok(());
    }
    let duration = Duration::from_secs(args.duration_secs);
    let mut reports = report::Reports::default();
    let wanted = |s: Scenario| {
        args.scenario == s
            || (args.scenario == Scenario::All
                && !matches!(
                    s,
                    Scenario::Idle
                        | Scenario::Crowd
                        | Scenario::Event
                        | Scenario::Queue
                        | Scenario::Draw
                ))
    };
    if wanted(Scenario::Sellout) {
        reports.push(
            &target,
            scenarios::sellout::run(&target, args.users, args.stock, args.concurrency).await?,
        );
    }
    if wanted(Scenario::Sustained) {
        reports.push(
            &target,
            scenarios::sustained::run(&target, args.users, args.concurrency, duration, args.rate)
                .await?,
        );
    }
    if wanted(Scenario::Rejections) {
        reports.push(
            &target,
            scenarios::rejections::run(&target, args.users, args.concurrency, duration, args.rate)
                .await?,
        );
    }
    if wanted(Scenario::Losers) {
        reports.push(
            &target,
            scenarios::losers::run(&target, args.users, args.concurrency, duration, args.rate)
                .await?,
        );
    }
    if wanted(Scenario::Reads) {
        reports.push(
            &target,
            scenarios::reads::run(&target, args.concurrency, duration, args.rate).await?,
        );
    }
    if wanted(Scenario::Watchers) {
        reports.push(
            &target,
            scenarios::watchers::run(&target, args.watchers, args.stock.min(100)).await?,
        );
    }
    if wanted(Scenario::Push) {
        reports.push(
            &target,
            scenarios::push::run(
                &target,
                args.users.min(args.concurrency),
                args.concurrency,
                args.rate,
            )
            .await?,
        );
    }
    if wanted(Scenario::Queue) {
        let options = scenarios::queue::Options {
            users: args.users,
            stock: args.stock,
            sockets: connections.min(args.users),
            concurrency: args.concurrency,
            no_show_share: args.no_show_share,
            poll_secs: args.poll_secs,
            lead_secs: args.queue_lead_secs,
        };
        reports.push(&target, scenarios::queue::run(&target, &options).await?);
    }
    if wanted(Scenario::Draw) {
        let options = scenarios::draw::Options {
            users: args.users,
            stock: args.stock,
            sockets: connections.min(args.users),
            concurrency: args.concurrency,
            no_show_share: args.no_show_share,
            poll_secs: args.poll_secs,
            entry_secs: args.draw_entry_secs,
        };
        reports.push(&target, scenarios::draw::run(&target, &options).await?);
    }
    if wanted(Scenario::Idle) {
        anyhow::ensure!(
            !args.notify_pid.is_empty(),
            "idle needs --notify-pid (the notify-service process)"
        );
        reports.push(
            &target,
            scenarios::idle::run(&target, connections, &args.notify_pid).await?,
        );
    }
    if wanted(Scenario::Crowd) && args.sell_only {
        // clap has checked that both are given.
        let (Some(event), Some(sold_at)) = (args.event_id, &args.sold_at_file) else {
            anyhow::bail!("--sell-only needs --event-id and --sold-at-file");
        };
        reports.push(
            &target,
            scenarios::crowd::sell(&target, event, sold_at).await?,
        );
    } else if wanted(Scenario::Crowd) {
        let shared = match (args.event_id, &args.sold_at_file) {
            (Some(event_id), Some(sold_at_file)) => Some(scenarios::crowd::SharedSale {
                event_id,
                sold_at_file: sold_at_file.clone(),
                within: Duration::from_secs(args.sold_out_within_secs),
            }),
            (None, None) => None,
            _ => anyhow::bail!("--event-id and --sold-at-file go together"),
        };
        let crowd = scenarios::crowd::Crowd {
            connections,
            plan: scenarios::crowd::Plan::with_offset(
                args.signed_in_share,
                args.source_addresses,
                args.source_offset,
            )?,
            stock: args.stock.min(100),
            notify_pids: args.notify_pid.clone(),
            shared,
            ready_file: args.ready_file.clone(),
            latencies_file: args.latencies_file.clone(),
        };
        reports.push(&target, scenarios::crowd::run(&target, &crowd).await?);
    }
    let reports = reports.into_vec();
    report::print_table(&reports);
    report::write_json(&args.report, &reports)?;
    println!("report written to {}", args.report.display());
    let violations: usize = reports.iter().map(|r| r.violations.len()).sum();
    anyhow::ensure!(violations == 0, "{violations} invariant violation(s)");
    Ok(())
}
