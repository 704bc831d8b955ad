//! What the gateway itself does: TLS with HTTP/2, security headers, request
//! ids, client addresses, size and rate limits, internal endpoints hidden,
//! the static front end.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{GatewayOptions, Options, Stack, eventually};

const SECURITY_HEADERS: [(&str, &str); 3] = [
    ("strict-transport-security", "max-age=31536000"),
    ("x-content-type-options", "nosniff"),
    ("content-security-policy", "frame-ancestors 'none'"),
];

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    for (name, expected) in SECURITY_HEADERS {
        let value = response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            value.contains(expected),
            "{what}: {name} is {value:?}, want {expected:?}"
        );
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_speaks_http2_sets_security_headers_and_request_ids_and_hides_internal_endpoints()
 {
    let stack = Stack::start().await;
    let response = stack
        .http
        .get(stack.url("/api/coupons/events"))
        // A client cannot choose the id the services log.
        .header("X-Request-Id", "chosen-by-the-client")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_security_headers(&response, "API response");
    // nginx made the id, coupon-service received it and echoed it back.
    let request_id = header(&response, "x-request-id");
    assert!(
        request_id.len() == 32 && request_id.chars().all(|c| c.is_ascii_hexdigit()),
        "X-Request-Id {request_id:?} is not nginx's $request_id"
    );
    // ... and the access log has the same id for that request.
    eventually(
        Duration::from_secs(5),
        "the request id in the access log",
        || {
            let log = stack.access_log();
            let id = request_id.clone();
            async move { log.contains(&format!("\"request_id\":\"{id}\"")) }
        },
    )
    .await;

    for path in ["/metrics", "/healthz", "/readyz"] {
        let response = stack.http.get(stack.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 404, "{path} must stay internal");
    }

    // Bodies over 16 KiB are refused by nginx, in the API's error shape.
    let response = stack
        .http
        .post(stack.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"email":"{}"}}"#, "a".repeat(20_000)))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 413);
    assert_security_headers(&response, "413");
    assert_eq!(header(&response, "x-request-id").len(), 32);
    let body: serde_json::Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "payload_too_large");
}

