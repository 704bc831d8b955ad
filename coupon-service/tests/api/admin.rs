//! Admin event setup, and who may do it (BFLA, mass assignment).

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_app};

fn new_event_body(total: i64) -> Value {
    let now = Utc::now();
    json!({
        "title": "Admin sale", "description": "made by a test", "total_count": total, "max_per_user": 1,
        "start_time": (now - Duration::minutes(1)).to_rfc3339(), "end_time": (now + Duration::hours(1)).to_rfc3339(),
        "discount_type": "fixed", "discount_value": 3000, "min_purchase_amount": 10000,
        "valid_days": 7, "code_prefix": "ADM"
    })
}

pub async fn create(app: &TestApp, admin: &str, total: i64) -> i64 {
    let (status, body) = app
        .post_json("/api/admin/events", Some(admin), new_event_body(total))
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("event id")
}

#[tokio::test]
async fn an_admin_creates_an_event_that_sells_at_once_with_live_stats() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let id = create(&app, &admin, 3).await;
    let users = app.create_users(2).await;
    assert_eq!(
        app.issue(&app.token(users[0]), id, None)
            .await
            .status()
            .as_u16(),
        201
    );

    let (status, view) = app
        .get_with(&format!("/api/admin/events/{id}"), Some(&admin))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            view["issued_count"].as_i64(),
            view["remaining"].as_i64(),
            view["redeemed_count"].as_i64()
        ),
        (Some(1), Some(2), Some(0))
    );
    assert_eq!(view["status"], "active");
    let (_, list) = app.get_with("/api/admin/events", Some(&admin)).await;
    assert_eq!(list["items"][0]["id"], id, "{list}");
    assert_eq!(list["items"][0]["issued_count"], 1);
    assert_eq!(
        list["items"][0]["remaining"], 2,
        "live remaining from Redis"
    );

    let (_, page) = app
        .get_with(
            &format!("/api/admin/events/{id}/coupons?page=1&size=10"),
            Some(&admin),
        )
        .await;
    assert_eq!(page["total"], 1);
    let code = page["items"][0]["code"].as_str().unwrap().to_owned();
    assert_eq!(page["items"][0]["user_id"], users[0]);
    let (_, found) = app
        .get_with(
            &format!(
                "/api/admin/events/{id}/coupons?code={}",
                &code[..6].to_lowercase()
            ),
            Some(&admin),
        )
        .await;
    assert_eq!(found["total"], 1, "searchable by code prefix, any case");
    let (_, none) = app
        .get_with(
            &format!("/api/admin/events/{id}/coupons?code=ZZZZ"),
            Some(&admin),
        )
        .await;
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn each_invalid_field_gets_a_422_naming_it_and_nothing_is_written() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let cases: Vec<(&str, Value)> = vec![
        (
            "end_time",
            json!((Utc::now() - Duration::hours(2)).to_rfc3339()),
        ),
        ("total_count", json!(0)),
        ("total_count", json!("lots")),
        ("max_per_user", json!(0)),
        ("discount_type", json!("bogo")),
        ("discount_value", json!(-1)),
        ("valid_days", json!(0)),
        ("code_prefix", json!("no spaces!")),
        ("status", json!("active")),
        ("issued_count", json!(100)),
    ];
    for (field, value) in cases {
        let mut body = new_event_body(10);
        body[field] = value.clone();
        let (status, answer) = app.post_json("/api/admin/events", Some(&admin), body).await;
        assert_eq!(status, 422, "{field} = {value}");
        assert_eq!(answer["error"]["code"], "validation_failed");
        assert!(
            answer["error"]["fields"][field].is_string(),
            "{field} named: {answer}"
        );
    }
    let mut percent = new_event_body(10);
    percent["discount_type"] = json!("percentage");
    percent["discount_value"] = json!(150);
    let (status, answer) = app
        .post_json("/api/admin/events", Some(&admin), percent)
        .await;
    assert_eq!(status, 422);
    assert!(answer["error"]["fields"]["discount_value"].is_string());
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM coupon_events")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(events, 0);
}

