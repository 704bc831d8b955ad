//! The public event reads (`GET /api/coupons/events[/{id}]`): cached by the
//! gateway under the parameters coupon-service reads, whatever else a client
//! adds, and limited per client address.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::Instant,
};

use serde_json::Value;

use crate::helpers::{GatewayOptions, Stack};

const LIST: &str = r#"route="/api/coupons/events""#;
const ONE: &str = r#"route="/api/coupons/events/{id}""#;

/// Requests both coupon-service instances served on a route.
async fn served(stack: &Stack, route: &str) -> f64 {
    let mut total = 0.0;
    for instance in &stack.coupons {
        total += stack
            .metric(instance.port, "coupon_http_requests_total", route)
            .await;
    }
    total
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_query_parameters_neither_miss_the_cache_nor_reach_coupon_service() {
    let stack = Stack::start().await;
    let event = stack.create_event(10, 1).await;
    let (list_before, one_before) = (served(&stack, LIST).await, served(&stack, ONE).await);
    let started = Instant::now();

    // A script busting the cache: a fresh junk parameter on every request,
    // the known ones in any order and with leading zeros.
    for i in 0..40 {
        let junk = uuid::Uuid::new_v4().simple().to_string();
        let query = match i % 3 {
            0 => format!("status=ended&size=100&_={junk}"),
            1 => format!("size=100&utm_source={junk}&status=ended"),
            _ => format!("status=ended&size=0100&{junk}=1"),
        };
        let (status, body) = get(
            &stack.http,
            &stack.url(&format!("/api/coupons/events?{query}")),
        )
        .await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(
            (body["page"].as_i64(), body["size"].as_i64()),
            (Some(1), Some(100)),
            "{query}"
        );
        let url = stack.url(&format!("/api/coupons/events/{event}?_={junk}"));
        let (status, body) = get(&stack.http, &url).await;
        assert_eq!((status, body["id"].as_i64()), (200, Some(event)), "{body}");
    }
    let elapsed = started.elapsed();
    let list = served(&stack, LIST).await - list_before;
    let one = served(&stack, ONE).await - one_before;

    // One request per key upstream, each kept a second.
    let allowed = 1.0 + elapsed.as_secs_f64().ceil();
    assert!(
        list <= allowed && one <= allowed,
        "{list} list and {one} event reads upstream for 40 requests each in {elapsed:?} (allowed {allowed})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spelling_of_the_parameters_puts_one_lists_answer_under_anothers_key() {
    let stack = Stack::start().await;
    // A live sale: in the current list (the default), not in the ended one.
    stack.create_event(10, 1).await;
    let total = |body: &Value| body["total"].as_i64();

    // Each attempt comes first, on a key nobody has read yet. coupon-service
    // ignores `Status` and decodes `%73tatus` to `status`: a gateway that
    // keyed these by its own reading of the query would keep the live list
    // under `status=ended` and the ended list under the default.
    get(
        &stack.http,
        &stack.url("/api/coupons/events?Status=ended&status=live&size=8"),
    )
    .await;
    let (_, ended) = get(
        &stack.http,
        &stack.url("/api/coupons/events?status=ended&size=8"),
    )
    .await;
    assert_eq!(total(&ended), Some(0), "the ended list: {ended}");

    get(
        &stack.http,
        &stack.url("/api/coupons/events?%73tatus=ended&size=7"),
    )
    .await;
    let (_, current) = get(&stack.http, &stack.url("/api/coupons/events?size=7")).await;
    assert_eq!(total(&current), Some(1), "the current list: {current}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_event_reads_are_limited_per_client_address_with_429() {
    let stack = Stack::start().await;
    let event = stack.create_event(10, 1).await;
    let strict = stack
        .extra_gateway(
            "events-limit",
            GatewayOptions {
                // One a minute: nothing refills while the test runs.
                events_rate: "1r/m".into(),
                events_burst: 2,
                ..stack.gateway_options()
            },
        )
        .await;
    let url = |path: &str| format!("https://localhost:{}{path}", strict.port);
    // Addresses the gateway's own start-up check did not use.
    let greedy = stack.client_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)));
    let neighbour = stack.client_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4)));

    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(get(&greedy, &url("/api/coupons/events")).await.0);
    }
    // 1 + burst pass (cached or not), then 429, the list and one event alike.
    assert_eq!(statuses, [200, 200, 200, 429, 429], "{statuses:?}");
    let response = greedy
        .get(url(&format!("/api/coupons/events/{event}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 429);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");

    // Another address has its own allowance.
    assert_eq!(get(&neighbour, &url("/api/coupons/events")).await.0, 200);
    assert_eq!(
        get(&neighbour, &url(&format!("/api/coupons/events/{event}")))
            .await
            .0,
        200
    );
}
