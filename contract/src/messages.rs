//! Message bodies published on `coupon.exchange` (docs/contract.md §3).
//!
//! Field names are camelCase inside `data` because that is the published
//! contract; the envelope keys (`type`, `id`, `timestamp`) are fixed.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Routing key (and `type`) of the personal "you got it" message.
pub const COUPON_ISSUED: &str = "coupon.issued";
/// Routing key (and `type`) of the event-wide "sold out" message.
pub const COUPON_SOLDOUT: &str = "coupon.soldout";
/// Routing key (and `type`) of the coalesced live-stock message.
pub const EVENT_STOCK: &str = "event.stock";

/// Routing key (and `type`) of an admin's change to an event (stock,
/// window, texts, close), for the event's watchers.
pub const EVENT_UPDATED: &str = "event.updated";
/// Routing key (and `type`) of an ended session (logout, a reused refresh
/// token, an account disabled): its sockets are closed.
pub const SESSION_REVOKED: &str = "session.revoked";

/// Routing key (and `type`) of a waiting room's progress, for the event's
/// watchers: at most one a second per event, one frame for the whole crowd.
pub const QUEUE_PROGRESS: &str = "queue.progress";
/// Routing key (and `type`) of a waiting room's closing (sold out, ended or
/// closed), for the event's watchers, once.
pub const QUEUE_CLOSED: &str = "queue.closed";
/// Routing key (and `type`) of the personal "your turn: claim by …".
pub const QUEUE_ADMITTED: &str = "queue.admitted";
/// Routing key (and `type`) of the personal "you won the draw: claim by …"
/// (at the draw, or later when a unit came back to your rank).
pub const DRAW_WON: &str = "draw.won";
/// Routing key (and `type`) of the personal "not drawn (yet): your rank".
pub const DRAW_LOST: &str = "draw.lost";

/// Most messages one packed AMQP message may carry. A packed body is a JSON
/// array of envelopes of one routing key, each with its own `id` (what
/// consumers deduplicate by); only the kinds of [`PACKED_KINDS`] are packed.
pub const MAX_PACKED: usize = 256;

/// The personal messages that may travel packed: the ones a sale or a
/// draw produces by the thousand in a second.
pub const PACKED_KINDS: [&str; 3] = [COUPON_ISSUED, DRAW_WON, DRAW_LOST];

/// Header carrying the trace id of the request that caused the message.
pub const TRACE_ID_HEADER: &str = "x-trace-id";

/// One message as it travels: `{"type","id","timestamp","data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Uuid,
    #[serde(with = "rfc3339_seconds")]
    pub timestamp: DateTime<Utc>,
    pub data: T,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CouponIssued {
    pub user_id: i64,
    pub coupon_id: i64,
    pub event_id: i64,
    pub coupon_code: String,
    pub discount_value: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CouponSoldout {
    pub event_id: i64,
    pub event_title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventStock {
    pub event_id: i64,
    pub remaining: i64,
    pub total: i64,
}

/// An event as its watchers see it after an admin changed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventUpdated {
    pub event_id: i64,
    /// `scheduled`, `active`, `sold_out` or `ended` when the change was made.
    pub status: String,
    pub remaining: i64,
    pub total: i64,
    #[serde(with = "rfc3339_seconds")]
    pub start_time: DateTime<Utc>,
    #[serde(with = "rfc3339_seconds")]
    pub end_time: DateTime<Utc>,
    pub title: String,
}

/// A session whose sockets must close: one refresh family of the user, or
/// every session of the user when `session_id` is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRevoked {
    pub user_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Uuid>,
}

/// A waiting room's state, from which each client computes its own wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueProgress {
    pub event_id: i64,
    /// The highest position admitted so far.
    pub serving: i64,
    /// Places still waiting.
    pub waiting: i64,
    /// Units not yet claimed (free or held).
    pub remaining: i64,
    /// Admissions per second over the last tick.
    pub admitted_per_second: f64,
}

/// Why a waiting room closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueClosedReason {
    /// Every unit was claimed.
    SoldOut,
    /// The sale's window ended.
    Ended,
    /// An admin closed the event.
    Closed,
    /// A draw's ranked list ran out with units left.
    Exhausted,
}

