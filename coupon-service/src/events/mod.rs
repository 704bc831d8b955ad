//! Coupon events: the row, its derived status, storage and the read API.

pub mod cache;
pub mod filter;
pub mod model;
pub mod routes;
pub mod store;
pub mod views;

pub use model::{Event, EventStatus, EventView, NewEvent};
