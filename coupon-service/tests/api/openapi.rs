//! The OpenAPI document describes every route, and every route it describes
//! is served.

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_route_is_in_the_openapi_document_and_every_documented_route_is_served() {
    let app = spawn_app().await;
    let doc = app.get_json("/api/openapi.json", None).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'));
    let paths = doc["paths"].as_object().unwrap();

    // The public contract of docs/contract.md §2, plus operations.
    let expected = [
        ("post", "/api/auth/signup"),
        ("post", "/api/auth/login"),
        ("post", "/api/auth/refresh"),
        ("post", "/api/auth/logout"),
        ("get", "/api/auth/jwks"),
        ("get", "/api/coupons/events"),
        ("get", "/api/coupons/events/{id}"),
        ("post", "/api/coupons/issue"),
        ("get", "/api/coupons/events/{id}/queue"),
        ("post", "/api/coupons/events/{id}/queue"),
        ("get", "/api/coupons/events/{id}/queue/me"),
        ("delete", "/api/coupons/events/{id}/queue/me"),
        ("get", "/api/coupons/events/{id}/queue/proof"),
        ("get", "/api/admin/events/{id}/queue"),
        ("get", "/api/coupons/events/{id}/draw"),
        ("post", "/api/coupons/events/{id}/entries"),
        ("get", "/api/coupons/events/{id}/entries/me"),
        ("delete", "/api/coupons/events/{id}/entries/me"),
        ("get", "/api/coupons/events/{id}/draw/proof"),
        ("get", "/api/admin/events/{id}/draw"),
        ("post", "/api/admin/events/{id}/draw"),
        ("get", "/api/coupons/my"),
        ("post", "/api/coupons/{code}/redeem"),
        ("post", "/api/admin/events"),
        ("get", "/api/admin/events"),
        ("get", "/api/admin/events/{id}"),
        ("patch", "/api/admin/events/{id}"),
        ("post", "/api/admin/events/{id}/close"),
        ("get", "/api/admin/events/{id}/coupons"),
        ("get", "/api/admin/events/{id}/coupons.csv"),
        ("post", "/api/admin/users/{id}/disable"),
        ("post", "/api/admin/users/{id}/enable"),
        ("get", "/api/admin/audit"),
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

    // Clients generate a function per operation: each id names one.
    let mut ids = std::collections::HashMap::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if let Some(id) = operation["operationId"].as_str()
                && let Some(other) = ids.insert(id.to_owned(), format!("{method} {path}"))
            {
                panic!("operationId {id} names both {other} and {method} {path}");
            }
        }
    }

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
        "/api/admin/audit",
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

/// The document as served, for the completeness checks below (built the
/// same way the service builds it at start-up).
fn document() -> serde_json::Value {
    serde_json::to_value(coupon_service::startup::api_doc()).expect("the document serialises")
}

/// Every (method, path, operation) of the document.
fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            all.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    all
}

fn documents(operation: &serde_json::Value, status: &str) -> bool {
    operation["responses"].get(status).is_some()
}

fn has_param(operation: &serde_json::Value, place: &str) -> bool {
    operation["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == place))
}

#[test]
fn every_error_response_in_the_openapi_document_has_the_error_envelope_as_its_body() {
    let doc = document();
    let envelope = &doc["components"]["schemas"]["ErrorEnvelope"];
    assert_eq!(
        envelope["required"],
        serde_json::json!(["error"]),
        "ErrorEnvelope: {envelope}"
    );
    for (method, path, operation) in operations(&doc) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorEnvelope",
                    "{method} {path} {status}"
                );
            }
        }
    }
}

#[test]
fn every_operation_documents_the_errors_it_can_meet_before_its_handler() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        let mut expected = Vec::new();
        if secured {
            expected.push("401");
        }
        if path.starts_with("/api/admin/") {
            assert!(secured, "{method} {path} needs a token");
            expected.push("403");
        }
        if has_param(&operation, "path") {
            expected.push("404");
        }
        if has_param(&operation, "query") {
            expected.extend(["400", "422"]);
        }
        if operation.get("requestBody").is_some() {
            expected.extend(["400", "413", "415", "422"]);
        }
        for status in expected {
            assert!(
                documents(&operation, status),
                "{method} {path} does not document {status}"
            );
        }
    }
    // The routes a user's token opens.
    for (method, path) in [
        ("post", "/api/coupons/issue"),
        ("get", "/api/coupons/my"),
        ("post", "/api/coupons/{code}/redeem"),
        ("post", "/api/auth/logout"),
    ] {
        let operation = &doc["paths"][path][method];
        assert!(
            operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty()),
            "{method} {path} documents its token"
        );
    }
}

/// Integers a client sends, wherever it sends them: path, query or body.
fn integers(doc: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let mut found = Vec::new();
    for (method, path, operation) in operations(doc) {
        for p in operation["parameters"].as_array().into_iter().flatten() {
            if p["schema"]["type"] == "integer" {
                found.push((
                    format!("{method} {path} {}", p["name"]),
                    p["schema"].clone(),
                ));
            }
        }
        let body = &operation["requestBody"]["content"]["application/json"]["schema"]["$ref"];
        if let Some(name) = body.as_str().and_then(|r| r.rsplit('/').next()) {
            let schema = &doc["components"]["schemas"][name];
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                let ty = &property["type"];
                if ty == "integer" || ty.as_array().is_some_and(|t| t.contains(&"integer".into())) {
                    found.push((format!("{method} {path} body {field}"), property.clone()));
                }
            }
        }
    }
    found
}

#[test]
fn every_integer_a_client_sends_has_documented_bounds() {
    let doc = document();
    let found = integers(&doc);
    assert!(
        found.len() >= 15,
        "path ids, paging and body numbers: {found:?}"
    );
    for (what, schema) in found {
        assert!(
            schema.get("minimum").is_some(),
            "{what} has no minimum: {schema}"
        );
        // Ids are bounded by their format (int64); amounts, counts and
        // page sizes by what the service accepts.
        let is_id = what.ends_with("id") || what.ends_with("id\"");
        if !is_id && (what.contains(" body ") || what.ends_with("\"size\"")) {
            assert!(
                schema.get("maximum").is_some(),
                "{what} has no maximum: {schema}"
            );
        }
    }
}

#[test]
fn admin_bodies_refuse_fields_an_admin_cannot_set() {
    let doc = document();
    for name in ["NewEvent", "EventPatch"] {
        assert_eq!(
            doc["components"]["schemas"][name]["additionalProperties"], false,
            "{name}"
        );
    }
    let required = &doc["components"]["schemas"]["NewEvent"]["required"];
    for optional in [
        "description",
        "max_per_user",
        "min_purchase_amount",
        "valid_days",
    ] {
        assert!(
            !required.as_array().unwrap().contains(&optional.into()),
            "{optional} has a default"
        );
    }
}
