//! What one test owns on the shared servers — a PostgreSQL database, Redis
//! keys under a prefix — named so that any suite can recognise and sweep the
//! leftovers of runs that were killed before they could clean up.
//!
//! Names carry their creation time: databases `coupon_test_<secs>_<rand>`,
//! Redis keys `t:<secs>_<rand>…`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use service_kit::redis::{RedisConn, RedisConnections};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Test resources older than this are leftovers of killed runs.
const STALE_AFTER: Duration = Duration::from_secs(3 * 3600);

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn is_stale(born: Option<u64>, now: u64) -> bool {
    born.is_some_and(|born| now.saturating_sub(born) > STALE_AFTER.as_secs())
}

/// `<secs>_<10 random hex digits>`: unique per test, and its age readable.
pub fn unique_tag() -> String {
    format!(
        "{}_{}",
        now_secs(),
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Creates the database `name` (by convention `coupon_test_<unique_tag>`),
/// first dropping test databases older than three hours.
pub async fn create_database(name: &str) {
    let mut admin = PgConnection::connect(PG_ADMIN_URL)
        .await
        .expect("PostgreSQL is running");
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'coupon\\_test\\_%'",
    )
    .fetch_all(&mut admin)
    .await
    .expect("list databases");
    let now = now_secs();
    for old in stale {
        if is_stale(old.split('_').nth(2).and_then(|s| s.parse().ok()), now) {
            let _ = admin
                .execute(AssertSqlSafe(format!(
                    r#"DROP DATABASE IF EXISTS "{old}" WITH (FORCE)"#
                )))
                .await;
        }
    }
    admin
        .execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .await
        .expect("create test database");
}

/// Deletes test keys (`t:<secs>_…`) older than three hours; best effort.
pub async fn cleanup_stale_redis_keys() {
    let mut c = redis_connection().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("t:*")
        .query_async(&mut c)
        .await
        .unwrap_or_default();
    let now = now_secs();
    for key in keys {
        if is_stale(
            key.split([':', '_']).nth(1).and_then(|s| s.parse().ok()),
            now,
        ) {
            let _: Result<i64, _> = redis::cmd("DEL").arg(&key).query_async(&mut c).await;
        }
    }
}

/// A test's own database, dropped with this value (on a thread of its own,
/// since `Drop` cannot await; bounded, and a killed run's leftover is swept
/// by a later run's [`create_database`]).
pub struct TestDatabase {
    name: String,
}

impl TestDatabase {
    /// A new, empty database named `coupon_test_<unique_tag>`.
    pub async fn new() -> Self {
        Self::create(&format!("coupon_test_{}", unique_tag())).await
    }

    /// Creates `name` (by convention `coupon_test_<unique_tag>`).
    pub async fn create(name: &str) -> Self {
        create_database(name).await;
        Self {
            name: name.to_owned(),
        }
    }

    pub fn url(&self) -> String {
        self.url_on_port(5432)
    }

    /// The URL through another port (a fault proxy in front of PostgreSQL).
    pub fn url_on_port(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{}", self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        cleanup_blocking(async move {
            if let Ok(mut admin) = PgConnection::connect(PG_ADMIN_URL).await {
                let _ = admin
                    .execute(AssertSqlSafe(format!(
                        r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                    )))
                    .await;
            }
        });
    }
}

/// Runs a cleanup from `Drop`, which cannot await: on a thread and runtime
/// of its own (the test's runtime may be single-threaded and busy dropping
/// us), bounded to ten seconds. Best effort: a later run sweeps leftovers.
pub(crate) fn cleanup_blocking(work: impl Future<Output = ()> + Send + 'static) {
    let cleanup = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), work).await;
        });
    });
    let _ = cleanup.join();
}

/// Which Redis the suites run against: the single server, or, when
/// `TEST_REDIS_NODES` lists a cluster's seed nodes (comma-separated; the
/// test command's cluster pass sets it), that cluster.
pub fn test_redis_nodes() -> Option<Vec<String>> {
    let nodes = std::env::var("TEST_REDIS_NODES").ok()?;
    let nodes: Vec<String> = nodes
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    (!nodes.is_empty()).then_some(nodes)
}

/// A connection of its own to the Redis the suites run against (tests read
/// and break state behind the services' backs); on a cluster each command
/// goes to its key's node, `KEYS` to every primary.
pub async fn redis_connection() -> RedisConn {
    let connections = match test_redis_nodes() {
        Some(nodes) => RedisConnections::lazy_cluster(&nodes, Duration::from_secs(5)),
        None => RedisConnections::lazy(REDIS_URL, 1, Duration::from_secs(5)),
    }
    .expect("redis settings");
    connections.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exists(name: &str) -> bool {
        let mut admin = PgConnection::connect(PG_ADMIN_URL)
            .await
            .expect("PostgreSQL is running");
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut admin)
            .await
            .expect("query pg_database")
    }

    #[tokio::test]
    async fn a_test_database_is_gone_once_its_guard_is_dropped() {
        let name = format!("coupon_test_{}", unique_tag());
        let database = TestDatabase::create(&name).await;
        assert!(exists(&name).await);
        drop(database);
        assert!(!exists(&name).await, "{name} was left behind");
    }
}
