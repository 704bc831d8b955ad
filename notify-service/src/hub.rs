//! This instance's connections, by user and by watched event, and the
//! delivery of one fanned-out frame to the local ones.
//!
//! A frame is serialised once and shared (`Arc`); delivering it is a
//! non-blocking `try_send` into each connection's bounded queue. A full
//! queue marks that connection slow: it leaves the hub at once and its task
//! closes it (4008), so one client that does not read never holds up the
//! others. When this instance may have missed fan-out messages (its Redis
//! subscription was interrupted), every connection is let go the same way,
//! to reconnect and `resume`.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, OnceLock, PoisonError, RwLock,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
};

use actix_web::web::Bytes;
use contract::revocations::Revocations;
use futures::channel::mpsc;
use tokio::sync::Notify;

use crate::protocol::seq::Seq;

/// One frame as every local recipient gets it.
#[derive(Debug)]
pub struct Frame {
    /// The text frame, UTF-8 JSON.
    pub text: Bytes,
    /// Personal messages: the history entry id.
    pub seq: Option<Seq>,
}

pub type SharedFrame = Arc<Frame>;

pub type ConnId = u64;

/// Why the hub let go of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KickReason {
    /// Its queue was full: the client does not read fast enough.
    Slow = 1,
    /// This instance may have missed messages for it (fan-out gap).
    Gap = 2,
    /// Its session was ended (logout, a reused refresh token, an admin).
    Revoked = 3,
}

/// The hub's signal to one connection that it was dropped.
#[derive(Debug, Default)]
pub struct Kick {
    notify: Notify,
    reason: AtomicU8,
}

impl Kick {
    fn kick(&self, reason: KickReason) {
        self.reason.store(reason as u8, Ordering::Release);
        self.notify.notify_one();
    }

    /// Resolves once the connection was dropped, with the reason.
    pub async fn kicked(&self) -> KickReason {
        self.notify.notified().await;
        match self.reason.load(Ordering::Acquire) {
            2 => KickReason::Gap,
            3 => KickReason::Revoked,
            _ => KickReason::Slow,
        }
    }
}

/// Who holds a signed-in connection: the user and the session (refresh
/// family) of the token it authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub user_id: i64,
    /// `None` for tokens minted without one (`dev-token`, tests).
    pub session: Option<uuid::Uuid>,
    /// The token's `iat` (unix seconds): an account's revocation refuses
    /// tokens issued up to it.
    pub issued_at: u64,
}

struct Conn {
    /// `None` for an anonymous watcher: event frames only.
    identity: Option<Identity>,
    tx: Mutex<mpsc::Sender<SharedFrame>>,
    kick: Arc<Kick>,
    events: Vec<i64>,
}

#[derive(Default)]
struct Inner {
    conns: HashMap<ConnId, Conn>,
    users: HashMap<i64, Vec<ConnId>>,
    events: HashMap<i64, HashSet<ConnId>>,
}

impl Inner {
    fn remove(&mut self, id: ConnId) -> Option<Conn> {
        let conn = self.conns.remove(&id)?;
        if let Some(identity) = conn.identity {
            self.forget_user(identity.user_id, id);
        }
        for event in &conn.events {
            self.unwatch(*event, id);
        }
        Some(conn)
    }

    fn forget_user(&mut self, user_id: i64, id: ConnId) {
        if let Some(ids) = self.users.get_mut(&user_id) {
            ids.retain(|c| *c != id);
            if ids.is_empty() {
                self.users.remove(&user_id);
            }
        }
    }

    fn unwatch(&mut self, event_id: i64, id: ConnId) {
        if let Some(ids) = self.events.get_mut(&event_id) {
            ids.remove(&id);
            if ids.is_empty() {
                self.events.remove(&event_id);
            }
        }
    }
}

/// Why a connection could not join the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    #[error("the user already holds the most connections allowed")]
    TooManyConnections,
    #[error("the connection watches the most events allowed")]
    TooManySubscriptions,
}

/// Whom a frame goes to: every socket of a user, or every socket watching
/// an event. (A revocation is no frame: see [`Hub::revoke`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    User(i64),
    Event(i64),
}

/// Told that an event's state may have changed under this instance: a
/// live frame of it (`Some`) is being delivered, or frames may have been
/// missed (`None`: any event).
pub type EventChanged = Box<dyn Fn(Option<i64>) + Send + Sync>;

