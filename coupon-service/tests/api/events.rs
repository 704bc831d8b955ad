//! The read API: event list and detail with live remaining stock.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Faults, error_code, spawn_app, spawn_app_with};

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

/// The ids of a list page's items, in order.
fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page with items: {page}"))
        .iter()
        .map(|e| e["id"].as_i64().expect("an id"))
        .collect()
}

#[tokio::test]
async fn a_new_live_event_is_listed_after_a_hundred_recent_ones_and_ended_ones_only_on_request() {
    let app = spawn_app().await;
    let now = Utc::now();
    // A busy week: a hundred sales that started and ended before this one.
    let ended = app
        .insert_events(
            100,
            "Last week",
            now - Duration::days(3),
            now - Duration::days(2),
        )
        .await;
    let live = app.create_event(5, 1).await;

    let list = app.get_json("/api/coupons/events", None).await;
    assert_eq!(ids(&list), vec![live.id], "{list}");
    assert_eq!(
        (
            list["total"].as_i64(),
            list["page"].as_i64(),
            list["size"].as_i64()
        ),
        (Some(1), Some(1), Some(20))
    );
    assert_eq!(list["items"][0]["status"], "active");
    assert_eq!(list["items"][0]["remaining"], 5);

    // Past sales on request, most recently ended first, in pages.
    let past = app
        .get_json("/api/coupons/events?status=ended&size=100", None)
        .await;
    assert_eq!(past["total"], 100);
    let mut newest_first = ended.clone();
    newest_first.reverse();
    assert_eq!(ids(&past), newest_first);
    assert!(
        past["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "ended")
    );
    let second = app
        .get_json("/api/coupons/events?status=ended&page=2&size=60", None)
        .await;
    assert_eq!(
        (
            second["page"].as_i64(),
            second["size"].as_i64(),
            second["total"].as_i64()
        ),
        (Some(2), Some(60), Some(100))
    );
    assert_eq!(ids(&second), newest_first[60..].to_vec());
    let beyond = app
        .get_json("/api/coupons/events?status=ended&page=3&size=60", None)
        .await;
    assert_eq!(
        (ids(&beyond).len(), beyond["total"].as_i64()),
        (0, Some(100))
    );

    let live_only = app.get_json("/api/coupons/events?status=live", None).await;
    assert_eq!(ids(&live_only), vec![live.id]);
    let upcoming = app
        .get_json("/api/coupons/events?status=upcoming", None)
        .await;
    assert_eq!(
        (ids(&upcoming).len(), upcoming["total"].as_i64()),
        (0, Some(0))
    );
}

#[tokio::test]
async fn the_default_list_shows_live_sales_ending_soonest_first_then_upcoming_ones_by_start() {
    let app = spawn_app().await;
    let now = Utc::now();
    let at = |start: i64, end: i64| (now + Duration::minutes(start), now + Duration::minutes(end));
    let make = |(start, end): (chrono::DateTime<Utc>, chrono::DateTime<Utc>)| {
        let app = &app;
        async move { app.create_event_at(5, 1, start, end).await.id }
    };
    let live_long = make(at(-60, 120)).await;
    let upcoming_late = make(at(180, 240)).await;
    let live_short = make(at(-30, 60)).await;
    let upcoming_soon = make(at(60, 240)).await;
    let closed = make(at(-30, 60)).await;
    let ended = make(at(-120, -60)).await;
    sqlx::query("UPDATE coupon_events SET closed_at = now() WHERE id = $1")
        .bind(closed)
        .execute(&app.db)
        .await
        .unwrap();

    let list = app.get_json("/api/coupons/events", None).await;
    assert_eq!(
        ids(&list),
        vec![live_short, live_long, upcoming_soon, upcoming_late]
    );
    assert_eq!(list["total"], 4);
    let statuses: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "active", "scheduled", "scheduled"]);
    let second = app
        .get_json("/api/coupons/events?page=2&size=3", None)
        .await;
    assert_eq!(
        (ids(&second), second["total"].as_i64()),
        (vec![upcoming_late], Some(4))
    );
    let upcoming = app
        .get_json("/api/coupons/events?status=upcoming", None)
        .await;
    assert_eq!(ids(&upcoming), vec![upcoming_soon, upcoming_late]);
    // Closed a moment ago: its end is now, so it is the most recent.
    let past = app.get_json("/api/coupons/events?status=ended", None).await;
    assert_eq!(ids(&past), vec![closed, ended]);
}

#[tokio::test]
async fn list_pages_are_cached_per_status_page_and_size_and_an_admin_write_refreshes_them() {
    let app = spawn_app_with(Faults::default(), |s| s.events.cache_ttl_ms = 60_000).await;
    let first = app.get_json("/api/coupons/events", None).await;
    assert_eq!(first["total"], 0);
    // Written behind the service's back: the cached page does not see it,
    // because it is not read from PostgreSQL again.
    let sneaked = app.create_event(5, 1).await;
    let again = app.get_json("/api/coupons/events", None).await;
    assert_eq!(again["total"], 0, "served from the cache: {again}");
    // Another page size is another entry, read fresh.
    let other = app.get_json("/api/coupons/events?size=5", None).await;
    assert_eq!(ids(&other), vec![sneaked.id]);

    // An admin's write drops every cached page.
    let (_, admin) = app.create_admin().await;
    let (status, created) = app
        .post_json(
            &format!("/api/admin/events/{}/close", sneaked.id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let after = app.get_json("/api/coupons/events", None).await;
    assert_eq!(after["total"], 0);
    let past = app.get_json("/api/coupons/events?status=ended", None).await;
    assert_eq!(ids(&past), vec![sneaked.id]);
}

#[tokio::test]
async fn a_bad_status_page_or_size_of_the_event_list_is_a_422_naming_it() {
    let app = spawn_app().await;
    app.create_event(5, 1).await;
    let cases = [
        ("status=bogus", "status"),
        ("status=", "status"),
        ("status=ENDED", "status"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=10001", "page"),
        ("page=92233720368547760&size=100", "page"),
        ("page=99999999999999999999999", "page"),
        ("size=0", "size"),
        ("size=101", "size"),
        ("size=-9223372036854775808", "size"),
    ];
    for (query, field) in cases {
        let (status, body) = app
            .get_with(&format!("/api/coupons/events?{query}"), None)
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("validation_failed")),
            "{query}: {body}"
        );
        assert!(
            body["error"]["fields"][field].is_string(),
            "{query} names {field}: {body}"
        );
    }
    let deepest = app
        .get_json("/api/coupons/events?page=10000&size=100", None)
        .await;
    assert_eq!(
        (ids(&deepest).len(), deepest["total"].as_i64()),
        (0, Some(1))
    );
}
