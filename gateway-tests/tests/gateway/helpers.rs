//! A test's own deployment behind its own nginx: a database, Redis key
//! prefix and RabbitMQ names no other test shares; two coupon-service and two
//! notify-service processes on ports of their choosing; nginx rendered from
//! `nginx/*.template` by `scripts/lib/gateway.sh` (the code `scripts/dev up`
//! uses) with a fresh self-signed certificate, listening on a free port.
//! Everything is stopped and removed when the `Stack` is dropped; the shared
//! PostgreSQL, Redis and RabbitMQ servers are never touched beyond that.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use contract::{
    jwt::{Role, TokenSigner},
    redis_keys::EventKeys,
    topology::Topology,
};
use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, pem::PemObject},
};
use serde_json::{Value, json};
use sqlx::PgPool;
use test_support::{FaultProxy, TestScope, insert_admin, insert_users, test_signer, token};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, ChildStdin, Command},
};

use crate::client::WsClient;

const PG_ADDR: &str = "127.0.0.1:5432";

/// The issue endpoint's series in coupon-service's request metrics.
pub const ISSUE_ROUTE: &str = r#"route="/api/coupons/issue""#;

/// Generous bound for anything asynchronous to show up.
pub const WITHIN: Duration = Duration::from_secs(15);

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

fn test_key(name: &str) -> String {
    repo_root()
        .join("contract/test-keys")
        .join(name)
        .display()
        .to_string()
}

/// How the stack's nginx and services are tuned for one test.
#[derive(Clone)]
pub struct Options {
    /// nginx limit_req on the issue endpoint.
    pub issue_rate: String,
    pub issue_burst: u32,
    /// coupon-service's per-IP limit on sign-up / login / refresh.
    pub auth_per_minute: u32,
    pub auth_burst: u32,
    /// Extra `APP_…` settings of both coupon-service instances.
    pub coupon_env: Vec<(String, String)>,
    /// nginx limit_conn on /ws: open sockets per client address.
    pub ws_conn_per_ip: u32,
    /// nginx limit_req on the public event reads.
    pub events_rate: String,
    pub events_burst: u32,
    /// Each coupon-service instance reaches PostgreSQL through a proxy of
    /// its own (`Stack::pg_proxies`), which the test can cut.
    pub postgres_proxies: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            issue_rate: "100000r/s".into(),
            issue_burst: 100_000,
            auth_per_minute: 100_000,
            auth_burst: 100_000,
            coupon_env: Vec::new(),
            ws_conn_per_ip: 10_000,
            events_rate: "100000r/s".into(),
            events_burst: 100_000,
            postgres_proxies: false,
        }
    }
}

/// How an instance is stopped.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    Kill,
    Terminate,
}

/// One service process.
pub struct Instance {
    pub name: String,
    pub port: u16,
    child: Child,
    /// Held open: the process exits when it closes (see `exit_when_stdin_closes`).
    _stdin: Option<ChildStdin>,
}

/// One nginx process (not daemonized, no master: killing it ends it all).
pub struct Gateway {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

pub struct Stack {
    pub dir: PathBuf,
    pub db: PgPool,
    pub redis_prefix: String,
    pub coupons: Vec<Instance>,
    pub notifies: Vec<Instance>,
    pub gateway: Gateway,
    pub http: reqwest::Client,
    pub tls: Arc<ClientConfig>,
    pub signer: TokenSigner,
    /// With `Options::postgres_proxies`: coupon-service instance i reaches
    /// PostgreSQL through `pg_proxies[i]`; otherwise empty.
    pub pg_proxies: Vec<FaultProxy>,
    /// Last: the database, Redis keys and RabbitMQ names go once the
    /// processes are stopped.
    _scope: TestScope,
}

/// What the gateway is rendered with (besides the upstreams).
pub struct GatewayOptions {
    pub issue_rate: String,
    pub issue_burst: u32,
    pub ws_conn_per_ip: u32,
    pub events_rate: String,
    pub events_burst: u32,
    /// Static front end (web/dist in the real run).
    pub web_root: PathBuf,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let scope = TestScope::with_database().await;
        let dir = std::env::temp_dir().join(format!("gateway-test-{}", scope.tag));
        std::fs::create_dir_all(dir.join("web")).expect("test directory");
        let topology = scope.topology.clone();
        let redis_prefix = scope.redis_prefix.clone();
        let shared = shared_env(&redis_prefix, &topology);

