//! coupon-service's answer for an event Redis holds no state for.
//!
//! A client may subscribe to an event that does not exist, again and again
//! and from many sockets; each would be an HTTP request to coupon-service.
//! So an event it answered 404 for is remembered as missing for
//! `coupon_api.missing_ttl_ms` (at most `missing_cache_size` of them), and
//! concurrent asks for one event share a single request. Events that exist
//! are kept only as briefly as any reading (`snapshot/cache.rs`). Asks for many
//! different events are capped at `coupon_api.max_in_flight` at once; beyond
//! that the subscribe is answered `unavailable` at once instead of queueing
//! more requests (a live event is read from Redis and never gets here).

use std::sync::Arc;

use anyhow::Context;
use moka::future::Cache;
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::{EventStatus, Snapshot};
use crate::configuration::CouponApiSettings;

#[derive(Clone)]
pub struct CouponApi {
    http: reqwest::Client,
    base: String,
    /// Events coupon-service does not know, recently asked.
    missing: Cache<i64, ()>,
    in_flight: Arc<Semaphore>,
}

/// Why an event is not known to be missing: it exists, or the ask failed.
/// Shared (as the lookup's error) with every concurrent ask for the event.
enum NotMissing {
    Exists(Snapshot),
    Failed(anyhow::Error),
}

impl CouponApi {
    /// `None` when no URL is configured (such events are simply missing).
    pub fn new(settings: &CouponApiSettings) -> anyhow::Result<Option<Self>> {
        let base = settings.url.trim_end_matches('/');
        if base.is_empty() {
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            .timeout(settings.timeout())
            .build()
            .context("building the coupon-service client")?;
        Ok(Some(Self {
            http,
            base: base.to_owned(),
            missing: Cache::builder()
                .max_capacity(settings.missing_cache_size)
                .time_to_live(settings.missing_ttl())
                .build(),
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight)),
        }))
    }

    /// The event's snapshot; `None` when coupon-service does not know it.
    pub async fn snapshot(&self, event_id: i64) -> anyhow::Result<Option<Snapshot>> {
        let known = self
            .missing
            .try_get_with(event_id, self.lookup(event_id))
            .await;
        match known {
            Ok(()) => Ok(None),
            Err(not_missing) => match &*not_missing {
                NotMissing::Exists(snapshot) => Ok(Some(snapshot.clone())),
                NotMissing::Failed(e) => Err(anyhow::anyhow!("{e:#}")),
            },
        }
    }

    /// `Ok` (to be remembered) only when the event does not exist.
    async fn lookup(&self, event_id: i64) -> Result<(), NotMissing> {
        let Ok(_permit) = self.in_flight.try_acquire() else {
            return Err(NotMissing::Failed(anyhow::anyhow!(
                "too many coupon-service lookups in flight"
            )));
        };
        match self.ask(event_id).await {
            Ok(None) => Ok(()),
            Ok(Some(snapshot)) => Err(NotMissing::Exists(snapshot)),
            Err(e) => Err(NotMissing::Failed(e)),
        }
    }

    async fn ask(&self, event_id: i64) -> anyhow::Result<Option<Snapshot>> {
        #[derive(Deserialize)]
        struct View {
            remaining: i64,
            status: EventStatus,
        }
        let response = self
            .http
            .get(format!("{}/api/coupons/events/{event_id}", self.base))
            .send()
            .await
            .context("asking coupon-service for the event")?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let view: View = response
            .error_for_status()
            .context("coupon-service refused the event lookup")?
            .json()
            .await
            .context("coupon-service sent an unexpected event body")?;
        Ok(Some(Snapshot {
            event_id,
            remaining: view.remaining.max(0),
            status: view.status,
        }))
    }
}
