//! The issue request, timed and classified.

use std::time::{Duration, Instant};

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

pub async fn issue(target: &Target, token: &str, event_id: i64) -> IssueResult {
    let started = Instant::now();
    let sent = target
        .http()
        .post(target.api("/api/coupons/issue"))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
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