impl QueueClosedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SoldOut => "sold_out",
            Self::Ended => "ended",
            Self::Closed => "closed",
            Self::Exhausted => "exhausted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueClosed {
    pub event_id: i64,
    pub reason: QueueClosedReason,
}

/// An admitted place: one unit is held for the user until `claim_by`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueAdmitted {
    pub user_id: i64,
    pub event_id: i64,
    pub position: i64,
    #[serde(with = "rfc3339_seconds")]
    pub claim_by: DateTime<Utc>,
}

/// A win in a draw: one unit is held for the user until `claim_by`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrawWon {
    pub user_id: i64,
    pub event_id: i64,
    pub rank: i64,
    #[serde(with = "rfc3339_seconds")]
    pub claim_by: DateTime<Utc>,
}

/// An entrant not among the winners once the draw gave out every unit;
/// a unit that comes back may still reach `rank` (then `draw.won`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrawLost {
    pub user_id: i64,
    pub event_id: i64,
    pub rank: i64,
}

/// Ties a payload type to its routing key so a caller cannot mislabel one.
pub trait Payload: Serialize {
    const KIND: &'static str;
}

impl Payload for CouponIssued {
    const KIND: &'static str = COUPON_ISSUED;
}
impl Payload for CouponSoldout {
    const KIND: &'static str = COUPON_SOLDOUT;
}
impl Payload for EventStock {
    const KIND: &'static str = EVENT_STOCK;
}
impl Payload for EventUpdated {
    const KIND: &'static str = EVENT_UPDATED;
}
impl Payload for SessionRevoked {
    const KIND: &'static str = SESSION_REVOKED;
}
impl Payload for QueueProgress {
    const KIND: &'static str = QUEUE_PROGRESS;
}
impl Payload for QueueClosed {
    const KIND: &'static str = QUEUE_CLOSED;
}
impl Payload for QueueAdmitted {
    const KIND: &'static str = QUEUE_ADMITTED;
}
impl Payload for DrawWon {
    const KIND: &'static str = DRAW_WON;
}
impl Payload for DrawLost {
    const KIND: &'static str = DRAW_LOST;
}

impl<T: Payload> Envelope<T> {
    /// A new message with a fresh random id (the AMQP `message_id` too).
    pub fn new(data: T, timestamp: DateTime<Utc>) -> Self {
        Self {
            kind: T::KIND.to_owned(),
            id: Uuid::new_v4(),
            timestamp,
            data,
        }
    }
}

mod rfc3339_seconds {
    //! `2026-02-11T10:30:00Z`: whole seconds, `Z`, as the contract shows.
    use serde::{Deserializer, Serializer};

    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn coupon_issued_serialises_exactly_as_the_contract_shows() {
        let ts = Utc.with_ymd_and_hms(2026, 2, 11, 10, 30, 0).unwrap();
        let mut msg = Envelope::new(
            CouponIssued {
                user_id: 123,
                coupon_id: 12345,
                event_id: 1,
                coupon_code: "WELCOME-A1B2C3D4".into(),
                discount_value: 10,
            },
            ts,
        );
        msg.id = Uuid::nil();
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "coupon.issued",
                "id": "00000000-0000-0000-0000-000000000000",
                "timestamp": "2026-02-11T10:30:00Z",
                "data": {"userId": 123, "couponId": 12345, "eventId": 1,
                         "couponCode": "WELCOME-A1B2C3D4", "discountValue": 10}
            })
        );
    }

    #[test]
    fn soldout_and_stock_use_their_routing_keys_as_type() {
        let ts = Utc::now();
        let sold = Envelope::new(
            CouponSoldout {
                event_id: 1,
                event_title: "t".into(),
            },
            ts,
        );
        let stock = Envelope::new(
            EventStock {
                event_id: 1,
                remaining: 3,
                total: 10,
            },
            ts,
        );
        assert_eq!(sold.kind, COUPON_SOLDOUT);
        assert_eq!(stock.kind, EVENT_STOCK);
        let back: Envelope<EventStock> =
            serde_json::from_str(&serde_json::to_string(&stock).unwrap()).unwrap();
        assert_eq!(back.data, stock.data);
    }
}
