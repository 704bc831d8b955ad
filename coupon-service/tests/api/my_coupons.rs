//! `GET /api/coupons/my`: own coupons only, newest first, paged.

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn my_coupons_lists_only_my_coupons_newest_first_in_pages() {
    let app = spawn_app().await;
    let events = [
        app.create_event(10, 1).await,
        app.create_event(10, 1).await,
        app.create_event(10, 1).await,
    ];
    let users = app.create_users(2).await;
    let (me, other) = (app.token(users[0]), app.token(users[1]));
    let mut mine = Vec::new();
    for e in &events {
        let body: serde_json::Value = app.issue(&me, e.id, None).await.json().await.unwrap();
        mine.push(body["coupon"]["id"].as_i64().unwrap());
    }
    app.issue(&other, events[0].id, None).await;

    let page = |page: u32, size: u32| {
        let path = format!("/api/coupons/my?page={page}&size={size}");
        let (app, me) = (&app, &me);
        async move { app.get_json(&path, Some(me)).await }
    };
    let first = page(1, 2).await;
    assert_eq!(first["total"], 3);
    let ids: Vec<i64> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![mine[2], mine[1]]);
    let second = page(2, 2).await;
    assert_eq!(second["items"][0]["id"], mine[0]);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(first["items"][0]["status"], "issued");

    let anonymous = app
        .client
        .get(app.url("/api/coupons/my"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(anonymous).await, (401, "unauthorized".into()));
}

#[tokio::test]
async fn a_page_whose_offset_overflows_is_a_422_not_an_outage() {
    let app = spawn_app().await;
    let token = app.token(app.create_users(1).await[0]);
    // (page - 1) * size is past i64: unchecked, it would wrap to a negative
    // OFFSET that PostgreSQL refuses (a 503 in a release build).
    for query in [
        "page=92233720368547760&size=100",
        "page=9223372036854775807&size=100",
        "page=10001",
        "size=101",
        "size=abc",
    ] {
        let (status, body) = app
            .get_with(&format!("/api/coupons/my?{query}"), Some(&token))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("validation_failed")),
            "{query}: {body}"
        );
    }
    let (status, body) = app
        .get_with("/api/coupons/my?page=10000&size=100", Some(&token))
        .await;
    assert_eq!(
        (status, body["total"].as_i64()),
        (200, Some(0)),
        "the deepest page is fine"
    );
}
