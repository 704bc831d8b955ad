//! The connection under a socket: TCP from a chosen source address, TLS
//! when the endpoint is `wss://`, and the upgrade request with the
//! socket's headers. What happens on the socket afterwards is `ws.rs`.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use anyhow::Context;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, client_async_tls_with_config,
    tungstenite::{
        client::IntoClientRequest,
        http::{HeaderName, HeaderValue},
        protocol::WebSocketConfig,
    },
};

pub type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where notify-service's sockets are: the URL, its addresses (resolved
/// once: a crowd of 100,000 sockets would otherwise ask the resolver
/// 100,000 times) and, for `wss://`, the TLS configuration.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    addresses: Vec<SocketAddr>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Endpoint {
    pub async fn resolve(
        url: &str,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> anyhow::Result<Self> {
        let request = url.into_client_request()?;
        let uri = request.uri();
        let host = uri
            .host()
            .with_context(|| format!("no host in {url}"))?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("wss") {
                443
            } else {
                80
            });
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .with_context(|| format!("resolving {host}"))?
            .collect();
        anyhow::ensure!(!addresses.is_empty(), "{host} has no address");
        Ok(Self {
            url: url.to_owned(),
            addresses,
            tls,
        })
    }
}

/// tungstenite zero-fills `read_buffer_size` bytes before every read (128
/// KiB by default): with thousands of sockets each reading small frames,
/// that memset was most of the load generator's CPU in a fan-out, taken
/// from the servers it measures. Server frames are a few hundred bytes.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024)
}

/// Connects (from `source` when given) and upgrades with `headers` added to
/// the request. A refused upgrade is tungstenite's `Error::Http`.
pub async fn connect(
    endpoint: &Endpoint,
    source: Option<IpAddr>,
    headers: &[(HeaderName, HeaderValue)],
) -> anyhow::Result<Stream> {
    let mut request = endpoint.url.as_str().into_client_request()?;
    for (name, value) in headers {
        request.headers_mut().insert(name.clone(), value.clone());
    }
    let tcp = tcp_connect(&endpoint.addresses, source).await?;
    // Without a configuration of our own, `wss://` gets the system's roots.
    let connector = endpoint.tls.clone().map(Connector::Rustls);
    let (stream, _) =
        client_async_tls_with_config(request, tcp, Some(client_config()), connector).await?;
    Ok(stream)
}

/// The first of `addresses` that accepts. A source address is bound before
/// connecting: one address has ~28,000 ephemeral ports toward one server,
/// so a crowd larger than that comes from several loopback addresses.
async fn tcp_connect(
    addresses: &[SocketAddr],
    source: Option<IpAddr>,
) -> anyhow::Result<TcpStream> {
    let mut last_error = None;
    for address in addresses {
        if source.is_some_and(|s| s.is_ipv4() != address.is_ipv4()) {
            continue;
        }
        let socket = if address.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(source) = source {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        match socket.connect(*address).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e) => e.into(),
        None => anyhow::anyhow!("the server has no address of the family of {source:?}"),
    })
}
