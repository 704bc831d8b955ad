//! Trusting exactly one certificate (`--ca-cert`): the gateway's self-signed
//! one (scripts/lib/gateway.sh makes it a leaf, so it can be its own root),
//! as the gateway tests do. Nothing else is trusted: a run pointed at the
//! wrong server fails its handshake instead of measuring it.

use std::sync::Arc;

use anyhow::Context;
use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, pem::PemObject},
};

/// The rustls configuration of the WebSocket clients. No ALPN: the upgrade
/// is HTTP/1.1, and nginx answers a TLS client that offers nothing with
/// HTTP/1.1.
pub fn websocket_config(pem: &[u8]) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pem).context("--ca-cert is not a PEM certificate")?)
        .context("--ca-cert is not a usable root")?;
    Ok(Arc::new(
        // aws-lc-rs, the provider reqwest's "rustls" feature brings too: one
        // crypto library in the binary.
        ClientConfig::builder_with_provider(
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    ))
}

/// The same certificate for reqwest (`tls_certs_only`).
pub fn http_certificate(pem: &[u8]) -> anyhow::Result<reqwest::Certificate> {
    reqwest::Certificate::from_pem(pem).context("--ca-cert is not a PEM certificate")
}
