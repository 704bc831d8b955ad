//! Two instances of each service behind nginx: requests and sockets land on
//! both, issuance and push stay correct, and losing a coupon-service
//! instance mid-sale loses no committed coupon.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::future::join_all;
use tokio::sync::Mutex;

use crate::helpers::{ISSUE_ROUTE, Options, Stack, Stop, WITHIN, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_instances_of_each_service_hit_alternately_issuance_and_push_stay_exact() {
    let stack = Stack::start().await;
    let total = 6;
    let event_id = stack.create_event(total, 1).await;
    // Eight users, two devices each, plus two watchers without coupons.
    let users = stack.create_users(8).await;
    let mut devices = Vec::new();
    for (user_id, token) in &users {
        for _ in 0..2 {
            let mut socket = stack.ws(Some(token)).await;
            socket.next_of("welcome").await;
            socket.subscribe(event_id).await;
            devices.push((*user_id, socket));
        }
    }
    let mut watchers = Vec::new();
    for (_, token) in stack.create_users(2).await {
        let mut socket = stack.ws(Some(&token)).await;
        socket.next_of("welcome").await;
        socket.subscribe(event_id).await;
        watchers.push(socket);
    }
    // least_conn spread the sockets over both notify-service instances.
    for instance in &stack.notifies {
        let open = stack
            .metric(instance.port, "notify_ws_connections", "")
            .await;
        assert!(
            open >= 4.0,
            "{} holds {open} of the 18 sockets",
            instance.name
        );
    }

    // One request at a time: nginx alternates between the instances.
    let mut winners = HashMap::new();
    for (user_id, token) in &users {
        let response = stack.issue(token, event_id, None).await.expect("issue");
        match response.status().as_u16() {
            201 => {
                let body: serde_json::Value = response.json().await.expect("JSON");
                winners.insert(
                    *user_id,
                    body["coupon"]["code"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            410 => {}
            other => panic!("issue answered {other}"),
        }
    }
    assert_eq!(winners.len(), total as usize, "exactly the stock is issued");
    for instance in &stack.coupons {
        let served = stack
            .metric(instance.port, "coupon_http_requests_total", ISSUE_ROUTE)
            .await;
        assert!(
            served >= 2.0,
            "{} served {served} of 8 issue requests",
            instance.name
        );
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM user_coupons WHERE event_id = $1")
        .bind(event_id)
        .fetch_one(&stack.db)
        .await
        .expect("count");
    assert_eq!(rows, total);

    // Every device of every winner gets its coupon once (whichever instance
    // consumed the message, whichever holds the socket); losers get none;
    // everybody watching gets the sell-out once.
    for (user_id, socket) in &mut devices {
        if let Some(code) = winners.get(user_id) {
            let pushed = socket.next_of("coupon.issued").await;
            assert_eq!(&pushed["data"]["couponCode"], code.as_str());
        }
        let soldout = socket.next_of("coupon.soldout").await;
        assert_eq!(soldout["data"]["eventId"], event_id);
    }
    for socket in &mut watchers {
        socket.next_of("coupon.soldout").await;
    }
    for (_, socket) in &mut devices {
        let extra = socket
            .drain_of("coupon.issued", Duration::from_millis(300))
            .await;
        assert!(extra.is_empty(), "duplicate or foreign pushes: {extra:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_coupon_service_instance_mid_sale_loses_no_committed_coupon() {
    one_coupon_service_instance_stops_mid_sale(Stop::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_one_coupon_service_instance_gracefully_mid_sale_loses_no_committed_coupon() {
    one_coupon_service_instance_stops_mid_sale(Stop::Terminate).await;
}

/// Eight clients issue through nginx while instance 2 stops a third of the
/// way in: every 201 a client saw is a row in PostgreSQL with that code,
/// never more than the stock, reads fail over, and Redis and PostgreSQL
/// agree on what is left once the stopped instance's reservations settle.
async fn one_coupon_service_instance_stops_mid_sale(how: Stop) {
    // Reservations the killed instance held are settled quickly.
    let stack = Stack::start_with(Options {
        coupon_env: vec![
            ("APP_ISSUANCE__PENDING_TIMEOUT_MS".into(), "2000".into()),
            ("APP_ISSUANCE__SWEEP_INTERVAL_MS".into(), "500".into()),
        ],
        ..Options::default()
    })
    .await;
    let total = 150;
    let event_id = stack.create_event(total, 1).await;
    let users = stack.create_users(200).await;
    let queue = Arc::new(Mutex::new(users.clone()));
    let results = Arc::new(Mutex::new(Vec::new()));
    let stack = Arc::new(Mutex::new(stack));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    // Eight clients issue through nginx; each request carries an
    // Idempotency-Key, and a 502/503 from nginx is retried once with it.
    let http = stack.lock().await.http.clone();
    let url = stack.lock().await.url("/api/coupons/issue");
    let workers = (0..8).map(|_| {
        let (queue, results, http, url, done) = (
            queue.clone(),
            results.clone(),
            http.clone(),
            url.clone(),
            done.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Some((user_id, token)) = queue.lock().await.pop() else {
                    return;
                };
                let key = uuid::Uuid::new_v4().to_string();
                let mut statuses = Vec::new();
                let mut answers = Vec::new();
                let mut code = None;
                for _attempt in 0..2 {
                    let response = http
                        .post(&url)
                        .bearer_auth(&token)
                        .header("Idempotency-Key", &key)
                        .json(&serde_json::json!({"event_id": event_id}))
                        .send()
                        .await
                        .expect("nginx answers");
                    let status = response.status().as_u16();
                    statuses.push(status);
                    // Every answer, nginx's own included, is JSON.
                    let body: serde_json::Value = response.json().await.expect("JSON body");
                    if status == 201 {
                        code = body["coupon"]["code"].as_str().map(str::to_owned);
                    } else {
                        let error = body["error"]["code"].as_str().unwrap_or("?");
                        answers.push(format!("{status} {error}"));
                    }
                    if !matches!(status, 502 | 503) {
                        break;
                    }
                }
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                results
                    .lock()
                    .await
                    .push((user_id, statuses, answers, code));
            }
        })
    });
    let workers: Vec<_> = workers.collect();

    // A third of the way in, coupon-service instance 2 stops.
    eventually(WITHIN, "a third of the requests answered", || {
        let done = done.clone();
        async move { done.load(std::sync::atomic::Ordering::Relaxed) >= 60 }
    })
    .await;
    stack.lock().await.stop_coupon(1, how).await;
    // Reads keep working: nginx passes a GET to the surviving instance.
    let event_url = stack
        .lock()
        .await
        .url(&format!("/api/coupons/events/{event_id}"));
    for _ in 0..10 {
        let response = http.get(&event_url).send().await.expect("GET");
        assert_eq!(response.status(), 200, "a GET failed over");
    }
    for finished in join_all(workers).await {
        finished.expect("client task");
    }

    let mut stack = Arc::try_unwrap(stack)
        .ok()
        .expect("workers are done")
        .into_inner();
    // The stopped instance is really gone (a graceful stop drains, then exits).
    stack.wait_coupon_exit(1, Duration::from_secs(40)).await;
    let results = results.lock().await.clone();
    assert_eq!(results.len(), users.len());
    let mut issued = HashMap::new();
    for (user_id, statuses, _, code) in &results {
        for status in statuses {
            assert!(
                matches!(status, 201 | 410 | 409 | 502 | 503),
                "user {user_id}: unexpected status {status} ({statuses:?})"
            );
        }
        if let Some(code) = code {
            issued.insert(*user_id, code.clone());
        }
    }
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT user_id, code FROM user_coupons WHERE event_id = $1")
            .bind(event_id)
            .fetch_all(&stack.db)
            .await
            .expect("coupons");
    let mut tally: HashMap<Vec<String>, usize> = HashMap::new();
    for (_, _, answers, _) in &results {
        *tally.entry(answers.clone()).or_default() += 1;
    }
    eprintln!(
        "{how:?}: errors seen (per user, with the retry): {tally:?}; 201s: {}; rows: {}",
        issued.len(),
        rows.len()
    );
    let committed: HashMap<i64, String> = rows.iter().cloned().collect();
    assert_eq!(committed.len(), rows.len(), "one coupon per user at most");
    assert!(rows.len() <= total as usize, "never more than the stock");
    // Every 201 a client saw is a committed row with that very code.
    for (user_id, code) in &issued {
        assert_eq!(
            committed.get(user_id),
            Some(code),
            "user {user_id} was told {code} but PostgreSQL holds {:?}",
            committed.get(user_id)
        );
    }
    // The survivor kept issuing after the kill: the stock is gone.
    assert!(
        issued.len() as i64 >= total - 20,
        "only {} of {total} coupons were confirmed to clients",
        issued.len()
    );
    // Reservations the dead instance held are settled: Redis and PostgreSQL
    // agree on what is left.
    let committed_count = rows.len() as i64;
    eventually(
        Duration::from_secs(30),
        "Redis remaining = total - rows",
        || {
            let stack = &stack;
            async move {
                let rows: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM user_coupons WHERE event_id = $1")
                        .bind(event_id)
                        .fetch_one(&stack.db)
                        .await
                        .expect("count");
                stack.redis_remaining(event_id).await == Some(total - rows)
            }
        },
    )
    .await;
    let final_rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM user_coupons WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(&stack.db)
            .await
            .expect("count");
    assert!(final_rows >= committed_count);
}
