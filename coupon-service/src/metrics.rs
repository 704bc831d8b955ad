//! Prometheus metrics of one application instance (its own registry, so
//! several instances in one test process do not collide).

use std::time::Instant;

use actix_web::{
    Error, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    get,
    http::Method,
    middleware::Next,
    web,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    /// Issue requests by outcome (`issued`, `sold_out`, `user_limit_reached`, …).
    pub issue_outcomes: IntCounterVec,
    pub batch_size: prometheus::Histogram,
    pub batch_commit_seconds: prometheus::Histogram,
    pub reservations_given_back: IntCounter,
    pub sweeper_reconciled: IntCounterVec,
    pub redis_rebuilds: IntCounter,
    /// Events whose Redis sale state was older than PostgreSQL's and was
    /// replaced (an admin write that never reached Redis).
    pub redis_state_repairs: IntCounter,
    pub outbox_published: IntCounterVec,
    pub outbox_pending: IntGauge,
    pub outbox_oldest_age_seconds: prometheus::Gauge,
    /// Committed rows the handoff could not pass (left to the relay's poll).
    pub outbox_handoff_dropped: IntCounter,
    pub amqp_connected: IntGauge,
    /// Waiting room: places admitted (each holds a unit until claim_by).
    pub queue_admitted: IntCounter,
    /// Waiting room: admissions whose claim window passed unclaimed.
    pub queue_holds_expired: IntCounter,
    /// Waiting room: places per open room and state (`waiting`, `held`,
    /// `claimed`, `expired`, `left`), and `admitted_per_second` ×1000.
    /// Only open rooms carry series: a room's are removed when it closes.
    pub queue_places: IntGaugeVec,
    /// Waiting room and draw: how long one room's tick took (the lease
    /// holds the room for that long; admissions wait for it).
    pub queue_tick_seconds: prometheus::Histogram,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
];

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("coupon".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP latency by route")
                .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let issue_outcomes = IntCounterVec::new(
            Opts::new("issue_outcomes_total", "Issue requests by outcome"),
            &["outcome"],
        )?;
        let batch_size = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "issue_batch_size",
                "Reservations per group-commit transaction",
            )
            .buckets(vec![
                1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
            ]),
        )?;
        let batch_commit_seconds = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "issue_batch_seconds",
                "Duration of one group-commit transaction",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        let reservations_given_back = IntCounter::new(
            "reservations_given_back_total",
            "Reservations returned to Redis after a failed write",
        )?;
        let sweeper_reconciled = IntCounterVec::new(
            Opts::new(
                "sweeper_reconciled_total",
                "Stale reservations settled by the sweeper",
            ),
            &["result"],
        )?;
        let redis_rebuilds = IntCounter::new(
            "redis_rebuilds_total",
            "Events whose Redis state was (re)built",
        )?;
        let redis_state_repairs = IntCounter::new(
            "redis_state_repairs_total",
            "Events whose Redis sale state was older than PostgreSQL's and was replaced",
        )?;
        let outbox_published = IntCounterVec::new(
            Opts::new(
                "outbox_published_total",
                "Outbox messages confirmed by RabbitMQ",
            ),
            &["routing_key"],
        )?;
        let outbox_pending = IntGauge::new(
            "outbox_pending",
            "Outbox rows not yet confirmed by RabbitMQ",
        )?;
        let outbox_oldest_age_seconds = prometheus::Gauge::new(
            "outbox_oldest_age_seconds",
            "Age of the oldest unpublished outbox row (outbox lag)",
        )?;
        let outbox_handoff_dropped = IntCounter::new(
            "outbox_handoff_dropped_total",
            "Committed outbox rows not handed to the relay (published by its poll instead)",
        )?;
        let amqp_connected = IntGauge::new(
            "amqp_connected",
            "1 while the outbox relay holds a broker connection",
        )?;

        let queue_admitted = IntCounter::new(
            "queue_admitted_total",
            "Waiting-room places admitted (each holds a unit until its claim deadline)",
        )?;
        let queue_holds_expired = IntCounter::new(
            "queue_holds_expired_total",
            "Waiting-room admissions whose claim window passed unclaimed",
        )?;
        let queue_places = IntGaugeVec::new(
            Opts::new(
                "queue_places",
                "Places of each open waiting room by state (admission_rate_milli: admissions/s x1000)",
            ),
            &["event", "state"],
        )?;
        let queue_tick_seconds = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "queue_tick_seconds",
                "Duration of one waiting room's or draw's tick",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(queue_tick_seconds.clone()))?;
        registry.register(Box::new(queue_admitted.clone()))?;
        registry.register(Box::new(queue_holds_expired.clone()))?;
        registry.register(Box::new(queue_places.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(issue_outcomes.clone()))?;
        registry.register(Box::new(batch_size.clone()))?;
        registry.register(Box::new(batch_commit_seconds.clone()))?;
        registry.register(Box::new(reservations_given_back.clone()))?;
        registry.register(Box::new(sweeper_reconciled.clone()))?;
        registry.register(Box::new(redis_rebuilds.clone()))?;
        registry.register(Box::new(redis_state_repairs.clone()))?;
        registry.register(Box::new(outbox_published.clone()))?;
        registry.register(Box::new(outbox_pending.clone()))?;
        registry.register(Box::new(outbox_oldest_age_seconds.clone()))?;
        registry.register(Box::new(outbox_handoff_dropped.clone()))?;
        registry.register(Box::new(amqp_connected.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            issue_outcomes,
            batch_size,
            batch_commit_seconds,
            reservations_given_back,
            sweeper_reconciled,
            redis_rebuilds,
            redis_state_repairs,
            outbox_published,
            outbox_pending,
            outbox_oldest_age_seconds,
            outbox_handoff_dropped,
            amqp_connected,
            queue_admitted,
            queue_holds_expired,
            queue_places,
            queue_tick_seconds,
        })
    }

    /// Adds a collector owned by another part of the service.
    pub fn register(
        &self,
        collector: Box<dyn prometheus::core::Collector>,
    ) -> Result<(), prometheus::Error> {
        self.registry.register(collector)
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec only fails on invalid metric names, fixed above.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics_endpoint(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}

/// The `method` label: the standard methods by name, anything else as
/// `other`. A client may send any token as a method (`REVGWA /api/…` is
/// valid HTTP), and each distinct label value is a new series kept for the
/// life of the process.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request by its route pattern (not its raw path, so
/// `/events/{id}` stays one series).
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(req.method());
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        let status = response.status().as_u16().to_string();
        metrics
            .http_requests
            .with_label_values(&[method, route.as_str(), status.as_str()])
            .inc();
        metrics
            .http_duration
            .with_label_values(&[method, route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}
