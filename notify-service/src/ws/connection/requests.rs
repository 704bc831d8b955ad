//! What a client asks for once in the hub: `subscribe` (snapshot first),
//! `unsubscribe`, `resume` (history, then held live messages; signed-in
//! sockets only), `auth` (an anonymous watcher signing in, or a fresh token
//! for the same user), `ping`.

use contract::jwt::TokenError;

use super::{Connection, Flow, Member, identity_of};
use crate::{
    fanout::store::Replay,
    hub::HubError,
    protocol::{client::ClientFrame, close::CloseReason, seq::Seq, server},
};

impl Connection {
    pub(super) async fn on_text(&mut self, member: &mut Member, text: &str) -> Flow {
        let frame = ClientFrame::parse(text);
        if !matches!(frame, Ok(ClientFrame::Resume { .. })) {
            // The client is not resuming: live personal messages flow now.
            self.release_hold(member).await?;
        }
        let kick = member.registration.kick.clone();
        let kick = Some(&*kick);
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => return self.send_error(kick, e.code(), &e.to_string()).await,
        };
        match frame {
            ClientFrame::Ping => self.send(kick, server::pong()).await,
            ClientFrame::Auth { token } => self.reauthenticate(member, &token).await,
            ClientFrame::Subscribe { event_id } => self.subscribe(member, event_id).await,
            ClientFrame::Unsubscribe { event_id } => {
                self.state.hub.unsubscribe(member.registration.id, event_id);
                member.sent.retain(|r| r.event_id != event_id);
                self.send(kick, server::unsubscribed(event_id)).await
            }
            ClientFrame::Resume { since } => self.resume(member, since).await,
        }
    }

    /// An anonymous watcher signs in; a signed-in socket's fresh token for
    /// the same user extends it.
    async fn reauthenticate(&mut self, member: &mut Member, token: &str) -> Flow {
        let kick = member.registration.kick.clone();
        let kick = Some(&*kick);
        let current = member.identity;
        match self.state.verify(token) {
            Ok(p) if current.is_none() => {
                self.take_members_place().await?;
                if let Err(e) = self
                    .state
                    .hub
                    .sign_in(member.registration.id, identity_of(&p))
                {
                    self.send_error(kick, "too_many_connections", &e.to_string())
                        .await?;
                    return Err(CloseReason::TooManyConnections);
                }
                self.signed_in(member, &p).await
            }
            Ok(p) if current.is_some_and(|c| c.user_id == p.user_id) => {
                // A token of another session of the same user: revocations
                // of the new session end the socket from now on.
                if current.and_then(|c| c.session) != p.session {
                    let identity = identity_of(&p);
                    // Same user: its place is given back first, so this
                    // cannot fail on the per-user limit.
                    let _ = self.state.hub.sign_in(member.registration.id, identity);
                    member.identity = Some(identity);
                }
                member.expiry.as_mut().reset(self.expiry(&p));
                let ws = &self.state.settings.websocket;
                let welcome = server::welcome(p.user_id, ws.heartbeat_ms, p.expires_at);
                self.send(kick, welcome).await
            }
            Ok(_) => {
                self.send_error(kick, "user_mismatch", "a socket belongs to one user")
                    .await?;
                Err(CloseReason::AuthFailed)
            }
            // The current token (or the anonymous watch) still stands.
            Err(TokenError::Expired) => {
                self.send_error(kick, "token_expired", "the new token has expired")
                    .await
            }
            Err(TokenError::Invalid) => {
                self.send_error(kick, "invalid_token", "the new token is not valid")
                    .await
            }
        }
    }

    /// Watches the event, then sends its snapshot: frames queued meanwhile
    /// follow it, and the reading is never older than a frame of the event
    /// this instance delivered, so the page is never left stale. A repeat
    /// for an event the socket watches is answered from the socket's own
    /// copy while no live frame has come since (nothing newer is known).
    pub(super) async fn subscribe(&mut self, member: &mut Member, event_id: i64) -> Flow {
        let kick = member.registration.kick.clone();
        let kick = Some(&*kick);
        if !self.subscribes.take() {
            let rate = self.state.settings.websocket.subscribes_per_second;
            return self
                .send_error(
                    kick,
                    "rate_limited",
                    &format!("too many subscribes (at most {rate} a second); slow down"),
                )
                .await;
        }
        let hub = &self.state.hub;
        let id = member.registration.id;
        // Whether this subscribe added the event (a repeat only refreshes).
        let added = match hub.subscribe(id, event_id) {
            Ok(added) => added,
            Err(HubError::TooManySubscriptions | HubError::TooManyConnections) => {
                let max = self.state.settings.websocket.max_subscriptions;
                return self
                    .send_error(
                        kick,
                        "too_many_subscriptions",
                        &format!("a socket may watch at most {max} events"),
                    )
                    .await;
            }
        };
        if !added && let Some(own) = member.sent.iter().find(|r| r.event_id == event_id) {
            let snapshot = own.snapshot();
            return self.send(kick, server::subscribed(&snapshot)).await;
        }
        let (code, message) = match self.state.snapshots.get(event_id).await {
            Ok(Some(reading)) => {
                let snapshot = reading.snapshot();
                member.sent.retain(|r| r.event_id != event_id);
                member.sent.push(reading);
                return self.send(kick, server::subscribed(&snapshot)).await;
            }
            Ok(None) => (
                "event_not_found",
                format!("event {event_id} does not exist"),
            ),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), event_id, "subscribe snapshot unavailable");
                (
                    "unavailable",
                    "the event state is unavailable; retry subscribe".to_owned(),
                )
            }
        };
        if added {
            self.state.hub.unsubscribe(id, event_id);
        }
        self.send_error(kick, code, &message).await
    }

    /// Replays history after `since`, then lets held live messages go.
    async fn resume(&mut self, member: &mut Member, since: Seq) -> Flow {
        let kick = member.registration.kick.clone();
        let kick = Some(&*kick);
        let Some(identity) = member.identity else {
            return self
                .send_error(
                    kick,
                    "auth_required",
                    "resume needs a signed-in socket (auth first)",
                )
                .await;
        };
        match self.state.fanout.replay(identity.user_id, since).await {
            Ok(Replay::Recovered(entries)) => {
                let frames = member.order.plan_replay(&entries);
                let replayed = frames.len();
                for frame in frames {
                    self.send_shared(kick, &frame).await?;
                }
                self.send(kick, server::resumed(true, replayed)).await?;
            }
            Ok(Replay::Lost) => self.send(kick, server::resumed(false, 0)).await?,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "history unavailable for resume");
                self.send_error(kick, "unavailable", "history is unavailable; retry resume")
                    .await?;
            }
        }
        self.release_hold(member).await
    }
}
