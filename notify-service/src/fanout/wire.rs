//! What travels on the pub/sub channel: one header line, then the frame
//! exactly as clients get it, so a receiving instance routes by the header
//! and never parses the JSON.
//!
//! `u|<user id>|<seq>|<consumed at, unix ms>|<type>\n<frame>` (personal)
//! `e|<event id>|<message id or ->|<consumed at, unix ms>|<type>\n<frame>`
//! (event-wide; the id, when given, lets an instance drop a message it
//! already delivered: a fan-out that is run again publishes again)
//! `s|<user id>|<session or ->|<consumed at, unix ms>|session.revoked\n{}`
//! (a revocation: no frame goes to a client, its sockets are closed)

use actix_web::web::Bytes;

use crate::{hub::Target, protocol::seq::Seq};

/// What arrives on the channel: a frame for local sockets, or a
/// revocation (no frame goes to a client; the session's sockets close).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Frame(Published),
    Revocation(Revocation),
}

/// A session (or, `session: None`, every session of the user) ended, as
/// the channel carries it and the record of recent revocations keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    pub user_id: i64,
    pub session: Option<uuid::Uuid>,
    /// When it was consumed (unix ms), the same on every instance.
    pub at_ms: i64,
}

/// One fanned-out frame as an instance receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub target: Target,
    pub seq: Option<Seq>,
    /// An event-wide message's id, when it is fanned out once per id.
    pub message_id: Option<uuid::Uuid>,
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

/// The whole payload of an event-wide message; `message_id` when
/// receivers are to deliver it once per id.
pub fn event_payload(
    event_id: i64,
    message_id: Option<&uuid::Uuid>,
    consumed_ms: i64,
    kind: &str,
    frame: &str,
) -> String {
    let id = message_id.map_or_else(|| "-".to_owned(), uuid::Uuid::to_string);
    format!("e|{event_id}|{id}|{consumed_ms}|{kind}\n{frame}")
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
    Some((user.parse().ok()?, parse_optional_id(session)?))
}

/// A session (or message) id, or `-` for none.
fn parse_optional_id(text: &str) -> Option<Option<uuid::Uuid>> {
    match text {
        "-" => Some(None),
        s => s.parse().ok().map(Some),
    }
}

pub fn decode(payload: &[u8]) -> Option<Received> {
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
    let (target, seq, message_id) = match scope {
        "u" => (Target::User(id), Some(Seq::parse(seq)?), None),
        "e" => (Target::Event(id), None, parse_optional_id(seq)?),
        "s" => {
            return Some(Received::Revocation(Revocation {
                user_id: id,
                session: parse_optional_id(seq)?,
                at_ms: consumed_ms,
            }));
        }
        _ => return None,
    };
    Some(Received::Frame(Published {
        target,
        seq,
        message_id,
        consumed_ms,
        kind,
        frame: Bytes::copy_from_slice(frame),
    }))
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
        let Some(Received::Frame(p)) = decode(personal.as_bytes()) else {
            panic!("a frame");
        };
        assert_eq!(p.target, Target::User(5));
        assert_eq!(p.seq, Some(Seq { ms: 17, n: 3 }));
        assert_eq!((p.consumed_ms, p.kind.as_str()), (99, "coupon.issued"));
        assert_eq!(&p.frame[..], br#"{"type":"coupon.issued"}"#);

        let Some(Received::Frame(e)) =
            decode(event_payload(8, None, 1, "event.stock", "{}").as_bytes())
        else {
            panic!("a frame");
        };
        assert_eq!(
            (e.target, e.seq, e.message_id),
            (Target::Event(8), None, None)
        );
        let id = uuid::Uuid::from_u128(9);
        let Some(Received::Frame(e)) =
            decode(event_payload(8, Some(&id), 1, "coupon.soldout", "{}").as_bytes())
        else {
            panic!("a frame");
        };
        assert_eq!((e.target, e.message_id), (Target::Event(8), Some(id)));

        let sid = uuid::Uuid::from_u128(7);
        for session in [Some(sid), None] {
            assert_eq!(
                decode(session_payload(3, session, 1).as_bytes()),
                Some(Received::Revocation(Revocation {
                    user_id: 3,
                    session,
                    at_ms: 1
                }))
            );
            assert_eq!(
                parse_revoked_session(&revoked_session(3, session)),
                Some((3, session))
            );
        }
        assert_eq!(parse_revoked_session("3|nope"), None);
        assert_eq!(parse_revoked_session("x|-"), None);
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
            "e|1|not-a-uuid|3|k\n{}",
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
