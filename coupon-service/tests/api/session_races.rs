//! Ending a session while it is being used: a logout or a disable that
//! overlaps a refresh rotation or a login must leave nothing of the session
//! that still works. The tests hold the account's row locked (as an admin's
//! change in flight would) so the requests pile up at the point where they
//! meet, then let them go.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::{
    announcements::{claims, log_in, sign_up_and_in},
    helpers::{TestApp, error_code, eventually, spawn_app, spawn_app_with},
    revoked_tokens::refused_within,
};

/// Rotations and logouts overlapping, one pair per session.
const PAIRS: usize = 8;

/// Locks the account's row until the transaction is dropped or rolled back.
async fn hold_account(app: &TestApp, user_id: i64) -> Transaction<'static, Postgres> {
    let mut holder = app.db.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .execute(&mut *holder)
        .await
        .expect("lock the account");
    holder
}

/// Waits until `n` statements of this test's database wait for a lock.
async fn waiting_on_locks(app: &TestApp, n: i64) {
    eventually(
        Duration::from_secs(10),
        &format!("{n} statements waiting for a lock"),
        || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&app.db)
            .await
            .expect("pg_stat_activity");
            waiting == n
        },
    )
    .await;
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    app.post_json("/api/auth/refresh", None, json!({"refresh_token": token}))
        .await
}

fn session_of(pair: &Value) -> Uuid {
    claims(pair["access_token"].as_str().expect("an access token"))["sid"]
        .as_str()
        .expect("a sid")
        .parse()
        .expect("a uuid")
}

async fn live_refresh_tokens(app: &TestApp, session: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens \
         WHERE family_id = $1 AND revoked_at IS NULL AND used_at IS NULL",
    )
    .bind(session)
    .fetch_one(&app.db)
    .await
    .expect("count live refresh tokens")
}

#[tokio::test]
async fn a_logout_overlapping_a_rotation_leaves_no_live_refresh_token_of_the_session() {
    let app = spawn_app_with(Default::default(), |s| {
        s.database.max_connections = 2 * PAIRS as u32 + 8;
    })
    .await;
    let (user_id, email, first) = sign_up_and_in(&app).await;
    let mut sessions = vec![first];
    for _ in 1..PAIRS {
        sessions.push(log_in(&app, &email).await);
    }

    let holder = hold_account(&app, user_id).await;
    // Every rotation first, so each has taken its token before the logouts
    // come; then the logouts of the same sessions.
    let rotations = tokio::spawn({
        let address = app.address.clone();
        let tokens: Vec<String> = sessions
            .iter()
            .map(|p| p["refresh_token"].as_str().unwrap().to_owned())
            .collect();
        async move {
            let client = reqwest::Client::new();
            join_all(tokens.iter().map(|token| {
                client
                    .post(format!("{address}/api/auth/refresh"))
                    .json(&json!({"refresh_token": token}))
                    .send()
            }))
            .await
        }
    });
    waiting_on_locks(&app, PAIRS as i64).await;
    let logouts = tokio::spawn({
        let address = app.address.clone();
        let pairs = sessions.clone();
        async move {
            let client = reqwest::Client::new();
            join_all(pairs.iter().map(|pair| {
                client
                    .post(format!("{address}/api/auth/logout"))
                    .bearer_auth(pair["access_token"].as_str().unwrap())
                    .json(&json!({"refresh_token": pair["refresh_token"]}))
                    .send()
            }))
            .await
        }
    });
    waiting_on_locks(&app, 2 * PAIRS as i64).await;
    holder.rollback().await.expect("release the account");

    let mut successors = Vec::new();
    for rotated in rotations.await.expect("rotations") {
        let rotated = rotated.expect("POST refresh");
        if rotated.status() == 200 {
            let pair: Value = rotated.json().await.expect("a token pair");
            successors.push(pair["refresh_token"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(error_code(rotated).await.0, 401);
        }
    }
    for logout in logouts.await.expect("logouts") {
        assert_eq!(logout.expect("POST logout").status(), 204);
    }
    for pair in &sessions {
        assert_eq!(
            live_refresh_tokens(&app, session_of(pair)).await,
            0,
            "a logged-out session keeps a live refresh token"
        );
    }
    for token in successors {
        let (status, body) = refresh(&app, &token).await;
        assert_eq!(status, 401, "a logged-out session rotated on: {body}");
    }
}

#[tokio::test]
async fn a_refresh_token_of_a_session_recorded_as_ended_does_not_rotate() {
    let app = spawn_app().await;
    let (user_id, _, pair) = sign_up_and_in(&app).await;
    let session = session_of(&pair);
    // The session ended (say a logout that, before this was fixed, missed a
    // token being rotated at that moment), yet one of its tokens is unrevoked.
    sqlx::query("INSERT INTO revoked_sessions (user_id, session_id) VALUES ($1, $2)")
        .bind(user_id)
        .bind(session)
        .execute(&app.db)
        .await
        .expect("record the session ended");
    let (status, body) = refresh(&app, pair["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    assert_eq!(
        live_refresh_tokens(&app, session).await,
        0,
        "the straggler is revoked with its family"
    );
}

#[tokio::test]
async fn an_account_disabled_while_a_login_is_hashing_gets_no_working_session() {
    let app = spawn_app().await;
    let (_, admin) = app.create_admin().await;
    let (user_id, email, _) = sign_up_and_in(&app).await;

    let holder = hold_account(&app, user_id).await;
    // The login reads the account (enabled), checks the password, and meets
    // the lock where it writes its session.
    let login = tokio::spawn({
        let address = app.address.clone();
        async move {
            let response = reqwest::Client::new()
                .post(format!("{address}/api/auth/login"))
                .json(&json!({"email": email, "password": "correct horse battery"}))
                .send()
                .await
                .expect("POST login");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("JSON"))
        }
    });
    waiting_on_locks(&app, 1).await;
    // Meanwhile an admin disables the account.
    let disable = tokio::spawn({
        let (address, admin) = (app.address.clone(), admin.clone());
        async move {
            reqwest::Client::new()
                .post(format!("{address}/api/admin/users/{user_id}/disable"))
                .bearer_auth(admin)
                .json(&json!({}))
                .send()
                .await
                .expect("POST disable")
                .status()
                .as_u16()
        }
    });
    waiting_on_locks(&app, 2).await;
    // Hashing takes time: let the clock pass into the next second, as it
    // does for any login slow enough to straddle one.
    let second = db_second(&app).await;
    eventually(Duration::from_secs(3), "the next second", || async {
        db_second(&app).await > second
    })
    .await;
    holder.rollback().await.expect("release the account");

    assert_eq!(disable.await.expect("disable"), 200);
    let (status, body) = login.await.expect("login");
    match status {
        403 => assert_eq!(body["error"]["code"], "account_disabled", "{body}"),
        200 => {
            // Issued before the disable committed: it must die with it.
            refused_within(&app, body["access_token"].as_str().unwrap()).await;
            let (status, _) = refresh(&app, body["refresh_token"].as_str().unwrap()).await;
            assert_eq!(status, 401);
        }
        other => panic!("login answered {other}: {body}"),
    }
}

async fn db_second(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT floor(extract(epoch FROM clock_timestamp()))::bigint")
        .fetch_one(&app.db)
        .await
        .expect("the database's clock")
}
