//! Several events selling at once through the gateway (two instances of
//! each service) to the same crowd: every user presses on every event,
//! several times, all mixed together. No 5xx, and each event's invariants
//! hold in PostgreSQL and Redis afterwards.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use tokio::sync::Semaphore;

use crate::helpers::{ISSUE_ROUTE, Stack, WITHIN, eventually};

/// Presses per user and event.
const PRESSES: i64 = 3;
const USERS: i64 = 60;
/// Requests in flight at once.
const IN_FLIGHT: usize = 128;

struct Sale {
    id: i64,
    total: i64,
    max_per_user: i64,
}

/// What one press got: (user, event, status, coupon code on a 201, body).
type Press = (i64, i64, u16, Option<String>, serde_json::Value);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_events_selling_at_once_to_the_same_crowd_answer_no_5xx_and_keep_every_invariant() {
    let stack = Stack::start().await;
    // Two sell out (the crowd wants more than the stock); on the other two
    // only the per-user limit stops the presses.
    let mut sales = Vec::new();
    for (total, max_per_user) in [(30, 1), (70, 2), (300, 3), (100, 1), (250, 2), (45, 3)] {
        sales.push(Sale {
            id: stack.create_event(total, max_per_user).await,
            total,
            max_per_user,
        });
    }
    let users = stack.create_users(USERS).await;

    // Every press of every user on every event, in a random order, many at
    // once: a user's presses on one event race each other too. Each user
    // has a client (connections) of its own, as a crowd has.
    let url = stack.url("/api/coupons/issue");
    let mut presses = Vec::new();
    for (user_id, token) in &users {
        let client = stack.new_client();
        for sale in &sales {
            for _ in 0..PRESSES {
                let request = client
                    .post(&url)
                    .bearer_auth(token)
                    .json(&serde_json::json!({"event_id": sale.id}));
                presses.push((uuid::Uuid::new_v4(), *user_id, sale.id, request));
            }
        }
    }
    presses.sort_by_key(|(order, ..)| *order);
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let tasks: Vec<_> = presses
        .into_iter()
        .map(|(_, user_id, event_id, request)| {
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("semaphore");
                let response = request.send().await.expect("nginx answers");
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                let code = body["coupon"]["code"].as_str().map(str::to_owned);
                (user_id, event_id, status, code, body)
            })
        })
        .collect();
    let mut results: Vec<Press> = Vec::new();
    for task in tasks {
        results.push(task.await.expect("press task"));
    }

    // Only the answers a sale has: issued, limit reached, sold out.
    let mut tally: BTreeMap<(i64, u16), usize> = BTreeMap::new();
    for (_, event_id, status, _, _) in &results {
        *tally.entry((*event_id, *status)).or_default() += 1;
    }
    eprintln!("(event, status) -> presses: {tally:?}");
    let unexpected: Vec<_> = results
        .iter()
        .filter(|(_, _, status, _, _)| !matches!(status, 201 | 409 | 410))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{} presses answered otherwise (a 503 with \"deadlock detected\" in an \
         instance's log is the group commit's lock order), e.g. {:?}",
        unexpected.len(),
        &unexpected[..unexpected.len().min(5)]
    );
    for (_, _, status, code, body) in &results {
        match status {
            201 => assert!(code.is_some(), "a 201 without a code: {body}"),
            409 => assert_eq!(body["error"]["code"], "user_limit_reached", "{body}"),
            _ => assert_eq!(body["error"]["code"], "sold_out", "{body}"),
        }
    }

    for sale in &sales {
        check_invariants(&stack, sale, &results).await;
    }
    // The crowd went through both coupon-service instances.
    let requests = (USERS * PRESSES) as f64 * sales.len() as f64;
    for instance in &stack.coupons {
        let served = stack
            .metric(instance.port, "coupon_http_requests_total", ISSUE_ROUTE)
            .await;
        assert!(
            served >= requests / 5.0,
            "{} served {served} of {requests} presses",
            instance.name
        );
    }
}

/// The invariants of one event after its sale: coupons ≤ total, stock_seq
/// unique, per user ≤ max_per_user, every 201 a row with that code and
/// every row a 201, exactly the stock gone where it sold out, every user's
/// full allowance where it did not, Redis remaining = total − count.
async fn check_invariants(stack: &Stack, sale: &Sale, results: &[Press]) {
    let rows: Vec<(i64, String, i32)> =
        sqlx::query_as("SELECT user_id, code, stock_seq FROM user_coupons WHERE event_id = $1")
            .bind(sale.id)
            .fetch_all(&stack.db)
            .await
            .expect("coupons of the event");
    let count = rows.len() as i64;
    let what = format!(
        "event {} ({} max {})",
        sale.id, sale.total, sale.max_per_user
    );
    assert!(count <= sale.total, "{what}: {count} coupons");
    let tickets: HashSet<i32> = rows.iter().map(|(_, _, seq)| *seq).collect();
    assert_eq!(tickets.len(), rows.len(), "{what}: a stock_seq twice");
    let mut per_user: HashMap<i64, i64> = HashMap::new();
    for (user_id, _, _) in &rows {
        *per_user.entry(*user_id).or_default() += 1;
    }
    assert!(
        per_user.values().all(|n| *n <= sale.max_per_user),
        "{what}: above the per-user limit: {per_user:?}"
    );
    let committed: HashSet<(i64, &str)> = rows
        .iter()
        .map(|(user_id, code, _)| (*user_id, code.as_str()))
        .collect();
    let answered: Vec<_> = results
        .iter()
        .filter(|(_, event_id, ..)| *event_id == sale.id)
        .collect();
    let issued: Vec<(i64, &str)> = answered
        .iter()
        .filter_map(|(user_id, _, _, code, _)| Some((*user_id, code.as_deref()?)))
        .collect();
    for (user_id, code) in &issued {
        assert!(
            committed.contains(&(*user_id, *code)),
            "{what}: user {user_id} was told {code}, PostgreSQL has no such coupon"
        );
    }
    assert_eq!(issued.len(), rows.len(), "{what}: rows nobody was told of");
    if answered.iter().any(|(_, _, status, ..)| *status == 410) {
        assert_eq!(
            count, sale.total,
            "{what}: sold out before the stock was gone"
        );
    } else {
        assert_eq!(
            count,
            USERS * PRESSES.min(sale.max_per_user),
            "{what}: not sold out, yet not every user got the allowance"
        );
    }
    eventually(WITHIN, "Redis remaining = total - coupons", || async {
        stack.redis_remaining(sale.id).await == Some(sale.total - count)
    })
    .await;
}
