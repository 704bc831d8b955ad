//! The waiting room (docs/contract.md §2.8): one place per account, the
//! pre-queue drawn in the committed order, admission only with a unit
//! behind it, no-shows passed on, the room closed at the sell-out, and
//! admitted places surviving a Redis flush. The app's own room loop ticks
//! (once a second); the tests wait for what it does.

use std::time::Duration;

use chrono::Utc;
use coupon_service::{
    admission::{Admission, proof::QueueProof, ranking},
    events::{Event, NewEvent, store},
};
use serde_json::Value;

use crate::helpers::{TestApp, error_code, eventually, spawn_app};

/// A queued sale whose queue is open and which starts in `starts_in`.
async fn queued_event(app: &TestApp, total: i32, starts_in: chrono::TimeDelta) -> Event {
    let now = Utc::now();
    store::insert(
        &app.db,
        &NewEvent {
            title: "Queued sale".into(),
            description: String::new(),
            total_count: total,
            max_per_user: 1,
            start_time: now + starts_in,
            end_time: now + starts_in + chrono::TimeDelta::hours(1),
            discount_type: "percentage".into(),
            discount_value: 10,
            min_purchase_amount: 0,
            valid_days: 30,
            code_prefix: "Q".into(),
            admission: Admission::Queue,
            queue_opens_at: Some(now - chrono::TimeDelta::minutes(1)),
            claim_window_secs: 120,
            queue_only_existing_accounts: false,
            entry_opens_at: None,
            entry_closes_at: None,
            draw_at: None,
            draw_beacon_round: None,
            draw_beacon: None,
        },
    )
    .await
    .expect("insert queued event")
}

/// A queued sale of `total` starting in a second, and `n` users who joined
/// it before the start.
async fn joined_sale(app: &TestApp, total: i32, n: i64) -> (Event, Vec<i64>) {
    let event = queued_event(app, total, chrono::TimeDelta::seconds(1)).await;
    let users = app.create_users(n).await;
    for u in &users {
        assert_eq!(join(app, event.id, *u).await.0, 201);
    }
    (event, users)
}

async fn join(app: &TestApp, event: i64, user: i64) -> (u16, Value) {
    app.post_json(
        &format!("/api/coupons/events/{event}/queue"),
        Some(&app.token(user)),
        Value::Null,
    )
    .await
}

