//! One socket's life, in one task: authenticate (header or first frame) or
//! start watching anonymously (a first `subscribe`), join the hub, then
//! serve client frames, fan-out frames, heartbeats and the token's expiry
//! until something ends it; finally the close frame with its documented
//! code.
//!
//! Every write races the slow-consumer signal and the shutdown, so a client
//! that stopped reading cannot pin the task. Client requests are served in
//! [`requests`].

mod requests;

use std::{pin::Pin, sync::Arc, time::Duration};

use actix_web::web::Bytes;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, Message, ProtocolError, Session};
use contract::jwt::{Principal, TokenError, now_unix};
use futures::SinkExt;
use tokio::{
    sync::watch,
    time::{Instant, Sleep, sleep_until},
};

use super::{
    admission::Place,
    budget::FrameBudget,
    personal::{Live, PersonalOrder},
};
use crate::{
    error::ApiError,
    hub::{Identity, Kick, KickReason, Registration, SharedFrame},
    protocol::{client::ClientFrame, close::CloseReason, server},
    shutdown::{self, Phase},
    snapshot::Reading,
    state::AppState,
};

/// How long a close frame may take to be queued.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// A slow client's close frame waits behind its backlog; if it does not read
/// within this long the socket is simply dropped.
const SLOW_CLOSE_GRACE: Duration = Duration::from_secs(5);

type Flow = Result<(), CloseReason>;

pub struct Connection {
    state: Arc<AppState>,
    session: Session,
    stream: AggregatedMessageStream,
    shutdown: watch::Receiver<Phase>,
    /// The client's own close frame, echoed back.
    client_close: Option<actix_ws::CloseReason>,
    last_heard: Instant,
    budget: FrameBudget,
    /// `subscribe` frames, apart from `budget`.
    subscribes: FrameBudget,
    /// Held for the socket's life; moves to the members' budget on auth.
    place: Place,
}

/// State of a connection in the hub: signed in, or an anonymous watcher
/// until it sends `auth`.
struct Member {
    /// `None` while anonymous.
    identity: Option<Identity>,
    /// Fires when the token runs out (never while anonymous); a renewal
    /// (`auth` frame) resets it. Kept for the connection's life, not made
    /// anew per frame.
    expiry: Pin<Box<Sleep>>,
    registration: Registration,
    rx: futures::channel::mpsc::Receiver<SharedFrame>,
    order: PersonalOrder,
    /// The readings this socket's `subscribed` answers came from, while no
    /// live event frame has reached it since: a repeat `subscribe` is
    /// answered from them. Any event frame clears them all (it is newer).
    sent: Vec<Arc<Reading>>,
}

impl Connection {
    pub fn new(
        state: Arc<AppState>,
        session: Session,
        stream: AggregatedMessageStream,
        place: Place,
    ) -> Self {
        let shutdown = state.shutdown.clone();
        let ws = &state.settings.websocket;
        let budget = FrameBudget::new(ws.client_frames_per_second);
        let subscribes = FrameBudget::with_burst(ws.subscribes_per_second, ws.subscribe_burst);
        Self {
            state,
            session,
            stream,
            shutdown,
            client_close: None,
            last_heard: Instant::now(),
            budget,
            subscribes,
            place,
        }
    }

    /// Serves the socket; `principal` when the upgrade carried a token.
    ///
    /// Idle sockets are most of a node's memory, and a task is as big as the
    /// biggest state of its future. So the connection lives in a box (the
    /// future holds a pointer, not two copies of it), and the rare steps —
    /// first-frame authentication, client requests, the close — are boxed
    /// when they run instead of sizing every idle socket's task.
    pub async fn run(mut self: Box<Self>, principal: Option<Principal>) {
        let reason = self.serve(principal).await;
        Box::pin(self.finish(reason)).await;
    }