        let mut pg_proxies = Vec::new();
        if options.postgres_proxies {
            for _ in 0..2 {
                pg_proxies.push(FaultProxy::start(PG_ADDR.parse().expect("address")).await);
            }
        }
        let mut coupon_env = shared.clone();
        coupon_env.extend([
            ("APP_DATABASE__ACQUIRE_TIMEOUT_MS".into(), "1000".into()),
            (
                "APP_AUTH__PRIVATE_KEY_PATH".into(),
                test_key("test-ed25519.pem"),
            ),
            ("APP_ISSUANCE__PRELOAD_INTERVAL_MS".into(), "200".into()),
            ("APP_RATE_LIMIT__ISSUE_PER_SECOND".into(), "100000".into()),
            ("APP_RATE_LIMIT__ISSUE_BURST".into(), "100000".into()),
            (
                "APP_RATE_LIMIT__AUTH_PER_MINUTE".into(),
                options.auth_per_minute.to_string(),
            ),
            (
                "APP_RATE_LIMIT__AUTH_BURST".into(),
                options.auth_burst.to_string(),
            ),
        ]);
        coupon_env.extend(options.coupon_env.iter().cloned());

        let spawned = [0, 1].map(|i| {
            let port = pg_proxies
                .get(i)
                .map_or(5432, |proxy: &FaultProxy| proxy.port);
            let mut env = coupon_env.clone();
            env.push(("APP_DATABASE__URL".into(), scope.database_url(port)));
            spawn_instance(
                &dir,
                &format!("coupon-{}", i + 1),
                "gateway-coupon-service",
                &env,
            )
        });
        let mut coupons = Vec::new();
        for instance in spawned {
            coupons.push(listening(instance).await);
        }
        // Snapshots of events Redis does not hold come from coupon-service.
        let mut notify_env = shared;
        notify_env.push((
            "APP_COUPON_API__URL".into(),
            format!("http://127.0.0.1:{}", coupons[0].port),
        ));
        let spawned = [
            spawn_instance(&dir, "notify-1", "gateway-notify-service", &notify_env),
            spawn_instance(&dir, "notify-2", "gateway-notify-service", &notify_env),
        ];
        let mut notifies = Vec::new();
        for instance in spawned {
            notifies.push(listening(instance).await);
        }
        for instance in coupons.iter_mut().chain(notifies.iter_mut()) {
            wait_ready(instance).await;
        }

