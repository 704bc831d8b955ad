//! Event-wide fan-out: snapshots on subscribe, a thousand watchers, and a
//! client that stops reading while others keep up.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use futures::future::join_all;
use serde_json::json;

use crate::{
    client::{Client, Ending},
    helpers::{Deployment, WITHIN, eventually, percentile, soldout, stock},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_sends_the_current_snapshot_with_coupon_service_status_rules() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let now = chrono::Utc::now().timestamp_millis();
    d.load_event(1, 100, 42).await;
    d.load_event(2, 100, 0).await;
    d.load_event_window(3, 100, 100, now + 60_000, now + 120_000)
        .await;
    d.load_event_window(4, 100, 7, now - 120_000, now - 60_000)
        .await;
    let mut client = d.connect(&app, 1).await;
    for (event, remaining, status) in [
        (1, 42, "active"),
        (2, 0, "sold_out"),
        (3, 100, "scheduled"),
        (4, 7, "ended"),
    ] {
        client
            .send_json(json!({"type": "subscribe", "event_id": event}))
            .await;
        assert_eq!(
            client.next_json().await,
            json!({"type": "subscribed", "event_id": event, "remaining": remaining, "status": status})
        );
    }
    // Live updates follow the snapshot, only for watched events.
    d.publish(&stock(1, 41)).await;
    let update = client.next_json().await;
    assert_eq!(
        (
            update["type"].as_str(),
            update["data"]["remaining"].as_i64()
        ),
        (Some("event.stock"), Some(41))
    );
    client
        .send_json(json!({"type": "unsubscribe", "event_id": 1}))
        .await;
    assert_eq!(client.next_json().await["type"], "unsubscribed");
    d.publish(&stock(1, 40)).await;
    d.publish(&stock(2, 0)).await;
    assert_eq!(client.next_json().await["data"]["eventId"], 2);
    client.ping_pong().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_watchers_all_get_soldout_once() {
    const WATCHERS: i64 = 1_000;
    let d = Deployment::new().await;
    let app = d.spawn().await;
    d.load_event(9, 1_000, 3).await;
    let mut watchers = Vec::new();
    let users: Vec<i64> = (1..=WATCHERS).collect();
    for batch in users.chunks(50) {
        watchers.extend(join_all(batch.iter().map(|u| d.watcher(&app, *u, 9))).await);
    }
    assert_eq!(app.state.hub.connections(), WATCHERS as usize);

    let sold = soldout(9);
    let id = sold.id.to_string();
    let waiting: Vec<_> = watchers
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                let frame = client.next_json().await;
                let at = Instant::now();
                // Once: the next frame answers this ping.
                client.ping_pong().await;
                (frame, at)
            })
        })
        .collect();
    let published_at = Instant::now();
    d.publish(&sold).await;
    let mut latencies = Vec::with_capacity(waiting.len());
    for task in waiting {
        let (frame, at) = task.await.unwrap();
        assert_eq!(
            (frame["type"].as_str(), frame["id"].as_str()),
            (Some("coupon.soldout"), Some(id.as_str()))
        );
        latencies.push(at - published_at);
    }
    latencies.sort();
    let (p50, p99, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0),
    );
    eprintln!(
        "fan-out of coupon.soldout to {WATCHERS} watchers (publish → received): \
         p50 {p50:?}, p99 {p99:?}, max {max:?}"
    );
    assert!(p99 < Duration::from_secs(2), "p99 {p99:?}");
    assert_eq!(
        app.metric("notify_messages_delivered_total{type=\"coupon.soldout\"}"),
        WATCHERS as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_as_slow_while_another_keeps_up() {
    /// 50 updates every 20 ms: 2,500/s, far above the ~10/s per event
    /// coupon-service sends, and still easy for a client that reads.
    const BURST: i64 = 50;
    let d = Deployment::new().await;
    let app = d.spawn().await;
    d.load_event(5, 1_000_000, 1_000_000).await;

    // The slow client: a tiny receive buffer, and it stops reading after
    // subscribing.
    let bearer = [("authorization", format!("Bearer {}", d.token(1)))];
    let mut slow = Client::connect_with(&app.ws_url(), &bearer, Some(4096))
        .await
        .unwrap();
    assert_eq!(slow.next_json().await["type"], "welcome");
    slow.send_json(json!({"type": "subscribe", "event_id": 5}))
        .await;
    assert_eq!(slow.next_json().await["type"], "subscribed");

    let mut fast = d.watcher(&app, 2, 5).await;
    let (seen, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        loop {
            let frame = fast.next_json().await;
            let remaining = frame["data"]["remaining"].as_i64().unwrap();
            if seen.send((remaining, Instant::now())).is_err() {
                return;
            }
        }
    });

    let mut sent_at = BTreeMap::new();
    let mut next = 0;
    let mut pace = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..1_000 {
        pace.tick().await;
        let started = Instant::now();
        let burst: Vec<(Vec<u8>, String)> = (next..next + BURST)
            .map(|remaining| {
                let message = stock(5, remaining);
                (
                    serde_json::to_vec(&message).unwrap(),
                    message.id.to_string(),
                )
            })
            .collect();
        d.publish_many("event.stock", burst).await;
        for remaining in next..next + BURST {
            sent_at.insert(remaining, started);
        }
        next += BURST;
        if app.closes("slow_consumer") >= 1.0 {
            break;
        }
    }
    eventually(WITHIN, "the slow client is closed", || async {
        app.closes("slow_consumer") >= 1.0
    })
    .await;
    // It reads again: the backlog, then the close frame with 4008.
    let slow_drain = tokio::spawn(async move { slow.drain_until_close().await });

    // The reading client got every update (in any order: stock updates
    // are consumed concurrently), each within normal latency.
    let mut received = BTreeMap::new();
    while received.len() < sent_at.len() {
        let (remaining, at) = tokio::time::timeout(WITHIN, arrivals.recv())
            .await
            .expect("the reading client stopped getting updates")
            .expect("the reading client failed");
        assert!(
            sent_at.contains_key(&remaining),
            "unexpected update {remaining}"
        );
        received.insert(remaining, at);
    }
    // Only the reading client is left in the hub.
    assert_eq!(app.state.hub.connections(), 1);
    reader.abort();
    let mut latencies: Vec<Duration> = received
        .iter()
        .map(|(remaining, at)| *at - sent_at[remaining])
        .collect();
    latencies.sort();
    let p99 = percentile(&latencies, 99.0);
    eprintln!(
        "slow-consumer test: closed as slow after {} stock updates; \
         the reading client's p50 {:?}, p99 {p99:?}",
        sent_at.len(),
        percentile(&latencies, 50.0)
    );
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?}");

    let (backlog, ending) = slow_drain.await.unwrap();
    assert_eq!(ending, Ending::Closed(4008));
    assert!(
        backlog.len() < sent_at.len(),
        "the slow client got everything?"
    );
}
