//! The issuance state in Redis and the Lua scripts that change it.
//!
//! Each script runs atomically on the keys of one event (one hash tag); the
//! scripts are the serialization point of issuance, no lock is taken around a
//! request. `redis::Script` sends EVALSHA and falls back to loading the script
//! on `NOSCRIPT` (a restarted or flushed Redis).

use std::{sync::LazyLock, time::Duration};

use anyhow::Context;
use redis::{RedisResult, Script, aio::ConnectionManager, cmd};
use service_kit::redis::RedisConnections;

use super::keys::{EventKeys, idempotency_binding};

static RESERVE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("reserve.lua")));
static RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("release.lua")));
static CONFIRM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("confirm.lua")));
static LOAD: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("load_event.lua")));
static UPDATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("update_event.lua")));

/// A ticket and a user slot held for one request until its coupon commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub event_id: i64,
    pub user_id: i64,
    pub ticket: i32,
    pub slot: i32,
    /// Tickets left right after this one was taken.
    pub remaining: i64,
    pub reserved_ms: i64,
    /// Hash of the request's `Idempotency-Key`, empty without one.
    pub idem: String,
}

impl Reservation {
    /// The value the reserve script stored under `pending[ticket]`.
    pub fn pending_value(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.user_id, self.slot, self.reserved_ms, self.idem
        )
    }

    /// Parses a `pending` entry back (the sweeper reads them).
    pub fn from_pending(event_id: i64, ticket: &str, value: &str) -> Option<Self> {
        let mut parts = value.splitn(4, ':');
        Some(Self {
            event_id,
            user_id: parts.next()?.parse().ok()?,
            slot: parts.next()?.parse().ok()?,
            reserved_ms: parts.next()?.parse().ok()?,
            idem: parts.next()?.to_owned(),
            ticket: ticket.parse().ok()?,
            remaining: 0,
        })
    }
}

/// What the reserve script decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    Reserved(Reservation),
    /// The idempotency key already holds this ticket and slot.
    Replay {
        ticket: i32,
        slot: i32,
        remaining: i64,
    },
    NotLoaded,
    NotStarted,
    Ended,
    SoldOut,
    LimitReached,
}

/// An event's issuance state as rebuilt from PostgreSQL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventState {
    pub start_ms: i64,
    pub end_ms: i64,
    pub total: i64,
    pub max_per_user: i64,
    pub closed: bool,
    pub expire_at_ms: i64,
    pub remaining: i64,
    pub highest_ticket: i64,
    pub free_tickets: Vec<i64>,
    /// user → held-slots string ("1", "101", …).
    pub users: Vec<(i64, String)>,
}

/// Handle on the Redis side of issuance for one deployment (key prefix).
#[derive(Clone)]
pub struct RedisState {
    connections: RedisConnections,
    prefix: String,
    idem_ttl_secs: u64,
}

impl RedisState {
    pub fn new(connections: RedisConnections, prefix: String, idem_ttl_secs: u64) -> Self {
        Self {
            connections,
            prefix,
            idem_ttl_secs,
        }
    }

    pub fn keys(&self, event_id: i64) -> EventKeys {
        EventKeys::new(&self.prefix, event_id)
    }

    /// One of the shared multiplexed connections. Every call on it runs
    /// under `deadline`: a Redis that is down must turn into a quick 503,
    /// not a stuck request.
    fn conn(&self) -> ConnectionManager {
        self.connections.get()
    }