        let cert_path = dir.join("tls/gateway.crt");
        let gateway = start_gateway(
            &dir.join("nginx"),
            &dir,
            &coupons,
            &notifies,
            &GatewayOptions {
                issue_rate: options.issue_rate.clone(),
                issue_burst: options.issue_burst,
                ws_conn_per_ip: options.ws_conn_per_ip,
                events_rate: options.events_rate.clone(),
                events_burst: options.events_burst,
                web_root: dir.join("web"),
            },
        )
        .await;
        let pem = std::fs::read(&cert_path).expect("the gateway certificate");
        let http = https_client(&pem);
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(&pem).expect("PEM certificate"))
            .expect("a usable root");
        let tls = Arc::new(
            ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
        );
        let defaults = coupon_service::configuration::Settings::defaults().expect("defaults");
        let stack = Self {
            signer: test_signer(
                &defaults.auth.key_id,
                &defaults.auth.issuer,
                &defaults.auth.audience,
            ),
            db: PgPool::connect(&scope.database_url(5432))
                .await
                .expect("test pool"),
            dir,
            redis_prefix,
            coupons,
            notifies,
            gateway,
            http,
            tls,
            pg_proxies,
            _scope: scope,
        };
        stack.wait_gateway(&stack.gateway).await;
        stack
    }

    /// What [`Stack::extra_gateway`] is rendered with unless a test says
    /// otherwise: limits far above what a test sends, no web root.
    pub fn gateway_options(&self) -> GatewayOptions {
        GatewayOptions {
            issue_rate: "100r/s".into(),
            issue_burst: 100,
            ws_conn_per_ip: 10_000,
            events_rate: "100000r/s".into(),
            events_burst: 100_000,
            web_root: self.dir.join("web"),
        }
    }

    /// A further nginx in front of the same instances (another rate limit,
    /// a web root).
    pub async fn extra_gateway(&self, name: &str, options: GatewayOptions) -> Gateway {
        let gateway = start_gateway(
            &self.dir.join(name),
            &self.dir,
            &self.coupons,
            &self.notifies,
            &options,
        )
        .await;
        self.wait_gateway(&gateway).await;
        gateway
    }

    async fn wait_gateway(&self, gateway: &Gateway) {
        let url = format!("https://localhost:{}/api/coupons/events", gateway.port);
        let deadline = tokio::time::Instant::now() + WITHIN;
        loop {
            if let Ok(response) = self.http.get(&url).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nginx on {} did not answer (see {})",
                gateway.port,
                gateway.dir.join("logs/error.log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Another HTTPS client of the gateway with connections of its own: one
    /// user of a crowd (nginx ends an HTTP/2 connection after 1,000
    /// requests, so a crowd on one shared connection is not a crowd).
    pub fn new_client(&self) -> reqwest::Client {
        https_client(
            &std::fs::read(self.dir.join("tls/gateway.crt")).expect("the gateway certificate"),
        )
    }

    /// An HTTPS client whose connections come from `address` (any of
    /// 127.0.0.0/8): another client address as nginx sees it.
    pub fn client_from(&self, address: std::net::IpAddr) -> reqwest::Client {
        let pem = std::fs::read(self.dir.join("tls/gateway.crt")).expect("the gateway certificate");
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("PEM certificate")])
            .local_address(address)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTPS client")
    }

    /// `https://localhost:<gateway port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.gateway.port)
    }

    pub fn ws_url(&self) -> String {
        format!("wss://localhost:{}/ws", self.gateway.port)
    }

    /// A new ADMIN account (straight into the database) and a token for it.
    pub async fn admin_token(&self) -> String {
        let id = insert_admin(&self.db).await;
        token(&self.signer, id, Role::Admin)
    }

    /// A token for a user created straight in the database (bulk tests).
    pub async fn create_users(&self, n: i64) -> Vec<(i64, String)> {
        insert_users(&self.db, n)
            .await
            .into_iter()
            .map(|id| (id, token(&self.signer, id, Role::User)))
            .collect()
    }

    /// An event on sale now, created through the gateway's admin API.
    pub async fn create_event(&self, total: i64, max_per_user: i64) -> i64 {
        let now = chrono::Utc::now();
        let (status, body) = self
            .post(
                "/api/admin/events",
                Some(&self.admin_token().await),
                json!({
                    "title": format!("Gateway sale of {total}"),
                    "description": "gateway end-to-end test",
                    "total_count": total,
                    "max_per_user": max_per_user,
                    "start_time": (now - chrono::Duration::seconds(5)).to_rfc3339(),
                    "end_time": (now + chrono::Duration::hours(1)).to_rfc3339(),
                    "discount_type": "percentage",
                    "discount_value": 10,
                    "min_purchase_amount": 0,
                    "valid_days": 30,
                    "code_prefix": "GW",
                }),
            )
            .await;
        assert_eq!(status, 201, "create event: {body}");
        body["id"].as_i64().expect("event id")
    }

    /// Signs up and signs in through the gateway: (user id, access token).
    pub async fn sign_up(&self, name: &str) -> (i64, String) {
        let email = format!("{name}-{}@example.test", uuid::Uuid::new_v4().simple());
        let password = "correct horse battery staple";
        let (status, body) = self
            .post(
                "/api/auth/signup",
                None,
                json!({"email": email, "password": password, "name": name}),
            )
            .await;
        assert_eq!(status, 201, "sign up: {body}");
        let id = body["id"].as_i64().expect("user id");
        let (status, body) = self
            .post(
                "/api/auth/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "sign in: {body}");
        (
            id,
            body["access_token"]
                .as_str()
                .expect("access token")
                .to_owned(),
        )
    }

    /// POST JSON through the gateway; status and body (Null if not JSON).
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST through the gateway");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn issue(
        &self,
        token: &str,
        event_id: i64,
        idempotency_key: Option<&str>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut request = self
            .http
            .post(self.url("/api/coupons/issue"))
            .bearer_auth(token)
            .json(&json!({"event_id": event_id}));
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await
    }

    /// A WebSocket through the gateway, with `Authorization: Bearer` when a
    /// token is given.
    pub async fn ws(&self, bearer: Option<&str>) -> WsClient {
        WsClient::connect(&self.ws_url(), self.tls.clone(), bearer).await
    }

    /// Sum of a metric's samples on one instance (its own port, not nginx),
    /// over the series whose text contains `filter`.
    pub async fn metric(&self, port: u16, name: &str, filter: &str) -> f64 {
        let text = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .filter(|line| {
                line.starts_with(name)
                    && line[name.len()..].starts_with(['{', ' '])
                    && line.contains(filter)
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Stops a coupon-service instance: SIGKILL (a crash: nothing is
    /// finished) or SIGTERM (actix-web's graceful stop).
    pub async fn stop_coupon(&mut self, index: usize, how: Stop) {
        let instance = &mut self.coupons[index];
        match how {
            Stop::Kill => instance.child.kill().await.expect("kill the instance"),
            Stop::Terminate => {
                let pid = instance.child.id().expect("the instance runs");
                let status = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .expect("run kill");
                assert!(status.success(), "kill -TERM {pid}");
            }
        }
    }

    /// Waits (bounded) until a coupon-service instance has exited.
    pub async fn wait_coupon_exit(&mut self, index: usize, within: Duration) {
        let instance = &mut self.coupons[index];
        tokio::time::timeout(within, instance.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} still runs after {within:?}", instance.name))
            .expect("wait for the instance");
    }

    pub async fn redis(&self) -> service_kit::redis::RedisConn {
        test_support::redis_connection().await
    }

    /// coupon-service's remaining stock of an event in Redis.
    pub async fn redis_remaining(&self, event_id: i64) -> Option<i64> {
        redis::cmd("GET")
            .arg(EventKeys::new(&self.redis_prefix, event_id).stock())
            .query_async(&mut self.redis().await)
            .await
            .expect("GET")
    }

    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.gateway.dir.join("logs/access.log")).unwrap_or_default()
    }

    /// The access log's record of one request, found by the X-Request-Id
    /// nginx gave it (and sent back to the client): which instance(s)
    /// answered (`upstream_addr`, "a, b" when passed on) and with what.
    pub async fn logged(&self, response: &reqwest::Response) -> Value {
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("nginx gives every response an X-Request-Id")
            .to_owned();
        let needle = format!("\"request_id\":\"{id}\"");
        let mut found = None;
        eventually(
            Duration::from_secs(5),
            "the request in the access log",
            || {
                found = self
                    .access_log()
                    .lines()
                    .find(|line| line.contains(&needle))
                    .map(|line| serde_json::from_str(line).expect("a JSON log line"));
                std::future::ready(found.is_some())
            },
        )
        .await;
        found.expect("found above")
    }

    /// `127.0.0.1:<port>` of a coupon-service instance, as nginx logs it.
    pub fn coupon_addr(&self, index: usize) -> String {
        format!("127.0.0.1:{}", self.coupons[index].port)
    }
}

/// Settings both services share: one deployment (Redis prefix, RabbitMQ
/// names, token keys), quiet logs, port 0.
fn shared_env(redis_prefix: &str, topology: &Topology) -> Vec<(String, String)> {
    [
        ("APP_APPLICATION__HOST", "127.0.0.1".to_owned()),
        ("APP_APPLICATION__PORT", "0".to_owned()),
        ("APP_APPLICATION__WORKERS", "2".to_owned()),
        ("APP_REDIS__KEY_PREFIX", redis_prefix.to_owned()),
        ("APP_RABBITMQ__EXCHANGE", topology.exchange.clone()),
        (
            "APP_RABBITMQ__DEAD_LETTER_EXCHANGE",
            topology.dead_letter_exchange.clone(),
        ),
        ("APP_RABBITMQ__QUEUE_PREFIX", topology.queue_prefix.clone()),
        ("APP_RABBITMQ__QUEUE_TYPE", topology.queue_type.clone()),
        (
            "APP_RABBITMQ__QUEUE_EXPIRES_MS",
            topology.queue_expires_ms.unwrap_or(300_000).to_string(),
        ),
        (
            "APP_AUTH__PUBLIC_KEY_PATH",
            test_key("test-ed25519.pub.pem"),
        ),
        ("APP_LOG__LEVEL", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn spawn_instance(dir: &Path, name: &str, binary: &str, env: &[(String, String)]) -> Instance {
    let path = match binary {
        "gateway-coupon-service" => env!("CARGO_BIN_EXE_gateway-coupon-service"),
        _ => env!("CARGO_BIN_EXE_gateway-notify-service"),
    };
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log file");
    let mut command = Command::new(path);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true);
    if let Ok(filter) = std::env::var("TEST_LOG") {
        command.env("RUST_LOG", filter);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"));
    Instance {
        name: name.to_owned(),
        port: 0,
        _stdin: child.stdin.take(),
        child,
    }
}

/// Reads "listening on <port>" from the instance's stdout.
async fn listening(mut instance: Instance) -> Instance {
    let stdout = instance.child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{} did not start within 60 s", instance.name))
        .expect("read stdout")
        .unwrap_or_else(|| panic!("{} exited during start-up", instance.name));
    instance.port = line
        .strip_prefix("listening on ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: unexpected first line {line:?}", instance.name));
    // Keep draining stdout so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    instance
}

async fn wait_ready(instance: &mut Instance) {
    let url = format!("http://127.0.0.1:{}/readyz", instance.port);
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client.get(&url).send().await
            && response.status() == 200
        {
            return;
        }
        if let Ok(Some(status)) = instance.child.try_wait() {
            panic!("{} exited ({status}) before it was ready", instance.name);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} not ready within 60 s",
            instance.name
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An HTTPS client that trusts exactly the gateway's certificate (PEM).
fn https_client(pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem).expect("PEM certificate")])
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTPS client")
}

fn nginx_binary() -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
        .expect("nginx is installed (scripts/dev test installs it)")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("local address")
        .port()
}

