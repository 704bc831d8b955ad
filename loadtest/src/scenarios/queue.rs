//! `queue`: a waiting-room sale (docs/contract.md §2.10). `--users`
//! accounts join in the seconds around the start: `--connections` of them
//! hold a socket subscribed to the event (they learn their admission by
//! push), the rest poll their place every `--poll-secs`. Admitted users
//! press at once, except a `--no-show-share` who never do: their holds
//! lapse after the claim window (30 s, the shortest) and pass to the next
//! places, until the stock is claimed and the room closes.
//!
//! Reported: join latency and rate; `queue.progress` frames a socket
//! received per second (one frame for the whole crowd: it must not grow
//! with it); the sold-out notice, from the last claim's 201 to each
//! socket's `queue.closed`; admission order against the proof (checked with
//! the same code as `coupon-service verify-queue`); and the waiting room's
//! invariants with the usual ones.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;
use contract::admission::QueueProof;
use futures::stream::{self, StreamExt};
use serde_json::json;

use super::{ScenarioReport, per_sec, watchers::open_sockets};
use crate::{http, invariants, setup, stats::Recorder, target::Target, ws::Socket};

/// The shortest claim window the admin may set: no-shows lapse soonest.
const CLAIM_WINDOW_SECS: i64 = 30;
/// How long the run may take after the joins before it gives up.
const SALE_WITHIN: Duration = Duration::from_secs(600);
/// How often the sockets' new frames are read.
const READ_EVERY: Duration = Duration::from_millis(100);

pub struct Options {
    pub users: usize,
    pub stock: i64,
    pub sockets: usize,
    pub concurrency: usize,
    pub no_show_share: f64,
    pub poll_secs: u64,
    /// The sale starts this long after the joins begin: joins landing
    /// before form the drawn pre-queue, later ones follow in arrival order.
    pub lead_secs: u64,
}

/// Whether this user is one who never presses (a fixed share, spread over
/// the ids).
pub(super) fn no_show(user: i64, share: f64) -> bool {
    (user.unsigned_abs().wrapping_mul(2_654_435_761) % 1000) < (share * 1000.0) as u64
}

#[derive(Default)]
pub(super) struct Claims {
    /// Admitted users pressing, with their press's outcome.
    pub pressed: HashMap<i64, String>,
    pub last_201: Option<Instant>,
    pub issued: Vec<i64>,
}

pub async fn run(target: &Arc<Target>, o: &Options) -> anyhow::Result<ScenarioReport> {
    let admin = setup::admin_token(target).await?;
    let people = setup::users(target, o.users).await?;
    let event = create_event(target, &admin, o.stock).await?;
    let pairs = people.pairs();
    let sockets = open_sockets(target, &pairs[..o.sockets.min(pairs.len())], &[event]).await?;
    let tokens: HashMap<i64, String> = pairs.iter().cloned().collect();

    // The start comes `lead_secs` after the joins begin.
    start_in(target, &admin, event, o.lead_secs).await?;
    let joins_started = Instant::now();
    // Admission starts while the crowd is still joining: the clients watch
    // (sockets) and poll (the rest) from the first join on, as pages do.
    let claims = Arc::new(Mutex::new(Claims::default()));
    let polled = o.sockets.min(pairs.len())..pairs.len();
    let (pollers, joined) = spawn_pollers(target, event, &pairs[polled], o, &claims);
    let join_path = format!("/api/coupons/events/{event}/queue");
    let ((joins, join_window), watch) = tokio::join!(
        join_all(target, &join_path, &pairs, o.concurrency, &joined),
        watch_sockets(target, event, &sockets, &tokens, o, &claims)
    );
    for p in pollers {
        p.abort();
    }
    let elapsed = joins_started.elapsed();

    let proof = fetch_proof(target, event).await?;
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
    violations.extend(queue_violations(target, event, o, &proof, &claims, &watch).await?);
    let closed = closing_latencies(&sockets, claims.last_201, &mut violations);
    let progress_per_sec = watch.progress_frames as f64
        / sockets.len().max(1) as f64
        / watch.open_for.as_secs_f64().max(1.0);
    let pre_queue = proof.pre_queue.len();
    for s in sockets {
        s.close();
    }
    Ok(ScenarioReport {
        scenario: "queue".into(),
        parameters: json!({"users": o.users, "stock": o.stock, "sockets": o.sockets,
            "concurrency": o.concurrency, "no_show_share": o.no_show_share,
            "poll_secs": o.poll_secs, "lead_secs": o.lead_secs, "event_id": event}),
        duration_secs: elapsed.as_secs_f64(),
        requests: joins.latency.len(),
        throughput_per_sec: per_sec(joins.latency.len(), join_window),
        rate_name: "joins/s".into(),
        rate_per_sec: per_sec(joins.outcomes.get("201").copied().unwrap_or(0), join_window),
        latency: joins.summary(),
        outcomes: joins.outcomes.clone(),
        extra: json!({
            "pre_queue": pre_queue,
            "late": proof.late.len(),
            "admitted": proof.admitted.len(),
            "claimed": claims.issued.len(),
            "presses": claims.pressed.len(),
            "progress_frames_per_socket_per_sec": progress_per_sec,
            "sold_out_notice_ms": closed,
            "proof": proof.verify(None).unwrap_or_else(|e| e),
        }),
        violations,
    })
}

