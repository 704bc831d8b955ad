//! The instance's readings of events, kept briefly and shared.
//!
//! At 10:00 every watcher of a sale asks for the same few numbers, and a
//! script may ask again and again; each ask reading Redis would load the
//! very slot issuance needs. So one reading of an event answers every ask
//! on this instance for `snapshots.ttl_ms`; asks for an event that is not
//! cached share one read (single-flight), errors included. At most
//! `snapshots.max_events` events are kept (the least used are evicted).
//!
//! A reading must not predate a live frame a new watcher will never get:
//! when the hub delivers a frame of the event (its state changed), the
//! event's change count moves and the reading is read anew on the next ask.
//! Counts are striped (events share 1,024 counters): a neighbour's frame
//! costs at most one more read, never a stale answer.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use moka::future::Cache;

use super::Reading;

const STRIPES: usize = 1024;

#[derive(Clone)]
pub struct SnapshotCache {
    entries: Cache<i64, Arc<Cached>>,
    ttl: Duration,
    changes: Arc<[AtomicU64]>,
}

struct Cached {
    /// `None`: the event does not exist.
    reading: Option<Arc<Reading>>,
    /// The event's change count when the read started.
    change: u64,
    read_at: Instant,
}

impl SnapshotCache {
    pub fn new(ttl: Duration, max_events: u64) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(max_events)
                .time_to_live(ttl)
                .build(),
            ttl,
            changes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The event's state may have changed (a live frame of it was
    /// delivered); `None`: any event's may have (frames were missed).
    pub fn changed(&self, event_id: Option<i64>) {
        match event_id {
            Some(id) => {
                self.stripe(id).fetch_add(1, Ordering::AcqRel);
            }
            None => self.entries.invalidate_all(),
        }
    }

    /// The cached reading of the event if it is fresh, else `read`'s,
    /// shared with every concurrent ask.
    pub async fn get_with<F>(
        &self,
        event_id: i64,
        read: F,
    ) -> Result<Option<Arc<Reading>>, Arc<anyhow::Error>>
    where
        F: Future<Output = anyhow::Result<Option<Reading>>>,
    {
        let change = self.stripe(event_id).load(Ordering::Acquire);
        if let Some(cached) = self.entries.get(&event_id).await {
            if cached.change == change && cached.read_at.elapsed() < self.ttl {
                return Ok(cached.reading.clone());
            }
            self.entries.invalidate(&event_id).await;
        }
        let cached = self
            .entries
            .try_get_with(event_id, async move {
                let read_at = Instant::now();
                let reading = read.await?;
                Ok(Arc::new(Cached {
                    reading: reading.map(Arc::new),
                    change,
                    read_at,
                }))
            })
            .await?;
        Ok(cached.reading.clone())
    }

    fn stripe(&self, event_id: i64) -> &AtomicU64 {
        // Event ids are sequential: the remainder spreads them evenly.
        &self.changes[event_id.unsigned_abs() as usize % STRIPES]
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::snapshot::EventStatus;

    fn reading(event_id: i64, remaining: i64) -> Reading {
        Reading::fixed(event_id, remaining, EventStatus::Active)
    }

    /// A read that counts itself and answers `remaining`.
    async fn counted(
        reads: &AtomicUsize,
        event_id: i64,
        remaining: i64,
    ) -> anyhow::Result<Option<Reading>> {
        reads.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        Ok(Some(reading(event_id, remaining)))
    }

    async fn remaining(cache: &SnapshotCache, reads: &AtomicUsize, event_id: i64, now: i64) -> i64 {
        cache
            .get_with(event_id, counted(reads, event_id, now))
            .await
            .unwrap()
            .unwrap()
            .snapshot()
            .remaining
    }

    #[tokio::test]
    async fn concurrent_asks_for_one_event_share_one_read() {
        let cache = SnapshotCache::new(Duration::from_secs(60), 100);
        let reads = AtomicUsize::new(0);
        let answers =
            futures::future::join_all((0..50).map(|_| remaining(&cache, &reads, 1, 42))).await;
        assert!(answers.iter().all(|r| *r == 42));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // Another event is another read.
        assert_eq!(remaining(&cache, &reads, 2, 7).await, 7);
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_reading_is_never_served_past_its_ttl() {
        let ttl = Duration::from_millis(30);
        let cache = SnapshotCache::new(ttl, 100);
        let reads = AtomicUsize::new(0);
        assert_eq!(remaining(&cache, &reads, 1, 42).await, 42);
        assert_eq!(remaining(&cache, &reads, 1, 41).await, 42);
        tokio::time::sleep(ttl + Duration::from_millis(10)).await;
        assert_eq!(remaining(&cache, &reads, 1, 41).await, 41);
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_live_frame_of_the_event_makes_its_reading_old_at_once() {
        let cache = SnapshotCache::new(Duration::from_secs(60), 100);
        let reads = AtomicUsize::new(0);
        assert_eq!(remaining(&cache, &reads, 1, 42).await, 42);
        assert_eq!(remaining(&cache, &reads, 2, 9).await, 9);
        cache.changed(Some(1));
        assert_eq!(remaining(&cache, &reads, 1, 41).await, 41);
        assert_eq!(remaining(&cache, &reads, 2, 8).await, 9, "another event");
        // Frames were missed: every reading goes.
        cache.changed(None);
        assert_eq!(remaining(&cache, &reads, 2, 8).await, 8);
        assert_eq!(reads.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn failures_are_shared_but_not_kept() {
        let cache = SnapshotCache::new(Duration::from_secs(60), 100);
        let failing = || async { Err::<Option<Reading>, _>(anyhow::anyhow!("redis down")) };
        assert!(cache.get_with(1, failing()).await.is_err());
        let reads = AtomicUsize::new(0);
        assert_eq!(remaining(&cache, &reads, 1, 42).await, 42);
        // An event that does not exist is remembered like any reading.
        let none = cache.get_with(3, async { Ok(None) }).await.unwrap();
        assert!(none.is_none());
        let still = cache.get_with(3, counted(&reads, 3, 1)).await.unwrap();
        assert!(still.is_none());
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_cache_holds_at_most_max_events() {
        let cache = SnapshotCache::new(Duration::from_secs(60), 10);
        let reads = AtomicUsize::new(0);
        for event in 1..=100 {
            remaining(&cache, &reads, event, event).await;
        }
        cache.entries.run_pending_tasks().await;
        assert!(
            cache.entries.entry_count() <= 10,
            "{} events cached",
            cache.entries.entry_count()
        );
    }
}
