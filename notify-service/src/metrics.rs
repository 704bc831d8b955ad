//! Prometheus metrics of one application instance (its own registry, so
//! several instances in one test process do not collide). Names carry the
//! `notify_` prefix.

use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections, authenticated or not.
    pub connections: IntGauge,
    /// The open connections that have not authenticated (yet).
    pub unauthenticated: IntGauge,
    /// Connections ended, by reason (`slow_consumer`, `auth_timeout`, …).
    pub closes: IntCounterVec,
    /// Upgrades refused before the handshake, by reason.
    pub rejected_upgrades: IntCounterVec,
    /// Fan-out frames queued to local connections, by message type.
    pub messages_delivered: IntCounterVec,
    /// From consumption (on whichever instance) to queued here.
    pub fanout_latency: HistogramVec,
    /// Consumed RabbitMQ messages by type and outcome
    /// (`published`, `duplicate`, `dead_lettered`).
    pub consumed: IntCounterVec,
    /// `basic.ack` frames sent; each settles every delivery handled since
    /// the previous one (compare with `amqp_consumed_total`).
    pub amqp_ack_frames: IntCounter,
    /// Ready messages waiting in each queue (consumer lag).
    pub queue_depth: IntGaugeVec,
    pub amqp_consumer_up: IntGauge,
    pub redis_subscriber_up: IntGauge,
    /// Ended sessions whose tokens this instance refuses (bounded).
    pub revoked_sessions_held: IntGauge,
    /// Reads of an event's state in Redis for `subscribe` snapshots
    /// (`snapshot.lua` calls; the event's slot is the one issuance needs).
    pub snapshot_reads: IntCounter,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
];

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("notify".into()), None)?;
        let connections = IntGauge::new("ws_connections", "Open WebSocket connections")?;
        let unauthenticated = IntGauge::new(
            "ws_unauthenticated_connections",
            "Open WebSocket connections without a verified token (yet)",
        )?;
        let closes = IntCounterVec::new(
            Opts::new("ws_closes_total", "WebSocket connections ended, by reason"),
            &["reason"],
        )?;
        let rejected_upgrades = IntCounterVec::new(
            Opts::new(
                "ws_rejected_upgrades_total",
                "WebSocket upgrades refused, by reason",
            ),
            &["reason"],
        )?;
        let messages_delivered = IntCounterVec::new(
            Opts::new(
                "messages_delivered_total",
                "Frames queued to local connections, by message type",
            ),
            &["type"],
        )?;
        let fanout_latency = HistogramVec::new(
            HistogramOpts::new(
                "fanout_latency_seconds",
                "From consuming a message to queuing it to this instance's connections",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["type"],
        )?;
        let consumed = IntCounterVec::new(
            Opts::new(
                "amqp_consumed_total",
                "RabbitMQ messages handled, by type and outcome",
            ),
            &["type", "outcome"],
        )?;
        let amqp_ack_frames = IntCounter::new(
            "amqp_ack_frames_total",
            "basic.ack frames sent (each acks every delivery handled since the last)",
        )?;
        let queue_depth = IntGaugeVec::new(
            Opts::new(
                "amqp_queue_messages",
                "Messages ready in each consumed queue (consumer lag)",
            ),
            &["queue"],
        )?;
        let amqp_consumer_up = IntGauge::new(
            "amqp_consumer_up",
            "1 while the RabbitMQ consumer is attached",
        )?;
        let redis_subscriber_up = IntGauge::new(
            "redis_subscriber_up",
            "1 while the fan-out subscription is live",
        )?;

        let revoked_sessions_held = IntGauge::new(
            "revoked_sessions_held",
            "Ended sessions whose tokens this instance refuses (at most 100,000, one hour)",
        )?;

        let snapshot_reads = IntCounter::new(
            "snapshot_reads_total",
            "Reads of an event's state in Redis for subscribe snapshots (snapshot.lua calls)",
        )?;

        registry.register(Box::new(connections.clone()))?;
        registry.register(Box::new(unauthenticated.clone()))?;
        registry.register(Box::new(closes.clone()))?;
        registry.register(Box::new(rejected_upgrades.clone()))?;
        registry.register(Box::new(messages_delivered.clone()))?;
        registry.register(Box::new(fanout_latency.clone()))?;
        registry.register(Box::new(consumed.clone()))?;
        registry.register(Box::new(amqp_ack_frames.clone()))?;
        registry.register(Box::new(queue_depth.clone()))?;
        registry.register(Box::new(amqp_consumer_up.clone()))?;
        registry.register(Box::new(redis_subscriber_up.clone()))?;
        registry.register(Box::new(revoked_sessions_held.clone()))?;
        registry.register(Box::new(snapshot_reads.clone()))?;
        Ok(Self {
            registry,
            connections,
            unauthenticated,
            closes,
            rejected_upgrades,
            messages_delivered,
            fanout_latency,
            consumed,
            amqp_ack_frames,
            queue_depth,
            amqp_consumer_up,
            redis_subscriber_up,
            revoked_sessions_held,
            snapshot_reads,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec only fails on invalid metric names, fixed above.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// `GET /metrics`.
pub async fn metrics_endpoint(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_renders_with_the_notify_prefix() {
        let m = Metrics::new().unwrap();
        m.closes.with_label_values(&["slow_consumer"]).inc();
        m.fanout_latency
            .with_label_values(&["coupon.soldout"])
            .observe(0.003);
        let text = m.render();
        assert!(
            text.contains("notify_ws_closes_total{reason=\"slow_consumer\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("notify_fanout_latency_seconds_bucket"),
            "{text}"
        );
        assert!(text.contains("notify_ws_connections 0"), "{text}");
    }
}