async fn create_event(target: &Target, admin: &str, stock: i64) -> anyhow::Result<i64> {
    let now = Utc::now();
    setup::create_event(
        target,
        admin,
        &json!({
            "title": format!("flashload queue {stock}"),
            "total_count": stock,
            "max_per_user": 1,
            // Far enough for the sockets to open; moved near once they are.
            "start_time": (now + chrono::TimeDelta::hours(1)).to_rfc3339(),
            "end_time": (now + chrono::TimeDelta::hours(3)).to_rfc3339(),
            "discount_type": "percentage",
            "discount_value": 10,
            "code_prefix": "QUEUE",
            "admission": "queue",
            "queue_opens_at": (now - chrono::TimeDelta::seconds(1)).to_rfc3339(),
            "claim_window_secs": CLAIM_WINDOW_SECS,
        }),
    )
    .await
}

async fn start_in(target: &Target, admin: &str, event: i64, secs: u64) -> anyhow::Result<()> {
    let start = Utc::now() + chrono::TimeDelta::seconds(i64::try_from(secs)?);
    let response = target
        .http()
        .patch(target.api(&format!("/api/admin/events/{event}")))
        .bearer_auth(admin)
        .json(&json!({"start_time": start.to_rfc3339()}))
        .send()
        .await?;
    let status = response.status();
    anyhow::ensure!(status == 200, "moving the start answered {status}");
    Ok(())
}

