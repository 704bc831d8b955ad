//! The stack under test and the stores the invariants are checked against.

use contract::{
    jwt::{Role, TokenSigner, now_unix},
    redis_keys::EventKeys,
};
use sqlx::PgPool;

use crate::{
    clients::HttpClients,
    http::{IdempotencyKeys, PressCounts},
    tls, ws,
};

/// How to reach the stack (HTTP API, WebSocket, PostgreSQL, Redis) and how
/// to mint tokens (the issuer's private key: the benchmark measures the sale,
/// not password hashing). `https://` / `wss://` URLs go through TLS,
/// trusting exactly `ca_cert_pem` when given (the gateway's certificate).
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
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Every press carries a fresh `Idempotency-Key`, as the web sale page
    /// sends them; false: no key (a client that does not exist, kept for
    /// comparison).
    pub keyed: bool,
}

/// How long the run's minted tokens live: longer than the longest scenario
/// (a draw's entry window plus `SALE_WITHIN`, the queue's sale).
const TOKEN_TTL_SECS: u64 = 4 * 3600;

/// Connected handles, shared by every scenario.
pub struct Target {
    pub config: TargetConfig,
    http: HttpClients,
    pub ws: ws::Endpoint,
    pub db: PgPool,
    pub redis: redis::Client,
    signer: TokenSigner,
    idempotency_keys: Option<IdempotencyKeys>,
    presses: PressCounts,
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
        let http = HttpClients::connect(
            &config.api_url,
            config.ca_cert_pem.as_deref(),
            max_connections,
        )
        .await?;
        let ws_tls = match &config.ca_cert_pem {
            Some(pem) => Some(tls::websocket_config(pem)?),
            None => None,
        };
        let ws = ws::Endpoint::resolve(&config.ws_url, ws_tls).await?;
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(&config.database_url)
            .await
            .map_err(|e| anyhow::anyhow!("PostgreSQL at the database URL: {e}"))?;
        let redis = redis::Client::open(config.redis_url.as_str())?;
        let idempotency_keys = config.keyed.then(IdempotencyKeys::new);
        Ok(Self {
            config,
            http,
            ws,
            db,
            redis,
            signer,
            idempotency_keys,
            presses: PressCounts::default(),
        })
    }

    /// The keys of keyed presses; `None` when pressing unkeyed.
    pub fn idempotency_keys(&self) -> Option<&IdempotencyKeys> {
        self.idempotency_keys.as_ref()
    }

    /// The presses sent so far, keyed and unkeyed.
    pub fn presses(&self) -> &PressCounts {
        &self.presses
    }

    /// The HTTP client of the next request.
    pub fn http(&self) -> &reqwest::Client {
        self.http.next()
    }

    /// An access token valid for the whole run: a drawn sale's entrants
    /// hold theirs from the entry window through every backfill round
    /// (a 15-minute token expired mid-sale: its socket was closed and its
    /// presses refused, and the last units were never claimed).
    pub fn token(&self, user_id: i64, role: Role) -> String {
        self.signer.sign(user_id, role, now_unix(), TOKEN_TTL_SECS)
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_url.trim_end_matches('/'))
    }

    /// The Redis keys of an event's issuance state.
    pub fn event_keys(&self, event_id: i64) -> EventKeys {
        EventKeys::new(&self.config.redis_prefix, event_id)
    }
}
