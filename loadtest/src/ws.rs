//! WebSocket clients of notify-service: connect with a bearer token, wait
//! for `welcome`, subscribe, and record when each frame arrived.

use std::{
    borrow::Cow,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_tungstenite::{
    connect_async_with_config,
    tungstenite::{
        Message, Utf8Bytes, client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig,
    },
};

/// tungstenite zero-fills `read_buffer_size` bytes before every read (128
/// KiB by default): with thousands of sockets each reading small frames,
/// that memset was most of the load generator's CPU in a fan-out, taken
/// from the servers it measures. Server frames are a few hundred bytes.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024)
}

/// A frame as received: its text and the arrival time. The JSON is parsed
/// when a report asks for it, not while frames arrive: the load generator
/// shares the cores with the servers it measures, and a fan-out brings
/// thousands of frames at once.
#[derive(Debug, Clone)]
pub struct Received {
    text: Utf8Bytes,
    pub at: Instant,
}

impl Received {
    /// The frame's JSON (`Null` if it is not JSON).
    pub fn frame(&self) -> Value {
        serde_json::from_str(self.text.as_str()).unwrap_or(Value::Null)
    }

    /// The frame's `type`, read without building the rest (borrowed from
    /// the frame's text unless it holds escapes).
    pub fn kind(&self) -> Option<Cow<'_, str>> {
        #[derive(serde::Deserialize)]
        struct Kind<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
        }
        serde_json::from_str::<Kind>(self.text.as_str())
            .ok()
            .map(|k| k.kind)
    }
}

/// Frames `Socket::open` waits for while setting the socket up.
const SETUP_FRAMES: [&str; 3] = ["welcome", "subscribed", "error"];

/// One open socket; frames are collected in the background.
pub struct Socket {
    pub user_id: i64,
    pub frames: Arc<Mutex<Vec<Received>>>,
    sender: tokio::sync::mpsc::UnboundedSender<Message>,
    task: JoinHandle<()>,
}

impl Socket {
    /// Connects, authenticates (Bearer on the upgrade) and waits for
    /// `welcome`; then subscribes to `events`, waiting for each `subscribed`.
    pub async fn open(
        ws_url: &str,
        token: &str,
        user_id: i64,
        events: &[i64],
    ) -> anyhow::Result<Self> {
        let mut request = ws_url.into_client_request()?;
        request.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}"))?,
        );
        let (stream, _) = tokio::time::timeout(
            Duration::from_secs(20),
            connect_async_with_config(request, Some(client_config()), false),
        )
        .await??;
        let (mut write, mut read) = stream.split();
        let frames: Arc<Mutex<Vec<Received>>> = Arc::default();
        let (sender, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<Message>();
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
        let store = frames.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(message) = outgoing.recv() => {
                        if write.send(message).await.is_err() { return; }
                    }
                    incoming = read.next() => match incoming {
                        Some(Ok(Message::Text(text))) => {
                            let received = Received { text, at: Instant::now() };
                            if received.kind().is_some_and(|k| SETUP_FRAMES.contains(&&*k)) {
                                let _ = ready_tx.send(received.frame());
                            }
                            if let Ok(mut frames) = store.lock() {
                                frames.push(received);
                            }
                        }
                        Some(Ok(Message::Ping(payload))) => {
                            if write.send(Message::Pong(payload)).await.is_err() { return; }
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                        Some(Ok(_)) => {}
                    },
                }
            }
        });
        let socket = Self {
            user_id,
            frames,
            sender,
            task,
        };
        socket.expect(&mut ready_rx, "welcome").await?;
        for event_id in events {
            socket.send(json!({"type": "subscribe", "event_id": event_id}))?;
            socket.expect(&mut ready_rx, "subscribed").await?;
        }
        Ok(socket)
    }

    async fn expect(
        &self,
        ready: &mut tokio::sync::mpsc::UnboundedReceiver<Value>,
        kind: &str,
    ) -> anyhow::Result<()> {
        let frame = tokio::time::timeout(Duration::from_secs(20), ready.recv())
            .await
            .map_err(|_| anyhow::anyhow!("no {kind} within 20 s"))?
            .ok_or_else(|| anyhow::anyhow!("socket closed before {kind}"))?;
        anyhow::ensure!(frame["type"] == kind, "expected {kind}, got {frame}");
        Ok(())
    }

    pub fn send(&self, frame: Value) -> anyhow::Result<()> {
        self.sender
            .send(Message::text(frame.to_string()))
            .map_err(|_| anyhow::anyhow!("socket closed"))
    }

    /// Frames of one type received so far.
    pub fn of_type(&self, kind: &str) -> Vec<Received> {
        self.frames
            .lock()
            .map(|f| {
                f.iter()
                    .filter(|r| r.kind().as_deref() == Some(kind))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn close(self) {
        self.task.abort();
    }
}
