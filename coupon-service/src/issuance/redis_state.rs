//! The issuance state in Redis and the Lua scripts that change it (the
//! deployment's connections and prefix: `crate::redis_store`).
//!
//! Each script runs atomically on the keys of one event (one hash tag); the
//! scripts are the serialization point of issuance, no lock is taken around a
//! request. `redis::Script` sends EVALSHA and falls back to loading the script
//! on `NOSCRIPT` (a restarted or flushed Redis).

use std::{sync::LazyLock, time::Duration};

use contract::redis_keys::{EventKeys, idempotency_binding};
use redis::{Script, cmd};
use service_kit::redis::CallError;

use super::{
    abandoned::{Abandoned, AbandonedCalls},
    reservation::{EventState, Reservation, ReserveOutcome},
};
use crate::redis_store::{RedisStore, call_id};

static RESERVE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("reserve.lua")));
static RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("release.lua")));
static CONFIRM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("confirm.lua")));
static LOAD: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("load_event.lua")));
static UPDATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("update_event.lua")));

/// How long a reserve call's record is kept: longer than any retry of the
/// call and than the last look for an abandoned one (`abandoned.rs`).
const CALL_RECORD_SECS: u64 = 30;

/// How long an idempotency key stays bound to the event it won in, against
/// its reuse for another event: a retry comes within minutes. (Its replay
/// in that event is the event's own record, `issuance.idempotency_ttl_secs`.)
pub const BINDING_TTL_SECS: u64 = 600;

/// What a reserve call reserved, as its record keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRecord {
    pub ticket: i32,
    pub slot: i32,
    pub remaining: i64,
    pub reserved_ms: i64,
}

impl CallRecord {
    /// `ticket:slot:remaining:reserved_ms`, as `reserve.lua` writes it.
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        let record = Self {
            ticket: parts.next()?.parse().ok()?,
            slot: parts.next()?.parse().ok()?,
            remaining: parts.next()?.parse().ok()?,
            reserved_ms: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(record)
    }
}

/// The issuance scripts and keys of one deployment.
#[derive(Clone)]
pub struct RedisState {
    redis: RedisStore,
    idem_ttl_secs: u64,
    abandoned: AbandonedCalls,
}

impl RedisState {
    pub fn new(redis: RedisStore, idem_ttl_secs: u64) -> Self {
        Self {
            redis,
            idem_ttl_secs,
            abandoned: AbandonedCalls::default(),
        }
    }

    /// The deployment's Redis underneath (live stock reads).
    pub fn store(&self) -> &RedisStore {
        &self.redis
    }

    pub fn keys(&self, event_id: i64) -> EventKeys {
        self.redis.keys(event_id)
    }

