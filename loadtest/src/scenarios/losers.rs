//! `losers`: every user already holds the one coupon an event allows and
//! presses again, C clients for T seconds. Each press is decided in Redis
//! (the reserve script answers 409 `user_limit_reached`), unlike
//! `rejections`, whose sold-out answers come from memory. The headline is
//! refusals per second: the cost of an issue that loses.

use std::{sync::Arc, time::Duration};

use serde_json::json;

use super::{ScenarioReport, Window, fire_once, sustained::hammer};
use crate::{http, invariants, setup, target::Target};

pub async fn run(
    target: &Arc<Target>,
    users: usize,
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
) -> anyhow::Result<ScenarioReport> {
    let admin = setup::admin_token(target).await?;
    let people = setup::users(target, users.max(1)).await?;
    // Stock to spare: only the per-user limit refuses.
    let event = setup::event(target, &admin, i64::try_from(users)? * 2 + 10, 1).await?;
    let first = fire_once(target, &people.tokens, event, concurrency, None).await;
    let owned = http::issued(&first);
    anyhow::ensure!(
        owned.len() == people.tokens.len(),
        "every user should hold one coupon first, {} of {} do",
        owned.len(),
        people.tokens.len()
    );
    let (recorder, issued, elapsed) =
        hammer(target, &people.tokens, event, concurrency, duration, rate).await;
    let mut violations = invariants::check(
        target,
        event,
        &invariants::Observed {
            issued: owned
                .iter()
                .copied()
                .chain(issued.iter().copied())
                .collect(),
            ..Default::default()
        },
    )
    .await?;
    if !issued.is_empty() {
        violations.push(format!(
            "losers: {} coupons issued beyond the per-user limit",
            issued.len()
        ));
    }
    let refused = recorder.count("409 user_limit_reached");
    Ok(ScenarioReport::timed(
        "losers",
        json!({"users": users, "concurrency": concurrency, "duration_secs": duration.as_secs(), "rate": rate, "event_id": event}),
        Window { recorder, elapsed },
        "refused/s (in Redis)",
        refused,
        json!({}),
        violations,
    ))
}
