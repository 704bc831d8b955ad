//! Abuse limits: 429 with Retry-After, bounded limiter memory, IPv6 /64
//! keys, trusted proxy ranges. The failed-login throttle: `login_throttle.rs`.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{TestApp, error_code, eventually, spawn_app_with};

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

/// POST /api/auth/login as the client at `forwarded_for` (the test client is
/// the trusted proxy 127.0.0.1); returns status, Retry-After and error code.
pub async fn login_from(
    app: &TestApp,
    forwarded_for: &str,
    email: &str,
    password: &str,
) -> (u16, Option<u64>, String) {
    let response = app
        .client
        .post(app.url("/api/auth/login"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("POST login");
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let (status, code) = error_code(response).await;
    (status, retry_after, code)
}

#[tokio::test]
async fn ipv6_clients_in_one_slash_64_share_an_allowance() {
    let app = spawn_app_with(Default::default(), |s| {
        s.rate_limit.auth_per_minute = 1;
        s.rate_limit.auth_burst = 2;
    })
    .await;
    let mut statuses = Vec::new();
    for client in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::ffff",
        "2001:db8:1:2:abcd:ef::9",
    ] {
        statuses.push(
            login_from(&app, client, "nobody@example.test", "a guess")
                .await
                .0,
        );
    }
    assert_eq!(statuses, [401, 401, 429], "one /64, one allowance");
    let (status, _, _) =
        login_from(&app, "2001:db8:1:3::1", "nobody@example.test", "a guess").await;
    assert_eq!(status, 401, "the next /64 has its own");
}

#[tokio::test]
async fn clients_behind_proxies_of_a_trusted_cidr_get_their_own_allowances() {
    let app = spawn_app_with(Default::default(), |s| {
        s.rate_limit.auth_per_minute = 1;
        s.rate_limit.auth_burst = 2;
        // The test client (127.0.0.1) is the balancer; ingress pods have any
        // address in 10.0.0.0/8.
        s.rate_limit.trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]
            .iter()
            .map(|s| s.parse().expect("a trusted proxy entry"))
            .collect();
    })
    .await;
    // alice and bob behind one ingress pod, carol behind another.
    let alice = "203.0.113.7, 10.1.0.5";
    let bob = "203.0.113.8, 10.1.0.5";
    let carol = "203.0.113.9, 10.2.0.9";
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            login_from(&app, alice, "nobody@example.test", "a guess")
                .await
                .0,
        );
    }
    assert_eq!(statuses, [401, 401, 429], "alice has her own allowance");
    for (who, chain) in [("bob", bob), ("carol", carol)] {
        let (status, _, _) = login_from(&app, chain, "nobody@example.test", "a guess").await;
        assert_eq!(status, 401, "{who} is not locked out by alice");
    }
}
