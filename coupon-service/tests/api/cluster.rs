//! Failover on a Redis Cluster: the primary holding a live event's slot is
//! killed mid-sale. Its replica takes over; issuance for that event answers
//! 503 for a moment and then sells on, nothing oversold and nothing lost
//! (if the replica missed the latest writes, the database constraints and
//! the rebuild from PostgreSQL set it right).
//!
//! Runs in the test command's cluster pass only (it kills a node of the
//! shared cluster, then restarts it as it was, which rejoins as a replica).

use std::{collections::HashMap, time::Duration};

use futures::future::join_all;
use test_support::test_redis_nodes;

use crate::helpers::{eventually, spawn_app};

/// One node as `CLUSTER NODES` lists it.
struct Node {
    port: u16,
    primary: bool,
    slots: Vec<(u16, u16)>,
}

async fn cluster_nodes(port: u16) -> Vec<Node> {
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("a cluster node answers");
    let text: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut c)
        .await
        .expect("CLUSTER NODES");
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let port = fields.get(1)?.split(['@', ':']).nth(1)?.parse().ok()?;
            let flags = fields.get(2)?;
            let slots = fields
                .iter()
                .skip(8)
                .filter_map(|range| {
                    let (a, b) = range.split_once('-').unwrap_or((range, range));
                    Some((a.parse().ok()?, b.parse().ok()?))
                })
                .collect();
            Some(Node {
                port,
                primary: flags.contains("master") && !flags.contains("fail"),
                slots,
            })
        })
        .collect()
}

async fn key_slot(port: u16, key: &str) -> u16 {
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("a cluster node answers");
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(&mut c)
        .await
        .expect("CLUSTER KEYSLOT")
}

/// What it takes to start the node again as it was (Redis rewrites its
/// process title, so the command line cannot be read back): its settings,
/// its cluster config file kept, so it rejoins the cluster it left.
fn restart_args(port: u16) -> Vec<String> {
    let get = |name: &str| {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string(), "CONFIG", "GET", name])
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    let mut args = vec!["--port".to_owned(), port.to_string()];
    for name in [
        "bind",
        "dir",
        "cluster-config-file",
        "cluster-node-timeout",
        "logfile",
        "pidfile",
    ] {
        args.push(format!("--{name}"));
        args.push(get(name));
    }
    for (name, value) in [
        ("cluster-enabled", "yes"),
        ("save", ""),
        ("appendonly", "no"),
        ("daemonize", "yes"),
    ] {
        args.push(format!("--{name}"));
        args.push(value.to_owned());
    }
    args
}

fn node_pid(port: u16) -> u32 {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "INFO", "server"])
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
        .expect("process_id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test command's Redis Cluster (TEST_REDIS_NODES); scripts/dev test runs it"]
async fn a_primary_killed_mid_sale_fails_over_and_the_sale_goes_on_exactly() {
    let nodes = test_redis_nodes().expect("TEST_REDIS_NODES: run by scripts/dev test");
    let seed: u16 = nodes[0]
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("seed port");
    let app = spawn_app().await;
    let total = 200;
    let event = app.create_event(total, 1).await;
    let users = app.create_users(600).await;
    eventually(Duration::from_secs(10), "the event preloaded", || async {
        app.redis_remaining(event.id).await.is_some()
    })
    .await;

    // The primary that serves the event's slot.
    let slot = key_slot(seed, &app.state.redis.keys(event.id).stock()).await;
    let victim = cluster_nodes(seed)
        .await
        .into_iter()
        .find(|n| n.primary && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
        .expect("a primary serves the slot")
        .port;
    let pid = node_pid(victim);
    let restart = restart_args(victim);

    // Half the stock's worth of buyers, then the kill, then the rest in
    // waves while the replica takes over.
    let app = &app;
    let press = |user: i64| async move {
        app.issue(&app.token(user), event.id, None)
            .await
            .status()
            .as_u16()
    };
    let mut statuses: Vec<u16> = join_all(users[..100].iter().map(|u| press(*u))).await;
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    let mut waves = 0;
    for chunk in users[100..].chunks(40) {
        statuses.extend(join_all(chunk.iter().map(|u| press(*u))).await);
        waves += 1;
        if statuses.iter().filter(|s| **s == 201).count() >= total as usize {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Restore the shared cluster as it was, once the replica has taken over
    // (a primary restarted empty before that would hand its replica empty
    // data): the node comes back empty and rejoins as a replica.
    eventually(
        Duration::from_secs(30),
        "a replica took over the slot",
        || async {
            cluster_nodes(seed).await.iter().any(|n| {
                n.primary
                    && n.port != victim
                    && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
            })
        },
    )
    .await;
    let restarted = std::process::Command::new("redis-server")
        .args(&restart)
        .status()
        .expect("restart the killed node");
    assert!(restarted.success(), "redis-server {restart:?}");

    let mut counts: HashMap<u16, usize> = HashMap::new();
    for s in &statuses {
        *counts.entry(*s).or_default() += 1;
    }
    let issued = counts.get(&201).copied().unwrap_or(0);
    assert!(
        counts.keys().all(|s| [201, 410, 503].contains(s)),
        "only 201, 410 sold_out and 503 during the failover: {counts:?}"
    );
    assert!(
        counts.contains_key(&503),
        "the failover was felt: {counts:?} over {waves} waves"
    );
    assert_eq!(
        app.coupon_count(event.id).await,
        issued as i64,
        "every 201 is a committed coupon, and no other: {counts:?}"
    );
    assert!(issued <= total as usize, "no oversell: {counts:?}");
    assert_eq!(app.max_coupons_per_user(event.id).await, 1);
    assert_eq!(
        issued, total as usize,
        "the sale went on to the last coupon: {counts:?}"
    );
    eventually(
        Duration::from_secs(30),
        "the killed node is back as a replica",
        || async {
            cluster_nodes(seed)
                .await
                .iter()
                .any(|n| n.port == victim && !n.primary)
        },
    )
    .await;
}
