//! `spawn_app()`: a real coupon-service on port 0 with its own database,
//! Redis key prefix and RabbitMQ names.

use std::{net::SocketAddr, time::Duration};

use actix_web::web;
use chrono::{DateTime, Utc};
use contract::{
    jwt::{Role, TokenSigner},
    redis_keys::EventKeys,
    topology::Topology,
};
use coupon_service::{
    configuration::Settings,
    events::{Event, NewEvent, store},
    startup::{Application, ShutdownTrigger},
    state::AppState,
};
use futures::future::join_all;
use lapin::{Connection, ConnectionProperties};
use secrecy::SecretString;
use service_kit::{redis::RedisMode, tasks::Tasks};
use sqlx::PgPool;
pub use test_support::AMQP_URL;
use test_support::{
    FaultProxy, TEST_PRIVATE_KEY_PATH, TEST_PUBLIC_KEY_PATH, TestScope, insert_admin, insert_users,
    test_redis_nodes, test_signer, token,
};
use tokio::task::JoinHandle;
pub const PG_ADDR: &str = "127.0.0.1:5432";
pub const REDIS_ADDR: &str = "127.0.0.1:6379";
pub const AMQP_ADDR: &str = "127.0.0.1:5672";

pub struct TestApp {
    pub address: String,
    pub db: PgPool,
    pub redis_prefix: String,
    pub topology: Topology,
    pub signer: TokenSigner,
    pub client: reqwest::Client,
    pub state: web::Data<AppState>,
    /// Present when the app reaches that service through a cuttable proxy.
    pub pg_proxy: Option<FaultProxy>,
    pub redis_proxy: Option<FaultProxy>,
    pub amqp_proxy: Option<FaultProxy>,
    /// The app's background tasks (tests kill one to see readiness fail).
    pub tasks: Tasks,
    pub shutdown: ShutdownTrigger,
    /// The server task; ends once a triggered shutdown has run its course.
    pub stopped: Option<JoinHandle<std::io::Result<()>>>,
    /// Last: the database and names go once everything above is dropped.
    _scope: TestScope,
}

/// Which services the app should reach through a cuttable proxy.
#[derive(Default, Clone, Copy)]
pub struct Faults {
    pub postgres: bool,
    pub redis: bool,
    pub rabbitmq: bool,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Faults::default(), |_| {}).await
}

pub async fn spawn_app_with(faults: Faults, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let scope = TestScope::with_database().await;

    let pg_proxy = proxy_if(faults.postgres, PG_ADDR).await;
    let redis_proxy = proxy_if(faults.redis, REDIS_ADDR).await;
    let amqp_proxy = proxy_if(faults.rabbitmq, AMQP_ADDR).await;
    let pg_port = pg_proxy.as_ref().map_or(5432, |p| p.port);
    let redis_port = redis_proxy.as_ref().map_or(6379, |p| p.port);
    let amqp_port = amqp_proxy.as_ref().map_or(5672, |p| p.port);

    let mut settings = Settings::defaults().expect("defaults");
    settings.application.port = 0;
    settings.application.workers = 2;
    settings.database.url = SecretString::from(scope.database_url(pg_port));
    settings.database.acquire_timeout_ms = 1000;
    settings.redis.url = SecretString::from(format!("redis://127.0.0.1:{redis_port}"));
    settings.redis.key_prefix.clone_from(&scope.redis_prefix);
    if let Some(nodes) = test_redis_nodes() {
        // The suite's cluster pass (a fault proxy stands for one server only).
        assert!(!faults.redis, "Redis faults are single-server tests");
        settings.redis.mode = RedisMode::Cluster;
        settings.redis.nodes = nodes.into_iter().map(SecretString::from).collect();
    }
    settings.rabbitmq.url =
        SecretString::from(format!("amqp://guest:guest@127.0.0.1:{amqp_port}/%2f"));
    settings
        .rabbitmq
        .exchange
        .clone_from(&scope.topology.exchange);
    settings
        .rabbitmq
        .dead_letter_exchange
        .clone_from(&scope.topology.dead_letter_exchange);
    settings
        .rabbitmq
        .queue_prefix
        .clone_from(&scope.topology.queue_prefix);
    settings.rabbitmq.queue_expires_ms = scope.topology.queue_expires_ms;
    settings
        .rabbitmq
        .queue_type
        .clone_from(&scope.topology.queue_type);
    settings.auth.public_key_path = TEST_PUBLIC_KEY_PATH.into();
    settings.auth.private_key_path = Some(TEST_PRIVATE_KEY_PATH.into());
    // Limits are tested on their own; elsewhere they must not interfere.
    settings.rate_limit.issue_per_second = 100_000;
    settings.rate_limit.issue_burst = 100_000;
    settings.rate_limit.redeem_per_second = 100_000;
    settings.rate_limit.redeem_burst = 100_000;
    settings.rate_limit.auth_per_minute = 100_000;
    settings.rate_limit.auth_burst = 100_000;
    settings.rate_limit.login_failures_per_address = 100_000;
    settings.rate_limit.login_failures_per_account = 100_000;
    settings.issuance.preload_interval_ms = 200;
    tweak(&mut settings);

    let redis_prefix = settings.redis.key_prefix.clone();
    let topology = settings.rabbitmq.topology();
    let auth = settings.auth.clone();
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let tasks = app.tasks();
    let shutdown = app.shutdown_trigger();
    let stopped = tokio::spawn(app.run_until_stopped());

    let db = PgPool::connect(&scope.database_url(5432))
        .await
        .expect("test pool");
    TestApp {
        address,
        db,
        redis_prefix,
        topology,
        signer: test_signer(&auth.key_id, &auth.issuer, &auth.audience),
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(2000)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        state,
        pg_proxy,
        redis_proxy,
        amqp_proxy,
        tasks,
        shutdown,
        stopped: Some(stopped),
        _scope: scope,
    }
}

