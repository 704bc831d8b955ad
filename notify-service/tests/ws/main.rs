//! Integration tests of notify-service against the real Redis and RabbitMQ,
//! with real WebSocket clients. Each test gets its own Redis key prefix and
//! RabbitMQ names (see `helpers.rs`), so runs never see each other; faults
//! go through a per-test TCP proxy, never through the shared servers.

mod abuse;
mod auth;
mod bad_frames;
mod client;
mod cluster_pause;
mod delivery;
mod e2e;
mod fanout;
mod fanout_rerun;
mod helpers;
mod operations;
mod resume;
mod revocation;
mod snapshots;
mod watchers;
