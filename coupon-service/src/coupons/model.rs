//! A coupon as the API shows it.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Columns selected wherever a `Coupon` is read (keep in sync with the
/// struct). A macro, so queries stay `&'static str` literals via `concat!`.
#[macro_export]
macro_rules! coupon_columns {
    () => {
        "id, code, event_id, user_id, stock_seq, status, discount_type, discount_value, \
         min_purchase_amount, issued_at, expires_at, used_at"
    };
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Coupon {
    pub id: i64,
    /// `<PREFIX>-XXXXXXXX`.
    pub code: String,
    pub event_id: i64,
    #[serde(skip)]
    pub user_id: i64,
    /// The stock ticket; internal, it lets a write be matched to its request.
    #[serde(skip)]
    pub stock_seq: i32,
    /// `issued`, `used` or `expired`.
    pub status: String,
    pub discount_type: String,
    pub discount_value: i64,
    pub min_purchase_amount: i64,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_at: Option<DateTime<Utc>>,
}

impl Coupon {
    /// `expired` is derived: an unused coupon past its expiry.
    pub fn with_derived_status(mut self, now: DateTime<Utc>) -> Self {
        if self.status == "issued" && self.expires_at <= now {
            self.status = "expired".into();
        }
        self
    }
}
