//! Property test of the issuance model against the real Redis scripts and
//! PostgreSQL: random sequences of issue / retry / give-back / crash /
//! rebuild keep invariants 1, 2 and 5 of docs/contract.md §6.

use std::time::Duration;

use coupon_service::issuance::{background::sweep_once, reservation::ReserveOutcome};
use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};

use crate::helpers::{TestApp, spawn_app};

#[derive(Debug, Clone)]
enum Op {
    /// A normal request, optionally with an idempotency key (a retry when the
    /// key repeats).
    Issue { user: usize, key: Option<u8> },
    /// Reserved, then the database failed: the reservation is given back.
    GiveBack { user: usize },
    /// Reserved, then the instance died: the reservation is left pending.
    Crash { user: usize },
    /// Redis lost the event's keys.
    LoseRedis,
}

const USERS: usize = 6;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..USERS, proptest::option::of(0u8..3)).prop_map(|(user, key)| Op::Issue { user, key }),
        2 => (0..USERS).prop_map(|user| Op::GiveBack { user }),
        1 => (0..USERS).prop_map(|user| Op::Crash { user }),
        1 => Just(Op::LoseRedis),
    ]
}

#[test]
fn random_issue_retry_give_back_crash_and_rebuild_sequences_keep_the_invariants() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(spawn_app());
    let users = runtime.block_on(app.create_users(USERS as i64));
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (1i32..8, 1i32..4, proptest::collection::vec(op(), 1..30));
    runner
        .run(&strategy, |(total, max_per_user, ops)| {
            runtime.block_on(run_case(&app, &users, total, max_per_user, &ops))
        })
        .unwrap();
}

async fn run_case(
    app: &TestApp,
    users: &[i64],
    total: i32,
    max_per_user: i32,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let event = app.create_event(total, max_per_user).await;
    let redis = &app.state.redis;
    for op in ops {
        match op {
            Op::Issue { user, key } => {
                // Keys are per case: reusing one for another event is (rightly) a 422.
                let key = key.map(|k| format!("key-{}-{k}", event.id));
                let status = app
                    .issue(&app.token(users[*user]), event.id, key.as_deref())
                    .await
                    .status()
                    .as_u16();
                prop_assert!([201, 409, 410, 503].contains(&status), "status {}", status);
            }
            Op::GiveBack { user } | Op::Crash { user } => {
                let mut outcome = redis
                    .reserve(event.id, users[*user], "")
                    .await
                    .map_err(fail)?;
                if outcome == ReserveOutcome::NotLoaded {
                    coupon_service::issuance::rebuild::ensure_loaded(
                        redis,
                        &app.state.db,
                        event.id,
                    )
                    .await
                    .map_err(fail)?;
                    outcome = redis
                        .reserve(event.id, users[*user], "")
                        .await
                        .map_err(fail)?;
                }
                if let (ReserveOutcome::Reserved(r), Op::GiveBack { .. }) = (outcome, op) {
                    prop_assert!(redis.release(&r, true, true).await.map_err(fail)?);
                    // Giving back twice changes nothing.
                    prop_assert!(!redis.release(&r, true, true).await.map_err(fail)?);
                }
            }
            Op::LoseRedis => app.flush_event_keys(event.id).await,
        }
    }
    // The sweeper settles what crashed instances left behind.
    let metrics = coupon_service::metrics::Metrics::new().map_err(fail)?;
    sweep_once(&app.state.db, redis, &metrics, Duration::ZERO)
        .await
        .map_err(fail)?;
    coupon_service::issuance::rebuild::ensure_loaded(redis, &app.state.db, event.id)
        .await
        .map_err(fail)?;

    let count = app.coupon_count(event.id).await;
    prop_assert!(
        count <= i64::from(total),
        "invariant 1: {} coupons for stock {}",
        count,
        total
    );
    let per_user = app.max_coupons_per_user(event.id).await;
    prop_assert!(
        per_user <= i64::from(max_per_user),
        "invariant 2: {} > {}",
        per_user,
        max_per_user
    );
    prop_assert_eq!(
        app.redis_remaining(event.id).await,
        Some(i64::from(total) - count),
        "invariant 5: remaining"
    );
    prop_assert_eq!(
        app.redis_pending(event.id).await,
        0,
        "invariant 5: nothing pending"
    );
    Ok(())
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}
