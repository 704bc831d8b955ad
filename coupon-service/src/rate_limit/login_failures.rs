//! Per-account login throttle: after `limit` attempts on one account that
//! did not succeed within a window, further attempts on it are refused (429)
//! before any password work, whatever address they come from. A success
//! clears the account's count. The window starts at the first counted
//! attempt; the table is a bounded cache whose entries expire with their
//! window, so a flood of made-up emails cannot grow memory.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use crate::error::ApiError;

pub struct LoginFailures {
    accounts: moka::sync::Cache<Box<str>, Arc<Window>>,
    limit: u32,
    window: Duration,
}

struct Window {
    started: Instant,
    /// Failed attempts plus attempts still running.
    counted: AtomicU32,
}

/// One attempt being checked. Dropped without a verdict (the request failed
/// for another reason, e.g. the password gate was busy), it is not counted.
pub struct Attempt<'a> {
    throttle: &'a LoginFailures,
    account: Box<str>,
    window: Arc<Window>,
    settled: bool,
}

impl LoginFailures {
    pub fn new(limit: u32, window: Duration, max_accounts: u64) -> Self {
        Self {
            accounts: moka::sync::Cache::builder()
                .max_capacity(max_accounts)
                .time_to_live(window)
                .build(),
            limit,
            window,
        }
    }

    /// Counts an attempt on `account`, or refuses it with the time left in
    /// the account's window when `limit` attempts are already counted.
    pub fn begin(&self, account: &str) -> Result<Attempt<'_>, ApiError> {
        let window = self.accounts.get_with(account.into(), || {
            Arc::new(Window {
                started: Instant::now(),
                counted: AtomicU32::new(0),
            })
        });
        let claimed = window
            .counted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            });
        if claimed.is_err() {
            let left = self.window.saturating_sub(window.started.elapsed());
            return Err(ApiError::RateLimited {
                retry_after_secs: (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1),
            });
        }
        Ok(Attempt {
            throttle: self,
            account: account.into(),
            window,
            settled: false,
        })
    }

    /// Accounts currently remembered.
    pub fn len(&self) -> u64 {
        self.accounts.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops expired entries now (moka otherwise does it lazily).
    pub fn run_pending_tasks(&self) {
        self.accounts.run_pending_tasks();
    }
}

impl Attempt<'_> {
    /// The password was wrong: the attempt stays counted.
    pub fn failed(mut self) {
        self.settled = true;
    }

    /// The password was right: the account starts afresh.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.throttle.accounts.invalidate(&self.account);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.window.counted.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(result: Result<Attempt<'_>, ApiError>) -> u64 {
        match result {
            Err(ApiError::RateLimited { retry_after_secs }) => retry_after_secs,
            Err(other) => panic!("expected 429, got {other:?}"),
            Ok(_) => panic!("expected 429, got an attempt"),
        }
    }

    #[test]
    fn failures_past_the_limit_are_refused_for_that_account_only() {
        let t = LoginFailures::new(2, Duration::from_secs(60), 100);
        t.begin("a@x.test").unwrap().failed();
        t.begin("a@x.test").unwrap().failed();
        let wait = retry_after(t.begin("a@x.test"));
        assert!((59..=60).contains(&wait), "{wait}");
        t.begin("b@x.test").unwrap().failed();
    }

    #[test]
    fn a_success_clears_the_count_and_an_unsettled_attempt_is_not_counted() {
        let t = LoginFailures::new(2, Duration::from_secs(60), 100);
        t.begin("a@x.test").unwrap().failed();
        t.begin("a@x.test").unwrap().succeeded();
        t.begin("a@x.test").unwrap().failed();
        drop(t.begin("a@x.test").unwrap());
        t.begin("a@x.test").unwrap().failed();
        assert!(t.begin("a@x.test").is_err());
    }

    #[test]
    fn attempts_running_at_once_count_against_the_limit() {
        let t = LoginFailures::new(2, Duration::from_secs(60), 100);
        let first = t.begin("a@x.test").unwrap();
        let second = t.begin("a@x.test").unwrap();
        assert!(t.begin("a@x.test").is_err());
        first.failed();
        second.failed();
    }

    #[test]
    fn the_window_ends() {
        let t = LoginFailures::new(1, Duration::from_millis(50), 100);
        t.begin("a@x.test").unwrap().failed();
        assert!(t.begin("a@x.test").is_err());
        std::thread::sleep(Duration::from_millis(120));
        t.begin("a@x.test").unwrap().failed();
    }
}
