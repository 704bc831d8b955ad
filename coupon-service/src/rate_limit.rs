//! Abuse limits: keyed GCRA limiters per user on issue and redeem, per
//! client address (IPv6: per /64) on signup / login / refresh. A refusal is
//! 429 with `Retry-After`.
//!
//! Two layers: in this process (governor; keys idle long enough to be
//! indistinguishable from fresh are forgotten on a timer, so memory stays
//! bounded however many users and addresses come by), then the same limit
//! shared by every instance in Redis ([`shared`], `rate_limit.shared`), so
//! a user behind N instances does not get N allowances.

pub mod login_failures;
pub mod shared;

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use actix_web::HttpRequest;
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use service_kit::client_address::{AddressKey, ProxyRange, client_address};

use self::{
    login_failures::LoginFailures,
    shared::{SharedLimit, SharedLimits},
};
use crate::{configuration::RateLimitSettings, error::ApiError, redis_store::RedisStore};

pub struct Limiters {
    pub issue: DefaultKeyedRateLimiter<i64>,
    pub redeem: DefaultKeyedRateLimiter<i64>,
    /// Keyed by the client's address (IPv6: its /64).
    pub auth: DefaultKeyedRateLimiter<AddressKey>,
    /// Failed logins per account and address, and per account.
    pub login_failures: LoginFailures,
    trusted_proxies: Vec<ProxyRange>,
    /// The same limits across instances; `None` with `rate_limit.shared`
    /// off (one instance) or in unit tests.
    shared: Option<Shared>,
}

struct Shared {
    limits: SharedLimits,
    issue: SharedLimit,
    redeem: SharedLimit,
    auth: SharedLimit,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Limiters {
    /// `login_wait`: how long a login may wait for the attempts in flight on
    /// its account (the password gate's `auth.hash_queue_timeout_ms`).
    pub fn new(s: &RateLimitSettings, login_wait: Duration) -> Self {
        Self {
            issue: RateLimiter::keyed(
                Quota::per_second(nonzero(s.issue_per_second)).allow_burst(nonzero(s.issue_burst)),
            ),
            redeem: RateLimiter::keyed(
                Quota::per_second(nonzero(s.redeem_per_second))
                    .allow_burst(nonzero(s.redeem_burst)),
            ),
            auth: RateLimiter::keyed(
                Quota::per_minute(nonzero(s.auth_per_minute)).allow_burst(nonzero(s.auth_burst)),
            ),
            login_failures: LoginFailures::new(login_failures::Limits {
                per_address: s.login_failures_per_address,
                per_account: s.login_failures_per_account,
                window: Duration::from_secs(s.login_failure_window_secs),
                known_for: Duration::from_secs(s.login_known_address_secs),
                wait: login_wait,
                max_entries: s.login_failure_max_accounts,
            }),
            trusted_proxies: s.trusted_proxies.clone(),
            shared: None,
        }
    }

    /// Adds the limits shared across instances through `redis`.
    pub fn shared_through(mut self, s: &RateLimitSettings, redis: RedisStore) -> Self {
        let per = |unit: Duration, n: u32| unit / n.max(1);
        self.shared = Some(Shared {
            limits: SharedLimits::new(redis),
            issue: SharedLimit::new(
                "issue",
                per(Duration::from_secs(1), s.issue_per_second),
                s.issue_burst,
            ),
            redeem: SharedLimit::new(
                "redeem",
                per(Duration::from_secs(1), s.redeem_per_second),
                s.redeem_burst,
            ),
            auth: SharedLimit::new(
                "auth",
                per(Duration::from_secs(60), s.auth_per_minute),
                s.auth_burst,
            ),
        });
        self
    }

    /// The user's issue allowance across instances (the in-process check
    /// comes first, at the top of the handler).
    pub async fn check_issue_shared(&self, user_id: i64) -> Result<(), ApiError> {
        match &self.shared {
            Some(s) => s.limits.check(&s.issue, &format!("user:{user_id}")).await,
            None => Ok(()),
        }
    }

    /// The user's redeem allowance: in this process, then across instances.
    pub async fn check_redeem(&self, user_id: i64) -> Result<(), ApiError> {
        check(&self.redeem, &user_id)?;
        match &self.shared {
            Some(s) => s.limits.check(&s.redeem, &format!("user:{user_id}")).await,
            None => Ok(()),
        }
    }

    /// Forgets idle keys of every limiter.
    pub fn retain_recent(&self) {
        self.issue.retain_recent();
        self.redeem.retain_recent();
        self.auth.retain_recent();
        self.issue.shrink_to_fit();
        self.redeem.shrink_to_fit();
        self.auth.shrink_to_fit();
        self.login_failures.run_pending_tasks();
    }

    /// Keys currently remembered, all limiters together.
    pub fn len(&self) -> usize {
        self.issue.len() + self.redeem.len() + self.auth.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The client's address (see [`client_address`]).
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        Some(client_address(peer, &forwarded, &self.trusted_proxies))
    }

    /// What the per-address limits count the client by (see [`AddressKey`]).
    pub fn client_key(&self, req: &HttpRequest) -> Option<AddressKey> {
        self.client_ip(req).map(AddressKey::from)
    }

    /// The per-address check of the anonymous auth routes, in this process
    /// then across instances: IPv6 clients share one allowance per /64.
    pub async fn check_auth(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let Some(key) = self.client_key(req) else {
            return Ok(());
        };
        check(&self.auth, &key)?;
        match &self.shared {
            Some(s) => s.limits.check(&s.auth, &format!("addr:{key}")).await,
            None => Ok(()),
        }
    }
}

/// One check; 429 with the wait until the next request would pass.
pub fn check<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), ApiError>
where
    K: std::hash::Hash + Eq + Clone,
{
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::RateLimited {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    })
}

