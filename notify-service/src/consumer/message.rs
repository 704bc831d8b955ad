//! A consumed RabbitMQ message: parsed and checked against the contract
//! (docs/contract.md §3), then fanned out. A message that does not parse can never
//! succeed, so it is dead-lettered rather than retried. A packed personal
//! message (`coupon.issued`, `draw.won`, `draw.lost`: a JSON array of
//! envelopes of one kind, [`MAX_PACKED`] at most) is parsed into its
//! messages, each fanned out and deduplicated on its own.

use contract::messages::{
    COUPON_ISSUED, COUPON_SOLDOUT, CouponIssued, CouponSoldout, DRAW_LOST, DRAW_WON, DrawLost,
    DrawWon, EVENT_STOCK, EVENT_UPDATED, Envelope, EventStock, EventUpdated, MAX_PACKED,
    QUEUE_ADMITTED, QUEUE_CLOSED, QUEUE_PROGRESS, QueueAdmitted, QueueClosed, QueueProgress,
    SESSION_REVOKED, SessionRevoked,
};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    fanout::store::{Fanned, FanoutStore},
    protocol::server,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    Issued(Envelope<CouponIssued>),
    Soldout(Envelope<CouponSoldout>),
    Stock(Envelope<EventStock>),
    Updated(Envelope<EventUpdated>),
    Revoked(Envelope<SessionRevoked>),
    /// A waiting room's progress (event-wide, a snapshot like stock).
    QueueProgress(Envelope<QueueProgress>),
    /// A waiting room closed (event-wide, once).
    QueueClosed(Envelope<QueueClosed>),
    /// A user's place was admitted (personal, resumable).
    QueueAdmitted(Envelope<QueueAdmitted>),
    /// A user won a draw (personal, resumable).
    DrawWon(Envelope<DrawWon>),
    /// A user was not drawn (personal, resumable).
    DrawLost(Envelope<DrawLost>),
    /// Several personal messages of one kind in one AMQP message, in
    /// publish order, each with its user.
    Pack(&'static str, Vec<(i64, Notification)>),
}

/// A delivery as the consumer handles it: one message, or a pack's.
pub enum Unpacked {
    Single(Notification),
    Pack(Vec<(i64, Notification)>),
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("no message type is routed with key {0:?}")]
    UnknownRoutingKey(String),
    #[error("the body does not match the contract: {0}")]
    Body(#[from] serde_json::Error),
    #[error("the body says type {found:?} but was routed as {routed:?}")]
    TypeMismatch { found: String, routed: String },
    #[error("ids must be positive")]
    BadIds,
    #[error("a packed message carries 1 to {MAX_PACKED} messages, not {0}")]
    BadPack(usize),
}

fn body<T: DeserializeOwned>(raw: &[u8], routed: &str) -> Result<Envelope<T>, ParseError> {
    let message: Envelope<T> = serde_json::from_slice(raw)?;
    if message.kind != routed {
        return Err(ParseError::TypeMismatch {
            found: message.kind,
            routed: routed.to_owned(),
        });
    }
    Ok(message)
}

/// The messages of a packed body, each checked like a message of its own.
fn pack<T: DeserializeOwned>(raw: &[u8], routed: &str) -> Result<Vec<Envelope<T>>, ParseError> {
    let messages: Vec<Envelope<T>> = serde_json::from_slice(raw)?;
    if messages.is_empty() || messages.len() > MAX_PACKED {
        return Err(ParseError::BadPack(messages.len()));
    }
    if let Some(other) = messages.iter().find(|m| m.kind != routed) {
        return Err(ParseError::TypeMismatch {
            found: other.kind.clone(),
            routed: routed.to_owned(),
        });
    }
    Ok(messages)
}

