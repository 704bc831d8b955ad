//! The wire contract shared by coupon-service and notify-service.
//!
//! Anything both sides of a wire must agree on lives here and nowhere else:
//! message bodies and routing keys (DESIGN §5), the RabbitMQ topology, and the
//! access-token claims with their verification (DESIGN §4).

pub mod jwt;
pub mod messages;
pub mod topology;
