//! Builds the application from settings: pools, background tasks, routes;
//! runs it until a graceful shutdown.

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web};
use anyhow::Context;
use contract::revocations::Revocations;
use secrecy::ExposeSecret;
pub use service_kit::shutdown::ShutdownTrigger;
use service_kit::{connected::Connected, tasks::Tasks};
use sqlx::{PgPool, postgres::PgPoolOptions};
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope, service_config::ServiceConfig};

use crate::{
    admin, admission,
    auth::{self, keys::KeySet, password_gate::PasswordGate},
    configuration::Settings,
    coupons, error, events, health,
    issuance::{
        self,
        batch_writer::{BatchWriter, WriterConfig},
        redis_state::RedisState,
        slot_holders::SlotHolders,
        sold_out::SoldOutMemo,
    },
    lifecycle,
    metrics::{self, Metrics},
    openapi,
    outbox::{
        handoff::{self, Handed},
        relay::{self, Relay},
        stock_ticker::{self, StockChanges},
    },
    rate_limit::{self, Limiters},
    redis_store::RedisStore,
    state::AppState,
    telemetry,
};

/// How long each shutdown step may take before the next one starts anyway.
const SHUTDOWN_STEP: Duration = Duration::from_secs(5);

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    tasks: Tasks,
    shutdown: ShutdownTrigger,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let db = connect_postgres(&settings, settings.database.migrate_on_start).await?;
        let redis = connect_redis(&settings)?;
        let metrics = Arc::new(Metrics::new()?);
        let keys = web::Data::new(KeySet::load(&settings.auth)?);
        // Ended sessions whose access tokens the extractors refuse.
        let revoked = web::Data::new(Revocations::default());
        let mut limiters = Limiters::new(
            &settings.rate_limit,
            Duration::from_millis(settings.auth.hash_queue_timeout_ms),
        );
        if settings.rate_limit.shared {
            limiters = limiters.shared_through(&settings.rate_limit, redis.store().clone());
        }
        let limiters = Arc::new(limiters);
        let password_gate = PasswordGate::new(&settings.auth)?;
        for collector in password_gate.collectors() {
            metrics.register(collector)?;
        }
        let tasks = Tasks::new();
        tasks.spawn_loop(
            "rate-limit-retain",
            lifecycle::HOUSEKEEPING,
            rate_limit::retain_loop(
                limiters.clone(),
                Duration::from_secs(settings.rate_limit.retain_interval_secs),
            ),
        );
        let document = web::Data::new(openapi::Document(
            api_doc()
                .to_json()
                .context("serialising the OpenAPI document")?,
        ));

        let (handoff, handed) = handoff::channel(metrics.clone());
        let stock_changes = StockChanges::default();
        let writer = BatchWriter::spawn(
            db.clone(),
            redis.clone(),
            metrics.clone(),
            handoff.clone(),
            stock_changes.clone(),
            WriterConfig {
                batch_max: settings.issuance.batch_max,
                writers: settings.issuance.writers,
                write_timeout: settings.issuance.write_timeout(),
            },
            &tasks,
        );
        let relay_status = Arc::new(Connected::new(metrics.amqp_connected.clone()));
        let event_cache = events::cache::EventCache::new(
            db.clone(),
            redis.store().clone(),
            Duration::from_millis(settings.events.cache_ttl_ms),
            settings.events.list_cache_entries,
        );
        spawn_background(
            &tasks,
            &settings,
            &db,
            &redis,
            &metrics,
            &relay_status,
            handed,
        );
        let revoked_held = prometheus::IntGauge::new(
            "revoked_sessions_held",
            "Ended sessions whose access tokens this instance refuses (at most 100,000, one hour)",
        )?;
        metrics.register(Box::new(revoked_held.clone()))?;
        tasks.spawn_loop(
            "revoked-sessions",
            lifecycle::HOUSEKEEPING,
            auth::revoked_sessions::follow_loop(
                db.clone(),
                revoked.clone().into_inner(),
                revoked_held,
                Duration::from_millis(settings.auth.revocation_poll_ms),
            ),
        );
        tasks.spawn_loop(
            "waiting-rooms",
            lifecycle::PRODUCERS,
            admission::room::Room {
                db: db.clone(),
                redis: redis.clone(),
                holds: admission::holds::Holds::new(redis.store().clone()),
                handoff: handoff.clone(),
                metrics: metrics.clone(),
                labelled: Arc::default(),
            }
            .run(),
        );
        tasks.spawn_loop(
            "stock-ticker",
            lifecycle::PRODUCERS,
            stock_ticker::stock_loop(
                stock_changes,
                db.clone(),
                redis.store().clone(),
                event_cache.clone(),
                handoff.clone(),
                Duration::from_millis(settings.outbox.stock_interval_ms),
            ),
        );

        let state = web::Data::new(AppState {
            events: event_cache,
            settings: settings.clone(),
            db,
            redis,
            writer,
            sold_out: SoldOutMemo::new(settings.issuance.sold_out_memo()),
            slot_holders: SlotHolders::default(),
            relay: relay_status,
            handoff,
            limiters,
            password_gate,
            tasks: tasks.clone(),
        });

        let listener = TcpListener::bind((
            settings.application.host.as_str(),
            settings.application.port,
        ))
        .with_context(|| {
            format!(
                "binding {}:{}",
                settings.application.host, settings.application.port
            )
        })?;
        let port = listener.local_addr()?.port();
        let metrics = web::Data::from(metrics);
        let json_limit = settings.application.json_limit_bytes;
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(metrics::track))
                .wrap(from_fn(telemetry::request_span))
                .app_data(app_state.clone())
                .app_data(metrics.clone())
                .app_data(keys.clone())
                .app_data(revoked.clone())
                .app_data(document.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(json_limit)
                        .error_handler(error::json_error),
                )
                .app_data(web::PathConfig::default().error_handler(error::path_error))
                .app_data(web::QueryConfig::default().error_handler(error::query_error))
                .into_utoipa_app()
                .configure(routes)
                .into_app()
                .route("/api/openapi.json", web::get().to(openapi::openapi_json))
                .route(
                    "/.well-known/jwks.json",
                    web::get().to(auth::routes::jwks_alias),
                )
                .default_service(web::to(error::not_found))
        })
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
            tasks,
            shutdown: ShutdownTrigger::new(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Shared state (tests inspect the pools through it).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// The background tasks (readiness reads them; tests kill one).
    pub fn tasks(&self) -> Tasks {
        self.tasks.clone()
    }

    /// Starts a graceful shutdown from outside (main.rs on SIGTERM / Ctrl-C;
    /// tests).
    pub fn shutdown_trigger(&self) -> ShutdownTrigger {
        self.shutdown.clone()
    }

    /// Serves until the shutdown trigger, then stops in the order of
    /// [`lifecycle`]: the HTTP server answers what is in flight, then the
    /// background tasks stop stage by stage.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            mut server,
            tasks,
            shutdown,
            ..
        } = self;
        tokio::select! {
            stopped = &mut server => {
                tasks.stop_all(SHUTDOWN_STEP).await;
                return stopped;
            }
            () = shutdown.triggered() => {}
        }
        tracing::info!("shutting down: answering requests in flight");
        // The server handles the stop command inside its own future: poll both.
        let handle = server.handle();
        let ((), stopped) = tokio::join!(handle.stop(true), server);
        tracing::info!("shutting down: stopping background tasks");
        tasks.stop_all(SHUTDOWN_STEP).await;
        tracing::info!("coupon-service stopped");
        stopped
    }
}

