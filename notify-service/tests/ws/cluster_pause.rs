//! A Redis Cluster whose primaries stop taking writes for longer than the
//! client's deadline (`CLIENT PAUSE … WRITE`: a slow shard, a failover
//! under way) while sockets wait for their pushes. The fan-out calls time
//! out, the cluster client and the consumer run them again, and the first
//! runs happen once the pause ends — the retries find them done. Every win,
//! sell-out and revocation must still arrive live, each once.
//!
//! Runs in the test command's cluster pass only, on its own: it pauses
//! every primary of the shared cluster.

use std::time::Duration;

use test_support::test_redis_nodes;

use crate::{
    client::Ending,
    helpers::{Deployment, WITHIN, connect_with, issued, revoked, soldout},
};

/// Longer than the instance's Redis deadline (`redis.timeout_ms`, 1 s).
const PAUSE_MS: u64 = 1200;

fn redis_cli(port: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", port])
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Pauses writes on every primary of the cluster.
fn pause_primaries(seed: &str) {
    let nodes = redis_cli(seed, &["CLUSTER", "NODES"]);
    let primaries: Vec<String> = nodes
        .lines()
        .filter(|line| line.contains("master") && !line.contains("fail"))
        .filter_map(|line| {
            let address = line.split(' ').nth(1)?;
            Some(address.split(['@', ':']).nth(1)?.to_owned())
        })
        .collect();
    assert!(!primaries.is_empty(), "no primary in {nodes}");
    for port in &primaries {
        let answer = redis_cli(port, &["CLIENT", "PAUSE", &PAUSE_MS.to_string(), "WRITE"]);
        assert!(answer.contains("OK"), "CLIENT PAUSE on {port}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test command's Redis Cluster (TEST_REDIS_NODES); scripts/dev test runs it alone"]
async fn pushes_reach_open_sockets_once_while_the_primaries_pause_past_the_deadline() {
    let nodes = test_redis_nodes().expect("TEST_REDIS_NODES: run by scripts/dev test");
    let seed = nodes[0].rsplit(':').next().expect("seed port").to_owned();
    let d = Deployment::new().await;
    let a = d.spawn().await;
    let b = d.spawn().await;
    let mut buyer = d.connect(&a, 71).await;

    for round in 0..5_i64 {
        let event_id = 100 + round;
        d.load_event(event_id, 10, 1).await;
        let mut watcher = d.watcher(&b, 72, event_id).await;
        let session = uuid::Uuid::new_v4();
        let mut phone = connect_with(&b, &d.session_token(73, session)).await;

        pause_primaries(&seed);
        let win = issued(71, 9000 + round);
        let sold = soldout(event_id);
        d.publish(&win).await;
        d.publish(&sold).await;
        d.publish(&revoked(73, Some(session))).await;

        let frame = buyer.next_json_within(WITHIN).await;
        assert_eq!(frame["id"], win.id.to_string(), "round {round}: {frame}");
        let frame = watcher.next_of("coupon.soldout").await;
        assert_eq!(frame["id"], sold.id.to_string(), "round {round}: {frame}");
        assert_eq!(
            phone.ending_within(WITHIN).await,
            Ending::Closed(4003),
            "round {round}: the revoked session's socket"
        );
        // Once each: nothing else is on its way to either socket.
        tokio::time::sleep(Duration::from_millis(PAUSE_MS)).await;
        buyer.ping_pong().await;
        watcher.ping_pong().await;
    }
}