#[tokio::test]
async fn a_user_token_on_every_admin_route_is_403_and_no_token_is_401() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let id = create(&app, &admin, 5).await;
    let user = app.token(app.create_users(1).await[0]);
    let routes: Vec<(&str, String)> = vec![
        ("POST", "/api/admin/events".into()),
        ("GET", "/api/admin/events".into()),
        ("GET", format!("/api/admin/events/{id}")),
        ("PATCH", format!("/api/admin/events/{id}")),
        ("POST", format!("/api/admin/events/{id}/close")),
        ("GET", format!("/api/admin/events/{id}/coupons")),
    ];
    for (method, path) in &routes {
        for (token, expected) in [(Some(user.as_str()), 403), (None, 401)] {
            let mut req = app
                .client
                .request(method.parse().unwrap(), app.url(path))
                .json(&json!({"total_count": 1}));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let (status, _) = error_code(req.send().await.unwrap()).await;
            assert_eq!(status, expected, "{method} {path}");
        }
    }
    let (_, view) = app
        .get_with(&format!("/api/admin/events/{id}"), Some(&admin))
        .await;
    assert_eq!(
        (view["total_count"].as_i64(), view["closed_at"].is_null()),
        (Some(5), true),
        "nothing changed"
    );
}

#[tokio::test]
async fn raising_stock_during_a_sale_is_usable_at_once_and_lowering_below_issued_is_409() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let id = create(&app, &admin, 2).await;
    let users = app.create_users(4).await;
    for u in &users[..2] {
        assert_eq!(
            app.issue(&app.token(*u), id, None).await.status().as_u16(),
            201
        );
    }
    assert_eq!(
        error_code(app.issue(&app.token(users[2]), id, None).await).await,
        (410, "sold_out".into())
    );

    let (status, body) = app
        .patch_json(
            &format!("/api/admin/events/{id}"),
            &admin,
            json!({"total_count": 4}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["remaining"], 2);
    let won = app.issue_once_each(&users[2..], id).await;
    assert_eq!(won, vec![201, 201], "the new tickets are usable at once");
    assert_eq!(app.coupon_count(id).await, 4);

    let (status, body) = app
        .patch_json(
            &format!("/api/admin/events/{id}"),
            &admin,
            json!({"total_count": 3}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("stock_below_issued"))
    );
    let (status, body) = app
        .patch_json(
            &format!("/api/admin/events/{id}"),
            &admin,
            json!({"total_count": 0}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["fields"]["total_count"].is_string()),
        (422, true)
    );
    let (status, body) = app
        .patch_json(
            &format!("/api/admin/events/{id}"),
            &admin,
            json!({"issued_count": 0}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["fields"]["issued_count"].is_string()),
        (422, true),
        "mass assignment refused"
    );
}

#[tokio::test]
async fn closing_stops_issuance_and_an_ended_events_window_cannot_change() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let id = create(&app, &admin, 10).await;
    let users = app.create_users(2).await;
    assert_eq!(
        app.issue(&app.token(users[0]), id, None)
            .await
            .status()
            .as_u16(),
        201
    );

    let (status, body) = app
        .post_json(
            &format!("/api/admin/events/{id}/close"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ended")));
    assert_eq!(
        error_code(app.issue(&app.token(users[1]), id, None).await).await,
        (410, "event_ended".into())
    );

    let later = (Utc::now() + Duration::hours(5)).to_rfc3339();
    let (status, body) = app
        .patch_json(
            &format!("/api/admin/events/{id}"),
            &admin,
            json!({"end_time": later}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("event_ended"))
    );
    let (status, _) = app
        .patch_json(
            &format!("/api/admin/events/{id}"),
            &admin,
            json!({"title": "Renamed after the sale"}),
        )
        .await;
    assert_eq!(status, 200, "texts may still change");
}

fn page_ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page with items: {page}"))
        .iter()
        .map(|e| e["id"].as_i64().expect("an id"))
        .collect()
}

