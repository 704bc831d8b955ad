//! A test's own deployment (Redis key prefix, RabbitMQ names), notify-service
//! instances on port 0 inside it, a publisher standing in for coupon-service
//! and the helpers the tests share.

use std::{net::SocketAddr, time::Duration};

use actix_web::web;
use contract::{
    jwt::{Role, TokenSigner, now_unix},
    messages::{Envelope, Payload},
    redis_keys::EventKeys,
    topology::Topology,
};
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties,
    options::{BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions},
    types::ShortString,
};
use notify_service::{
    configuration::Settings, shutdown::ShutdownHandle, startup::Application, state::AppState,
};
use secrecy::SecretString;
use service_kit::{redis::RedisMode, tasks::Tasks};
use test_support::{
    FaultProxy, TEST_PUBLIC_KEY_PATH, TestScope, test_redis_nodes, test_signer, token,
};

use crate::client::Client;
pub const REDIS_ADDR: &str = "127.0.0.1:6379";
pub use test_support::AMQP_URL;
pub const AMQP_ADDR: &str = "127.0.0.1:5672";

/// A key the services under test do not trust.
pub const OTHER_PRIVATE_KEY: &[u8] =
    include_bytes!("../../../contract/test-keys/other-ed25519.pem");

/// Generous bound for anything asynchronous to show up (the 2-core CI box
/// may be compiling or running another suite at the same time).
pub const WITHIN: Duration = Duration::from_secs(20);
/// Starting an instance declares queues and connects to both brokers; a
/// broker busy expiring other suites' queues may not accept for a while.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// One test's world: names no other test shares, a token signer, and a
/// publisher playing coupon-service's outbox relay.
pub struct Deployment {
    pub redis_prefix: String,
    pub topology: Topology,
    pub signer: TokenSigner,
    publisher: Channel,
    _amqp: Connection,
    /// Last: the Redis keys and RabbitMQ names go once the rest is dropped.
    _scope: TestScope,
}

/// Which dependencies an instance reaches through a cuttable proxy.
#[derive(Default, Clone, Copy)]
pub struct Faults {
    pub redis: bool,
    pub rabbitmq: bool,
}

pub struct NotifyApp {
    pub port: u16,
    pub state: web::Data<AppState>,
    pub shutdown: ShutdownHandle,
    pub amqp_proxy: Option<FaultProxy>,
    pub redis_proxy: Option<FaultProxy>,
    pub stopped: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The instance's background tasks (tests kill one).
    pub tasks: Tasks,
}

/// Logs of the services under test, when `TEST_LOG` holds a filter
/// (e.g. `TEST_LOG=notify_service=debug`).
fn init_test_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    });
}

impl Deployment {
    /// Classic queues. Creating and, ten minutes later, expiring hundreds of
    /// quorum queues (one Raft group each) makes the shared 2-core broker
    /// stop accepting connections for tens of seconds. Manual ack,
    /// redelivery and dead-lettering behave the same on both types; the
    /// redelivery test runs on [`Self::with_quorum_queues`].
    pub async fn new() -> Self {
        Self::with_queue_type("classic").await
    }

    /// The production queue type.
    pub async fn with_quorum_queues() -> Self {
        Self::with_queue_type("quorum").await
    }

    async fn with_queue_type(queue_type: &str) -> Self {
        init_test_logs();
        let scope = TestScope::new().await.with_queue_type(queue_type);
        let topology = scope.topology.clone();
        let amqp = Connection::connect(AMQP_URL, ConnectionProperties::default())
            .await
            .expect("RabbitMQ is running");
        let publisher = amqp.create_channel().await.expect("channel");
        topology
            .declare(&publisher)
            .await
            .expect("declare topology");
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirms");
        let defaults = Settings::defaults().expect("defaults");
        Self {
            redis_prefix: scope.redis_prefix.clone(),
            signer: test_signer(
                &defaults.auth.key_id,
                &defaults.auth.issuer,
                &defaults.auth.audience,
            ),
            topology,
            publisher,
            _amqp: amqp,
            _scope: scope,
        }
    }

