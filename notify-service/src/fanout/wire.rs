//! What travels on the pub/sub channel: one header line, then the frame
//! exactly as clients get it, so a receiving instance routes by the header
//! and never parses the JSON.
//!
//! `u|<user id>|<seq>|<consumed at, unix ms>|<type>\n<frame>` (personal)
//! `e|<event id>|-|<consumed at, unix ms>|<type>\n<frame>`    (event-wide)
//! `s|<user id>|<session or ->|<consumed at, unix ms>|session.revoked\n{}`
//! (a revocation: no frame goes to a client, its sockets are closed)

use actix_web::web::Bytes;

use crate::{hub::Target, protocol::seq::Seq};

/// One fanned-out message as an instance receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub target: Target,
    pub seq: Option<Seq>,
    pub consumed_ms: i64,
    pub kind: String,
    pub frame: Bytes,
}

/// The header up to the seq, for the Lua script to complete: personal
/// messages get `<seq>` + [`header_after_seq`] appended by Redis.
pub fn user_header_before_seq(user_id: i64) -> String {
    format!("u|{user_id}|")
}

pub fn header_after_seq(consumed_ms: i64, kind: &str) -> String {
    format!("|{consumed_ms}|{kind}\n")
}

/// The whole payload of an event-wide message.
pub fn event_payload(event_id: i64, consumed_ms: i64, kind: &str, frame: &str) -> String {
    format!("e|{event_id}|-|{consumed_ms}|{kind}\n{frame}")
}

/// The whole payload of a revocation (`session: None` = every session).
pub fn session_payload(user_id: i64, session: Option<uuid::Uuid>, consumed_ms: i64) -> String {
    format!(
        "s|{}|{consumed_ms}|{}\n{{}}",
        revoked_session(user_id, session),
        contract::messages::SESSION_REVOKED
    )
}

/// `<user id>|<session or ->`: what a revocation names, in its payload and
/// in the record of recent revocations.
pub fn revoked_session(user_id: i64, session: Option<uuid::Uuid>) -> String {
    let session = session.map_or_else(|| "-".to_owned(), |s| s.to_string());
    format!("{user_id}|{session}")
}

/// The inverse of [`revoked_session`].
pub fn parse_revoked_session(text: &str) -> Option<(i64, Option<uuid::Uuid>)> {
    let (user, session) = text.split_once('|')?;
    let session = match session {
        "-" => None,
        s => Some(s.parse().ok()?),
    };
    Some((user.parse().ok()?, session))
}

pub fn decode(payload: &[u8]) -> Option<Published> {
    let newline = payload.iter().position(|b| *b == b'\n')?;
    let header = std::str::from_utf8(&payload[..newline]).ok()?;
    let frame = &payload[newline + 1..];
    std::str::from_utf8(frame).ok()?;
    let mut parts = header.split('|');
    let scope = parts.next()?;
    let id: i64 = parts.next()?.parse().ok()?;
    let seq = parts.next()?;
    let consumed_ms = parts.next()?.parse().ok()?;
    let kind = parts.next()?.to_owned();
    if parts.next().is_some() {
        return None;
    }
    let (target, seq) = match scope {
        "u" => (Target::User(id), Some(Seq::parse(seq)?)),
        "e" if seq == "-" => (Target::Event(id), None),
        "s" => {
            let session = match seq {
                "-" => None,
                s => Some(s.parse::<uuid::Uuid>().ok()?),
            };
            (
                Target::Session {
                    user_id: id,
                    session,
                },
                None,
            )
        }
        _ => return None,
    };
    Some(Published {
        target,
        seq,
        consumed_ms,
        kind,
        frame: Bytes::copy_from_slice(frame),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn personal_and_event_payloads_decode() {
        let personal = format!(
            "{}17-3{}{}",
            user_header_before_seq(5),
            header_after_seq(99, "coupon.issued"),
            r#"{"type":"coupon.issued"}"#
        );
        let p = decode(personal.as_bytes()).unwrap();
        assert_eq!(p.target, Target::User(5));
        assert_eq!(p.seq, Some(Seq { ms: 17, n: 3 }));
        assert_eq!((p.consumed_ms, p.kind.as_str()), (99, "coupon.issued"));
        assert_eq!(&p.frame[..], br#"{"type":"coupon.issued"}"#);

        let e = decode(event_payload(8, 1, "event.stock", "{}").as_bytes()).unwrap();
        assert_eq!((e.target, e.seq), (Target::Event(8), None));

        let sid = uuid::Uuid::from_u128(7);
        let one = decode(session_payload(3, Some(sid), 1).as_bytes()).unwrap();
        assert_eq!(
            one.target,
            Target::Session {
                user_id: 3,
                session: Some(sid)
            }
        );
        for named in [Some(sid), None] {
            assert_eq!(
                parse_revoked_session(&revoked_session(3, named)),
                Some((3, named))
            );
        }
        assert_eq!(parse_revoked_session("3|nope"), None);
        assert_eq!(parse_revoked_session("x|-"), None);
        let all = decode(session_payload(3, None, 1).as_bytes()).unwrap();
        assert_eq!(
            all.target,
            Target::Session {
                user_id: 3,
                session: None
            }
        );
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "u|1|2-0|3|x",
            "x|1|-|3|k\n{}",
            "u|1|-|3|k\n{}",
            "e|a|-|3|k\n{}",
            "e|1|-|3|k|z\n{}",
            "e|1|2-0|3|k\n{}",
            "s|1|not-a-uuid|3|k\n{}",
        ] {
            assert_eq!(decode(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(decode(b"e|1|-|3|k\n\xff"), None);
    }

    proptest! {
        #[test]
        fn decode_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = decode(&raw);
        }
    }
}
