//! What the handlers and connections share.

use std::sync::Arc;

use contract::jwt::{Principal, TokenError, TokenVerifier};
use service_kit::{client_address::ProxyRange, tasks::Tasks};
use tokio::sync::watch;

use crate::{
    configuration::Settings,
    fanout::store::FanoutStore,
    hub::Hub,
    liveness::Liveness,
    metrics::Metrics,
    shutdown::Phase,
    snapshot::Snapshots,
    ws::{
        admission::{AllowedOrigins, Slots},
        unauthenticated::Unauthenticated,
    },
};

pub struct AppState {
    pub settings: Arc<Settings>,
    pub verifier: TokenVerifier,
    pub hub: Arc<Hub>,
    pub fanout: FanoutStore,
    pub snapshots: Snapshots,
    pub metrics: Arc<Metrics>,
    pub liveness: Arc<Liveness>,
    /// Authenticated sockets.
    pub slots: Slots,
    /// Sockets still without a verified token.
    pub unauthenticated: Unauthenticated,
    pub trusted_proxies: Vec<ProxyRange>,
    pub origins: AllowedOrigins,
    pub shutdown: watch::Receiver<Phase>,
    /// The background tasks; one that ended makes the instance not ready.
    pub tasks: Tasks,
}

impl AppState {
    /// A token that verifies and whose session was not revoked (logout,
    /// a reused refresh token, an account disabled); a revoked session's
    /// token is refused like an invalid one.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let principal = self.verifier.verify(token)?;
        if self.hub.revocations.refuses(&principal) {
            return Err(TokenError::Invalid);
        }
        Ok(principal)
    }
}
