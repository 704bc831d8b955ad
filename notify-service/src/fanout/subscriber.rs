//! Every instance listens on the fan-out channel and hands each message to
//! its local connections. The subscription is re-established with backoff.
//! Messages published while it was down never reach this instance, so once
//! it is back every connection that lived through the gap is closed with
//! 1012: its client reconnects, `resume`s from history and re-subscribes
//! for fresh snapshots. (While it is down, `/ws` refuses new sockets.)

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use futures::StreamExt;
use service_kit::backoff::Backoff;
use tokio::sync::watch;

use super::wire;
use crate::{
    hub::{Frame, Hub, KickReason},
    liveness::Liveness,
    metrics::Metrics,
    shutdown::{self, Phase},
};

/// How often the idle subscription is probed, to notice a silent Redis.
const PROBE_EVERY: Duration = Duration::from_secs(5);

pub struct Subscriber {
    pub client: redis::Client,
    pub channel: String,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    pub liveness: Arc<Liveness>,
    pub timeout: Duration,
    pub shutdown: watch::Receiver<Phase>,
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
        let mut pubsub = tokio::time::timeout(self.timeout, self.client.get_async_pubsub())
            .await
            .context("connecting: Redis timed out")?
            .context("connecting")?;
        tokio::time::timeout(self.timeout, pubsub.subscribe(&self.channel))
            .await
            .context("SUBSCRIBE: Redis timed out")?
            .context("SUBSCRIBE")?;
        let (mut sink, mut messages) = pubsub.split();
        if std::mem::take(had_subscription) {
            let closed = self.hub.kick_all(KickReason::Gap);
            tracing::warn!(
                connections = closed,
                "fan-out resumed after a gap; clients reconnect and resume"
            );
        }
        self.set_up(true);
        *had_subscription = true;
        tracing::info!("fan-out subscription active");
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

    fn deliver(&self, payload: &[u8]) {
        let Some(published) = wire::decode(payload) else {
            tracing::warn!("ignored a malformed fan-out message");
            return;
        };
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