/// Every user joins once, `concurrency` at a time: their outcomes and
/// latencies, and the window the joins took.
pub(super) async fn join_all(
    target: &Arc<Target>,
    path: &str,
    users: &[(i64, String)],
    concurrency: usize,
    joined: &Joined,
) -> (Recorder, Duration) {
    let bar = super::progress(users.len() as u64, "joins");
    let started = Instant::now();
    let results: Vec<(String, Duration)> = stream::iter(users.iter().cloned())
        .map(|(user, token)| {
            let (target, bar) = (target.clone(), bar.clone());
            let told = joined
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&user);
            async move {
                let at = Instant::now();
                let outcome = match target
                    .http()
                    .post(target.api(path))
                    .bearer_auth(&token)
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(_) => "error".to_owned(),
                };
                if let Some(told) = told {
                    let _ = told.send(());
                }
                bar.inc(1);
                (outcome, at.elapsed())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let window = started.elapsed();
    let mut recorder = Recorder::default();
    for (outcome, latency) in &results {
        recorder.record(outcome, *latency);
    }
    (recorder, window)
}

/// An admitted user presses (unless a no-show); the outcome is kept.
pub(super) fn press(
    target: &Arc<Target>,
    event: i64,
    user: i64,
    token: String,
    claims: &Arc<Mutex<Claims>>,
) -> tokio::task::JoinHandle<()> {
    let (target, claims) = (target.clone(), claims.clone());
    tokio::spawn(async move {
        let r = http::issue(&target, &token, event).await;
        let mut c = claims.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = r.coupon_id {
            c.issued.push(id);
            c.last_201 = Some(c.last_201.map_or(r.finished, |t| t.max(r.finished)));
        }
        c.pressed.insert(user, r.outcome);
    })
}

/// Tells each polling user that its join was answered.
pub(super) type Joined = Mutex<HashMap<i64, tokio::sync::oneshot::Sender<()>>>;

/// Users without a socket read their place, once their join was answered,
/// every `poll_secs` (spread over the period) until admitted or the room
/// closed.
fn spawn_pollers(
    target: &Arc<Target>,
    event: i64,
    users: &[(i64, String)],
    o: &Options,
    claims: &Arc<Mutex<Claims>>,
) -> (Vec<tokio::task::JoinHandle<()>>, Joined) {
    let period = Duration::from_secs(o.poll_secs.max(1));
    // Reads in flight across every page: a crowd of pollers stays within
    // `--concurrency` connections (the sockets hold most of flashload's
    // open files), and a winner's press never fails for want of one.
    let reads = Arc::new(tokio::sync::Semaphore::new(o.concurrency.max(1)));
    let mut joined = HashMap::new();
    let handles = users
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
            let offset = period.mul_f64((i % 1000) as f64 / 1000.0);
            let no_show = no_show(user, o.no_show_share);
            let (told, answered) = tokio::sync::oneshot::channel();
            joined.insert(user, told);
            tokio::spawn(async move {
                let _ = answered.await;
                tokio::time::sleep(offset).await;
                loop {
                    let permit = reads.acquire().await;
                    let state = target
                        .http()
                        .get(target.api(&format!("/api/coupons/events/{event}/queue/me")))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .ok();
                    let body: serde_json::Value = match state {
                        Some(r) => r.json().await.unwrap_or_default(),
                        None => serde_json::Value::Null,
                    };
                    drop(permit);
                    match body["state"].as_str() {
                        Some("admitted") => {
                            if !no_show {
                                let _ = press(&target, event, user, token, &claims).await;
                            }
                            return;
                        }
                        Some("waiting") | None => tokio::time::sleep(period).await,
                        Some(_) => return,
                    }
                }
            })
        })
        .collect();
    (handles, Mutex::new(joined))
}

/// What the sockets saw while the sale ran.
struct Watched {
    /// `queue.progress` frames over all sockets.
    progress_frames: u64,
    /// The positions `queue.admitted` gave each socket's user.
    admitted_positions: HashMap<i64, i64>,
    open_for: Duration,
    closed_reason: Option<String>,
}

