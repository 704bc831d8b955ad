//! Builds the application from settings: pools, the consumer and the
//! fan-out subscription, routes; runs it until a graceful shutdown.

use std::{
    net::{TcpListener, ToSocketAddrs},
    sync::Arc,
    time::Duration,
};

use actix_web::{App, HttpServer, dev::Server, web};
use anyhow::Context;
use contract::{jwt::TokenVerifier, keys::PublicKeys};
use secrecy::ExposeSecret;
use service_kit::{client_address::ProxyRange, redis::RedisMode, tasks::Tasks};
use tokio::net::TcpSocket;

use crate::{
    configuration::Settings,
    consumer::Consumer,
    error,
    fanout::{
        store::FanoutStore,
        subscriber::{Source, Subscriber},
    },
    health,
    hub::Hub,
    liveness::Liveness,
    metrics::{self, Metrics},
    shutdown::{self, CONSUMER_STAGE, Phase, SUBSCRIBER_STAGE, ShutdownHandle},
    snapshot::Snapshots,
    state::AppState,
    ws::{
        self,
        admission::{AllowedOrigins, Slots},
        unauthenticated::Unauthenticated,
    },
};

/// How long each shutdown step may take before the next one starts anyway.
const SHUTDOWN_STEP: Duration = Duration::from_secs(5);

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    shutdown: ShutdownHandle,
    tasks: Tasks,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        settings.validate()?;
        let settings = Arc::new(settings);
        let metrics = Arc::new(Metrics::new()?);
        let liveness = Arc::new(Liveness::new(&metrics));
        let ws_settings = &settings.websocket;
        let hub = Arc::new(Hub::new(
            ws_settings.outgoing_queue,
            ws_settings.max_connections_per_user,
            ws_settings.max_subscriptions,
        ));
        let timeout = settings.redis.timeout();
        let connections = settings.redis.connect()?;
        let prefix = settings.redis.key_prefix.clone();
        let fanout = FanoutStore::new(
            connections.clone(),
            &prefix,
            settings.fanout.clone(),
            settings.redis.mode,
        );
        let snapshots = Snapshots::new(
            connections,
            prefix,
            &settings.snapshots,
            &settings.coupon_api,
            metrics.snapshot_reads.clone(),
        )?;
        // A reading must not predate a live frame of its event that a new
        // watcher would never get.
        let cache = snapshots.clone();
        hub.on_event_changed(Box::new(move |event_id| cache.changed(event_id)));
        let tasks = Tasks::new();
        let (shutdown, phase) = ShutdownHandle::new(tasks.clone());

        // Both end by themselves at their shutdown phase.
        let subscriber = Subscriber {
            source: match settings.redis.mode {
                RedisMode::Single => Source::Single(
                    redis::Client::open(settings.redis.url.expose_secret())
                        .context("redis.url is not valid")?,
                ),
                RedisMode::Cluster => Source::Cluster(settings.redis.seed_nodes()),
            },
            channel: fanout.channel(),
            probe_channel: fanout.probe_channel(),
            store: fanout.clone(),
            hub: hub.clone(),
            metrics: metrics.clone(),
            liveness: liveness.clone(),
            timeout,
            recent: std::sync::Mutex::default(),
            shutdown: phase.clone(),
        };
        tasks.spawn("fanout-subscriber", SUBSCRIBER_STAGE, |_| subscriber.run());
        let consumer = Consumer {
            amqp_url: settings.rabbitmq.url.clone(),
            topology: settings.rabbitmq.topology(),
            prefetch: settings.rabbitmq.prefetch,
            store: fanout.clone(),
            metrics: metrics.clone(),
            liveness: liveness.clone(),
            shutdown: phase.clone(),
        };
        tasks.spawn("rabbitmq-consumer", CONSUMER_STAGE, |_| consumer.run());

        let state = web::Data::new(AppState {
            verifier: load_verifier(&settings)?,
            slots: Slots::new(ws_settings.max_connections, metrics.connections.clone()),
            unauthenticated: Unauthenticated::new(
                ws_settings.max_unauthenticated,
                ws_settings.max_unauthenticated_per_address,
                metrics.connections.clone(),
                metrics.unauthenticated.clone(),
            ),
            trusted_proxies: ws_settings
                .trusted_proxies
                .iter()
                .map(|entry| entry.parse::<ProxyRange>())
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("websocket.trusted_proxies: {e}"))?,
            origins: AllowedOrigins::new(&ws_settings.allowed_origins),
            settings: settings.clone(),
            hub,
            fanout,
            snapshots,
            metrics: metrics.clone(),
            liveness,
            shutdown: phase,
            tasks: tasks.clone(),
        });

        let listener = bind(&settings).with_context(|| {
            format!(
                "binding {}:{}",
                settings.application.host, settings.application.port
            )
        })?;
        let port = listener.local_addr()?.port();
        let metrics = web::Data::from(metrics);
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(metrics.clone())
                .configure(routes)
                .default_service(web::to(error::not_found))
        })
        // actix accepts at most 25,600 connections per worker by default,
        // and every one of the node's sockets may land on the same worker:
        // each worker may hold all of them (signed in, without a token,
        // and a few plain HTTP requests besides), so the budgets below
        // are what limits the node.
        .max_connections(
            settings.websocket.max_connections + settings.websocket.max_unauthenticated + 1024,
        )
        .listen(listener)?
        // Signals start our own ordered shutdown (see run_until_stopped).
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_STEP.as_secs());
        if settings.application.workers > 0 {
            server = server.workers(settings.application.workers);
        }
        Ok(Self {
            port,
            server: server.run(),
            state,
            shutdown,
            tasks,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The background tasks (readiness reads them; tests kill one).
    pub fn tasks(&self) -> Tasks {
        self.tasks.clone()
    }

    /// Shared state (tests inspect the hub and metrics through it).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Starts a graceful shutdown from outside (tests; signals do the same).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Serves until [`ShutdownHandle::trigger`] (main.rs triggers it on
    /// SIGTERM / Ctrl-C; tests call it), then
    /// shuts down in order: stop consuming, close every socket with 1001,
    /// stop the HTTP server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            mut server,
            state,
            shutdown,
            tasks,
            ..
        } = self;
        let mut phase = shutdown.subscribe();
        tokio::select! {
            stopped = &mut server => {
                tasks.stop_all(SHUTDOWN_STEP).await;
                return stopped;
            }
            () = shutdown::reached(&mut phase, Phase::StopConsuming) => {}
        }
        tracing::info!("shutting down: detaching the consumer");
        tasks.stop_stage(CONSUMER_STAGE, SHUTDOWN_STEP).await;
        let open = || state.slots.open() + state.unauthenticated.open();
        tracing::info!(connections = open(), "shutting down: closing sockets");
        shutdown.advance(Phase::CloseSockets);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_STEP;
        while open() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The server handles the stop command inside its own future: poll both.
        let handle = server.handle();
        let ((), stopped) = tokio::join!(handle.stop(true), server);
        tasks.stop_all(SHUTDOWN_STEP).await;
        stopped
    }
}

