//! Frames the server sends. Fan-out frames (`coupon.issued`,
//! `coupon.soldout`, `event.stock`) are the published envelope itself, plus
//! `seq` on personal ones; they are serialised once, by the instance that
//! consumed the message. Control frames answer one connection.

use contract::messages::Envelope;
use serde::Serialize;
use serde_json::json;

use crate::snapshot::Snapshot;

/// The frame of an event-wide message: exactly the envelope.
pub fn event_frame<T: Serialize>(message: &Envelope<T>) -> serde_json::Result<String> {
    serde_json::to_string(message)
}

/// A personal frame split around its `seq`, which only Redis knows (the id
/// of the history entry): the frame is `head + seq + tail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalTemplate {
    pub head: String,
    pub tail: String,
}

/// `{"type":…,"seq":"<seq>","id":…,"timestamp":…,"data":…}`.
pub fn personal_template<T: Serialize>(
    message: &Envelope<T>,
) -> serde_json::Result<PersonalTemplate> {
    #[derive(Serialize)]
    struct Personal<'a, T> {
        #[serde(rename = "type")]
        kind: &'a str,
        seq: &'a str,
        #[serde(flatten)]
        rest: RestOf<'a, T>,
    }
    #[derive(Serialize)]
    struct RestOf<'a, T> {
        id: uuid::Uuid,
        timestamp: String,
        data: &'a T,
    }
    let full = serde_json::to_string(&Personal {
        kind: &message.kind,
        seq: "",
        rest: RestOf {
            id: message.id,
            timestamp: message
                .timestamp
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            data: &message.data,
        },
    })?;
    // Quotes inside string values are escaped, so this key occurs once.
    const EMPTY_SEQ: &str = r#""seq":"""#;
    let at = full.find(EMPTY_SEQ).unwrap_or(full.len());
    let split = (at + EMPTY_SEQ.len() - 1).min(full.len());
    Ok(PersonalTemplate {
        head: full[..split].to_owned(),
        tail: full[split..].to_owned(),
    })
}

pub fn welcome(user_id: i64, heartbeat_ms: u64, expires_at: u64) -> String {
    json!({"type": "welcome", "user_id": user_id, "heartbeat_ms": heartbeat_ms, "expires_at": expires_at})
        .to_string()
}

pub fn subscribed(snapshot: &Snapshot) -> String {
    json!({
        "type": "subscribed",
        "event_id": snapshot.event_id,
        "remaining": snapshot.remaining,
        "status": snapshot.status,
    })
    .to_string()
}

pub fn unsubscribed(event_id: i64) -> String {
    json!({"type": "unsubscribed", "event_id": event_id}).to_string()
}

pub fn pong() -> String {
    r#"{"type":"pong"}"#.to_owned()
}

pub fn error(code: &str, message: &str) -> String {
    json!({"type": "error", "code": code, "message": message}).to_string()
}

/// After a `resume`: `recovered:false` means history is gone, refetch
/// `GET /api/coupons/my`.
pub fn resumed(recovered: bool, replayed: usize) -> String {
    json!({"type": "resumed", "recovered": recovered, "replayed": replayed}).to_string()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use contract::messages::{CouponIssued, CouponSoldout};

    use super::*;

    fn issued() -> Envelope<CouponIssued> {
        let mut m = Envelope::new(
            CouponIssued {
                user_id: 123,
                coupon_id: 12345,
                event_id: 1,
                coupon_code: r#"WEL"seq":""COME"#.into(),
                discount_value: 10,
            },
            chrono::Utc
                .with_ymd_and_hms(2026, 2, 11, 10, 30, 0)
                .unwrap(),
        );
        m.id = uuid::Uuid::nil();
        m
    }

    #[test]
    fn a_personal_frame_is_the_envelope_with_its_seq() {
        let t = personal_template(&issued()).unwrap();
        let frame = format!("{}1731-0{}", t.head, t.tail);
        let value: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(
            value,
            json!({
                "type": "coupon.issued", "seq": "1731-0",
                "id": "00000000-0000-0000-0000-000000000000",
                "timestamp": "2026-02-11T10:30:00Z",
                "data": {"userId": 123, "couponId": 12345, "eventId": 1,
                         "couponCode": "WEL\"seq\":\"\"COME", "discountValue": 10}
            })
        );
        assert!(frame.starts_with(r#"{"type":"coupon.issued","seq":"1731-0","#));
    }

    #[test]
    fn an_event_frame_is_the_published_envelope() {
        let m = Envelope::new(
            CouponSoldout {
                event_id: 4,
                event_title: "t".into(),
            },
            chrono::Utc::now(),
        );
        let value: serde_json::Value = serde_json::from_str(&event_frame(&m).unwrap()).unwrap();
        assert_eq!(value["type"], "coupon.soldout");
        assert_eq!(value["data"]["eventId"], 4);
    }

    #[test]
    fn control_frames_have_their_documented_shape() {
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&error("event_not_found", "no")).unwrap(),
            json!({"type": "error", "code": "event_not_found", "message": "no"})
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&resumed(false, 0)).unwrap()["recovered"],
            false
        );
    }
}
