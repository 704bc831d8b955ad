//! Publishes outbox rows to `coupon.exchange`: persistent, mandatory,
//! `message_id` = the message's id, with publisher confirms. A row is marked
//! published only after the broker's ack; a crash in between republishes it
//! (same message id, consumers dedupe). When the broker is away, rows wait
//! and the relay reconnects with backoff; issuance does not notice.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use contract::{messages::TRACE_ID_HEADER, topology::Topology};
use futures::{StreamExt, future::join_all, stream::FuturesOrdered};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties,
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::{AMQPValue, FieldTable, LongString, ShortString},
};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::Notify;

use super::store::{self, OutboxRow};
use crate::metrics::Metrics;

/// Whether the relay holds a broker connection (reported by /readyz).
#[derive(Default)]
pub struct RelayStatus {
    connected: AtomicBool,
}

impl RelayStatus {
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}

pub struct Relay {
    pub db: PgPool,
    pub amqp_url: SecretString,
    pub topology: Topology,
    pub metrics: Arc<Metrics>,
    pub status: Arc<RelayStatus>,
    /// Rung by the batch writer after each commit, so messages leave at once.
    pub wake: Arc<Notify>,
    pub poll_interval: Duration,
    pub batch_size: i64,
}

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Published batches waiting for their confirms at once. Each holds a
/// PostgreSQL connection (its claim's transaction) until settled.
const PIPELINE_DEPTH: usize = 3;

/// A claimed batch, sent, its confirms not yet in.
struct Published {
    tx: Transaction<'static, Postgres>,
    rows: Vec<OutboxRow>,
    confirms: Vec<lapin::PublisherConfirm>,
}

impl Relay {
    /// Runs forever: connect, publish until the connection breaks, back off,
    /// reconnect.
    pub async fn run(self) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.connect().await {
                Ok((connection, channel)) => {
                    backoff = Duration::from_millis(100);
                    self.set_connected(true);
                    tracing::info!("outbox relay connected to RabbitMQ");
                    let error = self.publish_until_broken(&channel).await;
                    self.set_connected(false);
                    tracing::warn!(error = %error, "outbox relay lost RabbitMQ; reconnecting");
                    let _ = connection.close(0, "relay reconnecting".into()).await;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "RabbitMQ unreachable; outbox keeps the messages");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn set_connected(&self, up: bool) {
        self.status.connected.store(up, Ordering::Relaxed);
        self.metrics.amqp_connected.set(i64::from(up));
    }

    async fn connect(&self) -> anyhow::Result<(Connection, Channel)> {
        let connection = tokio::time::timeout(
            Duration::from_secs(5),
            Connection::connect(
                self.amqp_url.expose_secret(),
                ConnectionProperties::default(),
            ),
        )
        .await
        .context("RabbitMQ connect timed out")??;
        let channel = connection.create_channel().await?;
        self.topology
            .declare(&channel)
            .await
            .context("declaring the topology")?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok((connection, channel))
    }

    /// Drains the outbox whenever woken or every poll interval; returns the
    /// error that ended the connection.
    ///
    /// Batches are pipelined: while the broker confirms one batch (a quorum
    /// queue confirms after its log write), the next is claimed and
    /// published. `FOR UPDATE SKIP LOCKED` hands the next claim the rows
    /// after those still held by unsettled batches, and one channel carries
    /// them all, so messages still leave in outbox order.
    async fn publish_until_broken(&self, channel: &Channel) -> anyhow::Error {
        let mut unsettled = FuturesOrdered::new();
        loop {
            // An idle relay publishes nothing, so look at the channel itself
            // to notice a broker that went away (and report it in /readyz).
            if !channel.status().connected() {
                return anyhow::anyhow!("the AMQP channel is closed");
            }
            loop {
                let batch = match self.publish_batch(channel).await {
                    Ok(Some(batch)) => batch,
                    Ok(None) => break,
                    Err(e) => return e,
                };
                let full = batch.rows.len() as i64 == self.batch_size;
                unsettled.push_back(self.settle(batch));
                if unsettled.len() >= PIPELINE_DEPTH
                    && let Some(Err(e)) = unsettled.next().await
                {
                    return e;
                }
                if !full {
                    break;
                }
            }
            while let Some(settled) = unsettled.next().await {
                if let Err(e) = settled {
                    return e;
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }

    /// Claims one batch and publishes it (confirms pending); `None` when
    /// nothing is waiting or PostgreSQL cannot be read.
    async fn publish_batch(&self, channel: &Channel) -> anyhow::Result<Option<Published>> {
        let mut tx = match self.db.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                // PostgreSQL trouble is not a broker problem: keep the connection.
                tracing::debug!(error = %e, "outbox unreadable");
                return Ok(None);
            }
        };
        let rows = match store::claim(&mut tx, self.batch_size).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::debug!(error = %e, "outbox unreadable");
                return Ok(None);
            }
        };
        if rows.is_empty() {
            return Ok(None);
        }
        let mut confirms = Vec::with_capacity(rows.len());
        for row in &rows {
            confirms.push(self.publish(channel, row).await?);
        }
        Ok(Some(Published { tx, rows, confirms }))
    }

