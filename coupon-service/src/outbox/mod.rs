//! Transactional outbox: rows written with the coupons, published to
//! RabbitMQ by the relay (at least once; consumers dedupe by message id).

pub mod handoff;
pub mod relay;
pub mod stock_ticker;
pub mod store;
