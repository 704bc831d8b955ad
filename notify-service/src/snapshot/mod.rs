//! The `subscribed {event_id, remaining, status}` snapshot.
//!
//! Read from the issuance state coupon-service keeps in Redis (same key
//! prefix): no extra hop, and it is the very state issuance decides by. When
//! Redis holds no state for the event (not preloaded yet, or ended long ago
//! and expired) coupon-service's `GET /api/coupons/events/{id}` answers
//! instead, when `coupon_api.url` is set ([`coupon_api`]).

mod coupon_api;

use std::sync::LazyLock;

use anyhow::Context;
use contract::redis_keys::EventKeys;
use redis::Script;
use serde::{Deserialize, Serialize};
use service_kit::redis::RedisConnections;

use self::coupon_api::CouponApi;
use crate::configuration::CouponApiSettings;

static SNAPSHOT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("snapshot.lua")));

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Scheduled,
    Active,
    SoldOut,
    Ended,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub event_id: i64,
    pub remaining: i64,
    pub status: EventStatus,
}

/// coupon-service's rules (events/model.rs): closed or past the end →
/// ended, before the start → scheduled, no stock → sold out, else active.
pub fn status(
    now_ms: i64,
    start_ms: i64,
    end_ms: i64,
    closed: bool,
    remaining: i64,
) -> EventStatus {
    if closed || now_ms >= end_ms {
        EventStatus::Ended
    } else if now_ms < start_ms {
        EventStatus::Scheduled
    } else if remaining <= 0 {
        EventStatus::SoldOut
    } else {
        EventStatus::Active
    }
}

#[derive(Clone)]
pub struct Snapshots {
    connections: RedisConnections,
    prefix: String,
    coupon_api: Option<CouponApi>,
}

impl Snapshots {
    pub fn new(
        connections: RedisConnections,
        prefix: String,
        coupon_api: &CouponApiSettings,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            connections,
            prefix,
            coupon_api: CouponApi::new(coupon_api)?,
        })
    }

    /// The event's snapshot; `None` when the event does not exist.
    pub async fn get(&self, event_id: i64) -> anyhow::Result<Option<Snapshot>> {
        if event_id <= 0 {
            return Ok(None);
        }
        if let Some(found) = self.read_redis(event_id).await? {
            return Ok(Some(found));
        }
        match &self.coupon_api {
            Some(api) => api.snapshot(event_id).await,
            None => Ok(None),
        }
    }

    async fn read_redis(&self, event_id: i64) -> anyhow::Result<Option<Snapshot>> {
        let keys = EventKeys::new(&self.prefix, event_id);
        let mut c = self.connections.get();
        let reply: Vec<String> = self
            .connections
            .call(
                SNAPSHOT
                    .key(keys.info())
                    .key(keys.stock())
                    .invoke_async(&mut c),
            )
            .await
            .context("snapshot script")?;
        let [start, end, closed, remaining, now] = reply.as_slice() else {
            return Ok(None);
        };
        let number = |s: &str| s.parse::<i64>().unwrap_or(0);
        let remaining = number(remaining).max(0);
        Ok(Some(Snapshot {
            event_id,
            remaining,
            status: status(
                number(now),
                number(start),
                number(end),
                closed == "1",
                remaining,
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_coupon_service_rules() {
        use EventStatus::*;
        let (start, end) = (1_000, 2_000);
        assert_eq!(status(500, start, end, false, 5), Scheduled);
        assert_eq!(status(1_500, start, end, false, 5), Active);
        assert_eq!(status(1_500, start, end, false, 0), SoldOut);
        assert_eq!(status(2_000, start, end, false, 5), Ended);
        assert_eq!(status(1_500, start, end, true, 5), Ended);
        assert_eq!(status(500, start, end, true, 5), Ended);
    }
}
