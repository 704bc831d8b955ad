//! The Redis side of the fan-out: one Lua call per consumed message
//! (deduplicate by message id, append to the user's history, publish to
//! every instance), and the history read behind `resume`.

use std::sync::LazyLock;

use actix_web::web::Bytes;
use anyhow::Context;
use redis::{FromRedisValue, Script, Value};
use service_kit::redis::RedisConnections;

use super::{keys::Keys, wire};
use crate::{
    configuration::FanoutSettings,
    protocol::{seq::Seq, server::PersonalTemplate},
};

static DELIVER_USER: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("deliver_user.lua")));
static DELIVER_EVENT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("deliver_event.lua")));
static REPLAY: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("replay.lua")));

/// What became of a consumed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fanned {
    Published,
    /// Its id was fanned out before: a redelivery, dropped.
    Duplicate,
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
}

impl FanoutStore {
    pub fn new(connections: RedisConnections, prefix: &str, settings: FanoutSettings) -> Self {
        Self {
            connections,
            keys: Keys::new(prefix),
            settings,
        }
    }

    pub fn channel(&self) -> String {
        self.keys.channel()
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
        let mut call = DELIVER_USER.prepare_invoke();
        call.key(self.keys.user_stream(user_id))
            .key(self.keys.user_seen(user_id, message_id))
            .arg(self.settings.dedup_ttl_secs)
            .arg(self.settings.stream_maxlen)
            .arg(self.settings.stream_ttl_secs)
            .arg(self.keys.channel())
            .arg(wire::user_header_before_seq(user_id))
            .arg(wire::header_after_seq(consumed_ms, kind))
            .arg(&frame.head)
            .arg(&frame.tail);
        let seq: Option<String> = self.call("personal fan-out script", call).await?;
        Ok(if seq.is_some() {
            Fanned::Published
        } else {
            Fanned::Duplicate
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
        let mut call = DELIVER_EVENT.prepare_invoke();
        if dedupe {
            call.key(self.keys.event_seen(event_id, message_id));
        }
        call.arg(self.settings.dedup_ttl_secs)
            .arg(self.keys.channel())
            .arg(wire::event_payload(event_id, consumed_ms, kind, frame));
        let published: i64 = self.call("event fan-out script", call).await?;
        Ok(if published == 1 {
            Fanned::Published
        } else {
            Fanned::Duplicate
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