fn is_packed(raw: &[u8]) -> bool {
    raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// A packed body of `kind`, each message wrapped with its user.
fn packed<T: DeserializeOwned>(
    raw: &[u8],
    kind: &'static str,
    wrap: impl Fn(Envelope<T>) -> (i64, Notification),
) -> Result<Notification, ParseError> {
    Ok(Notification::Pack(
        kind,
        pack(raw, kind)?.into_iter().map(wrap).collect(),
    ))
}

impl Notification {
    pub fn parse(routing_key: &str, raw: &[u8]) -> Result<Self, ParseError> {
        let parsed = match routing_key {
            COUPON_ISSUED if is_packed(raw) => {
                packed(raw, COUPON_ISSUED, |m: Envelope<CouponIssued>| {
                    (m.data.user_id, Self::Issued(m))
                })?
            }
            DRAW_WON if is_packed(raw) => packed(raw, DRAW_WON, |m: Envelope<DrawWon>| {
                (m.data.user_id, Self::DrawWon(m))
            })?,
            DRAW_LOST if is_packed(raw) => packed(raw, DRAW_LOST, |m: Envelope<DrawLost>| {
                (m.data.user_id, Self::DrawLost(m))
            })?,
            COUPON_ISSUED => Self::Issued(body(raw, routing_key)?),
            COUPON_SOLDOUT => Self::Soldout(body(raw, routing_key)?),
            EVENT_STOCK => Self::Stock(body(raw, routing_key)?),
            EVENT_UPDATED => Self::Updated(body(raw, routing_key)?),
            SESSION_REVOKED => Self::Revoked(body(raw, routing_key)?),
            QUEUE_PROGRESS => Self::QueueProgress(body(raw, routing_key)?),
            QUEUE_CLOSED => Self::QueueClosed(body(raw, routing_key)?),
            QUEUE_ADMITTED => Self::QueueAdmitted(body(raw, routing_key)?),
            DRAW_WON => Self::DrawWon(body(raw, routing_key)?),
            DRAW_LOST => Self::DrawLost(body(raw, routing_key)?),
            other => return Err(ParseError::UnknownRoutingKey(other.to_owned())),
        };
        let ids_ok = parsed.ids_ok();
        if ids_ok {
            Ok(parsed)
        } else {
            Err(ParseError::BadIds)
        }
    }

    /// Every id the message names is positive.
    fn ids_ok(&self) -> bool {
        match self {
            Self::Issued(m) => m.data.user_id > 0 && m.data.event_id > 0,
            Self::Soldout(m) => m.data.event_id > 0,
            Self::Stock(m) => m.data.event_id > 0,
            Self::Updated(m) => m.data.event_id > 0,
            Self::Revoked(m) => m.data.user_id > 0,
            Self::QueueProgress(m) => m.data.event_id > 0,
            Self::QueueClosed(m) => m.data.event_id > 0,
            Self::QueueAdmitted(m) => m.data.user_id > 0 && m.data.event_id > 0,
            Self::DrawWon(m) => m.data.user_id > 0 && m.data.event_id > 0,
            Self::DrawLost(m) => m.data.user_id > 0 && m.data.event_id > 0,
            Self::Pack(_, ms) => ms.iter().all(|(_, m)| m.ids_ok()),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Issued(_) => COUPON_ISSUED,
            Self::Pack(kind, _) => kind,
            Self::Soldout(_) => COUPON_SOLDOUT,
            Self::Stock(_) => EVENT_STOCK,
            Self::Updated(_) => EVENT_UPDATED,
            Self::Revoked(_) => SESSION_REVOKED,
            Self::QueueProgress(_) => QUEUE_PROGRESS,
            Self::QueueClosed(_) => QUEUE_CLOSED,
            Self::QueueAdmitted(_) => QUEUE_ADMITTED,
            Self::DrawWon(_) => DRAW_WON,
            Self::DrawLost(_) => DRAW_LOST,
        }
    }

    /// What must be delivered in order: one user's personal messages (their
    /// history stream, which `resume` replays, must follow publish order).
    /// Event-wide messages need none: one sold-out per event, and stock
    /// updates are snapshots, at most ~10/s, that must not queue behind each
    /// other.
    /// (A pack is ordered by the consumer: packs one after another, each
    /// user's messages within a pack in order.)
    pub fn ordering_key(&self) -> Option<u64> {
        match self {
            Self::Issued(m) => Some(m.data.user_id.unsigned_abs()),
            Self::QueueAdmitted(m) => Some(m.data.user_id.unsigned_abs()),
            Self::DrawWon(m) => Some(m.data.user_id.unsigned_abs()),
            Self::DrawLost(m) => Some(m.data.user_id.unsigned_abs()),
            Self::Soldout(_)
            | Self::Stock(_)
            | Self::Updated(_)
            | Self::Revoked(_)
            | Self::QueueProgress(_)
            | Self::QueueClosed(_)
            | Self::Pack(..) => None,
        }
    }

    /// A pack's messages in order, each with its user; a single message
    /// back as it is.
    pub fn unpacked(self) -> Unpacked {
        match self {
            Self::Pack(_, ms) => Unpacked::Pack(ms),
            single => Unpacked::Single(single),
        }
    }

    pub fn id(&self) -> uuid::Uuid {
        match self {
            Self::Issued(m) => m.id,
            Self::Soldout(m) => m.id,
            Self::Stock(m) => m.id,
            Self::Updated(m) => m.id,
            Self::Revoked(m) => m.id,
            Self::QueueProgress(m) => m.id,
            Self::QueueClosed(m) => m.id,
            Self::QueueAdmitted(m) => m.id,
            Self::DrawWon(m) => m.id,
            Self::DrawLost(m) => m.id,
            Self::Pack(_, ms) => ms.first().map_or_else(uuid::Uuid::nil, |(_, m)| m.id()),
        }
    }

    /// One Lua call: dedupe, history (personal), publish to all instances.
    pub async fn fan_out(&self, store: &FanoutStore, consumed_ms: i64) -> anyhow::Result<Fanned> {
        let kind = self.kind();
        // Messages published once per change (a sell-out, an admin's
        // change, a room's closing) are deduplicated by id; snapshots
        // (stock, a room's progress) are not: a repeat is harmless.
        match self {
            Self::Issued(m) => personal(store, m.data.user_id, m, kind, consumed_ms).await,
            Self::QueueAdmitted(m) => personal(store, m.data.user_id, m, kind, consumed_ms).await,
            Self::DrawWon(m) => personal(store, m.data.user_id, m, kind, consumed_ms).await,
            Self::DrawLost(m) => personal(store, m.data.user_id, m, kind, consumed_ms).await,
            Self::Soldout(m) => {
                event_wide(store, m.data.event_id, m, kind, consumed_ms, true).await
            }
            Self::Updated(m) => {
                event_wide(store, m.data.event_id, m, kind, consumed_ms, true).await
            }
            Self::QueueClosed(m) => {
                event_wide(store, m.data.event_id, m, kind, consumed_ms, true).await
            }
            Self::Stock(m) => event_wide(store, m.data.event_id, m, kind, consumed_ms, false).await,
            Self::QueueProgress(m) => {
                event_wide(store, m.data.event_id, m, kind, consumed_ms, false).await
            }
            Self::Revoked(m) => {
                store
                    .deliver_revocation(m.data.user_id, m.data.session_id, &m.id, consumed_ms)
                    .await
            }
            Self::Pack(..) => {
                anyhow::bail!("a pack is fanned out message by message (see `unpacked`)")
            }
        }
    }
}

/// A personal message: every device of the user, and the user's history
/// (what `resume` replays).
async fn personal<T: Serialize>(
    store: &FanoutStore,
    user_id: i64,
    m: &Envelope<T>,
    kind: &str,
    consumed_ms: i64,
) -> anyhow::Result<Fanned> {
    let frame = server::personal_template(m)?;
    store
        .deliver_user(user_id, &m.id, kind, &frame, consumed_ms)
        .await
}

/// An event-wide message: every watcher of the event.
async fn event_wide<T: Serialize>(
    store: &FanoutStore,
    event_id: i64,
    m: &Envelope<T>,
    kind: &str,
    consumed_ms: i64,
    dedupe: bool,
) -> anyhow::Result<Fanned> {
    let frame = server::event_frame(m)?;
    store
        .deliver_event(event_id, &m.id, kind, &frame, consumed_ms, dedupe)
        .await
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn issued_json(user: i64) -> String {
        serde_json::to_string(&Envelope::new(
            CouponIssued {
                user_id: user,
                coupon_id: 1,
                event_id: 2,
                coupon_code: "C".into(),
                discount_value: 10,
            },
            chrono::Utc::now(),
        ))
        .unwrap()
    }

    fn stock_json() -> String {
        serde_json::to_string(&Envelope::new(
            EventStock {
                event_id: 1,
                remaining: 0,
                total: 3,
            },
            chrono::Utc::now(),
        ))
        .unwrap()
    }

    #[test]
    fn contract_messages_parse_by_routing_key() {
        let parsed = Notification::parse(COUPON_ISSUED, issued_json(5).as_bytes()).unwrap();
        assert_eq!(parsed.kind(), COUPON_ISSUED);
        let stock = stock_json();
        assert!(matches!(
            Notification::parse(EVENT_STOCK, stock.as_bytes()),
            Ok(Notification::Stock(_))
        ));
    }

    #[test]
    fn unparseable_mislabelled_or_invalid_messages_are_refused() {
        assert!(matches!(
            Notification::parse(COUPON_ISSUED, b"not json"),
            Err(ParseError::Body(_))
        ));
        assert!(matches!(
            Notification::parse(COUPON_SOLDOUT, issued_json(5).as_bytes()),
            Err(ParseError::Body(_) | ParseError::TypeMismatch { .. })
        ));
        assert!(matches!(
            Notification::parse("coupon.other", issued_json(5).as_bytes()),
            Err(ParseError::UnknownRoutingKey(_))
        ));
        assert!(matches!(
            Notification::parse(COUPON_ISSUED, issued_json(0).as_bytes()),
            Err(ParseError::BadIds)
        ));
    }

    #[test]
    fn a_packed_body_parses_into_its_messages_and_a_bad_one_is_refused() {
        let pack = format!("[{},{}]", issued_json(5), issued_json(6));
        let parsed = Notification::parse(COUPON_ISSUED, pack.as_bytes()).unwrap();
        assert_eq!(parsed.kind(), COUPON_ISSUED);
        let Unpacked::Pack(messages) = parsed.unpacked() else {
            panic!("a pack");
        };
        let users: Vec<i64> = messages.iter().map(|(u, _)| *u).collect();
        assert_eq!(users, [5, 6]);
        assert!(matches!(
            Notification::parse(COUPON_ISSUED, b"[]"),
            Err(ParseError::BadPack(0))
        ));
        let too_many = format!("[{}]", vec![issued_json(5); MAX_PACKED + 1].join(","));
        assert!(matches!(
            Notification::parse(COUPON_ISSUED, too_many.as_bytes()),
            Err(ParseError::BadPack(_))
        ));
        let one_bad = format!("[{},{}]", issued_json(5), issued_json(0));
        assert!(matches!(
            Notification::parse(COUPON_ISSUED, one_bad.as_bytes()),
            Err(ParseError::BadIds)
        ));
        let stock = stock_json();
        let mixed = format!("[{},{stock}]", issued_json(5));
        assert!(Notification::parse(COUPON_ISSUED, mixed.as_bytes()).is_err());
    }

    #[test]
    fn a_draws_results_may_come_packed_too() {
        let lost = |user: i64| {
            serde_json::to_string(&Envelope::new(
                DrawLost {
                    user_id: user,
                    event_id: 1,
                    rank: user + 10,
                },
                chrono::Utc::now(),
            ))
            .unwrap()
        };
        let pack = format!("[{},{}]", lost(7), lost(8));
        let parsed = Notification::parse(DRAW_LOST, pack.as_bytes()).unwrap();
        assert_eq!(parsed.kind(), DRAW_LOST);
        let Unpacked::Pack(messages) = parsed.unpacked() else {
            panic!("a pack");
        };
        assert_eq!(messages.iter().map(|(u, _)| *u).collect::<Vec<_>>(), [7, 8]);
        assert!(messages.iter().all(|(_, m)| m.kind() == DRAW_LOST));
        // One kind per pack: a draw.won among draw.lost is refused.
        let mixed = format!("[{},{}]", lost(7), issued_json(5));
        assert!(Notification::parse(DRAW_LOST, mixed.as_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            for key in [COUPON_ISSUED, COUPON_SOLDOUT, EVENT_STOCK, EVENT_UPDATED, SESSION_REVOKED] {
                let _ = Notification::parse(key, &raw);
            }
        }
    }
}
