//! The Redis side of the fan-out: one Lua call per consumed message
//! (deduplicate by message id, append to the user's history, publish to
//! every instance), and the history read behind `resume`.
//!
//! On a Redis Cluster the message goes out on a sharded channel
//! (`SPUBLISH`, only to the shard that owns the channel, instead of every
//! node), sent right after the script: a script may only publish to a
//! sharded channel of its own keys' slot.
//!
//! Every call here may run twice: the consumer retries a fan-out that
//! failed, and the cluster client retries a call whose reply did not come
//! (a slow shard, a connection lost in a failover) although the first run
//! may have happened. So a run that finds the message's seen-marker writes
//! nothing and publishes what the first run recorded again (same seq, same
//! message id): whether the first publication went out is unknown.
//! Devices drop a seq they have; instances drop an event message id they
//! have delivered (the subscriber's `RecentIds`).

use std::sync::LazyLock;

use actix_web::web::Bytes;
use anyhow::Context;
use contract::revocations::{MAX_ENTRIES, REMEMBER_SECS};
use redis::{FromRedisValue, Script, Value};
use service_kit::redis::{RedisConnections, RedisMode};

use super::{
    keys::Keys,
    wire::{self, Revocation},
};
use crate::{
    configuration::FanoutSettings,
    protocol::{seq::Seq, server::PersonalTemplate},
};

static DELIVER_USER: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("deliver_user.lua")));
static DELIVER_EVENT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("deliver_event.lua")));
static REPLAY: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("replay.lua")));
static REMEMBER_REVOCATION: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("remember_revocation.lua")));

/// What became of a consumed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fanned {
    Published,
    /// Its id was fanned out before (a redelivery, or a retried call whose
    /// first run happened): published again, as recorded then.
    Republished,
    /// Its id was fanned out before and nothing to publish again is known.
    Duplicate,
}

impl Fanned {
    /// The `outcome` label of the consumed-messages metric.
    pub fn label(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::Republished => "republished",
            Self::Duplicate => "duplicate",
        }
    }
}

/// History after a seq, for `resume`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Every message after `since`, oldest first.
    Recovered(Vec<(Seq, Bytes)>),
    /// Some may be gone: the client refetches `GET /api/coupons/my`.
    Lost,
}

#[derive(Clone)]
pub struct FanoutStore {
    connections: RedisConnections,
    keys: Keys,
    settings: FanoutSettings,
    /// Cluster: publish with SPUBLISH after the script.
    sharded: bool,
}

impl FanoutStore {
    pub fn new(
        connections: RedisConnections,
        prefix: &str,
        settings: FanoutSettings,
        mode: RedisMode,
    ) -> Self {
        Self {
            connections,
            keys: Keys::new(prefix),
            settings,
            sharded: mode == RedisMode::Cluster,
        }
    }

    /// The channel the scripts publish to themselves; empty when the caller
    /// publishes (cluster).
    fn script_channel(&self) -> String {
        if self.sharded {
            String::new()
        } else {
            self.keys.channel()
        }
    }

    /// SPUBLISH on a cluster. On failure the caller's retry runs the script
    /// again, which finds the marker and hands back what to publish.
    async fn publish_sharded(&self, payload: Vec<u8>) -> anyhow::Result<()> {
        let mut c = self.connections.get();
        self.connections
            .call(
                redis::cmd("SPUBLISH")
                    .arg(self.keys.channel())
                    .arg(payload)
                    .query_async::<i64>(&mut c),
            )
            .await
            .context("SPUBLISH")?;
        Ok(())
    }

    pub fn channel(&self) -> String {
        self.keys.channel()
    }

    pub fn probe_channel(&self) -> String {
        self.keys.probe_channel()
    }

    async fn call<T: FromRedisValue>(
        &self,
        what: &'static str,
        invocation: redis::ScriptInvocation<'_>,
    ) -> anyhow::Result<T> {
        let mut c = self.connections.get();
        self.connections
            .call(invocation.invoke_async(&mut c))
            .await
            .context(what)
    }