    async fn serve(&mut self, principal: Option<Principal>) -> CloseReason {
        let opening = match principal {
            Some(p) => Opening::SignedIn(p),
            None => match Box::pin(self.authenticate()).await {
                Ok(opening) => opening,
                Err(reason) => return reason,
            },
        };
        let (principal, first_watch) = match opening {
            Opening::SignedIn(p) => (Some(p), None),
            Opening::Watcher(event_id) => (None, Some(event_id)),
        };
        if principal.is_some()
            && let Err(reason) = self.take_members_place().await
        {
            return reason;
        }
        let identity = principal.as_ref().map(identity_of);
        let (registration, rx) = match self.state.hub.register(identity) {
            Ok(joined) => joined,
            Err(e) => {
                let _ = self
                    .send_error(None, "too_many_connections", &e.to_string())
                    .await;
                return CloseReason::TooManyConnections;
            }
        };
        let ws = &self.state.settings.websocket;
        let mut member = Member {
            identity,
            expiry: Box::pin(sleep_until(far_future())),
            registration,
            rx,
            order: PersonalOrder::new(None, ws.outgoing_queue),
            sent: Vec::new(),
        };
        let started = match principal {
            Some(p) => self.signed_in(&mut member, &p).await,
            None => Ok(()),
        };
        let started = match (started, first_watch) {
            (Ok(()), Some(event_id)) => Box::pin(self.subscribe(&mut member, event_id)).await,
            (started, _) => started,
        };
        if let Err(reason) = started {
            return reason;
        }
        self.serve_member(&mut member).await
    }

    /// The socket is signed in as `principal` (on the upgrade or by an
    /// `auth` frame, possibly after watching anonymously): the token's expiry
    /// runs, personal messages are held for a `resume`, and `welcome` goes out.
    async fn signed_in(&mut self, member: &mut Member, principal: &Principal) -> Flow {
        let ws = &self.state.settings.websocket;
        let hold = (ws.resume_window_ms > 0).then(|| Instant::now() + ws.resume_window());
        member.identity = Some(identity_of(principal));
        member.order = PersonalOrder::new(hold, ws.outgoing_queue);
        member.expiry.as_mut().reset(self.expiry(principal));
        let welcome = server::welcome(principal.user_id, ws.heartbeat_ms, principal.expires_at);
        let kick = member.registration.kick.clone();
        self.send(Some(&kick), welcome).await
    }

    /// A socket that authenticated by frame leaves the unauthenticated
    /// budget for a member's place, if one is free.
    async fn take_members_place(&mut self) -> Flow {
        if matches!(self.place, Place::Member(_)) {
            return Ok(());
        }
        match self.state.slots.try_acquire() {
            Some(slot) => {
                self.place = Place::Member(slot);
                Ok(())
            }
            None => {
                let _ = self
                    .send_error(None, "server_full", &ApiError::ServerFull.to_string())
                    .await;
                Err(CloseReason::ServerFull)
            }
        }
    }

