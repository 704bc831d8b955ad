//! The issue request, timed and classified.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::target::Target;

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

pub async fn issue(target: &Target, token: &str, event_id: i64) -> IssueResult {
    let started = Instant::now();
    let sent = target
        .http
        .post(target.api("/api/coupons/issue"))
        .bearer_auth(token)
        .json(&json!({ "event_id": event_id }))
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
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if status == 201 {
                ("201".to_owned(), body["coupon"]["id"].as_i64())
            } else {
                (
                    format!("{status} {}", body["error"]["code"].as_str().unwrap_or("?")),
                    None,
                )
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
