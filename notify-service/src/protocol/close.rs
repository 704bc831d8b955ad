//! WebSocket close codes (docs/websocket-protocol.md). 4000–4999 are the
//! application's own range (RFC 6455 §7.4.2).

/// The server is shutting down (or restarting); reconnect and `resume`.
pub const GOING_AWAY: u16 = 1001;
/// This instance may have missed messages (its fan-out subscription was
/// interrupted): reconnect and `resume`, re-`subscribe` for fresh snapshots.
pub const SERVICE_RESTART: u16 = 1012;
/// The socket authenticated by frame while this instance holds
/// `websocket.max_connections` signed-in sockets: retry later (with backoff).
pub const TRY_AGAIN_LATER: u16 = 1013;
/// The client broke the WebSocket framing rules.
pub const PROTOCOL_ERROR: u16 = 1002;
/// A text frame that is not valid UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// A frame (or joined continuation) larger than `websocket.max_frame_bytes`.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// No pong (nor any other frame) for two heartbeat intervals.
pub const HEARTBEAT_TIMEOUT: u16 = 4000;
/// No valid token: invalid, missing after `auth_timeout_ms`, first frame not
/// `auth`, or a re-`auth` for another user. Do not retry with the same token.
pub const AUTH_FAILED: u16 = 4001;
/// The token expired (at `auth`, or during the session without a fresh
/// `auth`). Refresh the token, reconnect and `resume`.
pub const TOKEN_EXPIRED: u16 = 4002;
/// The session this socket signed in with was ended: the user logged out
/// (on this or another device), a refresh token of the session was reused,
/// or an admin disabled the account. Do not reconnect with this session's
/// tokens; sign in again.
pub const SESSION_REVOKED: u16 = 4003;
/// The client did not read fast enough: its outgoing queue overflowed.
/// Reconnect, `resume` and refetch what a snapshot gives.
pub const SLOW_CONSUMER: u16 = 4008;
/// The user already holds `websocket.max_connections_per_user` sockets here.
pub const TOO_MANY_CONNECTIONS: u16 = 4029;

/// Why a connection ended, as counted in `notify_ws_closes_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed, or its socket went away.
    Client,
    Shutdown,
    ProtocolError,
    InvalidPayload,
    FrameTooBig,
    HeartbeatTimeout,
    AuthFailed,
    AuthTimeout,
    TokenExpired,
    SlowConsumer,
    TooManyConnections,
    ServerFull,
    FanoutGap,
    SessionRevoked,
}

impl CloseReason {
    /// The close code sent, `None` when the client closed first.
    pub fn code(self) -> Option<u16> {
        Some(match self {
            Self::Client => return None,
            Self::Shutdown => GOING_AWAY,
            Self::ProtocolError => PROTOCOL_ERROR,
            Self::InvalidPayload => INVALID_PAYLOAD,
            Self::FrameTooBig => MESSAGE_TOO_BIG,
            Self::HeartbeatTimeout => HEARTBEAT_TIMEOUT,
            Self::AuthFailed | Self::AuthTimeout => AUTH_FAILED,
            Self::TokenExpired => TOKEN_EXPIRED,
            Self::SlowConsumer => SLOW_CONSUMER,
            Self::TooManyConnections => TOO_MANY_CONNECTIONS,
            Self::ServerFull => TRY_AGAIN_LATER,
            Self::FanoutGap => SERVICE_RESTART,
            Self::SessionRevoked => SESSION_REVOKED,
        })
    }

    /// Metric label and close-frame text.
    pub fn label(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Shutdown => "shutdown",
            Self::ProtocolError => "protocol_error",
            Self::InvalidPayload => "invalid_payload",
            Self::FrameTooBig => "frame_too_big",
            Self::HeartbeatTimeout => "heartbeat_timeout",
            Self::AuthFailed => "auth_failed",
            Self::AuthTimeout => "auth_timeout",
            Self::TokenExpired => "token_expired",
            Self::SlowConsumer => "slow_consumer",
            Self::TooManyConnections => "too_many_connections",
            Self::ServerFull => "server_full",
            Self::FanoutGap => "fanout_gap",
            Self::SessionRevoked => "session_revoked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_codes_are_in_the_private_range_and_distinct() {
        let all = [
            HEARTBEAT_TIMEOUT,
            AUTH_FAILED,
            TOKEN_EXPIRED,
            SESSION_REVOKED,
            SLOW_CONSUMER,
            TOO_MANY_CONNECTIONS,
        ];
        assert!(all.iter().all(|c| (4000..5000).contains(c)));
        let mut sorted = all.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
        assert_eq!(CloseReason::AuthTimeout.code(), Some(AUTH_FAILED));
        assert_eq!(CloseReason::Client.code(), None);
    }
}
