//! Health, readiness, metrics, a broker that goes away and comes back, and
//! the graceful shutdown.

use std::time::Duration;

use serde_json::json;

use crate::{
    client::{Client, Ending},
    helpers::{Deployment, Faults, WITHIN, eventually, issued},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let health: serde_json::Value = reqwest::get(app.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["rabbitmq_consumer"], "ok");

    let _client = d.connect(&app, 1).await;
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "notify_ws_connections 1",
        "notify_amqp_consumer_up 1",
        "notify_redis_subscriber_up 1",
    ] {
        assert!(metrics.contains(name), "{name} missing in:\n{metrics}");
    }
    let missing = reqwest::get(app.url("/nope")).await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let plain_get = reqwest::get(app.url("/ws")).await.unwrap();
    assert_eq!(plain_get.status().as_u16(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_reconnects_after_the_broker_went_away_and_nothing_is_lost() {
    let d = Deployment::new().await;
    let app = d.spawn_behind_amqp_proxy().await;
    let mut client = d.connect(&app, 7).await;
    let proxy = app.amqp_proxy.as_ref().unwrap();
    proxy.cut();
    eventually(WITHIN, "readiness reports the consumer down", || async {
        app.readyz().await == 503
    })
    .await;
    // Published while this instance cannot consume: it waits in the queue.
    let message = issued(7, 70);
    d.publish(&message).await;
    proxy.restore();
    let frame = client.next_json().await;
    assert_eq!(frame["id"], message.id.to_string());
    app.wait_ready().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_delays_messages_but_loses_none() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(
            Faults {
                redis: true,
                ..Faults::default()
            },
            |_| {},
        )
        .await;
    let proxy = app.redis_proxy.as_ref().unwrap();
    proxy.cut();
    eventually(WITHIN, "readiness reports Redis down", || async {
        app.readyz().await == 503
    })
    .await;
    let message = issued(8, 80);
    d.publish(&message).await;
    proxy.restore();
    app.wait_ready().await;
    // The consumer held the message until Redis answered; a client
    // connecting now gets it from history.
    eventually(WITHIN, "the held message is fanned out", || async {
        app.consumed("coupon.issued", "published") == 1.0
    })
    .await;
    let mut client = d.connect(&app, 8).await;
    client
        .send_json(serde_json::json!({"type": "resume", "since": "0-0"}))
        .await;
    let frame = client.next_json().await;
    assert_eq!(frame["id"], message.id.to_string());
    assert_eq!(client.next_json().await["replayed"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_task_that_dies_makes_the_instance_not_ready() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    assert!(app.tasks.abort("rabbitmq-consumer"), "the consumer runs");
    eventually(WITHIN, "readiness reports the dead consumer", || async {
        app.readyz().await == 503
    })
    .await;
    let body: serde_json::Value = reqwest::get(app.url("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["checks"]["background_tasks"], "stopped");
    assert_eq!(
        body["stopped_tasks"],
        serde_json::json!(["rabbitmq-consumer"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_consuming_then_closes_every_socket_with_1001() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let mut a = d.connect(&app, 1).await;
    let mut b = d.connect(&app, 2).await;
    app.shutdown.trigger();
    assert_eq!(a.ending().await, Ending::Closed(1001));
    assert_eq!(b.ending().await, Ending::Closed(1001));
    assert_eq!(app.closes("shutdown"), 2.0);
    assert_eq!(app.metric("notify_amqp_consumer_up"), 0.0);
    let stopped = tokio::time::timeout(Duration::from_secs(10), app.stopped)
        .await
        .expect("the server stops");
    stopped.unwrap().unwrap();
    assert_eq!(app.tasks.running(), 0, "every background task stopped");
    assert!(app.tasks.ended().is_empty(), "a shutdown is not a fault");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_answering_pings_is_closed_with_4000() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| s.websocket.heartbeat_ms = 200)
        .await;
    let mut alive = d.connect(&app, 1).await;
    let mut silent = d.connect(&app, 2).await;
    // `alive` reads, so its client answers every ping; `silent` does not.
    alive.stay_alive(Duration::from_millis(1_000)).await;
    eventually(WITHIN, "the silent client is closed", || async {
        app.closes("heartbeat_timeout") == 1.0
    })
    .await;
    assert_eq!(silent.ending().await, Ending::Closed(4000));
    alive.ping_pong().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_that_lived_through_a_fanout_gap_are_told_to_resume_and_miss_nothing() {
    let d = Deployment::new().await;
    let a = d.spawn_serving_only().await;
    let b = d.spawn().await;
    let mut client = d.connect(&a, 90).await;
    d.publish(&issued(90, 1)).await;
    let since = client.next_json().await["seq"].as_str().unwrap().to_owned();

    // A's Redis link drops: what B fans out meanwhile never reaches A.
    a.lose_fanout().await;
    let missed = issued(90, 2);
    d.publish(&missed).await;
    eventually(WITHIN, "B fanned it out", || async {
        b.consumed("coupon.issued", "published") == 2.0
    })
    .await;
    a.regain_fanout();
    assert_eq!(client.ending().await, Ending::Closed(1012));
    assert_eq!(a.closes("fanout_gap"), 1.0);

    let mut back = Client::connect(&a.ws_url(), Some(&d.token(90)))
        .await
        .unwrap();
    assert_eq!(back.next_json().await["type"], "welcome");
    back.send_json(json!({"type": "resume", "since": since}))
        .await;
    assert_eq!(back.next_json().await["id"], missed.id.to_string());
    assert_eq!(back.next_json().await["replayed"], 1);
}
