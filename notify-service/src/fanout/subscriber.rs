//! Every instance listens on the fan-out channel and hands each message to
//! its local connections. The subscription is re-established with backoff.
//! Messages published while it was down never reach this instance, so once
//! it is back every connection that lived through the gap is closed with
//! 1012: its client reconnects, `resume`s from history and re-subscribes
//! for fresh snapshots. (While it is down, `/ws` refuses new sockets.)
//!
//! Revocations are also recorded in Redis (the fan-out store): at every
//! subscription, the first one included, this instance reads the recent
//! ones before it goes live, so neither a late start nor a gap lets a
//! revoked session's token open a socket here.
//!
//! On a Redis Cluster the channel is sharded (`SSUBSCRIBE`): the cluster
//! client follows the channel's slot to whichever node serves it and
//! subscribes again after a failover or a slot move; each such
//! resubscription is a gap like a reconnection.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use anyhow::Context;
use futures::StreamExt;
use redis::{ProtocolVersion, PushInfo, PushKind, cluster::ClusterClientBuilder};
use service_kit::backoff::Backoff;
use tokio::sync::{mpsc, watch};

use super::{
    recent_ids::RecentIds,
    store::FanoutStore,
    wire::{self, Received, Revocation},
};
use crate::{
    hub::{Frame, Hub, KickReason},
    liveness::Liveness,
    metrics::Metrics,
    shutdown::{self, Phase},
};

/// How often the idle subscription is probed, to notice a silent Redis.
const PROBE_EVERY: Duration = Duration::from_secs(5);

/// Where the fan-out channel is.
pub enum Source {
    Single(redis::Client),
    /// A cluster's seed nodes.
    Cluster(Vec<String>),
}

pub struct Subscriber {
    pub source: Source,
    pub channel: String,
    /// Cluster: a channel on the subscription's slot, for the liveness probe.
    pub probe_channel: String,
    /// Where the recent revocations are recorded.
    pub store: FanoutStore,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    pub liveness: Arc<Liveness>,
    pub timeout: Duration,
    pub shutdown: watch::Receiver<Phase>,
    /// Event-wide message ids delivered lately: a re-run publishes again.
    pub recent: Mutex<RecentIds>,
}

impl Subscriber {
    /// Runs until shutdown: subscribe, deliver, reconnect when lost.
    pub async fn run(mut self) {
        let mut backoff = Backoff::reconnect();
        let mut had_subscription = false;
        loop {
            match self.listen(&mut had_subscription).await {
                Ok(()) => return,
                Err(e) => {
                    self.set_up(false);
                    tracing::warn!(error = %format!("{e:#}"), "fan-out subscription lost; reconnecting");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff.next_wait()) => {}
                () = shutdown::reached(&mut self.shutdown, Phase::CloseSockets) => return,
            }
        }
    }

    fn set_up(&self, up: bool) {
        self.liveness.subscriber.set(up);
    }

    /// Delivers until the subscription breaks (Err) or shutdown (Ok).
    /// `had_subscription`: a subscription was live before this one (kept up to date here).
    async fn listen(&mut self, had_subscription: &mut bool) -> anyhow::Result<()> {
        let client = match &self.source {
            Source::Single(client) => client.clone(),
            Source::Cluster(nodes) => {
                let nodes = nodes.clone();
                return self.listen_sharded(&nodes, had_subscription).await;
            }
        };
        let mut pubsub = tokio::time::timeout(self.timeout, client.get_async_pubsub())
            .await
            .context("connecting: Redis timed out")?
            .context("connecting")?;
        tokio::time::timeout(self.timeout, pubsub.subscribe(&self.channel))
            .await
            .context("SUBSCRIBE: Redis timed out")?
            .context("SUBSCRIBE")?;
        let (mut sink, mut messages) = pubsub.split();
        self.subscribed(had_subscription).await?;
        let mut probe = tokio::time::interval(PROBE_EVERY);
        probe.tick().await;
        loop {
            tokio::select! {
                message = messages.next() => {
                    let message = message.context("the subscription ended")?;
                    self.deliver(message.get_payload_bytes());
                }
                _ = probe.tick() => {
                    let pong: redis::RedisResult<redis::Value> =
                        tokio::time::timeout(self.timeout, sink.ping())
                            .await
                            .context("PING: Redis timed out")?;
                    pong.context("PING")?;
                }
                () = shutdown::reached(&mut self.shutdown, Phase::CloseSockets) => {
                    self.set_up(false);
                    *had_subscription = false;
                    return Ok(());
                }
            }
        }
    }

