//! Admin event setup: create, list and inspect with live stats, change
//! under the rules of a running sale, close, browse issued coupons. Every
//! change is announced to the event's watchers (`event.updated`) and
//! recorded in the audit trail (`audit.rs`).

pub mod announce;
pub mod audit;
pub mod export;
pub mod filter;
pub mod routes;
pub mod store;
pub mod users;
pub mod validation;
