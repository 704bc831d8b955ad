//! The waiting room's side of an event's Redis state: units held for
//! admitted users (`holds`, next to the stock they come from, in the
//! event's slot), the one-instance tick lease (held for the whole tick,
//! however long it runs) and the room's latest progress. The press side of a hold is in `issuance/reserve.lua`.

use std::{sync::LazyLock, time::Duration};

use rand::RngExt;
use redis::{Script, cmd};

use super::room::Progress;
use crate::redis_store::RedisStore;

static ADMIT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("admit.lua")));
static EXPIRE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("expire_holds.lua")));
/// How long a room's place count lives (a sale's queue is over well
/// before; a lost count is read again from PostgreSQL).
const QUEUE_SIZE_TTL: Duration = Duration::from_secs(2 * 24 * 3600);

static DROP: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("drop_hold.lua")));
static TICK_LEASE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("tick_lease.lua")));

/// The lease of the instance ticking a room: the token it set.
#[derive(Debug)]
pub struct TickLease {
    token: String,
}

/// What leaving did to an admitted user's hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The unit went back for the next place.
    GivenBack,
    /// There was no hold (never admitted, claimed, or lapsed).
    NoHold,
    /// The user's claim is being written: leaving now would race it.
    Claiming,
}

/// Units of a loaded event, as the room counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomStock {
    /// Not held by anyone: what the next admissions may take.
    pub free: i64,
    /// Held by admitted users who have not pressed yet.
    pub held: i64,
}

#[derive(Clone)]
pub struct Holds {
    redis: RedisStore,
}

impl Holds {
    pub fn new(redis: RedisStore) -> Self {
        Self { redis }
    }

    /// Admits `users` (in the room's order) while units stand behind
    /// them; returns those holding now (a prefix), or `None` when the event
    /// is not loaded.
    pub async fn admit(
        &self,
        event_id: i64,
        claim_by_ms: i64,
        users: &[i64],
    ) -> anyhow::Result<Option<Vec<i64>>> {
        let k = self.redis.keys(event_id);
        let mut call = ADMIT.prepare_invoke();
        call.key(k.info())
            .key(k.stock())
            .key(k.holds())
            .arg(claim_by_ms);
        for u in users {
            call.arg(u);
        }
        let mut c = self.redis.conn();
        let admitted: Vec<i64> = self
            .redis
            .call("admit script", call.invoke_async(&mut c))
            .await?;
        Ok((admitted.first() != Some(&-1)).then_some(admitted))
    }