/// Every documented route of the service. Registered through
/// utoipa-actix-web, which collects each handler's OpenAPI description.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(metrics::metrics_endpoint)
        .service(
            scope("/api/auth")
                .service(auth::routes::signup)
                .service(auth::routes::login)
                .service(auth::routes::refresh_tokens)
                .service(auth::routes::logout)
                .service(auth::routes::jwks),
        )
        .service(
            scope("/api/coupons")
                .service(events::routes::list_events)
                .service(events::routes::get_event)
                .service(admission::routes::room)
                .service(admission::routes::join)
                .service(admission::routes::my_place)
                .service(admission::routes::leave)
                .service(admission::routes::proof)
                .service(admission::draw_routes::draw_state)
                .service(admission::draw_routes::enter)
                .service(admission::draw_routes::my_entry)
                .service(admission::draw_routes::withdraw)
                .service(admission::draw_routes::proof)
                .service(issuance::routes::issue)
                .service(coupons::routes::my_coupons)
                .service(coupons::redeem::redeem),
        )
        .service(
            scope("/api/admin")
                .service(admin::routes::create_event)
                .service(admin::routes::list_events)
                .service(admin::routes::get_event)
                .service(admin::routes::patch_event)
                .service(admin::routes::close_event)
                .service(admin::routes::event_coupons)
                .service(admin::export::export_coupons)
                .service(admission::routes::admin_room)
                .service(admission::draw_routes::admin_draw)
                .service(admission::draw_routes::draw_now)
                .service(admin::users::disable_user)
                .service(admin::users::enable_user)
                .service(admin::audit::audit_trail),
        );
}