async fn proxy_if(wanted: bool, target: &str) -> Option<FaultProxy> {
    if wanted {
        Some(FaultProxy::start(target.parse::<SocketAddr>().expect("addr")).await)
    } else {
        None
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Inserts `n` users and returns their ids.
    pub async fn create_users(&self, n: i64) -> Vec<i64> {
        insert_users(&self.db, n).await
    }

    pub fn token(&self, user_id: i64) -> String {
        token(&self.signer, user_id, Role::User)
    }

    /// A new ADMIN account and a token for it.
    pub async fn create_admin(&self) -> (i64, String) {
        let id = insert_admin(&self.db).await;
        (id, token(&self.signer, id, Role::Admin))
    }

    /// POST a JSON body (with a token when given); returns status and body.
    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let response = req.send().await.expect("POST");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// PATCH a JSON body with a token; returns status and body.
    pub async fn patch_json(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = self
            .client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("PATCH");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// GET with a token; returns status and body.
    pub async fn get_with(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let response = req.send().await.expect("GET");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// An event running now (started a minute ago, ends in an hour).
    pub async fn create_event(&self, total: i32, max_per_user: i32) -> Event {
        let now = Utc::now();
        self.create_event_at(
            total,
            max_per_user,
            now - chrono::Duration::minutes(1),
            now + chrono::Duration::hours(1),
        )
        .await
    }

    pub async fn create_event_at(
        &self,
        total: i32,
        max_per_user: i32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Event {
        store::insert(
            &self.db,
            &NewEvent {
                title: format!("Test sale of {total}"),
                description: "integration test".into(),
                total_count: total,
                max_per_user,
                start_time: start,
                end_time: end,
                discount_type: "percentage".into(),
                discount_value: 10,
                min_purchase_amount: 0,
                valid_days: 30,
                code_prefix: "TEST".into(),
                admission: Default::default(),
                queue_opens_at: None,
                claim_window_secs: coupon_service::events::model::DEFAULT_CLAIM_WINDOW_SECS,
                queue_only_existing_accounts: false,
                entry_opens_at: None,
                entry_closes_at: None,
                draw_at: None,
                draw_beacon_round: None,
                draw_beacon: None,
            },
        )
        .await
        .expect("insert event")
    }

    /// GET a path (with a token when given) and parse the JSON body.
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> serde_json::Value {
        let mut req = self.client.get(self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON body")
    }

    pub async fn issue(&self, token: &str, event_id: i64, idem: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/api/coupons/issue"))
            .bearer_auth(token)
            .json(&serde_json::json!({"event_id": event_id}));
        if let Some(key) = idem {
            req = req.header("Idempotency-Key", key);
        }
        req.send().await.expect("issue request")
    }

    pub async fn coupon_count(&self, event_id: i64) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM user_coupons WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(&self.db)
            .await
            .expect("count")
    }

    /// Largest number of coupons any one user holds in the event.
    pub async fn max_coupons_per_user(&self, event_id: i64) -> i64 {
        sqlx::query_scalar(
            "SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM user_coupons \
             WHERE event_id = $1 GROUP BY user_id) t",
        )
        .bind(event_id)
        .fetch_one(&self.db)
        .await
        .expect("max per user")
    }

    async fn redis(&self) -> service_kit::redis::RedisConn {
        test_support::redis_connection().await
    }

    pub async fn redis_remaining(&self, event_id: i64) -> Option<i64> {
        let key = self.state.redis.keys(event_id).stock();
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.redis().await)
            .await
            .expect("GET")
    }

    /// Entries in the event's pending hash (placeholder excluded), read
    /// straight from Redis (not through the app's proxy, if it has one).
    pub async fn redis_pending(&self, event_id: i64) -> usize {
        let key = self.state.redis.keys(event_id).pending();
        let fields: Vec<String> = redis::cmd("HKEYS")
            .arg(key)
            .query_async(&mut self.redis().await)
            .await
            .expect("HKEYS pending");
        fields.iter().filter(|f| f.as_str() != "_").count()
    }

    /// Deletes every Redis key of the event (a Redis that lost its state).
    pub async fn flush_event_keys(&self, event_id: i64) {
        let pattern = EventKeys::new(&self.redis_prefix, event_id).pattern();
        let mut c = self.redis().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut c)
            .await
            .expect("KEYS");
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut c)
                .await
                .expect("DEL");
        }
    }

    /// Each user presses once, all at once; the statuses, in user order.
    pub async fn issue_once_each(&self, users: &[i64], event_id: i64) -> Vec<u16> {
        join_all(users.iter().map(|u| async move {
            self.issue(&self.token(*u), event_id, None)
                .await
                .status()
                .as_u16()
        }))
        .await
    }

    /// Waits until the outbox relay holds a broker connection.
    pub async fn relay_connected(&self) {
        eventually(Duration::from_secs(10), "relay connected", || async {
            self.state.relay.is_up()
        })
        .await;
    }

    /// Waits until every outbox row is published and marked.
    pub async fn outbox_published(&self, within: Duration) {
        eventually(within, "outbox published and marked", || async {
            self.unpublished_outbox().await == 0
        })
        .await;
    }

    pub async fn unpublished_outbox(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&self.db)
            .await
            .expect("outbox count")
    }

    /// Every message in one of this test's queues (consumed), a packed
    /// AMQP message counting as the messages it carries.
    pub async fn drain_queue(&self, routing_key: &str) -> Vec<serde_json::Value> {
        self.drain_amqp(routing_key)
            .await
            .into_iter()
            .flat_map(|body| match body {
                serde_json::Value::Array(messages) => messages,
                single => vec![single],
            })
            .collect()
    }

    /// The AMQP messages of one of this test's queues (consumed), as sent:
    /// a packed one is the JSON array of its messages.
    pub async fn drain_amqp(&self, routing_key: &str) -> Vec<serde_json::Value> {
        use lapin::options::{BasicAckOptions, BasicGetOptions};
        let conn = Connection::connect(AMQP_URL, ConnectionProperties::default())
            .await
            .expect("RabbitMQ is running");
        let channel = conn.create_channel().await.expect("channel");
        let mut bodies = Vec::new();
        while let Some(message) = channel
            .basic_get(
                self.topology.queue(routing_key).as_str().into(),
                BasicGetOptions::default(),
            )
            .await
            .expect("basic.get")
        {
            bodies.push(serde_json::from_slice(&message.delivery.data).expect("JSON body"));
            message
                .delivery
                .ack(BasicAckOptions::default())
                .await
                .expect("ack");
        }
        let _ = conn.close(0, "".into()).await;
        bodies
    }
}

/// Polls `check` until it returns true or `within` passes (never a bare sleep).
pub use test_support::eventually;

pub async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Many events at once, for the list tests.
impl TestApp {
    /// Inserts `n` events titled `"{title} {i}"` (i from 1), all running from
    /// `start` to `end`, each starting `i` seconds later than `start` so they
    /// have a fixed order; returns their ids by `i`.
    pub async fn insert_events(
        &self,
        n: i32,
        title: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<i64> {
        let mut ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO coupon_events (title, total_count, start_time, end_time, \
             discount_type, discount_value, code_prefix) \
             SELECT $1 || ' ' || g, 10, $2 + g * interval '1 second', $3 + g * interval '1 second', \
             'fixed', 100, 'BULK' FROM generate_series(1, $4) g ORDER BY g RETURNING id",
        )
        .bind(title)
        .bind(start)
        .bind(end)
        .bind(n)
        .fetch_all(&self.db)
        .await
        .expect("insert events");
        // Ids are drawn in insertion order, which is `i`'s.
        ids.sort_unstable();
        ids
    }
}
