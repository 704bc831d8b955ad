//! Builds the application from settings: pools, background tasks, routes.

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web};
use anyhow::Context;
use secrecy::ExposeSecret;
use service_kit::redis::RedisConnections;
use sqlx::{PgPool, postgres::PgPoolOptions};
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope, service_config::ServiceConfig};

use crate::{
    admin,
    auth::{self, keys::KeySet, password_gate::PasswordGate},
    configuration::Settings,
    coupons, error, events, health,
    issuance::{
        self,
        batch_writer::{BatchWriter, WriterConfig},
        redis_state::RedisState,
        sold_out::SoldOutMemo,
    },
    metrics::{self, Metrics},
    openapi,
    outbox::{
        handoff::{self, Handed},
        relay::{self, Relay, RelayStatus},
        stock_ticker::{self, StockChanges},
    },
    rate_limit::{self, Limiters},
    state::AppState,
    telemetry,
};

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let db = connect_postgres(&settings, settings.database.migrate_on_start).await?;
        let redis = connect_redis(&settings)?;
        let metrics = Arc::new(Metrics::new()?);
        let keys = web::Data::new(KeySet::load(&settings.auth)?);
        let limiters = Arc::new(Limiters::new(&settings.rate_limit));
        let password_gate = PasswordGate::new(&settings.auth)?;
        for collector in password_gate.collectors() {
            metrics.register(collector)?;
        }
        tokio::spawn(rate_limit::retain_loop(
            limiters.clone(),
            Duration::from_secs(settings.rate_limit.retain_interval_secs),
        ));
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
        );
        let relay_status = Arc::new(RelayStatus::default());
        let event_cache = events::cache::EventCache::new(
            db.clone(),
            redis.clone(),
            Duration::from_millis(settings.events.cache_ttl_ms),
            settings.events.list_cache_entries,
        );
        spawn_background(&settings, &db, &redis, &metrics, &relay_status, handed);
        tokio::spawn(stock_ticker::stock_loop(
            stock_changes,
            db.clone(),
            redis.clone(),
            event_cache.clone(),
            handoff,
        ));

        let state = web::Data::new(AppState {
            events: event_cache,
            settings: settings.clone(),
            db,
            redis,
            writer,
            sold_out: SoldOutMemo::new(settings.issuance.sold_out_memo()),
            relay: relay_status,
            limiters,
            password_gate,
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
        .listen(listener)?;
        if settings.application.workers > 0 {
            server = server.workers(settings.application.workers);
        }
        Ok(Self {
            port,
            server: server.run(),
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Shared state (tests inspect the pools through it).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
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
                .service(admin::routes::event_coupons),
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
    let timeout = Duration::from_millis(settings.redis.timeout_ms);
    let connections = RedisConnections::lazy(
        settings.redis.url.expose_secret(),
        settings.redis.connections,
        timeout,
    )?;
    Ok(RedisState::new(
        connections,
        settings.redis.key_prefix.clone(),
        settings.issuance.idempotency_ttl_secs,
    ))
}

fn spawn_background(
    settings: &Settings,
    db: &PgPool,
    redis: &RedisState,
    metrics: &Arc<Metrics>,
    relay_status: &Arc<RelayStatus>,
    handed: Handed,
) {
    let issuance_settings = &settings.issuance;
    tokio::spawn(issuance::background::preload_loop(
        db.clone(),
        redis.clone(),
        metrics.clone(),
        Duration::from_millis(issuance_settings.preload_interval_ms),
    ));
    tokio::spawn(issuance::background::sweep_loop(
        db.clone(),
        redis.clone(),
        metrics.clone(),
        Duration::from_millis(issuance_settings.sweep_interval_ms),
        issuance_settings.pending_timeout(),
    ));
    tokio::spawn(
        Relay {
            db: db.clone(),
            amqp_url: settings.rabbitmq.url.clone(),
            topology: settings.rabbitmq.topology(),
            metrics: metrics.clone(),
            status: relay_status.clone(),
            poll_interval: Duration::from_millis(settings.outbox.poll_interval_ms),
            recover_after: Duration::from_millis(settings.outbox.recover_after_ms),
            batch_size: settings.outbox.batch_size,
        }
        .run(handed),
    );
    tokio::spawn(auth::refresh::purge_loop(
        db.clone(),
        Duration::from_secs(settings.auth.refresh_purge_interval_secs),
        auth::refresh::Lifetimes::of(&settings.auth).family,
    ));
    tokio::spawn(relay::housekeeping_loop(
        db.clone(),
        metrics.clone(),
        settings.outbox.retention_secs,
    ));
}