    /// Appends a personal message to the user's history and publishes it.
    pub async fn deliver_user(
        &self,
        user_id: i64,
        message_id: &uuid::Uuid,
        kind: &str,
        frame: &PersonalTemplate,
        consumed_ms: i64,
    ) -> anyhow::Result<Fanned> {
        let seen = self.keys.user_seen(user_id, message_id);
        let (before_seq, after_seq) = (
            wire::user_header_before_seq(user_id),
            wire::header_after_seq(consumed_ms, kind),
        );
        let mut call = DELIVER_USER.prepare_invoke();
        call.key(self.keys.user_stream(user_id))
            .key(&seen)
            .arg(self.settings.dedup_ttl_secs)
            .arg(self.settings.stream_maxlen)
            .arg(self.settings.stream_ttl_secs)
            .arg(self.script_channel())
            .arg(&before_seq)
            .arg(&after_seq)
            .arg(&frame.head)
            .arg(&frame.tail);
        let (first, seq): (i64, Option<String>) =
            self.call("personal fan-out script", call).await?;
        let Some(seq) = seq else {
            return Ok(Fanned::Duplicate);
        };
        if self.sharded {
            // What the script publishes itself on a single server.
            let payload = [
                before_seq.as_str(),
                &seq,
                &after_seq,
                &frame.head,
                &seq,
                &frame.tail,
            ]
            .concat();
            self.publish_sharded(payload.into_bytes()).await?;
        }
        Ok(if first == 1 {
            Fanned::Published
        } else {
            Fanned::Republished
        })
    }

    /// Publishes an event-wide message; `dedupe` drops a seen message id.
    pub async fn deliver_event(
        &self,
        event_id: i64,
        message_id: &uuid::Uuid,
        kind: &str,
        frame: &str,
        consumed_ms: i64,
        dedupe: bool,
    ) -> anyhow::Result<Fanned> {
        let seen = dedupe.then(|| self.keys.event_seen(event_id, message_id));
        let id = dedupe.then_some(message_id);
        let payload = wire::event_payload(event_id, id, consumed_ms, kind, frame);
        self.broadcast(seen, payload).await
    }

    /// Publishes a revocation: every instance closes the session's sockets.
    /// It is recorded first (a redelivery records it again, harmlessly), so
    /// an instance that misses the publication finds it in the record.
    pub async fn deliver_revocation(
        &self,
        user_id: i64,
        session: Option<uuid::Uuid>,
        message_id: &uuid::Uuid,
        consumed_ms: i64,
    ) -> anyhow::Result<Fanned> {
        self.remember_revocation(user_id, session, consumed_ms)
            .await?;
        let seen = self.keys.user_seen(user_id, message_id);
        let payload = wire::session_payload(user_id, session, consumed_ms);
        self.broadcast(Some(seen), payload).await
    }

    async fn remember_revocation(
        &self,
        user_id: i64,
        session: Option<uuid::Uuid>,
        at_ms: i64,
    ) -> anyhow::Result<()> {
        let remember_ms = (REMEMBER_SECS * 1000) as i64;
        let key = match session {
            Some(_) => self.keys.revocations(),
            None => self.keys.account_revocations(),
        };
        let mut call = REMEMBER_REVOCATION.prepare_invoke();
        call.key(key)
            .arg(wire::revoked_session(user_id, session))
            .arg(at_ms)
            .arg(at_ms - remember_ms)
            .arg(MAX_ENTRIES)
            .arg(remember_ms);
        let _: i64 = self.call("revocation record script", call).await?;
        Ok(())
    }