    /// Settings of an instance of this deployment (before `tweak`).
    pub fn settings(&self, redis_port: u16, amqp_port: u16) -> Settings {
        let mut s = Settings::defaults().expect("defaults");
        s.application.port = 0;
        s.application.workers = 2;
        s.redis.url = SecretString::from(format!("redis://127.0.0.1:{redis_port}"));
        s.redis.key_prefix = self.redis_prefix.clone();
        if let Some(nodes) = test_redis_nodes() {
            s.redis.mode = RedisMode::Cluster;
            s.redis.nodes = nodes.into_iter().map(SecretString::from).collect();
        }
        s.rabbitmq.url =
            SecretString::from(format!("amqp://guest:guest@127.0.0.1:{amqp_port}/%2f"));
        s.rabbitmq.exchange = self.topology.exchange.clone();
        s.rabbitmq.dead_letter_exchange = self.topology.dead_letter_exchange.clone();
        s.rabbitmq.queue_prefix = self.topology.queue_prefix.clone();
        s.rabbitmq.queue_type = self.topology.queue_type.clone();
        s.rabbitmq.queue_expires_ms = self.topology.queue_expires_ms;
        s.auth.public_key_path = TEST_PUBLIC_KEY_PATH.into();
        s.fanout.stream_ttl_secs = 600;
        s.fanout.dedup_ttl_secs = 600;
        s.coupon_api.url = String::new();
        s.log.level = "warn".into();
        s
    }

    pub async fn spawn(&self) -> NotifyApp {
        self.spawn_with(Faults::default(), |_| {}).await
    }

    /// Starts an instance and waits until it is ready (consumer attached,
    /// fan-out subscription live).
    /// An instance whose RabbitMQ connection runs through a fault proxy
    /// (`amqp_proxy`), to cut or freeze it.
    pub async fn spawn_behind_amqp_proxy(&self) -> NotifyApp {
        self.spawn_with(
            Faults {
                rabbitmq: true,
                ..Faults::default()
            },
            |_| {},
        )
        .await
    }

    /// An instance that only serves sockets (its RabbitMQ link is cut, so
    /// others consume) and whose Redis link can be cut (`lose_fanout`): the
    /// one that lives through a fan-out gap.
    pub async fn spawn_serving_only(&self) -> NotifyApp {
        let app = self
            .spawn_with(
                Faults {
                    redis: true,
                    rabbitmq: true,
                },
                |_| {},
            )
            .await;
        app.amqp_proxy.as_ref().expect("a proxy").cut();
        app
    }

    pub async fn spawn_with(&self, faults: Faults, tweak: impl FnOnce(&mut Settings)) -> NotifyApp {
        let redis_proxy = proxy_if(faults.redis, REDIS_ADDR).await;
        let amqp_proxy = proxy_if(faults.rabbitmq, AMQP_ADDR).await;
        let mut settings = self.settings(
            redis_proxy.as_ref().map_or(6379, |p| p.port),
            amqp_proxy.as_ref().map_or(5672, |p| p.port),
        );
        tweak(&mut settings);
        let app = Application::build(settings)
            .await
            .expect("notify-service builds");
        let port = app.port();
        let state = app.state();
        let shutdown = app.shutdown_handle();
        let tasks = app.tasks();
        let stopped = tokio::spawn(app.run_until_stopped());
        let app = NotifyApp {
            port,
            state,
            shutdown,
            amqp_proxy,
            redis_proxy,
            stopped,
            tasks,
        };
        app.wait_ready().await;
        app
    }

    pub fn token(&self, user_id: i64) -> String {
        token(&self.signer, user_id, Role::User)
    }

    /// A token of one sign-in session (`sid`), as coupon-service mints them.
    pub fn session_token(&self, user_id: i64, session: uuid::Uuid) -> String {
        self.signer
            .sign_in_session(user_id, Role::User, Some(session), now_unix(), 900)
    }

    /// A token signed by a key the services do not trust.
    pub fn forged_token(&self, user_id: i64) -> String {
        let defaults = Settings::defaults().expect("defaults");
        TokenSigner::from_private_pem(
            &defaults.auth.key_id,
            OTHER_PRIVATE_KEY,
            &defaults.auth.issuer,
            &defaults.auth.audience,
        )
        .expect("other key")
        .sign(user_id, Role::User, now_unix(), 900)
    }

