//! The audit trail of admin actions: one record per action, written with
//! the change, with the target before and after and the request that did
//! it; listed, filtered and paged for admins only; never changed.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The trail as an admin reads it with `query`.
async fn trail(app: &TestApp, admin: &str, query: &str) -> Value {
    let (status, body) = app
        .get_with(&format!("/api/admin/audit{query}"), Some(admin))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn actions(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect()
}

#[tokio::test]
async fn each_admin_action_leaves_one_record_with_before_after_and_its_request() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.create_admin().await;
    let now = Utc::now();
    let created = app
        .client
        .post(app.url("/api/admin/events"))
        .bearer_auth(&admin)
        .header("x-request-id", "audit-test-create")
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .json(&json!({
            "title": "Audited sale", "total_count": 5, "max_per_user": 1,
            "start_time": (now - Duration::minutes(1)).to_rfc3339(),
            "end_time": (now + Duration::hours(1)).to_rfc3339(),
            "discount_type": "fixed", "discount_value": 1000, "code_prefix": "AUD"
        }))
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status().as_u16(), 201);
    let event = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .expect("id");
    let path = format!("/api/admin/events/{event}");
    let (status, _) = app
        .patch_json(&path, &admin, json!({"title": "Audited sale, renamed"}))
        .await;
    assert_eq!(status, 200);
    // A refused change is no change: nothing recorded.
    let (status, body) = app
        .patch_json(&path, &admin, json!({"total_count": 0}))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = app
        .post_json(&format!("{path}/close"), Some(&admin), Value::Null)
        .await;
    assert_eq!(status, 200);
    let user = app.create_users(1).await[0];
    for change in ["disable", "enable"] {
        let (status, body) = app
            .post_json(
                &format!("/api/admin/users/{user}/{change}"),
                Some(&admin),
                Value::Null,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    let all = trail(&app, &admin, "").await;
    assert_eq!(
        actions(&all),
        [
            "user.enable",
            "user.disable",
            "event.close",
            "event.update",
            "event.create"
        ],
        "newest first, one per action: {all}"
    );
    assert_eq!(all["total"], 5);
    let items = all["items"].as_array().unwrap();
    let create = &items[4];
    assert_eq!(create["actor_id"], admin_id);
    assert_eq!(
        (create["target_type"].as_str(), create["target_id"].as_i64()),
        (Some("event"), Some(event))
    );
    assert!(create["before"].is_null());
    assert_eq!(create["after"]["title"], "Audited sale");
    assert_eq!(create["request_id"], "audit-test-create");
    assert_eq!(create["trace_id"], TRACE_ID);
    let update = &items[3];
    assert_eq!(
        (&update["before"]["title"], &update["after"]["title"]),
        (&json!("Audited sale"), &json!("Audited sale, renamed"))
    );
    assert!(update["request_id"].is_string(), "the service's own id");
    assert!(update["trace_id"].is_null(), "no traceparent came");
    let close = &items[2];
    assert!(close["before"]["closed_at"].is_null());
    assert!(close["after"]["closed_at"].is_string());
    let (disable, enable) = (&items[1], &items[0]);
    assert_eq!(
        (
            disable["target_type"].as_str(),
            disable["target_id"].as_i64()
        ),
        (Some("user"), Some(user))
    );
    assert!(disable["before"]["disabled_at"].is_null());
    assert!(disable["after"]["disabled_at"].is_string());
    assert!(enable["before"]["disabled_at"].is_string());
    assert!(enable["after"]["disabled_at"].is_null());

    // Filters and pages.
    let mine = trail(&app, &admin, &format!("?target_type=user&target_id={user}")).await;
    assert_eq!(actions(&mine), ["user.enable", "user.disable"]);
    let updates = trail(
        &app,
        &admin,
        &format!("?action=event.update&target_id={event}"),
    )
    .await;
    assert_eq!(
        (updates["total"].as_i64(), actions(&updates)),
        (Some(1), vec!["event.update"])
    );
    let by_admin = trail(&app, &admin, &format!("?actor_id={admin_id}&size=2&page=2")).await;
    assert_eq!(
        (by_admin["total"].as_i64(), actions(&by_admin)),
        (Some(5), vec!["event.close", "event.update"])
    );
    let nobody = trail(&app, &admin, &format!("?actor_id={}", admin_id + 1_000_000)).await;
    assert_eq!(nobody["total"], 0);
}

#[tokio::test]
async fn the_trail_is_for_admins_refuses_bad_filters_and_cannot_be_changed() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let user = app.create_users(1).await[0];
    let (status, _) = app
        .post_json(
            &format!("/api/admin/users/{user}/disable"),
            Some(&admin),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);

    let (status, _) = app
        .get_with("/api/admin/audit", Some(&app.token(user)))
        .await;
    assert_eq!(status, 403);
    let (status, _) = app.get_with("/api/admin/audit", None).await;
    assert_eq!(status, 401);
    for query in [
        "?action=event.delete",
        "?target_type=coupon",
        "?target_id=7",
        "?target_type=user&target_id=0",
        "?target_type=user&target_id=x",
        "?actor_id=-1",
        "?page=0",
        "?size=101",
    ] {
        let (status, body) = app
            .get_with(&format!("/api/admin/audit{query}"), Some(&admin))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("validation_failed")),
            "{query}: {body}"
        );
    }

    // No route writes it...
    let id = trail(&app, &admin, "").await["items"][0]["id"]
        .as_i64()
        .expect("id");
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
        reqwest::Method::POST,
    ] {
        for path in [
            "/api/admin/audit".to_owned(),
            format!("/api/admin/audit/{id}"),
        ] {
            let status = app
                .client
                .request(method.clone(), app.url(&path))
                .bearer_auth(&admin)
                .json(&json!({"after": null}))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16();
            assert!(matches!(status, 404 | 405), "{method} {path}: {status}");
        }
    }
    // ...and the table refuses any change but an insert, whoever asks.
    for statement in [
        "UPDATE admin_audit SET after = NULL",
        "DELETE FROM admin_audit",
        "TRUNCATE admin_audit",
    ] {
        let refused = sqlx::query(statement).execute(&app.db).await;
        assert!(refused.is_err(), "{statement} went through");
    }
    let left = trail(&app, &admin, "").await;
    assert_eq!(left["total"], 1);
    assert_eq!(left["items"][0]["id"], id);
    assert!(left["items"][0]["after"]["disabled_at"].is_string());
}
