//! /healthz, /readyz, /metrics.

use std::time::Duration;

use crate::helpers::{eventually, spawn_app};

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(
        health.headers()["x-request-id"],
        "req-42",
        "the request id is echoed"
    );

    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["postgres"], "ok");
    assert_eq!(body["checks"]["redis_script"], "ok");

    let event = app.create_event(1, 1).await;
    let users = app.create_users(2).await;
    app.issue(&app.token(users[0]), event.id, None).await;
    app.issue(&app.token(users[1]), event.id, None).await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"coupon_issue_outcomes_total{outcome="issued"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"coupon_issue_outcomes_total{outcome="sold_out"} 1"#));
    assert!(metrics.contains(
        r#"coupon_http_requests_total{method="POST",route="/api/coupons/issue",status="201"} 1"#
    ));
}

#[tokio::test]
async fn made_up_http_methods_share_one_metrics_label() {
    let app = spawn_app().await;
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("REVGWA{i}").as_bytes()).unwrap();
        app.client
            .request(method, app.url("/api/coupons/events"))
            .send()
            .await
            .unwrap();
    }
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("REVGWA"), "{metrics}");
    let series = metrics
        .lines()
        .filter(|l| l.starts_with("coupon_http_requests_total{") && l.contains(r#"method="other""#))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum::<u64>();
    assert_eq!(series, 20, "{metrics}");
}

#[tokio::test]
async fn a_background_task_that_dies_makes_the_instance_not_ready() {
    let app = spawn_app().await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    assert!(app.tasks.abort("outbox-relay"), "the relay runs");

    eventually(
        Duration::from_secs(5),
        "readiness reports the dead relay",
        || async {
            app.client
                .get(app.url("/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 503)
        },
    )
    .await;
    let body: serde_json::Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["checks"]["background_tasks"], "stopped");
    // Its marking loop ends with it (its channel closed): both are named.
    let stopped = body["stopped_tasks"].as_array().unwrap();
    assert!(
        stopped.contains(&serde_json::json!("outbox-relay")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_the_requests_in_flight_then_stops_every_background_task() {
    let mut app = spawn_app().await;
    let event = app.create_event(300, 1).await;
    let users = app.create_users(300).await;
    let tokens: Vec<String> = users.iter().map(|u| app.token(*u)).collect();
    let url = app.url("/api/coupons/issue");
    let presses = tokens.into_iter().map(|token| {
        let (client, url) = (app.client.clone(), url.clone());
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({"event_id": event.id}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    });
    let presses: Vec<_> = presses.collect();
    // Mid-sale: some coupons are committed, more requests are on their way.
    eventually(Duration::from_secs(10), "the sale under way", || async {
        app.coupon_count(event.id).await > 0
    })
    .await;
    app.shutdown.trigger();

    let stopped = app.stopped.take().unwrap();
    tokio::time::timeout(Duration::from_secs(20), stopped)
        .await
        .expect("the shutdown finishes")
        .unwrap()
        .unwrap();
    let mut answered_201 = 0;
    for press in presses {
        // Refused once the listener closed, or answered in full.
        if let Ok(201) = press.await.unwrap() {
            answered_201 += 1;
        }
    }
    assert!(answered_201 > 0);
    assert_eq!(
        app.coupon_count(event.id).await,
        answered_201,
        "every 201 answered before the stop is committed"
    );
    assert_eq!(app.tasks.running(), 0, "every background task stopped");
    assert!(app.tasks.ended().is_empty(), "a shutdown is not a fault");
    assert!(
        app.client.get(app.url("/healthz")).send().await.is_err(),
        "the listener is closed"
    );
}
