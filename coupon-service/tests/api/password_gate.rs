//! The cap on password hashing: a login flood beyond the permits gets quick
//! 503s with Retry-After instead of unbounded Argon2 runs.

use futures::future::join_all;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app_with};

/// The value of an unlabelled sample (or one with the given labels) on
/// /metrics.
pub async fn metric(app: &TestApp, series: &str) -> Option<f64> {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn a_login_flood_beyond_the_hashing_permits_gets_503_with_retry_after() {
    let app = spawn_app_with(Default::default(), |s| {
        s.auth.hash_permits = 2;
        s.auth.hash_queue_max = 2;
        // Long enough that no waiter times out: refusals here are the
        // bounded queue's.
        s.auth.hash_queue_timeout_ms = 60_000;
    })
    .await;
    let flood = (0..40).map(|i| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .json(&json!({"email": format!("guess{i}@example.test"), "password": "wrong password"}))
            .send()
    });
    let mut wrong_password = 0;
    let mut busy = 0;
    for response in join_all(flood).await {
        let response = response.unwrap();
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").cloned();
        let body: serde_json::Value = response.json().await.unwrap();
        match status {
            401 => wrong_password += 1,
            503 => {
                busy += 1;
                assert_eq!(body["error"]["code"], "unavailable", "{body}");
                assert!(retry_after.is_some(), "503 without Retry-After");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        busy > 0,
        "40 logins at once, 2 permits, 2 waiting: some must be refused"
    );
    assert!(wrong_password >= 2, "the permitted ones still answer");
    let peak = metric(&app, "coupon_password_hashes_in_flight_peak").await;
    assert!(
        matches!(peak, Some(p) if (1.0..=2.0).contains(&p)),
        "never more hashes at once than permits: {peak:?}"
    );
    assert_eq!(
        metric(
            &app,
            r#"coupon_password_hash_refused_total{reason="queue_full"}"#
        )
        .await,
        Some(f64::from(busy))
    );
    assert_eq!(
        metric(&app, "coupon_password_hashes_total").await,
        Some(f64::from(wrong_password))
    );
    assert_eq!(
        metric(&app, "coupon_password_hashes_in_flight").await,
        Some(0.0)
    );
}
