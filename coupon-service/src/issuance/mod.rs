//! First-come issuance: where a coupon is won.
//!
//! - `routes.rs`: the `POST /api/coupons/issue` handler, start here;
//! - `reserve.lua` + `redis_state.rs`: the atomic decision in Redis
//!   (`reservation.rs`: what it decides);
//! - `batch_writer.rs`: group commit to PostgreSQL (coupons + outbox);
//! - `release.lua` / `confirm.lua`: settling a reservation afterwards;
//!   `abandoned.rs`: giving back what a call that got no answer reserved;
//! - `rebuild.rs` + `load_event.lua`: Redis state from PostgreSQL;
//! - `background.rs`: preloading events and sweeping stale reservations;
//! - `sold_out.rs`: a moment's memory of a sold-out event, for the losing crowd
//!   (`slot_holders.rs`: whose keyed press may be a winner's retry).

pub mod abandoned;
pub mod background;
pub mod batch_writer;
pub mod code;
pub mod idempotency;
pub mod rebuild;
pub mod redis_state;
pub mod reservation;
pub mod routes;
pub mod slot_holders;
pub mod sold_out;
