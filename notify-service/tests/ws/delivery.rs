//! Consuming RabbitMQ and fanning out: every device once, across instances,
//! through redeliveries; what cannot be parsed is dead-lettered.

use std::time::Duration;

use crate::helpers::{Deployment, WITHIN, eventually, issued, soldout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_of_a_user_gets_coupon_issued_once_with_a_seq() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let mut web = d.connect(&app, 10).await;
    let mut mobile = d.connect(&app, 10).await;
    let mut someone_else = d.connect(&app, 11).await;

    let message = issued(10, 501);
    d.publish(&message).await;
    for device in [&mut web, &mut mobile] {
        let frame = device.next_json().await;
        assert_eq!(frame["type"], "coupon.issued");
        assert_eq!(frame["id"], message.id.to_string());
        assert_eq!(frame["data"]["couponId"], 501);
        assert_eq!(frame["data"]["couponCode"], "TEST-00000501");
        assert!(
            frame["seq"].as_str().is_some_and(|s| s.contains('-')),
            "{frame}"
        );
        // Exactly once: the next frame is the answer to this ping.
        device.ping_pong().await;
    }
    someone_else.ping_pong().await;
    assert_eq!(app.consumed("coupon.issued", "published"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_consumed_by_one_instance_reaches_a_user_connected_to_another() {
    let d = Deployment::new().await;
    let a = d.spawn().await;
    let b = d.spawn_behind_amqp_proxy().await;
    // B loses the broker: only A consumes from now on.
    b.amqp_proxy.as_ref().unwrap().cut();
    eventually(WITHIN, "B's consumer is down", || async {
        b.readyz().await == 503
    })
    .await;

    d.load_event(1, 10, 0).await;
    let mut on_b = d.connect(&b, 20).await;
    let mut watcher_on_b = d.watcher(&b, 21, 1).await;
    let message = issued(20, 777);
    d.publish(&message).await;
    let frame = on_b.next_json().await;
    assert_eq!(frame["id"], message.id.to_string());
    on_b.ping_pong().await;
    let sold = soldout(1);
    d.publish(&sold).await;
    assert_eq!(watcher_on_b.next_json().await["id"], sold.id.to_string());

    assert_eq!(a.consumed("coupon.issued", "published"), 1.0);
    assert_eq!(b.consumed("coupon.issued", "published"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_after_the_consumer_died_before_acking_reaches_the_client_once() {
    let d = Deployment::with_quorum_queues().await;
    let a = d.spawn_behind_amqp_proxy().await;
    let mut client = d.connect(&a, 30).await;
    let proxy = a.amqp_proxy.as_ref().unwrap();
    // A's acks never reach the broker from now on.
    proxy.freeze_upstream();
    let message = issued(30, 901);
    d.publish(&message).await;
    let frame = client.next_json().await;
    assert_eq!(frame["id"], message.id.to_string());
    eventually(WITHIN, "A handled the message", || async {
        a.consumed("coupon.issued", "published") == 1.0
    })
    .await;

    // B joins, then A's consumer dies with the message unacked: the broker
    // hands it to B.
    let b = d.spawn().await;
    proxy.cut();
    eventually(WITHIN, "B received the redelivery", || async {
        b.consumed("coupon.issued", "republished") == 1.0
    })
    .await;
    // Published again (whether the first publication went out is unknown to
    // B); the socket already has that seq and drops it.
    client.ping_pong().await;
    assert_eq!(b.consumed("coupon.issued", "published"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_cannot_be_parsed_is_dead_lettered_not_retried() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let mut client = d.connect(&app, 40).await;
    d.publish_raw("coupon.issued", b"{not json", "bad-1").await;
    d.publish_raw(
        "coupon.issued",
        br#"{"type":"coupon.soldout","id":"00000000-0000-0000-0000-000000000001","timestamp":"2026-01-01T00:00:00Z","data":{"eventId":1,"eventTitle":"x"}}"#,
        "bad-2",
    )
    .await;
    let good = issued(40, 1);
    d.publish(&good).await;
    assert_eq!(client.next_json().await["id"], good.id.to_string());

    let dead = std::sync::Mutex::new(Vec::new());
    eventually(WITHIN, "both bad messages are dead-lettered", || async {
        let drained = d.drain_dead_letters().await;
        let mut dead = dead.lock().unwrap();
        dead.extend(drained);
        dead.len() >= 2
    })
    .await;
    assert!(dead.lock().unwrap().contains(&b"{not json".to_vec()));
    assert_eq!(app.consumed("coupon.issued", "dead_lettered"), 2.0);
    // Never looped: still exactly two after a moment of normal traffic.
    d.publish(&issued(40, 2)).await;
    client.next_json().await;
    assert_eq!(app.consumed("coupon.issued", "dead_lettered"), 2.0);
    assert!(d.drain_dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soldout_published_twice_with_one_id_reaches_watchers_once() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    d.load_event(3, 5, 0).await;
    let mut watcher = d.watcher(&app, 50, 3).await;
    let sold = soldout(3);
    d.publish(&sold).await;
    d.publish(&sold).await;
    assert_eq!(watcher.next_json().await["type"], "coupon.soldout");
    eventually(Duration::from_secs(5), "both copies consumed", || async {
        app.consumed("coupon.soldout", "republished") == 1.0
    })
    .await;
    watcher.ping_pong().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_acked_in_few_frames_and_nothing_handled_comes_back() {
    let d = Deployment::new().await;
    let a = d.spawn_behind_amqp_proxy().await;
    // One user, so every delivery shares an ordering lane: anything left
    // unacked would come back, and be handled, ahead of the marker below.
    // Unparsable messages in between are rejected on their own; a batched
    // ack that named one of their tags would make the broker close the
    // channel, and the redeliveries would show up as duplicates.
    let burst: Vec<(Vec<u8>, String)> = (1..=300)
        .map(|n| {
            if n % 50 == 0 {
                (b"{not json".to_vec(), format!("bad-{n}"))
            } else {
                let message = issued(50, n);
                (
                    serde_json::to_vec(&message).unwrap(),
                    message.id.to_string(),
                )
            }
        })
        .collect();
    d.publish_many("coupon.issued", burst).await;
    eventually(WITHIN, "A handled the burst", || async {
        a.consumed("coupon.issued", "published") == 294.0
            && a.consumed("coupon.issued", "dead_lettered") == 6.0
    })
    .await;
    eventually(WITHIN, "A sent its acks", || async {
        a.metric("notify_amqp_ack_frames_total") > 0.0
    })
    .await;
    // Longer than the ack window's gathering pause: the last ack is out.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let frames = a.metric("notify_amqp_ack_frames_total");
    assert!(
        frames < 294.0,
        "{frames} ack frames for 294 deliveries: not batched"
    );
    assert_eq!(a.consumed("coupon.issued", "republished"), 0.0);

    // A goes away; whatever it had not acked is redelivered to B.
    a.amqp_proxy.as_ref().unwrap().cut();
    let b = d.spawn().await;
    let marker = issued(50, 1000);
    d.publish(&marker).await;
    eventually(WITHIN, "B handled the marker", || async {
        b.consumed("coupon.issued", "published") == 1.0
    })
    .await;
    assert_eq!(b.consumed("coupon.issued", "republished"), 0.0);
    assert_eq!(b.consumed("coupon.issued", "dead_lettered"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packed_message_reaches_each_user_in_order_and_a_redelivered_pack_is_dropped() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let mut first = d.connect(&app, 30).await;
    let mut second = d.connect(&app, 31).await;
    let pack = [issued(30, 1), issued(31, 2), issued(30, 3)];
    let body = serde_json::to_vec(&pack).expect("a JSON array");
    d.publish_raw("coupon.issued", &body, &pack[0].id.to_string())
        .await;
    // The broker redelivers (or the relay republishes) the same pack.
    d.publish_raw("coupon.issued", &body, &pack[0].id.to_string())
        .await;
    let a = first.next_json().await;
    let b = first.next_json().await;
    assert_eq!(
        (
            a["data"]["couponId"].as_i64(),
            b["data"]["couponId"].as_i64()
        ),
        (Some(1), Some(3)),
        "one user's messages in pack order"
    );
    assert!(a["seq"].as_str() < b["seq"].as_str());
    assert_eq!(second.next_json().await["data"]["couponId"], 2);
    eventually(WITHIN, "both packs consumed", || async {
        app.consumed("coupon.issued", "published") + app.consumed("coupon.issued", "republished")
            == 6.0
    })
    .await;
    assert_eq!(app.consumed("coupon.issued", "published"), 3.0);
    first.ping_pong().await;
    second.ping_pong().await;
}
