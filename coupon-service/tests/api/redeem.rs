//! Redemption at checkout: by the owner, exactly once.

use chrono::{Duration, Utc};
use futures::future::join_all;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

/// A coupon of a fresh event (fixed 3,000 off, minimum order 10,000).
async fn won_coupon(app: &TestApp, user: i64) -> String {
    let (_, admin) = app.create_admin().await;
    let now = Utc::now();
    let (status, event) = app
        .post_json(
            "/api/admin/events",
            Some(&admin),
            json!({"title": "Checkout", "total_count": 10, "max_per_user": 1,
                   "start_time": (now - Duration::minutes(1)).to_rfc3339(), "end_time": (now + Duration::hours(1)).to_rfc3339(),
                   "discount_type": "fixed", "discount_value": 3000, "min_purchase_amount": 10000, "valid_days": 7, "code_prefix": "PAY"}),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    let issued: serde_json::Value = app
        .issue(
            &app.token(user),
            event["id"].as_i64().expect("event id"),
            None,
        )
        .await
        .json()
        .await
        .expect("JSON");
    issued["coupon"]["code"]
        .as_str()
        .expect("coupon code")
        .to_owned()
}

#[tokio::test]
async fn the_owner_redeems_once_and_gets_the_discount() {
    let app = spawn_app().await;
    let user = app.create_users(1).await[0];
    let code = won_coupon(&app, user).await;
    let token = app.token(user);
    let (status, body) = app
        .post_json(
            &format!("/api/coupons/{code}/redeem"),
            Some(&token),
            json!({"order_amount": 25000}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["discount_amount"].as_i64(),
            body["final_amount"].as_i64()
        ),
        (Some(3000), Some(22000))
    );
    assert_eq!(body["coupon"]["status"], "used");
    let (status, body) = app
        .post_json(
            &format!("/api/coupons/{code}/redeem"),
            Some(&token),
            json!({"order_amount": 25000}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("coupon_used"))
    );
}

#[tokio::test]
async fn two_simultaneous_redeems_give_one_200_and_one_409() {
    let app = spawn_app().await;
    let user = app.create_users(1).await[0];
    let code = won_coupon(&app, user).await;
    let token = app.token(user);
    let path = format!("/api/coupons/{code}/redeem");
    let mut statuses: Vec<u16> = join_all((0..8).map(|_| async {
        app.post_json(&path, Some(&token), json!({"order_amount": 50000}))
            .await
            .0
    }))
    .await;
    statuses.sort();
    assert_eq!(statuses, vec![200, 409, 409, 409, 409, 409, 409, 409]);
}

#[tokio::test]
async fn below_minimum_expired_and_other_users_coupons_are_refused() {
    let app = spawn_app().await;
    let users = app.create_users(2).await;
    let code = won_coupon(&app, users[0]).await;
    let (owner, other) = (app.token(users[0]), app.token(users[1]));
    let path = format!("/api/coupons/{code}/redeem");

    let (status, body) = app
        .post_json(&path, Some(&other), json!({"order_amount": 50000}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("coupon_not_found")),
        "BOLA: looks like no coupon"
    );
    let (status, body) = app
        .post_json(&path, Some(&owner), json!({"order_amount": 9999}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("min_purchase_not_met"))
    );
    let (status, body) = app
        .post_json(&path, Some(&owner), json!({"order_amount": -5}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("validation_failed"))
    );
    let (status, _) = app
        .post_json(
            "/api/coupons/NOPE-AAAAAAAA/redeem",
            Some(&owner),
            json!({"order_amount": 50000}),
        )
        .await;
    assert_eq!(status, 404);

    sqlx::query("UPDATE user_coupons SET expires_at = now() - interval '1 minute' WHERE code = $1")
        .bind(&code)
        .execute(&app.db)
        .await
        .unwrap();
    let (status, body) = app
        .post_json(&path, Some(&owner), json!({"order_amount": 50000}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (410, Some("coupon_expired"))
    );
    let (_, mine) = app.get_with("/api/coupons/my", Some(&owner)).await;
    assert_eq!(mine["items"][0]["status"], "expired");
    let (_, theirs) = app.get_with("/api/coupons/my", Some(&other)).await;
    assert_eq!(theirs["total"], 0, "user B does not see user A's coupon");
}
