//! Publishes outbox rows to `coupon.exchange`: persistent, mandatory,
//! `message_id` = the message's id, with publisher confirms. A row is marked
//! published only after the broker's ack; a crash in between republishes it
//! (same message id, consumers dedupe). When the broker is away, rows wait
//! and the relay reconnects with backoff; issuance does not notice.
//!
//! Rows this instance commits arrive through the handoff and are published
//! without reading them back; the outbox table is searched only at connect
//! and, every poll interval, for rows the handoff did not bring. A row the
//! connect-time drain took is not published again when its handoff
//! arrives.
//!
//! Consecutive rows of one personal kind (`coupon.issued`, a draw's
//! `draw.won` and `draw.lost`) go out packed, up to `pack_max` in one AMQP
//! message whose body is the JSON array of their envelopes: the broker
//! pays its per-message cost (a quorum log entry, a confirm, a delivery, an
//! ack) once per pack instead of once per coupon. Its confirm settles every
//! row of the pack. A draw's results are written packed already (a row
//! per pack); such a row goes out alone, as written.

use std::{
    collections::{HashSet, VecDeque},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use contract::{
    messages::{PACKED_KINDS, TRACE_ID_HEADER},
    topology::Topology,
};
use futures::{StreamExt, future::join_all, stream::FuturesOrdered};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties,
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::{AMQPValue, FieldTable, LongString, ShortString},
};
use secrecy::{ExposeSecret, SecretString};
use service_kit::{backoff::Backoff, connected::Connected, tasks::Tasks};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::mpsc;

use super::{
    handoff::Handed,
    store::{self, OutboxRow},
};
use crate::{lifecycle, metrics::Metrics};

pub struct Relay {
    pub db: PgPool,
    pub amqp_url: SecretString,
    pub topology: Topology,
    pub metrics: Arc<Metrics>,
    /// Whether the relay holds a broker connection (reported by /readyz).
    pub status: Arc<Connected>,
    /// How often the outbox is searched for rows the handoff did not bring.
    pub poll_interval: Duration,
    /// Unpublished rows this old are anyone's: their writer's handoff
    /// dropped them, or the writer is gone.
    pub recover_after: Duration,
    pub batch_size: i64,
    /// `coupon.issued` rows per AMQP message (1: unpacked).
    pub pack_max: usize,
}

/// Claimed batches waiting for their confirms at once. Each holds a
/// PostgreSQL connection (its claim's transaction) until settled.
const PIPELINE_DEPTH: usize = 3;

/// Handed batches waiting for their confirms at once. They hold no
/// connection, so more may wait: a publish then never queues behind a
/// quorum queue's log write (which is what a confirm waits for).
const HANDED_IN_FLIGHT: usize = 32;

/// Confirmed handed batches waiting for their mark; beyond this the marks
/// are dropped (the rows are republished by the poll, consumers drop the
/// copies) rather than held in memory while PostgreSQL is stuck.
const MARKS_QUEUED: usize = 1024;

/// Handed batches gathered into one publish.
const HANDED_PER_PUBLISH: usize = 64;

/// Ids the connect-time drain published, kept (the latest this many) so
/// the rows committed while it ran, which it may have taken too, are not
/// published a second time when their handoff arrives.
const DRAINED_REMEMBERED: usize = 100_000;

/// A batch sent, its confirms not yet in.
struct Published {
    /// The claim's transaction, holding the rows' locks until settled;
    /// `None` for handed rows, which nobody else takes while they are young.
    claim: Option<Transaction<'static, Postgres>>,
    rows: Vec<OutboxRow>,
    /// One per AMQP message sent, in row order, with how many rows it carries.
    confirms: Vec<(usize, lapin::PublisherConfirm)>,
}

impl Relay {
    /// Spawns the relay and the loop that marks what the broker confirmed,
    /// both stopped last at shutdown ([`lifecycle::RELAY`]).
    pub fn spawn(self, handed: Handed, tasks: &Tasks) {
        let (marks, confirmed) = mpsc::channel(MARKS_QUEUED);
        tasks.spawn_loop(
            "outbox-marks",
            lifecycle::RELAY,
            mark_loop(self.db.clone(), confirmed),
        );
        tasks.spawn_loop("outbox-relay", lifecycle::RELAY, self.run(handed, marks));
    }

