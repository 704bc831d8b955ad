//! Layered settings: built-in defaults (`configuration/base.yaml`), then an
//! optional file named by `APP_CONFIG_FILE`, then `APP_<SECTION>__<KEY>`
//! environment variables. Secrets are `SecretString` so they never reach a log.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use service_kit::client_address::ProxyRange;
pub use service_kit::redis::RedisSettings;

const DEFAULTS: &str = include_str!("../configuration/base.yaml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub application: ApplicationSettings,
    pub redis: RedisSettings,
    pub rabbitmq: RabbitMqSettings,
    pub auth: AuthSettings,
    pub websocket: WebSocketSettings,
    pub fanout: FanoutSettings,
    pub snapshots: SnapshotSettings,
    pub coupon_api: CouponApiSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApplicationSettings {
    pub host: String,
    pub port: u16,
    pub workers: usize,
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
    pub prefetch: u16,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    pub key_id: String,
    pub public_key_path: String,
    /// Keys rotated out at the issuer but still accepted until removed
    /// (same meaning as coupon-service's setting).
    #[serde(default)]
    pub previous_public_keys: Vec<KeyRef>,
    pub leeway_secs: u64,
}

/// A public key by its `kid`.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyRef {
    pub kid: String,
    pub path: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebSocketSettings {
    pub heartbeat_ms: u64,
    pub auth_timeout_ms: u64,
    pub max_frame_bytes: usize,
    pub outgoing_queue: usize,
    pub max_connections_per_user: usize,
    pub max_connections: usize,
    /// Sockets without a verified token yet, apart from `max_connections`.
    pub max_unauthenticated: usize,
    pub max_unauthenticated_per_address: usize,
    /// Peers (addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub trusted_proxies: Vec<String>,
    pub max_subscriptions: usize,
    pub client_frames_per_second: u32,
    /// `subscribe` frames per second, in bursts of `subscribe_burst` (each
    /// may cost a Redis read); apart from `client_frames_per_second`.
    pub subscribes_per_second: u32,
    pub subscribe_burst: u32,
    pub resume_window_ms: u64,
    pub send_buffer_bytes: u32,
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FanoutSettings {
    pub stream_maxlen: u32,
    pub stream_ttl_secs: u64,
    pub dedup_ttl_secs: u64,
}

/// The instance's cache of `subscribe` snapshots (`snapshot/cache.rs`).
#[derive(Debug, Clone, Deserialize)]
pub struct SnapshotSettings {
    /// How long one Redis read of an event answers every subscribe.
    pub ttl_ms: u64,
    /// Events whose reading is kept at most.
    pub max_events: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CouponApiSettings {
    pub url: String,
    pub timeout_ms: u64,
    /// How long an event coupon-service does not know is remembered as
    /// missing, and how many such events at most.
    pub missing_ttl_ms: u64,
    pub missing_cache_size: u64,
    /// Lookups waiting on coupon-service at once, all events together.
    pub max_in_flight: usize,
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
        service_kit::config::refuse_placeholder(
            "rabbitmq.url",
            secrecy::ExposeSecret::expose_secret(&self.rabbitmq.url),
        )?;
        self.redis.validate()?;
        let ws = &self.websocket;
        let checks: [(bool, &str); 21] = [
            (
                self.redis.connections > 0,
                "redis.connections must be at least 1",
            ),
            (
                matches!(self.rabbitmq.queue_type.as_str(), "quorum" | "classic"),
                "rabbitmq.queue_type must be quorum or classic",
            ),
            (
                self.rabbitmq.prefetch > 0,
                "rabbitmq.prefetch must be at least 1",
            ),
            (
                ws.heartbeat_ms >= 100,
                "websocket.heartbeat_ms must be at least 100",
            ),
            (
                ws.auth_timeout_ms > 0,
                "websocket.auth_timeout_ms must be at least 1",
            ),
            (
                (256..=1 << 20).contains(&ws.max_frame_bytes),
                "websocket.max_frame_bytes must be between 256 (an auth frame carries a token) and 1048576",
            ),
            (
                ws.outgoing_queue > 0,
                "websocket.outgoing_queue must be at least 1",
            ),
            (
                ws.max_connections_per_user > 0 && ws.max_connections > 0,
                "websocket.max_connections and websocket.max_connections_per_user must be at least 1",
            ),
            (
                ws.max_unauthenticated > 0 && ws.max_unauthenticated_per_address > 0,
                "websocket.max_unauthenticated and websocket.max_unauthenticated_per_address must be at least 1",
            ),
            (
                ws.trusted_proxies
                    .iter()
                    .all(|e| e.parse::<ProxyRange>().is_ok()),
                "websocket.trusted_proxies entries must be IP addresses or CIDR ranges (10.0.0.0/8)",
            ),
            (
                (1..=1000).contains(&ws.subscribes_per_second),
                "websocket.subscribes_per_second must be between 1 and 1000",
            ),
            (
                (1..=1000).contains(&ws.subscribe_burst),
                "websocket.subscribe_burst must be between 1 and 1000",
            ),
            (
                (1..=1000).contains(&self.snapshots.ttl_ms),
                "snapshots.ttl_ms must be between 1 and 1000",
            ),
            (
                (1..=1_000_000).contains(&self.snapshots.max_events),
                "snapshots.max_events must be between 1 and 1000000",
            ),
            (
                (1..=60_000).contains(&self.coupon_api.missing_ttl_ms),
                "coupon_api.missing_ttl_ms must be between 1 and 60000",
            ),
            (
                self.coupon_api.missing_cache_size > 0,
                "coupon_api.missing_cache_size must be at least 1",
            ),
            (
                (1..=1024).contains(&self.coupon_api.max_in_flight),
                "coupon_api.max_in_flight must be between 1 and 1024",
            ),
            (
                self.fanout.stream_maxlen > 0,
                "fanout.stream_maxlen must be at least 1",
            ),
            (
                self.fanout.stream_ttl_secs > 0 && self.fanout.dedup_ttl_secs > 0,
                "fanout.stream_ttl_secs and fanout.dedup_ttl_secs must be at least 1",
            ),
            (
                ws.allowed_origins
                    .iter()
                    .all(|o| o.starts_with("http://") || o.starts_with("https://")),
                "websocket.allowed_origins entries must look like https://host[:port]",
            ),
            (
                matches!(self.log.format.as_str(), "json" | "pretty"),
                "log.format must be json or pretty",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err(anyhow::anyhow!("invalid setting: {message}")),
            None => Ok(()),
        }
    }
}

impl WebSocketSettings {
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }
    pub fn auth_timeout(&self) -> Duration {
        Duration::from_millis(self.auth_timeout_ms)
    }
    pub fn resume_window(&self) -> Duration {
        Duration::from_millis(self.resume_window_ms)
    }
}

impl SnapshotSettings {
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms)
    }
}