async fn me(app: &TestApp, event: i64, user: i64) -> Value {
    let (status, body) = app
        .get_with(
            &format!("/api/coupons/events/{event}/queue/me"),
            Some(&app.token(user)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn state_of(app: &TestApp, event: i64, user: i64) -> String {
    me(app, event, user).await["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn proof(app: &TestApp, event: i64) -> QueueProof {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = app
            .get_with(&format!("/api/coupons/events/{event}/queue/proof"), None)
            .await;
        if status == 200 {
            return serde_json::from_value(body).expect("a proof");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the queue was not drawn: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until exactly `n` of `users` are admitted; returns them.
async fn admitted(app: &TestApp, event: i64, users: &[i64], n: usize) -> Vec<i64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut found = Vec::new();
        for u in users {
            if state_of(app, event, *u).await == "admitted" {
                found.push(*u);
            }
        }
        if found.len() == n {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "admitted {found:?}, not {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_pre_queue_is_admitted_in_the_committed_order_and_only_holders_get_coupons() {
    let app = spawn_app().await;
    let event = queued_event(&app, 3, chrono::TimeDelta::seconds(2)).await;
    let view = app
        .get_json(&format!("/api/coupons/events/{}", event.id), None)
        .await;
    let committed = view["queue"]["seed_commitment"]
        .as_str()
        .unwrap()
        .to_owned();
    let users = app.create_users(8).await;
    for u in &users {
        let (status, first) = join(&app, event.id, *u).await;
        assert_eq!(status, 201, "{first}");
        let (again, second) = join(&app, event.id, *u).await;
        assert_eq!(again, 200, "joining twice answers the same place");
        assert_eq!(first["joined_at"], second["joined_at"]);
    }

    let proof = proof(&app, event.id).await;
    assert_eq!(
        proof.seed_commitment, committed,
        "the seed shown before the start"
    );
    assert_eq!(
        proof.pre_queue,
        ranking::ranked(&ranking::unhex(&proof.seed).unwrap(), users.clone())
    );
    let admitted = admitted(&app, event.id, &users, 3).await;
    let mut first_three = proof.pre_queue[..3].to_vec();
    first_three.sort_unstable();
    assert_eq!(admitted, first_three, "admission follows the drawn order");
    let proof = self::proof(&app, event.id).await;
    proof.verify(Some(users[0])).expect("the proof holds");

    // Held units are not gone: the sale is not "sold out" to its watchers
    // while admitted users may still claim.
    let view = app
        .get_json(&format!("/api/coupons/events/{}", event.id), None)
        .await;
    assert_eq!(
        (view["remaining"].as_i64(), view["status"].as_str()),
        (Some(3), Some("active"))
    );
    let behind = me(&app, event.id, proof.pre_queue[7]).await;
    assert_eq!(behind["position"], 8);
    assert_eq!(behind["odds"], "unlikely", "{behind}");

    // Only a holder passes; every holder pressing in time gets a coupon.
    let waiting = proof.pre_queue[3];
    let (status, code) = error_code(app.issue(&app.token(waiting), event.id, None).await).await;
    assert_eq!((status, code.as_str()), (403, "not_admitted"));
    for u in &admitted {
        assert_eq!(
            app.issue(&app.token(*u), event.id, None).await.status(),
            201
        );
    }
    assert_eq!(app.coupon_count(event.id).await, 3);
    let place = me(&app, event.id, admitted[0]).await;
    assert_eq!(place["state"], "claimed");
}

#[tokio::test]
async fn a_hold_not_claimed_in_time_goes_to_the_next_place() {
    let app = spawn_app().await;
    let (event, users) = joined_sale(&app, 1, 2).await;
    let proof = proof(&app, event.id).await;
    let (first, second) = (proof.pre_queue[0], proof.pre_queue[1]);
    assert_eq!(admitted(&app, event.id, &users, 1).await, vec![first]);

    // The first place's window passes (both clocks: the record and the hold).
    sqlx::query(
        "UPDATE queue_places SET claim_by = now() - interval '1 second' WHERE user_id = $1",
    )
    .bind(first)
    .execute(&app.db)
    .await
    .unwrap();
    let holds = app.state.redis.keys(event.id).holds();
    let mut redis = test_support::redis_connection().await;
    let past = Utc::now().timestamp_millis() - 1000;
    let _: i64 = redis::cmd("HSET")
        .arg(&holds)
        .arg(first)
        .arg(past)
        .query_async(&mut redis)
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while state_of(&app, event.id, second).await != "admitted" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the next place was not admitted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state_of(&app, event.id, first).await, "expired");
    let (status, code) = error_code(app.issue(&app.token(first), event.id, None).await).await;
    assert_eq!((status, code.as_str()), (403, "not_admitted"));
    assert_eq!(
        app.issue(&app.token(second), event.id, None).await.status(),
        201
    );
}

#[tokio::test]
async fn the_sell_out_closes_the_room_and_tells_the_crowd_once() {
    let app = spawn_app().await;
    let (event, users) = joined_sale(&app, 2, 4).await;
    for u in admitted(&app, event.id, &users, 2).await {
        assert_eq!(app.issue(&app.token(u), event.id, None).await.status(), 201);
    }
    let room = format!("/api/coupons/events/{}/queue", event.id);
    eventually(Duration::from_secs(10), "the room closed", || async {
        app.get_json(&room, None).await["closed_reason"] == "sold_out"
    })
    .await;
    let late = app.create_users(1).await[0];
    let (status, body) = join(&app, event.id, late).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (410, Some("sold_out"))
    );
    let still_waiting: Vec<i64> = {
        let mut w = Vec::new();
        for u in &users {
            if state_of(&app, event.id, *u).await == "closed" {
                w.push(*u);
            }
        }
        w
    };
    assert_eq!(still_waiting.len(), 2, "nobody waits after the sell-out");
    app.outbox_published(Duration::from_secs(10)).await;
    let closed = app.drain_queue("queue.closed").await;
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0]["data"]["reason"], "sold_out");
    let admitted_messages = app.drain_queue("queue.admitted").await;
    assert_eq!(
        admitted_messages.len(),
        2,
        "one personal message per admission"
    );
}

#[tokio::test]
async fn a_redis_flush_mid_queue_loses_no_admitted_place() {
    let app = spawn_app().await;
    let (event, users) = joined_sale(&app, 2, 3).await;
    let holders = admitted(&app, event.id, &users, 2).await;
    app.flush_event_keys(event.id).await;
    for u in &holders {
        assert_eq!(
            app.issue(&app.token(*u), event.id, None).await.status(),
            201,
            "an admitted place survives the flush"
        );
    }
    let other = users.iter().find(|u| !holders.contains(u)).unwrap();
    let (status, code) = error_code(app.issue(&app.token(*other), event.id, None).await).await;
    assert_eq!((status, code.as_str()), (410, "sold_out"));
    assert_eq!(app.coupon_count(event.id).await, 2);
}

#[tokio::test]
async fn joining_needs_a_queued_open_sale_and_leaving_gives_the_place_up() {
    let app = spawn_app().await;
    let first_come = app.create_event(5, 1).await;
    let user = app.create_users(1).await[0];
    let (status, body) = join(&app, first_come.id, user).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("not_queued"))
    );

    let event = queued_event(&app, 5, chrono::TimeDelta::hours(1)).await;
    assert_eq!(join(&app, event.id, user).await.0, 201);
    let place = me(&app, event.id, user).await;
    assert_eq!(
        (place["state"].as_str(), place["position"].as_null()),
        (Some("waiting"), Some(()))
    );
    let leave = app
        .client
        .delete(app.url(&format!("/api/coupons/events/{}/queue/me", event.id)))
        .bearer_auth(app.token(user))
        .send()
        .await
        .unwrap();
    assert_eq!(leave.status(), 204);
    assert_eq!(state_of(&app, event.id, user).await, "left");
    assert_eq!(
        join(&app, event.id, user).await.0,
        201,
        "back in, at the back"
    );

    // The admission settings are final once the queue opened.
    let (_, admin) = app.create_admin().await;
    let (status, body) = app
        .patch_json(
            &format!("/api/admin/events/{}", event.id),
            &admin,
            serde_json::json!({"admission": "first_come"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("admission_fixed"))
    );
    let (status, _) = app
        .get_with(
            &format!("/api/coupons/events/{}/queue/proof", event.id),
            None,
        )
        .await;
    assert_eq!(status, 409, "no proof before the draw");
}

#[tokio::test]
async fn a_full_room_refuses_new_places_but_answers_the_ones_it_holds() {
    let app = crate::helpers::spawn_app_with(Default::default(), |s| {
        s.events.max_queue_places = 2;
    })
    .await;
    let event = queued_event(&app, 5, chrono::TimeDelta::hours(1)).await;
    let users = app.create_users(3).await;
    assert_eq!(join(&app, event.id, users[0]).await.0, 201);
    assert_eq!(join(&app, event.id, users[1]).await.0, 201);
    let (status, body) = join(&app, event.id, users[2]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("queue_full"))
    );
    assert_eq!(
        join(&app, event.id, users[0]).await.0,
        200,
        "a held place is answered"
    );
    // The count survives a Redis that lost it: recounted from PostgreSQL.
    app.flush_event_keys(event.id).await;
    assert_eq!(join(&app, event.id, users[2]).await.0, 409);
}

#[tokio::test]
async fn the_stock_of_a_queued_sale_cannot_go_below_what_admitted_users_hold() {
    let app = spawn_app().await;
    let (event, users) = joined_sale(&app, 3, 3).await;
    let holders = admitted(&app, event.id, &users, 3).await;
    let (_, admin) = app.create_admin().await;
    let path = format!("/api/admin/events/{}", event.id);
    let (status, body) = app
        .patch_json(&path, &admin, serde_json::json!({"total_count": 2}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("stock_below_issued")),
        "{body}"
    );
    for u in &holders {
        assert_eq!(
            app.issue(&app.token(*u), event.id, None).await.status(),
            201,
            "every admitted user who presses in time gets a coupon"
        );
    }
}
