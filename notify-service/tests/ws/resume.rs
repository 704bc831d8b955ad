//! Disconnect, miss messages, come back: `resume` replays them in order and
//! once, or says `recovered:false` when history no longer holds them.

use serde_json::{Value, json};

use crate::{
    client::Client,
    helpers::{Deployment, Faults, NotifyApp, WITHIN, eventually, issued},
};

async fn published(app: &NotifyApp, n: f64) {
    eventually(WITHIN, "messages fanned out", || async {
        app.consumed("coupon.issued", "published") == n
    })
    .await;
}

fn coupon_id(frame: &Value) -> i64 {
    assert_eq!(frame["type"], "coupon.issued", "{frame}");
    frame["data"]["couponId"].as_i64().expect("couponId")
}

/// `seq` as (ms, n), ordered like the history stream.
fn seq_of(frame: &Value) -> (u64, u64) {
    let (ms, n) = frame["seq"]
        .as_str()
        .and_then(|s| s.split_once('-'))
        .expect("a seq");
    (ms.parse().expect("ms"), n.parse().expect("n"))
}

/// Connects without ending the resume window (no frame sent after welcome).
async fn reconnect(d: &Deployment, app: &NotifyApp, user: i64) -> Client {
    let mut client = Client::connect(&app.ws_url(), Some(&d.token(user)))
        .await
        .expect("upgrade");
    assert_eq!(client.next_json().await["type"], "welcome");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_back_from_a_disconnect_resumes_missed_messages_in_order_once() {
    let d = Deployment::new().await;
    let app = d.spawn().await;
    let mut client = d.connect(&app, 60).await;
    d.publish(&issued(60, 1)).await;
    let first = client.next_json().await;
    let since = first["seq"].as_str().unwrap().to_owned();
    drop(client);

    // Won while away.
    for coupon in [2, 3] {
        d.publish(&issued(60, coupon)).await;
    }
    published(&app, 3.0).await;

    let mut back = reconnect(&d, &app, 60).await;
    back.send_json(json!({"type": "resume", "since": since}))
        .await;
    let (m2, m3) = (back.next_json().await, back.next_json().await);
    assert_eq!((coupon_id(&m2), coupon_id(&m3)), (2, 3));
    assert!(seq_of(&first) < seq_of(&m2) && seq_of(&m2) < seq_of(&m3));
    let resumed = back.next_json().await;
    assert_eq!(
        resumed,
        json!({"type": "resumed", "recovered": true, "replayed": 2})
    );

    // Live delivery carries on, once.
    d.publish(&issued(60, 4)).await;
    assert_eq!(coupon_id(&back.next_json().await), 4);
    back.ping_pong().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_arriving_during_the_resume_window_follow_the_replay_without_duplicates() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| s.websocket.resume_window_ms = 5_000)
        .await;
    let mut client = d.connect(&app, 61).await;
    d.publish(&issued(61, 1)).await;
    let since = client.next_json().await["seq"].as_str().unwrap().to_owned();
    drop(client);
    d.publish(&issued(61, 2)).await;
    published(&app, 2.0).await;

    let mut back = reconnect(&d, &app, 61).await;
    // Published after the reconnect, before the client asked to resume:
    // held back, so it cannot overtake the replay.
    d.publish(&issued(61, 3)).await;
    published(&app, 3.0).await;
    back.send_json(json!({"type": "resume", "since": since}))
        .await;
    let frames = [back.next_json().await, back.next_json().await];
    assert_eq!(frames.iter().map(coupon_id).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(back.next_json().await["replayed"], 2);
    back.ping_pong().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_resume_gets_live_messages_after_the_window() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| s.websocket.resume_window_ms = 300)
        .await;
    let mut quiet = reconnect(&d, &app, 62).await;
    d.publish(&issued(62, 9)).await;
    assert_eq!(coupon_id(&quiet.next_json().await), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_answers_recovered_false_when_history_was_trimmed_or_is_unknown() {
    let d = Deployment::new().await;
    let app = d
        .spawn_with(Faults::default(), |s| s.fanout.stream_maxlen = 2)
        .await;
    let mut client = d.connect(&app, 63).await;
    d.publish(&issued(63, 1)).await;
    let since = client.next_json().await["seq"].as_str().unwrap().to_owned();
    drop(client);
    for coupon in 2..=4 {
        d.publish(&issued(63, coupon)).await;
    }
    published(&app, 4.0).await;

    // History keeps 3 and 4 only: 2 is lost, so refetch. (On a busy
    // machine 3 and 4 may still be on their way live; they are not the point.)
    let mut back = reconnect(&d, &app, 63).await;
    back.send_json(json!({"type": "resume", "since": since}))
        .await;
    assert_eq!(
        back.next_of("resumed").await,
        json!({"type": "resumed", "recovered": false, "replayed": 0})
    );

    // A user without any history cannot be recovered either.
    let mut stranger = reconnect(&d, &app, 64).await;
    stranger
        .send_json(json!({"type": "resume", "since": since}))
        .await;
    assert_eq!(stranger.next_json().await["recovered"], false);

    // From the newest seq on, nothing is missing.
    let mut current = d.connect(&app, 63).await;
    d.publish(&issued(63, 5)).await;
    let latest = current.next_json().await["seq"]
        .as_str()
        .unwrap()
        .to_owned();
    current
        .send_json(json!({"type": "resume", "since": latest}))
        .await;
    assert_eq!(
        current.next_json().await,
        json!({"type": "resumed", "recovered": true, "replayed": 0})
    );
}
