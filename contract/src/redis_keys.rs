//! The Redis key layout both services read and write (docs/contract.md §5):
//! coupon-service keeps an event's issuance state there, notify-service
//! reads its live stock and window from the same keys for snapshots. Every
//! key of one event shares the hash tag `{<event id>}`, so one Lua script
//! may touch them all, also on Redis Cluster (one slot). The scripts take
//! these names as KEYS; their headers point here.

/// Names of one event's issuance keys, under the deployment's prefix.
#[derive(Debug, Clone)]
pub struct EventKeys {
    base: String,
}

impl EventKeys {
    pub fn new(prefix: &str, event_id: i64) -> Self {
        Self {
            base: format!("{prefix}event:{{{event_id}}}:"),
        }
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.base)
    }

    /// Hash: start_ms, end_ms, total, max_per_user, closed, expire_at_ms,
    /// version (the event's `state_version` the sale state was written from).
    pub fn info(&self) -> String {
        self.key("info")
    }
    /// Tickets left.
    pub fn stock(&self) -> String {
        self.key("stock")
    }
    /// Highest ticket number handed out so far (fresh tickets are next + 1).
    pub fn next(&self) -> String {
        self.key("next")
    }
    /// Set of tickets given back, handed out again before fresh ones.
    pub fn free(&self) -> String {
        self.key("free")
    }
    /// Hash user → held slots as a '0'/'1' string ("101": slots 1 and 3).
    pub fn users(&self) -> String {
        self.key("users")
    }
    /// Hash ticket → "user:slot:reserved_ms:idem" for reservations not yet
    /// known to be committed.
    pub fn pending(&self) -> String {
        self.key("pending")
    }
    /// Waiting room: hash user → "claim_by_ms" for an admitted place holding
    /// one unit of stock until then, "claim_by_ms:ticket" while the
    /// holder's press is being written (`admission/holds.rs`).
    pub fn holds(&self) -> String {
        self.key("holds")
    }
    /// Waiting room: the room's latest progress (JSON), written by the
    /// instance that ticked it last.
    pub fn queue_progress(&self) -> String {
        self.key("queue_progress")
    }
    /// Waiting room: places taken so far (bounds the room's size).
    pub fn queue_size(&self) -> String {
        self.key("queue_size")
    }
    /// Waiting room: lease of the one instance ticking the room this second.
    pub fn queue_tick(&self) -> String {
        self.key("queue_tick")
    }
    /// Idempotency record of one (user, key hash): "ticket:slot". Scripts
    /// take it as a key even without a header (`-`: never written then).
    pub fn idempotency(&self, user_id: i64, key_hash: &str) -> String {
        let hash = if key_hash.is_empty() { "-" } else { key_hash };
        self.key(&format!("idem:{user_id}:{hash}"))
    }
    /// What one reserve call did, kept a moment under the call's id: a
    /// retried call answers with its first run's reservation.
    pub fn call(&self, call_id: &str) -> String {
        self.key(&format!("call:{call_id}"))
    }

    /// The seven keys of the issuance state, in the order the scripts
    /// expect them as KEYS[1..7].
    pub fn state(&self) -> [String; 7] {
        [
            self.info(),
            self.stock(),
            self.next(),
            self.free(),
            self.users(),
            self.pending(),
            self.holds(),
        ]
    }
    /// Lock held by the one instance rebuilding this event from PostgreSQL.
    pub fn rebuild_lock(&self) -> String {
        self.key("rebuild")
    }
    /// Short-lived marker: an `event.stock` message was just queued.
    pub fn stock_tick(&self) -> String {
        self.key("stock_tick")
    }
    /// Cached public view of the event (JSON), between the process cache and
    /// PostgreSQL.
    pub fn view(&self) -> String {
        self.key("view")
    }
    /// A `KEYS`/`SCAN` pattern matching every key of the event (tests and
    /// operators; never on a hot path).
    pub fn pattern(&self) -> String {
        self.key("*")
    }
}

/// Binds an `Idempotency-Key` of a user to the body it was first used with.
/// Lives outside the event's slot because a key may be reused for another
/// event, which must be caught too.
pub fn idempotency_binding(prefix: &str, user_id: i64, key_hash: &str) -> String {
    format!("{prefix}idem:{{user:{user_id}}}:{key_hash}")
}

/// A rate limit's state for one subject, shared by every instance: `limit`
/// names the limit (`issue`, `redeem`, `auth`), `subject` who is limited
/// (`user:<id>`, `addr:<address>`). The subject is the hash tag, so a
/// user's limits live on the user's own slot, away from any event's.
pub fn rate_limit_key(prefix: &str, limit: &str, subject: &str) -> String {
    format!("{prefix}rl:{{{subject}}}:{limit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_key_carries_the_event_hash_tag() {
        let k = EventKeys::new("t1:", 42);
        for key in [
            k.info(),
            k.stock(),
            k.next(),
            k.free(),
            k.users(),
            k.pending(),
            k.holds(),
            k.queue_progress(),
            k.queue_tick(),
            k.queue_size(),
            k.idempotency(7, "ab"),
            k.call("0123456789abcdef"),
        ] {
            assert!(key.starts_with("t1:event:{42}:"), "{key}");
        }
        assert_eq!(k.pattern(), "t1:event:{42}:*");
    }
}
