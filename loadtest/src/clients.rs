//! The HTTP clients of a run: one over plain HTTP (its pool holds a
//! connection per request in flight), one per client of the run over HTTPS.
//!
//! Through the gateway, HTTPS is HTTP/2, and one reqwest client would put
//! every request on one connection: one nginx worker, at most its 128
//! concurrent streams. A sale's clients are browsers, each with a
//! connection of its own, opened when the page loaded; so each client of
//! the run gets a reqwest client of its own, connected before the run
//! starts (a TLS handshake per request would be a cost no shopper pays).

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use futures::stream::{self, StreamExt};

use crate::tls;

/// Connections opened at once while warming up.
const WARM_UP_CONCURRENCY: usize = 64;

/// Answered by nginx itself, never by a service: opening the connections
/// costs the services nothing. Any answer will do.
const WARM_UP_PATH: &str = "/gateway/health";

pub struct HttpClients {
    clients: Vec<reqwest::Client>,
    next: AtomicUsize,
}

impl HttpClients {
    pub async fn connect(
        api_url: &str,
        ca_cert_pem: Option<&[u8]>,
        concurrency: usize,
    ) -> anyhow::Result<Self> {
        let https = api_url.starts_with("https://");
        let count = if https { concurrency.max(1) } else { 1 };
        let clients = (0..count)
            .map(|_| {
                let mut builder = reqwest::Client::builder()
                    .pool_max_idle_per_host(concurrency)
                    .timeout(Duration::from_secs(30))
                    .tcp_nodelay(true);
                if let Some(pem) = ca_cert_pem {
                    builder = builder.tls_certs_only([tls::http_certificate(pem)?]);
                }
                Ok(builder.build()?)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if https {
            let url = format!("{}{WARM_UP_PATH}", api_url.trim_end_matches('/'));
            stream::iter(&clients)
                .for_each_concurrent(WARM_UP_CONCURRENCY, |client| {
                    let url = url.clone();
                    async move {
                        let _ = client.get(url).send().await;
                    }
                })
                .await;
        }
        Ok(Self {
            clients,
            next: AtomicUsize::new(0),
        })
    }

    /// The client of the next request: they take turns.
    pub fn next(&self) -> &reqwest::Client {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        &self.clients[i % self.clients.len()]
    }
}
