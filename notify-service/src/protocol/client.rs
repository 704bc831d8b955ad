//! Frames a client sends (text, JSON): `auth`, `subscribe`, `unsubscribe`,
//! `resume`, `ping`. Unknown fields are ignored; everything else that is not
//! one of these is refused with an error code the client can act on.

use serde::Deserialize;
use serde_json::Value;

use super::seq::Seq;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    Auth { token: String },
    Subscribe { event_id: i64 },
    Unsubscribe { event_id: i64 },
    Resume { since: Seq },
    Ping,
}

/// Why a frame was refused; `code()` goes into the `error` frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the frame is not a JSON object")]
    InvalidJson,
    #[error("unknown frame type {0:?}")]
    UnknownType(String),
    #[error("{0}")]
    Invalid(String),
    #[error("since must be the seq of a message (\"<ms>-<n>\")")]
    InvalidSince,
}

impl FrameError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::UnknownType(_) => "unknown_type",
            Self::Invalid(_) => "invalid_frame",
            Self::InvalidSince => "invalid_since",
        }
    }
}

#[derive(Deserialize)]
struct Token {
    token: String,
}

#[derive(Deserialize)]
struct EventRef {
    event_id: i64,
}

#[derive(Deserialize)]
struct Since {
    since: String,
}

impl ClientFrame {
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let value: Value = serde_json::from_str(text).map_err(|_| FrameError::InvalidJson)?;
        let Value::Object(map) = &value else {
            return Err(FrameError::InvalidJson);
        };
        let kind = match map.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            _ => {
                return Err(FrameError::Invalid(
                    "a frame needs a string \"type\"".into(),
                ));
            }
        };
        let fields = |what: &str| FrameError::Invalid(format!("{kind}: {what}"));
        Ok(match kind {
            "auth" => {
                let Token { token } = serde_json::from_value(value.clone())
                    .map_err(|_| fields("needs a string \"token\""))?;
                Self::Auth { token }
            }
            "subscribe" | "unsubscribe" => {
                let EventRef { event_id } = serde_json::from_value(value.clone())
                    .map_err(|_| fields("needs an integer \"event_id\""))?;
                // Event ids start at 1; nothing else is looked up anywhere.
                if event_id < 1 {
                    return Err(fields("\"event_id\" must be at least 1"));
                }
                if kind == "subscribe" {
                    Self::Subscribe { event_id }
                } else {
                    Self::Unsubscribe { event_id }
                }
            }
            "resume" => {
                let Since { since } =
                    serde_json::from_value(value.clone()).map_err(|_| FrameError::InvalidSince)?;
                Self::Resume {
                    since: Seq::parse(&since).ok_or(FrameError::InvalidSince)?,
                }
            }
            "ping" => Self::Ping,
            other => return Err(FrameError::UnknownType(truncate(other, 40))),
        })
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn each_client_frame_parses() {
        assert_eq!(
            ClientFrame::parse(r#"{"type":"auth","token":"abc"}"#),
            Ok(ClientFrame::Auth {
                token: "abc".into()
            })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"subscribe","event_id":7,"extra":true}"#),
            Ok(ClientFrame::Subscribe { event_id: 7 })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"unsubscribe","event_id":7}"#),
            Ok(ClientFrame::Unsubscribe { event_id: 7 })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"resume","since":"5-1"}"#),
            Ok(ClientFrame::Resume {
                since: Seq { ms: 5, n: 1 }
            })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"ping"}"#),
            Ok(ClientFrame::Ping)
        );
    }

    #[test]
    fn bad_frames_get_distinct_codes() {
        let code = |raw: &str| ClientFrame::parse(raw).unwrap_err().code();
        assert_eq!(code("not json"), "invalid_json");
        assert_eq!(code("[1,2]"), "invalid_json");
        assert_eq!(code(r#"{"type":"dance"}"#), "unknown_type");
        assert_eq!(code(r#"{"kind":"ping"}"#), "invalid_frame");
        assert_eq!(code(r#"{"type":7}"#), "invalid_frame");
        assert_eq!(
            code(r#"{"type":"subscribe","event_id":"7"}"#),
            "invalid_frame"
        );
        assert_eq!(code(r#"{"type":"subscribe"}"#), "invalid_frame");
        assert_eq!(
            code(r#"{"type":"subscribe","event_id":0}"#),
            "invalid_frame"
        );
        assert_eq!(
            code(r#"{"type":"subscribe","event_id":-5}"#),
            "invalid_frame"
        );
        assert_eq!(
            code(r#"{"type":"unsubscribe","event_id":-9223372036854775808}"#),
            "invalid_frame"
        );
        assert_eq!(
            code(r#"{"type":"subscribe","event_id":9223372036854775808}"#),
            "invalid_frame"
        );
        assert_eq!(
            code(r#"{"type":"subscribe","event_id":1.5}"#),
            "invalid_frame"
        );
        assert_eq!(code(r#"{"type":"auth","token":1}"#), "invalid_frame");
        assert_eq!(
            code(r#"{"type":"resume","since":"yesterday"}"#),
            "invalid_since"
        );
        assert_eq!(code(r#"{"type":"resume","since":12}"#), "invalid_since");
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(raw in ".{0,200}") {
            let _ = ClientFrame::parse(&raw);
        }

        #[test]
        fn arbitrary_types_are_unknown_not_accepted(kind in "[a-z_]{1,12}") {
            prop_assume!(!["auth", "subscribe", "unsubscribe", "resume", "ping"].contains(&kind.as_str()));
            let raw = serde_json::json!({"type": kind}).to_string();
            prop_assert_eq!(ClientFrame::parse(&raw).unwrap_err().code(), "unknown_type");
        }
    }
}
