//! WebSocket clients of notify-service: connect with a bearer token, wait
//! for `welcome`, subscribe, and record when each frame arrived.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

/// A frame as received: parsed JSON and the arrival time.
#[derive(Debug, Clone)]
pub struct Received {
    pub frame: Value,
    pub at: Instant,
}

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
        let (stream, _) =
            tokio::time::timeout(Duration::from_secs(20), connect_async(request)).await??;
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
                            let at = Instant::now();
                            let frame: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                            if matches!(frame["type"].as_str(), Some("welcome" | "subscribed" | "error")) {
                                let _ = ready_tx.send(frame.clone());
                            }
                            if let Ok(mut frames) = store.lock() {
                                frames.push(Received { frame, at });
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
                    .filter(|r| r.frame["type"] == kind)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn close(self) {
        self.task.abort();
    }
}
