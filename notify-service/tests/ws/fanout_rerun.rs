//! A fan-out call may run twice: the cluster client retries a call whose
//! reply did not come in time (a slow shard, a connection lost in a
//! failover) although the first run happened, and the consumer retries a
//! fan-out that failed. The first run then left its seen-marker, but its
//! publication may never have gone out — on a cluster the publication is a
//! second call, after the script. Each test below sets up exactly that
//! state (the script ran, nothing was published), then lets the instance
//! consume the message: it must reach the open sockets live, once.

use redis::Script;

use crate::{
    client::Ending,
    helpers::{Deployment, WITHIN, connect_with, eventually, issued, revoked, soldout},
};

const DELIVER_USER: &str = include_str!("../../src/fanout/deliver_user.lua");
const DELIVER_EVENT: &str = include_str!("../../src/fanout/deliver_event.lua");

/// Runs the personal fan-out script as the first run did, with nothing
/// published (the cluster's SPUBLISH that follows it was lost).
async fn personal_first_run_without_publication(d: &Deployment, user_id: i64, id: &uuid::Uuid) {
    let keys = notify_service::fanout::keys::Keys::new(&d.redis_prefix);
    let mut c = d.redis().await;
    let _: redis::Value = Script::new(DELIVER_USER)
        .key(keys.user_stream(user_id))
        .key(keys.user_seen(user_id, id))
        .arg(600)
        .arg(100)
        .arg(600)
        .arg("")
        .arg(format!("u|{user_id}|"))
        .arg("|0|coupon.issued\n")
        .arg(r#"{"seq":""#)
        .arg(r#"","type":"coupon.issued"}"#)
        .invoke_async(&mut c)
        .await
        .expect("the personal fan-out script runs");
}

/// Runs the broadcast script as the first run did for a marker, with
/// nothing published.
async fn broadcast_first_run_without_publication(d: &Deployment, seen: String) {
    let mut c = d.redis().await;
    let _: i64 = Script::new(DELIVER_EVENT)
        .key(seen)
        .arg(600)
        .arg("")
        .arg("-")
        .invoke_async(&mut c)
        .await
        .expect("the broadcast script runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_win_whose_first_fan_out_published_nothing_still_reaches_the_open_socket_once() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let mut client = d.connect(&app, 61).await;
    let win = issued(61, 7001);
    personal_first_run_without_publication(&d, 61, &win.id).await;

    d.publish(&win).await;
    let frame = client.next_json_within(WITHIN).await;
    assert_eq!(frame["id"], win.id.to_string(), "{frame}");
    assert_eq!(app.consumed("coupon.issued", "republished"), 1.0);
    // Published once more by a redelivery: the socket has that seq.
    d.publish(&win).await;
    eventually(WITHIN, "the redelivery consumed", || async {
        app.consumed("coupon.issued", "republished") == 2.0
    })
    .await;
    client.ping_pong().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sell_out_whose_first_fan_out_published_nothing_still_reaches_watchers_once() {
    let d = Deployment::new().await;
    let a = d.spawn().await;
    let b = d.spawn().await;
    d.load_event(5, 10, 0).await;
    let mut on_a = d.watcher(&a, 62, 5).await;
    let mut on_b = d.watcher(&b, 63, 5).await;
    let sold = soldout(5);
    let keys = notify_service::fanout::keys::Keys::new(&d.redis_prefix);
    broadcast_first_run_without_publication(&d, keys.event_seen(5, &sold.id)).await;

    d.publish(&sold).await;
    for watcher in [&mut on_a, &mut on_b] {
        let frame = watcher.next_json_within(WITHIN).await;
        assert_eq!(
            (frame["type"].as_str(), frame["id"].as_str()),
            (Some("coupon.soldout"), Some(sold.id.to_string().as_str())),
            "{frame}"
        );
    }
    // Again (a redelivery): published again, and every instance drops the
    // id it has delivered.
    d.publish(&sold).await;
    eventually(WITHIN, "the redelivery consumed", || async {
        a.consumed("coupon.soldout", "republished") + b.consumed("coupon.soldout", "republished")
            == 2.0
    })
    .await;
    for watcher in [&mut on_a, &mut on_b] {
        watcher.ping_pong().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_whose_first_fan_out_published_nothing_still_closes_every_socket() {
    let d = Deployment::new().await;
    let a = d.spawn().await;
    let b = d.spawn().await;
    let session = uuid::Uuid::new_v4();
    let mut on_a = connect_with(&a, &d.session_token(64, session)).await;
    let mut on_b = connect_with(&b, &d.session_token(64, session)).await;
    let revocation = revoked(64, Some(session));
    let keys = notify_service::fanout::keys::Keys::new(&d.redis_prefix);
    broadcast_first_run_without_publication(&d, keys.user_seen(64, &revocation.id)).await;

    d.publish(&revocation).await;
    assert_eq!(on_a.ending().await, Ending::Closed(4003));
    assert_eq!(on_b.ending().await, Ending::Closed(4003));
}