    /// Waits for an `auth` frame (or a `subscribe`, which makes the socket an
    /// anonymous watcher) until the deadline.
    async fn authenticate(&mut self) -> Result<Opening, CloseReason> {
        let deadline = Instant::now() + self.state.settings.websocket.auth_timeout();
        loop {
            let message = tokio::select! {
                biased;
                () = shutdown::reached(&mut self.shutdown, Phase::CloseSockets) => {
                    return Err(CloseReason::Shutdown);
                }
                () = sleep_until(deadline) => {
                    let _ = self
                        .send_error(None, "auth_timeout", "no auth frame in time")
                        .await;
                    return Err(CloseReason::AuthTimeout);
                }
                message = self.stream.recv() => message,
            };
            let text = match message {
                None => return Err(CloseReason::Client),
                Some(Err(e)) => return Err(protocol_close(&e)),
                Some(Ok(AggregatedMessage::Close(reason))) => {
                    self.client_close = reason;
                    return Err(CloseReason::Client);
                }
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    if self.budget.take() {
                        self.write(None, Message::Pong(bytes)).await?;
                    }
                    continue;
                }
                Some(Ok(AggregatedMessage::Pong(_))) => continue,
                Some(Ok(AggregatedMessage::Binary(_))) => String::new(),
                Some(Ok(AggregatedMessage::Text(text))) => text.to_string(),
            };
            let (code, message, reason) = match ClientFrame::parse(&text) {
                Ok(ClientFrame::Subscribe { event_id }) => return Ok(Opening::Watcher(event_id)),
                Ok(ClientFrame::Auth { token }) => match self.state.verify(&token) {
                    Ok(principal) => return Ok(Opening::SignedIn(principal)),
                    Err(TokenError::Expired) => (
                        "token_expired",
                        "the token has expired".to_owned(),
                        CloseReason::TokenExpired,
                    ),
                    Err(TokenError::Invalid) => (
                        "invalid_token",
                        "the token is not valid".to_owned(),
                        CloseReason::AuthFailed,
                    ),
                },
                Ok(_) => (
                    "auth_required",
                    "the first frame must be {\"type\":\"auth\",\"token\":…} or a subscribe"
                        .to_owned(),
                    CloseReason::AuthFailed,
                ),
                Err(e) => (e.code(), e.to_string(), CloseReason::AuthFailed),
            };
            let _ = self.send_error(None, code, &message).await;
            return Err(reason);
        }
    }

    async fn serve_member(&mut self, member: &mut Member) -> CloseReason {
        let heartbeat = self.state.settings.websocket.heartbeat();
        let far = far_future();
        // Made once and reset, not made anew per frame: a sold-out fan-out
        // runs this loop on every socket at once.
        let ping = sleep_until(Instant::now() + heartbeat);
        tokio::pin!(ping);
        loop {
            let hold = member.order.hold_deadline();
            let step = tokio::select! {
                biased;
                reason = member.registration.kick.kicked() => Err(kicked(reason)),
                () = shutdown::reached(&mut self.shutdown, Phase::CloseSockets) => {
                    Err(CloseReason::Shutdown)
                }
                () = member.expiry.as_mut() => Err(CloseReason::TokenExpired),
                message = self.stream.recv() => {
                    self.last_heard = Instant::now();
                    self.on_client(member, message).await
                }
                frame = member.rx.recv() => match frame {
                    Ok(frame) => self.on_frame(member, &frame).await,
                    // The hub let go of this connection (the kick follows).
                    Err(_) => Err(CloseReason::SlowConsumer),
                },
                () = &mut ping => {
                    let next_ping = ping.deadline() + heartbeat;
                    ping.as_mut().reset(next_ping);
                    if self.last_heard.elapsed() > heartbeat * 2 {
                        Err(CloseReason::HeartbeatTimeout)
                    } else {
                        self.write(Some(&member.registration.kick), Message::Ping(Bytes::new())).await
                    }
                }
                () = sleep_until(hold.unwrap_or(far)), if hold.is_some() => {
                    self.release_hold(member).await
                }
            };
            if let Err(reason) = step {
                if reason == CloseReason::TokenExpired {
                    let _ = self
                        .send_error(
                            Some(&member.registration.kick),
                            "token_expired",
                            "the token has expired; reconnect with a fresh one",
                        )
                        .await;
                }
                return reason;
            }
        }
    }

    async fn on_client(
        &mut self,
        member: &mut Member,
        message: Option<Result<AggregatedMessage, ProtocolError>>,
    ) -> Flow {
        let kick = Some(&*member.registration.kick);
        match message {
            None => Err(CloseReason::Client),
            Some(Err(e)) => Err(protocol_close(&e)),
            Some(Ok(AggregatedMessage::Close(reason))) => {
                self.client_close = reason;
                Err(CloseReason::Client)
            }
            // Pings draw on the frame budget too; beyond it they go
            // unanswered (RFC 6455 §5.5.3 lets an endpoint answer only the
            // latest of several pings).
            Some(Ok(AggregatedMessage::Ping(bytes))) if self.budget.take() => {
                self.write(kick, Message::Pong(bytes)).await
            }
            Some(Ok(AggregatedMessage::Ping(_) | AggregatedMessage::Pong(_))) => Ok(()),
            Some(Ok(AggregatedMessage::Binary(_) | AggregatedMessage::Text(_)))
                if !self.budget.take() =>
            {
                self.send_error(kick, "rate_limited", "too many frames; slow down")
                    .await
            }
            Some(Ok(AggregatedMessage::Binary(_))) => {
                self.send_error(kick, "unsupported_frame", "frames must be JSON text")
                    .await
            }
            Some(Ok(AggregatedMessage::Text(text))) => Box::pin(self.on_text(member, &text)).await,
        }
    }

    async fn release_hold(&mut self, member: &mut Member) -> Flow {
        if member.order.hold_deadline().is_none() {
            return Ok(());
        }
        let kick = member.registration.kick.clone();
        for frame in member.order.release() {
            self.send_shared(Some(&kick), &frame.text).await?;
        }
        Ok(())
    }

    async fn on_frame(&mut self, member: &mut Member, frame: &SharedFrame) -> Flow {
        let kick = member.registration.kick.clone();
        if frame.seq.is_none() {
            // An event frame: newer than any snapshot this socket was sent.
            member.sent.clear();
            return self.send_shared(Some(&kick), &frame.text).await;
        }
        match member.order.on_live(frame) {
            Live::Send => self.send_shared(Some(&kick), &frame.text).await,
            Live::Skip | Live::Held => Ok(()),
            Live::Overflow => Err(CloseReason::SlowConsumer),
        }
    }

    fn expiry(&self, principal: &Principal) -> Instant {
        let leeway = self.state.settings.auth.leeway_secs;
        let left = (principal.expires_at + leeway).saturating_sub(now_unix());
        Instant::now() + Duration::from_secs(left)
    }

    async fn send(&mut self, kick: Option<&Kick>, text: String) -> Flow {
        self.write(kick, Message::Text(text.into())).await
    }

    async fn send_error(&mut self, kick: Option<&Kick>, code: &str, message: &str) -> Flow {
        self.send(kick, server::error(code, message)).await
    }

    /// A frame shared with other connections: no copy of its bytes.
    async fn send_shared(&mut self, kick: Option<&Kick>, text: &Bytes) -> Flow {
        match text.clone().try_into() {
            Ok(text) => self.write(kick, Message::Text(text)).await,
            Err(_) => Ok(()),
        }
    }

    /// Writes one frame unless the client turns out slow or the server
    /// shuts down first.
    async fn write(&mut self, kick: Option<&Kick>, message: Message) -> Flow {
        let kicked_out = async {
            match kick {
                Some(kick) => kick.kicked().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            reason = kicked_out => Err(kicked(reason)),
            () = shutdown::reached(&mut self.shutdown, Phase::CloseSockets) => Err(CloseReason::Shutdown),
            sent = self.session.send(message) => sent.map_err(|_| CloseReason::Client),
        }
    }

    async fn finish(self: Box<Self>, reason: CloseReason) {
        self.state
            .metrics
            .closes
            .with_label_values(&[reason.label()])
            .inc();
        if reason == CloseReason::SlowConsumer {
            tracing::info!("closing a slow consumer");
        }
        let close = match reason.code() {
            Some(code) => Some(actix_ws::CloseReason {
                code: code.into(),
                description: Some(reason.label().to_owned()),
            }),
            None => self.client_close,
        };
        let grace = if reason == CloseReason::SlowConsumer {
            SLOW_CLOSE_GRACE
        } else {
            CLOSE_GRACE
        };
        let _ = tokio::time::timeout(grace, self.session.close(close)).await;
    }
}

