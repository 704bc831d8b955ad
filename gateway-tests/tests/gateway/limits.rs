//! Per-user limits hold for the user, not per instance: behind two
//! coupon-service instances one user's burst gets the configured allowance
//! once (the shared GCRA in Redis), not once per instance.

use std::time::Instant;

use futures::future::join_all;

use crate::helpers::{ISSUE_ROUTE, Options, Stack};

const BURST: u32 = 10;
const PRESSES: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_burst_is_held_to_the_configured_limit_across_both_instances() {
    let stack = Stack::start_with(Options {
        coupon_env: vec![
            ("APP_RATE_LIMIT__ISSUE_PER_SECOND".into(), "1".into()),
            ("APP_RATE_LIMIT__ISSUE_BURST".into(), BURST.to_string()),
        ],
        ..Options::default()
    })
    .await;
    let event_id = stack.create_event(1_000, 1).await;
    let (_, token) = stack.create_users(1).await.remove(0);

    let started = Instant::now();
    let statuses: Vec<u16> = join_all((0..PRESSES).map(|_| async {
        stack
            .issue(&token, event_id, None)
            .await
            .expect("issue")
            .status()
            .as_u16()
    }))
    .await;
    let elapsed = started.elapsed().as_secs_f64();

    let limited = statuses.iter().filter(|s| **s == 429).count();
    let through = PRESSES - limited;
    // The allowance refills one per second while the presses are in flight.
    let allowed = BURST as usize + elapsed.ceil() as usize;
    assert!(
        through <= allowed,
        "{through} of {PRESSES} presses got past the limit in {elapsed:.1} s (burst {BURST}, 1/s): {statuses:?}"
    );
    assert!(
        through >= BURST as usize,
        "the burst itself passes: {statuses:?}"
    );
    // Both instances answered, so the limit really held across them.
    for instance in &stack.coupons {
        let answered = stack
            .metric(instance.port, "coupon_http_requests_total", ISSUE_ROUTE)
            .await;
        assert!(answered > 0.0, "{} answered no press", instance.name);
    }
}