    /// A token that expired a minute ago (beyond any leeway).
    pub fn expired_token(&self, user_id: i64) -> String {
        self.signer.sign(user_id, Role::User, now_unix() - 120, 60)
    }

    /// Publishes like coupon-service's relay: persistent, `message_id` =
    /// envelope id, publisher confirm awaited.
    pub async fn publish<T: Payload>(&self, message: &Envelope<T>) {
        let body = serde_json::to_vec(message).expect("serialise");
        self.publish_raw(T::KIND, &body, &message.id.to_string())
            .await;
    }

    pub async fn publish_raw(&self, routing_key: &str, body: &[u8], message_id: &str) {
        self.publish_many(routing_key, [(body.to_vec(), message_id.to_owned())])
            .await;
    }

    /// Publishes a batch, pipelined, then awaits every confirm.
    pub async fn publish_many(
        &self,
        routing_key: &str,
        messages: impl IntoIterator<Item = (Vec<u8>, String)>,
    ) {
        let mut confirms = Vec::new();
        for (body, id) in messages {
            let confirm = self
                .publisher
                .basic_publish(
                    self.topology.exchange.as_str().into(),
                    routing_key.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &body,
                    BasicProperties::default()
                        .with_message_id(ShortString::from(id))
                        .with_content_type(ShortString::from("application/json"))
                        .with_delivery_mode(2),
                )
                .await
                .expect("publish");
            confirms.push(confirm);
        }
        for confirm in confirms {
            let confirmation = confirm.await.expect("confirm");
            assert!(
                confirmation.is_ack(),
                "broker refused a message: {confirmation:?}"
            );
        }
    }

    /// Bodies waiting in the dead-letter queue (consumed).
    pub async fn drain_dead_letters(&self) -> Vec<Vec<u8>> {
        use lapin::options::BasicAckOptions;
        let mut bodies = Vec::new();
        while let Some(message) = self
            .publisher
            .basic_get(
                self.topology.dead_letter_queue().as_str().into(),
                BasicGetOptions::default(),
            )
            .await
            .expect("basic.get")
        {
            bodies.push(message.delivery.data.clone());
            message
                .delivery
                .ack(BasicAckOptions::default())
                .await
                .expect("ack");
        }
        bodies
    }

    pub async fn redis(&self) -> service_kit::redis::RedisConn {
        test_support::redis_connection().await
    }

    /// Writes an event's issuance state the way coupon-service does
    /// (`event:{id}:info` and `:stock`), running from a minute ago for an hour.
    pub async fn load_event(&self, event_id: i64, total: i64, remaining: i64) {
        let now_ms = chrono::Utc::now().timestamp_millis();
        self.load_event_window(
            event_id,
            total,
            remaining,
            now_ms - 60_000,
            now_ms + 3_600_000,
        )
        .await;
    }

    pub async fn load_event_window(
        &self,
        event_id: i64,
        total: i64,
        remaining: i64,
        start_ms: i64,
        end_ms: i64,
    ) {
        let keys = EventKeys::new(&self.redis_prefix, event_id);
        let mut c = self.redis().await;
        let _: () = redis::pipe()
            .cmd("HSET")
            .arg(keys.info())
            .arg(&[
                ("start_ms", start_ms.to_string()),
                ("end_ms", end_ms.to_string()),
                ("total", total.to_string()),
                ("max_per_user", "1".to_owned()),
                ("closed", "0".to_owned()),
            ])
            .ignore()
            .cmd("SET")
            .arg(keys.stock())
            .arg(remaining)
            .ignore()
            .cmd("EXPIRE")
            .arg(keys.info())
            .arg(600)
            .ignore()
            .cmd("EXPIRE")
            .arg(keys.stock())
            .arg(600)
            .ignore()
            .query_async(&mut c)
            .await
            .expect("load event");
    }

    /// A connected, authenticated client (bearer header) whose personal
    /// messages flow at once (a ping ends the resume window).
    pub async fn connect(&self, app: &NotifyApp, user_id: i64) -> Client {
        connect_with(app, &self.token(user_id)).await
    }

    /// Connects and subscribes to the event; returns the snapshot frame.
    pub async fn watcher(&self, app: &NotifyApp, user_id: i64, event_id: i64) -> Client {
        let mut client = self.connect(app, user_id).await;
        client
            .send_json(serde_json::json!({"type": "subscribe", "event_id": event_id}))
            .await;
        let subscribed = client.next_json().await;
        assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
        client
    }
}

