//! Rate limits that hold across instances: a GCRA per subject in Redis
//! (`gcra.lua`), so a user behind N instances gets the configured allowance,
//! not N times it. The in-process limiters stay in front as a cheap first
//! filter: they only refuse what the shared limit would refuse too (it sees
//! at least the requests one instance sees), and spare Redis the flood of
//! one abusive client.
//!
//! When Redis cannot answer, the shared check lets the request through and
//! the in-process limit alone applies: a limit must not turn a Redis outage
//! into refusals (issuance itself answers 503 then anyway).

use std::{sync::LazyLock, time::Duration};

use contract::redis_keys::rate_limit_key;
use redis::Script;

use crate::{error::ApiError, redis_store::RedisStore};

static GCRA: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("gcra.lua")));

/// One limit: `burst` requests at once, then one per `every`.
#[derive(Debug, Clone, Copy)]
pub struct SharedLimit {
    name: &'static str,
    every: Duration,
    burst: u32,
}

impl SharedLimit {
    pub fn new(name: &'static str, every: Duration, burst: u32) -> Self {
        Self {
            name,
            every,
            burst: burst.max(1),
        }
    }
}

#[derive(Clone)]
pub struct SharedLimits {
    redis: RedisStore,
}

impl SharedLimits {
    pub fn new(redis: RedisStore) -> Self {
        Self { redis }
    }

    /// 429 with `Retry-After` when `subject` has used up `limit` across all
    /// instances; passes when Redis does not answer.
    pub async fn check(&self, limit: &SharedLimit, subject: &str) -> Result<(), ApiError> {
        let key = rate_limit_key(self.redis.prefix(), limit.name, subject);
        let emission_us = u64::try_from(limit.every.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut c = self.redis.conn();
        let verdict: anyhow::Result<u64> = self
            .redis
            .call(
                "rate limit script",
                GCRA.key(key)
                    .arg(emission_us)
                    .arg(limit.burst)
                    .arg(crate::redis_store::call_id())
                    .invoke_async(&mut c),
            )
            .await;
        match verdict {
            Ok(0) => Ok(()),
            Ok(wait_us) => Err(ApiError::RateLimited {
                retry_after_secs: wait_us.div_ceil(1_000_000).max(1),
            }),
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), limit = limit.name, "shared rate limit unavailable; the local one applies");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use service_kit::redis::RedisConnections;

    use super::*;

    /// A prefix of this test's own (keys expire with their limit).
    fn test_prefix() -> String {
        format!("t:{}:", uuid::Uuid::new_v4().simple())
    }

    /// One instance's view of the shared limits under `prefix`.
    fn instance(prefix: &str) -> SharedLimits {
        let connections =
            RedisConnections::lazy("redis://127.0.0.1:6379", 1, Duration::from_secs(2))
                .expect("redis url");
        SharedLimits::new(RedisStore::new(connections, prefix.to_owned()))
    }

    fn limits() -> SharedLimits {
        instance(&test_prefix())
    }

    /// Two connections of their own stand for two instances.
    #[tokio::test]
    async fn two_instances_share_one_burst_and_subjects_do_not_share() {
        let prefix = test_prefix();
        let (a, b) = (instance(&prefix), instance(&prefix));
        let limit = SharedLimit::new("issue", Duration::from_secs(60), 3);
        let mut passed = 0;
        for i in 0..6 {
            let instance = if i % 2 == 0 { &a } else { &b };
            if instance.check(&limit, "user:1").await.is_ok() {
                passed += 1;
            }
        }
        assert_eq!(passed, 3, "one burst for the user across both instances");
        match a.check(&limit, "user:1").await {
            Err(ApiError::RateLimited { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(
            b.check(&limit, "user:2").await.is_ok(),
            "another user has their own"
        );
    }

    #[tokio::test]
    async fn the_allowance_refills_at_the_configured_rate() {
        let limits = limits();
        let limit = SharedLimit::new("redeem", Duration::from_millis(100), 1);
        assert!(limits.check(&limit, "user:9").await.is_ok());
        assert!(limits.check(&limit, "user:9").await.is_err());
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            limits.check(&limit, "user:9").await.is_ok(),
            "refilled after one interval"
        );
    }

    #[tokio::test]
    async fn an_unreachable_redis_lets_the_request_through_to_the_local_limit() {
        let connections =
            RedisConnections::lazy("redis://127.0.0.1:1", 1, Duration::from_millis(200))
                .expect("redis url");
        let limits = SharedLimits::new(RedisStore::new(connections, "t:down:".into()));
        let limit = SharedLimit::new("issue", Duration::from_secs(60), 1);
        for _ in 0..3 {
            assert!(limits.check(&limit, "user:1").await.is_ok());
        }
    }
}
