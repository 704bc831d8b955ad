//! Shared by the test suites of coupon-service, notify-service and the
//! gateway (dev-dependency only): one implementation of what each suite
//! needs alike, so the suites cannot drift apart.

mod eventually;
mod fault_proxy;
mod resources;

pub use eventually::eventually;
pub use fault_proxy::FaultProxy;
pub use resources::{
    PG_ADMIN_URL, REDIS_URL, TestDatabase, cleanup_stale_redis_keys, create_database, unique_tag,
};
