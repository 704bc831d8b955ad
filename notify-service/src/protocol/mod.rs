//! The WebSocket protocol of docs/contract.md §4, as documented in
//! `docs/websocket-protocol.md`: client frames, server frames, close codes
//! and the `seq` of personal messages.

pub mod client;
pub mod close;
pub mod seq;
pub mod server;
