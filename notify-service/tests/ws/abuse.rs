//! A hostile crowd: sockets that never authenticate, and subscribes to
//! events that do not exist, must neither keep signed-in users out nor turn
//! into work for coupon-service.

use serde_json::json;
use test_support::FaultProxy;
use tokio_tungstenite::tungstenite;

use crate::{
    client::{Client, Ending},
    e2e::spawn_coupon_service,
    helpers::{Deployment, Faults, NotifyApp, WITHIN, eventually},
};

/// Opens `n` sockets without a token, each as if from `address(i)` (the
/// test client is 127.0.0.1, a trusted proxy by default, so its
/// X-Forwarded-For names the client). Returns the open ones and the refusals.
async fn flood(
    app: &NotifyApp,
    n: usize,
    address: impl Fn(usize) -> String,
) -> (Vec<Client>, Vec<(u16, String)>) {
    let mut open = Vec::new();
    let mut refused = Vec::new();
    for i in 0..n {
        let headers = [("x-forwarded-for", address(i))];
        match Client::connect_with(&app.ws_url(), &headers, None).await {
            Ok(client) => open.push(client),
            Err(tungstenite::Error::Http(response)) => {
                let body: serde_json::Value = response
                    .body()
                    .as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or_default();
                refused.push((
                    response.status().as_u16(),
                    body["error"]["code"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ));
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    (open, refused)
}

/// A browser: opens without a token, then sends it in the first frame.
async fn browser(d: &Deployment, app: &NotifyApp, address: &str, user_id: i64) -> Client {
    let headers = [("x-forwarded-for", address.to_owned())];
    let mut client = Client::connect_with(&app.ws_url(), &headers, None)
        .await
        .expect("a browser's upgrade is accepted");
    client
        .send_json(json!({"type": "auth", "token": d.token(user_id)}))
        .await;
    let welcome = client.next_json().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_that_never_authenticate_from_one_address_cannot_keep_signed_in_users_out() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| s.websocket.max_connections = 4)
        .await;
    let (held, refused) = flood(&app, 40, |_| "203.0.113.66".to_owned()).await;
    // The address's share (16 by default) and not one socket more.
    assert_eq!(held.len(), 16, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|r| *r == (429, "too_many_unauthenticated".to_owned())),
        "{refused:?}"
    );
    // Signed-in users get in, by header and by first frame (another address).
    let mut native = d.connect(&app, 1).await;
    let mut web = browser(&d, &app, "198.51.100.7", 2).await;
    native.ping_pong().await;
    web.ping_pong().await;
    assert_eq!(app.state.slots.open(), 2);
    assert_eq!(app.state.unauthenticated.open(), 16);
    assert_eq!(
        app.metric("notify_ws_rejected_upgrades_total{reason=\"address_limit\"}"),
        24.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unauthenticated_sockets_from_many_addresses_cannot_keep_signed_in_users_out() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| {
            s.websocket.max_connections = 4;
            s.websocket.max_unauthenticated = 10;
        })
        .await;
    let (held, refused) = flood(&app, 30, |i| format!("203.0.113.{}", i + 1)).await;
    assert_eq!(held.len(), 10, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|r| *r == (503, "server_full".to_owned())),
        "{refused:?}"
    );
    // Every member's place is still there for users with a token.
    let members: Vec<Client> = futures::future::join_all((1..=4).map(|u| d.connect(&app, u))).await;
    assert_eq!(members.len(), 4);
    assert_eq!(app.state.slots.open(), 4);
    // The fifth finds the node full of signed-in users, as before.
    let bearer = vec![("authorization", format!("Bearer {}", d.token(5)))];
    assert_eq!(
        crate::client::refused(&app.ws_url(), &bearer).await,
        (503, "server_full".to_owned())
    );
    // When the flood goes, its places come back.
    drop(held);
    eventually(WITHIN, "the flood's places are free", || async {
        app.state.unauthenticated.open() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticating_by_frame_moves_a_socket_to_a_members_place_or_closes_it_with_1013() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| {
            s.websocket.max_connections = 1;
            s.websocket.max_unauthenticated = 1;
        })
        .await;
    // The one unauthenticated place, given back on auth: a second browser
    // can open its socket while the first is signed in.
    let _first = browser(&d, &app, "198.51.100.1", 1).await;
    assert_eq!(
        (app.state.slots.open(), app.state.unauthenticated.open()),
        (1, 0)
    );
    let headers = [("x-forwarded-for", "198.51.100.2".to_owned())];
    let mut second = Client::connect_with(&app.ws_url(), &headers, None)
        .await
        .expect("the unauthenticated place is free again");
    // No member's place left: told so, and closed with "try again later".
    second
        .send_json(json!({"type": "auth", "token": d.token(2)}))
        .await;
    assert_eq!(second.next_json().await["code"], "server_full");
    assert_eq!(second.ending().await, Ending::Closed(1013));
    assert_eq!(app.closes("server_full"), 1.0);
    eventually(WITHIN, "the refused socket's place is free", || async {
        app.state.unauthenticated.open() == 0
    })
    .await;
}

/// Requests coupon-service served on its event route, whatever the status.
async fn event_lookups(coupon_service: &str) -> f64 {
    let text = reqwest::get(format!("{coupon_service}/metrics"))
        .await
        .expect("coupon-service metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .filter(|l| {
            l.starts_with("coupon_http_requests_total{")
                && l.contains("route=\"/api/coupons/events/{id}\"")
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_subscribes_to_a_missing_event_cost_coupon_service_one_lookup() {
    let d = Deployment::new().await;
    let coupon = spawn_coupon_service(&d).await;
    let app = d
        .spawn_with(Faults::default(), |s| {
            s.coupon_api.url = coupon.address.clone();
            s.websocket.max_subscriptions = 2;
        })
        .await;
    let missing = 987_654_321;
    assert_eq!(event_lookups(&coupon.address).await, 0.0);

    // Five sockets, ten subscribes each, all at once.
    let mut sockets = Vec::new();
    for user in 1..=5 {
        sockets.push(d.connect(&app, user).await);
    }
    let answers = futures::future::join_all(sockets.iter_mut().map(|c| async move {
        for _ in 0..10 {
            c.send_json(json!({"type": "subscribe", "event_id": missing}))
                .await;
        }
        let mut codes = Vec::new();
        for _ in 0..10 {
            codes.push(c.next_json().await["code"].as_str().map(str::to_owned));
        }
        codes
    }))
    .await;
    let not_found = answers
        .iter()
        .flatten()
        .filter(|c| c.as_deref() == Some("event_not_found"))
        .count();
    assert_eq!(not_found, 50, "{answers:?}");
    let lookups = event_lookups(&coupon.address).await;
    assert!(lookups <= 1.0, "{lookups} lookups for one missing event");

    // None of those took a subscription place: both are free for real events.
    let (a, b) = (coupon.create_event(10).await, coupon.create_event(10).await);
    let client = &mut sockets[0];
    for event in [a, b] {
        client
            .send_json(json!({"type": "subscribe", "event_id": event}))
            .await;
        let subscribed = client.next_json().await;
        assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_for_many_missing_events_are_capped_and_the_rest_refused_at_once() {
    let d = Deployment::new().await;
    let coupon = spawn_coupon_service(&d).await;
    let target = coupon
        .address
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    // Requests to coupon-service stop arriving: each lookup waits until
    // coupon-service gives up on the silent connection (408 after 5 s).
    let hung = FaultProxy::start(target).await;
    hung.freeze_upstream();
    let app = d
        .spawn_with(Faults::default(), |s| {
            s.coupon_api.url = format!("http://127.0.0.1:{}", hung.port);
            s.coupon_api.timeout_ms = 60_000;
            s.coupon_api.max_in_flight = 2;
        })
        .await;
    // Three different events at once, room for two lookups: one of the
    // three subscribes is refused at once instead of waiting with the others.
    let mut clients = Vec::new();
    for user in 1..=3 {
        clients.push(d.connect(&app, user).await);
    }
    for (client, event) in clients.iter_mut().zip([1_001, 1_002, 1_003]) {
        client
            .send_json(json!({"type": "subscribe", "event_id": event}))
            .await;
    }
    let first = futures::future::select_all(clients.iter_mut().map(|c| Box::pin(c.next_json())));
    let (answer, _, _) = tokio::time::timeout(std::time::Duration::from_secs(3), first)
        .await
        .expect("a subscribe beyond the cap is answered at once");
    assert_eq!(answer["code"], "unavailable", "{answer}");
}
