//! The relay's two ways to the broker: rows this instance commits are
//! handed to it in memory; rows nobody handed (their writer crashed, or its
//! handoff was full) are found by the poll once they are old enough.

use std::time::{Duration, Instant};

use crate::helpers::{Faults, eventually, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_coupons_reach_the_broker_by_handoff_without_waiting_for_the_poll() {
    // The poll only takes rows an hour old: whatever leaves now was handed.
    let app = spawn_app_with(Faults::default(), |s| s.outbox.recover_after_ms = 3_600_000).await;
    let event = app.create_event(20, 1).await;
    let users = app.create_users(20).await;
    app.relay_connected().await;

    let statuses = app.issue_once_each(&users, event.id).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");

    app.outbox_published(Duration::from_secs(10)).await;
    let issued = app.drain_queue("coupon.issued").await;
    assert_eq!(issued.len(), 20, "each coupon once");
    assert_eq!(app.drain_queue("coupon.soldout").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_nobody_handed_over_is_published_once_it_is_old_enough() {
    let app = spawn_app_with(Faults::default(), |s| {
        s.outbox.recover_after_ms = 500;
        s.outbox.poll_interval_ms = 50;
    })
    .await;
    app.relay_connected().await;

    // As if written by an instance that crashed right after its commit.
    let message_id = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO outbox (message_id, routing_key, payload) \
         VALUES ($1, 'coupon.soldout', jsonb_build_object('id', $1::text, 'type', 'coupon.soldout'))",
    )
    .bind(message_id)
    .execute(&app.db)
    .await
    .expect("outbox row");

    app.outbox_published(Duration::from_secs(10)).await;
    let soldout = app.drain_queue("coupon.soldout").await;
    assert_eq!(soldout.len(), 1);
    assert_eq!(soldout[0]["id"], message_id.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupons_committed_together_travel_packed_and_each_keeps_its_own_id() {
    let app = spawn_app_with(Faults::default(), |s| s.outbox.pack_max = 8).await;
    let event = app.create_event(40, 1).await;
    let users = app.create_users(40).await;
    app.relay_connected().await;
    let statuses = app.issue_once_each(&users, event.id).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    app.outbox_published(Duration::from_secs(10)).await;

    let sent = app.drain_amqp("coupon.issued").await;
    let mut ids = std::collections::HashSet::new();
    let mut packs = 0;
    for body in &sent {
        let messages = match body {
            serde_json::Value::Array(messages) => {
                packs += 1;
                assert!(
                    (2..=8).contains(&messages.len()),
                    "a pack of {}",
                    messages.len()
                );
                messages.clone()
            }
            single => vec![single.clone()],
        };
        for m in messages {
            assert_eq!(m["type"], "coupon.issued");
            assert!(
                ids.insert(m["id"].as_str().expect("an id").to_owned()),
                "{m}"
            );
        }
    }
    assert_eq!(ids.len(), 40, "every coupon once");
    // Forty coupons committed within a few group commits: fewer AMQP
    // messages than coupons, and at least one pack.
    assert!(
        packs >= 1 && sent.len() < 40,
        "{} AMQP messages, {packs} packs",
        sent.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_pack_max_1_every_coupon_is_a_message_of_its_own() {
    let app = spawn_app_with(Faults::default(), |s| s.outbox.pack_max = 1).await;
    let event = app.create_event(20, 1).await;
    let users = app.create_users(20).await;
    app.relay_connected().await;
    let statuses = app.issue_once_each(&users, event.id).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    app.outbox_published(Duration::from_secs(10)).await;
    let sent = app.drain_amqp("coupon.issued").await;
    assert_eq!(sent.len(), 20);
    assert!(sent.iter().all(serde_json::Value::is_object));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupons_committed_while_the_relay_drains_its_backlog_are_published_once() {
    let app = spawn_app_with(
        Faults {
            rabbitmq: true,
            ..Faults::default()
        },
        |_| {},
    )
    .await;
    let proxy = app.amqp_proxy.as_ref().unwrap();
    let event = app.create_event(8000, 1).await;
    let users = app.create_users(8000).await;
    app.relay_connected().await;
    proxy.cut();
    eventually(Duration::from_secs(10), "relay notices", || async {
        !app.state.relay.is_up()
    })
    .await;
    // A backlog the relay drains when it reconnects.
    let statuses = app.issue_once_each(&users[..2000], event.id).await;
    assert!(statuses.iter().all(|s| *s == 201));

    // Coupons keep coming while it reconnects and drains: each committed
    // while the drain runs is handed to the relay and may be claimed by the
    // drain as well.
    proxy.restore();
    let mut issued = 2000;
    let mut up_since: Option<Instant> = None;
    for batch in users[2000..].chunks(40) {
        let statuses = app.issue_once_each(batch, event.id).await;
        assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
        issued += batch.len();
        if app.state.relay.is_up() {
            up_since.get_or_insert_with(Instant::now);
        }
        if up_since.is_some_and(|t| t.elapsed() > Duration::from_millis(1500)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        up_since.is_some(),
        "the relay reconnected while coupons were issued"
    );

    app.outbox_published(Duration::from_secs(30)).await;
    let messages = app.drain_queue("coupon.issued").await;
    let ids: std::collections::HashSet<_> = messages
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), issued, "every coupon's message");
    assert_eq!(messages.len(), issued, "each published once");
}
