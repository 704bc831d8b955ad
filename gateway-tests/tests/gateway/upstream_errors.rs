//! What the gateway does with an instance's 503: the client gets it as the
//! instance wrote it, and the instance stays in the pool. Only connection
//! failures and timeouts take an instance out, so a request that fails on
//! every instance, or a moment without PostgreSQL, is not turned into
//! seconds of nginx answering for everyone.

use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};

use crate::helpers::{Options, Stack, WITHIN, eventually};

/// The body of nginx's own 503 (@unavailable), as opposed to an instance's.
const NGINX_UNAVAILABLE: &str = "The service is unavailable; retry shortly.";

/// What a test sends on every route: who signs the requests, what exists.
struct Caller {
    token: String,
    admin: String,
    event_id: i64,
    /// Fresh users for issuance, one per request (no per-user limit hit).
    buyers: Vec<String>,
}

/// The public routes, issuance included.
const ROUTES: [&str; 7] = [
    "GET /api/coupons/events",
    "GET /api/coupons/events/{id}",
    "GET /api/coupons/my",
    "GET /api/admin/events",
    "GET /api/auth/jwks",
    "GET /.well-known/jwks.json",
    "POST /api/coupons/issue",
];

/// A request on `route` and the status it answers when the instance is well.
fn request(stack: &Stack, caller: &mut Caller, route: &str) -> (u16, RequestBuilder) {
    let get = |path: &str| stack.http.get(stack.url(path));
    match route {
        "GET /api/coupons/events" => (200, get("/api/coupons/events")),
        "GET /api/coupons/events/{id}" => (
            200,
            get(&format!("/api/coupons/events/{}", caller.event_id)),
        ),
        "GET /api/coupons/my" => (200, get("/api/coupons/my").bearer_auth(&caller.token)),
        "GET /api/admin/events" => (200, get("/api/admin/events").bearer_auth(&caller.admin)),
        "GET /api/auth/jwks" => (200, get("/api/auth/jwks")),
        "GET /.well-known/jwks.json" => (200, get("/.well-known/jwks.json")),
        "POST /api/coupons/issue" => (
            201,
            stack
                .http
                .post(stack.url("/api/coupons/issue"))
                .bearer_auth(caller.buyers.pop().expect("enough buyers"))
                .json(&json!({"event_id": caller.event_id})),
        ),
        other => panic!("no route {other}"),
    }
}

/// Status and body of a response (Null when not JSON).
async fn read(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An instance's own 503: the API's envelope with the instance's words,
/// not nginx's page.
fn assert_instance_503(body: &Value, what: &str) {
    assert_eq!(body["error"]["code"], "unavailable", "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty() && message != NGINX_UNAVAILABLE,
        "{what}: nginx answered itself: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_503_reaches_the_client_as_the_instance_wrote_it_and_takes_no_instance_out_of_the_pool()
 {
    let stack = Stack::start_with(Options {
        postgres_proxies: true,
        ..Options::default()
    })
    .await;
    let event_id = stack.create_event(100, 1).await;
    let mut users = stack.create_users(40).await;
    let (_, token) = users.pop().expect("a user");
    let mut caller = Caller {
        token: token.clone(),
        admin: stack.admin_token().await,
        event_id,
        buyers: users.into_iter().map(|(_, token)| token).collect(),
    };
    let my_coupons = || {
        stack
            .http
            .get(stack.url("/api/coupons/my"))
            .bearer_auth(&token)
    };

    // PostgreSQL goes away from both instances for a moment, while clients
    // keep reading: a read that needs it fails on every instance.
    for proxy in &stack.pg_proxies {
        proxy.cut();
    }
    let mut during = Vec::new();
    for _ in 0..3 {
        let response = my_coupons().send().await.expect("GET");
        let logged = stack.logged(&response).await;
        during.push((read(response).await, logged));
    }
    for proxy in &stack.pg_proxies {
        proxy.restore();
    }
    // Once the instances read PostgreSQL again (on their own ports)...
    for instance in &stack.coupons {
        let url = format!("http://127.0.0.1:{}/api/coupons/my", instance.port);
        eventually(WITHIN, "the instance reads PostgreSQL again", || {
            let request = reqwest::Client::new().get(&url).bearer_auth(&token).send();
            async move { request.await.is_ok_and(|r| r.status() == 200) }
        })
        .await;
    }
    // ... every route answers through the gateway at once, issuance
    // included, on both instances (each request twice): the outage did not
    // outlast PostgreSQL's.
    for _ in 0..2 {
        for route in ROUTES {
            let (expected, request) = request(&stack, &mut caller, route);
            let (status, body) = read(request.send().await.expect("send")).await;
            assert_eq!(status, expected, "{route} right after the outage: {body}");
        }
    }
    // During it, each client got the 503 of the one instance its request
    // was sent to: not passed on to the other (which would have counted as
    // that instance's failure too), not nginx's own.
    for ((status, body), logged) in &during {
        assert_eq!(*status, 503, "PostgreSQL away from both: {body}");
        assert_instance_503(body, "PostgreSQL away from both");
        let upstream = logged["upstream_addr"].as_str().unwrap_or_default();
        assert!(
            [stack.coupon_addr(0), stack.coupon_addr(1)].contains(&upstream.to_owned()),
            "the 503 came from {upstream:?}: {logged}"
        );
    }

    // Instance 2 loses PostgreSQL for good. Its 503s reach the client as
    // it wrote them, it stays in the pool (each 503 is an answer, not a
    // failure), and instance 1 serves every route meanwhile.
    stack.pg_proxies[1].cut();
    let (mut from_one, mut from_two) = (0, 0);
    for _ in 0..8 {
        let response = my_coupons().send().await.expect("GET");
        let logged = stack.logged(&response).await;
        let (status, body) = read(response).await;
        let upstream = logged["upstream_addr"].as_str().unwrap_or_default();
        if upstream == stack.coupon_addr(0) {
            assert_eq!(status, 200, "instance 1: {body}");
            from_one += 1;
        } else {
            assert_eq!(upstream, stack.coupon_addr(1), "{logged}");
            assert_eq!(status, 503, "instance 2 without PostgreSQL: {body}");
            assert_instance_503(&body, "instance 2 without PostgreSQL");
            from_two += 1;
        }
    }
    assert!(
        from_one >= 2 && from_two >= 2,
        "both instances stay in the pool: {from_one} answers from 1, {from_two} from 2"
    );
    for route in ROUTES {
        let mut served_by_one = false;
        for _ in 0..6 {
            let (expected, request) = request(&stack, &mut caller, route);
            let response = request.send().await.expect("send");
            let logged = stack.logged(&response).await;
            let (status, body) = read(response).await;
            let upstream = logged["upstream_addr"].as_str().unwrap_or_default();
            if upstream.is_empty() {
                // The public event reads are micro-cached: the gateway
                // answers from its copy (refreshed by whichever instance it
                // asks in the background; an instance's 503 is never kept).
                assert_eq!(status, expected, "{route} from the gateway's cache: {body}");
                served_by_one = true;
                break;
            }
            if upstream == stack.coupon_addr(0) {
                assert_eq!(status, expected, "{route} on instance 1: {body}");
                served_by_one = true;
                break;
            }
            assert_eq!(upstream, stack.coupon_addr(1), "{route}: {logged}");
            if status != expected {
                assert_eq!(status, 503, "{route} on instance 2: {body}");
                assert_instance_503(&body, route);
            }
        }
        assert!(served_by_one, "{route} never reached instance 1");
    }
}