pub struct Hub {
    inner: RwLock<Inner>,
    /// Revocations applied here, so the sessions' tokens stay refused.
    pub revocations: Revocations,
    next_id: AtomicU64,
    queue: usize,
    per_user: usize,
    max_subscriptions: usize,
    event_changed: OnceLock<EventChanged>,
}

/// Result of delivering one frame on this instance.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub queued: usize,
    pub slow: usize,
}

impl Hub {
    pub fn new(queue: usize, per_user: usize, max_subscriptions: usize) -> Self {
        Self {
            inner: RwLock::default(),
            revocations: Revocations::default(),
            next_id: AtomicU64::new(1),
            queue,
            per_user,
            max_subscriptions,
            event_changed: OnceLock::new(),
        }
    }

    /// Who is told of event changes (the snapshot cache); set once, at start.
    pub fn on_event_changed(&self, listener: EventChanged) {
        let _ = self.event_changed.set(listener);
    }

    fn event_changed(&self, event_id: Option<i64>) {
        if let Some(listener) = self.event_changed.get() {
            listener(event_id);
        }
    }

    /// Adds a connection, signed in or an anonymous watcher (`None`); its
    /// frames arrive on the receiver.
    pub fn register(
        self: &Arc<Self>,
        identity: Option<Identity>,
    ) -> Result<(Registration, mpsc::Receiver<SharedFrame>), HubError> {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(identity) = identity {
            self.check_room(&inner, identity.user_id)?;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // futures' channel, not tokio's: tokio allocates a 32-slot block and
        // cache-padded halves up front (~0.8 KiB), futures a few small nodes,
        // and most connections sit idle. Its capacity is `buffer` plus one
        // slot per sender (the hub is the only one), hence `queue - 1`.
        let (tx, rx) = mpsc::channel(self.queue - 1);
        let kick = Arc::new(Kick::default());
        inner.conns.insert(
            id,
            Conn {
                identity,
                tx: Mutex::new(tx),
                kick: kick.clone(),
                events: Vec::new(),
            },
        );
        if let Some(identity) = identity {
            inner.users.entry(identity.user_id).or_default().push(id);
            self.end_if_revoked(&mut inner, id, identity);
        }
        Ok((
            Registration {
                hub: self.clone(),
                id,
                kick,
            },
            rx,
        ))
    }

    /// The token was checked before the socket got here; a revocation that
    /// came in between found no socket to end. [`Hub::revoke`] records
    /// before it takes the lock this runs under, so one of the two sees the
    /// other: the socket is ended here (4003) if the revocation came first.
    fn end_if_revoked(&self, inner: &mut Inner, id: ConnId, identity: Identity) {
        let refused = self.revocations.refuses_session(
            identity.user_id,
            identity.session,
            identity.issued_at,
        );
        if refused && let Some(conn) = inner.remove(id) {
            conn.kick.kick(KickReason::Revoked);
        }
    }

    fn check_room(&self, inner: &Inner, user_id: i64) -> Result<(), HubError> {
        let held = inner.users.get(&user_id).map_or(0, Vec::len);
        if held >= self.per_user {
            return Err(HubError::TooManyConnections);
        }
        Ok(())
    }

    /// An anonymous watcher signed in on its socket: from now on it gets the
    /// user's personal frames too. Signing in again as the same identity
    /// changes nothing; the connection task refuses another user.
    pub fn sign_in(&self, id: ConnId, identity: Identity) -> Result<(), HubError> {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let Some(current) = inner.conns.get(&id).map(|c| c.identity) else {
            return Ok(());
        };
        if let Some(current) = current {
            inner.forget_user(current.user_id, id);
        }
        if let Err(e) = self.check_room(&inner, identity.user_id) {
            if let Some(current) = current {
                inner.users.entry(current.user_id).or_default().push(id);
            }
            return Err(e);
        }
        if let Some(conn) = inner.conns.get_mut(&id) {
            conn.identity = Some(identity);
        }
        inner.users.entry(identity.user_id).or_default().push(id);
        self.end_if_revoked(&mut inner, id, identity);
        Ok(())
    }

    /// Ends the sockets of a revoked session here (every session of the
    /// user when `session` is `None`) and remembers the revocation, made at
    /// `at` (unix seconds), so the session's tokens stay refused; returns how
    /// many sockets it ended.
    pub fn revoke(&self, user_id: i64, session: Option<uuid::Uuid>, at: u64) -> usize {
        self.revocations.record(user_id, session, at);
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let matching: Vec<ConnId> = inner
            .users
            .get(&user_id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| {
                inner.conns.get(id).is_some_and(|c| {
                    session.is_none() || c.identity.and_then(|i| i.session) == session
                })
            })
            .collect();
        for id in &matching {
            if let Some(conn) = inner.remove(*id) {
                conn.kick.kick(KickReason::Revoked);
            }
        }
        matching.len()
    }

    /// Connections this user holds here.
    pub fn user_connections(&self, user_id: i64) -> usize {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.users.get(&user_id).map_or(0, Vec::len)
    }

    /// Authenticated connections on this instance.
    pub fn connections(&self) -> usize {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.conns.len()
    }

    /// Starts delivering the event's frames; false if it already did.
    pub fn subscribe(&self, id: ConnId, event_id: i64) -> Result<bool, HubError> {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let Some(conn) = inner.conns.get_mut(&id) else {
            return Ok(false);
        };
        if conn.events.contains(&event_id) {
            return Ok(false);
        }
        if conn.events.len() >= self.max_subscriptions {
            return Err(HubError::TooManySubscriptions);
        }
        conn.events.push(event_id);
        inner.events.entry(event_id).or_default().insert(id);
        Ok(true)
    }

    pub fn unsubscribe(&self, id: ConnId, event_id: i64) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(conn) = inner.conns.get_mut(&id) {
            conn.events.retain(|e| *e != event_id);
            inner.unwatch(event_id, id);
        }
    }