/// Every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics_endpoint))
        .route("/ws", web::get().to(ws::route::upgrade));
}

/// The listening socket. Accepted sockets inherit its send buffer size:
/// a fixed, small kernel buffer bounds the memory a client that stops
/// reading can pin, and lets its outgoing queue fill (slow consumer) soon
/// instead of after megabytes of autotuned buffer.
fn bind(settings: &Settings) -> anyhow::Result<TcpListener> {
    let app = &settings.application;
    let addr = (app.host.as_str(), app.port)
        .to_socket_addrs()?
        .next()
        .context("application.host resolves to no address")?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    let send_buffer = settings.websocket.send_buffer_bytes;
    if send_buffer > 0 {
        socket.set_send_buffer_size(send_buffer)?;
    }
    socket.bind(addr)?;
    Ok(socket.listen(2048)?.into_std()?)
}

fn load_verifier(settings: &Settings) -> anyhow::Result<TokenVerifier> {
    let auth = &settings.auth;
    let keys = PublicKeys::read(
        (&auth.key_id, &auth.public_key_path),
        auth.previous_public_keys
            .iter()
            .map(|old| (old.kid.as_str(), old.path.as_str())),
    )?;
    Ok(keys.verifier(&auth.issuer, &auth.audience, auth.leeway_secs)?)
}