    /// Awaits one Redis call under the configured deadline; fails at once
    /// while Redis is known to be unreachable.
    async fn deadline<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = RedisResult<T>>,
    ) -> anyhow::Result<T> {
        self.connections.call(call).await.context(what)
    }

    /// The first-come decision (reserve.lua).
    pub async fn reserve(
        &self,
        event_id: i64,
        user_id: i64,
        idem: &str,
    ) -> anyhow::Result<ReserveOutcome> {
        let k = self.keys(event_id);
        let idem_key = k.idempotency(user_id, idem);
        let (code, ticket, slot, remaining, reserved_ms): (i64, i32, i32, i64, i64) = {
            let mut c = self.conn();
            self.deadline("reserve script", async {
                let mut call = RESERVE.prepare_invoke();
                for key in k.state() {
                    call.key(key);
                }
                call.key(idem_key)
                    .arg(user_id)
                    .arg(idem)
                    .arg(self.idem_ttl_secs);
                call.invoke_async(&mut c).await
            })
            .await
        }?;
        Ok(match code {
            1 => ReserveOutcome::Reserved(Reservation {
                event_id,
                user_id,
                ticket,
                slot,
                remaining,
                reserved_ms,
                idem: idem.to_owned(),
            }),
            2 => ReserveOutcome::Replay {
                ticket,
                slot,
                remaining,
            },
            -1 => ReserveOutcome::NotLoaded,
            -2 => ReserveOutcome::NotStarted,
            -3 => ReserveOutcome::Ended,
            -4 => ReserveOutcome::SoldOut,
            -5 => ReserveOutcome::LimitReached,
            other => anyhow::bail!("reserve script returned unknown code {other}"),
        })
    }

    /// Settles a pending reservation (release.lua). `give_ticket` / `give_slot`
    /// say what nobody in PostgreSQL holds; both false = confirm. Returns
    /// whether this call settled it (false: already settled).
    pub async fn release(
        &self,
        r: &Reservation,
        give_ticket: bool,
        give_slot: bool,
    ) -> anyhow::Result<bool> {
        let k = self.keys(r.event_id);
        let idem_key = k.idempotency(r.user_id, &r.idem);
        let settled: i64 = {
            let mut c = self.conn();
            self.deadline("release script", async {
                let mut call = RELEASE.prepare_invoke();
                call.key(k.stock())
                    .key(k.free())
                    .key(k.users())
                    .key(k.pending())
                    .key(idem_key)
                    .arg(r.ticket)
                    .arg(r.pending_value())
                    .arg(if give_ticket { "1" } else { "0" })
                    .arg(if give_slot { "1" } else { "0" });
                call.invoke_async(&mut c).await
            })
            .await
        }?;
        Ok(settled == 1)
    }

    /// Clears the pending entries of committed reservations of one event.
    pub async fn confirm(&self, event_id: i64, committed: &[&Reservation]) -> anyhow::Result<()> {
        let k = self.keys(event_id);
        let _: i64 = {
            let mut c = self.conn();
            self.deadline("confirm script", async {
                let mut call = CONFIRM.prepare_invoke();
                call.key(k.pending());
                for r in committed {
                    call.arg(r.ticket).arg(r.pending_value());
                }
                call.invoke_async(&mut c).await
            })
            .await
        }?;
        Ok(())
    }

    /// Writes a rebuilt state unless the event is loaded; true if it wrote.
    pub async fn load(&self, event_id: i64, s: &EventState) -> anyhow::Result<bool> {
        let k = self.keys(event_id);
        let loaded: i64 = {
            let mut c = self.conn();
            self.deadline("load script", async {
                let mut call = LOAD.prepare_invoke();
                for key in k.state() {
                    call.key(key);
                }
                call.arg(s.start_ms)
                    .arg(s.end_ms)
                    .arg(s.total)
                    .arg(s.max_per_user)
                    .arg(if s.closed { "1" } else { "0" })
                    .arg(s.expire_at_ms)
                    .arg(s.remaining)
                    .arg(s.highest_ticket)
                    .arg(s.free_tickets.len());
                for t in &s.free_tickets {
                    call.arg(t);
                }
                for (user, held) in &s.users {
                    call.arg(user).arg(held);
                }
                call.invoke_async(&mut c).await
            })
            .await
        }?;
        Ok(loaded == 1)
    }

    /// Applies new limits / window / closed flag to a loaded event
    /// (update_event.lua); false when the event is not loaded.
    pub async fn update(&self, event_id: i64, s: &EventState) -> anyhow::Result<bool> {
        let k = self.keys(event_id);
        let mut c = self.conn();
        let mut call = UPDATE.prepare_invoke();
        for key in k.state() {
            call.key(key);
        }
        call.arg(s.start_ms)
            .arg(s.end_ms)
            .arg(s.total)
            .arg(s.max_per_user)
            .arg(if s.closed { "1" } else { "0" })
            .arg(s.expire_at_ms);
        let applied: i64 = self
            .deadline("update script", call.invoke_async(&mut c))
            .await?;
        Ok(applied == 1)
    }

    /// Whether the event's state is in Redis.
    pub async fn is_loaded(&self, event_id: i64) -> anyhow::Result<bool> {
        let info = self.keys(event_id).info();
        {
            let mut c = self.conn();
            self.deadline("EXISTS info", async {
                cmd("EXISTS").arg(info).query_async(&mut c).await
            })
            .await
        }
    }

    /// Takes the one-instance rebuild lock; `Some(token)` when taken.
    pub async fn try_lock_rebuild(
        &self,
        event_id: i64,
        ttl: Duration,
    ) -> anyhow::Result<Option<String>> {
        let key = self.keys(event_id).rebuild_lock();
        let token = uuid::Uuid::new_v4().to_string();
        let taken: Option<String> = {
            let mut c = self.conn();
            self.deadline("SET NX rebuild lock", async {
                cmd("SET")
                    .arg(key)
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl.as_millis() as u64)
                    .query_async(&mut c)
                    .await
            })
            .await
        }?;
        Ok(taken.map(|_| token))
    }

    pub async fn unlock_rebuild(&self, event_id: i64, token: &str) -> anyhow::Result<()> {
        // Delete only our own lock (it may have expired and been retaken).
        static UNLOCK: LazyLock<Script> = LazyLock::new(|| {
            Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
            )
        });
        let key = self.keys(event_id).rebuild_lock();
        let _: i64 = self
            .deadline(
                "rebuild unlock",
                UNLOCK.key(key).arg(token).invoke_async(&mut self.conn()),
            )
            .await?;
        Ok(())
    }

    /// Claims the right to send the next `event.stock` of this event (one
    /// sender per interval across instances).
    pub async fn claim_stock_tick(&self, event_id: i64, every: Duration) -> anyhow::Result<bool> {
        let key = self.keys(event_id).stock_tick();
        let mut c = self.conn();
        let taken: Option<String> = self
            .deadline(
                "SET NX stock tick",
                cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(every.as_millis() as u64)
                    .query_async(&mut c),
            )
            .await?;
        Ok(taken.is_some())
    }

    /// Binds an idempotency key to the body fingerprint it was first used
    /// with; returns the fingerprint already bound when it differs.
    pub async fn bind_idempotency(
        &self,
        user_id: i64,
        key_hash: &str,
        fingerprint: &str,
    ) -> anyhow::Result<Option<String>> {
        let key = idempotency_binding(&self.prefix, user_id, key_hash);
        let ttl = self.idem_ttl_secs;
        let previous: Option<String> = {
            let mut c = self.conn();
            self.deadline("idempotency binding", async {
                cmd("SET")
                    .arg(key)
                    .arg(fingerprint)
                    .arg("NX")
                    .arg("GET")
                    .arg("EX")
                    .arg(ttl)
                    .query_async(&mut c)
                    .await
            })
            .await
        }?;
        Ok(previous.filter(|p| p != fingerprint))
    }

    /// Pending reservations of one event (the sweeper's input).
    pub async fn pending(&self, event_id: i64) -> anyhow::Result<Vec<Reservation>> {
        let key = self.keys(event_id).pending();
        let entries: Vec<(String, String)> = {
            let mut c = self.conn();
            self.deadline("HGETALL pending", async {
                cmd("HGETALL").arg(key).query_async(&mut c).await
            })
            .await
        }?;
        Ok(entries
            .iter()
            .filter_map(|(ticket, value)| Reservation::from_pending(event_id, ticket, value))
            .collect())
    }

    /// Whether the ticket is still pending for this user and slot (any
    /// reservation time: a replayed request does not know it).
    pub async fn is_pending_for(&self, r: &Reservation) -> anyhow::Result<bool> {
        let key = self.keys(r.event_id).pending();
        let mut c = self.conn();
        let value: Option<String> = self
            .deadline(
                "HGET pending",
                cmd("HGET").arg(key).arg(r.ticket).query_async(&mut c),
            )
            .await?;
        Ok(value.is_some_and(|v| v.starts_with(&format!("{}:{}:", r.user_id, r.slot))))
    }

    pub async fn delete_view(&self, event_id: i64) -> anyhow::Result<()> {
        let key = self.keys(event_id).view();
        let mut c = self.conn();
        self.deadline("DEL view", cmd("DEL").arg(key).query_async::<i64>(&mut c))
            .await?;
        Ok(())
    }

    /// Tickets left per event (`None` where the event is not loaded).
    pub async fn remaining(&self, event_ids: &[i64]) -> anyhow::Result<Vec<Option<i64>>> {
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        // One pipelined GET per event (not MGET: on a cluster the stocks live
        // in different slots), one round trip for the whole list.
        let mut pipe = redis::pipe();
        for id in event_ids {
            pipe.cmd("GET").arg(self.keys(*id).stock());
        }
        let mut c = self.conn();
        self.deadline("GET stocks", pipe.query_async(&mut c)).await
    }

    /// Runs the reserve script against an event id that never exists: proves
    /// the script loads and runs without touching any state (readiness).
    pub async fn probe(&self) -> anyhow::Result<()> {
        match self.reserve(0, 0, "").await? {
            ReserveOutcome::NotLoaded => Ok(()),
            other => anyhow::bail!("probe event 0 unexpectedly answered {other:?}"),
        }
    }

    /// Cached public JSON view of an event.
    pub async fn get_view(&self, event_id: i64) -> anyhow::Result<Option<String>> {
        let key = self.keys(event_id).view();
        {
            let mut c = self.conn();
            self.deadline("GET view", async {
                cmd("GET").arg(key).query_async(&mut c).await
            })
            .await
        }
    }

    pub async fn put_view(&self, event_id: i64, json: &str, ttl: Duration) -> anyhow::Result<()> {
        let key = self.keys(event_id).view();
        {
            let mut c = self.conn();
            self.deadline("SET view", async {
                cmd("SET")
                    .arg(key)
                    .arg(json)
                    .arg("PX")
                    .arg(ttl.as_millis() as u64)
                    .query_async(&mut c)
                    .await
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_values_round_trip_including_colons_in_nothing_but_the_tail() {
        let r = Reservation {
            event_id: 3,
            user_id: 17,
            ticket: 9,
            slot: 2,
            remaining: 0,
            reserved_ms: 1_700_000_000_123,
            idem: "abcd".into(),
        };
        let back = Reservation::from_pending(3, "9", &r.pending_value()).unwrap();
        assert_eq!(back, r);
        assert_eq!(Reservation::from_pending(3, "9", "x:1:2:"), None);
    }
}