/// Reads the sockets' new frames until the room closes: presses for the
/// admitted (unless no-shows), counts progress frames.
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
        progress_frames: 0,
        admitted_positions: HashMap::new(),
        open_for: Duration::ZERO,
        closed_reason: None,
    };
    let mut presses = Vec::new();
    let room = target.api(&format!("/api/coupons/events/{event}/queue"));
    let mut last_room_check = Instant::now();
    while started.elapsed() < SALE_WITHIN {
        tokio::time::sleep(READ_EVERY).await;
        for (socket, cursor) in sockets.iter().zip(cursors.iter_mut()) {
            let frames = socket.frames_from(*cursor);
            *cursor += frames.len();
            for frame in frames {
                match frame.kind().as_deref() {
                    Some("queue.progress") => watched.progress_frames += 1,
                    Some("queue.admitted") => {
                        let (Some(user), data) = (socket.user_id, frame.frame()) else {
                            continue;
                        };
                        let position = data["data"]["position"].as_i64().unwrap_or(0);
                        if watched.admitted_positions.insert(user, position).is_none()
                            && !no_show(user, o.no_show_share)
                            && let Some(token) = tokens.get(&user)
                        {
                            presses.push(press(target, event, user, token.clone(), claims));
                        }
                    }
                    _ => {}
                }
            }
        }
        // The room's own word ends the run (the sockets' queue.closed are
        // measured after).
        if last_room_check.elapsed() >= Duration::from_secs(1) {
            last_room_check = Instant::now();
            if let Ok(r) = target.http().get(&room).send().await
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
    watched.open_for = started.elapsed();
    watched
}

async fn fetch_proof(target: &Target, event: i64) -> anyhow::Result<QueueProof> {
    proof_at(target, &format!("/api/coupons/events/{event}/queue/proof")).await
}

/// A room's proof (the queue's or the draw's path).
pub(super) async fn proof_at(target: &Target, path: &str) -> anyhow::Result<QueueProof> {
    let response = target.http().get(target.api(path)).send().await?;
    anyhow::ensure!(
        response.status() == 200,
        "the proof answered {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// The sold-out notice: from the last claim's 201 to each socket's
/// `queue.closed` (ms: p50, p99, max); a socket without one, or with two, is
/// a violation.
pub(super) fn closing_latencies(
    sockets: &[Socket],
    last_201: Option<Instant>,
    violations: &mut Vec<String>,
) -> serde_json::Value {
    let Some(last) = last_201 else {
        violations.push("queue: no claim succeeded".into());
        return serde_json::Value::Null;
    };
    let mut recorder = Recorder::default();
    let (mut missing, mut doubled) = (0, 0);
    for s in sockets {
        let closed = s.of_type("queue.closed");
        match closed.first() {
            None => missing += 1,
            Some(first) => {
                recorder.record("closed", first.at.saturating_duration_since(last));
                if closed.len() > 1 {
                    doubled += 1;
                }
            }
        }
    }
    violations.extend(invariants::soldout_violations(
        "queue.closed",
        missing,
        doubled,
        sockets.len(),
    ));
    serde_json::to_value(recorder.summary()).unwrap_or_default()
}

/// The waiting room's own invariants (docs/contract.md §2.10).
async fn queue_violations(
    target: &Target,
    event: i64,
    o: &Options,
    proof: &QueueProof,
    claims: &Claims,
    watched: &Watched,
) -> anyhow::Result<Vec<String>> {
    let mut v = Vec::new();
    // The order: the seed against its commitment, the drawn order, each
    // admission the next place (one place per account included).
    if let Err(e) = proof.verify(None) {
        v.push(format!("queue: the proof does not hold: {e}"));
    }
    // What each socket was told agrees with the proof's positions.
    let positions: HashMap<i64, i64> = proof
        .pre_queue
        .iter()
        .chain(&proof.late)
        .enumerate()
        .map(|(i, u)| (*u, i as i64 + 1))
        .collect();
    let told_wrong = watched
        .admitted_positions
        .iter()
        .filter(|(u, p)| positions.get(u) != Some(p))
        .count();
    if told_wrong > 0 {
        v.push(format!(
            "queue: {told_wrong} queue.admitted frames named another position than the proof"
        ));
    }
    // Every claim was held by an admission.
    let admitted: HashSet<i64> = proof.admitted.iter().copied().collect();
    let holders: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM user_coupons WHERE event_id = $1")
            .bind(event)
            .fetch_all(&target.db)
            .await?;
    let unheld = holders.iter().filter(|u| !admitted.contains(u)).count();
    if unheld > 0 {
        v.push(format!(
            "queue: {unheld} coupons went to users never admitted"
        ));
    }
    // Every admitted user who pressed (in time: at once) got a 201.
    let refused: Vec<&String> = claims.pressed.values().filter(|o| *o != "201").collect();
    if !refused.is_empty() {
        v.push(format!(
            "queue: {} admitted presses were refused ({:?}…)",
            refused.len(),
            refused.iter().take(3).collect::<Vec<_>>()
        ));
    }
    // Sold out, and nobody left waiting or holding.
    if watched.closed_reason.as_deref() != Some("sold_out") {
        v.push(format!(
            "queue: the room ended {:?}, not sold out (stock {}, {} users)",
            watched.closed_reason, o.stock, o.users
        ));
    }
    let holding: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM queue_places p WHERE p.event_id = $1 AND p.state = 'admitted' \
         AND p.claim_by > now() AND NOT EXISTS (SELECT 1 FROM user_coupons c \
           WHERE c.event_id = p.event_id AND c.user_id = p.user_id)",
    )
    .bind(event)
    .fetch_one(&target.db)
    .await?;
    if holding > 0 {
        v.push(format!(
            "queue: {holding} admissions still hold a unit after the sell-out"
        ));
    }
    Ok(v)
}
