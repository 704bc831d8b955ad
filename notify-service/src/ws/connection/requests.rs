//! What a client asks for once authenticated: `subscribe` (snapshot
//! first), `unsubscribe`, `resume` (history, then held live messages),
//! a fresh `auth`, `ping`.

use contract::jwt::TokenError;

use super::{Connection, Flow, Member};
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
                self.send(kick, server::unsubscribed(event_id)).await
            }
            ClientFrame::Resume { since } => self.resume(member, since).await,
        }
    }

    /// A fresh token for the same user extends the session.
    async fn reauthenticate(&mut self, member: &mut Member, token: &str) -> Flow {
        let kick = member.registration.kick.clone();
        let kick = Some(&*kick);
        match self.state.verifier.verify(token) {
            Ok(p) if p.user_id == member.user_id => {
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
            // The current token still stands until it expires.
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

    /// Watches the event, then sends its current snapshot: frames queued
    /// meanwhile follow the snapshot, so the page is never left stale.
    async fn subscribe(&mut self, member: &mut Member, event_id: i64) -> Flow {
        let kick = member.registration.kick.clone();
        let kick = Some(&*kick);
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
        let (code, message) = match self.state.snapshots.get(event_id).await {
            Ok(Some(snapshot)) => return self.send(kick, server::subscribed(&snapshot)).await,
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
            hub.unsubscribe(id, event_id);
        }
        self.send_error(kick, code, &message).await
    }

    /// Replays history after `since`, then lets held live messages go.
    async fn resume(&mut self, member: &mut Member, since: Seq) -> Flow {
        let kick = member.registration.kick.clone();
        let kick = Some(&*kick);
        match self.state.fanout.replay(member.user_id, since).await {
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
