//! The whole path a user takes, through the gateway only.

use std::time::Duration;

use serde_json::json;

use crate::helpers::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_subscribes_and_issues_over_https_gets_the_push_over_wss_and_a_watcher_sees_sold_out()
 {
    let stack = Stack::start().await;
    let event_id = stack.create_event(1, 1).await;
    let (winner_id, winner_token) = stack.sign_up("winner").await;
    let (_watcher_id, watcher_token) = stack.sign_up("watcher").await;

    // The winner authenticates on the upgrade request, the watcher (as a
    // browser would) with its first frame.
    let mut winner = stack.ws(Some(&winner_token)).await;
    let welcome = winner.next_of("welcome").await;
    assert_eq!(welcome["user_id"], winner_id);
    let mut watcher = stack.ws(None).await;
    watcher
        .send_json(json!({"type": "auth", "token": watcher_token}))
        .await;
    watcher.next_of("welcome").await;
    for socket in [&mut winner, &mut watcher] {
        let subscribed = socket.subscribe(event_id).await;
        assert_eq!(subscribed["event_id"], event_id);
        assert_eq!(subscribed["remaining"], 1, "{subscribed}");
    }

    let response = stack
        .issue(&winner_token, event_id, None)
        .await
        .expect("issue");
    assert_eq!(
        response.version(),
        reqwest::Version::HTTP_2,
        "nginx speaks HTTP/2"
    );
    assert_eq!(response.status(), 201);
    let issued: serde_json::Value = response.json().await.expect("JSON");
    let code = issued["coupon"]["code"].as_str().expect("coupon code");

    let pushed = winner.next_of("coupon.issued").await;
    assert_eq!(pushed["data"]["couponCode"], code, "{pushed}");
    assert_eq!(pushed["data"]["userId"], winner_id);
    assert!(
        pushed["seq"].is_string(),
        "personal frames carry seq: {pushed}"
    );
    for socket in [&mut winner, &mut watcher] {
        let soldout = socket.next_of("coupon.soldout").await;
        assert_eq!(soldout["data"]["eventId"], event_id, "{soldout}");
    }
    // Nobody else was told about the winner's coupon.
    assert!(
        watcher
            .drain_of("coupon.issued", Duration::from_millis(300))
            .await
            .is_empty()
    );

    let late = stack
        .issue(&watcher_token, event_id, None)
        .await
        .expect("issue");
    assert_eq!(late.status(), 410);
    let body: serde_json::Value = late.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "sold_out");
}
