//! Sessions seen revoked, remembered while their access tokens may still
//! verify: a logged-out session's token (or a disabled user's) must not be
//! taken minutes after the session ended — by notify-service for a new
//! socket, by coupon-service for a request.
//!
//! Each instance keeps its own copy. notify-service applies every
//! revocation fanned out to it and reads the recent ones from Redis when its
//! fan-out subscription starts (it may have missed some); coupon-service
//! reads them from its database. The same revocation may so arrive twice,
//! and older ones after newer: the latest time of each is kept. Bounded:
//! entries go after [`REMEMBER_SECS`] (access tokens live at most 15
//! minutes), and past [`MAX_ENTRIES`] the oldest go first — sessions and
//! accounts each on their own, so that many logouts cannot push out a
//! disabled account.

use std::{
    collections::{HashMap, VecDeque},
    sync::{PoisonError, RwLock},
};

use crate::jwt::Principal;

/// Longer than any access token lives (≤ 15 min, plus clock leeway).
pub const REMEMBER_SECS: u64 = 3600;
/// At most this many revocations of sessions remembered, and as many of
/// accounts (~100 bytes each).
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Revoked {
    /// One session (refresh family).
    Session(uuid::Uuid),
    /// Every session of the user: tokens issued up to the revocation.
    User(i64),
}

#[derive(Default)]
struct Inner {
    /// The revocation and when it was made (unix seconds).
    at: HashMap<Revoked, u64>,
    /// Insertion order of sessions' revocations, for expiry and the bound.
    sessions: VecDeque<(u64, Revoked)>,
    /// The same for accounts' (disabled users). Bounded apart: a flood of
    /// logouts must not push out an admin's disable of a bot.
    users: VecDeque<(u64, Revoked)>,
}

#[derive(Default)]
pub struct Revocations {
    /// Read on every authenticated request, written once per revocation.
    inner: RwLock<Inner>,
}

impl Revocations {
    /// Remembers a revocation made at `now` (unix seconds).
    pub fn record(&self, user_id: i64, session: Option<uuid::Uuid>, now: u64) {
        let key = session.map_or(Revoked::User(user_id), Revoked::Session);
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if inner.at.get(&key).is_some_and(|at| *at >= now) {
            return;
        }
        let Inner {
            at,
            sessions,
            users,
        } = &mut *inner;
        let order = match key {
            Revoked::Session(_) => sessions,
            Revoked::User(_) => users,
        };
        while let Some(&(made, old)) = order.front() {
            if made + REMEMBER_SECS > now && order.len() < MAX_ENTRIES {
                break;
            }
            order.pop_front();
            if at.get(&old) == Some(&made) {
                at.remove(&old);
            }
        }
        at.insert(key, now);
        order.push_back((now, key));
    }

    /// Whether a verified token belongs to a revoked session.
    pub fn refuses(&self, principal: &Principal) -> bool {
        self.refuses_session(principal.user_id, principal.session, principal.issued_at)
    }

    /// Whether a token of `user_id`'s `session` issued at `issued_at` (unix
    /// seconds) belongs to a revoked session.
    pub fn refuses_session(
        &self,
        user_id: i64,
        session: Option<uuid::Uuid>,
        issued_at: u64,
    ) -> bool {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let session = session.is_some_and(|s| inner.at.contains_key(&Revoked::Session(s)));
        let user = inner
            .at
            .get(&Revoked::User(user_id))
            .is_some_and(|at| issued_at <= *at);
        session || user
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .at
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::Role;

    fn principal(user_id: i64, session: u128, issued_at: u64) -> Principal {
        Principal {
            user_id,
            role: Role::User,
            expires_at: issued_at + 900,
            session: Some(uuid::Uuid::from_u128(session)),
            issued_at,
        }
    }

    #[test]
    fn a_revoked_session_and_a_users_older_tokens_are_refused() {
        let r = Revocations::default();
        r.record(7, Some(uuid::Uuid::from_u128(1)), 1_000);
        assert!(r.refuses(&principal(7, 1, 990)));
        assert!(!r.refuses(&principal(7, 2, 990)), "another session");
        r.record(8, None, 1_000);
        assert!(
            r.refuses(&principal(8, 5, 1_000)),
            "issued before the disable"
        );
        assert!(!r.refuses(&principal(8, 6, 1_001)), "a sign-in after it");
    }

    #[test]
    fn a_repeated_or_older_copy_does_not_weaken_a_revocation() {
        let r = Revocations::default();
        r.record(8, None, 2_000);
        r.record(8, None, 2_000);
        r.record(8, None, 1_000);
        assert!(
            r.refuses(&principal(8, 5, 1_500)),
            "issued before the later disable"
        );
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn a_flood_of_logouts_does_not_push_out_a_disabled_account() {
        let r = Revocations::default();
        r.record(8, None, 1_000);
        for n in 0..(MAX_ENTRIES as u128 + 10) {
            r.record(9, Some(uuid::Uuid::from_u128(n + 100)), 1_001);
        }
        assert!(r.refuses(&principal(8, 5, 990)), "the disabled account");
        assert_eq!(r.len(), MAX_ENTRIES + 1);
    }

    #[test]
    fn entries_expire_and_are_bounded() {
        let r = Revocations::default();
        r.record(7, Some(uuid::Uuid::from_u128(1)), 1_000);
        r.record(7, Some(uuid::Uuid::from_u128(2)), 1_000 + REMEMBER_SECS);
        assert_eq!(r.len(), 1);
        assert!(!r.refuses(&principal(7, 1, 990)));
        for n in 0..(MAX_ENTRIES as u128 + 10) {
            r.record(9, Some(uuid::Uuid::from_u128(n + 100)), 5_000);
        }
        assert_eq!(r.len(), MAX_ENTRIES);
    }
}
