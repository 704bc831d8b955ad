//! Outbox rows in PostgreSQL.

use std::{collections::HashMap, time::Duration};

use contract::messages::{Envelope, MAX_PACKED, PACKED_KINDS};
use sqlx::{PgExecutor, PgPool, Postgres, Transaction};

#[derive(Debug, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub message_id: uuid::Uuid,
    pub routing_key: String,
    pub payload: String,
    pub trace_id: Option<String>,
}

/// Locks up to `limit` unpublished rows at least `min_age` old, oldest
/// first. SKIP LOCKED lets every instance run a relay: each takes rows the
/// others are not holding.
pub async fn claim(
    tx: &mut Transaction<'_, Postgres>,
    limit: i64,
    min_age: Duration,
) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as(
        "SELECT id, message_id, routing_key, payload::text AS payload, trace_id FROM outbox \
         WHERE published_at IS NULL AND created_at <= now() - make_interval(secs => $2) \
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .bind(min_age.as_secs_f64())
    .fetch_all(&mut **tx)
    .await
}

/// Marks rows the broker confirmed and commits. The mark commits without
/// waiting for its WAL flush: if PostgreSQL crashed and lost it, the rows
/// would only be published again under the same message ids, which
/// consumers drop — not worth an fsync per batch on the hot path.
pub async fn mark_published(mut tx: Transaction<'_, Postgres>, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
        .bind(ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Unpublished rows and the age of the oldest (seconds): the outbox lag.
pub async fn lag(pool: &PgPool) -> sqlx::Result<(i64, f64)> {
    sqlx::query_as(
        "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at))::float8, 0) \
         FROM outbox WHERE published_at IS NULL",
    )
    .fetch_one(pool)
    .await
}

/// Deletes rows published more than `retention_secs` ago.
pub async fn prune(pool: &PgPool, retention_secs: u64) -> sqlx::Result<u64> {
    let done =
        sqlx::query("DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)")
            .bind(retention_secs as f64)
            .execute(pool)
            .await?;
    Ok(done.rows_affected())
}

/// Messages collected for one multi-row INSERT into the outbox.
#[derive(Default)]
pub struct NewMessages {
    ids: Vec<uuid::Uuid>,
    keys: Vec<&'static str>,
    payloads: Vec<String>,
    traces: Vec<Option<String>>,
}

impl NewMessages {
    pub fn push<T: serde::Serialize>(
        &mut self,
        routing_key: &'static str,
        message: &Envelope<T>,
        trace_id: Option<&str>,
    ) -> sqlx::Result<()> {
        let payload = serde_json::to_string(message).map_err(|e| sqlx::Error::Encode(e.into()))?;
        self.ids.push(message.id);
        self.keys.push(routing_key);
        self.payloads.push(payload);
        self.traces.push(trace_id.map(str::to_owned));
        Ok(())
    }

    /// Messages of one packed kind (`contract::messages::PACKED_KINDS`) as
    /// rows that are packs already: one row per [`MAX_PACKED`] messages,
    /// its payload the JSON array the relay would have made of them, its
    /// message id the first message's. A draw tells 200,000 entrants in
    /// ~800 rows instead of 200,000 (each row an INSERT, a claim and a mark
    /// for PostgreSQL).
    pub fn push_packed<T: serde::Serialize>(
        &mut self,
        routing_key: &'static str,
        messages: &[Envelope<T>],
    ) -> sqlx::Result<()> {
        debug_assert!(PACKED_KINDS.contains(&routing_key));
        for pack in messages.chunks(MAX_PACKED) {
            let payload = serde_json::to_string(pack).map_err(|e| sqlx::Error::Encode(e.into()))?;
            self.ids.push(pack[0].id);
            self.keys.push(routing_key);
            self.payloads.push(payload);
            self.traces.push(None);
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// One INSERT for all of them (inside the caller's transaction, if any).
    /// Returns the rows as written, for the relay once they are committed.
    pub async fn insert(self, db: impl PgExecutor<'_>) -> sqlx::Result<Vec<OutboxRow>> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        // ORDER BY n draws the ids in the order the messages were pushed.
        let written: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
            "INSERT INTO outbox (message_id, routing_key, payload, trace_id) \
             SELECT m, k, p::jsonb, t FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[]) \
             WITH ORDINALITY AS u(m, k, p, t, n) ORDER BY n \
             RETURNING message_id, id",
        )
        .bind(&self.ids)
        .bind(&self.keys)
        .bind(&self.payloads)
        .bind(&self.traces)
        .fetch_all(db)
        .await?;
        // RETURNING promises no order: match the ids by message id.
        let ids: HashMap<uuid::Uuid, i64> = written.into_iter().collect();
        let mut rows = Vec::with_capacity(self.ids.len());
        for (((message_id, routing_key), payload), trace_id) in self
            .ids
            .into_iter()
            .zip(self.keys)
            .zip(self.payloads)
            .zip(self.traces)
        {
            let id = *ids.get(&message_id).ok_or_else(|| {
                sqlx::Error::Protocol(format!("outbox row {message_id} not returned"))
            })?;
            rows.push(OutboxRow {
                id,
                message_id,
                routing_key: routing_key.to_owned(),
                payload,
                trace_id,
            });
        }
        Ok(rows)
    }
}
