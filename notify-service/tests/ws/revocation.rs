//! A session that ends (logout, a reused refresh token, an account
//! disabled) closes its sockets on every instance with 4003, and only
//! those: the user's other sessions and other users keep theirs. An
//! instance that did not see a revocation (it started later, or its fan-out
//! subscription had a gap) learns it from Redis before it goes live.

use crate::{
    client::{Client, Ending, refused},
    helpers::{Deployment, WITHIN, connect_with, eventually, revoked},
};

fn bearer(token: String) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_session_closes_its_sockets_on_every_instance_and_no_others() {
    let d = Deployment::new().await;
    let a = d.spawn().await;
    let b = d.spawn().await;
    let (phone, laptop) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let mut phone_on_a = connect_with(&a, &d.session_token(7, phone)).await;
    let mut phone_on_b = connect_with(&b, &d.session_token(7, phone)).await;
    let mut laptop_on_b = connect_with(&b, &d.session_token(7, laptop)).await;
    let mut someone_else = connect_with(&a, &d.session_token(8, phone)).await;

    d.publish(&revoked(7, Some(phone))).await;
    assert_eq!(phone_on_a.ending().await, Ending::Closed(4003));
    assert_eq!(phone_on_b.ending().await, Ending::Closed(4003));
    laptop_on_b.ping_pong().await;
    someone_else.ping_pong().await;
    assert_eq!(
        a.closes("session_revoked") + b.closes("session_revoked"),
        2.0
    );

    // Every session of the user at once (an account disabled). A token
    // issued before it (minted now: one minted after the revocation, in a
    // later second, would rightly pass).
    let issued_before = d.session_token(7, laptop);
    d.publish(&revoked(7, None)).await;
    assert_eq!(laptop_on_b.ending().await, Ending::Closed(4003));
    someone_else.ping_pong().await;
    // Tokens issued up to then are refused (until they expire).
    assert_eq!(
        refused(&b.ws_url(), &bearer(issued_before)).await,
        (401, "invalid_token".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_signed_in_by_frame_is_closed_with_its_session() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    d.load_event(1, 10, 10).await;
    let session = uuid::Uuid::new_v4();
    let mut client = Client::connect(&app.ws_url(), None).await.expect("upgrade");
    client
        .send_json(serde_json::json!({"type": "subscribe", "event_id": 1}))
        .await;
    assert_eq!(client.next_json().await["type"], "subscribed");
    client
        .send_json(serde_json::json!({"type": "auth", "token": d.session_token(12, session)}))
        .await;
    assert_eq!(client.next_json().await["type"], "welcome");
    client.ping_pong().await;
    d.publish(&revoked(12, Some(session))).await;
    assert_eq!(client.ending().await, Ending::Closed(4003));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_after_a_revocation_refuses_the_sessions_tokens() {
    let d = Deployment::new().await;
    let early = d.spawn().await;
    let (phone, laptop) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    // Issued before the revocations below.
    let phone_token = d.session_token(7, phone);
    let disabled_token = d.session_token(9, laptop);
    let mut phone_on_early = connect_with(&early, &phone_token).await;
    let mut disabled_on_early = connect_with(&early, &disabled_token).await;
    d.publish(&revoked(7, Some(phone))).await;
    d.publish(&revoked(9, None)).await;
    assert_eq!(phone_on_early.ending().await, Ending::Closed(4003));
    assert_eq!(disabled_on_early.ending().await, Ending::Closed(4003));

    // Scaled out after the logout and the disable: the new instance never
    // saw those messages, and knows them all the same.
    let late = d.spawn().await;
    assert_eq!(early.metric("notify_revoked_sessions_held"), 2.0);
    assert_eq!(late.metric("notify_revoked_sessions_held"), 2.0);
    for token in [phone_token, disabled_token] {
        assert_eq!(
            refused(&late.ws_url(), &bearer(token)).await,
            (401, "invalid_token".to_owned())
        );
    }
    // The user's other session is not affected.
    connect_with(&late, &d.session_token(7, laptop))
        .await
        .ping_pong()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_missed_in_a_fanout_gap_still_ends_the_session_there() {
    let d = Deployment::new().await;
    let a = d.spawn_serving_only().await;
    let b = d.spawn().await;
    let session = uuid::Uuid::new_v4();
    let token = d.session_token(7, session);
    let mut on_a = connect_with(&a, &token).await;

    // A's Redis link drops while the session is ended: A misses the message.
    a.lose_fanout().await;
    d.publish(&revoked(7, Some(session))).await;
    eventually(WITHIN, "B fanned it out", || async {
        b.consumed("session.revoked", "published") == 1.0
    })
    .await;
    a.regain_fanout();

    // Back, A applies it: the socket ends as revoked (not as a gap, which
    // would let it reconnect), and the token stays refused.
    assert_eq!(on_a.ending().await, Ending::Closed(4003));
    assert_eq!(
        refused(&a.ws_url(), &bearer(token)).await,
        (401, "invalid_token".to_owned())
    );
}
