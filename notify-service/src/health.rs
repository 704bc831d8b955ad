//! `/healthz` (the process is alive) and `/readyz` (it can push: Redis
//! answers, the fan-out subscription is live, the RabbitMQ consumer runs).

use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

/// Set by the background loops, read by `/readyz`.
#[derive(Default)]
pub struct Liveness {
    consumer: AtomicBool,
    subscriber: AtomicBool,
}

impl Liveness {
    pub fn set_consumer(&self, up: bool) {
        self.consumer.store(up, Ordering::Relaxed);
    }
    pub fn set_subscriber(&self, up: bool) {
        self.subscriber.store(up, Ordering::Relaxed);
    }
    pub fn consumer(&self) -> bool {
        self.consumer.load(Ordering::Relaxed)
    }
    pub fn subscriber(&self) -> bool {
        self.subscriber.load(Ordering::Relaxed)
    }
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let redis = state.fanout.ping().await.is_ok();
    let subscriber = state.liveness.subscriber();
    let consumer = state.liveness.consumer();
    let ready = redis && subscriber && consumer;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {
            "redis": word(redis),
            "redis_subscription": word(subscriber),
            "rabbitmq_consumer": word(consumer),
        },
        "connections": state.hub.connections(),
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
