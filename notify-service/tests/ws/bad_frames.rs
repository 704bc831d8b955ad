//! Bad frames get an `error` frame or a documented close code, never a
//! crash: the socket (and the server) go on.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    client::{Client, Ending},
    helpers::{Deployment, Faults},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_error_frames_and_the_socket_stays_usable() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let mut client = d.connect(&app, 1).await;
    for (frame, code) in [
        ("not json at all", "invalid_json"),
        ("[1, 2, 3]", "invalid_json"),
        (r#"{"type":"dance"}"#, "unknown_type"),
        (r#"{"event_id":1}"#, "invalid_frame"),
        (r#"{"type":"subscribe","event_id":"one"}"#, "invalid_frame"),
        (r#"{"type":"resume","since":"yesterday"}"#, "invalid_since"),
        (r#"{"type":"subscribe","event_id":999}"#, "event_not_found"),
        (r#"{"type":"subscribe","event_id":-5}"#, "invalid_frame"),
        (r#"{"type":"subscribe","event_id":0}"#, "invalid_frame"),
    ] {
        client.send_text(frame).await;
        let error = client.next_json().await;
        assert_eq!(
            (error["type"].as_str(), error["code"].as_str()),
            (Some("error"), Some(code)),
            "{frame} → {error}"
        );
    }
    client
        .send(Message::Binary(vec![1u8, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(client.next_json().await["code"], "unsupported_frame");
    client.ping_pong().await;
    assert_eq!(app.readyz().await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_size_cap_closes_with_1009() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| s.websocket.max_frame_bytes = 1024)
        .await;
    let mut client = d.connect(&app, 1).await;
    let huge = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(64 * 1024));
    client.send_text(&huge).await;
    assert_eq!(client.ending().await, Ending::Closed(1009));
    assert_eq!(app.closes("frame_too_big"), 1.0);
    // Others are unaffected.
    d.connect(&app, 2).await.ping_pong().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_frame_that_is_neither_auth_nor_subscribe_closes_with_4001() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    // (A first `subscribe` makes an anonymous watcher: watchers.rs.)
    let mut client = Client::connect(&app.ws_url(), None).await.unwrap();
    client
        .send_json(json!({"type": "resume", "since": "1-0"}))
        .await;
    let error = client.next_json().await;
    assert_eq!(error["code"], "auth_required", "{error}");
    assert_eq!(client.ending().await, Ending::Closed(4001));

    let mut garbage = Client::connect(&app.ws_url(), None).await.unwrap();
    garbage.send_text("{{{{").await;
    assert_eq!(garbage.next_json().await["code"], "invalid_json");
    assert_eq!(garbage.ending().await, Ending::Closed(4001));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_count_per_socket_is_capped() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| s.websocket.max_subscriptions = 2)
        .await;
    for event in 1..=3 {
        d.load_event(event, 10, 10).await;
    }
    let mut client = d.connect(&app, 1).await;
    for event in 1..=2 {
        client
            .send_json(json!({"type": "subscribe", "event_id": event}))
            .await;
        assert_eq!(client.next_json().await["type"], "subscribed");
    }
    client
        .send_json(json!({"type": "subscribe", "event_id": 3}))
        .await;
    assert_eq!(client.next_json().await["code"], "too_many_subscriptions");
    client
        .send_json(json!({"type": "unsubscribe", "event_id": 1}))
        .await;
    assert_eq!(client.next_json().await["type"], "unsubscribed");
    client
        .send_json(json!({"type": "subscribe", "event_id": 3}))
        .await;
    assert_eq!(client.next_json().await["type"], "subscribed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_flooding_frames_is_rate_limited_and_served_again_afterwards() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| {
            s.websocket.client_frames_per_second = 5;
        })
        .await;
    let mut client = d.connect(&app, 1).await;
    for _ in 0..30 {
        client.send_json(json!({"type": "ping"})).await;
    }
    let mut answers = Vec::new();
    for _ in 0..30 {
        let frame = client.next_json().await;
        answers.push(
            frame["type"].as_str().unwrap().to_owned() + "/" + frame["code"].as_str().unwrap_or(""),
        );
    }
    let limited = answers
        .iter()
        .filter(|a| *a == "error/rate_limited")
        .count();
    assert!(limited >= 15, "{answers:?}");
    assert_eq!(
        answers.len() - limited,
        answers.iter().filter(|a| *a == "pong/").count()
    );
    // The budget refills: the socket is served again.
    let deadline = tokio::time::Instant::now() + crate::helpers::WITHIN;
    loop {
        client.send_json(json!({"type": "ping"})).await;
        if client.next_json().await["type"] == "pong" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still limited");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_websocket_pings_draws_on_the_frame_budget() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| {
            s.websocket.client_frames_per_second = 5;
        })
        .await;
    let mut client = d.connect(&app, 1).await;
    for _ in 0..100 {
        client
            .send(Message::Ping(vec![7u8; 16].into()))
            .await
            .unwrap();
    }
    client.send_json(json!({"type": "ping"})).await;
    // A burst of twice the rate (10), plus what refilled meanwhile; not 100.
    let (pongs, after) = client.pongs_before_text().await;
    assert!(pongs < 30, "{pongs} pongs for 100 pings");
    assert!(
        after["type"] == "pong" || after["code"] == "rate_limited",
        "{after}"
    );
    assert_eq!(app.readyz().await, 200);
}
