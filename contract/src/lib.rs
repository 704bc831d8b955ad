//! The wire contract shared by coupon-service and notify-service.
//!
//! Anything both sides of a wire must agree on lives here and nowhere else:
//! message bodies and routing keys (docs/contract.md §3), the RabbitMQ
//! topology, the access-token claims with their verification and the loading
//! of the keys (§2.2), the error envelope and its codes (§2.9), the Redis
//! key layout both services use (§5), which revoked sessions' tokens are
//! refused, and the fair-admission ranking and proof anyone can check
//! (§2.10).

pub mod admission;
pub mod errors;
pub mod jwt;
pub mod jwt_crypto;
pub mod keys;
pub mod messages;
pub mod redis_keys;
pub mod revocations;
pub mod topology;
