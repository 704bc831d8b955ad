//! /healthz, /readyz, /metrics.

use crate::helpers::spawn_app;

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
