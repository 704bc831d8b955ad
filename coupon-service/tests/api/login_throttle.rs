//! The failed-login throttle: wrong passwords are counted per account and
//! client address, so a stranger's guesses do not lock the owner out; a
//! guessing run spread over many addresses still meets a per-account
//! ceiling, which the addresses the account signed in from do not; and
//! logins still being checked are not failures.

use coupon_service::configuration::Settings;
use futures::future::join_all;
use serde_json::json;

use crate::{
    helpers::{TestApp, spawn_app_with},
    password_gate::metric,
    rate_limits::login_from,
};

const PASSWORD: &str = "the right one";

async fn sign_up(app: &TestApp, email: &str) {
    let (status, body) = app
        .post_json(
            "/api/auth/signup",
            None,
            json!({"email": email, "password": PASSWORD, "name": "V"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// An app with the shipped login-failure limits (the other tests lift them).
async fn app_with_shipped_login_limits(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let shipped = Settings::defaults().expect("defaults").rate_limit;
    spawn_app_with(Default::default(), |s| {
        s.rate_limit.login_failures_per_address = shipped.login_failures_per_address;
        s.rate_limit.login_failures_per_account = shipped.login_failures_per_account;
        s.rate_limit.login_failure_window_secs = shipped.login_failure_window_secs;
        tweak(s);
    })
    .await
}

#[tokio::test]
async fn wrong_passwords_from_one_address_do_not_lock_the_owner_out_from_another() {
    let app = app_with_shipped_login_limits(|_| {}).await;
    let owner = "owner@example.test";
    sign_up(&app, owner).await;
    let limit = Settings::defaults()
        .unwrap()
        .rate_limit
        .login_failures_per_address;
    // A competitor at 9:59, from one address.
    for _ in 0..limit {
        let (status, _, _) = login_from(&app, "203.0.113.66", owner, "a wrong guess").await;
        assert_eq!(status, 401);
    }
    let hashes_before = metric(&app, "coupon_password_hashes_total").await;
    let (status, retry_after, code) =
        login_from(&app, "203.0.113.66", owner, "another guess").await;
    assert_eq!((status, code.as_str()), (429, "rate_limited"));
    assert!(
        matches!(retry_after, Some(s) if (1..=900).contains(&s)),
        "{retry_after:?}"
    );
    assert_eq!(
        metric(&app, "coupon_password_hashes_total").await,
        hashes_before,
        "a refused guess costs no password work"
    );
    // The owner, from their own address, signs in.
    let (status, _, code) = login_from(&app, "198.51.100.20", owner, PASSWORD).await;
    assert_eq!(status, 200, "the owner is locked out: {code}");
}

#[tokio::test]
async fn a_guessing_run_over_many_addresses_is_throttled_except_where_the_owner_signed_in() {
    // Small numbers for a quick test: 2 failures per address, 6 per account.
    let app = spawn_app_with(Default::default(), |s| {
        s.rate_limit.login_failures_per_address = 2;
        s.rate_limit.login_failures_per_account = 6;
        s.rate_limit.login_failure_window_secs = 600;
    })
    .await;
    let (victim, bystander) = ("victim@example.test", "bystander@example.test");
    sign_up(&app, victim).await;
    sign_up(&app, bystander).await;
    let home = "192.0.2.10";
    let (status, _, _) = login_from(&app, home, victim, PASSWORD).await;
    assert_eq!(status, 200);

    // Three addresses, each within its own allowance, reach the ceiling.
    for i in 0..3 {
        for _ in 0..2 {
            let (status, _, _) =
                login_from(&app, &format!("203.0.113.{i}"), victim, "a wrong guess").await;
            assert_eq!(status, 401);
        }
    }
    let hashes_before = metric(&app, "coupon_password_hashes_total").await;
    // A fourth address, even with the right password: the run is throttled,
    // and no password work is done for it.
    for address in ["203.0.113.3", "198.51.100.77"] {
        let (status, retry_after, code) =
            login_from(&app, address, "VICTIM@example.test", PASSWORD).await;
        assert_eq!((status, code.as_str()), (429, "rate_limited"), "{address}");
        assert!(
            matches!(retry_after, Some(s) if (1..=600).contains(&s)),
            "{retry_after:?}"
        );
    }
    assert_eq!(
        metric(&app, "coupon_password_hashes_total").await,
        hashes_before
    );
    // The owner at home is not refused; other accounts are not affected.
    let (status, _, code) = login_from(&app, home, victim, PASSWORD).await;
    assert_eq!(status, 200, "the owner is locked out at home: {code}");
    let (status, _, _) = login_from(&app, "203.0.113.0", bystander, PASSWORD).await;
    assert_eq!(status, 200, "other accounts are not affected");
}

#[tokio::test]
async fn forty_simultaneous_logins_with_the_right_password_all_get_in() {
    let app = app_with_shipped_login_limits(|s| {
        // Forty Argon2 runs on a small test machine: no 503 for the wait.
        s.auth.hash_queue_timeout_ms = 30_000;
    })
    .await;
    let email = "busy@example.test";
    sign_up(&app, email).await;
    let statuses = join_all((0..40).map(|_| async {
        let (status, retry_after, code) = login_from(&app, "198.51.100.5", email, PASSWORD).await;
        (status, retry_after, code)
    }))
    .await;
    let refused: Vec<_> = statuses.iter().filter(|(s, _, _)| *s != 200).collect();
    assert!(
        refused.is_empty(),
        "{} of 40 refused: {refused:?}",
        refused.len()
    );
}
