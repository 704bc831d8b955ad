//! The CSV export of an event's coupons: every coupon once, streamed, for
//! admins only, a bounded number at once.

use serde_json::json;

use crate::helpers::{eventually, spawn_app};

#[tokio::test]
async fn an_export_lists_every_coupon_of_the_event_once_with_its_redemption() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let event = app.create_event(40, 1).await;
    let other = app.create_event(10, 1).await;
    let users = app.create_users(30).await;
    for u in &users {
        assert_eq!(
            app.issue(&app.token(*u), event.id, None).await.status(),
            201
        );
    }
    assert_eq!(
        app.issue(&app.token(users[0]), other.id, None)
            .await
            .status(),
        201
    );
    let (code, owner): (String, i64) = sqlx::query_as(
        "SELECT code, user_id FROM user_coupons WHERE event_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(event.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let (status, body) = app
        .post_json(
            &format!("/api/coupons/{code}/redeem"),
            Some(&app.token(owner)),
            json!({"order_amount": 50_000}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let path = format!("/api/admin/events/{}/coupons.csv", event.id);
    let response = app
        .client
        .get(app.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("event-{}-coupons.csv", event.id))
    );
    let csv = response.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("code,user_id,issued_at,redeemed_at"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let stored: Vec<(String, i64)> =
        sqlx::query_as("SELECT code, user_id FROM user_coupons WHERE event_id = $1 ORDER BY id")
            .bind(event.id)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(rows.len(), 30, "one line per coupon of this event only");
    for (row, (code, user)) in rows.iter().zip(&stored) {
        assert_eq!((row[0], row[1]), (code.as_str(), user.to_string().as_str()));
        assert!(
            chrono::DateTime::parse_from_rfc3339(row[2]).is_ok(),
            "{row:?}"
        );
    }
    assert!(
        chrono::DateTime::parse_from_rfc3339(rows[0][3]).is_ok(),
        "redeemed"
    );
    assert!(rows[1..].iter().all(|r| r[3].is_empty()), "not redeemed");

    let (status, _) = app.get_with(&path, Some(&app.token(users[1]))).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .get_with("/api/admin/events/999999999/coupons.csv", Some(&admin))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn exports_past_the_bound_wait_their_turn_with_429() {
    use coupon_service::admin::export::{EXPORTS, MAX_CONCURRENT_EXPORTS};
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let event = app.create_event(5, 1).await;
    let path = format!("/api/admin/events/{}/coupons.csv", event.id);
    // Every slot taken, as by exports still streaming.
    let running: Vec<_> = (0..MAX_CONCURRENT_EXPORTS)
        .map(|_| EXPORTS.try_acquire().expect("a free slot"))
        .collect();
    let refused = app
        .client
        .get(app.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    drop(running);
    let (status, _) = app.get_with(&path, Some(&admin)).await;
    assert_eq!(status, 200, "a slot given back serves the next export");
    // The finished export gives its slot back too.
    eventually(
        std::time::Duration::from_secs(5),
        "the export's slot is back",
        || async { EXPORTS.available_permits() == MAX_CONCURRENT_EXPORTS },
    )
    .await;
}