    /// Queues the frame for every local recipient; never waits.
    pub fn deliver(&self, target: Target, frame: &SharedFrame) -> Delivered {
        if let Target::Event(event_id) = target {
            // Before the sockets get it: whoever subscribes after this
            // delivery and misses the frame reads the event anew.
            self.event_changed(Some(event_id));
        }
        let mut delivered = Delivered::default();
        let mut dropped = Vec::new();
        {
            let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            let mut push = |id: &ConnId| {
                let Some(conn) = inner.conns.get(id) else {
                    return;
                };
                // `try_send` takes `&mut`: each sender sits in its own mutex,
                // so the hub's lock stays shared across the fan-out. (A clone
                // would not do: each clone brings its own guaranteed slot.)
                let sent = conn
                    .tx
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .try_send(frame.clone());
                match sent {
                    Ok(()) => delivered.queued += 1,
                    Err(e) if e.is_full() => {
                        delivered.slow += 1;
                        dropped.push((*id, true));
                    }
                    Err(_) => dropped.push((*id, false)),
                }
            };
            match target {
                Target::User(user_id) => inner
                    .users
                    .get(&user_id)
                    .into_iter()
                    .flatten()
                    .for_each(&mut push),
                Target::Event(event_id) => inner
                    .events
                    .get(&event_id)
                    .into_iter()
                    .flatten()
                    .for_each(&mut push),
            }
        }
        if !dropped.is_empty() {
            let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
            for (id, slow) in dropped {
                if let Some(conn) = inner.remove(id)
                    && slow
                {
                    conn.kick.kick(KickReason::Slow);
                }
            }
        }
        delivered
    }

    /// Lets go of every connection (they close and their clients resume);
    /// returns how many.
    pub fn kick_all(&self, reason: KickReason) -> usize {
        self.event_changed(None);
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let conns = std::mem::take(&mut inner.conns);
        inner.users.clear();
        inner.events.clear();
        for conn in conns.values() {
            conn.kick.kick(reason);
        }
        conns.len()
    }

    fn remove(&self, id: ConnId) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.remove(id);
    }
}

/// A connection's place in the hub; leaving it (drop) removes it.
pub struct Registration {
    hub: Arc<Hub>,
    pub id: ConnId,
    /// Signalled when the hub let go of this connection.
    pub kick: Arc<Kick>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn user(user_id: i64) -> Option<Identity> {
        Some(Identity {
            user_id,
            session: None,
            issued_at: 1_000,
        })
    }

    fn session(user_id: i64, n: u128) -> Option<Identity> {
        Some(Identity {
            user_id,
            session: Some(uuid::Uuid::from_u128(n)),
            issued_at: 1_000,
        })
    }