    /// Runs forever: connect, publish until the connection breaks, back off,
    /// reconnect.
    async fn run(self, mut handed: Handed, marks: mpsc::Sender<Vec<i64>>) {
        let mut backoff = Backoff::reconnect();
        loop {
            match self.connect().await {
                Ok((connection, channel)) => {
                    backoff.reset();
                    self.status.set(true);
                    tracing::info!("outbox relay connected to RabbitMQ");
                    let error = self
                        .publish_until_broken(&channel, &mut handed, &marks)
                        .await;
                    self.status.set(false);
                    tracing::warn!(error = %error, "outbox relay lost RabbitMQ; reconnecting");
                    let _ = connection.close(0, "relay reconnecting".into()).await;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "RabbitMQ unreachable; outbox keeps the messages");
                }
            }
            // Away from the broker, what is handed is dropped rather than
            // kept in memory: it is in the table, and the drain at connect
            // publishes it.
            let retry_at = tokio::time::Instant::now() + backoff.next_wait();
            let discard = async { while handed.recv().await.is_some() {} };
            let _ = tokio::time::timeout_at(retry_at, discard).await;
            tokio::time::sleep_until(retry_at).await;
        }
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

    /// Publishes until the connection breaks and returns the error.
    ///
    /// First the whole backlog, oldest first, from PostgreSQL; rows handed
    /// before it starts are part of it, so they are dropped. Then the rows this
    /// instance commits, as they are handed over, and every poll interval
    /// the rows older than `recover_after` (another writer's leftovers).
    /// Up to `HANDED_IN_FLIGHT` batches await their confirms (a quorum queue
    /// confirms after its log write) while the next ones go out; one channel
    /// carries them all, so messages leave in the order they came.
    async fn publish_until_broken(
        &self,
        channel: &Channel,
        handed: &mut Handed,
        marks: &Marks,
    ) -> anyhow::Error {
        // Rows handed so far were committed before the drain starts, so the
        // drain publishes them. Rows committed while it runs are handed and
        // may be taken by the drain too: their handoff skips the ids the
        // drain published, until a poll interval after it ended (by then
        // every row it took has been handed). None waits for the poll.
        while handed.try_recv().is_ok() {}
        let mut published = VecDeque::new();
        if let Err(e) = self
            .drain(channel, Duration::ZERO, marks, Some(&mut published))
            .await
        {
            return e;
        }
        let forget_drained_at = tokio::time::Instant::now() + self.poll_interval;
        let mut drained: Option<HashSet<i64>> =
            (!published.is_empty()).then(|| published.into_iter().collect());

        let mut unsettled = FuturesOrdered::new();
        let mut poll = tokio::time::interval(self.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batches = Vec::with_capacity(HANDED_PER_PUBLISH);
        let mut handoff_open = true;
        loop {
            tokio::select! {
                received = handed.recv_many(&mut batches, HANDED_PER_PUBLISH),
                    if handoff_open && unsettled.len() < HANDED_IN_FLIGHT =>
                {
                    // Closed: the instance is stopping; polls still run.
                    handoff_open = received > 0;
                    let mut rows: Vec<OutboxRow> = batches.drain(..).flatten().collect();
                    if tokio::time::Instant::now() >= forget_drained_at {
                        drained = None;
                    }
                    if let Some(drained) = &drained {
                        rows.retain(|row| !drained.contains(&row.id));
                    }
                    if rows.is_empty() {
                        continue;
                    }
                    match self.publish_rows(channel, rows, None).await {
                        Ok(batch) => unsettled.push_back(self.settle(batch, marks)),
                        Err(e) => return e,
                    }
                }
                Some(settled) = unsettled.next() => {
                    if let Err(e) = settled {
                        return e;
                    }
                }
                _ = poll.tick() => {
                    // An idle relay publishes nothing, so look at the channel
                    // itself to notice a broker that went away (and report it
                    // in /readyz).
                    if !channel.status().connected() {
                        return anyhow::anyhow!("the AMQP channel is closed");
                    }
                    if let Err(e) = self.drain(channel, self.recover_after, marks, None).await {
                        return e;
                    }
                }
            }
        }
    }

    /// Claims and publishes unpublished rows at least `min_age` old until
    /// none are left, pipelined; `FOR UPDATE SKIP LOCKED` hands each claim
    /// the rows after those still held by unsettled batches. The ids sent
    /// go to `published` when given (the latest [`DRAINED_REMEMBERED`]).
    async fn drain(
        &self,
        channel: &Channel,
        min_age: Duration,
        marks: &Marks,
        mut published: Option<&mut VecDeque<i64>>,
    ) -> anyhow::Result<()> {
        let mut unsettled = FuturesOrdered::new();
        loop {
            let batch = match self.claim_and_publish(channel, min_age).await? {
                Some(batch) => batch,
                None => break,
            };
            if let Some(ids) = published.as_deref_mut() {
                ids.extend(batch.rows.iter().map(|row| row.id));
                let excess = ids.len().saturating_sub(DRAINED_REMEMBERED);
                ids.drain(..excess);
            }
            let full = batch.rows.len() as i64 == self.batch_size;
            unsettled.push_back(self.settle(batch, marks));
            if unsettled.len() >= PIPELINE_DEPTH
                && let Some(settled) = unsettled.next().await
            {
                settled?;
            }
            if !full {
                break;
            }
        }
        while let Some(settled) = unsettled.next().await {
            settled?;
        }
        Ok(())
    }

    /// Claims one batch and publishes it (confirms pending); `None` when
    /// nothing is waiting or PostgreSQL cannot be read.
    async fn claim_and_publish(
        &self,
        channel: &Channel,
        min_age: Duration,
    ) -> anyhow::Result<Option<Published>> {
        let mut tx = match self.db.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                // PostgreSQL trouble is not a broker problem: keep the connection.
                tracing::debug!(error = %e, "outbox unreadable");
                return Ok(None);
            }
        };
        let rows = match store::claim(&mut tx, self.batch_size, min_age).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::debug!(error = %e, "outbox unreadable");
                return Ok(None);
            }
        };
        if rows.is_empty() {
            return Ok(None);
        }
        self.publish_rows(channel, rows, Some(tx)).await.map(Some)
    }

    async fn publish_rows(
        &self,
        channel: &Channel,
        rows: Vec<OutboxRow>,
        claim: Option<Transaction<'static, Postgres>>,
    ) -> anyhow::Result<Published> {
        let mut confirms = Vec::with_capacity(rows.len());
        for pack in packs(&rows, self.pack_max) {
            let confirm = match pack {
                [row] => self.publish(channel, row, row.payload.as_bytes()).await?,
                rows => self.publish(channel, &rows[0], &packed_body(rows)).await?,
            };
            confirms.push((pack.len(), confirm));
        }
        Ok(Published {
            claim,
            rows,
            confirms,
        })
    }

    /// Waits for a batch's confirms and marks the confirmed rows published:
    /// a claim in its own transaction (its locks go with that commit),
    /// handed rows through the mark loop. An error means the channel
    /// failed: nothing of the batch is marked and its rows go out again.
    async fn settle(&self, batch: Published, marks: &Marks) -> anyhow::Result<()> {
        let Published {
            claim,
            rows,
            confirms,
        } = batch;
        let mut acked = Vec::with_capacity(rows.len());
        let (sizes, confirms): (Vec<usize>, Vec<_>) = confirms.into_iter().unzip();
        let mut at = 0;
        for (size, confirmation) in sizes.into_iter().zip(join_all(confirms).await) {
            let pack = &rows[at..at + size];
            at += size;
            let routing_key = pack[0].routing_key.as_str();
            match confirmation? {
                Confirmation::Ack(None) => {
                    acked.extend(pack.iter().map(|row| row.id));
                    self.metrics
                        .outbox_published
                        .with_label_values(&[routing_key])
                        .inc_by(size as u64);
                }
                Confirmation::Ack(Some(_)) => {
                    tracing::error!(
                        routing_key,
                        "message unroutable (no queue bound); kept in the outbox"
                    );
                }
                other => {
                    tracing::warn!(
                        ?other,
                        "broker did not take a message; it stays in the outbox"
                    );
                }
            }
        }
        match claim {
            Some(tx) => marked(store::mark_published(tx, &acked).await),
            None => {
                if marks.try_send(acked).is_err() {
                    tracing::warn!("marks queue full; these rows will be published again");
                }
            }
        }
        Ok(())
    }

    /// Publishes `body` with the routing key, message id and trace id of
    /// `row` (a pack goes out under its first row's).
    async fn publish(
        &self,
        channel: &Channel,
        row: &OutboxRow,
        body: &[u8],
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
                body,
                properties,
            )
            .await?;
        Ok(confirm)
    }
}

