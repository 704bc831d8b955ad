//! Anonymous watchers: a socket whose first frame is `subscribe` watches
//! event channels without signing in (snapshot, `event.stock`,
//! `event.updated`, `coupon.soldout`), never gets a personal message, may
//! sign in later on the same socket, and counts in the small budget of
//! sockets without a token.

use std::time::Duration;

use serde_json::json;

use crate::{
    client::{Client, Ending},
    helpers::{Deployment, Faults, NotifyApp, WITHIN, eventually, issued, soldout, stock, updated},
};

/// An anonymous socket from `address` watching `event_id`.
async fn anonymous_watcher(app: &NotifyApp, address: &str, event_id: i64) -> Client {
    let headers = [("x-forwarded-for", address.to_owned())];
    let mut client = Client::connect_with(&app.ws_url(), &headers, None)
        .await
        .expect("upgrade");
    client
        .send_json(json!({"type": "subscribe", "event_id": event_id}))
        .await;
    let subscribed = client.next_json().await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_watcher_gets_every_event_frame_and_never_a_personal_one() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    d.load_event(1, 100, 42).await;
    let headers = [("x-forwarded-for", "198.51.100.20".to_owned())];
    let mut client = Client::connect_with(&app.ws_url(), &headers, None)
        .await
        .unwrap();
    client
        .send_json(json!({"type": "subscribe", "event_id": 1}))
        .await;
    assert_eq!(
        client.next_json().await,
        json!({"type": "subscribed", "event_id": 1, "remaining": 42, "status": "active"})
    );
    assert_eq!(
        (app.state.unauthenticated.open(), app.state.slots.open()),
        (1, 0)
    );

    // A personal message for anyone goes nowhere near it; event frames do.
    d.publish(&issued(5, 1)).await;
    let changed = updated(1, "active", 200);
    d.publish(&changed).await;
    let frame = client.next_json().await;
    assert_eq!(frame["type"], "event.updated", "{frame}");
    assert_eq!(frame["id"], changed.id.to_string());
    assert_eq!(frame["data"]["total"], 200);
    assert_eq!(frame["data"]["title"], "Test sale");
    d.publish(&stock(1, 41)).await;
    assert_eq!(client.next_json().await["type"], "event.stock");
    d.publish(&soldout(1)).await;
    assert_eq!(client.next_json().await["type"], "coupon.soldout");

    // History is personal: resume needs a signed-in socket.
    client
        .send_json(json!({"type": "resume", "since": "0-0"}))
        .await;
    assert_eq!(client.next_json().await["code"], "auth_required");
    client.ping_pong().await;
    assert_eq!(app.consumed("coupon.issued", "published"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_outlives_the_auth_deadline_while_a_silent_socket_does_not() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| s.websocket.auth_timeout_ms = 300)
        .await;
    d.load_event(1, 100, 10).await;
    let mut watcher = anonymous_watcher(&app, "198.51.100.21", 1).await;
    let mut silent = Client::connect(&app.ws_url(), None).await.expect("upgrade");
    assert_eq!(silent.next_json().await["code"], "auth_timeout");
    assert_eq!(silent.ending().await, Ending::Closed(4001));
    tokio::time::sleep(Duration::from_millis(400)).await;
    d.publish(&stock(1, 9)).await;
    assert_eq!(watcher.next_json().await["data"]["remaining"], 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_signs_in_on_its_socket_and_then_gets_its_own_messages() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    d.load_event(1, 100, 10).await;
    let mut client = anonymous_watcher(&app, "198.51.100.22", 1).await;
    client
        .send_json(json!({"type": "auth", "token": "not-a-token"}))
        .await;
    // A bad token leaves it watching anonymously.
    assert_eq!(client.next_json().await["code"], "invalid_token");
    client
        .send_json(json!({"type": "auth", "token": d.token(33)}))
        .await;
    let welcome = client.next_json().await;
    assert_eq!(
        (welcome["type"].as_str(), welcome["user_id"].as_i64()),
        (Some("welcome"), Some(33))
    );
    // It moved from the budget without a token to a member's place.
    assert_eq!(
        (app.state.unauthenticated.open(), app.state.slots.open()),
        (0, 1)
    );
    client.ping_pong().await;
    let mine = issued(33, 77);
    d.publish(&mine).await;
    let frame = client.next_json().await;
    assert_eq!(frame["id"], mine.id.to_string());
    assert!(frame["seq"].is_string(), "{frame}");
    // Still watching the event it subscribed to before signing in.
    d.publish(&stock(1, 8)).await;
    assert_eq!(client.next_json().await["type"], "event.stock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_are_bounded_per_address_and_per_node_and_by_subscriptions() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| {
            s.websocket.max_unauthenticated_per_address = 2;
            s.websocket.max_unauthenticated = 3;
            s.websocket.max_subscriptions = 2;
        })
        .await;
    for event in 1..=3 {
        d.load_event(event, 100, 10).await;
    }
    let mut first = anonymous_watcher(&app, "203.0.113.9", 1).await;
    let _second = anonymous_watcher(&app, "203.0.113.9", 1).await;
    let from = |address: &str| vec![("x-forwarded-for", address.to_owned())];
    assert_eq!(
        crate::client::refused(&app.ws_url(), &from("203.0.113.9")).await,
        (429, "too_many_unauthenticated".to_owned())
    );
    let _third = anonymous_watcher(&app, "203.0.113.10", 1).await;
    assert_eq!(
        crate::client::refused(&app.ws_url(), &from("203.0.113.11")).await,
        (503, "server_full".to_owned())
    );
    // Signed-in users still get in: their budget is apart.
    let mut member = d.connect(&app, 1).await;
    member.ping_pong().await;

    first
        .send_json(json!({"type": "subscribe", "event_id": 2}))
        .await;
    assert_eq!(first.next_json().await["type"], "subscribed");
    first
        .send_json(json!({"type": "subscribe", "event_id": 3}))
        .await;
    assert_eq!(first.next_json().await["code"], "too_many_subscriptions");
    drop(first);
    eventually(WITHIN, "the watcher's place is free", || async {
        app.state.unauthenticated.open() == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_updated_reaches_the_watchers_of_every_instance_once() {
    let d = Deployment::new().await;
    let a = d.spawn().await;
    let b = d.spawn().await;
    d.load_event(4, 100, 10).await;
    let mut on_a = anonymous_watcher(&a, "198.51.100.30", 4).await;
    let mut on_b = anonymous_watcher(&b, "198.51.100.31", 4).await;
    let mut member_on_b = d.watcher(&b, 9, 4).await;
    let closed = updated(4, "ended", 100);
    d.publish(&closed).await;
    // A redelivery (the relay publishes at least once) is dropped.
    d.publish(&closed).await;
    for client in [&mut on_a, &mut on_b, &mut member_on_b] {
        let frame = client.next_json().await;
        assert_eq!(
            (frame["type"].as_str(), frame["data"]["status"].as_str()),
            (Some("event.updated"), Some("ended")),
            "{frame}"
        );
        client.ping_pong().await;
    }
    let consumed =
        |outcome| a.consumed("event.updated", outcome) + b.consumed("event.updated", outcome);
    eventually(WITHIN, "both copies consumed", || async {
        consumed("published") + consumed("republished") == 2.0
    })
    .await;
    assert_eq!(consumed("published"), 1.0);
}