/// How a socket starts: signed in, or watching an event anonymously.
enum Opening {
    SignedIn(Principal),
    Watcher(i64),
}

/// Whom a verified token signs a socket in as.
fn identity_of(principal: &Principal) -> Identity {
    Identity {
        user_id: principal.user_id,
        session: principal.session,
        issued_at: principal.issued_at,
    }
}

/// A deadline that never comes (an anonymous socket has no token to expire).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

fn kicked(reason: KickReason) -> CloseReason {
    match reason {
        KickReason::Slow => CloseReason::SlowConsumer,
        KickReason::Gap => CloseReason::FanoutGap,
        KickReason::Revoked => CloseReason::SessionRevoked,
    }
}

/// The close for a frame that broke the rules.
fn protocol_close(error: &ProtocolError) -> CloseReason {
    match error {
        ProtocolError::Overflow => CloseReason::FrameTooBig,
        ProtocolError::Io(e) if e.to_string().contains("maximum continuation size") => {
            CloseReason::FrameTooBig
        }
        ProtocolError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            CloseReason::InvalidPayload
        }
        _ => CloseReason::ProtocolError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future a fn item returns, without calling it.
    fn future_size<A, B, F: std::future::Future>(_: impl FnOnce(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn an_idle_sockets_task_stays_small() {
        // Every open socket holds one of these for its whole life, and most
        // sockets are idle: its size is per-connection memory (docs/contract.md §8
        // allows 16 KiB in all). 1.1 KiB with the rare steps boxed;
        // unboxed they would make it 2.5 KiB.
        let size = future_size(Connection::run);
        assert!(size <= 1536, "the connection task grew to {size} bytes");
    }
}