/// The rows as AMQP messages, in order: runs of consecutive rows of one
/// packed kind cut into packs of at most `pack_max`; every other row alone,
/// a row written packed (`NewMessages::push_packed`) included.
fn packs(rows: &[OutboxRow], pack_max: usize) -> impl Iterator<Item = &[OutboxRow]> {
    let packable = |row: &OutboxRow| {
        PACKED_KINDS.contains(&row.routing_key.as_str()) && !row.payload.starts_with('[')
    };
    let mut rest = rows;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let len = if packable(first) {
            rest.iter()
                .take(pack_max.max(1))
                .take_while(|row| row.routing_key == first.routing_key && packable(row))
                .count()
        } else {
            1
        };
        let (pack, tail) = rest.split_at(len);
        rest = tail;
        Some(pack)
    })
}

/// `[<envelope>,<envelope>,…]`: the rows' stored JSON, joined.
fn packed_body(rows: &[OutboxRow]) -> Vec<u8> {
    let mut body = Vec::with_capacity(rows.iter().map(|r| r.payload.len() + 1).sum::<usize>() + 1);
    body.push(b'[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(row.payload.as_bytes());
    }
    body.push(b']');
    body
}

/// Ids of confirmed handed rows, on their way to the mark loop.
type Marks = mpsc::Sender<Vec<i64>>;

