//! Issued coupons: the row, its JSON, and "my coupons".

pub mod model;
pub mod redeem;
pub mod routes;
pub mod store;

pub use model::Coupon;
