//! The invariants of docs/contract.md §6, checked after every run against PostgreSQL,
//! Redis and what the sockets received. Each violation is a sentence.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use crate::{target::Target, ws::Socket};

/// What the run saw from the outside.
#[derive(Default)]
pub struct Observed<'a> {
    /// Coupon ids of every 201 the clients received.
    pub issued: Vec<i64>,
    /// Sockets that must each receive `coupon.issued` for their user's coupons.
    pub devices: &'a [Socket],
    /// Sockets that watched the event and must each receive one soldout.
    pub watchers: &'a [Socket],
}

/// How long asynchronous effects (pending cleared, pushes) may take.
const SETTLE: Duration = Duration::from_secs(15);

pub async fn check(
    target: &Target,
    event_id: i64,
    observed: &Observed<'_>,
) -> anyhow::Result<Vec<String>> {
    let mut violations = Vec::new();
    let (total, max_per_user): (i32, i32) =
        sqlx::query_as("SELECT total_count, max_per_user FROM coupon_events WHERE id = $1")
            .bind(event_id)
            .fetch_one(&target.db)
            .await?;
    let (rows, tickets, top_user): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT stock_seq), \
           COALESCE((SELECT max(n) FROM (SELECT count(*) AS n FROM user_coupons WHERE event_id = $1 GROUP BY user_id) t), 0) \
         FROM user_coupons WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&target.db)
    .await?;
    // 1. No oversell, tickets unique.
    if rows > i64::from(total) {
        violations.push(format!(
            "invariant 1: {rows} coupons for a stock of {total}"
        ));
    }
    if tickets != rows {
        violations.push(format!(
            "invariant 1: {rows} coupons share {tickets} tickets"
        ));
    }
    // 2. Per-user limit.
    if top_user > i64::from(max_per_user) {
        violations.push(format!(
            "invariant 2: a user holds {top_user} coupons, limit {max_per_user}"
        ));
    }
    // 3. No lost write.
    let found: i64 = sqlx::query_scalar("SELECT count(*) FROM user_coupons WHERE id = ANY($1)")
        .bind(&observed.issued)
        .fetch_one(&target.db)
        .await?;
    let acknowledged = observed.issued.iter().collect::<HashSet<_>>().len();
    if found != i64::try_from(acknowledged)? {
        violations.push(format!(
            "invariant 3: {acknowledged} coupons acknowledged with 201, {found} in PostgreSQL"
        ));
    }
    // 5. Redis agrees with PostgreSQL once pending reservations settle.
    let (remaining, pending) = settle_redis(target, event_id, i64::from(total) - rows).await?;
    if remaining != Some(i64::from(total) - rows) {
        violations.push(format!(
            "invariant 5: Redis remaining {remaining:?}, PostgreSQL says {}",
            i64::from(total) - rows
        ));
    }
    if pending > 0 {
        violations.push(format!("invariant 5: {pending} reservations still pending"));
    }
    // 4. Every coupon reaches every connected device of its user, once.
    if !observed.devices.is_empty() {
        violations.extend(check_devices(target, event_id, observed.devices).await?);
    }
    // 6. Every watcher gets the one soldout.
    if !observed.watchers.is_empty() && rows == i64::from(total) {
        violations.extend(check_watchers(event_id, observed.watchers).await);
    }
    Ok(violations)
}

async fn settle_redis(
    target: &Target,
    event_id: i64,
    expected: i64,
) -> anyhow::Result<(Option<i64>, usize)> {
    let mut c = target.redis.get_multiplexed_async_connection().await?;
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let remaining: Option<i64> = redis::cmd("GET")
            .arg(target.event_keys(event_id).stock())
            .query_async(&mut c)
            .await?;
        let fields: Vec<String> = redis::cmd("HKEYS")
            .arg(target.event_keys(event_id).pending())
            .query_async(&mut c)
            .await?;
        let pending = fields.iter().filter(|f| f.as_str() != "_").count();
        if (pending == 0 && remaining == Some(expected)) || tokio::time::Instant::now() >= deadline
        {
            return Ok((remaining, pending));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn check_devices(
    target: &Target,
    event_id: i64,
    devices: &[Socket],
) -> anyhow::Result<Vec<String>> {
    let users: Vec<i64> = devices
        .iter()
        .filter_map(|d| d.user_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let owned: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT user_id, id FROM user_coupons WHERE event_id = $1 AND user_id = ANY($2)",
    )
    .bind(event_id)
    .bind(&users)
    .fetch_all(&target.db)
    .await?;
    let mut by_user: HashMap<i64, HashSet<i64>> = HashMap::new();
    for (user, coupon) in owned {
        by_user.entry(user).or_default().insert(coupon);
    }
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let mut violations = Vec::new();
        // Devices are signed in: an anonymous socket has no user to check.
        for (device, user) in devices.iter().filter_map(|d| Some((d, d.user_id?))) {
            let expected = by_user.get(&user).cloned().unwrap_or_default();
            let mut seen: HashMap<i64, usize> = HashMap::new();
            for frame in device.of_type("coupon.issued") {
                let data = &frame.frame()["data"];
                if data["eventId"] == event_id
                    && let Some(id) = data["couponId"].as_i64()
                {
                    *seen.entry(id).or_default() += 1;
                }
            }
            for coupon in &expected {
                match seen.get(coupon) {
                    None => violations.push(format!(
                        "invariant 4: user {user} did not get coupon {coupon} on a device"
                    )),
                    Some(n) if *n > 1 => violations.push(format!(
                        "invariant 4: user {user} got coupon {coupon} {n} times on one device"
                    )),
                    Some(_) => {}
                }
            }
            for coupon in seen.keys().filter(|c| !expected.contains(c)) {
                violations.push(format!(
                    "invariant 4: user {user} was told of coupon {coupon} it does not hold"
                ));
            }
        }
        if violations.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(violations);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Invariant 6 for a sell-out: every one of `of` sockets (`who`) got
/// `coupon.soldout` once; `missing` got none, `doubled` more than one.
pub fn soldout_violations(who: &str, missing: usize, doubled: usize, of: usize) -> Vec<String> {
    let mut violations = Vec::new();
    if missing > 0 {
        violations.push(format!(
            "invariant 6: {missing} of {of} {who} never got coupon.soldout"
        ));
    }
    if doubled > 0 {
        violations.push(format!(
            "invariant 6: {doubled} {who} got coupon.soldout more than once"
        ));
    }
    violations
}

async fn check_watchers(event_id: i64, watchers: &[Socket]) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let counts: Vec<usize> = watchers
            .iter()
            .map(|w| {
                w.of_type("coupon.soldout")
                    .iter()
                    .filter(|f| f.frame()["data"]["eventId"] == event_id)
                    .count()
            })
            .collect();
        let missing = counts.iter().filter(|n| **n == 0).count();
        let doubled = counts.iter().filter(|n| **n > 1).count();
        if (missing == 0 && doubled == 0) || tokio::time::Instant::now() >= deadline {
            return soldout_violations("watchers", missing, doubled, watchers.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