/// Marks confirmed handed rows published, one transaction at a time, each
/// covering whatever was confirmed meanwhile: however many batches are in
/// flight, their marks take one PostgreSQL connection, never the pool the
/// batch writer needs.
async fn mark_loop(db: PgPool, mut confirmed: mpsc::Receiver<Vec<i64>>) {
    let mut batches = Vec::new();
    while confirmed.recv_many(&mut batches, MARKS_QUEUED).await > 0 {
        let ids: Vec<i64> = batches.drain(..).flatten().collect();
        marked(async { store::mark_published(db.begin().await?, &ids).await }.await);
    }
}

fn marked(result: sqlx::Result<()>) {
    if let Err(e) = result {
        // Published but not marked: they go out again later (same ids).
        tracing::warn!(error = %e, "could not mark published rows");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, routing_key: &str) -> OutboxRow {
        OutboxRow {
            id,
            message_id: uuid::Uuid::nil(),
            routing_key: routing_key.into(),
            payload: format!("{{\"n\":{id}}}"),
            trace_id: None,
        }
    }

    #[test]
    fn runs_of_one_packed_kind_are_packed_up_to_the_limit_and_the_rest_go_alone() {
        let rows: Vec<OutboxRow> = [
            (1, "coupon.issued"),
            (2, "coupon.issued"),
            (3, "coupon.issued"),
            (4, "coupon.soldout"),
            (5, "coupon.issued"),
            (6, "event.stock"),
            (7, "event.stock"),
            (8, "draw.won"),
            (9, "draw.lost"),
            (10, "draw.lost"),
        ]
        .into_iter()
        .map(|(id, key)| row(id, key))
        .collect();
        let ids = |max| -> Vec<Vec<i64>> {
            packs(&rows, max)
                .map(|p| p.iter().map(|r| r.id).collect())
                .collect()
        };
        assert_eq!(
            ids(2),
            [
                vec![1, 2],
                vec![3],
                vec![4],
                vec![5],
                vec![6],
                vec![7],
                vec![8],
                vec![9, 10]
            ]
        );
        assert_eq!(
            ids(64),
            [
                vec![1, 2, 3],
                vec![4],
                vec![5],
                vec![6],
                vec![7],
                vec![8],
                vec![9, 10]
            ],
            "a pack carries one kind"
        );
        assert_eq!(ids(1).len(), 10);
        assert_eq!(packed_body(&rows[..2]), br#"[{"n":1},{"n":2}]"#);
    }

    #[test]
    fn a_row_written_packed_goes_alone_between_packs_of_its_kind() {
        let mut rows: Vec<OutboxRow> = (1..=4).map(|id| row(id, "draw.lost")).collect();
        rows[2].payload = r#"[{"n":3},{"n":33}]"#.into();
        let ids: Vec<Vec<i64>> = packs(&rows, 64)
            .map(|p| p.iter().map(|r| r.id).collect())
            .collect();
        assert_eq!(ids, [vec![1, 2], vec![3], vec![4]]);
    }
}
