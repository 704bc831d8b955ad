//! The small budget of sockets that have not authenticated, per node and
//! per client address, kept apart from `websocket.max_connections`.
//!
//! A browser opens its socket without a token and sends it in a first
//! frame; until then the socket holds a place here, not among signed-in
//! users. Sockets that never authenticate (a script opening thousands) fill
//! this budget and are refused beyond it, while signed-in users still get
//! in up to `max_connections`. Authenticating moves a socket to the main
//! budget; a socket that stays unauthenticated (closed at the auth
//! deadline, or a public watcher) keeps its place here for its whole life.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use prometheus::IntGauge;
use service_kit::client_address::AddressKey;

/// Why an unauthenticated socket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The node holds `max_unauthenticated` such sockets.
    Node,
    /// This address holds `max_unauthenticated_per_address` of them.
    Address,
}

#[derive(Clone)]
pub struct Unauthenticated {
    inner: Arc<Inner>,
}

struct Inner {
    max: usize,
    per_address: usize,
    open: Mutex<Open>,
    /// Every open socket (shared with the main budget's gauge).
    connections: IntGauge,
    /// The sockets held here.
    gauge: IntGauge,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<AddressKey, usize>,
}

impl Unauthenticated {
    pub fn new(max: usize, per_address: usize, connections: IntGauge, gauge: IntGauge) -> Self {
        Self {
            inner: Arc::new(Inner {
                max,
                per_address,
                open: Mutex::default(),
                connections,
                gauge,
            }),
        }
    }

    /// A place for one more socket from `address`, if both budgets allow.
    pub fn try_acquire(&self, address: AddressKey) -> Result<Pending, Refused> {
        {
            let mut open = self.lock();
            if open.total >= self.inner.max {
                return Err(Refused::Node);
            }
            let held = open.by_address.entry(address).or_default();
            if *held >= self.inner.per_address {
                return Err(Refused::Address);
            }
            *held += 1;
            open.total += 1;
        }
        self.inner.connections.inc();
        self.inner.gauge.inc();
        Ok(Pending {
            budget: self.clone(),
            address,
        })
    }

    /// Unauthenticated sockets open on this node.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.inner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One unauthenticated socket's place; dropping it frees the place.
pub struct Pending {
    budget: Unauthenticated,
    address: AddressKey,
}

impl Drop for Pending {
    fn drop(&mut self) {
        {
            let mut open = self.budget.lock();
            open.total = open.total.saturating_sub(1);
            if let Some(held) = open.by_address.get_mut(&self.address) {
                *held = held.saturating_sub(1);
                if *held == 0 {
                    // Only addresses with open sockets are remembered.
                    open.by_address.remove(&self.address);
                }
            }
        }
        self.budget.inner.connections.dec();
        self.budget.inner.gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn key(s: &str) -> AddressKey {
        AddressKey::from(s.parse::<IpAddr>().unwrap())
    }

    #[test]
    fn each_address_and_the_node_are_capped_and_places_come_back() {
        let all = IntGauge::new("all", "all").unwrap();
        let gauge = IntGauge::new("u", "u").unwrap();
        let budget = Unauthenticated::new(3, 2, all.clone(), gauge.clone());
        let a1 = budget.try_acquire(key("192.0.2.1")).unwrap();
        let _a2 = budget.try_acquire(key("192.0.2.1")).unwrap();
        assert_eq!(
            budget.try_acquire(key("192.0.2.1")).err(),
            Some(Refused::Address)
        );
        let _b1 = budget.try_acquire(key("192.0.2.2")).unwrap();
        assert_eq!(
            budget.try_acquire(key("192.0.2.3")).err(),
            Some(Refused::Node)
        );
        assert_eq!((budget.open(), all.get(), gauge.get()), (3, 3, 3));
        drop(a1);
        let _a3 = budget.try_acquire(key("192.0.2.1")).unwrap();
        assert_eq!(budget.open(), 3);
    }

    #[test]
    fn addresses_without_open_sockets_are_forgotten() {
        let g = || IntGauge::new("g", "g").unwrap();
        let budget = Unauthenticated::new(10, 1, g(), g());
        for i in 0..100 {
            drop(budget.try_acquire(key(&format!("198.51.100.{i}"))).unwrap());
        }
        assert!(budget.lock().by_address.is_empty());
        assert_eq!(budget.open(), 0);
    }
}
