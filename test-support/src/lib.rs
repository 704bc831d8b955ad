//! Shared by the test suites of coupon-service, notify-service and the
//! gateway (dev-dependency only): one implementation of what each suite
//! needs alike, so the suites cannot drift apart.

mod eventually;
mod fault_proxy;

pub use eventually::eventually;
pub use fault_proxy::FaultProxy;
