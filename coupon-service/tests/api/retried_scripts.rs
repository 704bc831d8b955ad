//! A Redis client may run one script call twice: redis-rs' cluster client
//! retries a call whose reply did not come in time (a slow shard, a
//! connection lost in a failover) although the first run happened. The
//! scripts that change state must answer the second run as the first, not
//! act again. Each test sends the same call (keys and arguments) twice, as
//! such a retry does.

use contract::redis_keys::{EventKeys, rate_limit_key};
use redis::Script;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserve_call_run_twice_reserves_once_and_answers_the_same_reservation() {
    let app = spawn_app().await;
    let event = app.create_event(10, 1).await;
    let users = app.create_users(2).await;
    // The first sale loads the event's state into Redis.
    assert_eq!(app.issue_once_each(&users[..1], event.id).await, [201]);

    let keys = EventKeys::new(&app.redis_prefix, event.id);
    let script = Script::new(include_str!("../../src/issuance/reserve.lua"));
    let mut call = script.prepare_invoke();
    for key in keys.state() {
        call.key(key);
    }
    call.key(keys.idempotency(users[1], ""))
        .key(keys.call("00000000000000aa"))
        .arg(users[1])
        .arg("")
        .arg(86_400)
        .arg(30);
    let mut c = test_support::redis_connection().await;
    let first: Vec<i64> = call.invoke_async(&mut c).await.expect("first run");
    let second: Vec<i64> = call.invoke_async(&mut c).await.expect("second run");
    assert_eq!(first[0], 1, "reserved: {first:?}");
    assert_eq!(
        second, first,
        "the second run answers with the first run's reservation"
    );
    assert_eq!(app.redis_remaining(event.id).await, Some(8));
    assert_eq!(app.redis_pending(event.id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_rate_limit_call_run_twice_charges_once() {
    let app = spawn_app().await;
    let key = rate_limit_key(&app.redis_prefix, "issue", "user:1");
    let script = Script::new(include_str!("../../src/rate_limit/gcra.lua"));
    let mut c = test_support::redis_connection().await;
    // One request a minute, no burst: a second charge would be refused.
    let mut call = script.prepare_invoke();
    call.key(&key)
        .arg(60_000_000)
        .arg(1)
        .arg("00000000000000bb");
    let first: i64 = call.invoke_async(&mut c).await.expect("first run");
    let second: i64 = call.invoke_async(&mut c).await.expect("second run");
    assert_eq!((first, second), (0, 0), "the same call passes twice");
    // Another call (a new request) is refused: the limit still holds.
    let mut other = script.prepare_invoke();
    other
        .key(&key)
        .arg(60_000_000)
        .arg(1)
        .arg("00000000000000cc");
    let third: i64 = other.invoke_async(&mut c).await.expect("another call");
    assert!(third > 0, "a new request is charged: wait {third} µs");
}
