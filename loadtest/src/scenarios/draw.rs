//! `draw`: a drawn sale (docs/contract.md §2.11). `--users` accounts enter
//! during the entry window (`--draw-entry-secs`); `--connections` of them
//! hold a socket subscribed to the event and learn the result by push, the
//! rest read their entry every `--poll-secs` from the draw on. Winners
//! press at once, except a `--no-show-share` who never do: their wins lapse
//! after the claim window (30 s, the shortest) and pass to the next ranks,
//! round after round, until the stock is claimed.
//!
//! Reported: entry latency and rate; the draw's delay (from the close to
//! `drawn_at`); the result push, from `drawn_at` to each socket's first
//! `draw.won` or `draw.lost` (every socket hears one); backfill rounds;
//! the proof (checked with the same code as `coupon-service verify-draw`),
//! the ranks pushed against it, and the draw's invariants with the usual
//! ones.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use chrono::{DateTime, Utc};
use contract::admission::QueueProof;
use serde_json::json;

use super::{
    ScenarioReport, per_sec,
    queue::{Claims, Joined, closing_latencies, join_all, no_show, press, proof_at},
    watchers::open_sockets,
};
use crate::{invariants, setup, stats::Recorder, target::Target, ws::Socket};

/// The shortest claim window the admin may set: no-shows lapse soonest.
const CLAIM_WINDOW_SECS: i64 = 30;
/// How long the sale may take after the draw before the run gives up.
const SALE_WITHIN: Duration = Duration::from_secs(900);
/// How often the sockets' new frames are read.
const READ_EVERY: Duration = Duration::from_millis(100);

pub struct Options {
    pub users: usize,
    pub stock: i64,
    pub sockets: usize,
    pub concurrency: usize,
    pub no_show_share: f64,
    pub poll_secs: u64,
    /// How long the entries stay open from the event's creation (sockets
    /// open first, then everyone enters).
    pub entry_secs: u64,
}

pub async fn run(target: &Arc<Target>, o: &Options) -> anyhow::Result<ScenarioReport> {
    let admin = setup::admin_token(target).await?;
    let people = setup::users(target, o.users).await?;
    let closes_at = Utc::now() + chrono::TimeDelta::seconds(i64::try_from(o.entry_secs)?);
    let event = create_event(target, &admin, o.stock, closes_at).await?;
    let pairs = people.pairs();
    let sockets = open_sockets(target, &pairs[..o.sockets.min(pairs.len())], &[event]).await?;
    let tokens: HashMap<i64, String> = pairs.iter().cloned().collect();

    let entries_started = Instant::now();
    let none: Joined = Mutex::new(HashMap::new());
    let (entries, entry_window) = join_all(
        target,
        &format!("/api/coupons/events/{event}/entries"),
        &pairs,
        o.concurrency,
        &none,
    )
    .await;
    let claims = Arc::new(Mutex::new(Claims::default()));
    // Pages without a socket read their entry from the draw on.
    let until_draw = (closes_at - Utc::now()).to_std().unwrap_or_default();
    let polled = o.sockets.min(pairs.len())..pairs.len();
    let pollers = spawn_pollers(target, event, &pairs[polled], o, until_draw, &claims);
    let watch = watch_sockets(target, event, &sockets, &tokens, o, &claims).await;
    for p in pollers {
        p.abort();
    }
    let elapsed = entries_started.elapsed();

    let proof = proof_at(target, &format!("/api/coupons/events/{event}/draw/proof")).await?;
    let claims = std::mem::take(&mut *claims.lock().unwrap_or_else(|e| e.into_inner()));
    let mut violations = invariants::check(
        target,
        event,
        &invariants::Observed {
            issued: claims.issued.clone(),
            ..Default::default()
        },
    )
    .await?;
    violations.extend(draw_violations(target, event, &proof, &claims, &watch, &sockets).await?);
    let closed = closing_latencies(&sockets, claims.last_201, &mut violations);
    let pushed = result_push_latencies(&sockets, proof.drawn_at, &mut violations);
    for s in sockets {
        s.close();
    }
    Ok(ScenarioReport {
        scenario: "draw".into(),
        parameters: json!({"users": o.users, "stock": o.stock, "sockets": o.sockets,
            "concurrency": o.concurrency, "no_show_share": o.no_show_share,
            "poll_secs": o.poll_secs, "entry_secs": o.entry_secs, "event_id": event}),
        duration_secs: elapsed.as_secs_f64(),
        requests: entries.latency.len(),
        throughput_per_sec: per_sec(entries.latency.len(), entry_window),
        rate_name: "entries/s".into(),
        rate_per_sec: per_sec(
            entries.outcomes.get("201").copied().unwrap_or(0),
            entry_window,
        ),
        latency: entries.summary(),
        outcomes: entries.outcomes.clone(),
        extra: json!({
            "entrants": proof.pre_queue.len(),
            "draw_delay_ms": (proof.drawn_at - closes_at).num_milliseconds(),
            "result_push_ms": pushed,
            "wins": proof.admitted.len(),
            "rounds": proof.rounds.len(),
            "claimed": claims.issued.len(),
            "presses": claims.pressed.len(),
            "sold_out_notice_ms": closed,
            "proof": proof.verify(None).unwrap_or_else(|e| e),
        }),
        violations,
    })
}

