//! A bounded wait for an asynchronous effect, never a bare sleep.

use std::{future::Future, time::Duration};

/// How often the condition is checked.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// Checks `check` until it holds; panics naming `what` once `within` has
/// passed without it holding.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}
