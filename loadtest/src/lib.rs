//! flashload: drives the real stack over HTTP and WebSocket, measures, and
//! checks the invariants of docs/contract.md §6 after every run.
//!
//! - `target.rs`: where the stack is and how to reach its stores;
//! - `setup.rs`: users, tokens, events (through the admin API);
//! - `http.rs` / `ws.rs`: the two kinds of client;
//! - `stats.rs`: HDR histograms and outcome counts;
//! - `scenarios/`: sellout, sustained, rejections, watchers, push, idle;
//! - `invariants.rs`: the checks, against PostgreSQL, Redis and what the
//!   sockets received;
//! - `report.rs`: the summary table and the JSON report.

pub mod http;
pub mod invariants;
pub mod report;
pub mod scenarios;
pub mod setup;
pub mod stats;
pub mod target;
pub mod ws;
