//! The WebSocket protocol of DESIGN §6, as documented in
//! `docs/websocket-protocol.md`: client frames, server frames, close codes
//! and the `seq` of personal messages.

pub mod client;
pub mod close;
pub mod seq;
pub mod server;
