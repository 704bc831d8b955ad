//! The OpenAPI document describes every route, and every route it describes
//! is served.

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_route_is_in_the_openapi_document_and_every_documented_route_is_served() {
    let app = spawn_app().await;
    let doc = app.get_json("/api/openapi.json", None).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'));
    let paths = doc["paths"].as_object().unwrap();

    // The public contract of DESIGN §4, plus operations.
    let expected = [
        ("post", "/api/auth/signup"),
        ("post", "/api/auth/login"),
        ("post", "/api/auth/refresh"),
        ("post", "/api/auth/logout"),
        ("get", "/api/auth/jwks"),
        ("get", "/api/coupons/events"),
        ("get", "/api/coupons/events/{id}"),
        ("post", "/api/coupons/issue"),
        ("get", "/api/coupons/my"),
        ("post", "/api/coupons/{code}/redeem"),
        ("post", "/api/admin/events"),
        ("get", "/api/admin/events"),
        ("get", "/api/admin/events/{id}"),
        ("patch", "/api/admin/events/{id}"),
        ("post", "/api/admin/events/{id}/close"),
        ("get", "/api/admin/events/{id}/coupons"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
    ];
    for (method, path) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} documented"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        expected.len(),
        "nothing documented that the contract does not list"
    );

    // Every documented operation reaches a handler (never the unknown-route 404).
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "1").replace("{code}", "X-1");
            let response = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert!(
                !(status == 404 && body["error"]["code"] == "not_found"),
                "{method} {path} is documented but not served"
            );
        }
    }
}

#[tokio::test]
async fn every_list_query_parameter_is_described_with_its_range_or_values() {
    let app = spawn_app().await;
    let doc = app.get_json("/api/openapi.json", None).await;
    let param = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has parameters"))
            .iter()
            .find(|p| p["name"] == name && p["in"] == "query")
            .unwrap_or_else(|| panic!("{path} documents {name}"))["schema"]
            .clone()
    };
    let paged = [
        "/api/coupons/events",
        "/api/coupons/my",
        "/api/admin/events",
        "/api/admin/events/{id}/coupons",
    ];
    for path in paged {
        let page = param(path, "page");
        assert_eq!(
            (page["minimum"].as_i64(), page["maximum"].as_i64()),
            (Some(1), Some(10_000)),
            "{path} page: {page}"
        );
        let size = param(path, "size");
        assert_eq!(
            (size["minimum"].as_i64(), size["maximum"].as_i64()),
            (Some(1), Some(100)),
            "{path} size: {size}"
        );
    }
    let values = |schema: serde_json::Value| -> Vec<String> {
        let one_of = schema["oneOf"].as_array().cloned();
        let enums = schema["enum"]
            .as_array()
            .cloned()
            .or_else(|| one_of.and_then(|o| o.iter().find_map(|s| s["enum"].as_array().cloned())));
        enums
            .unwrap_or_else(|| panic!("an enum: {schema}"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        values(param("/api/coupons/events", "status")),
        ["current", "live", "upcoming", "ended"]
    );
    assert_eq!(
        values(param("/api/admin/events", "status")),
        ["upcoming", "live", "sold_out", "ended", "closed"]
    );
    assert_eq!(param("/api/admin/events", "q")["maxLength"], 100);
    assert_eq!(
        param("/api/admin/events/{id}/coupons", "code")["maxLength"],
        32
    );
}
