//! An admin write reaches Redis after it committed in PostgreSQL, and may
//! not reach it at all (a timeout) or land after a newer one. PostgreSQL's
//! state wins: Redis ignores a write older than the one it holds, the
//! preload pass repairs a Redis that missed a write, and the database itself
//! refuses a coupon for a closed or ended event.

use std::{collections::HashMap, time::Duration};

use coupon_service::{events::store, issuance::rebuild};
use futures::future::join_all;
use serde_json::json;

use crate::{
    admin::create,
    helpers::{TestApp, error_code, eventually, spawn_app, spawn_app_with},
};

/// The event's `info` hash, read straight from Redis.
async fn info(app: &TestApp, id: i64) -> HashMap<String, String> {
    let key = app.state.redis.keys(id).info();
    redis::cmd("HGETALL")
        .arg(key)
        .query_async(&mut test_support::redis_connection().await)
        .await
        .expect("HGETALL info")
}

/// Writes `fields` back into the event's `info` hash: Redis as it was
/// before an admin write that never reached it.
async fn put_info(app: &TestApp, id: i64, fields: &HashMap<String, String>) {
    let mut hset = redis::cmd("HSET");
    hset.arg(app.state.redis.keys(id).info());
    for (field, value) in fields {
        hset.arg(field).arg(value);
    }
    let _: i64 = hset
        .query_async(&mut test_support::redis_connection().await)
        .await
        .expect("HSET info");
}

async fn close(app: &TestApp, admin: &str, id: i64) {
    let (status, body) = app
        .post_json(
            &format!("/api/admin/events/{id}/close"),
            Some(admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// An app whose preload pass (which repairs Redis) runs only at start, so
/// that what a test sees is the database's refusal alone.
async fn spawn_app_without_repair_pass() -> TestApp {
    spawn_app_with(Default::default(), |s| {
        s.issuance.preload_interval_ms = 3_600_000;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_press_reaching_the_database_after_a_close_redis_missed_is_refused_and_given_back() {
    let app = spawn_app_without_repair_pass().await;
    let (_, admin) = app.create_admin().await;
    let closed = create(&app, &admin, 10).await;
    let open = create(&app, &admin, 10).await;
    let users = app.create_users(10).await;
    assert_eq!(
        app.issue(&app.token(users[0]), closed, None)
            .await
            .status()
            .as_u16(),
        201
    );
    let before_close = info(&app, closed).await;
    close(&app, &admin, closed).await;
    // The close committed, but Redis kept the state from before it.
    put_info(&app, closed, &before_close).await;

    // Presses of both events at once share batches: the refused rows must
    // not fail the others.
    let presses = users[1..].iter().enumerate().map(|(i, u)| {
        let event = if i % 2 == 0 { closed } else { open };
        let app = &app;
        async move {
            (
                event,
                error_code(app.issue(&app.token(*u), event, None).await).await,
            )
        }
    });
    for (event, answer) in join_all(presses).await {
        if event == closed {
            assert_eq!(
                answer,
                (410, "event_ended".into()),
                "a press of the closed event"
            );
        } else {
            assert_eq!(answer.0, 201, "a press of the open event: {answer:?}");
        }
    }
    assert_eq!(
        app.coupon_count(closed).await,
        1,
        "nothing issued after the close"
    );
    assert_eq!(app.coupon_count(open).await, 4);
    assert_eq!(
        app.redis_remaining(closed).await,
        Some(9),
        "every refused ticket given back"
    );
    assert_eq!(app.redis_pending(closed).await, 0);
    assert_eq!(
        info(&app, closed).await.get("closed").map(String::as_str),
        Some("1"),
        "the refusal repaired Redis: the script refuses the next presses"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_that_never_reached_redis_is_repaired_within_the_preload_interval() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let id = create(&app, &admin, 10).await;
    let users = app.create_users(1).await;
    let before_close = info(&app, id).await;
    assert_eq!(before_close.get("closed").map(String::as_str), Some("0"));
    close(&app, &admin, id).await;
    put_info(&app, id, &before_close).await;

    // The test app's preload pass runs every 200 ms.
    eventually(Duration::from_secs(5), "Redis closed again", || async {
        info(&app, id).await.get("closed").map(String::as_str) == Some("1")
    })
    .await;
    assert_eq!(
        error_code(app.issue(&app.token(users[0]), id, None).await).await,
        (410, "event_ended".into())
    );
    assert_eq!(app.coupon_count(id).await, 0);
    assert_eq!(app.redis_remaining(id).await, Some(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_admin_write_landing_after_a_newer_one_does_not_reopen_the_sale() {
    let app = spawn_app_without_repair_pass().await;
    let (_, admin) = app.create_admin().await;
    let id = create(&app, &admin, 10).await;
    let (status, body) = app
        .patch_json(
            &format!("/api/admin/events/{id}"),
            &admin,
            json!({"total_count": 20}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // What the PATCH wrote to Redis, as its (late) write would carry it.
    let patched = store::find(&app.db, id)
        .await
        .expect("event read")
        .expect("event exists");
    let (status, body) = app
        .patch_json(
            &format!("/api/admin/events/{id}"),
            &admin,
            json!({"total_count": 30}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    close(&app, &admin, id).await;

    // The first PATCH's write lands after the second's and the close's.
    app.state
        .redis
        .update(id, &rebuild::limits_of(&patched))
        .await
        .expect("update script runs");

    assert_eq!(
        info(&app, id).await.get("closed").map(String::as_str),
        Some("1"),
        "the older write did not reopen the sale"
    );
    assert_eq!(
        app.redis_remaining(id).await,
        Some(30),
        "nor took back the later stock raise"
    );
    let users = app.create_users(1).await;
    assert_eq!(
        error_code(app.issue(&app.token(users[0]), id, None).await).await,
        (410, "event_ended".into())
    );
    assert_eq!(app.coupon_count(id).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_press_reaching_the_database_after_the_events_end_is_refused_with_410() {
    let app = spawn_app_without_repair_pass().await;
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
    // The event is over in PostgreSQL; Redis, which missed it, still sells.
    sqlx::query(
        "UPDATE coupon_events SET start_time = now() - interval '2 hours', \
         end_time = now() - interval '1 second' WHERE id = $1",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .expect("end the event");

    assert_eq!(
        error_code(app.issue(&app.token(users[1]), id, None).await).await,
        (410, "event_ended".into())
    );
    assert_eq!(app.coupon_count(id).await, 1);
    assert_eq!(app.redis_remaining(id).await, Some(9), "ticket given back");
    assert_eq!(app.redis_pending(id).await, 0);
}
