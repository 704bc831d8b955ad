//! Redis names of the fan-out. A user's history and the message ids seen
//! for them share the hash tag `{user:<id>}`, an event's the tag
//! `{event:<id>}`, so each Lua call touches one slot (Redis Cluster too).

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The user's history stream: entry id = the message's `seq`.
    pub fn user_stream(&self, user_id: i64) -> String {
        format!("{}notify:{{user:{user_id}}}", self.prefix)
    }

    /// Marker of a personal message id already fanned out.
    pub fn user_seen(&self, user_id: i64, message_id: &uuid::Uuid) -> String {
        format!("{}notify:{{user:{user_id}}}:seen:{message_id}", self.prefix)
    }

    /// Marker of an event-wide message id already fanned out.
    pub fn event_seen(&self, event_id: i64, message_id: &uuid::Uuid) -> String {
        format!(
            "{}notify:{{event:{event_id}}}:seen:{message_id}",
            self.prefix
        )
    }

    /// Sessions revoked lately: a sorted set of `<user id>|<session or ->`
    /// scored by when (unix ms), so an instance that starts, or comes back
    /// from a fan-out gap, learns the revocations it did not see.
    pub fn revocations(&self) -> String {
        format!("{}notify:revocations", self.prefix)
    }

    /// The same for whole accounts (disabled users), bounded apart: many
    /// logouts must not push out an account's disable.
    pub fn account_revocations(&self) -> String {
        format!("{}notify:revocations:accounts", self.prefix)
    }

    /// The pub/sub channel every instance listens on.
    pub fn channel(&self) -> String {
        format!("{}notify:fanout", self.prefix)
    }

    /// A sharded channel on the same slot as [`Self::channel`] (its whole
    /// name as the hash tag; the channel has no braces of its own): probing
    /// it reaches the node that serves the subscription, and nobody listens.
    pub fn probe_channel(&self) -> String {
        format!("{{{}}}:probe", self.channel())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_keys_share_one_hash_tag() {
        let k = Keys::new("t1:");
        let id = uuid::Uuid::nil();
        assert_eq!(k.user_stream(123), "t1:notify:{user:123}");
        assert!(k.user_seen(123, &id).starts_with("t1:notify:{user:123}:"));
        assert!(k.event_seen(9, &id).starts_with("t1:notify:{event:9}:"));
        assert_eq!(k.channel(), "t1:notify:fanout");
        assert_eq!(k.revocations(), "t1:notify:revocations");
        assert_eq!(k.account_revocations(), "t1:notify:revocations:accounts");
        assert_eq!(k.probe_channel(), "{t1:notify:fanout}:probe");
    }
}
