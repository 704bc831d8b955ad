//! flashload: drives the real stack over HTTP and WebSocket, measures, and
//! checks the invariants of docs/contract.md §6 after every run.
//!
//! - `target.rs`: where the stack is and how to reach its stores;
//! - `clients.rs`: the HTTP clients (one per client of the run over HTTPS);
//! - `tls.rs`: HTTPS / WSS trusting exactly the gateway's certificate;
//! - `fdlimit.rs`: enough open files for a crowd of sockets;
//! - `setup.rs`: users, tokens, events (through the admin API);
//! - `http.rs` / `ws.rs`: the two kinds of client;
//! - `stats.rs`: HDR histograms and outcome counts;
//! - `scenarios/`: sellout, sustained, rejections, losers, reads, watchers,
//!   push, idle, crowd;
//! - `invariants.rs`: the checks, against PostgreSQL, Redis and what the
//!   sockets received;
//! - `redis_usage.rs`: Redis memory and keys, before and after a run;
//! - `report.rs`: the summary table and the JSON report.

pub mod clients;
pub mod fdlimit;
pub mod http;
pub mod invariants;
pub mod redis_usage;
pub mod report;
pub mod scenarios;
pub mod setup;
pub mod stats;
pub mod target;
pub mod tls;
pub mod ws;