    fn frame(text: &'static str) -> SharedFrame {
        Arc::new(Frame {
            text: Bytes::from_static(text.as_bytes()),
            seq: None,
        })
    }

    #[tokio::test]
    async fn a_users_every_connection_gets_personal_frames() {
        let hub = Arc::new(Hub::new(4, 3, 8));
        let (_a, mut rx_a) = hub.register(user(7)).unwrap();
        let (_b, mut rx_b) = hub.register(user(7)).unwrap();
        let (_other, mut rx_other) = hub.register(user(8)).unwrap();
        let d = hub.deliver(Target::User(7), &frame("x"));
        assert_eq!(d, Delivered { queued: 2, slow: 0 });
        assert_eq!(&rx_a.recv().await.unwrap().text[..], b"x");
        assert_eq!(&rx_b.recv().await.unwrap().text[..], b"x");
        assert!(rx_other.try_recv().is_err());
    }

    #[test]
    fn the_per_user_limit_is_enforced_and_freed_on_drop() {
        let hub = Arc::new(Hub::new(4, 2, 8));
        let a = hub.register(user(7)).unwrap();
        let _b = hub.register(user(7)).unwrap();
        assert_eq!(
            hub.register(user(7)).err(),
            Some(HubError::TooManyConnections)
        );
        drop(a);
        let _c = hub.register(user(7)).unwrap();
        assert_eq!(hub.user_connections(7), 2);
    }

    #[tokio::test]
    async fn a_full_queue_drops_only_that_connection_and_notifies_it() {
        let hub = Arc::new(Hub::new(2, 5, 8));
        let (slow, _rx_slow) = hub.register(user(1)).unwrap();
        let (fast, mut rx_fast) = hub.register(user(2)).unwrap();
        hub.subscribe(slow.id, 9).unwrap();
        hub.subscribe(fast.id, 9).unwrap();
        for _ in 0..2 {
            hub.deliver(Target::Event(9), &frame("s"));
            rx_fast.recv().await.unwrap();
        }
        let d = hub.deliver(Target::Event(9), &frame("s"));
        assert_eq!(d, Delivered { queued: 1, slow: 1 });
        assert_eq!(slow.kick.kicked().await, KickReason::Slow);
        assert_eq!(hub.connections(), 1);
        let d = hub.deliver(Target::Event(9), &frame("s"));
        assert_eq!(d, Delivered { queued: 1, slow: 0 });
    }

    #[test]
    fn event_frames_and_a_gap_tell_the_listener_before_any_socket_gets_them() {
        let hub = Arc::new(Hub::new(4, 5, 8));
        let heard = Arc::new(Mutex::new(Vec::new()));
        let record = heard.clone();
        hub.on_event_changed(Box::new(move |event| {
            record.lock().unwrap().push(event);
        }));
        // Watched here or not: a reading of the event is old either way.
        hub.deliver(Target::Event(3), &frame("e"));
        hub.deliver(Target::User(7), &frame("p"));
        hub.kick_all(KickReason::Gap);
        assert_eq!(*heard.lock().unwrap(), [Some(3), None]);
    }

    #[tokio::test]
    async fn kick_all_lets_every_connection_go_with_the_reason() {
        let hub = Arc::new(Hub::new(2, 5, 8));
        let (a, _rx_a) = hub.register(user(1)).unwrap();
        let (b, _rx_b) = hub.register(user(2)).unwrap();
        hub.subscribe(b.id, 3).unwrap();
        assert_eq!(hub.kick_all(KickReason::Gap), 2);
        assert_eq!(a.kick.kicked().await, KickReason::Gap);
        assert_eq!(b.kick.kicked().await, KickReason::Gap);
        assert_eq!(hub.connections(), 0);
        assert_eq!(hub.deliver(Target::Event(3), &frame("x")).queued, 0);
    }

    #[test]
    fn unsubscribe_and_subscription_limit() {
        let hub = Arc::new(Hub::new(4, 5, 2));
        let (r, _rx) = hub.register(user(1)).unwrap();
        assert_eq!(hub.subscribe(r.id, 1), Ok(true));
        assert_eq!(hub.subscribe(r.id, 1), Ok(false));
        assert_eq!(hub.subscribe(r.id, 2), Ok(true));
        assert_eq!(hub.subscribe(r.id, 3), Err(HubError::TooManySubscriptions));
        hub.unsubscribe(r.id, 1);
        assert_eq!(hub.subscribe(r.id, 3), Ok(true));
        assert_eq!(hub.deliver(Target::Event(1), &frame("x")).queued, 0);
    }

