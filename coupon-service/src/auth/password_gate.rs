//! The cap on password hashing. Argon2 takes ~19 MiB and a core for tens of
//! milliseconds, and actix's blocking pool would run up to 512 of them at
//! once: a login rush or a flood of wrong passwords would exhaust the pod's
//! memory. At most `permits` hashes run at once; at most `queue_max`
//! requests wait for a permit, each at most `queue_timeout`; the rest get
//! 503 `unavailable` with `Retry-After` straight away.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use actix_web::web;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{configuration::AuthSettings, error::ApiError};

pub struct PasswordGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue_max: usize,
    queue_timeout: Duration,
    in_flight: IntGauge,
    /// Highest `in_flight` seen since start: the cap, as observed.
    in_flight_peak: IntGauge,
    started: IntCounter,
    refused: IntCounterVec,
}

/// A permit and its place in the gauge; both are given back when the hash
/// is done, even if the request that asked for it is gone by then.
struct Held {
    _permit: OwnedSemaphorePermit,
    in_flight: IntGauge,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.in_flight.dec();
    }
}

/// Leaves the waiting count however the wait ends (permit, timeout, or the
/// client going away).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordGate {
    pub fn new(auth: &AuthSettings) -> Result<Self, prometheus::Error> {
        Ok(Self {
            permits: Arc::new(Semaphore::new(auth.hash_permits())),
            waiting: AtomicUsize::new(0),
            queue_max: auth.hash_queue_max,
            queue_timeout: Duration::from_millis(auth.hash_queue_timeout_ms),
            in_flight: IntGauge::new(
                "password_hashes_in_flight",
                "Password hashes/verifications running now",
            )?,
            in_flight_peak: IntGauge::new(
                "password_hashes_in_flight_peak",
                "Most password hashes/verifications ever running at once",
            )?,
            started: IntCounter::new(
                "password_hashes_total",
                "Password hashes/verifications started",
            )?,
            refused: IntCounterVec::new(
                Opts::new(
                    "password_hash_refused_total",
                    "Requests answered 503 because no hashing permit was free",
                ),
                &["reason"],
            )?,
        })
    }

    /// The gate's metrics, to be registered with the service's.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.in_flight.clone()),
            Box::new(self.in_flight_peak.clone()),
            Box::new(self.started.clone()),
            Box::new(self.refused.clone()),
        ]
    }

    /// Runs `work` (a hash or a verification) on the blocking pool once a
    /// permit is free, or answers 503.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.acquire().await?;
        self.started.inc();
        self.in_flight.inc();
        let held = Held {
            _permit: permit,
            in_flight: self.in_flight.clone(),
        };
        let now = self.in_flight.get();
        if now > self.in_flight_peak.get() {
            // Racy by one update at worst; the cap itself is the semaphore.
            self.in_flight_peak.set(now);
        }
        web::block(move || {
            let _held = held;
            work()
        })
        .await
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("blocking pool: {e}")))
    }

    async fn acquire(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue_max {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(self.refuse("queue_full"));
        }
        let _waiting = Waiting(&self.waiting);
        match tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(ApiError::Unexpected(anyhow::anyhow!(
                "password gate closed: {closed}"
            ))),
            Err(_) => Err(self.refuse("queue_timeout")),
        }
    }

    fn refuse(&self, reason: &str) -> ApiError {
        self.refused.with_label_values(&[reason]).inc();
        ApiError::unavailable("password checking")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configuration::Settings;

    fn gate(permits: usize, queue_max: usize, timeout_ms: u64) -> Arc<PasswordGate> {
        let mut auth = Settings::defaults().unwrap().auth;
        auth.hash_permits = permits;
        auth.hash_queue_max = queue_max;
        auth.hash_queue_timeout_ms = timeout_ms;
        Arc::new(PasswordGate::new(&auth).unwrap())
    }

    fn is_unavailable<T>(result: &Result<T, ApiError>) -> bool {
        matches!(result, Err(ApiError::Unavailable(_)))
    }

    #[actix_web::test]
    async fn a_request_that_waits_past_the_deadline_gets_503() {
        let g = gate(1, 8, 50);
        let held = g.permits.clone().try_acquire_owned().unwrap();
        assert!(is_unavailable(&g.run(|| 1).await));
        assert_eq!(g.refused.with_label_values(&["queue_timeout"]).get(), 1);
        assert_eq!(g.waiting.load(Ordering::Acquire), 0);
        drop(held);
        assert_eq!(g.run(|| 2).await.unwrap(), 2);
        assert_eq!(g.in_flight.get(), 0, "the permit is given back");
        assert_eq!(g.in_flight_peak.get(), 1);
    }

    #[actix_web::test]
    async fn past_the_queue_limit_the_answer_is_immediate() {
        let g = gate(1, 1, 60_000);
        let held = g.permits.clone().try_acquire_owned().unwrap();
        let queued = {
            let g = g.clone();
            actix_web::rt::spawn(async move { g.run(|| 1).await.is_ok() })
        };
        while g.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        // The queue is full: refused without waiting for the 60 s deadline.
        assert!(is_unavailable(&g.run(|| 2).await));
        assert_eq!(g.refused.with_label_values(&["queue_full"]).get(), 1);
        drop(held);
        assert!(queued.await.unwrap(), "the queued request gets the permit");
    }
}
