//! Failed-login throttle, before any password work, in two tiers:
//!
//! - per account and client address (IPv6: /64): after `per_address`
//!   failures within a window, that address gets 429 on that account, and
//!   no other address does — wrong guesses from a competitor's address do
//!   not lock the owner out;
//! - per account, all addresses together: past `per_account` failures
//!   within a window (a guessing run spread over many addresses), only the
//!   addresses the account signed in from within `known_for` still get in,
//!   each with its own `per_address` allowance — the owner at home keeps
//!   signing in, the run is refused.
//!
//! A success clears its address's count, not the account's. Attempts still
//! running count as failures until they settle, so a burst of guesses at
//! once cannot overshoot either limit; one that would reach a limit only
//! because of them waits for them to settle (at most `wait`, then 503)
//! rather than being refused — forty logins at once with the right password
//! all get in. A window starts at the first failure it counts. Each table is
//! a bounded cache whose entries go after a window without use (known
//! addresses after `known_for`), so a flood of made-up emails or addresses
//! cannot grow memory; the counts are this instance's.

use std::{
    pin::pin,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use moka::sync::Cache;
use service_kit::client_address::AddressKey;
use tokio::sync::Notify;

use crate::error::ApiError;

/// An account (normalised email) and the address an attempt came from
/// (`None`: unknown).
type PairKey = (Box<str>, Option<AddressKey>);

/// The limits, see the module's doc.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_address: u32,
    pub per_account: u32,
    pub window: Duration,
    /// How long an address the account signed in from is exempt from the
    /// account's ceiling; zero: none is.
    pub known_for: Duration,
    /// How long an attempt waits for attempts in flight to settle.
    pub wait: Duration,
    /// Entries each table holds at most.
    pub max_entries: u64,
}

pub struct LoginFailures {
    pairs: Cache<PairKey, Arc<Window>>,
    accounts: Cache<Box<str>, Arc<Window>>,
    known: Option<Cache<PairKey, ()>>,
    limits: Limits,
}

#[derive(Default)]
struct Window {
    counts: Mutex<Counts>,
    /// An attempt of this window settled: waiters look again.
    settled: Notify,
}

#[derive(Default)]
struct Counts {
    failed: u32,
    running: u32,
    /// The first failure counted.
    since: Option<Instant>,
}

impl Counts {
    /// Forgets the failures once their window has ended.
    fn current(&mut self, window: Duration) -> &mut Self {
        if self.since.is_some_and(|since| since.elapsed() >= window) {
            self.failed = 0;
            self.since = None;
        }
        self
    }

    fn left(&self, window: Duration) -> Duration {
        self.since
            .map_or(window, |since| window.saturating_sub(since.elapsed()))
    }

    fn fail(&mut self) {
        self.failed = self.failed.saturating_add(1);
        self.since.get_or_insert_with(Instant::now);
    }
}

impl Window {
    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

enum Claim {
    Granted,
    /// The limit is reached; this long until its window ends.
    Refused(Duration),
    /// Only attempts in flight stand in the way.
    Busy,
}

/// One attempt being checked. Dropped without a verdict (the request failed
/// for another reason, e.g. the password gate was busy), it is not counted.
pub struct Attempt<'a> {
    throttle: &'a LoginFailures,
    key: PairKey,
    pair: Arc<Window>,
    account: Arc<Window>,
    settled: bool,
}

impl LoginFailures {
    pub fn new(limits: Limits) -> Self {
        let max = limits.max_entries;
        Self {
            pairs: Cache::builder()
                .max_capacity(max)
                .time_to_idle(limits.window)
                .build(),
            accounts: Cache::builder()
                .max_capacity(max)
                .time_to_idle(limits.window)
                .build(),
            known: (!limits.known_for.is_zero()).then(|| {
                Cache::builder()
                    .max_capacity(max)
                    .time_to_live(limits.known_for)
                    .build()
            }),
            limits,
        }
    }