impl CouponApiSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
    pub fn missing_ttl(&self) -> Duration {
        Duration::from_millis(self.missing_ttl_ms)
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

/// A YAML list, or (from the environment) one comma-separated string.
fn list_or_comma_separated<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        One(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(items) => items,
        Raw::One(joined) => joined.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().trim_end_matches('/').to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_defaults_parse_and_validate() {
        let s = Settings::defaults().unwrap();
        s.validate().unwrap();
        assert_eq!(s.application.port, 8082);
        assert_eq!(s.auth.issuer, "coupon-platform");
        assert!(s.websocket.allowed_origins.is_empty());
    }

    #[test]
    fn a_bad_value_is_reported_by_name() {
        let mut s = Settings::defaults().unwrap();
        s.websocket.outgoing_queue = 0;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("websocket.outgoing_queue"), "{err}");
    }

    #[test]
    fn trusted_proxies_take_cidr_ranges_and_refuse_names() {
        let mut s = Settings::defaults().unwrap();
        s.websocket.trusted_proxies = vec!["10.0.0.0/8".into(), "::1".into()];
        s.validate().unwrap();
        s.websocket.trusted_proxies = vec!["gateway.internal".into()];
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("websocket.trusted_proxies"), "{err}");
    }

    /// The defaults with `tweak` applied are refused, naming `name`.
    fn check(tweak: fn(&mut Settings), name: &str) {
        let mut s = Settings::defaults().unwrap();
        tweak(&mut s);
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains(name), "{err}");
    }

    #[test]
    fn the_unauthenticated_budget_and_missing_event_cache_are_range_checked() {
        check(
            |s| s.websocket.max_unauthenticated = 0,
            "websocket.max_unauthenticated",
        );
        check(
            |s| s.websocket.max_unauthenticated_per_address = 0,
            "websocket.max_unauthenticated_per_address",
        );
        check(
            |s| s.coupon_api.missing_ttl_ms = 0,
            "coupon_api.missing_ttl_ms",
        );
        check(
            |s| s.coupon_api.missing_ttl_ms = 3_600_000,
            "coupon_api.missing_ttl_ms",
        );
        check(
            |s| s.coupon_api.missing_cache_size = 0,
            "coupon_api.missing_cache_size",
        );
        check(
            |s| s.coupon_api.max_in_flight = 0,
            "coupon_api.max_in_flight",
        );
    }

    #[test]
    fn the_subscribe_budget_and_snapshot_cache_are_range_checked() {
        check(
            |s| s.websocket.subscribes_per_second = 0,
            "websocket.subscribes_per_second",
        );
        check(
            |s| s.websocket.subscribe_burst = 0,
            "websocket.subscribe_burst",
        );
        check(|s| s.snapshots.ttl_ms = 0, "snapshots.ttl_ms");
        check(|s| s.snapshots.ttl_ms = 60_000, "snapshots.ttl_ms");
        check(|s| s.snapshots.max_events = 0, "snapshots.max_events");
    }

    #[test]
    fn allowed_origins_come_as_a_list_or_one_comma_separated_string() {
        use config::{Config, File, FileFormat};
        let from = |yaml: &str| -> Vec<String> {
            let layered = Config::builder()
                .add_source(File::from_str(DEFAULTS, FileFormat::Yaml))
                .add_source(File::from_str(yaml, FileFormat::Yaml))
                .build()
                .unwrap();
            layered
                .try_deserialize::<Settings>()
                .unwrap()
                .websocket
                .allowed_origins
        };
        assert_eq!(
            from("websocket:\n  allowed_origins: [\"https://a.example\"]"),
            ["https://a.example"]
        );
        assert_eq!(
            from("websocket:\n  allowed_origins: \"https://a.example, https://b.example/\""),
            ["https://a.example", "https://b.example"]
        );
    }

    #[test]
    fn a_secret_still_holding_the_change_me_placeholder_is_refused() {
        let mut s = Settings::defaults().unwrap();
        s.rabbitmq.url = "amqps://coupons:CHANGE-ME@rabbitmq.internal:5671/%2f".into();
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("rabbitmq.url"), "{err}");
    }
}
