//! Layered settings: built-in defaults (`configuration/base.yaml`), then an
//! optional file named by `APP_CONFIG_FILE`, then `APP_<SECTION>__<KEY>`
//! environment variables. Secrets are `SecretString` so they never reach a log.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

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
pub struct RedisSettings {
    pub url: SecretString,
    pub connections: usize,
    pub key_prefix: String,
    pub timeout_ms: u64,
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
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub retain_interval_secs: u64,
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
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventSettings {
    pub cache_ttl_ms: u64,
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
        let limits = &self.rate_limit;
        let checks: [(bool, &str); 10] = [
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
                self.outbox.batch_size > 0,
                "outbox.batch_size must be at least 1",
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
    }
}
