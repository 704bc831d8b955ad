//! Bad input (docs/contract.md §7): a clear 4xx in the envelope, nothing written.

use contract::jwt::{AccessClaims, Role, TokenSigner, now_unix};

use crate::helpers::{error_code, spawn_app};

const OTHER_KEY: &[u8] = include_bytes!("../../../contract/test-keys/other-ed25519.pem");

#[tokio::test]
async fn malformed_bodies_get_4xx_in_the_envelope_and_write_nothing() {
    let app = spawn_app().await;
    let event = app.create_event(10, 1).await;
    let token = app.token(app.create_users(1).await[0]);
    let post = |body: String, content_type: &'static str| {
        app.client
            .post(app.url("/api/coupons/issue"))
            .bearer_auth(&token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let cases: Vec<(String, &str, u16, &str)> = vec![
        (
            "{not json".into(),
            "application/json",
            400,
            "malformed_json",
        ),
        (
            r#"{"event_id": "one"}"#.into(),
            "application/json",
            422,
            "validation_failed",
        ),
        (
            r#"{"event_id": 1.5}"#.into(),
            "application/json",
            422,
            "validation_failed",
        ),
        ("{}".into(), "application/json", 422, "validation_failed"),
        (
            r#"{"event_id": -4}"#.into(),
            "application/json",
            422,
            "validation_failed",
        ),
        (
            format!(
                r#"{{"event_id": {}, "pad": "{}"}}"#,
                event.id,
                "x".repeat(64 * 1024)
            ),
            "application/json",
            413,
            "payload_too_large",
        ),
        (
            format!(r#"{{"event_id": {}}}"#, event.id),
            "text/plain",
            415,
            "unsupported_media_type",
        ),
    ];
    for (body, content_type, status, code) in cases {
        let response = post(body.clone(), content_type).await.unwrap();
        assert_eq!(
            error_code(response).await,
            (status, code.to_owned()),
            "body {:.60}",
            body
        );
    }
    assert_eq!(app.coupon_count(event.id).await, 0);
}

#[tokio::test]
async fn fields_a_client_may_not_set_are_not_acted_on() {
    let app = spawn_app().await;
    let event = app.create_event(10, 1).await;
    let users = app.create_users(2).await;
    let response = app
        .client
        .post(app.url("/api/coupons/issue"))
        .bearer_auth(app.token(users[0]))
        .json(&serde_json::json!({"event_id": event.id, "user_id": users[1], "status": "used"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let (owner, status): (i64, String) =
        sqlx::query_as("SELECT user_id, status FROM user_coupons WHERE event_id = $1")
            .bind(event.id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((owner, status.as_str()), (users[0], "issued"));
}

#[tokio::test]
async fn bad_tokens_get_401_never_5xx() {
    let app = spawn_app().await;
    let event = app.create_event(10, 1).await;
    let user = app.create_users(1).await[0];
    let now = now_unix();
    let claims = |f: &dyn Fn(&mut AccessClaims)| {
        let mut c = AccessClaims {
            sub: user.to_string(),
            role: Role::User,
            iat: now,
            nbf: now,
            exp: now + 600,
            aud: "coupon-api".into(),
            iss: "coupon-platform".into(),
            sid: None,
        };
        f(&mut c);
        app.signer.sign_claims(&c)
    };
    let forged = TokenSigner::from_private_pem("dev-1", OTHER_KEY, "coupon-platform", "coupon-api")
        .unwrap()
        .sign(user, Role::User, now, 600);
    let tokens = [
        ("garbage".to_owned(), "invalid_token"),
        (forged, "invalid_token"),
        (claims(&|c| c.exp = now - 3600), "token_expired"),
        (claims(&|c| c.nbf = now + 3600), "invalid_token"),
        (claims(&|c| c.aud = "someone-else".into()), "invalid_token"),
        (claims(&|c| c.iss = "someone-else".into()), "invalid_token"),
    ];
    for (token, code) in tokens {
        let response = app.issue(&token, event.id, None).await;
        assert_eq!(error_code(response).await, (401, code.to_owned()));
    }
    let anonymous = app
        .client
        .post(app.url("/api/coupons/issue"))
        .json(&serde_json::json!({"event_id": event.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(anonymous).await, (401, "unauthorized".into()));
    // A well-signed token for a user that does not exist.
    let ghost = app.signer.sign(987_654_321, Role::User, now, 600);
    assert_eq!(
        error_code(app.issue(&ghost, event.id, None).await).await.0,
        401
    );
    assert_eq!(app.coupon_count(event.id).await, 0);
    assert_eq!(
        app.redis_remaining(event.id).await,
        Some(10),
        "a refused write gives the ticket back"
    );
}

#[tokio::test]
async fn unknown_routes_and_bad_ids_answer_in_the_envelope() {
    let app = spawn_app().await;
    for path in [
        "/api/nope",
        "/api/coupons/events/abc",
        "/api/coupons/events/424242",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let (status, code) = error_code(response).await;
        assert_eq!(status, 404, "{path}");
        assert!(!code.is_empty());
    }
    let token = app.token(app.create_users(1).await[0]);
    let response = app
        .client
        .get(app.url("/api/coupons/my?page=0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(response).await,
        (422, "validation_failed".into())
    );
    let response = app
        .client
        .get(app.url("/api/coupons/my?size=abc"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(response).await,
        (422, "validation_failed".into())
    );
    let bad_key = app
        .client
        .post(app.url("/api/coupons/issue"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "x".repeat(300))
        .json(&serde_json::json!({"event_id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(bad_key).await,
        (400, "invalid_idempotency_key".into())
    );
}
