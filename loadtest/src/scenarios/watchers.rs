//! `watchers`: W sockets watch an event; a few buyers sell it out. The
//! headline is the fan-out latency of `coupon.soldout`, from the moment the
//! last coupon's 201 reached its buyer to each watcher's receipt.

use std::{sync::Arc, time::Instant};

use futures::stream::{self, StreamExt};
use serde_json::json;

use super::{ScenarioReport, fire_once, per_sec, record};
use crate::{http, invariants, setup, stats::Recorder, target::Target, ws::Socket};

/// Sockets opened at once while connecting watchers (and the crowd).
pub const CONNECT_CONCURRENCY: usize = 200;

pub async fn open_sockets(
    target: &Arc<Target>,
    users: &[(i64, String)],
    events: &[i64],
) -> anyhow::Result<Vec<Socket>> {
    let bar = super::progress(users.len() as u64, "sockets");
    let sockets: Vec<anyhow::Result<Socket>> = stream::iter(users.iter().cloned())
        .map(|(user, token)| {
            let (target, bar, events) = (target.clone(), bar.clone(), events.to_vec());
            async move {
                let socket = Socket::open(&target.ws, &token, user, &events).await;
                bar.inc(1);
                socket
            }
        })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    bar.finish_and_clear();
    sockets.into_iter().collect()
}

pub async fn run(
    target: &Arc<Target>,
    watchers: usize,
    stock: i64,
) -> anyhow::Result<ScenarioReport> {
    let admin = setup::admin_token(target).await?;
    let event = setup::event(target, &admin, stock, 1).await?;
    let viewers = setup::users(target, watchers).await?;
    let buyers = setup::users(target, usize::try_from(stock)?).await?;
    let pairs: Vec<(i64, String)> = viewers
        .ids
        .iter()
        .copied()
        .zip(viewers.tokens.iter().cloned())
        .collect();
    let sockets = open_sockets(target, &pairs, &[event]).await?;

    let started = Instant::now();
    let results = fire_once(target, &buyers.tokens, event, 64, None).await;
    let last_201 = http::last_201(&results).unwrap_or(started);
    let issued = http::issued(&results);
    let violations = invariants::check(
        target,
        event,
        &invariants::Observed {
            issued,
            watchers: &sockets,
            ..Default::default()
        },
    )
    .await?;

    let mut fanout = Recorder::default();
    for socket in &sockets {
        if let Some(frame) = socket.of_type("coupon.soldout").first() {
            fanout.record("soldout", frame.at.saturating_duration_since(last_201));
        }
    }
    let requests = record(&results);
    let received = fanout.latency.len();
    for socket in sockets {
        socket.close();
    }
    Ok(ScenarioReport {
        scenario: "watchers".into(),
        parameters: json!({"watchers": watchers, "stock": stock, "event_id": event}),
        duration_secs: started.elapsed().as_secs_f64(),
        requests: results.len() as u64,
        throughput_per_sec: per_sec(results.len() as u64, started.elapsed()),
        rate_name: "watchers reached".into(),
        rate_per_sec: received as f64,
        latency: fanout.summary(),
        outcomes: requests.outcomes.clone(),
        extra: json!({"fanout_latency": fanout.summary(), "issue_latency": requests.summary()}),
        violations,
    })
}
