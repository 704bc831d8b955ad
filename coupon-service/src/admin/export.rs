//! `GET /api/admin/events/{id}/coupons.csv`: every coupon of an event as
//! CSV (code, user id, issued at, redeemed at), streamed: rows go from a
//! PostgreSQL cursor through a small bounded channel to the socket, so a
//! million coupons cost the same memory as ten (the channel's few chunks);
//! a client that reads slowly slows the cursor, one that leaves ends it.
//! At most [`MAX_CONCURRENT_EXPORTS`] run at once per instance (each holds
//! a PostgreSQL connection until it ends); more get 429 with `Retry-After`.

use actix_web::{
    HttpResponse, get,
    web::{self, Bytes},
};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt};
use sqlx::PgPool;
use tokio::sync::{Semaphore, SemaphorePermit, mpsc};

use crate::{auth::AdminUser, error::ApiError, state::AppState};

/// Exports running at once per instance.
pub const MAX_CONCURRENT_EXPORTS: usize = 2;
/// Bytes gathered before a chunk goes to the socket.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks waiting for the socket: the export's memory is about
/// `CHUNK_BYTES × (CHUNKS_QUEUED + 1)` however many rows it has.
const CHUNKS_QUEUED: usize = 4;
/// Retry-After of a refused export.
const BUSY_RETRY_SECS: u64 = 10;

pub static EXPORTS: Semaphore = Semaphore::const_new(MAX_CONCURRENT_EXPORTS);

pub const HEADER: &str = "code,user_id,issued_at,redeemed_at\n";

#[derive(sqlx::FromRow)]
struct Row {
    code: String,
    user_id: i64,
    issued_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

/// One CSV line. Codes are `A-Z0-9-` and the rest numbers and RFC 3339
/// times: no field needs quoting.
fn line(row: &Row, out: &mut String) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "{},{},{},{}",
        row.code,
        row.user_id,
        row.issued_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        row.used_at
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
            .unwrap_or_default()
    );
}

/// An event's coupons as CSV, oldest first, streamed.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = i64, Path, minimum = 1)),
    responses((status = 200, description = "text/csv: code,user_id,issued_at,redeemed_at (RFC 3339, empty when not redeemed), one line per coupon, oldest first", content_type = "text/csv"),
    (status = 404, description = "event_not_found"), (status = 429, description = "rate_limited: too many exports running"),
    (status = 401), (status = 403), (status = 503, description = "unavailable")))]
#[get("/events/{id}/coupons.csv")]
pub async fn export_coupons(
    _admin: AdminUser,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let event = state.event(*id).await?;
    // Held by the producing task: given back when the export ends, however.
    let slot = EXPORTS.try_acquire().map_err(|_| ApiError::RateLimited {
        retry_after_secs: BUSY_RETRY_SECS,
    })?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_QUEUED);
    tokio::spawn(produce(state.db.clone(), event.id, tx, slot));
    let body =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"event-{}-coupons.csv\"", event.id),
        ))
        .insert_header(("cache-control", "no-store"))
        .streaming(body))
}

/// Reads the rows and sends them in chunks until done, or until the client
/// is gone (the send fails); a read error ends the body with an error (the
/// client sees a cut transfer, never a short file taken as whole).
async fn produce(
    db: PgPool,
    event_id: i64,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    _slot: SemaphorePermit<'static>,
) {
    let mut chunk = String::with_capacity(CHUNK_BYTES + 256);
    chunk.push_str(HEADER);
    let mut rows = sqlx::query_as::<_, Row>(
        "SELECT code, user_id, issued_at, used_at FROM user_coupons WHERE event_id = $1 ORDER BY id",
    )
    .bind(event_id)
    .fetch(&db)
    .map_err(|e| std::io::Error::other(e.to_string()))
    .boxed();
    while let Some(row) = rows.next().await {
        match row {
            Ok(row) => line(&row, &mut chunk),
            Err(e) => {
                tracing::warn!(error = %e, event.id = event_id, "coupon export cut short");
                let _ = tx.send(Err(e)).await;
                return;
            }
        }
        if chunk.len() >= CHUNK_BYTES {
            let full = std::mem::replace(&mut chunk, String::with_capacity(CHUNK_BYTES + 256));
            if tx.send(Ok(Bytes::from(full))).await.is_err() {
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = tx.send(Ok(Bytes::from(chunk))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_the_code_user_and_times_and_an_empty_field_when_not_redeemed() {
        let at = DateTime::parse_from_rfc3339("2026-12-08T10:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut out = String::new();
        line(
            &Row {
                code: "SALE-ABCD2345".into(),
                user_id: 7,
                issued_at: at,
                used_at: None,
            },
            &mut out,
        );
        line(
            &Row {
                code: "SALE-ZZZZ9999".into(),
                user_id: 8,
                issued_at: at,
                used_at: Some(at),
            },
            &mut out,
        );
        assert_eq!(
            out,
            "SALE-ABCD2345,7,2026-12-08T10:00:00.123Z,\n\
             SALE-ZZZZ9999,8,2026-12-08T10:00:00.123Z,2026-12-08T10:00:00.123Z\n"
        );
    }
}