async fn create_event(
    target: &Target,
    admin: &str,
    stock: i64,
    closes_at: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let now = Utc::now();
    setup::create_event(
        target,
        admin,
        &json!({
            "title": format!("flashload draw {stock}"),
            "total_count": stock,
            "max_per_user": 1,
            "start_time": (now - chrono::TimeDelta::seconds(1)).to_rfc3339(),
            "end_time": (now + chrono::TimeDelta::hours(3)).to_rfc3339(),
            "discount_type": "percentage",
            "discount_value": 10,
            "code_prefix": "DRAW",
            "admission": "draw",
            "entry_opens_at": (now - chrono::TimeDelta::seconds(1)).to_rfc3339(),
            "entry_closes_at": closes_at.to_rfc3339(),
            "claim_window_secs": CLAIM_WINDOW_SECS,
        }),
    )
    .await
}

/// Users without a socket read their entry once within `poll_secs` of the
/// draw, then every `poll_secs`, until they won (and press, unless a
/// no-show) or their entry is settled.
fn spawn_pollers(
    target: &Arc<Target>,
    event: i64,
    users: &[(i64, String)],
    o: &Options,
    until_draw: Duration,
    claims: &Arc<Mutex<Claims>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let period = Duration::from_secs(o.poll_secs.max(1));
    // Reads in flight across every page: a crowd of pollers stays within
    // `--concurrency` connections (the sockets hold most of flashload's
    // open files), and a winner's press never fails for want of one.
    let reads = Arc::new(tokio::sync::Semaphore::new(o.concurrency.max(1)));
    users
        .iter()
        .enumerate()
        .map(|(i, (user, token))| {
            let (target, claims, token, user, reads) = (
                target.clone(),
                claims.clone(),
                token.clone(),
                *user,
                reads.clone(),
            );
            // The first look comes within a period of the draw (a winner
            // looking after its claim window is a no-show), then one every
            // period.
            let offset = until_draw + period.mul_f64((i % 1000) as f64 / 1000.0);
            let no_show = no_show(user, o.no_show_share);
            tokio::spawn(async move {
                tokio::time::sleep(offset).await;
                loop {
                    let permit = reads.acquire().await;
                    let body: serde_json::Value = match target
                        .http()
                        .get(target.api(&format!("/api/coupons/events/{event}/entries/me")))
                        .bearer_auth(&token)
                        .send()
                        .await
                    {
                        Ok(r) => r.json().await.unwrap_or_default(),
                        Err(_) => serde_json::Value::Null,
                    };
                    drop(permit);
                    match body["state"].as_str() {
                        Some("won") => {
                            // Like the page: no press once its countdown
                            // shows under a second (the answer would arrive
                            // after the deadline, and be refused).
                            if !no_show && time_left(&body) > Duration::from_secs(1) {
                                let _ = press(&target, event, user, token, &claims).await;
                            }
                            return;
                        }
                        Some("entered" | "waitlisted") | None => tokio::time::sleep(period).await,
                        Some(_) => return,
                    }
                }
            })
        })
        .collect()
}