    /// Counts an attempt on `account` from `address`, or refuses it (429)
    /// with the time left in the window of the limit it reached. Waits for
    /// attempts in flight when only they stand in the way (503 past
    /// `limits.wait`).
    pub async fn begin(
        &self,
        account: &str,
        address: Option<AddressKey>,
    ) -> Result<Attempt<'_>, ApiError> {
        let key: PairKey = (account.into(), address);
        let pair = self.pairs.get_with(key.clone(), Arc::default);
        let whole = self.accounts.get_with(account.into(), Arc::default);
        let known = self.known.as_ref().is_some_and(|k| k.contains_key(&key));
        let deadline = tokio::time::Instant::now() + self.limits.wait;
        loop {
            // Registered before the counts are read: no settle is missed.
            let mut pair_settled = pin!(pair.settled.notified());
            let mut account_settled = pin!(whole.settled.notified());
            pair_settled.as_mut().enable();
            account_settled.as_mut().enable();
            match self.claim(&pair, &whole, known) {
                Claim::Granted => {
                    return Ok(Attempt {
                        throttle: self,
                        key,
                        pair: Arc::clone(&pair),
                        account: Arc::clone(&whole),
                        settled: false,
                    });
                }
                Claim::Refused(left) => {
                    return Err(ApiError::RateLimited {
                        retry_after_secs: (left.as_secs() + u64::from(left.subsec_nanos() > 0))
                            .max(1),
                    });
                }
                Claim::Busy => {}
            }
            let settled = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    () = pair_settled => {}
                    () = account_settled => {}
                }
            });
            if settled.await.is_err() {
                return Err(ApiError::unavailable("password checking"));
            }
        }
    }

    fn claim(&self, pair: &Window, whole: &Window, known: bool) -> Claim {
        let Limits {
            per_address,
            per_account,
            window,
            ..
        } = self.limits;
        // Always the pair's lock before the account's.
        let mut p = pair.counts();
        let mut a = whole.counts();
        let (p, a) = (p.current(window), a.current(window));
        if p.failed >= per_address {
            return Claim::Refused(p.left(window));
        }
        let ceiling = !known;
        if ceiling && a.failed >= per_account {
            return Claim::Refused(a.left(window));
        }
        if p.failed + p.running >= per_address || (ceiling && a.failed + a.running >= per_account) {
            return Claim::Busy;
        }
        p.running += 1;
        a.running += 1;
        Claim::Granted
    }

    /// Entries remembered, all tables together.
    pub fn len(&self) -> u64 {
        self.pairs.entry_count()
            + self.accounts.entry_count()
            + self.known.as_ref().map_or(0, Cache::entry_count)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops expired entries now (moka otherwise does it lazily).
    pub fn run_pending_tasks(&self) {
        self.pairs.run_pending_tasks();
        self.accounts.run_pending_tasks();
        if let Some(known) = &self.known {
            known.run_pending_tasks();
        }
    }
}

#[derive(Clone, Copy)]
enum Verdict {
    Failed,
    Succeeded,
    /// Neither: not counted.
    None,
}