    /// The revocations of the last [`REMEMBER_SECS`] before `now_ms`,
    /// sessions' then accounts', each oldest first (at most [`MAX_ENTRIES`]
    /// of each).
    pub async fn recent_revocations(&self, now_ms: i64) -> anyhow::Result<Vec<Revocation>> {
        let since = now_ms - (REMEMBER_SECS * 1000) as i64;
        let mut recent = Vec::new();
        for key in [self.keys.revocations(), self.keys.account_revocations()] {
            let mut c = self.connections.get();
            // Scores are doubles (RESP3 answers them as such): exact for ms.
            let entries: Vec<(String, f64)> = self
                .connections
                .call(
                    redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg(since)
                        .arg("+inf")
                        .arg("BYSCORE")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(MAX_ENTRIES)
                        .arg("WITHSCORES")
                        .query_async(&mut c),
                )
                .await
                .context("ZRANGE revocations")?;
            recent.extend(entries.into_iter().filter_map(|(named, at_ms)| {
                let (user_id, session) = wire::parse_revoked_session(&named)?;
                Some(Revocation {
                    user_id,
                    session,
                    at_ms: at_ms as i64,
                })
            }));
        }
        Ok(recent)
    }

    /// One message to every instance through the broadcast script; `seen`
    /// (the marker's key) tells a first fan-out of the message id from a
    /// re-run, which publishes again.
    async fn broadcast(&self, seen: Option<String>, payload: String) -> anyhow::Result<Fanned> {
        let mut call = DELIVER_EVENT.prepare_invoke();
        if let Some(seen) = &seen {
            call.key(seen);
        }
        call.arg(self.settings.dedup_ttl_secs)
            .arg(self.script_channel())
            .arg(&payload);
        let first: i64 = self.call("broadcast fan-out script", call).await?;
        if self.sharded {
            self.publish_sharded(payload.into_bytes()).await?;
        }
        Ok(if first == 1 {
            Fanned::Published
        } else {
            Fanned::Republished
        })
    }

    /// The user's messages after `since`, or `Lost` when some are gone.
    pub async fn replay(&self, user_id: i64, since: Seq) -> anyhow::Result<Replay> {
        let mut call = REPLAY.prepare_invoke();
        call.key(self.keys.user_stream(user_id))
            .arg(since.to_string())
            .arg(self.settings.stream_maxlen);
        let reply: Vec<Value> = self.call("replay script", call).await?;
        parse_replay(&reply)
    }

    /// A shared connection answers (readiness).
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut c = self.connections.get();
        let _: String = self
            .connections
            .call(redis::cmd("PING").query_async(&mut c))
            .await
            .context("PING")?;
        Ok(())
    }
}

fn parse_replay(reply: &[Value]) -> anyhow::Result<Replay> {
    let text = |v: &Value| -> anyhow::Result<Vec<u8>> {
        match v {
            Value::BulkString(b) => Ok(b.clone()),
            Value::SimpleString(s) => Ok(s.as_bytes().to_vec()),
            other => anyhow::bail!("replay script: unexpected {other:?}"),
        }
    };
    match reply.first() {
        Some(Value::Int(1)) => {}
        Some(Value::Int(0)) => return Ok(Replay::Lost),
        other => anyhow::bail!("replay script: unexpected status {other:?}"),
    }
    let mut entries = Vec::with_capacity(reply.len() / 2);
    for pair in reply[1..].chunks(2) {
        let [id, frame] = pair else {
            anyhow::bail!("replay script: odd reply");
        };
        let id = String::from_utf8(text(id)?).context("replay script: id")?;
        let seq = Seq::parse(&id).context("replay script: id is not a stream id")?;
        let frame = text(frame)?;
        std::str::from_utf8(&frame).context("replay script: frame is not UTF-8")?;
        entries.push((seq, Bytes::from(frame)));
    }
    Ok(Replay::Recovered(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_replies_parse() {
        assert_eq!(parse_replay(&[Value::Int(0)]).unwrap(), Replay::Lost);
        let reply = [
            Value::Int(1),
            Value::BulkString(b"5-0".to_vec()),
            Value::BulkString(b"{}".to_vec()),
        ];
        assert_eq!(
            parse_replay(&reply).unwrap(),
            Replay::Recovered(vec![(Seq { ms: 5, n: 0 }, Bytes::from_static(b"{}"))])
        );
        assert!(parse_replay(&[Value::Int(1), Value::Int(3)]).is_err());
        assert!(parse_replay(&[]).is_err());
    }
}
