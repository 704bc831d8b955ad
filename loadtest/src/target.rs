//! The stack under test and the stores the invariants are checked against.

use std::time::Duration;

use contract::{
    jwt::{Role, TokenSigner, now_unix},
    redis_keys::EventKeys,
};
use sqlx::PgPool;

/// How to reach the stack (HTTP API, WebSocket, PostgreSQL, Redis) and how
/// to mint tokens (the issuer's private key: the benchmark measures the sale,
/// not password hashing).
#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub api_url: String,
    pub ws_url: String,
    pub database_url: String,
    pub redis_url: String,
    pub redis_prefix: String,
    pub private_key_pem: Vec<u8>,
    pub key_id: String,
    pub issuer: String,
    pub audience: String,
}

/// Connected handles, shared by every scenario.
pub struct Target {
    pub config: TargetConfig,
    pub http: reqwest::Client,
    pub db: PgPool,
    pub redis: redis::Client,
    signer: TokenSigner,
}

impl Target {
    pub async fn connect(config: TargetConfig, max_connections: usize) -> anyhow::Result<Self> {
        let signer = TokenSigner::from_private_pem(
            &config.key_id,
            &config.private_key_pem,
            &config.issuer,
            &config.audience,
        )
        .map_err(|e| anyhow::anyhow!("the private key is not an Ed25519 PEM key: {e}"))?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(max_connections)
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()?;
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(&config.database_url)
            .await
            .map_err(|e| anyhow::anyhow!("PostgreSQL at the database URL: {e}"))?;
        let redis = redis::Client::open(config.redis_url.as_str())?;
        Ok(Self {
            config,
            http,
            db,
            redis,
            signer,
        })
    }

    /// An access token valid for the whole run.
    pub fn token(&self, user_id: i64, role: Role) -> String {
        self.signer.sign(user_id, role, now_unix(), 900)
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_url.trim_end_matches('/'))
    }

    /// The Redis keys of an event's issuance state.
    pub fn event_keys(&self, event_id: i64) -> EventKeys {
        EventKeys::new(&self.config.redis_prefix, event_id)
    }
}
