//! WebSocket clients of notify-service: open a socket signed in (bearer
//! token, then `welcome`) or as an anonymous watcher (no token, `subscribe`
//! first), subscribe, and record when frames arrived. The connection
//! itself (source address, TLS, headers) is made in `ws/connect.rs`.

pub mod connect;

use std::{
    borrow::Cow,
    net::IpAddr,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

pub use connect::Endpoint;
use connect::Stream;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{
    self, Message, Utf8Bytes,
    http::{HeaderName, HeaderValue},
};

/// How long connecting, and then each setup step, may take.
const SETUP_WITHIN: Duration = Duration::from_secs(20);

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
    pub fn frame(&self) -> serde_json::Value {
        serde_json::from_str(self.text.as_str()).unwrap_or(serde_json::Value::Null)
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

/// Who the socket is.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: Bearer` on the upgrade; the server answers `welcome`.
    Bearer { token: String, user_id: i64 },
    /// No token: an anonymous watcher. Its first frame must be a
    /// `subscribe`, and no `welcome` comes.
    Anonymous,
}

/// What a socket keeps of the frames it receives.
#[derive(Debug, Clone, Copy)]
pub enum Keep {
    /// Every frame with its arrival: the invariant checks read them.
    All,
    /// Only how many frames of this type came, and when the first did. A
    /// crowd of 100,000 sockets lives in the load generator too: it needs
    /// the sold-out's arrival, not every stock update each socket got.
    Count(&'static str),
}

/// How one socket is opened.
#[derive(Debug, Clone)]
pub struct Options {
    pub auth: Auth,
    /// Subscribed to in order, each awaiting its `subscribed`.
    pub events: Vec<i64>,
    /// The loopback address to connect from (None: the system's choice).
    pub source: Option<IpAddr>,
    /// Added to the upgrade request (e.g. `X-Forwarded-For`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub keep: Keep,
}

impl Options {
    /// A signed-in device keeping every frame.
    pub fn signed_in(token: &str, user_id: i64, events: &[i64]) -> Self {
        Self {
            auth: Auth::Bearer {
                token: token.to_owned(),
                user_id,
            },
            events: events.to_vec(),
            source: None,
            headers: Vec::new(),
            keep: Keep::All,
        }
    }
}

/// Why a socket's setup failed after the upgrade.
#[derive(Debug)]
pub enum SetupError {
    /// The expected frame did not come in time.
    Timeout(&'static str),
    /// The server closed the socket first.
    Closed(&'static str),
    /// The server answered with an `error` frame (its code).
    Refused(String),
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout(kind) => write!(f, "no {kind} within {SETUP_WITHIN:?}"),
            Self::Closed(kind) => write!(f, "socket closed before {kind}"),
            Self::Refused(code) => write!(f, "error frame {code}"),
        }
    }
}

impl std::error::Error for SetupError {}

/// A short name for why a socket did not open, for outcome counts:
/// `refused 503`, `error frame event_not_found`, `timeout`, `io …`.
pub fn failure_kind(error: &anyhow::Error) -> String {
    if let Some(e) = error.downcast_ref::<SetupError>() {
        return match e {
            SetupError::Timeout(_) => "timeout".into(),
            SetupError::Closed(_) => "closed during setup".into(),
            SetupError::Refused(code) => format!("error frame {code}"),
        };
    }
    if let Some(e) = error.downcast_ref::<tungstenite::Error>() {
        return match e {
            tungstenite::Error::Http(response) => format!("refused {}", response.status().as_u16()),
            tungstenite::Error::Io(io) => format!("io {:?}", io.kind()),
            tungstenite::Error::Tls(_) => "tls".into(),
            _ => "websocket".into(),
        };
    }
    if let Some(io) = error.downcast_ref::<std::io::Error>() {
        return format!("io {:?}", io.kind());
    }
    if error.is::<tokio::time::error::Elapsed>() {
        return "timeout".into();
    }
    "other".into()
}

/// How many frames of one type a socket got, and when the first came.
#[derive(Debug, Clone, Copy, Default)]
pub struct Arrivals {
    pub count: u32,
    pub first: Option<Instant>,
    /// The first one's arrival by the wall clock (`Keep::Count` sockets
    /// only): comparable across processes, which share no `Instant`.
    pub first_wall: Option<SystemTime>,
}

/// What the reading task records, read by the scenario.
struct Shared {
    store: Store,
    /// The server closed the socket (or it failed) after setup.
    closed: AtomicBool,
}

enum Store {
    All(Mutex<Vec<Received>>),
    Count {
        kind: &'static str,
        count: AtomicU32,
        /// The first one's arrival, monotonic and by the wall clock.
        first: OnceLock<(Instant, SystemTime)>,
    },
}

impl Shared {
    fn new(keep: Keep) -> Self {
        Self {
            store: match keep {
                Keep::All => Store::All(Mutex::default()),
                Keep::Count(kind) => Store::Count {
                    kind,
                    count: AtomicU32::new(0),
                    first: OnceLock::new(),
                },
            },
            closed: AtomicBool::new(false),
        }
    }

    fn record(&self, received: Received) {
        match &self.store {
            Store::All(frames) => {
                if let Ok(mut frames) = frames.lock() {
                    frames.push(received);
                }
            }
            Store::Count { kind, count, first } => {
                if received.kind().as_deref() == Some(*kind) {
                    // Read once per socket (the first of its kind only).
                    if first.get().is_none() {
                        let _ = first.set((received.at, SystemTime::now()));
                    }
                    count.fetch_add(1, Ordering::Release);
                }
            }
        }
    }
}

/// One open socket; frames are recorded in the background.
pub struct Socket {
    /// The signed-in user; None for an anonymous watcher.
    pub user_id: Option<i64>,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Socket {
    /// A signed-in device keeping every frame: connects with the token,
    /// waits for `welcome`, then subscribes to `events`.
    pub async fn open(
        endpoint: &Endpoint,
        token: &str,
        user_id: i64,
        events: &[i64],
    ) -> anyhow::Result<Self> {
        Self::open_with(endpoint, Options::signed_in(token, user_id, events)).await
    }

    /// Connects as `options` say, waits for `welcome` (signed in), then
    /// subscribes to each event, waiting for its `subscribed`; only then
    /// does a task of its own read the socket.
    pub async fn open_with(endpoint: &Endpoint, options: Options) -> anyhow::Result<Self> {
        let mut headers = options.headers;
        let user_id = match &options.auth {
            Auth::Bearer { token, user_id } => {
                headers.push((
                    HeaderName::from_static("authorization"),
                    HeaderValue::from_str(&format!("Bearer {token}"))?,
                ));
                Some(*user_id)
            }
            Auth::Anonymous => {
                anyhow::ensure!(
                    !options.events.is_empty(),
                    "an anonymous watcher subscribes first: it needs an event"
                );
                None
            }
        };
        let mut stream = tokio::time::timeout(
            SETUP_WITHIN,
            connect::connect(endpoint, options.source, &headers),
        )
        .await??;
        let shared = Arc::new(Shared::new(options.keep));
        if user_id.is_some() {
            expect(&mut stream, &shared, "welcome").await?;
        }
        for event_id in &options.events {
            let subscribe = json!({"type": "subscribe", "event_id": event_id});
            stream.send(Message::text(subscribe.to_string())).await?;
            expect(&mut stream, &shared, "subscribed").await?;
        }
        let task = tokio::spawn(read_until_closed(stream, shared.clone()));
        Ok(Self {
            user_id,
            shared,
            task,
        })
    }

    /// Frames of one type received so far (`Keep::All` sockets only; the
    /// others keep no frames).
    pub fn of_type(&self, kind: &str) -> Vec<Received> {
        match &self.shared.store {
            Store::All(frames) => frames
                .lock()
                .map(|f| {
                    f.iter()
                        .filter(|r| r.kind().as_deref() == Some(kind))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            Store::Count { .. } => Vec::new(),
        }
    }

    /// The frames from the `from`-th on (`Keep::All` sockets): a reader
    /// keeping a cursor sees each frame once, without rescanning.
    pub fn frames_from(&self, from: usize) -> Vec<Received> {
        match &self.shared.store {
            Store::All(frames) => frames
                .lock()
                .map(|f| f.get(from..).map(<[Received]>::to_vec).unwrap_or_default())
                .unwrap_or_default(),
            Store::Count { .. } => Vec::new(),
        }
    }

    /// How many frames of `kind` came and when the first did (a
    /// `Keep::Count` socket knows only the type it counts).
    pub fn arrivals(&self, kind: &str) -> Arrivals {
        match &self.shared.store {
            Store::All(_) => {
                let frames = self.of_type(kind);
                Arrivals {
                    count: u32::try_from(frames.len()).unwrap_or(u32::MAX),
                    first: frames.first().map(|f| f.at),
                    first_wall: None,
                }
            }
            Store::Count {
                kind: counted,
                count,
                first,
            } if *counted == kind => {
                let first = first.get().copied();
                Arrivals {
                    count: count.load(Ordering::Acquire),
                    first: first.map(|(at, _)| at),
                    first_wall: first.map(|(_, wall)| wall),
                }
            }
            Store::Count { .. } => Arrivals::default(),
        }
    }

    /// Whether the server ended the socket (or it failed) since it opened.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    pub fn close(self) {
        self.task.abort();
    }
}

/// Reads frames (recording each) until one of `kind` comes; an `error`
/// frame, the end of the socket or `SETUP_WITHIN` ends the wait.
async fn expect(stream: &mut Stream, shared: &Shared, kind: &'static str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + SETUP_WITHIN;
    loop {
        let message = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Err(SetupError::Timeout(kind).into()),
            Ok(Some(Ok(message))) => message,
            Ok(None | Some(Err(_))) => return Err(SetupError::Closed(kind).into()),
        };
        match message {
            Message::Text(text) => {
                let received = Received {
                    text,
                    at: Instant::now(),
                };
                let got = received.kind().map(Cow::into_owned);
                if got.as_deref() == Some("error") {
                    let code = received.frame()["code"].as_str().unwrap_or("?").to_owned();
                    return Err(SetupError::Refused(code).into());
                }
                shared.record(received);
                if got.as_deref() == Some(kind) {
                    return Ok(());
                }
            }
            Message::Close(_) => return Err(SetupError::Closed(kind).into()),
            _ => {}
        }
    }
}

/// The socket's life after setup. Pings need no code here: tungstenite
/// queues the pong when it reads a ping and sends it on the next read.
async fn read_until_closed(mut stream: Stream, shared: Arc<Shared>) {
    while let Some(Ok(message)) = stream.next().await {
        if let Message::Text(text) = message {
            shared.record(Received {
                text,
                at: Instant::now(),
            });
        }
    }
    shared.closed.store(true, Ordering::Release);
}
