//! Consumes the durable queues of docs/contract.md §3 as one of many competing
//! consumers: manual ack, a prefetch window, up to `prefetch` messages in
//! flight at once. A message is acked only after its fan-out Lua call
//! succeeded; one that does not parse is rejected without requeue (to the
//! dead-letter exchange), so it never loops. A lost broker is reconnected
//! with backoff; whatever was unacked is redelivered (to any instance), and
//! the message-id dedupe in Redis drops the second fan-out.

pub mod acks;
pub mod lag;
pub mod message;

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use contract::{
    messages::TRACE_ID_HEADER,
    topology::{ROUTED_KINDS, Topology},
};
use futures::{
    StreamExt, TryStreamExt, future::select_all as select_all_futures, stream::select_all,
};
use lapin::{
    Channel, Connection, ConnectionProperties,
    message::Delivery,
    options::{BasicConsumeOptions, BasicQosOptions, BasicRejectOptions},
    types::{AMQPValue, FieldTable},
};
use secrecy::{ExposeSecret, SecretString};
use service_kit::backoff::Backoff;
use tokio::sync::watch;
use tracing::Instrument;

use self::{
    acks::AckWindow,
    message::{Notification, Unpacked},
};
use crate::{
    fanout::store::{Fanned, FanoutStore},
    liveness::Liveness,
    metrics::Metrics,
    shutdown::{self, Phase},
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Consumer {
    pub amqp_url: SecretString,
    pub topology: Topology,
    pub prefetch: u16,
    pub store: FanoutStore,
    pub metrics: Arc<Metrics>,
    pub liveness: Arc<Liveness>,
    pub shutdown: watch::Receiver<Phase>,
}

impl Consumer {
    /// Runs until shutdown: connect, consume, back off, reconnect.
    pub async fn run(mut self) {
        let mut backoff = Backoff::reconnect();
        loop {
            match self.consume(&mut backoff).await {
                Ok(()) => {
                    tracing::info!("RabbitMQ consumer stopped");
                    return;
                }
                Err(e) => {
                    self.set_up(false);
                    tracing::warn!(error = %format!("{e:#}"), "RabbitMQ consumer lost; reconnecting");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff.next_wait()) => {}
                () = shutdown::reached(&mut self.shutdown, Phase::StopConsuming) => return,
            }
        }
    }

    fn set_up(&self, up: bool) {
        self.liveness.consumer.set(up);
    }

    /// One connection's life; Ok on shutdown, Err when the broker went away.
    async fn consume(&mut self, backoff: &mut Backoff) -> anyhow::Result<()> {
        let connection = tokio::time::timeout(
            CONNECT_TIMEOUT,
            Connection::connect(
                self.amqp_url.expose_secret(),
                ConnectionProperties::default(),
            ),
        )
        .await
        .context("connecting: RabbitMQ timed out")?
        .context("connecting")?;
        let result = self.consume_on(&connection, backoff).await;
        self.set_up(false);
        // Unacked deliveries go back to the queue with the connection.
        let _ = connection
            .close(0, "notify-service consumer stopping".into())
            .await;
        result
    }

    async fn consume_on(
        &mut self,
        connection: &Connection,
        backoff: &mut Backoff,
    ) -> anyhow::Result<()> {
        // One channel per queue: delivery tags are per channel, and an
        // `AckWindow` needs its channel's deliveries in the order the broker
        // sent them, which only a single consumer's stream guarantees.
        let mut attached = Vec::with_capacity(ROUTED_KINDS.len());
        let mut consumers = Vec::with_capacity(ROUTED_KINDS.len());
        for kind in ROUTED_KINDS {
            let channel = connection.create_channel().await?;
            if attached.is_empty() {
                // Once per connection: the declarations cover every queue.
                self.topology
                    .declare(&channel)
                    .await
                    .context("declaring the topology")?;
            }
            channel
                .basic_qos(self.prefetch, BasicQosOptions::default())
                .await?;
            let queue = self.topology.queue(kind);
            let consumer = channel
                .basic_consume(
                    queue.as_str().into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .with_context(|| format!("consuming {queue}"))?;
            attached.push((channel, AckWindow::default()));
            consumers.push(consumer);
        }
        backoff.reset();
        self.set_up(true);
        tracing::info!(prefetch = self.prefetch, "RabbitMQ consumer attached");

        let mut stop = self.shutdown.clone();
        let stopping = async move { shutdown::reached(&mut stop, Phase::StopConsuming).await };
        let lanes: Vec<tokio::sync::Mutex<()>> = (0..ORDERING_LANES)
            .map(|_| tokio::sync::Mutex::new(()))
            .collect();
        let packs = tokio::sync::Mutex::new(());
        let handler = Handler {
            store: &self.store,
            metrics: &self.metrics,
            shutdown: self.shutdown.clone(),
            lanes: &lanes,
            packs: &packs,
        };
        let streams = consumers
            .into_iter()
            .zip(&attached)
            .map(|(consumer, (channel, window))| {
                consumer.map_ok(move |delivery| {
                    // Recorded as the stream yields, i.e. in delivery-tag order.
                    window.received(delivery.delivery_tag);
                    (delivery, channel, window)
                })
            });
        let deliveries = select_all(streams)
            .take_until(stopping)
            .map_err(anyhow::Error::from)
            .try_for_each_concurrent(
                usize::from(self.prefetch) * ROUTED_KINDS.len(),
                |(delivery, channel, window)| {
                    let handler = &handler;
                    async move {
                        handler.handle(delivery, channel, window).await;
                        Ok(())
                    }
                },
            );
        let acking = select_all_futures(attached.iter().map(|(channel, window)| {
            Box::pin(window.run(channel, ACK_GATHER, || self.metrics.amqp_ack_frames.inc()))
        }));
        tokio::select! {
            result = deliveries => {
                result?;
                if *self.shutdown.borrow() >= Phase::StopConsuming {
                    // Ack what was handled; the rest goes back to the queue
                    // when the channel closes.
                    for (channel, window) in &attached {
                        if window.flush(channel).await.unwrap_or(0) > 0 {
                            self.metrics.amqp_ack_frames.inc();
                        }
                        let _ = channel.close(200, "notify-service stopping".into()).await;
                    }
                    Ok(())
                } else {
                    anyhow::bail!("the consumers were cancelled by the broker")
                }
            }
            (error, _, _) = acking => {
                Err(anyhow::Error::from(error).context("acknowledging"))
            }
            () = lag::poll_queue_depth(connection, &self.topology, &self.metrics) => {
                anyhow::bail!("the queue depth poller stopped")
            }
        }
    }
}

/// How long the ack window waits after a delivery is handled for others to
/// finish, so that one ack frame settles them all. Only the broker's
/// bookkeeping waits: the push to the sockets has happened already.
const ACK_GATHER: Duration = Duration::from_millis(5);

/// Deliveries are handled concurrently (up to the prefetch window), but one
/// user's personal messages share a lane and go one at a time: a user's two
/// coupons must reach the history stream, and the sockets, in the order they
/// were published (resume replays that order).
const ORDERING_LANES: u64 = 64;

struct Handler<'a> {
    store: &'a FanoutStore,
    metrics: &'a Metrics,
    shutdown: watch::Receiver<Phase>,
    lanes: &'a [tokio::sync::Mutex<()>],
    /// Packed deliveries are handled one at a time, in arrival order: a
    /// pack holds many users' messages, and the next pack may hold the same
    /// users' next ones. Within a pack the users go concurrently.
    packs: &'a tokio::sync::Mutex<()>,
}

impl Handler<'_> {
    async fn handle(&self, delivery: Delivery, channel: &Channel, window: &AckWindow) {
        let consumed_ms = chrono::Utc::now().timestamp_millis();
        let routing_key = delivery.routing_key.as_str().to_owned();
        let span = tracing::info_span!(
            "delivery",
            routing_key = %routing_key,
            message_id = message_id(&delivery).unwrap_or_default(),
            trace_id = trace_id(&delivery).unwrap_or_default(),
            redelivered = delivery.redelivered,
        );
        async move {
            let notification = match Notification::parse(&routing_key, &delivery.data) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "dead-lettering a message that does not parse");
                    self.count(&routing_key, "dead_lettered");
                    let rejected = delivery.reject(BasicRejectOptions { requeue: false }).await;
                    if let Err(e) = rejected {
                        tracing::debug!(error = %e, "reject failed; the broker redelivers");
                    }
                    window.settled_alone(delivery.delivery_tag);
                    return;
                }
            };
            let notification = match notification.unpacked() {
                Unpacked::Pack(messages) => {
                    let _in_order = self.packs.lock().await;
                    if self.fan_out_pack(messages, consumed_ms, channel).await {
                        window.handled(delivery.delivery_tag);
                    }
                    return;
                }
                Unpacked::Single(single) => single,
            };
            // The lane is taken before the first await of this delivery, and
            // deliveries start in arrival order; tokio's Mutex is FIFO, so a
            // lane serves its deliveries in arrival order.
            let _in_order = match notification.ordering_key() {
                Some(key) => {
                    let lane = usize::try_from(key % ORDERING_LANES).unwrap_or(0);
                    Some(self.lanes[lane].lock().await)
                }
                None => None,
            };
            let Some(fanned) = self
                .fan_out_with_retry(&notification, consumed_ms, channel)
                .await
            else {
                // Left unacked (and so is every later delivery of this
                // channel): the broker redelivers them after reconnecting.
                return;
            };
            self.count(notification.kind(), fanned.label());
            window.handled(delivery.delivery_tag);
        }
        .instrument(span)
        .await;
    }

    /// Fans out a pack's messages: each user's in order, the users at once.
    /// False when one could not be (shutdown, channel gone): the delivery
    /// stays unacked and comes back; what went out is then deduplicated.
    async fn fan_out_pack(
        &self,
        messages: Vec<(i64, Notification)>,
        consumed_ms: i64,
        channel: &Channel,
    ) -> bool {
        let mut by_user: Vec<Vec<Notification>> = Vec::new();
        let mut slot: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
        for (user_id, message) in messages {
            let at = *slot.entry(user_id).or_insert_with(|| {
                by_user.push(Vec::new());
                by_user.len() - 1
            });
            by_user[at].push(message);
        }
        let done = futures::future::join_all(by_user.iter().map(|own| async move {
            for message in own {
                let Some(fanned) = self.fan_out_with_retry(message, consumed_ms, channel).await
                else {
                    return false;
                };
                self.count(message.kind(), fanned.label());
            }
            true
        }))
        .await;
        done.into_iter().all(|ok| ok)
    }

    /// Retries while Redis is unavailable, holding the delivery (the
    /// prefetch window bounds how many wait); gives up on shutdown or when
    /// the channel is gone.
    async fn fan_out_with_retry(
        &self,
        notification: &Notification,
        consumed_ms: i64,
        channel: &Channel,
    ) -> Option<Fanned> {
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        loop {
            match notification.fan_out(self.store, consumed_ms).await {
                Ok(fanned) => return Some(fanned),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "fan-out failed; retrying");
                }
            }
            if *self.shutdown.borrow() >= Phase::StopConsuming || !channel.status().connected() {
                return None;
            }
            tokio::time::sleep(backoff.next_wait()).await;
        }
    }

    fn count(&self, kind: &str, outcome: &str) {
        self.metrics
            .consumed
            .with_label_values(&[kind, outcome])
            .inc();
    }
}

fn message_id(delivery: &Delivery) -> Option<String> {
    delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str().to_owned())
}

fn trace_id(delivery: &Delivery) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().get(TRACE_ID_HEADER)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        _ => None,
    }
}