/// What nginx refuses by itself (before any location or upstream) is in the
/// API's error envelope too: a client parses one shape of error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_nginx_makes_itself_carry_the_error_envelope() {
    let stack = Stack::start().await;
    let trace = reqwest::Method::from_bytes(b"TRACE").expect("method");
    let response = stack
        .http
        .request(trace, stack.url("/api/auth/jwks"))
        .send()
        .await
        .expect("TRACE");
    assert_eq!(response.status(), 405);
    assert_security_headers(&response, "405");
    let body: serde_json::Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issue_endpoint_is_rate_limited_per_ip_with_429_and_the_client_address_reaches_the_service()
 {
    // coupon-service allows 3 sign-in attempts per client address at once.
    let stack = Stack::start_with(Options {
        auth_per_minute: 1,
        auth_burst: 3,
        ..Options::default()
    })
    .await;
    let strict = stack
        .extra_gateway(
            "strict",
            GatewayOptions {
                // One per minute: nothing refills while the test runs.
                issue_rate: "1r/m".into(),
                issue_burst: 2,
                ..stack.gateway_options()
            },
        )
        .await;
    let url = format!("https://localhost:{}/api/coupons/issue", strict.port);
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..8 {
        let response = stack
            .http
            .post(&url)
            .json(&json!({"event_id": 1}))
            .send()
            .await
            .expect("POST");
        statuses.push(response.status().as_u16());
        if response.status() == 429 && limited.is_none() {
            limited = Some(response);
        }
    }
    // The first 1 + burst reach coupon-service (401: no token); then 429,
    // never 503.
    assert_eq!(&statuses[..3], &[401, 401, 401], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    let limited = limited.expect("a 429");
    assert_eq!(header(&limited, "retry-after"), "1");
    assert_security_headers(&limited, "429");
    let body: serde_json::Value = limited.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "rate_limited");
    // Other endpoints are not limited by nginx.
    let response = stack
        .http
        .get(format!(
            "https://localhost:{}/api/coupons/events",
            strict.port
        ))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);

    // nginx passes the client's address in X-Forwarded-For and coupon-service
    // (trusting nginx on 127.0.0.1) keys its per-IP limits on it. Here the
    // client is on 127.0.0.1 too, so the nearest untrusted address is the one
    // this client put in front: two addresses get separate allowances. Each
    // instance keeps its own limiter, and nginx alternates between them: 8
    // attempts give each instance 4, one more than the burst.
    let login = |address: &'static str| {
        let request = stack
            .http
            .post(stack.url("/api/auth/login"))
            .header("X-Forwarded-For", address)
            .json(&json!({"email": "nobody@example.test", "password": "wrong password"}));
        async move { request.send().await.expect("POST").status().as_u16() }
    };
    let mut first = Vec::new();
    for _ in 0..8 {
        first.push(login("203.0.113.7").await);
    }
    assert_eq!(&first[..3], &[401, 401, 401], "{first:?}");
    assert!(first.contains(&429), "per-address limit: {first:?}");
    assert_eq!(login("198.51.100.20").await, 401, "another address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_front_end_is_served_with_client_side_routing_and_cache_headers() {
    let stack = Stack::start().await;
    let web = stack.dir.join("site");
    std::fs::create_dir_all(web.join("assets")).expect("web dir");
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><title>coupons</title>",
    )
    .expect("index.html");
    std::fs::write(web.join("assets/app-3f2a.js"), "console.log(1)").expect("asset");
    std::fs::create_dir_all(web.join("admin")).expect("admin dir");
    std::fs::write(
        web.join("admin/index.html"),
        "<!doctype html><title>admin</title>",
    )
    .expect("admin/index.html");
    let site = stack
        .extra_gateway(
            "site",
            GatewayOptions {
                web_root: web,
                ..stack.gateway_options()
            },
        )
        .await;
    let get = |path: &str| {
        stack
            .http
            .get(format!("https://localhost:{}{path}", site.port))
            .send()
    };

    let index = get("/").await.expect("GET /");
    assert_eq!(index.status(), 200);
    assert_security_headers(&index, "index.html");
    assert_eq!(header(&index, "cache-control"), "no-cache");
    assert!(index.text().await.expect("body").contains("<title>coupons"));
    // A client-side route gets index.html.
    let route = get("/events/42").await.expect("GET a route");
    assert_eq!(route.status(), 200);
    assert!(route.text().await.expect("body").contains("<title>coupons"));
    // The admin panel's routes get the admin page.
    for path in ["/admin/", "/admin/events/7"] {
        let admin = get(path).await.expect("GET admin");
        assert_eq!(admin.status(), 200, "{path}");
        assert!(
            admin.text().await.expect("body").contains("<title>admin"),
            "{path}"
        );
    }
    // Hashed assets are cached for a year.
    let asset = get("/assets/app-3f2a.js").await.expect("GET an asset");
    assert_eq!(asset.status(), 200);
    assert_eq!(header(&asset, "cache-control"), "max-age=31536000");
    assert!(header(&asset, "content-type").contains("javascript"));
    assert_security_headers(&asset, "asset");
    // A bundle that is not there is not answered with index.html.
    let missing = get("/assets/app-0000.js")
        .await
        .expect("GET a missing asset");
    assert_eq!(missing.status(), 404);
    // The API is not shadowed by the front end.
    let api = get("/api/no-such-thing").await.expect("GET");
    assert_eq!(api.status(), 404);
    let body: serde_json::Value = api.json().await.expect("coupon-service's JSON 404");
    assert!(body["error"]["code"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_load_storm_costs_coupon_service_about_one_event_read_a_second() {
    let stack = Stack::start().await;
    let event = stack.create_event(10, 1).await;
    let reads = || async {
        let mut total = 0.0;
        for instance in &stack.coupons {
            total += stack
                .metric(
                    instance.port,
                    "coupon_http_requests_total",
                    "/api/coupons/events/{id}",
                )
                .await;
        }
        total
    };
    // Should setting up have read the event through the gateway, that copy
    // expires first (nginx counts a one-second validity in whole seconds).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let before = reads().await;
    let url = stack.url(&format!("/api/coupons/events/{event}"));
    // 300 page loads within well under a second, 50 at a time.
    let started = std::time::Instant::now();
    let mut bodies = Vec::new();
    for _ in 0..6 {
        let wave = (0..50).map(|_| async {
            let response = stack.http.get(&url).send().await.expect("GET");
            assert_eq!(response.status(), 200);
            response.json::<serde_json::Value>().await.expect("JSON")
        });
        bodies.extend(futures::future::join_all(wave).await);
    }
    let elapsed = started.elapsed();
    assert!(
        bodies.iter().all(|b| b["id"] == event),
        "every load got the event"
    );
    // A cached answer is still this request's: its own id, the security headers.
    let (a, b) = (
        stack.http.get(&url).send().await.expect("GET"),
        stack.http.get(&url).send().await.expect("GET"),
    );
    assert_ne!(header(&a, "x-request-id"), header(&b, "x-request-id"));
    assert_eq!(header(&a, "x-request-id").len(), 32);
    assert_security_headers(&b, "a cached event read");
    let upstream = reads().await - before;

    // One read per key at a time, each kept a second: one or two reads in a
    // run that lasted under two seconds, never one per load.
    let allowed = 1.0 + elapsed.as_secs_f64().ceil();
    assert!(
        upstream >= 1.0 && upstream <= allowed,
        "{upstream} upstream reads for 300 loads in {elapsed:?}"
    );
}
