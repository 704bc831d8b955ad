//! What coupon-service tells the sockets, through the outbox: an admin's
//! change to an event (`event.updated`, for its watchers) and a session that
//! ended (`session.revoked`, whose sockets close). Each is written in the
//! transaction of the change itself and reaches RabbitMQ through the relay.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::{
    admin::create,
    auth::unique_email,
    helpers::{TestApp, spawn_app},
};

const PUBLISHED_WITHIN: Duration = Duration::from_secs(10);

/// The messages published on `routing_key` since the last call, each once:
/// delivery is at least once (a row committed while the relay connects goes
/// out by its handoff and by the drain), and consumers drop copies by id.
async fn published(app: &TestApp, routing_key: &str) -> Vec<Value> {
    app.relay_connected().await;
    app.outbox_published(PUBLISHED_WITHIN).await;
    let mut seen = std::collections::HashSet::new();
    app.drain_queue(routing_key)
        .await
        .into_iter()
        .filter(|m| seen.insert(m["id"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// The claims of an access token (its signature is checked elsewhere).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

const PASSWORD: &str = "correct horse battery";

/// A new account (its id and email) and a token pair of its first sign-in.
pub async fn sign_up_and_in(app: &TestApp) -> (i64, String, Value) {
    let email = unique_email();
    let (status, user) = app
        .post_json(
            "/api/auth/signup",
            None,
            json!({"email": email, "password": PASSWORD, "name": "Kim"}),
        )
        .await;
    assert_eq!(status, 201);
    let pair = log_in(app, &email).await;
    (user["id"].as_i64().expect("an id"), email, pair)
}

/// A token pair of a new sign-in (a new session) of the account.
pub async fn log_in(app: &TestApp, email: &str) -> Value {
    let (status, pair) = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{pair}");
    pair
}

pub async fn sign_in(app: &TestApp) -> Value {
    sign_up_and_in(app).await.2
}

#[tokio::test]
async fn every_change_an_admin_makes_is_announced_once_and_a_refused_one_never() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let id = create(&app, &admin, 10).await;
    let path = format!("/api/admin/events/{id}");
    let (status, _) = app
        .patch_json(
            &path,
            &admin,
            json!({"total_count": 25, "title": "More for everyone"}),
        )
        .await;
    assert_eq!(status, 200);
    let raised = published(&app, "event.updated").await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    let data = &raised[0]["data"];
    assert_eq!(raised[0]["type"], "event.updated");
    assert_eq!(
        (
            data["eventId"].as_i64(),
            data["total"].as_i64(),
            data["remaining"].as_i64()
        ),
        (Some(id), Some(25), Some(25))
    );
    assert_eq!(data["title"], "More for everyone");
    assert!(
        data["startTime"].is_string() && data["endTime"].is_string(),
        "{data}"
    );

    // Refused (409): nothing changed, nothing announced.
    let (status, _) = app
        .patch_json(&path, &admin, json!({"max_per_user": 0}))
        .await;
    assert_eq!(status / 100, 4);
    let (status, _) = app
        .post_json(&format!("{path}/close"), Some(&admin), json!({}))
        .await;
    assert_eq!(status, 200);
    let closed = published(&app, "event.updated").await;
    assert_eq!(closed.len(), 1, "only the close: {closed:?}");
    assert_eq!(closed[0]["data"]["status"], "ended");
}

#[tokio::test]
async fn access_tokens_carry_their_session_and_logout_revokes_only_it() {
    let app = spawn_app().await;
    let pair = sign_in(&app).await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();
    let session = claims(access)["sid"].as_str().expect("a sid").to_owned();
    let user_id = claims(access)["sub"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();

    // A refresh stays in the session.
    let (status, rotated) = app
        .post_json("/api/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        claims(rotated["access_token"].as_str().unwrap())["sid"],
        session
    );
    let refresh = rotated["refresh_token"].as_str().unwrap();

    let (status, _) = app
        .post_json(
            "/api/auth/logout",
            Some(access),
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(status, 204);
    let revoked = published(&app, "session.revoked").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(
        revoked[0]["data"],
        json!({"userId": user_id, "sessionId": session})
    );
    // Logging out again (nothing left to revoke) sends nothing more.
    let (status, _) = app
        .post_json(
            "/api/auth/logout",
            Some(access),
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(status, 204);
    assert!(published(&app, "session.revoked").await.is_empty());
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_session_for_the_sockets_too() {
    let app = spawn_app().await;
    let pair = sign_in(&app).await;
    let session = claims(pair["access_token"].as_str().unwrap())["sid"].clone();
    let first = pair["refresh_token"].as_str().unwrap();
    let (status, _) = app
        .post_json("/api/auth/refresh", None, json!({"refresh_token": first}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post_json("/api/auth/refresh", None, json!({"refresh_token": first}))
        .await;
    assert_eq!(status, 401);
    let revoked = published(&app, "session.revoked").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["data"]["sessionId"], session);
    // Another sign-in is another session.
    let other = sign_in(&app).await;
    assert_ne!(
        claims(other["access_token"].as_str().unwrap())["sid"],
        session
    );
}

#[tokio::test]
async fn disabling_an_account_ends_every_session_and_refuses_sign_ins_until_enabled() {
    let app = spawn_app().await;
    let (admin_id, admin) = app.create_admin().await;
    let (user_id, email, pair) = sign_up_and_in(&app).await;
    let login = json!({"email": email, "password": PASSWORD});
    let refresh = pair["refresh_token"].as_str().expect("a refresh token");

    let (status, body) = app
        .post_json(
            &format!("/api/admin/users/{user_id}/disable"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["disabled_at"].is_string(), "{body}");
    // Every session at once: no session id.
    let revoked = published(&app, "session.revoked").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["data"], json!({"userId": user_id}));

    let (status, body) = app.post_json("/api/auth/login", None, login.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("account_disabled"))
    );
    let (status, _) = app
        .post_json("/api/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, 401);
    // A wrong password still says only that.
    let (status, body) = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"email": email, "password": "wrong password!"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );

    let (status, body) = app
        .post_json(
            &format!("/api/admin/users/{admin_id}/disable"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("cannot_disable_admin"))
    );
    let (status, body) = app
        .post_json(
            "/api/admin/users/999999999/disable",
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("user_not_found"))
    );
    // (Another user: the disabled one's tokens are refused altogether.)
    let someone = app.create_users(1).await[0];
    let (status, _) = app
        .post_json(
            &format!("/api/admin/users/{user_id}/disable"),
            Some(&app.token(someone)),
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "admins only");

    let (status, body) = app
        .post_json(
            &format!("/api/admin/users/{user_id}/enable"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!((status, body["disabled_at"].is_null()), (200, true));
    let (status, _) = app.post_json("/api/auth/login", None, login).await;
    assert_eq!(status, 200);
}
