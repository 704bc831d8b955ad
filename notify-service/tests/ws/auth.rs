//! Who may open a socket, and how it ends when they may not.

use std::time::Duration;

use contract::jwt::{Role, now_unix};
use serde_json::json;

use crate::{
    client::{Client, Ending, refused},
    helpers::{Deployment, Faults, WITHIN, eventually},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_on_the_upgrade_gets_a_welcome() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let mut client = Client::connect(&app.ws_url(), Some(&d.token(42)))
        .await
        .unwrap();
    let welcome = client.next_json().await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["user_id"], 42);
    assert_eq!(welcome["heartbeat_ms"], 25_000);
    assert!(welcome["expires_at"].as_u64().unwrap() > now_unix());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_authenticates_with_a_first_auth_frame() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let origin = [("origin", "https://shop.example".to_owned())];
    let mut client = Client::connect_with(&app.ws_url(), &origin, None)
        .await
        .unwrap();
    client
        .send_json(json!({"type": "auth", "token": d.token(7)}))
        .await;
    let welcome = client.next_json().await;
    assert_eq!(
        (welcome["type"].as_str(), welcome["user_id"].as_i64()),
        (Some("welcome"), Some(7))
    );
    client.ping_pong().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_authenticates_is_closed_at_the_deadline_with_4001() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| s.websocket.auth_timeout_ms = 300)
        .await;
    let mut client = Client::connect(&app.ws_url(), None).await.unwrap();
    let error = client.next_json().await;
    assert_eq!(error["code"], "auth_timeout", "{error}");
    assert_eq!(client.ending().await, Ending::Closed(4001));
    assert_eq!(app.closes("auth_timeout"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_forged_tokens_are_refused_on_the_upgrade_and_in_auth_frames() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let bearer = |t: String| vec![("authorization", format!("Bearer {t}"))];

    assert_eq!(
        refused(&app.ws_url(), &bearer(d.expired_token(1))).await,
        (401, "token_expired".to_owned())
    );
    assert_eq!(
        refused(&app.ws_url(), &bearer(d.forged_token(1))).await,
        (401, "invalid_token".to_owned())
    );
    assert_eq!(
        refused(
            &app.ws_url(),
            &[("authorization", "Basic dXNlcjpwdw==".into())]
        )
        .await,
        (401, "invalid_token".to_owned())
    );

    let mut expired = Client::connect(&app.ws_url(), None).await.unwrap();
    expired
        .send_json(json!({"type": "auth", "token": d.expired_token(1)}))
        .await;
    assert_eq!(expired.next_json().await["code"], "token_expired");
    assert_eq!(expired.ending().await, Ending::Closed(4002));

    let mut forged = Client::connect(&app.ws_url(), None).await.unwrap();
    forged
        .send_json(json!({"type": "auth", "token": d.forged_token(1)}))
        .await;
    assert_eq!(forged.next_json().await["code"], "invalid_token");
    assert_eq!(forged.ending().await, Ending::Closed(4001));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_in_the_query_string_and_foreign_origins_are_refused() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| {
            s.websocket.allowed_origins = vec!["https://shop.example".into()];
        })
        .await;
    let url = format!("{}?token={}", app.ws_url(), d.token(1));
    assert_eq!(refused(&url, &[]).await, (400, "token_in_query".to_owned()));
    assert_eq!(
        refused(&app.ws_url(), &[("origin", "https://evil.example".into())]).await,
        (403, "origin_not_allowed".to_owned())
    );
    // The allowed origin and native clients (no Origin) get in.
    let allowed = [("origin", "https://shop.example".to_owned())];
    Client::connect_with(&app.ws_url(), &allowed, None)
        .await
        .unwrap();
    d.connect(&app, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_with_4002_when_its_token_expires_unless_renewed() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| s.auth.leeway_secs = 0)
        .await;
    let short = |ttl| d.signer.sign(5, Role::User, now_unix(), ttl);

    let mut renewed = Client::connect(&app.ws_url(), Some(&short(2)))
        .await
        .unwrap();
    assert_eq!(renewed.next_json().await["type"], "welcome");
    renewed
        .send_json(json!({"type": "auth", "token": short(600)}))
        .await;
    assert_eq!(renewed.next_json().await["type"], "welcome");

    let mut lapsing = Client::connect(&app.ws_url(), Some(&short(2)))
        .await
        .unwrap();
    assert_eq!(lapsing.next_json().await["type"], "welcome");
    let error = lapsing.next_json_within(Duration::from_secs(5)).await;
    assert_eq!(error["code"], "token_expired");
    assert_eq!(lapsing.ending().await, Ending::Closed(4002));

    // The renewed session outlived the first token.
    renewed.ping_pong().await;
    // A re-auth as someone else ends the socket.
    renewed
        .send_json(json!({"type": "auth", "token": d.token(6)}))
        .await;
    assert_eq!(renewed.next_json().await["code"], "user_mismatch");
    assert_eq!(renewed.ending().await, Ending::Closed(4001));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_user_and_per_node_connection_limits_hold() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| {
            s.websocket.max_connections_per_user = 2;
            s.websocket.max_connections = 4;
        })
        .await;
    let _a = d.connect(&app, 1).await;
    let _b = d.connect(&app, 1).await;
    let bearer = vec![("authorization", format!("Bearer {}", d.token(1)))];
    assert_eq!(
        refused(&app.ws_url(), &bearer).await,
        (429, "too_many_connections".to_owned())
    );
    // Authenticating by frame meets the same limit after the upgrade.
    let mut third = Client::connect(&app.ws_url(), None).await.unwrap();
    third
        .send_json(json!({"type": "auth", "token": d.token(1)}))
        .await;
    assert_eq!(third.next_json().await["code"], "too_many_connections");
    assert_eq!(third.ending().await, Ending::Closed(4029));
    eventually(WITHIN, "the refused socket's place is free", || async {
        app.state.slots.open() == 2
    })
    .await;

    let _c = d.connect(&app, 2).await;
    let _d = d.connect(&app, 3).await;
    let bearer = vec![("authorization", format!("Bearer {}", d.token(4)))];
    assert_eq!(
        refused(&app.ws_url(), &bearer).await,
        (503, "server_full".to_owned())
    );
}
