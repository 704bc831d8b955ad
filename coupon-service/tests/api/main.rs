//! Integration tests of coupon-service against the real PostgreSQL, Redis and
//! RabbitMQ. Each test gets its own database, Redis key prefix and RabbitMQ
//! names (see `helpers.rs`), so runs never see each other.

mod admin;
mod announcements;
mod audit;
mod auth;
mod bad_input;
mod cluster;
mod draw;
mod event_state;
mod events;
mod export;
mod faults;
mod helpers;
mod issue;
mod login_throttle;
mod model;
mod my_coupons;
mod openapi;
mod operations;
mod outbox;
mod password_gate;
mod rate_limits;
mod redeem;
mod retried_scripts;
mod revoked_tokens;
mod session_races;
mod waiting_room;