/// Time left to claim a win, by its `claim_by` and this machine's clock
/// (the server's, on one machine); zero when unreadable or past.
fn time_left(entry: &serde_json::Value) -> Duration {
    entry["claim_by"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .and_then(|by| (by.with_timezone(&Utc) - Utc::now()).to_std().ok())
        .unwrap_or_default()
}

/// What the sockets saw.
struct Watched {
    /// The rank each socket's user was told, by kind.
    won: HashMap<i64, Vec<i64>>,
    lost: HashMap<i64, Vec<i64>>,
    closed_reason: Option<String>,
}

/// Reads the sockets' new frames until the draw closes: winners press
/// (unless no-shows).
async fn watch_sockets(
    target: &Arc<Target>,
    event: i64,
    sockets: &[Socket],
    tokens: &HashMap<i64, String>,
    o: &Options,
    claims: &Arc<Mutex<Claims>>,
) -> Watched {
    let started = Instant::now();
    let mut cursors = vec![0usize; sockets.len()];
    let mut watched = Watched {
        won: HashMap::new(),
        lost: HashMap::new(),
        closed_reason: None,
    };
    let mut presses = Vec::new();
    let draw = target.api(&format!("/api/coupons/events/{event}/draw"));
    let mut last_check = Instant::now();
    while started.elapsed() < SALE_WITHIN + Duration::from_secs(o.entry_secs) {
        tokio::time::sleep(READ_EVERY).await;
        for (socket, cursor) in sockets.iter().zip(cursors.iter_mut()) {
            let frames = socket.frames_from(*cursor);
            *cursor += frames.len();
            let Some(user) = socket.user_id else {
                continue;
            };
            for frame in frames {
                let kind = frame.kind().map(|k| k.into_owned());
                let rank = frame.frame()["data"]["rank"].as_i64().unwrap_or(0);
                match kind.as_deref() {
                    Some("draw.won") => {
                        let ranks = watched.won.entry(user).or_default();
                        ranks.push(rank);
                        if ranks.len() == 1
                            && !no_show(user, o.no_show_share)
                            && let Some(token) = tokens.get(&user)
                        {
                            presses.push(press(target, event, user, token.clone(), claims));
                        }
                    }
                    Some("draw.lost") => watched.lost.entry(user).or_default().push(rank),
                    _ => {}
                }
            }
        }
        if last_check.elapsed() >= Duration::from_secs(1) {
            last_check = Instant::now();
            if let Ok(r) = target.http().get(&draw).send().await
                && let Ok(body) = r.json::<serde_json::Value>().await
                && let Some(reason) = body["closed_reason"].as_str()
            {
                watched.closed_reason = Some(reason.to_owned());
                break;
            }
        }
    }
    for p in presses {
        let _ = p.await;
    }
    // Let the closing notice arrive everywhere before it is measured.
    tokio::time::sleep(Duration::from_secs(3)).await;
    watched
}

/// From the draw (`drawn_at`, the server's clock, the same machine's) to
/// each socket's first result frame, in ms (p50, p99, max); a socket that
/// heard no result is a violation.
fn result_push_latencies(
    sockets: &[Socket],
    drawn_at: DateTime<Utc>,
    violations: &mut Vec<String>,
) -> serde_json::Value {
    // An Instant now and the wall clock now: frames carry Instants.
    let (instant_now, wall_now) = (Instant::now(), SystemTime::now());
    let drawn_at = SystemTime::from(drawn_at);
    let mut recorder = Recorder::default();
    let mut silent = 0;
    for s in sockets.iter().filter(|s| s.user_id.is_some()) {
        let first = s
            .of_type("draw.won")
            .into_iter()
            .chain(s.of_type("draw.lost"))
            .map(|f| f.at)
            .min();
        match first {
            Some(at) => {
                let wall = wall_now - instant_now.saturating_duration_since(at);
                recorder.record("result", wall.duration_since(drawn_at).unwrap_or_default());
            }
            None => silent += 1,
        }
    }
    if silent > 0 {
        violations.push(format!(
            "draw: {silent} signed-in sockets heard no result (draw.won or draw.lost)"
        ));
    }
    serde_json::to_value(recorder.summary()).unwrap_or_default()
}

/// The draw's own invariants (docs/contract.md §2.11, invariant 15).
async fn draw_violations(
    target: &Target,
    event: i64,
    proof: &QueueProof,
    claims: &Claims,
    watched: &Watched,
    sockets: &[Socket],
) -> anyhow::Result<Vec<String>> {
    let mut v = Vec::new();
    if let Err(e) = proof.verify(None) {
        v.push(format!("draw: the proof does not hold: {e}"));
    }
    let ranks: HashMap<i64, i64> = proof
        .pre_queue
        .iter()
        .enumerate()
        .map(|(i, u)| (*u, i as i64 + 1))
        .collect();
    let admitted: HashSet<i64> = proof.admitted.iter().copied().collect();
    // Every pushed rank is the proof's; a win is pushed only to a winner,
    // once; a loss at most once.
    let mut wrong = 0;
    for (user, told) in watched.won.iter().chain(&watched.lost) {
        wrong += told.iter().filter(|r| ranks.get(user) != Some(r)).count();
    }
    if wrong > 0 {
        v.push(format!(
            "draw: {wrong} result frames named another rank than the proof"
        ));
    }
    let false_wins = watched.won.keys().filter(|u| !admitted.contains(u)).count();
    let repeated = watched
        .won
        .values()
        .chain(watched.lost.values())
        .filter(|t| t.len() > 1)
        .count();
    if false_wins + repeated > 0 {
        v.push(format!(
            "draw: {false_wins} draw.won to users who never won, {repeated} results told twice"
        ));
    }
    // Every signed-in socket's user who entered was told at the draw.
    let entrants: HashSet<i64> = proof.pre_queue.iter().copied().collect();
    let untold = sockets
        .iter()
        .filter_map(|s| s.user_id)
        .filter(|u| {
            entrants.contains(u) && !watched.won.contains_key(u) && !watched.lost.contains_key(u)
        })
        .count();
    if untold > 0 {
        v.push(format!(
            "draw: {untold} entrants with a socket were told nothing"
        ));
    }
    // Every claim was a win; every winner who pressed got a 201.
    let holders: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM user_coupons WHERE event_id = $1")
            .bind(event)
            .fetch_all(&target.db)
            .await?;
    let unheld = holders.iter().filter(|u| !admitted.contains(u)).count();
    if unheld > 0 {
        v.push(format!(
            "draw: {unheld} coupons went to users who never won"
        ));
    }
    let refused: Vec<&String> = claims.pressed.values().filter(|o| *o != "201").collect();
    if !refused.is_empty() {
        v.push(format!(
            "draw: {} winners' presses were refused ({:?}…)",
            refused.len(),
            refused.iter().take(3).collect::<Vec<_>>()
        ));
    }
    if watched.closed_reason.as_deref() != Some("sold_out") {
        v.push(format!(
            "draw: it closed {:?}, not sold out",
            watched.closed_reason
        ));
    }
    Ok(v)
}
