//! The CI smoke run: every scenario at a small size against a real
//! coupon-service and notify-service (started in this process, with their own
//! database, Redis prefix and RabbitMQ names), asserting the invariants only —
//! never a timing.

use std::{sync::Arc, time::Duration};

use loadtest::{
    scenarios,
    target::{Target, TargetConfig},
};
use secrecy::SecretString;
use test_support::{
    TEST_PRIVATE_KEY, TEST_PRIVATE_KEY_PATH, TEST_PUBLIC_KEY_PATH, TestScope, eventually,
};

struct Stack {
    target: Arc<Target>,
    /// The target's configuration (keyed presses, the web client's way).
    config: TargetConfig,
    notify_pid: u32,
    /// Last: the database, Redis keys and RabbitMQ names go with the stack.
    _scope: TestScope,
}

async fn start_stack() -> Stack {
    let scope = TestScope::with_database().await;
    let database_url = scope.database_url(5432);
    let prefix = scope.redis_prefix.clone();
    let topology = &scope.topology;

    let mut coupon = coupon_service::configuration::Settings::defaults().expect("defaults");
    coupon.application.port = 0;
    coupon.application.workers = 2;
    coupon.database.url = SecretString::from(database_url.clone());
    coupon.redis.key_prefix = prefix.clone();
    coupon.rabbitmq.exchange.clone_from(&topology.exchange);
    coupon
        .rabbitmq
        .dead_letter_exchange
        .clone_from(&topology.dead_letter_exchange);
    coupon
        .rabbitmq
        .queue_prefix
        .clone_from(&topology.queue_prefix);
    coupon.rabbitmq.queue_type.clone_from(&topology.queue_type);
    coupon.rabbitmq.queue_expires_ms = topology.queue_expires_ms;
    coupon.auth.public_key_path = TEST_PUBLIC_KEY_PATH.into();
    coupon.auth.private_key_path = Some(TEST_PRIVATE_KEY_PATH.into());
    coupon.rate_limit.issue_per_second = 100_000;
    coupon.rate_limit.issue_burst = 100_000;
    coupon.log.level = "warn".into();

    let mut notify = notify_service::configuration::Settings::defaults().expect("defaults");
    notify.application.port = 0;
    notify.application.workers = 2;
    notify.redis.key_prefix = prefix.clone();
    notify.rabbitmq.exchange = coupon.rabbitmq.exchange.clone();
    notify.rabbitmq.dead_letter_exchange = coupon.rabbitmq.dead_letter_exchange.clone();
    notify.rabbitmq.queue_prefix = coupon.rabbitmq.queue_prefix.clone();
    notify.rabbitmq.queue_type.clone_from(&topology.queue_type);
    notify.rabbitmq.queue_expires_ms = topology.queue_expires_ms;
    notify.auth.public_key_path = coupon.auth.public_key_path.clone();
    // The crowd comes from 127.0.0.2… with X-Forwarded-For, as if through
    // a gateway (see scenarios/crowd.rs).
    notify.websocket.trusted_proxies = vec!["127.0.0.0/8".into()];
    notify.log.level = "warn".into();

    let coupon_app = coupon_service::startup::Application::build(coupon)
        .await
        .expect("coupon-service");
    let api_url = format!("http://127.0.0.1:{}", coupon_app.port());
    tokio::spawn(coupon_app.run_until_stopped());
    notify.coupon_api.url = api_url.clone();
    let notify_app = notify_service::startup::Application::build(notify)
        .await
        .expect("notify-service");
    let notify_port = notify_app.port();
    tokio::spawn(notify_app.run_until_stopped());

    let client = reqwest::Client::new();
    for url in [
        format!("{api_url}/readyz"),
        format!("http://127.0.0.1:{notify_port}/readyz"),
    ] {
        eventually(Duration::from_secs(30), &format!("{url} ready"), || async {
            client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }
    let config = TargetConfig {
        api_url,
        ws_url: format!("ws://127.0.0.1:{notify_port}/ws"),
        database_url,
        redis_url: "redis://127.0.0.1:6379".into(),
        redis_prefix: prefix,
        private_key_pem: TEST_PRIVATE_KEY.to_vec(),
        key_id: "dev-1".into(),
        issuer: "coupon-platform".into(),
        audience: "coupon-api".into(),
        ca_cert_pem: None,
        keyed: true,
    };
    let target = Target::connect(config.clone(), 200).await.expect("target");
    Stack {
        target: Arc::new(target),
        config,
        notify_pid: std::process::id(),
        _scope: scope,
    }
}

/// One sale shared by two crowds and a seller, as `scripts/bench
/// crowd-spread` runs them in processes of their own: each crowd says when
/// it is open, the seller sells out and writes the time of its last 201, and
/// each crowd writes every socket's latency from that time.
async fn shared_sale(t: &Arc<Target>, notify_pid: u32) -> Vec<scenarios::ScenarioReport> {
    let admin = loadtest::setup::admin_token(t).await.expect("admin");
    let event = loadtest::setup::event(t, &admin, 5, 1)
        .await
        .expect("event");
    let dir = std::env::temp_dir().join(format!("flashload-smoke-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sold_at = dir.join("sold-at");
    let crowds: Vec<_> = (0..2_usize)
        .map(|part| {
            let crowd = scenarios::crowd::Crowd {
                connections: 30,
                // Part 1 all signed in: the anonymous of both parts would
                // share households on this one instance.
                plan: scenarios::crowd::Plan::with_offset(
                    if part == 0 { 0.2 } else { 1.0 },
                    2,
                    2 * part,
                )
                .expect("plan"),
                stock: 5,
                notify_pids: vec![notify_pid],
                shared: Some(scenarios::crowd::SharedSale {
                    event_id: event,
                    sold_at_file: sold_at.clone(),
                    within: Duration::from_secs(60),
                }),
                ready_file: Some(dir.join(format!("ready-{part}"))),
                latencies_file: Some(dir.join(format!("latencies-{part}"))),
            };
            let t = t.clone();
            tokio::spawn(async move { scenarios::crowd::run(&t, &crowd).await })
        })
        .collect();
    eventually(Duration::from_secs(60), "both crowds open", || async {
        (0..2).all(|part| {
            std::fs::read_to_string(dir.join(format!("ready-{part}"))).is_ok_and(|r| r == "30 30\n")
        })
    })
    .await;
    let seller = scenarios::crowd::sell(t, event, &sold_at)
        .await
        .expect("seller");
    assert_eq!(
        seller.outcomes.get("201"),
        Some(&5),
        "{:?}",
        seller.outcomes
    );
    let mut reports = vec![seller];
    for (part, crowd) in crowds.into_iter().enumerate() {
        let report = crowd.await.expect("crowd task").expect("crowd");
        assert_eq!(
            report.latency.count, 30,
            "every socket of part {part} got sold-out"
        );
        let latencies =
            std::fs::read_to_string(dir.join(format!("latencies-{part}"))).expect("latencies file");
        let parsed: Vec<f64> = latencies
            .lines()
            .map(|l| l.parse().expect("milliseconds"))
            .collect();
        assert_eq!(parsed.len(), 30, "{latencies}");
        assert!(
            parsed.iter().all(|ms| (0.0..15_000.0).contains(ms)),
            "{parsed:?}"
        );
        reports.push(report);
    }
    let _ = std::fs::remove_dir_all(&dir);
    reports
}

/// The idempotency keys bound under the test's prefix (one per key that
/// won a reservation).
async fn idempotency_bindings(t: &Target) -> usize {
    let mut c = t
        .redis
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let pattern = format!("{}idem:{{user:*", t.config.redis_prefix);
    let mut cursor: u64 = 0;
    let mut n = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1_000)
            .query_async(&mut c)
            .await
            .expect("scan");
        n += keys.len();
        if next == 0 {
            return n;
        }
        cursor = next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_at_a_small_size_keeps_every_invariant() {
    let stack = start_stack().await;
    let t = &stack.target;
    // Keyed by default, as the web client presses: every press carried a
    // key, and the server saw them (each winner's key is bound to the
    // event in Redis: exactly the 100 winners', the first sale of the
    // test's prefix).
    let sellout = scenarios::sellout::run(t, 300, 100, 100)
        .await
        .expect("sellout");
    assert_eq!(t.presses().get(), (300, 0), "every press keyed");
    assert_eq!(
        idempotency_bindings(t).await,
        100,
        "the server bound each winner's key"
    );
    let reports = vec![
        sellout,
        scenarios::sustained::run(t, 50, 20, Duration::from_secs(2), None)
            .await
            .expect("sustained"),
        scenarios::rejections::run(t, 50, 20, Duration::from_secs(1), None)
            .await
            .expect("rejections"),
        scenarios::watchers::run(t, 100, 5).await.expect("watchers"),
        scenarios::push::run(t, 30, 30, None).await.expect("push"),
        scenarios::idle::run(t, 20, &[stack.notify_pid])
            .await
            .expect("idle"),
        scenarios::crowd::run(
            t,
            &scenarios::crowd::Crowd {
                connections: 60,
                plan: scenarios::crowd::Plan::new(0.2, 2).expect("plan"),
                stock: 5,
                notify_pids: vec![stack.notify_pid],
                shared: None,
                ready_file: None,
                latencies_file: None,
            },
        )
        .await
        .expect("crowd"),
    ];
    // Paced: 100 requests/s offered for 2 s is about 200 requests, not as
    // many as the stack would answer back to back.
    let paced = scenarios::sustained::run(t, 50, 20, Duration::from_secs(2), Some(100.0))
        .await
        .expect("paced sustained");
    assert!(
        (150..=230).contains(&paced.requests),
        "paced at 100/s for 2 s, sent {}",
        paced.requests
    );
    // The canary of `sustained` got its push (the run fails otherwise) and
    // the backlog is reported.
    assert!(
        reports[1].extra["push_after_run_secs"].is_number()
            && reports[1].extra["outbox_unpublished_at_end"].is_number(),
        "{}",
        reports[1].extra
    );
    // Paced push: 30 buyers one after another at 60/s take about half a
    // second, and each still gets the push.
    let paced_push = scenarios::push::run(t, 30, 30, Some(60.0))
        .await
        .expect("paced push");
    assert!(
        paced_push.duration_secs >= 0.45,
        "30 buyers at 60/s took {} s",
        paced_push.duration_secs
    );
    assert_eq!(
        paced_push.latency.count, 30,
        "every paced winner got the push"
    );
    // Losers are refused in Redis, readers read: both ran, none slipped through.
    let losers = scenarios::losers::run(t, 20, 20, Duration::from_secs(1), None)
        .await
        .expect("losers");
    assert!(
        losers
            .outcomes
            .get("409 user_limit_reached")
            .is_some_and(|n| *n > 0),
        "{:?}",
        losers.outcomes
    );
    let reads = scenarios::reads::run(t, 20, Duration::from_secs(1), None)
        .await
        .expect("reads");
    assert!(
        reads.outcomes.get("200").is_some_and(|n| *n > 0),
        "{:?}",
        reads.outcomes
    );
    // Refused keyed presses leave no idempotency record behind; the
    // reading is in the report.
    let rejections = &reports[2];
    assert!(
        rejections.extra["redis_used_memory_before_bytes"].is_u64()
            && rejections.extra["redis_used_memory_after_bytes"].is_u64(),
        "{}",
        rejections.extra
    );
    assert_eq!(
        rejections.extra["redis_idempotency_keys_before"],
        rejections.extra["redis_idempotency_keys_after"],
        "{}",
        rejections.extra
    );
    // --unkeyed: the same scenario without keys, on a target of its own.
    let unkeyed_target = Arc::new(
        Target::connect(
            TargetConfig {
                keyed: false,
                ..stack.config.clone()
            },
            20,
        )
        .await
        .expect("unkeyed target"),
    );
    let unkeyed = scenarios::rejections::run(&unkeyed_target, 50, 20, Duration::from_secs(1), None)
        .await
        .expect("unkeyed rejections");
    // flashload's report says how the presses went.
    let mut collected = loadtest::report::Reports::default();
    collected.push(&unkeyed_target, unkeyed);
    let unkeyed = collected.into_vec().remove(0);
    assert_eq!(unkeyed.parameters["keyed"], false);
    assert_eq!(
        unkeyed.parameters["presses"]["keyed"], 0,
        "{}",
        unkeyed.parameters
    );
    let (keyed_presses, unkeyed_presses) = unkeyed_target.presses().get();
    assert_eq!(
        unkeyed.parameters["presses"]["unkeyed"], unkeyed_presses,
        "{}",
        unkeyed.parameters
    );
    assert!(
        keyed_presses == 0 && unkeyed_presses > 0,
        "unkeyed presses: {keyed_presses} keyed, {unkeyed_presses} unkeyed"
    );
    assert!(
        unkeyed.outcomes.get("410 sold_out").is_some_and(|n| *n > 0),
        "{:?}",
        unkeyed.outcomes
    );
    let shared = shared_sale(t, stack.notify_pid).await;
    let reports: Vec<_> = reports
        .into_iter()
        .chain([paced, paced_push, losers, reads, unkeyed])
        .chain(shared)
        .collect();
    loadtest::report::print_table(&reports);
    for r in &reports {
        assert!(
            r.violations.is_empty(),
            "{}: {:?}",
            r.scenario,
            r.violations
        );
    }
    // The scenarios really ran (a smoke run that did nothing would pass).
    assert_eq!(reports[0].outcomes.get("201"), Some(&100));
    assert!(reports[1].outcomes.get("201").is_some_and(|n| *n > 0));
    assert!(
        reports[2]
            .outcomes
            .get("410 sold_out")
            .is_some_and(|n| *n > 0)
    );
    assert_eq!(reports[3].latency.count, 100, "every watcher got sold-out");
    assert_eq!(reports[4].latency.count, 30, "every winner got the push");
    assert_eq!(
        reports[6].latency.count, 60,
        "every socket of the crowd got sold-out"
    );
    assert_eq!(reports[6].parameters["signed_in"], 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_room_sale_at_a_small_size_keeps_every_invariant() {
    let stack = start_stack().await;
    let report = scenarios::queue::run(
        &stack.target,
        &scenarios::queue::Options {
            users: 40,
            stock: 5,
            sockets: 25,
            concurrency: 20,
            no_show_share: 0.3,
            poll_secs: 1,
            lead_secs: 2,
        },
    )
    .await
    .expect("queue");
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert_eq!(
        report.outcomes.get("201"),
        Some(&40),
        "{:?}",
        report.outcomes
    );
    assert_eq!(report.extra["claimed"], 5, "{}", report.extra);
    assert!(
        report.extra["progress_frames_per_socket_per_sec"]
            .as_f64()
            .is_some_and(|f| f > 0.0 && f <= 1.2),
        "one progress frame a second at most: {}",
        report.extra
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draw_at_a_small_size_keeps_every_invariant() {
    let stack = start_stack().await;
    let report = scenarios::draw::run(
        &stack.target,
        &scenarios::draw::Options {
            users: 40,
            stock: 5,
            sockets: 25,
            concurrency: 20,
            no_show_share: 0.3,
            poll_secs: 1,
            entry_secs: 8,
        },
    )
    .await
    .expect("draw");
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert_eq!(
        report.outcomes.get("201"),
        Some(&40),
        "{:?}",
        report.outcomes
    );
    assert_eq!(report.extra["claimed"], 5, "{}", report.extra);
    assert_eq!(report.extra["entrants"], 40, "{}", report.extra);
    // A no-show's win passes on in a later round.
    let (wins, rounds) = (
        report.extra["wins"].as_u64().unwrap_or(0),
        report.extra["rounds"].as_u64().unwrap_or(0),
    );
    assert!(
        wins >= 5 && rounds >= 1 && (wins == 5 || rounds >= 2),
        "{}",
        report.extra
    );
}
