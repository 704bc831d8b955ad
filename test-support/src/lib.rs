//! Shared by the test suites of coupon-service, notify-service and the
//! gateway (dev-dependency only): one implementation of what each suite
//! needs alike, so the suites cannot drift apart.

mod accounts;
mod eventually;
mod fault_proxy;
mod resources;
mod scope;

pub use accounts::{
    TEST_PRIVATE_KEY, TEST_PRIVATE_KEY_PATH, TEST_PUBLIC_KEY_PATH, insert_admin, insert_users,
    test_signer, token,
};
pub use eventually::eventually;
pub use fault_proxy::FaultProxy;
pub use resources::{
    PG_ADMIN_URL, REDIS_URL, TestDatabase, cleanup_stale_redis_keys, create_database,
    redis_connection, test_redis_nodes, unique_tag,
};
pub use scope::{AMQP_URL, TestScope};