impl Attempt<'_> {
    /// The password was wrong: the attempt counts on the address and the
    /// account.
    pub fn failed(mut self) {
        self.settle(Verdict::Failed);
    }

    /// The password was right: the address starts afresh on the account
    /// and is exempt from its ceiling from now on.
    pub fn succeeded(mut self) {
        self.settle(Verdict::Succeeded);
        if let Some(known) = &self.throttle.known {
            known.insert(self.key.clone(), ());
        }
    }

    fn settle(&mut self, verdict: Verdict) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        {
            let mut p = self.pair.counts();
            let mut a = self.account.counts();
            p.running -= 1;
            a.running -= 1;
            match verdict {
                Verdict::Failed => {
                    p.fail();
                    a.fail();
                }
                Verdict::Succeeded => {
                    p.failed = 0;
                    p.since = None;
                }
                Verdict::None => {}
            }
        }
        self.pair.settled.notify_waiters();
        self.account.settled.notify_waiters();
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.settle(Verdict::None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    fn throttle(per_address: u32, per_account: u32) -> LoginFailures {
        LoginFailures::new(Limits {
            per_address,
            per_account,
            window: WINDOW,
            known_for: Duration::from_secs(3600),
            wait: Duration::from_millis(200),
            max_entries: 100,
        })
    }

    fn addr(last: u8) -> Option<AddressKey> {
        Some(AddressKey::from(std::net::IpAddr::from([
            203, 0, 113, last,
        ])))
    }

    fn retry_after(result: Result<Attempt<'_>, ApiError>) -> u64 {
        match result {
            Err(ApiError::RateLimited { retry_after_secs }) => retry_after_secs,
            Err(other) => panic!("expected 429, got {other:?}"),
            Ok(_) => panic!("expected 429, got an attempt"),
        }
    }

    #[tokio::test]
    async fn failures_from_one_address_refuse_that_address_only() {
        let t = throttle(2, 10);
        t.begin("a@x.test", addr(1)).await.unwrap().failed();
        t.begin("a@x.test", addr(1)).await.unwrap().failed();
        let wait = retry_after(t.begin("a@x.test", addr(1)).await);
        assert!((59..=60).contains(&wait), "{wait}");
        t.begin("a@x.test", addr(2)).await.unwrap().succeeded();
        t.begin("b@x.test", addr(1)).await.unwrap().failed();
    }

    #[tokio::test]
    async fn the_account_ceiling_refuses_new_addresses_but_not_known_ones() {
        let t = throttle(2, 4);
        t.begin("a@x.test", addr(9)).await.unwrap().succeeded();
        for last in [1, 1, 2, 2] {
            t.begin("a@x.test", addr(last)).await.unwrap().failed();
        }
        retry_after(t.begin("a@x.test", addr(3)).await);
        retry_after(t.begin("a@x.test", None).await);
        // The address the account signed in from keeps its own allowance.
        t.begin("a@x.test", addr(9)).await.unwrap().failed();
        t.begin("a@x.test", addr(9)).await.unwrap().succeeded();
    }

    #[tokio::test]
    async fn a_success_clears_its_address_and_an_unsettled_attempt_is_not_counted() {
        let t = throttle(2, 100);
        t.begin("a@x.test", addr(1)).await.unwrap().failed();
        t.begin("a@x.test", addr(1)).await.unwrap().succeeded();
        t.begin("a@x.test", addr(1)).await.unwrap().failed();
        drop(t.begin("a@x.test", addr(1)).await.unwrap());
        t.begin("a@x.test", addr(1)).await.unwrap().failed();
        assert!(t.begin("a@x.test", addr(1)).await.is_err());
    }

    #[tokio::test]
    async fn attempts_in_flight_make_others_wait_not_fail() {
        let t = Arc::new(throttle(2, 100));
        let first = t.begin("a@x.test", addr(1)).await.unwrap();
        let second = t.begin("a@x.test", addr(1)).await.unwrap();
        let third = tokio::spawn({
            let t = t.clone();
            async move {
                match t.begin("a@x.test", addr(1)).await {
                    Ok(attempt) => {
                        attempt.succeeded();
                        None
                    }
                    Err(e) => Some(e),
                }
            }
        });
        tokio::task::yield_now().await;
        assert!(!third.is_finished(), "the third waits");
        first.succeeded();
        assert!(third.await.unwrap().is_none(), "and gets in");
        second.failed();
    }

    #[tokio::test]
    async fn a_wait_past_its_deadline_is_503_and_failures_in_flight_end_in_429() {
        let t = Arc::new(throttle(1, 100));
        let running = t.begin("a@x.test", addr(1)).await.unwrap();
        assert!(matches!(
            t.begin("a@x.test", addr(1)).await,
            Err(ApiError::Unavailable(_))
        ));
        let waiting = tokio::spawn({
            let t = t.clone();
            async move { t.begin("a@x.test", addr(1)).await.err() }
        });
        tokio::task::yield_now().await;
        running.failed();
        assert!(matches!(
            waiting.await.unwrap(),
            Some(ApiError::RateLimited { .. })
        ));
    }

    #[tokio::test]
    async fn the_window_ends() {
        let t = LoginFailures::new(Limits {
            window: Duration::from_millis(50),
            ..throttle(1, 1).limits
        });
        t.begin("a@x.test", addr(1)).await.unwrap().failed();
        assert!(t.begin("a@x.test", addr(1)).await.is_err());
        std::thread::sleep(Duration::from_millis(120));
        t.begin("a@x.test", addr(1)).await.unwrap().failed();
    }
}
