//! A WebSocket client over TLS (tokio-tungstenite + rustls trusting the
//! gateway's self-signed certificate), with bounded waits. Frames arrive in
//! no fixed order across message types (coupon.issued and coupon.soldout
//! travel through different queues), so frames not asked for yet are kept.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use futures::{SinkExt, StreamExt};
use rustls::ClientConfig;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::helpers::WITHIN;

pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Received but not yet asked for.
    kept: VecDeque<Value>,
}

impl WsClient {
    /// `wss://…/ws`; `Authorization: Bearer` when a token is given.
    pub async fn connect(url: &str, tls: Arc<ClientConfig>, bearer: Option<&str>) -> Self {
        let mut request = url.into_client_request().expect("a WebSocket URL");
        if let Some(token) = bearer {
            request.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).expect("header value"),
            );
        }
        let (ws, response) =
            connect_async_tls_with_config(request, None, true, Some(Connector::Rustls(tls)))
                .await
                .expect("WebSocket upgrade through the gateway");
        assert_eq!(response.status(), 101, "upgrade answered {response:?}");
        Self {
            ws,
            kept: VecDeque::new(),
        }
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
