//! A WebSocket client over TLS (tokio-tungstenite + rustls trusting the
//! gateway's self-signed certificate), with bounded waits. Frames arrive in
//! no fixed order across message types (coupon.issued and coupon.soldout
//! travel through different queues), so frames not asked for yet are kept.

use std::{
    collections::VecDeque,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use futures::{SinkExt, StreamExt};
use rustls::ClientConfig;
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, client_async_tls_with_config,
    connect_async_tls_with_config,
    tungstenite::{
        Error, Message, client::IntoClientRequest, handshake::client::Request, http::HeaderValue,
    },
};

use crate::helpers::WITHIN;

pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Received but not yet asked for.
    kept: VecDeque<Value>,
}

/// An upgrade the gateway refused: its status, headers and body.
pub type Refusal = tokio_tungstenite::tungstenite::http::Response<Option<Vec<u8>>>;

impl WsClient {
    /// `wss://…/ws`; `Authorization: Bearer` when a token is given.
    pub async fn connect(url: &str, tls: Arc<ClientConfig>, bearer: Option<&str>) -> Self {
        let (ws, response) = connect_async_tls_with_config(
            request(url, bearer),
            None,
            true,
            Some(Connector::Rustls(tls)),
        )
        .await
        .expect("WebSocket upgrade through the gateway");
        assert_eq!(response.status(), 101, "upgrade answered {response:?}");
        Self {
            ws,
            kept: VecDeque::new(),
        }
    }

    /// Like `connect`, but from the loopback address `from` (any of
    /// 127.0.0.0/8: another client address as nginx sees it) to nginx on
    /// 127.0.0.1; an upgrade answered with an HTTP error is returned.
    pub async fn connect_from(
        from: IpAddr,
        url: &str,
        tls: Arc<ClientConfig>,
        bearer: Option<&str>,
    ) -> Result<Self, Refusal> {
        let request = request(url, bearer);
        let port = request.uri().port_u16().expect("a port in the URL");
        let socket = TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(SocketAddr::new(from, 0))
            .expect("bind the client address");
        let stream = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("connect to nginx");
        match client_async_tls_with_config(request, stream, None, Some(Connector::Rustls(tls)))
            .await
        {
            Ok((ws, response)) => {
                assert_eq!(response.status(), 101, "upgrade answered {response:?}");
                Ok(Self {
                    ws,
                    kept: VecDeque::new(),
                })
            }
            Err(Error::Http(response)) => Err(*response),
            Err(other) => panic!("WebSocket upgrade through the gateway: {other}"),
        }
    }

    /// A normal close (1000), waiting for the server's close frame.
    pub async fn close(mut self) {
        self.ws.close(None).await.expect("send a close frame");
        while let Ok(Some(Ok(_))) = tokio::time::timeout(WITHIN, self.ws.next()).await {}
    }

    pub async fn send_json(&mut self, value: Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .expect("send a text frame");
    }

    /// The next text frame off the socket as JSON (pings are answered by
    /// tungstenite); None if none came within `within`.
    async fn read_within(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(message) => message
                    .expect("the socket ended")
                    .expect("a WebSocket error"),
            };
            match message {
                Message::Text(text) => {
                    return Some(serde_json::from_str(text.as_str()).expect("a JSON frame"));
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The first frame of this type (kept or new), keeping the others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        if let Some(at) = self.kept.iter().position(|f| f["type"] == kind) {
            return self.kept.remove(at).expect("position is in range");
        }
        let deadline = tokio::time::Instant::now() + WITHIN;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.read_within(left).await.unwrap_or_else(|| {
                panic!(
                    "no {kind} frame within {WITHIN:?}; got {:?}",
                    self.kept.iter().map(|f| &f["type"]).collect::<Vec<_>>()
                )
            });
            if frame["type"] == kind {
                return frame;
            }
            self.kept.push_back(frame);
        }
    }

    /// Every frame of this type (kept or new) until none came for `quiet`.
    pub async fn drain_of(&mut self, kind: &str, quiet: Duration) -> Vec<Value> {
        while let Some(frame) = self.read_within(quiet).await {
            self.kept.push_back(frame);
        }
        let (matching, rest): (Vec<Value>, Vec<Value>) =
            self.kept.drain(..).partition(|f| f["type"] == kind);
        self.kept = rest.into();
        matching
    }

    /// Subscribes to an event; returns the `subscribed` snapshot.
    pub async fn subscribe(&mut self, event_id: i64) -> Value {
        self.send_json(serde_json::json!({"type": "subscribe", "event_id": event_id}))
            .await;
        self.next_of("subscribed").await
    }
}

/// The upgrade request for `url`, with `Authorization: Bearer` when a token
/// is given.
fn request(url: &str, bearer: Option<&str>) -> Request {
    let mut request = url.into_client_request().expect("a WebSocket URL");
    if let Some(token) = bearer {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header value"),
        );
    }
    request
}