    #[tokio::test]
    async fn an_anonymous_watcher_gets_event_frames_only_until_it_signs_in() {
        let hub = Arc::new(Hub::new(4, 1, 8));
        let (watcher, mut rx) = hub.register(None).unwrap();
        hub.subscribe(watcher.id, 3).unwrap();
        assert_eq!(hub.deliver(Target::Event(3), &frame("e")).queued, 1);
        assert_eq!(hub.deliver(Target::User(7), &frame("p")).queued, 0);
        assert_eq!(&rx.recv().await.unwrap().text[..], b"e");
        assert_eq!(hub.user_connections(7), 0);

        // Signing in counts against the user's limit like any socket.
        let (_other, _rx_other) = hub.register(user(7)).unwrap();
        assert_eq!(
            hub.sign_in(watcher.id, user(7).unwrap()),
            Err(HubError::TooManyConnections)
        );
        hub.sign_in(watcher.id, user(8).unwrap()).unwrap();
        assert_eq!(hub.deliver(Target::User(8), &frame("p")).queued, 1);
        assert_eq!(&rx.recv().await.unwrap().text[..], b"p");
        drop(watcher);
        assert_eq!(hub.user_connections(8), 0);
    }

    #[tokio::test]
    async fn a_revocation_ends_only_that_sessions_sockets() {
        let hub = Arc::new(Hub::new(4, 5, 8));
        let (phone, _rx1) = hub.register(session(7, 1)).unwrap();
        let (laptop, _rx2) = hub.register(session(7, 2)).unwrap();
        let (stranger, _rx3) = hub.register(session(8, 1)).unwrap();
        assert_eq!(hub.revoke(7, Some(uuid::Uuid::from_u128(1)), 1_000), 1);
        assert_eq!(phone.kick.kicked().await, KickReason::Revoked);
        assert_eq!(hub.user_connections(7), 1);
        assert_eq!(hub.user_connections(8), 1);
        // Every session of the user (an account disabled).
        assert_eq!(hub.revoke(7, None, 1_001), 1);
        assert_eq!(laptop.kick.kicked().await, KickReason::Revoked);
        assert_eq!((hub.user_connections(7), hub.connections()), (0, 1));
        drop(stranger);
    }

    /// The reason a connection was let go, failing (not hanging) if it was not.
    async fn kicked(registration: &Registration) -> KickReason {
        tokio::time::timeout(Duration::from_secs(1), registration.kick.kicked())
            .await
            .expect("the connection was let go")
    }

    #[tokio::test]
    async fn a_socket_that_joins_after_its_sessions_revocation_is_ended() {
        // The token was checked, then the revocation came, then the socket
        // joined (or signed in): the revocation found nothing to end.
        let hub = Arc::new(Hub::new(4, 5, 8));
        hub.revoke(7, Some(uuid::Uuid::from_u128(1)), 1_000);
        let (late, _rx) = hub.register(session(7, 1)).unwrap();
        assert_eq!(kicked(&late).await, KickReason::Revoked);
        assert_eq!(hub.user_connections(7), 0);

        let (watcher, _rx) = hub.register(None).unwrap();
        hub.sign_in(watcher.id, session(7, 1).unwrap()).unwrap();
        assert_eq!(kicked(&watcher).await, KickReason::Revoked);
        assert_eq!(hub.user_connections(7), 0);

        // An account's revocation ends tokens issued up to it, not later ones.
        hub.revoke(8, None, 1_000);
        let (old_token, _rx) = hub.register(session(8, 2)).unwrap();
        assert_eq!(kicked(&old_token).await, KickReason::Revoked);
        let fresh = Identity {
            issued_at: 1_001,
            ..session(8, 3).unwrap()
        };
        let (_new_token, _rx) = hub.register(Some(fresh)).unwrap();
        assert_eq!(hub.user_connections(8), 1);
        // Another session of a user with a revoked session is untouched.
        let (_other, _rx) = hub.register(session(7, 2)).unwrap();
        assert_eq!(hub.user_connections(7), 1);
    }
}
