//! The read API: event list and detail with live remaining stock.

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn event_detail_shows_live_remaining_and_status() {
    let app = spawn_app().await;
    let event = app.create_event(5, 1).await;
    let user = app.create_users(1).await[0];
    let detail = |id: i64| {
        let app = &app;
        async move {
            app.get_json(&format!("/api/coupons/events/{id}"), None)
                .await
        }
    };
    let before = detail(event.id).await;
    assert_eq!(before["remaining"], 5);
    assert_eq!(before["status"], "active");
    assert_eq!(before["total_count"], 5);
    assert_eq!(before["discount_type"], "percentage");

    assert_eq!(
        app.issue(&app.token(user), event.id, None)
            .await
            .status()
            .as_u16(),
        201
    );
    // Remaining is read live from Redis, not from the one-second event cache.
    assert_eq!(detail(event.id).await["remaining"], 4);

    let (status, code) = error_code(
        app.client
            .get(app.url("/api/coupons/events/999999"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "event_not_found"));
}

#[tokio::test]
async fn event_list_includes_upcoming_and_running_events_with_their_status() {
    let app = spawn_app().await;
    let now = chrono::Utc::now();
    let running = app.create_event(3, 1).await;
    let upcoming = app
        .create_event_at(
            7,
            1,
            now + chrono::Duration::hours(1),
            now + chrono::Duration::hours(2),
        )
        .await;
    // Nothing listed before the events existed, so no stale cache entry.
    let list = app.get_json("/api/coupons/events", None).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let by_id = |id: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(running.id)["status"], "active");
    assert_eq!(by_id(upcoming.id)["status"], "scheduled");
    assert_eq!(by_id(upcoming.id)["remaining"], 7);
}
