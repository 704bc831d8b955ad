//! Faults: a dependency goes away mid-sale. Each test reaches the service it
//! breaks through its own proxy, so the shared servers are never touched.

use std::time::Duration;

use futures::future::join_all;

use crate::helpers::{Faults, error_code, eventually, spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_failing_mid_sale_gives_reservations_back_and_answers_503() {
    let app = spawn_app_with(
        Faults {
            postgres: true,
            ..Faults::default()
        },
        |_| {},
    )
    .await;
    let proxy = app.pg_proxy.as_ref().unwrap();
    let event = app.create_event(300, 1).await;
    let users = app.create_users(300).await;
    let tokens: Vec<String> = users.iter().map(|u| app.token(*u)).collect();

    // First wave succeeds.
    let first: Vec<u16> = join_all(
        tokens[..100]
            .iter()
            .map(|t| async { app.issue(t, event.id, None).await.status().as_u16() }),
    )
    .await;
    assert!(first.iter().all(|s| *s == 201), "{first:?}");

    // PostgreSQL goes away (for the app): the second wave gets 503s.
    proxy.cut();
    let second = join_all(
        tokens[100..200]
            .iter()
            .map(|t| async { error_code(app.issue(t, event.id, None).await).await }),
    )
    .await;
    for (status, code) in &second {
        assert_eq!((*status, code.as_str()), (503, "unavailable"));
    }
    // Every reservation of the failed wave was given back.
    assert_eq!(app.redis_remaining(event.id).await, Some(200));
    assert_eq!(app.redis_pending(event.id).await, 0);

    // Back again: the same users now win, and the books balance.
    proxy.restore();
    let third: Vec<u16> = join_all(
        tokens[100..]
            .iter()
            .map(|t| async { app.issue(t, event.id, None).await.status().as_u16() }),
    )
    .await;
    assert!(third.iter().all(|s| *s == 201), "{third:?}");
    assert_eq!(app.coupon_count(event.id).await, 300);
    assert_eq!(app.redis_remaining(event.id).await, Some(0));
    assert_eq!(app.max_coupons_per_user(event.id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keys_lost_mid_sale_are_rebuilt_from_postgres_without_oversell() {
    let app = spawn_app().await;
    let event = app.create_event(400, 2).await;
    let users = app.create_users(400).await;
    let tokens: Vec<String> = users.iter().map(|u| app.token(*u)).collect();

    let before: Vec<u16> = join_all(
        tokens[..150]
            .iter()
            .map(|t| async { app.issue(t, event.id, None).await.status().as_u16() }),
    )
    .await;
    assert!(before.iter().all(|s| *s == 201));

    // Redis forgets the event while requests keep coming.
    let flood = join_all(
        tokens
            .iter()
            .chain(tokens.iter())
            .map(|t| async { app.issue(t, event.id, None).await.status().as_u16() }),
    );
    let flush = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        app.flush_event_keys(event.id).await;
    };
    let (statuses, ()) = tokio::join!(flood, flush);
    assert!(
        statuses.iter().all(|s| [201, 409, 410, 503].contains(s)),
        "{statuses:?}"
    );

    // Finish the sale: every user keeps asking until the stock is gone.
    for _ in 0..5 {
        join_all(
            tokens
                .iter()
                .map(|t| async { app.issue(t, event.id, None).await.status().as_u16() }),
        )
        .await;
    }
    let count = app.coupon_count(event.id).await;
    assert_eq!(count, 400, "sold exactly the stock");
    assert!(app.max_coupons_per_user(event.id).await <= 2);
    eventually(
        Duration::from_secs(5),
        "Redis agrees with PostgreSQL",
        || async {
            app.redis_remaining(event.id).await == Some(0) && app.redis_pending(event.id).await == 0
        },
    )
    .await;
    let seqs: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT stock_seq) FROM user_coupons WHERE event_id = $1",
    )
    .bind(event.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(seqs, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_unreachable_does_not_stop_issuance_and_the_outbox_catches_up() {
    let app = spawn_app_with(
        Faults {
            rabbitmq: true,
            ..Faults::default()
        },
        |_| {},
    )
    .await;
    let proxy = app.amqp_proxy.as_ref().unwrap();
    let event = app.create_event(50, 1).await;
    let users = app.create_users(50).await;
    // Let the relay declare the queues once, then take the broker away.
    app.relay_connected().await;
    proxy.cut();
    eventually(Duration::from_secs(10), "relay notices", || async {
        !app.state.relay.is_up()
    })
    .await;

    let statuses = app.issue_once_each(&users, event.id).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE published_at IS NULL \
         AND routing_key IN ('coupon.issued', 'coupon.soldout')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(waiting, 51, "50 issued + 1 soldout wait in the outbox");

    proxy.restore();
    app.outbox_published(Duration::from_secs(30)).await;
    assert_eq!(app.drain_queue("coupon.issued").await.len(), 50);
    assert_eq!(app.drain_queue("coupon.soldout").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503_quickly_and_recovers() {
    let app = spawn_app_with(
        Faults {
            redis: true,
            ..Faults::default()
        },
        |s| s.redis.timeout_ms = 500,
    )
    .await;
    let proxy = app.redis_proxy.as_ref().unwrap();
    let event = app.create_event(10, 1).await;
    let users = app.create_users(2).await;
    assert_eq!(
        app.issue(&app.token(users[0]), event.id, None)
            .await
            .status()
            .as_u16(),
        201
    );

    proxy.cut();
    let started = std::time::Instant::now();
    assert_eq!(
        error_code(app.issue(&app.token(users[1]), event.id, None).await).await,
        (503, "unavailable".into())
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "503 within the Redis deadline"
    );
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);

    proxy.restore();
    eventually(Duration::from_secs(10), "issuing again", || async {
        app.issue(&app.token(users[1]), event.id, None)
            .await
            .status()
            .as_u16()
            == 201
    })
    .await;
    assert_eq!(app.coupon_count(event.id).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cut_during_a_wave_loses_no_acknowledged_coupon_and_redis_converges() {
    let app = spawn_app_with(
        Faults {
            postgres: true,
            ..Faults::default()
        },
        |s| {
            // Ambiguous commits are left to the sweeper: make it quick here.
            s.issuance.pending_timeout_ms = 500;
            s.issuance.sweep_interval_ms = 200;
        },
    )
    .await;
    let proxy = app.pg_proxy.as_ref().unwrap();
    let event = app.create_event(1000, 1).await;
    let users = app.create_users(600).await;
    let tokens: Vec<String> = users.iter().map(|u| app.token(*u)).collect();

    let wave = join_all(tokens.iter().map(|t| async {
        let r = app.issue(t, event.id, None).await;
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().await.unwrap())
    }));
    let cut = async {
        tokio::time::sleep(Duration::from_millis(40)).await;
        proxy.cut();
    };
    let (responses, ()) = tokio::join!(wave, cut);
    proxy.restore();

    let won: Vec<i64> = responses
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b["coupon"]["id"].as_i64().unwrap())
        .collect();
    assert!(
        responses.iter().all(|(s, _)| *s == 201 || *s == 503),
        "only 201 or 503"
    );
    println!("cut mid-wave: {} of 600 answered 201", won.len());
    // Invariant 3: every 201 the client saw is a row.
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM user_coupons WHERE id = ANY($1)")
        .bind(&won)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, won.len() as i64, "no acknowledged coupon is lost");
    // Invariant 5: Redis converges on PostgreSQL (given back or swept).
    eventually(
        Duration::from_secs(15),
        "Redis remaining = total - rows, nothing pending",
        || async {
            let count = app.coupon_count(event.id).await;
            app.redis_pending(event.id).await == 0
                && app.redis_remaining(event.id).await == Some(1000 - count)
        },
    )
    .await;
    assert!(app.max_coupons_per_user(event.id).await <= 1);
}

/// An app reaching Redis through a cuttable proxy, with this Redis
/// deadline, an event on sale, and users of whom the first got a coupon.
async fn selling_through_a_redis_proxy(
    timeout_ms: u64,
    users: i64,
) -> (crate::helpers::TestApp, i64, Vec<i64>) {
    let app = spawn_app_with(
        Faults {
            redis: true,
            ..Faults::default()
        },
        |s| s.redis.timeout_ms = timeout_ms,
    )
    .await;
    let event = app.create_event(100, 1).await;
    let users = app.create_users(users).await;
    let first = app.issue(&app.token(users[0]), event.id, None).await;
    assert_eq!(first.status().as_u16(), 201);
    (app, event.id, users)
}

/// Issues once per user, all at once; each answer with its duration.
async fn timed_issues(
    app: &crate::helpers::TestApp,
    users: &[i64],
    event_id: i64,
) -> Vec<((u16, String), Duration)> {
    join_all(users.iter().map(|u| async move {
        let started = std::time::Instant::now();
        let answer = error_code(app.issue(&app.token(*u), event_id, None).await).await;
        (answer, started.elapsed())
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_known_unreachable_buyers_get_503_in_milliseconds() {
    let (app, event_id, users) = selling_through_a_redis_proxy(1000, 60).await;
    let proxy = app.redis_proxy.as_ref().unwrap();

    proxy.cut();
    // The first callers after the cut find it out (within their deadline).
    eventually(Duration::from_secs(5), "a fast 503", || async {
        let started = std::time::Instant::now();
        let answer = error_code(app.issue(&app.token(users[1]), event_id, None).await).await;
        answer == (503, "unavailable".into()) && started.elapsed() < Duration::from_millis(100)
    })
    .await;
    for (answer, took) in timed_issues(&app, &users[2..], event_id).await {
        assert_eq!(answer, (503, "unavailable".into()));
        assert!(
            took < Duration::from_millis(250),
            "503 after {took:?}, not at once"
        );
    }

    proxy.restore();
    eventually(Duration::from_secs(10), "issuing again", || async {
        app.issue(&app.token(users[1]), event_id, None)
            .await
            .status()
            .as_u16()
            == 201
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_already_waiting_when_redis_is_found_unreachable_get_503_then() {
    let (app, event_id, users) = selling_through_a_redis_proxy(1000, 3).await;
    let proxy = app.redis_proxy.as_ref().unwrap();

    // Redis hangs: the first buyer waits out the deadline. Meanwhile it
    // becomes unreachable (refused), and a second buyer arrives before the
    // first one's timeout makes the probe find that out.
    proxy.stall();
    let first = timed_issues(&app, &users[1..2], event_id);
    let second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        proxy.cut();
        tokio::time::sleep(Duration::from_millis(200)).await;
        timed_issues(&app, &users[2..3], event_id).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first[0].0, (503, "unavailable".into()));
    let (answer, took) = &second[0];
    assert_eq!(*answer, (503, "unavailable".into()));
    // Found out ~500 ms into the second buyer's wait, not at its deadline.
    assert!(
        *took < Duration::from_millis(800),
        "503 after {took:?}: waited out the deadline after Redis was known unreachable"
    );

    proxy.restore();
    eventually(Duration::from_secs(10), "issuing again", || async {
        app.issue(&app.token(users[1]), event_id, None)
            .await
            .status()
            .as_u16()
            == 201
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_keeps_the_deadline_rather_than_failing_at_once() {
    let (app, event_id, users) = selling_through_a_redis_proxy(300, 10).await;
    let proxy = app.redis_proxy.as_ref().unwrap();

    proxy.stall();
    // A hung Redis may still answer: every caller waits out its deadline,
    // also after the probe has had time to run.
    timed_issues(&app, &users[1..2], event_id).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    for (answer, took) in timed_issues(&app, &users[2..], event_id).await {
        assert_eq!(answer, (503, "unavailable".into()));
        assert!(
            took >= Duration::from_millis(250),
            "503 after {took:?}: failed fast on a hung Redis"
        );
    }

    proxy.restore();
    eventually(Duration::from_secs(10), "issuing again", || async {
        app.issue(&app.token(users[1]), event_id, None)
            .await
            .status()
            .as_u16()
            == 201
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserve_that_ran_without_an_answer_does_not_hold_the_buyers_place() {
    let app = spawn_app_with(
        Faults {
            redis: true,
            ..Faults::default()
        },
        |s| {
            s.redis.timeout_ms = 500;
            // Not the sweeper's doing: it would wait two minutes.
            s.issuance.pending_timeout_ms = 120_000;
        },
    )
    .await;
    let proxy = app.redis_proxy.as_ref().unwrap();
    let event = app.create_event(10, 1).await;
    let users = app.create_users(2).await;
    assert_eq!(app.issue_once_each(&users[..1], event.id).await, [201]);
    let token = app.token(users[1]);

    // The press reaches Redis and reserves; the answer never comes back.
    proxy.freeze_downstream();
    assert_eq!(
        error_code(app.issue(&token, event.id, None).await).await,
        (503, "unavailable".into())
    );
    eventually(Duration::from_secs(5), "the call ran in Redis", || async {
        app.redis_pending(event.id).await == 1
    })
    .await;

    // Redis answers again: the buyer, told 503, presses again and wins —
    // not 409 user_limit_reached for the unit their lost call took.
    proxy.restore();
    eventually(Duration::from_secs(10), "the buyer's coupon", || async {
        app.issue(&token, event.id, None).await.status().as_u16() == 201
    })
    .await;
    assert_eq!(app.coupon_count(event.id).await, 2);
    assert_eq!(app.max_coupons_per_user(event.id).await, 1);
    eventually(Duration::from_secs(5), "nothing left pending", || async {
        app.redis_pending(event.id).await == 0 && app.redis_remaining(event.id).await == Some(8)
    })
    .await;
}

#[tokio::test]
async fn a_loaded_event_is_not_read_again_from_postgres_to_make_sure_it_is_loaded() {
    let app = spawn_app_with(
        Faults {
            postgres: true,
            ..Faults::default()
        },
        |_| {},
    )
    .await;
    let event = app.create_event(10, 1).await;
    let (redis, db) = (&app.state.redis, &app.state.db);
    assert!(
        coupon_service::issuance::rebuild::ensure_loaded(redis, db, event.id)
            .await
            .expect("loads")
    );
    // Loaded: asking again (a waiting room's tick does, every second)
    // needs no PostgreSQL at all.
    app.pg_proxy.as_ref().unwrap().cut();
    let again = coupon_service::issuance::rebuild::ensure_loaded(redis, db, event.id).await;
    app.pg_proxy.as_ref().unwrap().restore();
    assert!(
        matches!(again, Ok(true)),
        "a loaded event read PostgreSQL again: {again:?}"
    );
}
