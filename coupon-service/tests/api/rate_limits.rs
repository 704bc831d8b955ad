//! Abuse limits: 429 with Retry-After, bounded limiter memory.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{eventually, spawn_app_with};

#[tokio::test]
async fn a_burst_over_the_issue_limit_gets_429_with_retry_after_and_idle_keys_are_forgotten() {
    let app = spawn_app_with(Default::default(), |s| {
        s.rate_limit.issue_per_second = 2;
        s.rate_limit.issue_burst = 3;
    })
    .await;
    let event = app.create_event(1000, 100).await;
    let users = app.create_users(5).await;
    let token = app.token(users[0]);
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let response = app.issue(&token, event.id, None).await;
        if response.status().as_u16() == 429 {
            retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..3], &[201, 201, 201]);
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(
        app.coupon_count(event.id).await,
        statuses.iter().filter(|s| **s == 201).count() as i64
    );

    for u in &users[1..] {
        app.issue(&app.token(*u), event.id, None).await;
    }
    let limiters = app.state.limiters.clone();
    assert!(limiters.issue.len() >= 5);
    // Once every bucket has refilled, the sweep forgets the keys.
    eventually(Duration::from_secs(5), "limiter keys forgotten", || {
        let limiters = limiters.clone();
        async move {
            limiters.retain_recent();
            limiters.issue.is_empty()
        }
    })
    .await;
}

#[tokio::test]
async fn login_brute_force_is_limited_per_ip() {
    let app = spawn_app_with(Default::default(), |s| {
        s.rate_limit.auth_per_minute = 2;
        s.rate_limit.auth_burst = 3;
        // The test client is not a proxy: X-Forwarded-For must be ignored.
        s.rate_limit.trusted_proxies = vec![];
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let response = app
            .client
            .post(app.url("/api/auth/login"))
            .header("X-Forwarded-For", format!("203.0.113.{i}"))
            .json(&json!({"email": "nobody@example.test", "password": "guess number one"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..3], &[401, 401, 401]);
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
}
