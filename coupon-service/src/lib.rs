//! coupon-service: accounts, events, first-come issuance, "my coupons".
//!
//! Where things happen: issuance in [`issuance`] (start at
//! `issuance/routes.rs`), the waiting room in [`admission`], the outbox
//! relay in [`outbox`], wiring in [`startup`].

pub mod admin;
pub mod admission;
pub mod auth;
pub mod cli;
pub mod configuration;
pub mod coupons;
pub mod error;
pub mod events;
pub mod health;
pub mod issuance;
pub mod lifecycle;
pub mod metrics;
pub mod openapi;
pub mod outbox;
pub mod paging;
pub mod rate_limit;
pub mod redis_store;
pub mod startup;
pub mod state;
pub mod telemetry;