    /// The cluster's sharded subscription: pushes arrive on a channel of
    /// ours; the client resubscribes by itself after a failover or a slot
    /// move, which shows as a new `ssubscribe` push (a gap).
    async fn listen_sharded(
        &mut self,
        nodes: &[String],
        had_subscription: &mut bool,
    ) -> anyhow::Result<()> {
        let (pushes, mut received) = mpsc::unbounded_channel::<PushInfo>();
        let client = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
            .use_protocol(ProtocolVersion::RESP3)
            .connection_timeout(self.timeout)
            .response_timeout(self.timeout)
            .push_sender(pushes)
            .build()
            .context("redis.nodes")?;
        let mut connection = tokio::time::timeout(self.timeout, client.get_async_connection())
            .await
            .context("connecting: Redis timed out")?
            .context("connecting")?;
        tokio::time::timeout(self.timeout, connection.ssubscribe(&self.channel))
            .await
            .context("SSUBSCRIBE: Redis timed out")?
            .context("SSUBSCRIBE")?;
        let mut probe = tokio::time::interval(PROBE_EVERY);
        probe.tick().await;
        loop {
            tokio::select! {
                push = received.recv() => {
                    let push = push.context("the subscription ended")?;
                    match push.kind {
                        PushKind::SMessage => {
                            if let Some(redis::Value::BulkString(payload)) = push.data.get(1) {
                                self.deliver(payload);
                            }
                        }
                        // The first confirmation, or a resubscription after a
                        // failover or a slot move: a gap like a reconnection.
                        PushKind::SSubscribe => self.subscribed(had_subscription).await?,
                        PushKind::Disconnection => self.set_up(false),
                        _ => {}
                    }
                }
                _ = probe.tick() => {
                    // Routed to the node that serves the subscription's slot.
                    let pong: redis::RedisResult<redis::Value> = tokio::time::timeout(
                        self.timeout,
                        redis::cmd("SPUBLISH")
                            .arg(&self.probe_channel)
                            .arg("")
                            .query_async(&mut connection),
                    )
                    .await
                    .context("probe: Redis timed out")?;
                    pong.context("probe")?;
                }
                () = shutdown::reached(&mut self.shutdown, Phase::CloseSockets) => {
                    self.set_up(false);
                    *had_subscription = false;
                    return Ok(());
                }
            }
        }
    }

    /// A subscription is live. The recent revocations are applied first
    /// (this instance may not have seen them: it just started, or there was
    /// a gap). If a subscription was live before this one, messages published
    /// in between never reached this instance: every socket that lived
    /// through the gap is closed (1012) to reconnect and `resume`.
    async fn subscribed(&self, had_subscription: &mut bool) -> anyhow::Result<()> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let recent = tokio::time::timeout(self.timeout, self.store.recent_revocations(now_ms))
            .await
            .context("reading the recent revocations: Redis timed out")??;
        for revocation in &recent {
            self.revoke(revocation);
        }
        if std::mem::take(had_subscription) {
            let closed = self.hub.kick_all(KickReason::Gap);
            tracing::warn!(
                connections = closed,
                "fan-out resumed after a gap; clients reconnect and resume"
            );
        }
        self.set_up(true);
        *had_subscription = true;
        tracing::info!(
            recent_revocations = recent.len(),
            "fan-out subscription active"
        );
        Ok(())
    }

    /// Ends the revoked session's sockets here and refuses its tokens from
    /// now on (the revocation's time is when it was consumed, the same on
    /// every instance).
    fn revoke(&self, r: &Revocation) {
        let at = u64::try_from(r.at_ms / 1000).unwrap_or_default();
        self.hub.revoke(r.user_id, r.session, at);
        let held = self.hub.revocations.len();
        self.metrics
            .revoked_sessions_held
            .set(i64::try_from(held).unwrap_or(i64::MAX));
    }

    fn deliver(&self, payload: &[u8]) {
        let published = match wire::decode(payload) {
            Some(Received::Frame(published)) => published,
            Some(Received::Revocation(revocation)) => return self.revoke(&revocation),
            None => {
                tracing::warn!("ignored a malformed fan-out message");
                return;
            }
        };
        if let Some(id) = published.message_id {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            if !recent.first_time(id) {
                return;
            }
        }
        let frame = Arc::new(Frame {
            text: published.frame,
            seq: published.seq,
        });
        let delivered = self.hub.deliver(published.target, &frame);
        let kind = published.kind.as_str();
        if delivered.queued > 0 {
            self.metrics
                .messages_delivered
                .with_label_values(&[kind])
                .inc_by(delivered.queued as u64);
            let now_ms = chrono::Utc::now().timestamp_millis();
            let latency_ms = (now_ms - published.consumed_ms).max(0);
            self.metrics
                .fanout_latency
                .with_label_values(&[kind])
                .observe(latency_ms as f64 / 1000.0);
        }
    }
}