/// Runs `retain_recent` every `every` (bounded limiter memory).
pub async fn retain_loop(limiters: Arc<Limiters>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        limiters.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn limiters(trusted: &[&str]) -> Limiters {
        Limiters::new(
            &RateLimitSettings {
                issue_per_second: 1,
                issue_burst: 2,
                redeem_per_second: 1,
                redeem_burst: 1,
                auth_per_minute: 1,
                auth_burst: 1,
                trusted_proxies: trusted.iter().map(|s| s.parse().unwrap()).collect(),
                retain_interval_secs: 60,
                login_failures_per_address: 2,
                login_failures_per_account: 2,
                login_failure_window_secs: 60,
                login_known_address_secs: 60,
                login_failure_max_accounts: 100,
                shared: false,
            },
            Duration::from_secs(1),
        )
    }

    #[test]
    fn a_burst_over_the_quota_is_refused_with_a_retry_after() {
        let l = limiters(&[]);
        assert!(check(&l.issue, &7).is_ok());
        assert!(check(&l.issue, &7).is_ok());
        match check(&l.issue, &7) {
            Err(ApiError::RateLimited { retry_after_secs }) => {
                assert!((1..=2).contains(&retry_after_secs))
            }
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(check(&l.issue, &8).is_ok(), "another user is not affected");
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let l = limiters(&["10.0.0.1"]);
        let direct = TestRequest::default()
            .peer_addr("192.0.2.9:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "203.0.113.5"))
            .to_http_request();
        assert_eq!(l.client_ip(&direct), Some("192.0.2.9".parse().unwrap()));
        let proxied = TestRequest::default()
            .peer_addr("10.0.0.1:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "198.51.100.1, 203.0.113.5"))
            .to_http_request();
        // The rightmost address the trusted proxy saw is the client; anything
        // left of it was written by the client itself.
        assert_eq!(l.client_ip(&proxied), Some("203.0.113.5".parse().unwrap()));
    }
}
