//! notify-service: pushes coupon events over WebSocket to every device of a
//! winner and to every page watching an event (docs/contract.md §4).
//!
//! Where things happen: a message is consumed in [`consumer`], fanned out
//! through Redis in [`fanout`] (one Lua call, then pub/sub to every
//! instance), handed to local sockets by [`hub`], and written by the socket's
//! task in [`ws::connection`]. The protocol is in [`protocol`] and
//! `docs/websocket-protocol.md`; wiring in [`startup`].

pub mod configuration;
pub mod consumer;
pub mod error;
pub mod fanout;
pub mod health;
pub mod hub;
pub mod liveness;
pub mod metrics;
pub mod protocol;
pub mod shutdown;
pub mod snapshot;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod ws;
