//! A real WebSocket client (tokio-tungstenite) with the waits the tests
//! need, each bounded.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, client_async_with_config,
    tungstenite::{
        self, Message,
        client::IntoClientRequest,
        http::{HeaderName, HeaderValue},
        protocol::WebSocketConfig,
    },
};

use crate::helpers::WITHIN;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Client {
    ws: Ws,
}

/// What ended a connection attempt or a socket.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// A close frame with this code.
    Closed(u16),
    /// The socket ended without a close frame.
    Dropped,
}

impl Client {
    /// Opens `/ws`, with `Authorization: Bearer` when a token is given.
    pub async fn connect(url: &str, token: Option<&str>) -> Result<Self, tungstenite::Error> {
        let mut headers = Vec::new();
        if let Some(token) = token {
            headers.push(("authorization", format!("Bearer {token}")));
        }
        Self::connect_with(url, &headers, None).await
    }

    /// Opens `/ws` with extra headers; `recv_buffer` shrinks the socket's
    /// receive buffer (a client that stops reading fills it fast).
    pub async fn connect_with(
        url: &str,
        headers: &[(&str, String)],
        recv_buffer: Option<u32>,
    ) -> Result<Self, tungstenite::Error> {
        let mut request = url.into_client_request()?;
        for (name, value) in headers {
            request.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        let addr = request
            .uri()
            .authority()
            .expect("authority")
            .as_str()
            .parse()
            .expect("socket address");
        let socket = TcpSocket::new_v4().expect("socket");
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        let stream = socket.connect(addr).await.map_err(tungstenite::Error::Io)?;
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (ws, _) =
            client_async_with_config(request, MaybeTlsStream::Plain(stream), Some(config)).await?;
        Ok(Self { ws })
    }

    pub async fn send_json(&mut self, value: serde_json::Value) {
        self.send_text(&value.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text))
            .await
            .expect("send a text frame");
    }

    pub async fn send(&mut self, message: Message) -> Result<(), tungstenite::Error> {
        self.ws.send(message).await
    }

    /// The next text frame as JSON (pings are answered by tungstenite).
    pub async fn next_json(&mut self) -> serde_json::Value {
        self.next_json_within(WITHIN).await
    }

    pub async fn next_json_within(&mut self, within: Duration) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("the socket ended")
                .expect("a WebSocket error");
            match message {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).expect("a JSON frame");
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next frame of this type, skipping live updates (`event.stock`,
    /// `coupon.issued`) that may come first.
    pub async fn next_of(&mut self, kind: &str) -> serde_json::Value {
        loop {
            let frame = self.next_json().await;
            if frame["type"] == kind {
                return frame;
            }
            assert!(
                frame["type"] == "event.stock" || frame["type"] == "coupon.issued",
                "expected {kind}, got {frame}"
            );
        }
    }

    /// Sends `ping` and waits for `pong`: every frame queued before it has
    /// arrived by then (and must be one of `allowed`), so this also proves
    /// that nothing unexpected was pending.
    pub async fn ping_pong(&mut self) {
        self.send_json(serde_json::json!({"type": "ping"})).await;
        let frame = self.next_json().await;
        assert_eq!(frame["type"], "pong", "expected pong, got {frame}");
    }

    /// Keeps reading (so tungstenite answers the server's pings) for
    /// `period`; nothing but control frames may arrive meanwhile.
    pub async fn stay_alive(&mut self, period: Duration) {
        let until = tokio::time::Instant::now() + period;
        while let Ok(message) = tokio::time::timeout_at(until, self.ws.next()).await {
            match message {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected only pings, got {other:?}"),
            }
        }
    }

    /// Pong frames received before the next text frame, and that frame.
    pub async fn pongs_before_text(&mut self) -> (usize, serde_json::Value) {
        let mut pongs = 0;
        loop {
            match tokio::time::timeout(WITHIN, self.ws.next())
                .await
                .expect("timed out waiting for a text frame")
            {
                Some(Ok(Message::Pong(_))) => pongs += 1,
                Some(Ok(Message::Text(text))) => {
                    return (pongs, serde_json::from_str(text.as_str()).expect("JSON"));
                }
                Some(Ok(_)) => {}
                other => panic!("the socket ended: {other:?}"),
            }
        }
    }

    /// Reads until the socket ends; returns how it ended.
    pub async fn ending(&mut self) -> Ending {
        self.ending_within(WITHIN).await
    }

    pub async fn ending_within(&mut self, within: Duration) -> Ending {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("timed out waiting for the socket to end")
            {
                Some(Ok(Message::Close(frame))) => {
                    return Ending::Closed(frame.map_or(1005, |f| u16::from(f.code)));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ending::Dropped,
            }
        }
    }

    /// Text frames until the close frame, and the close code.
    pub async fn drain_until_close(&mut self) -> (Vec<serde_json::Value>, Ending) {
        let mut frames = Vec::new();
        loop {
            match tokio::time::timeout(WITHIN, self.ws.next())
                .await
                .expect("timed out draining")
            {
                Some(Ok(Message::Text(text))) => {
                    frames.push(serde_json::from_str(text.as_str()).expect("JSON"));
                }
                Some(Ok(Message::Close(frame))) => {
                    return (
                        frames,
                        Ending::Closed(frame.map_or(1005, |f| u16::from(f.code))),
                    );
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return (frames, Ending::Dropped),
            }
        }
    }
}

/// The HTTP status and error code of a refused upgrade.
pub async fn refused(url: &str, headers: &[(&str, String)]) -> (u16, String) {
    match Client::connect_with(url, headers, None).await {
        Ok(_) => panic!("the upgrade was accepted"),
        Err(tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body: serde_json::Value = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or_default();
            (
                status,
                body["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}
