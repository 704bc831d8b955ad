//! The issue request, timed and classified, and the `Idempotency-Key` it
//! carries.

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use serde::Deserialize;

use crate::target::Target;

/// The parts of an issue answer the benchmark reads.
#[derive(Default, Deserialize)]
struct Answer {
    coupon: Option<CouponId>,
    error: Option<ErrorCode>,
}

#[derive(Deserialize)]
struct CouponId {
    id: i64,
}

#[derive(Deserialize)]
struct ErrorCode {
    code: String,
}

/// What one issue request gave.
#[derive(Debug, Clone)]
pub struct IssueResult {
    /// `"201"`, `"410 sold_out"`, `"error <reason>"`, …
    pub outcome: String,
    pub latency: Duration,
    /// When the response was complete.
    pub finished: Instant,
    /// The coupon of a 201.
    pub coupon_id: Option<i64>,
}

/// The coupons a sale's answers issued (its 201s), in answer order.
pub fn issued(results: &[IssueResult]) -> Vec<i64> {
    results.iter().filter_map(|r| r.coupon_id).collect()
}

/// When the last 201 was complete: the moment the sale sold out, when it did.
pub fn last_201(results: &[IssueResult]) -> Option<Instant> {
    results
        .iter()
        .filter(|r| r.coupon_id.is_some())
        .map(|r| r.finished)
        .max()
}

/// The `Idempotency-Key`s of a run, one fresh key per press, as the web
/// sale page sends them (web/src/sale/main.ts). flashload never re-sends a
/// press (an unanswered one or a 503 is counted as it came), so no key is
/// ever sent twice.
///
/// Cheap by design: a random prefix drawn once per process (so processes
/// sharing a sale never collide) and a counter, formatted as one 36-byte
/// string shaped like the browser's UUID, `xxxxxxxx-xxxx-4xxx-yxxx-<counter
/// in 12 hex digits>`: no randomness per press, one small allocation (the
/// header value takes the string's buffer as it is).
pub struct IdempotencyKeys {
    prefix: String,
    next: AtomicU64,
}

impl IdempotencyKeys {
    pub fn new() -> Self {
        let mut prefix = uuid::Uuid::new_v4().hyphenated().to_string();
        // "8-4-4-4-" of the UUID: 24 characters, the counter takes the last 12.
        prefix.truncate(24);
        Self {
            prefix,
            next: AtomicU64::new(0),
        }
    }

    /// A key never handed out before in this process.
    pub fn next(&self) -> reqwest::header::HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut key = String::with_capacity(36);
        let _ = write!(key, "{}{:012x}", self.prefix, n & 0xffff_ffff_ffff);
        reqwest::header::HeaderValue::try_from(key)
            .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("flashload-key"))
    }
}

impl Default for IdempotencyKeys {
    fn default() -> Self {
        Self::new()
    }
}

/// The presses a target sent, with and without an `Idempotency-Key`.
#[derive(Debug, Default)]
pub struct PressCounts {
    keyed: AtomicU64,
    unkeyed: AtomicU64,
}

impl PressCounts {
    fn count(&self, keyed: bool) {
        let counter = if keyed { &self.keyed } else { &self.unkeyed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// (keyed, unkeyed) so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.keyed.load(Ordering::Relaxed),
            self.unkeyed.load(Ordering::Relaxed),
        )
    }
}

/// One press of the sale button: `POST /api/coupons/issue`, with a fresh
/// `Idempotency-Key` unless the target presses unkeyed.
pub async fn issue(target: &Target, token: &str, event_id: i64) -> IssueResult {
    let started = Instant::now();
    let mut request = target
        .http()
        .post(target.api("/api/coupons/issue"))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    let key = target.idempotency_keys().map(IdempotencyKeys::next);
    target.presses().count(key.is_some());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let sent = request
        .body(format!(r#"{{"event_id":{event_id}}}"#))
        .send()
        .await;
    let (outcome, coupon_id) = match sent {
        Err(e) => (
            format!(
                "error {}",
                if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connect"
                } else {
                    "request"
                }
            ),
            None,
        ),
        Ok(response) => {
            let status = response.status().as_u16();
            // Only the fields the report needs: the generator's own CPU
            // is taken from the services it measures.
            let body: Answer = match response.bytes().await {
                Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
                Err(_) => Answer::default(),
            };
            if status == 201 {
                ("201".to_owned(), body.coupon.map(|c| c.id))
            } else {
                let code = body.error.as_ref().map_or("?", |e| e.code.as_str());
                (format!("{status} {code}"), None)
            }
        }
    };
    IssueResult {
        outcome,
        latency: started.elapsed(),
        finished: Instant::now(),
        coupon_id,
    }
}

/// `GET /api/coupons/events/{id}`, as a page load does: the outcome is the
/// status (`"200"`), or `"error <reason>"`.
pub async fn read_event(target: &Target, event_id: i64) -> IssueResult {
    let started = Instant::now();
    let sent = target
        .http()
        .get(target.api(&format!("/api/coupons/events/{event_id}")))
        .send()
        .await;
    let outcome = match sent {
        Err(e) if e.is_timeout() => "error timeout".to_owned(),
        Err(_) => "error request".to_owned(),
        Ok(response) => {
            let status = response.status().as_u16();
            let _ = response.bytes().await;
            status.to_string()
        }
    };
    IssueResult {
        outcome,
        latency: started.elapsed(),
        finished: Instant::now(),
        coupon_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::IdempotencyKeys;

    #[test]
    fn keys_are_fresh_per_press_and_shaped_like_the_browsers() {
        let keys = IdempotencyKeys::new();
        let (a, b) = (keys.next(), keys.next());
        assert_ne!(a, b);
        for key in [&a, &b] {
            let key = key.to_str().expect("ASCII");
            assert_eq!(key.len(), 36, "{key}");
            assert!(uuid::Uuid::parse_str(key).is_ok(), "{key}");
        }
        // Another process (another generator) draws another prefix.
        assert_ne!(IdempotencyKeys::new().next(), a);
    }
}