/// Renders the templates with scripts/lib/gateway.sh (certificate made on
/// first use in `tls_dir/tls`) into `prefix` and starts nginx there.
async fn start_gateway(
    prefix: &Path,
    tls_dir: &Path,
    coupons: &[Instance],
    notifies: &[Instance],
    options: &GatewayOptions,
) -> Gateway {
    let cert = tls_dir.join("tls/gateway.crt");
    let key = tls_dir.join("tls/gateway.key");
    // A free port can be taken between the probe and nginx's bind: retry.
    for _ in 0..5 {
        let port = free_port();
        let values = [
            ("GATEWAY_LISTEN", format!("127.0.0.1:{port}")),
            ("GATEWAY_SERVER_NAME", "localhost".into()),
            ("GATEWAY_TLS_CERT", cert.display().to_string()),
            ("GATEWAY_TLS_KEY", key.display().to_string()),
            ("GATEWAY_COUPON_1", format!("127.0.0.1:{}", coupons[0].port)),
            ("GATEWAY_COUPON_2", format!("127.0.0.1:{}", coupons[1].port)),
            (
                "GATEWAY_NOTIFY_1",
                format!("127.0.0.1:{}", notifies[0].port),
            ),
            (
                "GATEWAY_NOTIFY_2",
                format!("127.0.0.1:{}", notifies[1].port),
            ),
            ("GATEWAY_ISSUE_RATE", options.issue_rate.clone()),
            ("GATEWAY_ISSUE_BURST", options.issue_burst.to_string()),
            ("GATEWAY_WS_CONN_PER_IP", options.ws_conn_per_ip.to_string()),
            ("GATEWAY_EVENTS_RATE", options.events_rate.clone()),
            ("GATEWAY_EVENTS_BURST", options.events_burst.to_string()),
            ("GATEWAY_WEB_ROOT", options.web_root.display().to_string()),
            ("GATEWAY_ACCESS_LOG", "logs/access.log".into()),
            ("GATEWAY_ERROR_LOG", "logs/error.log".into()),
            ("GATEWAY_WORKERS", "1".into()),
        ];
        let status = std::process::Command::new("bash")
            .current_dir(repo_root())
            .arg("-c")
            .arg(
                r#"set -euo pipefail
                source scripts/lib/services.sh
                source scripts/lib/gateway.sh
                ensure_tls_cert "$1" "$2" >/dev/null
                prefix=$3
                shift 3
                render_gateway "$prefix" "$@""#,
            )
            .arg("render")
            .arg(&cert)
            .arg(&key)
            .arg(prefix)
            .args(values.iter().map(|(k, v)| format!("{k}={v}")))
            .status()
            .expect("run bash");
        assert!(status.success(), "rendering the gateway config failed");
        let mut child = Command::new(nginx_binary())
            .arg("-p")
            .arg(format!("{}/", prefix.display()))
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .arg("-e")
            .arg(prefix.join("logs/error.log"))
            // In the foreground and as one process: killing it ends it all.
            .args(["-g", "daemon off; master_process off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start nginx");
        // Listening (or exited because the port was taken)?
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Gateway {
                    port,
                    dir: prefix.to_path_buf(),
                    child,
                };
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nginx did not listen on {port} (see {}/logs/error.log)",
                prefix.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    panic!(
        "nginx could not start (see {}/logs/error.log)",
        prefix.display()
    );
}

/// Polls `check` until it returns true or `within` passes (never a bare sleep).
pub use test_support::eventually;

impl Drop for Stack {
    /// Stops every process and leaves nothing on the shared servers: the
    /// database, Redis keys and RabbitMQ names go with the stack. A failing
    /// test keeps its directory (logs, nginx config) and says where.
    fn drop(&mut self) {
        // The scope (a field) is dropped after this body has stopped them.
        for instance in self.coupons.iter_mut().chain(self.notifies.iter_mut()) {
            let _ = instance.child.start_kill();
        }
        let _ = self.gateway.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "gateway test: logs and nginx config kept in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
