//! Start-up plumbing shared by coupon-service and notify-service, so the two
//! load settings and log the same way.

pub mod backoff;
pub mod client_address;
pub mod config;
pub mod connected;
pub mod redis;
pub mod shutdown;
pub mod tasks;
pub mod telemetry;
