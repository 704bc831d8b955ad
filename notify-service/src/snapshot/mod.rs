//! The `subscribed {event_id, remaining, status}` snapshot.
//!
//! Read from the issuance state coupon-service keeps in Redis (same key
//! prefix): no extra hop, and it is the very state issuance decides by. When
//! Redis holds no state for the event (not preloaded yet, or ended long ago
//! and expired) coupon-service's `GET /api/coupons/events/{id}` answers
//! instead, when `coupon_api.url` is set ([`coupon_api`]). One reading
//! answers every subscribe to the event on this instance for a short while
//! ([`cache`]).

mod cache;
mod coupon_api;

use std::{
    sync::{Arc, LazyLock},
    time::Instant,
};

use anyhow::Context;
use contract::redis_keys::EventKeys;
use prometheus::IntCounter;
use redis::Script;
use serde::{Deserialize, Serialize};
use service_kit::redis::RedisConnections;

use self::{cache::SnapshotCache, coupon_api::CouponApi};
use crate::configuration::{CouponApiSettings, SnapshotSettings};

static SNAPSHOT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("snapshot.lua")));

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Scheduled,
    Active,
    SoldOut,
    Ended,
}

/// What a `subscribed` frame says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub event_id: i64,
    pub remaining: i64,
    pub status: EventStatus,
}

/// What one read of an event found. Answered later (from the cache, or
/// from a socket's own copy), its status still follows the clock: a sale
/// read as scheduled a moment before its start answers `active` after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub event_id: i64,
    remaining: i64,
    status: ReadStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ReadStatus {
    /// From Redis: the sale's window and Redis' clock when it was read.
    Window {
        start_ms: i64,
        end_ms: i64,
        closed: bool,
        now_ms: i64,
        read_at: Instant,
    },
    /// From coupon-service: its answer as given.
    Fixed(EventStatus),
}

impl Reading {
    fn fixed(event_id: i64, remaining: i64, status: EventStatus) -> Self {
        Self {
            event_id,
            remaining,
            status: ReadStatus::Fixed(status),
        }
    }

    /// The snapshot as of now.
    pub fn snapshot(&self) -> Snapshot {
        let status = match self.status {
            ReadStatus::Window {
                start_ms,
                end_ms,
                closed,
                now_ms,
                read_at,
            } => {
                let elapsed = i64::try_from(read_at.elapsed().as_millis()).unwrap_or(i64::MAX);
                let now = now_ms.saturating_add(elapsed);
                status(now, start_ms, end_ms, closed, self.remaining)
            }
            ReadStatus::Fixed(status) => status,
        };
        Snapshot {
            event_id: self.event_id,
            remaining: self.remaining,
            status,
        }
    }
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
    cache: SnapshotCache,
    reads: IntCounter,
}

impl Snapshots {
    pub fn new(
        connections: RedisConnections,
        prefix: String,
        settings: &SnapshotSettings,
        coupon_api: &CouponApiSettings,
        reads: IntCounter,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            connections,
            prefix,
            coupon_api: CouponApi::new(coupon_api)?,
            cache: SnapshotCache::new(settings.ttl(), settings.max_events),
            reads,
        })
    }

    /// The event's current reading (at most `snapshots.ttl_ms` old, never
    /// older than a live frame of it this instance delivered); `None` when
    /// the event does not exist.
    pub async fn get(&self, event_id: i64) -> anyhow::Result<Option<Arc<Reading>>> {
        if event_id <= 0 {
            return Ok(None);
        }
        self.cache
            .get_with(event_id, self.read(event_id))
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))
    }

    /// The event's state may have changed (see [`SnapshotCache::changed`]).
    pub fn changed(&self, event_id: Option<i64>) {
        self.cache.changed(event_id);
    }

    async fn read(&self, event_id: i64) -> anyhow::Result<Option<Reading>> {
        if let Some(found) = self.read_redis(event_id).await? {
            return Ok(Some(found));
        }
        match &self.coupon_api {
            Some(api) => Ok(api
                .snapshot(event_id)
                .await?
                .map(|s| Reading::fixed(event_id, s.remaining, s.status))),
            None => Ok(None),
        }
    }

    async fn read_redis(&self, event_id: i64) -> anyhow::Result<Option<Reading>> {
        let keys = EventKeys::new(&self.prefix, event_id);
        let mut c = self.connections.get();
        self.reads.inc();
        let read_at = Instant::now();
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
        Ok(Some(Reading {
            event_id,
            remaining: number(remaining).max(0),
            status: ReadStatus::Window {
                start_ms: number(start),
                end_ms: number(end),
                closed: closed == "1",
                now_ms: number(now),
                read_at,
            },
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

    #[test]
    fn a_reading_answered_later_follows_the_clock_across_the_start() {
        let read_at = Instant::now() - std::time::Duration::from_millis(300);
        let reading = Reading {
            event_id: 1,
            remaining: 5,
            status: ReadStatus::Window {
                start_ms: 10_000,
                end_ms: 20_000,
                closed: false,
                // Read 100 ms before the start, 300 ms ago.
                now_ms: 9_900,
                read_at,
            },
        };
        assert_eq!(reading.snapshot().status, EventStatus::Active);
    }
}
