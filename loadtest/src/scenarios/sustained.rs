//! `sustained`: a large stock, C clients issuing back to back for T seconds.
//! The headline is durable issuances per second.
//!
//! Committed is not delivered: the relay, RabbitMQ and notify-service may
//! fall behind while the clients keep winning. So one more user, not among
//! the C clients, keeps a socket open through the run and takes one coupon
//! right after it; how long that coupon's push takes is the backlog the run
//! left behind (messages go out in commit order, so it arrives after the
//! others). Alongside: the outbox rows still unpublished when the run ended.
//!
//! And the push latency *during* the run: [`PROBES`] more users, also not
//! among the C clients, keep sockets open and take a coupon now and then
//! while the clients hammer; each probe is timed from its 201 to its
//! `coupon.issued` on the probe's socket.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::json;

use super::{ScenarioReport, Window, watchers::open_sockets};
use crate::{http, invariants, setup, stats::Recorder, target::Target, ws::Socket};

/// `max_per_user` of the event: high, so users are not the limit.
const PER_USER: i64 = 1_000;

/// Longer than notify-service's resume window, during which a fresh socket
/// holds personal messages back (see the `push` scenario).
const RESUME_WINDOW: Duration = Duration::from_millis(1_200);

/// How long the canary's push may take before the run counts as stuck.
const BACKLOG_LIMIT: Duration = Duration::from_secs(120);

/// Users probing the push latency during the run, each pressing about
/// every [`PROBE_EVERY`] (~40 coupons a second in all: under 1 % of the
/// load they measure).
const PROBES: usize = 20;
const PROBE_EVERY: Duration = Duration::from_millis(500);

pub async fn run(
    target: &Arc<Target>,
    users: usize,
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
) -> anyhow::Result<ScenarioReport> {
    let admin = setup::admin_token(target).await?;
    let people = setup::users(target, users + 1 + PROBES).await?;
    let canary = (people.ids[users], people.tokens[users].clone());
    let probers: Vec<(i64, String)> = (users + 1..users + 1 + PROBES)
        .map(|i| (people.ids[i], people.tokens[i].clone()))
        .collect();
    let stock = i64::try_from(users)? * PER_USER + 1;
    let event = setup::event(target, &admin, stock.min(100_000_000), PER_USER).await?;
    // The canary's socket first, then the probes' in the probes' order
    // (sockets open in whatever order they connect).
    let with_sockets: Vec<(i64, String)> = std::iter::once(canary.clone())
        .chain(probers.iter().cloned())
        .collect();
    let mut opened = open_sockets(target, &with_sockets, &[]).await?;
    let order: Vec<i64> = with_sockets.iter().map(|(id, _)| *id).collect();
    opened.sort_by_key(|s| order.iter().position(|id| Some(*id) == s.user_id));
    let sockets = Arc::new(opened);
    tokio::time::sleep(RESUME_WINDOW).await;

    let probing = tokio::spawn(probe(
        target.clone(),
        probers.iter().map(|(_, t)| t.clone()).collect(),
        sockets.clone(),
        event,
        Instant::now() + duration,
    ));
    let (recorder, issued, elapsed) = hammer(
        target,
        &people.tokens[..users],
        event,
        concurrency,
        duration,
        rate,
    )
    .await;
    let (during, probed) = probing.await?;
    let unpublished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&target.db)
            .await?;
    let backlog = push_delay(target, &canary.1, event, &sockets[0]).await?;

    let violations = invariants::check(
        target,
        event,
        &invariants::Observed {
            issued: issued
                .iter()
                .copied()
                .chain(probed.iter().copied())
                .chain([backlog.coupon_id])
                .collect(),
            devices: &sockets,
            ..Default::default()
        },
    )
    .await?;
    if let Ok(sockets) = Arc::try_unwrap(sockets) {
        for socket in sockets {
            socket.close();
        }
    }
    Ok(ScenarioReport::timed(
        "sustained",
        json!({"users": users, "concurrency": concurrency, "duration_secs": duration.as_secs(), "rate": rate, "event_id": event}),
        Window { recorder, elapsed },
        "issued/s (committed)",
        issued.len() as u64,
        json!({
            "outbox_unpublished_at_end": unpublished,
            "push_after_run_secs": backlog.delay.as_secs_f64(),
            "push_latency_during_run": during.summary(),
            "push_probes": probed.len(),
        }),
        violations,
    ))
}

