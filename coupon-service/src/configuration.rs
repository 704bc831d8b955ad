//! Layered settings: built-in defaults (`configuration/base.yaml`), then an
//! optional file named by `APP_CONFIG_FILE`, then `APP_<SECTION>__<KEY>`
//! environment variables. Secrets are `SecretString` so they never reach a log.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
pub use service_kit::redis::RedisSettings;

const DEFAULTS: &str = include_str!("../configuration/base.yaml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub application: ApplicationSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub rabbitmq: RabbitMqSettings,
    pub auth: AuthSettings,
    pub issuance: IssuanceSettings,
    pub outbox: OutboxSettings,
    pub events: EventSettings,
    pub rate_limit: RateLimitSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApplicationSettings {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub json_limit_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RabbitMqSettings {
    pub url: SecretString,
    pub exchange: String,
    pub dead_letter_exchange: String,
    pub queue_prefix: String,
    pub queue_type: String,
    /// Only for throwaway (test) names: queues vanish when unused this long.
    #[serde(default)]
    pub queue_expires_ms: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    pub key_id: String,
    pub public_key_path: String,
    /// Signing key of access tokens; without it login is unavailable.
    #[serde(default)]
    pub private_key_path: Option<String>,
    /// Rotated-out keys still accepted for verification.
    #[serde(default)]
    pub previous_public_keys: Vec<KeyRef>,
    pub leeway_secs: u64,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    /// A refresh family (one login) ends this long after the login, however
    /// often it was rotated.
    pub refresh_family_max_secs: u64,
    /// How often ended refresh families are deleted.
    pub refresh_purge_interval_secs: u64,
    /// How often each instance reads the sessions ended since its last read
    /// (their access tokens are refused from then on).
    pub revocation_poll_ms: u64,
    /// Password hashes/verifications running at once; 0 = 2 × cores.
    pub hash_permits: usize,
    /// Requests waiting for a hashing permit; beyond it, 503 at once.
    pub hash_queue_max: usize,
    /// A request that waits this long for a hashing permit gets 503.
    pub hash_queue_timeout_ms: u64,
}

impl AuthSettings {
    /// `hash_permits` with 0 resolved to twice the cores this process may use.
    pub fn hash_permits(&self) -> usize {
        match self.hash_permits {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
            n => n,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct KeyRef {
    pub kid: String,
    pub path: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub issue_per_second: u32,
    pub issue_burst: u32,
    pub redeem_per_second: u32,
    pub redeem_burst: u32,
    pub auth_per_minute: u32,
    pub auth_burst: u32,
    /// Addresses and CIDR ranges whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<service_kit::client_address::ProxyRange>,
    pub retain_interval_secs: u64,
    /// Failed logins on one account from one client address (IPv6: /64)
    /// per window; then that address gets 429 on that account.
    pub login_failures_per_address: u32,
    /// Failed logins on one account from all addresses together per
    /// window; then only addresses it signed in from lately get in.
    pub login_failures_per_account: u32,
    pub login_failure_window_secs: u64,
    /// How long an address an account signed in from stays exempt from the
    /// account's ceiling (this instance remembers it); 0: none is.
    pub login_known_address_secs: u64,
    /// Entries each login-failure table holds at most (bounded memory).
    pub login_failure_max_accounts: u64,
    /// Enforce the per-user and per-address limits across every instance
    /// (in Redis) as well as in this process.
    pub shared: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IssuanceSettings {
    pub batch_max: usize,
    pub writers: usize,
    pub write_timeout_ms: u64,
    pub pending_timeout_ms: u64,
    pub sweep_interval_ms: u64,
    pub preload_interval_ms: u64,
    pub idempotency_ttl_secs: u64,
    /// How long a `sold_out` from Redis is repeated without asking (0 = off).
    pub sold_out_memo_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSettings {
    pub poll_interval_ms: u64,
    /// Unpublished rows this old are taken by any instance's relay poll.
    pub recover_after_ms: u64,
    pub batch_size: i64,
    pub retention_secs: u64,
    /// At most one `event.stock` per event this often (every watcher of the
    /// event gets each one).
    pub stock_interval_ms: u64,
    /// Up to this many `coupon.issued` messages travel in one AMQP message
    /// (a packed body, docs/contract.md §3); 1 sends each on its own.
    pub pack_max: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventSettings {
    pub cache_ttl_ms: u64,
    /// Pages of the public event list each process keeps (one per status,
    /// page and size asked for).
    pub list_cache_entries: u64,
    /// Most places one waiting room holds (joins past it: 409 `queue_full`).
    pub max_queue_places: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
}

impl Settings {
    /// Reads the layers and checks the values, naming the bad setting.
    pub fn load() -> Result<Self, anyhow::Error> {
        let settings: Settings = service_kit::config::layered(DEFAULTS)?;
        settings.validate()?;
        Ok(settings)
    }

    /// The built-in defaults alone (tests start from these).
    pub fn defaults() -> Result<Self, anyhow::Error> {
        service_kit::config::defaults(DEFAULTS)
    }

    pub fn validate(&self) -> Result<(), anyhow::Error> {
        // The example files' placeholders are not secrets.
        for (setting, secret) in [
            ("database.url", &self.database.url),
            ("rabbitmq.url", &self.rabbitmq.url),
        ] {
            service_kit::config::refuse_placeholder(
                setting,
                secrecy::ExposeSecret::expose_secret(secret),
            )?;
        }
        self.redis.validate()?;
        let limits = &self.rate_limit;
        let auth = &self.auth;
        let checks: [(bool, &str); 23] = [
            (
                self.outbox.stock_interval_ms > 0,
                "outbox.stock_interval_ms must be at least 1",
            ),
            (
                self.redis.connections > 0,
                "redis.connections must be at least 1",
            ),
            (
                self.database.max_connections > 0,
                "database.max_connections must be at least 1",
            ),
            (
                self.issuance.batch_max > 0,
                "issuance.batch_max must be at least 1",
            ),
            (
                self.issuance.writers > 0,
                "issuance.writers must be at least 1",
            ),
            (
                (1..=100_000).contains(&self.events.list_cache_entries),
                "events.list_cache_entries must be between 1 and 100000",
            ),
            (
                (1..=10_000_000).contains(&self.events.max_queue_places),
                "events.max_queue_places must be between 1 and 10000000",
            ),
            (
                self.outbox.batch_size > 0,
                "outbox.batch_size must be at least 1",
            ),
            (
                (1..=contract::messages::MAX_PACKED).contains(&self.outbox.pack_max),
                "outbox.pack_max must be between 1 and 256",
            ),
            (
                matches!(self.rabbitmq.queue_type.as_str(), "quorum" | "classic"),
                "rabbitmq.queue_type must be quorum or classic",
            ),
            (
                matches!(self.log.format.as_str(), "json" | "pretty"),
                "log.format must be json or pretty",
            ),
            (
                [
                    limits.issue_per_second,
                    limits.issue_burst,
                    limits.redeem_per_second,
                    limits.redeem_burst,
                ]
                .iter()
                .chain([limits.auth_per_minute, limits.auth_burst].iter())
                .all(|n| *n > 0),
                "rate_limit rates and bursts must be at least 1",
            ),
            (
                (1..=900).contains(&self.auth.access_ttl_secs),
                "auth.access_ttl_secs must be between 1 and 900 (15 minutes)",
            ),
            (
                self.auth.refresh_ttl_secs > 0,
                "auth.refresh_ttl_secs must be at least 1",
            ),
            (
                (1..=10 * 365 * 86_400).contains(&auth.refresh_family_max_secs),
                "auth.refresh_family_max_secs must be between 1 and 315360000 (10 years)",
            ),
            (
                (1..=86_400).contains(&auth.refresh_purge_interval_secs),
                "auth.refresh_purge_interval_secs must be between 1 and 86400",
            ),
            (
                (100..=60_000).contains(&auth.revocation_poll_ms),
                "auth.revocation_poll_ms must be between 100 and 60000",
            ),
            (
                auth.hash_permits <= 1024,
                "auth.hash_permits must be at most 1024 (0 = twice the cores)",
            ),
            (
                auth.hash_queue_max <= 100_000,
                "auth.hash_queue_max must be at most 100000",
            ),
            (
                (1..=60_000).contains(&auth.hash_queue_timeout_ms),
                "auth.hash_queue_timeout_ms must be between 1 and 60000",
            ),
            (
                limits.login_failures_per_address > 0
                    && limits.login_failures_per_account >= limits.login_failures_per_address
                    && (1..=86_400).contains(&limits.login_failure_window_secs),
                "rate_limit.login_failures_per_address must be at least 1, \
                 rate_limit.login_failures_per_account at least as many, and \
                 rate_limit.login_failure_window_secs between 1 and 86400",
            ),
            (
                limits.login_known_address_secs <= 90 * 86_400,
                "rate_limit.login_known_address_secs must be at most 7776000 (90 days)",
            ),
            (
                limits.login_failure_max_accounts > 0,
                "rate_limit.login_failure_max_accounts must be at least 1",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err(anyhow::anyhow!("invalid setting: {message}")),
            None => Ok(()),
        }
    }
}

impl IssuanceSettings {
    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }
    pub fn pending_timeout(&self) -> Duration {
        Duration::from_millis(self.pending_timeout_ms)
    }
    pub fn sold_out_memo(&self) -> Duration {
        Duration::from_millis(self.sold_out_memo_ms)
    }
}

impl RabbitMqSettings {
    pub fn topology(&self) -> contract::topology::Topology {
        contract::topology::Topology {
            exchange: self.exchange.clone(),
            dead_letter_exchange: self.dead_letter_exchange.clone(),
            queue_prefix: self.queue_prefix.clone(),
            queue_type: self.queue_type.clone(),
            queue_expires_ms: self.queue_expires_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_defaults_parse_and_validate() {
        let s = Settings::defaults().unwrap();
        s.validate().unwrap();
        assert_eq!(s.rabbitmq.exchange, "coupon.exchange");
    }

    #[test]
    fn a_bad_value_is_reported_by_name() {
        let mut s = Settings::defaults().unwrap();
        s.rabbitmq.queue_type = "fancy".into();
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("rabbitmq.queue_type"), "{err}");
        let mut s = Settings::defaults().unwrap();
        s.auth.revocation_poll_ms = 0;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("auth.revocation_poll_ms"), "{err}");
        let mut s = Settings::defaults().unwrap();
        s.rate_limit.login_failures_per_account = s.rate_limit.login_failures_per_address - 1;
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("rate_limit.login_failures_per_account"),
            "{err}"
        );
    }

    #[test]
    fn a_redis_cluster_needs_seed_nodes_and_a_stock_interval_cannot_be_zero() {
        let mut s = Settings::defaults().unwrap();
        s.redis.mode = service_kit::redis::RedisMode::Cluster;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("redis.nodes"), "{err}");
        s.redis.nodes = vec!["redis://:change-me@node:6379".into()];
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("redis.nodes"), "{err}");
        s.redis.nodes = vec!["redis://127.0.0.1:7001".into()];
        s.validate().unwrap();
        s.outbox.stock_interval_ms = 0;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("outbox.stock_interval_ms"), "{err}");
    }

    #[test]
    fn trusted_proxies_take_cidr_ranges_and_name_a_bad_entry() {
        let s = Settings::defaults().unwrap();
        assert!(!s.rate_limit.trusted_proxies.is_empty());
        let ok: Vec<service_kit::client_address::ProxyRange> =
            serde_json::from_str(r#"["10.0.0.0/8", "fd00::/8", "192.0.2.1"]"#).unwrap();
        assert_eq!(ok.len(), 3);
        let err = serde_json::from_str::<Vec<service_kit::client_address::ProxyRange>>(
            r#"["10.0.0.0/40"]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("10.0.0.0/40"), "{err}");
    }

    #[test]
    fn hash_permits_default_to_twice_the_cores() {
        let mut s = Settings::defaults().unwrap();
        s.auth.hash_permits = 0;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(s.auth.hash_permits(), 2 * cores);
        s.auth.hash_permits = 3;
        assert_eq!(s.auth.hash_permits(), 3);
        s.auth.hash_queue_timeout_ms = 0;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("auth.hash_queue_timeout_ms"), "{err}");
    }

    #[test]
    fn a_secret_still_holding_the_change_me_placeholder_is_refused() {
        let mut s = Settings::defaults().unwrap();
        s.database.url = "postgres://coupons:change-me-postgres@postgres:5432/coupons".into();
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("database.url"), "{err}");
        assert!(
            !err.contains("change-me-postgres"),
            "the secret is not repeated: {err}"
        );
    }
}