    /// Waits for a batch's confirms and marks the confirmed rows published
    /// (the claim's locks go with that commit). An error means the channel
    /// failed: the batch's transaction rolls back and its rows go out again.
    async fn settle(&self, batch: Published) -> anyhow::Result<()> {
        let Published {
            mut tx,
            rows,
            confirms,
        } = batch;
        let mut acked = Vec::with_capacity(rows.len());
        for (row, confirmation) in rows.iter().zip(join_all(confirms).await) {
            match confirmation? {
                Confirmation::Ack(None) => {
                    acked.push(row.id);
                    self.metrics
                        .outbox_published
                        .with_label_values(&[row.routing_key.as_str()])
                        .inc();
                }
                Confirmation::Ack(Some(_)) => {
                    tracing::error!(routing_key = %row.routing_key, "message unroutable (no queue bound); kept in the outbox");
                }
                other => {
                    tracing::warn!(
                        ?other,
                        "broker did not take a message; it stays in the outbox"
                    );
                }
            }
        }
        if let Err(e) = async {
            store::mark_published(&mut tx, &acked).await?;
            tx.commit().await
        }
        .await
        {
            // Published but not marked: they go out again later (same ids).
            tracing::warn!(error = %e, "could not mark published rows");
        }
        Ok(())
    }

    async fn publish(
        &self,
        channel: &Channel,
        row: &OutboxRow,
    ) -> anyhow::Result<lapin::PublisherConfirm> {
        let mut headers = FieldTable::default();
        if let Some(trace) = &row.trace_id {
            headers.insert(
                ShortString::from(TRACE_ID_HEADER),
                AMQPValue::LongString(LongString::from(trace.as_bytes().to_vec())),
            );
        }
        let properties = BasicProperties::default()
            .with_message_id(ShortString::from(row.message_id.to_string()))
            .with_content_type(ShortString::from("application/json"))
            .with_delivery_mode(2)
            .with_timestamp(chrono::Utc::now().timestamp().max(0) as u64)
            .with_headers(headers);
        let confirm = channel
            .basic_publish(
                self.topology.exchange.as_str().into(),
                row.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                row.payload.as_bytes(),
                properties,
            )
            .await?;
        Ok(confirm)
    }
}

/// Outbox lag metrics and pruning of old published rows; runs whether or not
/// the broker is reachable (that is when the lag matters).
pub async fn housekeeping_loop(db: PgPool, metrics: Arc<Metrics>, retention_secs: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        match store::lag(&db).await {
            Ok((count, age)) => {
                metrics.outbox_pending.set(count);
                metrics.outbox_oldest_age_seconds.set(age);
            }
            Err(e) => tracing::debug!(error = %e, "outbox lag unavailable"),
        }
        if let Err(e) = store::prune(&db, retention_secs).await {
            tracing::debug!(error = %e, "outbox prune skipped");
        }
    }
}
