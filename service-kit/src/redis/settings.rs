//! The `redis` section both services read alike (`redis.*` in their YAML,
//! `APP_REDIS__*` in the environment), and the connections it describes.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{RedisConnections, RedisMode};

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    /// `single` (`url`) or `cluster` (`nodes`).
    #[serde(default)]
    pub mode: RedisMode,
    pub url: SecretString,
    /// Seed nodes of a cluster (`redis://host:port`), any few of its nodes.
    #[serde(default)]
    pub nodes: Vec<SecretString>,
    /// Shared multiplexed connections (single mode; a cluster connection is
    /// multiplexed per node by itself).
    pub connections: usize,
    /// Prepended to every key and channel (tests, shared servers).
    pub key_prefix: String,
    /// Deadline of every call.
    pub timeout_ms: u64,
}

impl RedisSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The cluster's seed nodes as URLs (secrets: they may hold a password).
    pub fn seed_nodes(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| node.expose_secret().to_owned())
            .collect()
    }

    /// The connections these settings describe, opened on first use.
    pub fn connect(&self) -> anyhow::Result<RedisConnections> {
        RedisConnections::for_mode(
            self.mode,
            self.url.expose_secret(),
            &self.seed_nodes(),
            self.connections,
            self.timeout(),
        )
    }

    /// Refuses the example files' placeholders and a cluster without nodes.
    pub fn validate(&self) -> anyhow::Result<()> {
        crate::config::refuse_placeholder("redis.url", self.url.expose_secret())?;
        for node in &self.nodes {
            crate::config::refuse_placeholder("redis.nodes", node.expose_secret())?;
        }
        anyhow::ensure!(
            self.mode == RedisMode::Single || !self.nodes.is_empty(),
            "invalid setting: redis.mode is cluster but redis.nodes lists no seed node"
        );
        Ok(())
    }
}
