//! What is checked before a socket is opened: the Origin allow-list, the
//! per-node connection limit, no token in the query string; and which
//! budget an open socket counts against.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use actix_web::http::header::HeaderValue;
use prometheus::IntGauge;

use super::unauthenticated::Pending;

/// Browsers send `Origin`; native clients do not, and are always let in
/// (they could forge it anyway). Empty list: every origin is accepted,
/// which is safe here because sockets authenticate with a bearer token, not
/// a cookie, so a foreign page cannot ride on a user's session.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    pub fn new(origins: &[String]) -> Self {
        Self(
            origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        )
    }

    pub fn allows(&self, origin: Option<&HeaderValue>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        if self.0.is_empty() {
            return true;
        }
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        self.0.contains(&origin)
    }
}

/// Query parameters that would carry a token; refused outright (a token in
/// a URL ends up in proxy logs and browser history).
pub fn query_carries_token(query: &str) -> bool {
    query.split('&').any(|pair| {
        let key = pair.split('=').next().unwrap_or_default();
        ["token", "access_token", "jwt", "auth", "authorization"]
            .iter()
            .any(|k| key.eq_ignore_ascii_case(k))
    })
}

/// Authenticated sockets on this node, capped by `max_connections`
/// (sockets still without a token count in [`super::unauthenticated`]).
#[derive(Clone)]
pub struct Slots {
    open: Arc<AtomicUsize>,
    max: usize,
    gauge: IntGauge,
}

impl Slots {
    pub fn new(max: usize, gauge: IntGauge) -> Self {
        Self {
            open: Arc::default(),
            max,
            gauge,
        }
    }

    pub fn try_acquire(&self) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()?;
        self.gauge.inc();
        Some(Slot(self.clone()))
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

/// One open socket; dropping it frees the place.
pub struct Slot(Slots);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.gauge.dec();
    }
}

/// The budget a socket holds its place in: unauthenticated until its token
/// is verified, then among the members.
pub enum Place {
    Pending(Pending),
    Member(Slot),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly_and_missing_origins_pass() {
        let list = AllowedOrigins::new(&["https://shop.example/".into()]);
        let h = |s: &'static str| HeaderValue::from_static(s);
        assert!(list.allows(Some(&h("https://shop.example"))));
        assert!(list.allows(Some(&h("HTTPS://Shop.Example"))));
        assert!(!list.allows(Some(&h("https://evil.example"))));
        assert!(!list.allows(Some(&h("https://shop.example.evil.example"))));
        assert!(list.allows(None));
        assert!(AllowedOrigins::default().allows(Some(&h("https://any.example"))));
    }

    #[test]
    fn tokens_in_the_query_string_are_spotted() {
        assert!(query_carries_token("token=abc"));
        assert!(query_carries_token("a=1&Access_Token=x"));
        assert!(!query_carries_token(""));
        assert!(!query_carries_token("since=1-0&tokens=2"));
    }

    #[test]
    fn slots_are_capped_and_given_back() {
        let gauge = IntGauge::new("g", "g").unwrap();
        let slots = Slots::new(2, gauge.clone());
        let a = slots.try_acquire().unwrap();
        let _b = slots.try_acquire().unwrap();
        assert!(slots.try_acquire().is_none());
        drop(a);
        let _c = slots.try_acquire().unwrap();
        assert_eq!((gauge.get(), slots.open()), (2, 2));
    }
}