    /// Takes back the units of `users` whose claim window passed; returns
    /// the users holding nothing now.
    pub async fn expire(&self, event_id: i64, users: &[i64]) -> anyhow::Result<Vec<i64>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let k = self.redis.keys(event_id);
        let mut call = EXPIRE.prepare_invoke();
        call.key(k.stock()).key(k.holds());
        for u in users {
            call.arg(u);
        }
        let mut c = self.redis.conn();
        self.redis
            .call("expire holds script", call.invoke_async(&mut c))
            .await
    }

    /// Gives back an admitted user's unit when they leave.
    pub async fn drop_hold(&self, event_id: i64, user_id: i64) -> anyhow::Result<Dropped> {
        let k = self.redis.keys(event_id);
        let mut call = DROP.prepare_invoke();
        call.key(k.stock()).key(k.holds()).arg(user_id);
        let mut c = self.redis.conn();
        let code: i64 = self
            .redis
            .call("drop hold script", call.invoke_async(&mut c))
            .await?;
        Ok(match code {
            1 => Dropped::GivenBack,
            -1 => Dropped::Claiming,
            _ => Dropped::NoHold,
        })
    }

    /// Free and held units; `None` when the event is not loaded.
    pub async fn stock(&self, event_id: i64) -> anyhow::Result<Option<RoomStock>> {
        let k = self.redis.keys(event_id);
        let mut c = self.redis.conn();
        let (stock, held): (Option<i64>, Option<i64>) = self
            .redis
            .call("room stock", async {
                redis::pipe()
                    .cmd("GET")
                    .arg(k.stock())
                    .cmd("HGET")
                    .arg(k.holds())
                    .arg("#held")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        // `stock` counts units not taken; the held ones among them are
        // promised to admitted users.
        let held = held.unwrap_or(0);
        Ok(stock.map(|stock| RoomStock {
            free: stock - held,
            held,
        }))
    }

    /// Takes the room's tick for `hold`: `Some` for exactly one instance
    /// until the lease is renewed past it or ended ([`Self::keep_tick`]).
    pub async fn try_tick(
        &self,
        event_id: i64,
        hold: Duration,
    ) -> anyhow::Result<Option<TickLease>> {
        let key = self.redis.keys(event_id).queue_tick();
        let token = rand::rng().random::<u64>().to_string();
        let taken = self
            .set("SET NX queue tick", key, &token, hold, true)
            .await?;
        Ok(taken.then_some(TickLease { token }))
    }

    /// Makes the room's tick lease last `rest` from now (zero: ends it) if
    /// `lease` still holds it; false when it had lapsed or another took it.
    pub async fn keep_tick(
        &self,
        event_id: i64,
        lease: &TickLease,
        rest: Duration,
    ) -> anyhow::Result<bool> {
        let k = self.redis.keys(event_id);
        let mut call = TICK_LEASE.prepare_invoke();
        call.key(k.queue_tick())
            .arg(&lease.token)
            .arg(rest.as_millis() as u64);
        let mut c = self.redis.conn();
        let kept: i64 = self
            .redis
            .call("tick lease script", call.invoke_async(&mut c))
            .await?;
        Ok(kept == 1)
    }

    /// Places the room counted so far; `None` when Redis lost the count.
    pub async fn places(&self, event_id: i64) -> anyhow::Result<Option<i64>> {
        let key = self.redis.keys(event_id).queue_size();
        self.get("GET queue size", key).await
    }

    /// Starts the count at PostgreSQL's (unless another instance just did).
    pub async fn count_places_from(&self, event_id: i64, n: i64) -> anyhow::Result<()> {
        let key = self.redis.keys(event_id).queue_size();
        self.set(
            "SET NX queue size",
            key,
            &n.to_string(),
            QUEUE_SIZE_TTL,
            true,
        )
        .await
        .map(drop)
    }

    /// One more place taken.
    pub async fn add_place(&self, event_id: i64) -> anyhow::Result<()> {
        let key = self.redis.keys(event_id).queue_size();
        let mut c = self.redis.conn();
        self.redis
            .call(
                "INCR queue size",
                cmd("INCR").arg(key).query_async::<i64>(&mut c),
            )
            .await
            .map(drop)
    }

    /// Keeps the room's latest progress for status reads.
    pub async fn put_progress(
        &self,
        event_id: i64,
        progress: &Progress,
        ttl: Duration,
    ) -> anyhow::Result<()> {
        let key = self.redis.keys(event_id).queue_progress();
        let json = serde_json::to_string(progress)?;
        self.set("SET queue progress", key, &json, ttl, false)
            .await
            .map(drop)
    }

    /// The room's progress as the last tick left it (`None` before the
    /// first tick, or an unreadable copy).
    pub async fn progress(&self, event_id: i64) -> anyhow::Result<Option<Progress>> {
        let key = self.redis.keys(event_id).queue_progress();
        let json: Option<String> = self.get("GET queue progress", key).await?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    async fn get<T: redis::FromRedisValue>(
        &self,
        what: &'static str,
        key: String,
    ) -> anyhow::Result<Option<T>> {
        let mut c = self.redis.conn();
        self.redis
            .call(what, cmd("GET").arg(key).query_async(&mut c))
            .await
    }

    /// SET with an expiry; with `only_if_absent`, NX. True when it was set.
    async fn set(
        &self,
        what: &'static str,
        key: String,
        value: &str,
        ttl: Duration,
        only_if_absent: bool,
    ) -> anyhow::Result<bool> {
        let mut set = cmd("SET");
        set.arg(key).arg(value);
        if only_if_absent {
            set.arg("NX");
        }
        set.arg("PX").arg(ttl.as_millis() as u64);
        let mut c = self.redis.conn();
        let answer: Option<String> = self.redis.call(what, set.query_async(&mut c)).await?;
        Ok(answer.is_some())
    }
}

#[cfg(test)]
mod tests {
    use service_kit::redis::RedisConnections;

    use super::*;

    /// One instance's view of a room's holds, under a prefix of this test's
    /// own (the lease keys expire by themselves).
    fn instance(prefix: &str) -> Holds {
        let connections =
            RedisConnections::lazy("redis://127.0.0.1:6379", 1, Duration::from_secs(2))
                .expect("redis url");
        Holds::new(RedisStore::new(connections, prefix.to_owned()))
    }

    #[tokio::test]
    async fn a_tick_lease_holds_the_room_while_renewed_and_frees_it_when_ended() {
        let prefix = format!("t:{}:", uuid::Uuid::new_v4().simple());
        let (a, b) = (instance(&prefix), instance(&prefix));
        let hold = Duration::from_millis(300);
        let lease = a.try_tick(7, hold).await.unwrap().expect("a free room");
        assert!(b.try_tick(7, hold).await.unwrap().is_none());
        // A tick that runs past its first hold keeps the room by renewing.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert!(a.keep_tick(7, &lease, hold).await.unwrap());
            assert!(
                b.try_tick(7, hold).await.unwrap().is_none(),
                "another instance ticked a room whose tick still runs"
            );
        }
        // Ended: the next instance may take it at once.
        assert!(a.keep_tick(7, &lease, Duration::ZERO).await.unwrap());
        let next = b.try_tick(7, hold).await.unwrap().expect("an ended lease");
        assert!(
            !a.keep_tick(7, &lease, hold).await.unwrap(),
            "a lapsed lease cannot renew or end the next holder's"
        );
        // Kept for the rest of the second: nobody ticks before it passes.
        assert!(b.keep_tick(7, &next, hold).await.unwrap());
        assert!(a.try_tick(7, hold).await.unwrap().is_none());
        tokio::time::sleep(hold + Duration::from_millis(100)).await;
        assert!(a.try_tick(7, hold).await.unwrap().is_some(), "lapsed");
    }
}