/// Push latency while the clients hammer: each probe user presses about
/// every [`PROBE_EVERY`] until `until`, and times its 201 → `coupon.issued`
/// on its socket (`sockets[1 + i]` for token i). Returns the latencies and
/// the probes' coupon ids.
async fn probe(
    target: Arc<Target>,
    tokens: Vec<String>,
    sockets: Arc<Vec<Socket>>,
    event: i64,
    until: Instant,
) -> (Recorder, Vec<i64>) {
    let probes = tokens.into_iter().enumerate().map(|(i, token)| {
        let (target, sockets) = (target.clone(), sockets.clone());
        async move {
            let mut recorder = Recorder::default();
            let mut issued = Vec::new();
            // Staggered, so the probes do not press in step.
            tokio::time::sleep(PROBE_EVERY.mul_f64(i as f64 / PROBES as f64)).await;
            while Instant::now() < until {
                let answer = http::issue(&target, &token, event).await;
                if let Some(coupon_id) = answer.coupon_id {
                    issued.push(coupon_id);
                    match pushed_at(&sockets[1 + i], coupon_id, BACKLOG_LIMIT).await {
                        Some(at) => {
                            recorder.record("pushed", at.saturating_duration_since(answer.finished))
                        }
                        None => recorder.record("not pushed", BACKLOG_LIMIT),
                    }
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
            (recorder, issued)
        }
    });
    let mut all = Recorder::default();
    let mut issued = Vec::new();
    for (recorder, ids) in futures::future::join_all(probes).await {
        all.merge(&recorder);
        issued.extend(ids);
    }
    (all, issued)
}

/// When `coupon_id`'s push reached `socket`, waiting up to `limit`.
async fn pushed_at(socket: &Socket, coupon_id: i64, limit: Duration) -> Option<Instant> {
    let deadline = Instant::now() + limit;
    loop {
        let pushed = socket
            .of_type("coupon.issued")
            .into_iter()
            .find(|r| r.frame()["data"]["couponId"].as_i64() == Some(coupon_id));
        if let Some(frame) = pushed {
            return Some(frame.at);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

struct Canary {
    coupon_id: i64,
    /// From its 201 to its `coupon.issued` on the socket.
    delay: Duration,
}

/// Issues one coupon for the canary and waits for its push.
async fn push_delay(
    target: &Target,
    token: &str,
    event: i64,
    socket: &Socket,
) -> anyhow::Result<Canary> {
    let answer = http::issue(target, token, event).await;
    let coupon_id = answer
        .coupon_id
        .ok_or_else(|| anyhow::anyhow!("the canary's issue failed: {}", answer.outcome))?;
    let pushed = pushed_at(socket, coupon_id, BACKLOG_LIMIT)
        .await
        .ok_or_else(|| {
            anyhow::anyhow!("the canary's coupon was not pushed within {BACKLOG_LIMIT:?}")
        })?;
    Ok(Canary {
        coupon_id,
        delay: pushed.saturating_duration_since(answer.finished),
    })
}

/// C workers issuing for `duration`, worker i cycling through users
/// i, i + C, i + 2C, … With a `rate`, each worker fires on its own schedule
/// (rate / C per second, workers staggered) instead of back to back; a
/// worker behind schedule fires at once until it has caught up.
/// Returns what they saw, the 201 coupon ids and the measured window.
pub async fn hammer(
    target: &Arc<Target>,
    tokens: &[String],
    event: i64,
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
) -> (Recorder, Vec<i64>, Duration) {
    hammer_with(
        target,
        tokens,
        concurrency,
        duration,
        rate,
        move |target, token| async move { http::issue(&target, &token, event).await },
    )
    .await
}

/// [`hammer`] with any request: `request(target, token)`.
pub async fn hammer_with<F, Fut>(
    target: &Arc<Target>,
    tokens: &[String],
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
    request: F,
) -> (Recorder, Vec<i64>, Duration)
where
    F: Fn(Arc<Target>, String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = http::IssueResult> + Send,
{
    let concurrency = concurrency.max(1);
    // Time between two requests of one worker, when paced.
    let interval = rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(concurrency as f64 / r));
    let tokens: Arc<Vec<String>> = Arc::new(tokens.to_vec());
    let bar = super::progress(duration.as_secs(), "seconds");
    let started = Instant::now();
    let deadline = started + duration;
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                bar.inc(1);
            }
        })
    };
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (target, tokens, request) = (target.clone(), tokens.clone(), request.clone());
            tokio::spawn(async move {
                let mut recorder = Recorder::default();
                let mut issued = Vec::new();
                let mut next = w;
                // (next send time, interval) when paced.
                let mut pace =
                    interval.map(|i| (started + i.mul_f64(w as f64 / concurrency as f64), i));
                while Instant::now() < deadline {
                    if let Some((at, every)) = pace.as_mut() {
                        tokio::time::sleep_until((*at).into()).await;
                        *at += *every;
                        if Instant::now() >= deadline {
                            break;
                        }
                    }
                    let token = tokens[next % tokens.len()].clone();
                    next += concurrency;
                    let r = request(target.clone(), token).await;
                    recorder.record(&r.outcome, r.latency);
                    issued.extend(r.coupon_id);
                }
                (recorder, issued)
            })
        })
        .collect();
    let mut recorder = Recorder::default();
    let mut issued = Vec::new();
    for worker in workers {
        if let Ok((r, i)) = worker.await {
            recorder.merge(&r);
            issued.extend(i);
        }
    }
    let elapsed = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    (recorder, issued, elapsed)
}