/// The OpenAPI document: the descriptions collected from `routes`.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    openapi::complete(&mut doc);
    doc
}

/// The pool (lazy: the service starts while PostgreSQL is down), after
/// applying migrations when `migrate`.
pub async fn connect_postgres(settings: &Settings, migrate: bool) -> anyhow::Result<PgPool> {
    let options = settings
        .database
        .url
        .expose_secret()
        .parse::<sqlx::postgres::PgConnectOptions>()
        .context("database.url is not a valid PostgreSQL URL")?;
    let db = PgPoolOptions::new()
        .max_connections(settings.database.max_connections)
        .acquire_timeout(Duration::from_millis(settings.database.acquire_timeout_ms))
        .connect_lazy_with(options);
    if migrate {
        sqlx::migrate!("./migrations")
            .run(&db)
            .await
            .context("applying database migrations")?;
    }
    Ok(db)
}

fn connect_redis(settings: &Settings) -> anyhow::Result<RedisState> {
    Ok(RedisState::new(
        RedisStore::new(settings.redis.connect()?, settings.redis.key_prefix.clone()),
        settings.issuance.idempotency_ttl_secs,
    ))
}

fn spawn_background(
    tasks: &Tasks,
    settings: &Settings,
    db: &PgPool,
    redis: &RedisState,
    metrics: &Arc<Metrics>,
    relay_status: &Arc<Connected>,
    handed: Handed,
) {
    let issuance_settings = &settings.issuance;
    tasks.spawn_loop(
        "preload",
        lifecycle::HOUSEKEEPING,
        issuance::background::preload_loop(
            db.clone(),
            redis.clone(),
            metrics.clone(),
            Duration::from_millis(issuance_settings.preload_interval_ms),
        ),
    );
    tasks.spawn_loop(
        "sweeper",
        lifecycle::HOUSEKEEPING,
        issuance::background::sweep_loop(
            db.clone(),
            redis.clone(),
            metrics.clone(),
            Duration::from_millis(issuance_settings.sweep_interval_ms),
            issuance_settings.pending_timeout(),
        ),
    );
    tasks.spawn_loop(
        "refresh-token-purge",
        lifecycle::HOUSEKEEPING,
        auth::refresh::purge_loop(
            db.clone(),
            Duration::from_secs(settings.auth.refresh_purge_interval_secs),
            auth::refresh::Lifetimes::of(&settings.auth).family,
        ),
    );
    tasks.spawn_loop(
        "outbox-housekeeping",
        lifecycle::HOUSEKEEPING,
        relay::housekeeping_loop(db.clone(), metrics.clone(), settings.outbox.retention_secs),
    );
    Relay {
        db: db.clone(),
        amqp_url: settings.rabbitmq.url.clone(),
        topology: settings.rabbitmq.topology(),
        metrics: metrics.clone(),
        status: relay_status.clone(),
        poll_interval: Duration::from_millis(settings.outbox.poll_interval_ms),
        recover_after: Duration::from_millis(settings.outbox.recover_after_ms),
        batch_size: settings.outbox.batch_size,
        pack_max: settings.outbox.pack_max,
    }
    .spawn(handed, tasks);
}