#[tokio::test]
async fn the_admin_list_filters_by_status_searches_titles_literally_and_pages() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let now = Utc::now();
    let one = |title: &'static str, start: i64, end: i64| {
        let app = &app;
        async move {
            app.insert_events(
                1,
                title,
                now + Duration::minutes(start),
                now + Duration::minutes(end),
            )
            .await[0]
        }
    };
    let old = one("Old spring", -180, -120).await;
    let fifty = one("50% off", -50, 60).await;
    let five_hundred = one("500 off", -40, 60).await;
    let a_b = one("a_b day", -30, 60).await;
    let axb = one("axb day", -20, 60).await;
    let closed = one("Closed early", -10, 60).await;
    let spring = app
        .insert_events(
            2,
            "Spring sale",
            now + Duration::hours(1),
            now + Duration::hours(2),
        )
        .await;
    sqlx::query("UPDATE coupon_events SET issued_count = total_count WHERE id = $1")
        .bind(a_b)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE coupon_events SET closed_at = now() WHERE id = $1")
        .bind(closed)
        .execute(&app.db)
        .await
        .unwrap();
    let list = |query: &str| {
        let (app, admin) = (&app, &admin);
        let path = format!("/api/admin/events?{query}");
        async move {
            let (status, body) = app.get_with(&path, Some(admin)).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };

    // Newest start first.
    let all = list("").await;
    let newest_first = vec![
        spring[1],
        spring[0],
        closed,
        axb,
        a_b,
        five_hundred,
        fifty,
        old,
    ];
    assert_eq!(page_ids(&all), newest_first);
    assert_eq!(all["total"], 8);
    assert!(all["items"][0]["redeemed_count"].is_i64() && all["items"][0]["remaining"].is_i64());
    let third = list("page=3&size=3").await;
    assert_eq!(
        (
            page_ids(&third),
            third["page"].as_i64(),
            third["size"].as_i64(),
            third["total"].as_i64()
        ),
        (vec![fifty, old], Some(3), Some(3), Some(8))
    );

    for (status, expected) in [
        ("upcoming", vec![spring[1], spring[0]]),
        ("live", vec![axb, five_hundred, fifty]),
        ("sold_out", vec![a_b]),
        ("ended", vec![closed, old]),
        ("closed", vec![closed]),
    ] {
        let page = list(&format!("status={status}")).await;
        assert_eq!(page_ids(&page), expected, "status={status}");
        assert_eq!(
            page["total"].as_u64(),
            Some(expected.len() as u64),
            "status={status}"
        );
    }

    for (q, expected) in [
        ("sPrInG", vec![spring[1], spring[0], old]),
        ("50%25", vec![fifty]),
        ("%25", vec![fifty]),
        ("a_b", vec![a_b]),
        ("_", vec![a_b]),
        ("%5C", vec![]),
        ("nothing%20like%20it", vec![]),
    ] {
        let page = list(&format!("q={q}")).await;
        assert_eq!(page_ids(&page), expected, "q={q}");
        assert_eq!(page["total"].as_u64(), Some(expected.len() as u64), "q={q}");
    }
    let both = list("q=spring&status=ended").await;
    assert_eq!(page_ids(&both), vec![old]);
}

#[tokio::test]
async fn bad_admin_list_and_coupon_queries_are_a_422_naming_the_field() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let id = create(&app, &admin, 5).await;
    let long_q = "q".repeat(101);
    let long_code = "C".repeat(33);
    let cases = [
        ("/api/admin/events?status=bogus".to_owned(), "status"),
        ("/api/admin/events?status=".to_owned(), "status"),
        (format!("/api/admin/events?q={long_q}"), "q"),
        ("/api/admin/events?page=0".to_owned(), "page"),
        (
            "/api/admin/events?page=92233720368547760&size=100".to_owned(),
            "page",
        ),
        ("/api/admin/events?size=101".to_owned(), "size"),
        (
            format!("/api/admin/events/{id}/coupons?page=92233720368547760&size=100"),
            "page",
        ),
        (format!("/api/admin/events/{id}/coupons?page=x"), "page"),
        (format!("/api/admin/events/{id}/coupons?size=0"), "size"),
        (
            format!("/api/admin/events/{id}/coupons?code={long_code}"),
            "code",
        ),
        // PostgreSQL refuses a NUL in text: a 422 here, never a failed query.
        ("/api/admin/events?q=a%00b".to_owned(), "q"),
        (format!("/api/admin/events/{id}/coupons?code=%00"), "code"),
    ];
    for (path, field) in cases {
        let (status, body) = app.get_with(&path, Some(&admin)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("validation_failed")),
            "{path}: {body}"
        );
        assert!(
            body["error"]["fields"][field].is_string(),
            "{path} names {field}: {body}"
        );
    }
    let (status, body) = app
        .get_with(
            &format!("/api/admin/events?q={}", "q".repeat(100)),
            Some(&admin),
        )
        .await;
    assert_eq!((status, body["total"].as_i64()), (200, Some(0)));
}

#[tokio::test]
async fn an_admin_coupon_page_whose_offset_overflows_is_a_422_not_an_outage() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let id = create(&app, &admin, 5).await;
    let (status, body) = app
        .get_with(
            &format!("/api/admin/events/{id}/coupons?page=92233720368547760&size=100"),
            Some(&admin),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("validation_failed")),
        "{body}"
    );
    assert!(body["error"]["fields"]["page"].is_string(), "{body}");
}