    /// The first-come decision (reserve.lua). A call that got no answer
    /// may have reserved anyway: that reservation is given back in the
    /// background (`abandoned.rs`).
    pub async fn reserve(
        &self,
        event_id: i64,
        user_id: i64,
        idem: &str,
    ) -> anyhow::Result<ReserveOutcome> {
        let k = self.keys(event_id);
        let idem_key = k.idempotency(user_id, idem);
        let call_id = call_id();
        let answer: anyhow::Result<(i64, i32, i32, i64, i64)> = {
            let mut c = self.redis.conn();
            self.redis
                .call("reserve script", async {
                    let mut call = RESERVE.prepare_invoke();
                    for key in k.state() {
                        call.key(key);
                    }
                    call.key(idem_key)
                        .key(k.call(&call_id))
                        .arg(user_id)
                        .arg(idem)
                        .arg(self.idem_ttl_secs)
                        .arg(CALL_RECORD_SECS);
                    call.invoke_async(&mut c).await
                })
                .await
        };
        let (code, ticket, slot, remaining, reserved_ms) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                if e.downcast_ref::<CallError>()
                    .is_some_and(CallError::outcome_unknown)
                {
                    let call = Abandoned {
                        event_id,
                        user_id,
                        idem: idem.to_owned(),
                        call_id,
                    };
                    self.abandoned.settle(self.clone(), call);
                }
                return Err(e);
            }
        };
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
            -6 => ReserveOutcome::NotAdmitted,
            other => anyhow::bail!("reserve script returned unknown code {other}"),
        })
    }

    /// The users holding (or having held) a slot of the event, or `None`
    /// when they are more than `max` (or the event is not loaded: nobody).
    pub async fn slot_holders(
        &self,
        event_id: i64,
        max: usize,
    ) -> anyhow::Result<Option<Vec<i64>>> {
        let key = self.keys(event_id).users();
        let mut c = self.redis.conn();
        let count: usize = self
            .redis
            .call("HLEN users", cmd("HLEN").arg(&key).query_async(&mut c))
            .await?;
        if count > max {
            return Ok(None);
        }
        let users: Vec<String> = self
            .redis
            .call("HKEYS users", cmd("HKEYS").arg(&key).query_async(&mut c))
            .await?;
        // The `_` placeholder field is no user.
        Ok(Some(users.iter().filter_map(|u| u.parse().ok()).collect()))
    }

    /// What a reserve call reserved, if it ran and reserved.
    pub async fn call_record(
        &self,
        event_id: i64,
        call_id: &str,
    ) -> anyhow::Result<Option<CallRecord>> {
        let key = self.keys(event_id).call(call_id);
        let mut c = self.redis.conn();
        let text: Option<String> = self
            .redis
            .call("GET call record", cmd("GET").arg(key).query_async(&mut c))
            .await?;
        Ok(text.as_deref().and_then(CallRecord::parse))
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
            let mut c = self.redis.conn();
            self.redis
                .call("release script", async {
                    let mut call = RELEASE.prepare_invoke();
                    call.key(k.stock())
                        .key(k.free())
                        .key(k.users())
                        .key(k.pending())
                        .key(idem_key)
                        .key(k.holds())
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
            let mut c = self.redis.conn();
            self.redis
                .call("confirm script", async {
                    let mut call = CONFIRM.prepare_invoke();
                    call.key(k.pending()).key(k.holds());
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
            let mut c = self.redis.conn();
            self.redis
                .call("load script", async {
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
                        .arg(s.version)
                        .arg(s.admission.as_str())
                        .arg(s.remaining)
                        .arg(s.highest_ticket)
                        .arg(s.free_tickets.len());
                    for t in &s.free_tickets {
                        call.arg(t);
                    }
                    call.arg(s.users.len());
                    for (user, held) in &s.users {
                        call.arg(user).arg(held);
                    }
                    for (user, claim_by_ms) in &s.holds {
                        call.arg(user).arg(claim_by_ms);
                    }
                    call.invoke_async(&mut c).await
                })
                .await
        }?;
        Ok(loaded == 1)
    }

    /// Applies new limits / window / closed flag to a loaded event
    /// (update_event.lua); false when the event is not loaded or Redis
    /// already holds this version or a newer one.
    pub async fn update(&self, event_id: i64, s: &EventState) -> anyhow::Result<bool> {
        let k = self.keys(event_id);
        let mut c = self.redis.conn();
        let mut call = UPDATE.prepare_invoke();
        for key in k.state() {
            call.key(key);
        }
        call.arg(s.start_ms)
            .arg(s.end_ms)
            .arg(s.total)
            .arg(s.max_per_user)
            .arg(if s.closed { "1" } else { "0" })
            .arg(s.expire_at_ms)
            .arg(s.version)
            .arg(s.admission.as_str());
        let applied: i64 = self
            .redis
            .call("update script", call.invoke_async(&mut c))
            .await?;
        Ok(applied == 1)
    }

    /// The version of the sale state Redis holds for the event (0: written
    /// before versions existed); `None` when the event is not loaded.
    pub async fn loaded_version(&self, event_id: i64) -> anyhow::Result<Option<i64>> {
        let info = self.keys(event_id).info();
        let (total, version): (Option<i64>, Option<i64>) = {
            let mut c = self.redis.conn();
            self.redis
                .call("HMGET info version", async {
                    cmd("HMGET")
                        .arg(info)
                        .arg("total")
                        .arg("version")
                        .query_async(&mut c)
                        .await
                })
                .await
        }?;
        Ok(total.map(|_| version.unwrap_or(0)))
    }

    /// Whether the event's state is in Redis.
    pub async fn is_loaded(&self, event_id: i64) -> anyhow::Result<bool> {
        let info = self.keys(event_id).info();
        {
            let mut c = self.redis.conn();
            self.redis
                .call("EXISTS info", async {
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
            let mut c = self.redis.conn();
            self.redis
                .call("SET NX rebuild lock", async {
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
            .redis
            .call(
                "rebuild unlock",
                UNLOCK
                    .key(key)
                    .arg(token)
                    .invoke_async(&mut self.redis.conn()),
            )
            .await?;
        Ok(())
    }

    /// The body fingerprint an idempotency key is bound to, if any.
    pub async fn idempotency_bound_to(
        &self,
        user_id: i64,
        key_hash: &str,
    ) -> anyhow::Result<Option<String>> {
        let key = idempotency_binding(self.redis.prefix(), user_id, key_hash);
        let mut c = self.redis.conn();
        self.redis
            .call(
                "idempotency binding read",
                cmd("GET").arg(key).query_async(&mut c),
            )
            .await
    }

    /// Binds an idempotency key to the body fingerprint it reserved with,
    /// for [`BINDING_TTL_SECS`]; returns the fingerprint already bound when
    /// it differs.
    pub async fn bind_idempotency(
        &self,
        user_id: i64,
        key_hash: &str,
        fingerprint: &str,
    ) -> anyhow::Result<Option<String>> {
        let key = idempotency_binding(self.redis.prefix(), user_id, key_hash);
        let ttl = BINDING_TTL_SECS;
        let previous: Option<String> = {
            let mut c = self.redis.conn();
            self.redis
                .call("idempotency binding", async {
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
            let mut c = self.redis.conn();
            self.redis
                .call("HGETALL pending", async {
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
        let mut c = self.redis.conn();
        let value: Option<String> = self
            .redis
            .call(
                "HGET pending",
                cmd("HGET").arg(key).arg(r.ticket).query_async(&mut c),
            )
            .await?;
        Ok(value.is_some_and(|v| v.starts_with(&format!("{}:{}:", r.user_id, r.slot))))
    }

    /// Runs the reserve script against an event id that never exists: proves
    /// the script loads and runs without touching any state (readiness).
    pub async fn probe(&self) -> anyhow::Result<()> {
        match self.reserve(0, 0, "").await? {
            ReserveOutcome::NotLoaded => Ok(()),
            other => anyhow::bail!("probe event 0 unexpectedly answered {other:?}"),
        }
    }
}
