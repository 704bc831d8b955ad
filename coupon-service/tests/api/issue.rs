//! Issuance invariants under concurrency: no oversell, per-user limit,
//! idempotent retries, the one soldout message.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::future::join_all;

use crate::helpers::{Faults, error_code, eventually, spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stampede_issues_exactly_the_stock_and_publishes_every_message_once() {
    // The production queue type (quorum), unlike the other tests.
    let app = spawn_app_with(Faults::default(), |s| {
        s.rabbitmq.queue_type = "quorum".into()
    })
    .await;
    let event = app.create_event(500, 1).await;
    let users = app.create_users(1000).await;
    let tokens: Vec<String> = users.iter().map(|u| app.token(*u)).collect();

    // 2,000 requests at once: every user presses twice.
    let started = Instant::now();
    let responses = join_all(tokens.iter().chain(tokens.iter()).map(|t| async {
        let sent = Instant::now();
        let response = app.issue(t, event.id, None).await;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("JSON");
        (status, body, sent.elapsed())
    }))
    .await;
    let elapsed = started.elapsed();

    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for (status, _, _) in &responses {
        *by_status.entry(*status).or_default() += 1;
    }
    let mut latencies: Vec<Duration> = responses.iter().map(|(_, _, l)| *l).collect();
    latencies.sort();
    println!(
        "stampede: 2000 requests in {elapsed:?} ({:.0} req/s); p50 {:?} p99 {:?} max {:?}; statuses {by_status:?}",
        2000.0 / elapsed.as_secs_f64(),
        latencies[1000],
        latencies[1980],
        latencies[1999],
    );
    assert_eq!(by_status.get(&201), Some(&500), "{by_status:?}");
    for (status, body, _) in &responses {
        match status {
            201 => assert_eq!(body["coupon"]["event_id"], event.id),
            409 => assert_eq!(body["error"]["code"], "user_limit_reached"),
            410 => assert_eq!(body["error"]["code"], "sold_out"),
            other => panic!("unexpected status {other}: {body}"),
        }
    }

    assert_eq!(app.coupon_count(event.id).await, 500);
    assert_eq!(app.max_coupons_per_user(event.id).await, 1);
    assert_eq!(app.redis_remaining(event.id).await, Some(0));
    eventually(
        Duration::from_secs(5),
        "pending reservations cleared",
        || async { app.redis_pending(event.id).await == 0 },
    )
    .await;
    let codes: std::collections::HashSet<_> = responses
        .iter()
        .filter(|(s, _, _)| *s == 201)
        .map(|(_, b, _)| b["coupon"]["code"].as_str().expect("code").to_owned())
        .collect();
    assert_eq!(codes.len(), 500, "every coupon code is distinct");

    app.outbox_published(Duration::from_secs(20)).await;
    // Live stock is coalesced: a handful of messages, the last one saying 0.
    let stock = std::sync::Mutex::new(Vec::new());
    eventually(Duration::from_secs(5), "final stock message", || async {
        let mut batch = app.drain_queue("event.stock").await;
        let mut stock = stock.lock().unwrap();
        stock.append(&mut batch);
        stock.last().is_some_and(|m| m["data"]["remaining"] == 0)
    })
    .await;
    let stock = stock.into_inner().unwrap();
    assert!(
        stock
            .iter()
            .all(|m| m["data"]["eventId"] == event.id && m["data"]["total"] == 500)
    );
    let allowed = 2 + (elapsed.as_millis() as usize + 5000) / 100;
    assert!(
        stock.len() <= allowed,
        "{} stock messages, at most {allowed}",
        stock.len()
    );

    let issued = app.drain_queue("coupon.issued").await;
    let soldout = app.drain_queue("coupon.soldout").await;
    assert_eq!(issued.len(), 500);
    assert_eq!(soldout.len(), 1);
    assert_eq!(soldout[0]["type"], "coupon.soldout");
    assert_eq!(soldout[0]["data"]["eventId"], event.id);
    let ids: std::collections::HashSet<_> = issued
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 500, "message ids are unique");
    for m in &issued {
        assert_eq!(m["type"], "coupon.issued");
        assert!(codes.contains(m["data"]["couponCode"].as_str().expect("couponCode")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_per_user_is_honoured_under_concurrency() {
    let app = &spawn_app().await;
    let event = app.create_event(1000, 3).await;
    let users = app.create_users(20).await;
    // Each user fires 10 requests at once: exactly 3 may win.
    let requests = users
        .iter()
        .flat_map(|u| std::iter::repeat_n(app.token(*u), 10));
    let statuses: Vec<u16> = join_all(
        requests.map(|t| async move { app.issue(&t, event.id, None).await.status().as_u16() }),
    )
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 60);
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 140);
    assert_eq!(app.coupon_count(event.id).await, 60);
    assert_eq!(app.max_coupons_per_user(event.id).await, 3);
    let slots: Vec<(i64, i32)> = sqlx::query_as(
        "SELECT user_id, max(user_slot) FROM user_coupons WHERE event_id = $1 GROUP BY user_id",
    )
    .bind(event.id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(
        slots.iter().all(|(_, s)| *s == 3),
        "slots 1..3 used: {slots:?}"
    );
    assert_eq!(app.redis_remaining(event.id).await, Some(940));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_with_one_idempotency_key_give_one_coupon() {
    let app = spawn_app().await;
    let event = app.create_event(100, 5).await;
    let user = app.create_users(1).await[0];
    let token = app.token(user);
    let responses = join_all((0..20).map(|_| async {
        let r = app.issue(&token, event.id, Some("checkout-42")).await;
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().await.unwrap())
    }))
    .await;
    let codes: std::collections::HashSet<_> = responses
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["coupon"]["code"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(codes.len(), 1, "every retry answers with the same coupon");
    assert_eq!(app.coupon_count(event.id).await, 1);
    assert_eq!(app.redis_remaining(event.id).await, Some(99));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequential_retry_returns_the_first_coupon_and_a_new_key_gets_another() {
    let app = spawn_app().await;
    let event = app.create_event(100, 2).await;
    let user = app.create_users(1).await[0];
    let token = app.token(user);
    let first: serde_json::Value = app
        .issue(&token, event.id, Some("k1"))
        .await
        .json()
        .await
        .unwrap();
    let again = app.issue(&token, event.id, Some("k1")).await;
    assert_eq!(again.status().as_u16(), 201);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(first["coupon"], again["coupon"]);
    assert_eq!(app.coupon_count(event.id).await, 1);

    assert_eq!(
        app.issue(&token, event.id, Some("k2"))
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(app.coupon_count(event.id).await, 2);
    // Limit reached, but a retry of an earlier success still answers 201.
    assert_eq!(
        error_code(app.issue(&token, event.id, Some("k3")).await).await,
        (409, "user_limit_reached".into())
    );
    assert_eq!(
        app.issue(&token, event.id, Some("k1"))
            .await
            .status()
            .as_u16(),
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reusing_an_idempotency_key_for_another_event_is_refused() {
    let app = spawn_app().await;
    let a = app.create_event(10, 1).await;
    let b = app.create_event(10, 1).await;
    let user = app.create_users(1).await[0];
    let token = app.token(user);
    assert_eq!(
        app.issue(&token, a.id, Some("same"))
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(
        error_code(app.issue(&token, b.id, Some("same")).await).await,
        (422, "idempotency_key_reused".into())
    );
    assert_eq!(app.coupon_count(b.id).await, 0);
    // Nothing of the refused press is held in the other event.
    assert_eq!(app.redis_remaining(b.id).await, Some(10));
    assert_eq!(app.redis_pending(b.id).await, 0);
    assert_eq!(
        app.issue(&token, b.id, Some("fresh"))
            .await
            .status()
            .as_u16(),
        201,
        "the user's own place in the other event is free"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_and_stock_decide_the_error_codes() {
    let app = spawn_app().await;
    let now = chrono::Utc::now();
    let early = app
        .create_event_at(
            10,
            1,
            now + chrono::Duration::hours(1),
            now + chrono::Duration::hours(2),
        )
        .await;
    let over = app
        .create_event_at(
            10,
            1,
            now - chrono::Duration::hours(2),
            now - chrono::Duration::hours(1),
        )
        .await;
    let tiny = app.create_event(1, 1).await;
    let users = app.create_users(2).await;
    let (t1, t2) = (app.token(users[0]), app.token(users[1]));

    assert_eq!(
        error_code(app.issue(&t1, early.id, None).await).await,
        (409, "event_not_started".into())
    );
    assert_eq!(
        error_code(app.issue(&t1, over.id, None).await).await,
        (410, "event_ended".into())
    );
    assert_eq!(
        error_code(app.issue(&t1, 999_999, None).await).await,
        (404, "event_not_found".into())
    );
    let won = app.issue(&t1, tiny.id, None).await;
    assert_eq!(won.status().as_u16(), 201);
    let body: serde_json::Value = won.json().await.unwrap();
    assert_eq!(body["remaining"], 0);
    for field in [
        "id",
        "code",
        "event_id",
        "issued_at",
        "expires_at",
        "discount_type",
        "discount_value",
        "min_purchase_amount",
        "status",
    ] {
        assert!(
            !body["coupon"][field].is_null(),
            "coupon.{field} present: {body}"
        );
    }
    assert!(
        body["coupon"]["code"]
            .as_str()
            .unwrap()
            .starts_with("TEST-")
    );
    assert_eq!(
        error_code(app.issue(&t2, tiny.id, None).await).await,
        (410, "sold_out".into())
    );
    for e in [early.id, over.id] {
        assert_eq!(app.coupon_count(e).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_sold_out_the_losers_are_answered_without_redis_keyed_or_not_but_a_winners_retry_still_asks_it()
 {
    let app = spawn_app_with(
        Faults {
            redis: true,
            ..Faults::default()
        },
        |s| {
            s.redis.timeout_ms = 500;
            // Long enough that the memory cannot expire during the test.
            s.issuance.sold_out_memo_ms = 60_000;
        },
    )
    .await;
    let proxy = app.redis_proxy.as_ref().unwrap();
    let event = app.create_event(1, 1).await;
    let users = app.create_users(2).await;
    let (winner, loser) = (app.token(users[0]), app.token(users[1]));
    let won = app.issue(&winner, event.id, Some("first")).await;
    assert_eq!(won.status().as_u16(), 201);
    let won: serde_json::Value = won.json().await.unwrap();
    assert_eq!(
        error_code(app.issue(&loser, event.id, None).await).await,
        (410, "sold_out".into())
    );
    // A keyed press (as the sale page sends) reads who holds a slot once.
    assert_eq!(
        error_code(app.issue(&loser, event.id, Some("loser-1")).await).await,
        (410, "sold_out".into())
    );

    // Redis said sold_out once: the crowd is answered from memory now,
    // keyed presses of users holding no slot too (the holders were read
    // within the last second).
    proxy.cut();
    assert_eq!(
        error_code(app.issue(&loser, event.id, None).await).await,
        (410, "sold_out".into()),
        "the memory answers while Redis is unreachable"
    );
    assert_eq!(
        error_code(app.issue(&loser, event.id, Some("loser-2")).await).await,
        (410, "sold_out".into()),
        "a keyed press of a user holding no slot is answered from memory"
    );
    // A retry with an Idempotency-Key must get its coupon back, so it asks
    // Redis (down here: 503, never a wrong sold_out).
    assert_eq!(
        error_code(app.issue(&winner, event.id, Some("first")).await).await,
        (503, "unavailable".into())
    );
    proxy.restore();
    eventually(
        Duration::from_secs(10),
        "the retry gets the first coupon",
        || async {
            let again = app.issue(&winner, event.id, Some("first")).await;
            again.status().as_u16() == 201
                && again.json::<serde_json::Value>().await.unwrap()["coupon"] == won["coupon"]
        },
    )
    .await;
    assert_eq!(app.coupon_count(event.id).await, 1);
}

/// Group-commit batches that span several events update those events' rows
/// in one transaction; two writers taking the same rows in different orders
/// deadlock, and every buyer of the losing batch gets a 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_events_selling_at_once_never_deadlock_the_group_commit() {
    let app = spawn_app_with(Faults::default(), |s| {
        s.issuance.writers = 4;
        s.issuance.batch_max = 32;
        s.rate_limit.issue_per_second = 1000;
        s.rate_limit.issue_burst = 1000;
    })
    .await;
    let mut events = Vec::new();
    for _ in 0..6 {
        events.push(app.create_event(100_000, 50).await.id);
    }
    let users = app.create_users(150).await;
    let tokens: Vec<String> = users.iter().map(|u| app.token(*u)).collect();

    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for round in 0..8 {
        // Every user presses on every event at once, each user in its own
        // order, so batches hold the same events in many orders.
        let presses = tokens
            .iter()
            .enumerate()
            .flat_map(|(i, t)| (0..events.len()).map(move |k| (t, (i + k * (round + 1)) % 6)));
        let answers = join_all(presses.map(|(t, k)| {
            let event_id = events[k];
            let app = &app;
            async move { app.issue(t, event_id, None).await.status().as_u16() }
        }))
        .await;
        for status in answers {
            *statuses.entry(status).or_default() += 1;
        }
    }
    assert_eq!(
        statuses,
        HashMap::from([(201, 8 * 6 * users.len())]),
        "every press is a coupon: no batch failed"
    );
    for event_id in events {
        assert_eq!(app.coupon_count(event_id).await, 8 * users.len() as i64);
    }
}

/// A keyed press (the sale page sends a key with every press) that reserves
/// nothing leaves nothing in Redis: a crowd refused for hours would
/// otherwise fill it with one key binding per press.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_keyed_presses_leave_no_keys_in_redis_and_a_sold_out_sale_answers_them_from_memory()
{
    use contract::redis_keys::{EventKeys, idempotency_binding};
    use coupon_service::issuance::idempotency::hash;

    let app = spawn_app_with(Faults::default(), |s| {
        s.issuance.sold_out_memo_ms = 60_000;
    })
    .await;
    let now = chrono::Utc::now();
    let sold = app.create_event(1, 1).await;
    let ended = app
        .create_event_at(
            5,
            1,
            now - chrono::Duration::hours(2),
            now - chrono::Duration::hours(1),
        )
        .await;
    let early = app
        .create_event_at(
            5,
            1,
            now + chrono::Duration::hours(1),
            now + chrono::Duration::hours(2),
        )
        .await;
    let users = app.create_users(2).await;
    let (winner, loser) = (app.token(users[0]), app.token(users[1]));
    assert_eq!(
        app.issue(&winner, sold.id, Some("win"))
            .await
            .status()
            .as_u16(),
        201
    );
    let refused = [
        (sold.id, "sold", 410, "sold_out"),
        (sold.id, "sold-again", 410, "sold_out"),
        (ended.id, "late", 410, "event_ended"),
        (early.id, "early", 409, "event_not_started"),
    ];
    for (event_id, key, status, code) in refused {
        assert_eq!(
            error_code(app.issue(&loser, event_id, Some(key)).await).await,
            (status, code.to_owned()),
            "{key}"
        );
    }
    // The winner's second key in the same sale: over the limit, and sold out.
    assert_eq!(
        error_code(app.issue(&winner, sold.id, Some("twice")).await).await,
        (410, "sold_out".into())
    );

    let mut c = test_support::redis_connection().await;
    for (user, key, event_id) in [
        (users[1], "sold", sold.id),
        (users[1], "sold-again", sold.id),
        (users[1], "late", ended.id),
        (users[1], "early", early.id),
        (users[0], "twice", sold.id),
    ] {
        let binding = idempotency_binding(&app.redis_prefix, user, &hash(key));
        let record = EventKeys::new(&app.redis_prefix, event_id).idempotency(user, &hash(key));
        for k in [binding, record] {
            let exists: bool = redis::cmd("EXISTS")
                .arg(&k)
                .query_async(&mut c)
                .await
                .unwrap();
            assert!(!exists, "a refused keyed press left {k} behind");
        }
    }
    // The key that won is bound, and its retry still gets the coupon back
    // although the sale is remembered as sold out.
    let binding = idempotency_binding(&app.redis_prefix, users[0], &hash("win"));
    let exists: bool = redis::cmd("EXISTS")
        .arg(&binding)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(exists, "the winning key is bound");
    assert_eq!(
        app.issue(&winner, sold.id, Some("win"))
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(app.coupon_count(sold.id).await, 1);
}