/// A client connected with this token (bearer header), welcomed, whose
/// personal messages flow at once (a ping ends the resume window).
pub async fn connect_with(app: &NotifyApp, token: &str) -> Client {
    let mut client = Client::connect(&app.ws_url(), Some(token))
        .await
        .expect("upgrade");
    let welcome = client.next_json().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    client.ping_pong().await;
    client
}

async fn proxy_if(wanted: bool, target: &str) -> Option<FaultProxy> {
    if wanted {
        Some(FaultProxy::start(target.parse::<SocketAddr>().expect("addr")).await)
    } else {
        None
    }
}

impl NotifyApp {
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn readyz(&self) -> u16 {
        match reqwest::get(self.url("/readyz")).await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        }
    }

    pub async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        loop {
            let response = reqwest::get(self.url("/readyz")).await;
            let (status, body) = match response {
                Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                Err(e) => (0, e.to_string()),
            };
            if status == 200 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "notify-service not ready: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The value of one counter or gauge line of `/metrics`, 0 if absent.
    pub fn metric(&self, name_and_labels: &str) -> f64 {
        self.state
            .metrics
            .render()
            .lines()
            .find_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                (name == name_and_labels).then(|| value.parse().ok())?
            })
            .unwrap_or(0.0)
    }

    /// Cuts the Redis link (of [`Deployment::spawn_serving_only`]) and
    /// waits until the instance noticed its fan-out subscription is gone.
    pub async fn lose_fanout(&self) {
        self.redis_proxy.as_ref().expect("a proxy").cut();
        eventually(
            WITHIN,
            "the instance noticed the lost subscription",
            || async { self.metric("notify_redis_subscriber_up") == 0.0 },
        )
        .await;
    }

    /// Gives the Redis link back (the subscription resumes after a gap).
    pub fn regain_fanout(&self) {
        self.redis_proxy.as_ref().expect("a proxy").restore();
    }

    pub fn consumed(&self, kind: &str, outcome: &str) -> f64 {
        self.metric(&format!(
            "notify_amqp_consumed_total{{outcome=\"{outcome}\",type=\"{kind}\"}}"
        ))
    }

    pub fn closes(&self, reason: &str) -> f64 {
        self.metric(&format!("notify_ws_closes_total{{reason=\"{reason}\"}}"))
    }
}

/// Polls `check` until it returns true or `within` passes (never a bare sleep).
pub use test_support::eventually;

/// Percentile (0–100) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64)).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn issued(user_id: i64, coupon_id: i64) -> Envelope<contract::messages::CouponIssued> {
    Envelope::new(
        contract::messages::CouponIssued {
            user_id,
            coupon_id,
            event_id: 1,
            coupon_code: format!("TEST-{coupon_id:08}"),
            discount_value: 10,
        },
        chrono::Utc::now(),
    )
}

pub fn soldout(event_id: i64) -> Envelope<contract::messages::CouponSoldout> {
    Envelope::new(
        contract::messages::CouponSoldout {
            event_id,
            event_title: "Test sale".into(),
        },
        chrono::Utc::now(),
    )
}

pub fn stock(event_id: i64, remaining: i64) -> Envelope<contract::messages::EventStock> {
    Envelope::new(
        contract::messages::EventStock {
            event_id,
            remaining,
            total: 1_000_000,
        },
        chrono::Utc::now(),
    )
}

pub fn updated(
    event_id: i64,
    status: &str,
    total: i64,
) -> Envelope<contract::messages::EventUpdated> {
    let now = chrono::Utc::now();
    Envelope::new(
        contract::messages::EventUpdated {
            event_id,
            status: status.into(),
            remaining: total / 2,
            total,
            start_time: now - chrono::Duration::minutes(5),
            end_time: now + chrono::Duration::minutes(5),
            title: "Test sale".into(),
        },
        now,
    )
}

pub fn revoked(
    user_id: i64,
    session: Option<uuid::Uuid>,
) -> Envelope<contract::messages::SessionRevoked> {
    Envelope::new(
        contract::messages::SessionRevoked {
            user_id,
            session_id: session,
        },
        chrono::Utc::now(),
    )
}
