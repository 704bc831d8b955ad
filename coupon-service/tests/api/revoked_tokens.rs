//! The access tokens of a session that ended (logout, a reused refresh
//! token, an account disabled) stop working on the API within a poll, not
//! when they expire. Every instance learns it the same way, from the
//! database (`revoked_sessions`), the one that ended the session included.

use std::time::Duration;

use serde_json::json;

use crate::{
    announcements::{claims, log_in, sign_in, sign_up_and_in},
    helpers::{TestApp, error_code, eventually, spawn_app},
    password_gate::metric,
};

/// Longer than a poll (`auth.revocation_poll_ms`, 1 s by default).
const WITHIN: Duration = Duration::from_secs(5);

pub async fn my_coupons(app: &TestApp, access: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url("/api/coupons/my"))
        .bearer_auth(access)
        .send()
        .await
        .expect("request");
    if response.status() == 200 {
        return (200, String::new());
    }
    error_code(response).await
}

pub async fn refused_within(app: &TestApp, access: &str) {
    eventually(WITHIN, "the token is refused", || async {
        my_coupons(app, access).await == (401, "invalid_token".to_owned())
    })
    .await;
}

#[tokio::test]
async fn a_logged_out_sessions_access_token_is_refused_and_no_other_session_is() {
    let app = spawn_app().await;
    let (_, email, phone) = sign_up_and_in(&app).await;
    let laptop = log_in(&app, &email).await;
    let phone_access = phone["access_token"].as_str().unwrap();
    let laptop_access = laptop["access_token"].as_str().unwrap();
    assert_ne!(claims(phone_access)["sid"], claims(laptop_access)["sid"]);
    assert_eq!(my_coupons(&app, phone_access).await.0, 200);

    let (status, _) = app
        .post_json(
            "/api/auth/logout",
            Some(phone_access),
            json!({"refresh_token": phone["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 204);
    refused_within(&app, phone_access).await;
    assert_eq!(
        metric(&app, "coupon_revoked_sessions_held").await,
        Some(1.0)
    );
    assert_eq!(my_coupons(&app, laptop_access).await.0, 200);
    // Someone else is not affected either.
    let other = sign_in(&app).await;
    assert_eq!(
        my_coupons(&app, other["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_disabled_account_stops_issuing_at_once_and_signs_in_again_once_enabled() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let event = app.create_event(10, 5).await;
    let (user_id, email, pair) = sign_up_and_in(&app).await;
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(app.issue(access, event.id, None).await.status(), 201);

    let (status, _) = app
        .post_json(
            &format!("/api/admin/users/{user_id}/disable"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    // A bot's account disabled mid-sale: its token issues nothing more,
    // though it would verify for up to 15 minutes.
    refused_within(&app, access).await;
    let response = app.issue(access, event.id, None).await;
    assert_eq!(
        error_code(response).await,
        (401, "invalid_token".to_owned())
    );
    assert_eq!(app.coupon_count(event.id).await, 1);

    let (status, _) = app
        .post_json(
            &format!("/api/admin/users/{user_id}/enable"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    // Tokens are stamped in whole seconds: a sign-in in the second of the
    // disable would count as before it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = log_in(&app, &email).await;
    let fresh = fresh["access_token"].as_str().unwrap();
    assert_eq!(my_coupons(&app, fresh).await.0, 200);
    assert_eq!(app.issue(fresh, event.id, None).await.status(), 201);
}
