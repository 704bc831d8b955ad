//! What a `subscribe` costs Redis: the snapshot reads the event's own slot,
//! the one issuance needs at 10:00, so a crowd (or one script) subscribing
//! again and again must not turn into a read per frame.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{
    client::Client,
    helpers::{Deployment, Faults, NotifyApp, WITHIN, stock},
};

fn snapshot_reads(app: &NotifyApp) -> f64 {
    app.metric("notify_snapshot_reads_total")
}

/// An instance whose overall frame budget is out of the way, so what
/// refuses a `subscribe` (if anything) is the subscribe budget.
async fn spawn(d: &Deployment) -> NotifyApp {
    d.spawn_with(Faults::default(), |s| {
        s.websocket.client_frames_per_second = 1_000;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_anonymous_sockets_subscribing_ten_times_each_cost_a_few_snapshot_reads() {
    let d = Deployment::new().await;
    let app = spawn(&d).await;
    d.load_event(1, 100, 42).await;
    let before = snapshot_reads(&app);
    let started = Instant::now();

    // One address's whole allowance of anonymous sockets, all at once, each
    // watching the event and then asking for it nine more times.
    let from = [("x-forwarded-for", "203.0.113.40".to_owned())];
    let mut sockets = Vec::new();
    for _ in 0..16 {
        sockets.push(
            Client::connect_with(&app.ws_url(), &from, None)
                .await
                .expect("upgrade"),
        );
    }
    let answers = futures::future::join_all(sockets.iter_mut().map(|c| async move {
        for _ in 0..10 {
            c.send_json(json!({"type": "subscribe", "event_id": 1}))
                .await;
        }
        let mut answers = Vec::new();
        for _ in 0..10 {
            answers.push(c.next_json().await);
        }
        answers
    }))
    .await;
    let elapsed = started.elapsed();
    let reads = snapshot_reads(&app) - before;

    let expected =
        json!({"type": "subscribed", "event_id": 1, "remaining": 42, "status": "active"});
    assert!(
        answers.iter().flatten().all(|a| *a == expected),
        "{answers:?}"
    );
    // One read per event per cache lifetime (200 ms), whatever the crowd.
    let allowed = 1.0 + (elapsed.as_secs_f64() / 0.2).ceil();
    assert!(
        reads <= allowed,
        "{reads} snapshot reads for 160 subscribes in {elapsed:?} (allowed {allowed})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_subscribe_is_answered_from_the_sockets_own_snapshot_without_a_read() {
    let d = Deployment::new().await;
    let app = spawn(&d).await;
    d.load_event(1, 100, 42).await;
    let mut client = d.watcher(&app, 7, 1).await;
    let expected =
        json!({"type": "subscribed", "event_id": 1, "remaining": 42, "status": "active"});

    // Longer than the instance keeps a reading (200 ms): only the socket's
    // own state can answer without Redis now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = snapshot_reads(&app);
    for _ in 0..3 {
        client
            .send_json(json!({"type": "subscribe", "event_id": 1}))
            .await;
        assert_eq!(client.next_json().await, expected);
    }
    assert_eq!(snapshot_reads(&app) - before, 0.0, "a repeat read Redis");

    // A live frame since makes the socket's copy old: the next repeat
    // answers the current state.
    set_stock(&d, 1, 41).await;
    d.publish(&stock(1, 41)).await;
    assert_eq!(client.next_json().await["data"]["remaining"], 41);
    client
        .send_json(json!({"type": "subscribe", "event_id": 1}))
        .await;
    assert_eq!(
        client.next_json().await,
        json!({"type": "subscribed", "event_id": 1, "remaining": 41, "status": "active"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_flood_beyond_its_own_budget_is_refused_with_rate_limited() {
    let d = Deployment::new().await;
    let app = spawn(&d).await;
    let mut client = d.connect(&app, 7).await;
    let before = snapshot_reads(&app);

    // A hundred different events (none exists), as fast as the socket goes.
    for event in 1..=100 {
        client
            .send_json(json!({"type": "subscribe", "event_id": event}))
            .await;
    }
    let mut codes = Vec::new();
    for _ in 0..100 {
        codes.push(client.next_json().await["code"].as_str().map(str::to_owned));
    }
    let limited = codes
        .iter()
        .filter(|c| c.as_deref() == Some("rate_limited"))
        .count();
    let served = codes
        .iter()
        .filter(|c| c.as_deref() == Some("event_not_found"))
        .count();
    assert_eq!(limited + served, 100, "{codes:?}");
    // A burst of 32 (a page re-subscribing everything it may watch) plus
    // what refilled at 2 a second meanwhile.
    assert!(
        (32..=40).contains(&served),
        "{served} of 100 subscribes served, {limited} refused"
    );
    let reads = snapshot_reads(&app) - before;
    assert!(reads <= 40.0, "{reads} snapshot reads");

    // Other frames are not held back, and the budget refills.
    client.ping_pong().await;
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        client
            .send_json(json!({"type": "subscribe", "event_id": 1}))
            .await;
        if client.next_json().await["code"] == "event_not_found" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still limited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_snapshot_is_never_older_than_its_ttl_or_a_live_frame_of_the_event() {
    let d = Deployment::new().await;
    let ttl = Duration::from_millis(1_000);
    let app = d
        .spawn_with(Faults::default(), |s| s.snapshots.ttl_ms = 1_000)
        .await;
    d.load_event(1, 100, 42).await;
    let remaining = |subscribed: serde_json::Value| subscribed["remaining"].as_i64();
    let read_at = Instant::now();
    let mut first = d.watcher(&app, 1, 1).await;

    // Issuance moves the stock; until its frame comes, another socket may
    // get the instance's reading, but never one older than the TTL.
    set_stock(&d, 1, 40).await;
    let mut second = d.connect(&app, 2).await;
    second
        .send_json(json!({"type": "subscribe", "event_id": 1}))
        .await;
    let shared = remaining(second.next_json().await);
    if read_at.elapsed() < ttl {
        assert_eq!(shared, Some(42), "the shared reading");
    }
    tokio::time::sleep(ttl).await;
    let mut third = d.connect(&app, 3).await;
    third
        .send_json(json!({"type": "subscribe", "event_id": 1}))
        .await;
    assert_eq!(remaining(third.next_json().await), Some(40), "past the TTL");

    // The stock frame goes out: whoever subscribes after it reads anew,
    // however young the reading was.
    set_stock(&d, 1, 39).await;
    d.publish(&stock(1, 39)).await;
    assert_eq!(first.next_of("event.stock").await["data"]["remaining"], 39);
    let mut fourth = d.connect(&app, 4).await;
    fourth
        .send_json(json!({"type": "subscribe", "event_id": 1}))
        .await;
    assert_eq!(
        remaining(fourth.next_json().await),
        Some(39),
        "after the frame"
    );
}

/// Sets the event's stock in Redis the way issuance leaves it.
async fn set_stock(d: &Deployment, event_id: i64, remaining: i64) {
    let keys = contract::redis_keys::EventKeys::new(&d.redis_prefix, event_id);
    let _: () = redis::cmd("SET")
        .arg(keys.stock())
        .arg(remaining)
        .query_async(&mut d.redis().await)
        .await
        .expect("SET stock");
}
