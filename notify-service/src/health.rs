//! `/healthz` (the process is alive) and `/readyz` (it can push: Redis
//! answers, the fan-out subscription is live, the RabbitMQ consumer runs).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let redis = state.fanout.ping().await.is_ok();
    let subscriber = state.liveness.subscriber.is_up();
    let consumer = state.liveness.consumer.is_up();
    let stopped_tasks = state.tasks.ended();
    let ready = redis && subscriber && consumer && stopped_tasks.is_empty();
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {
            "redis": word(redis),
            "redis_subscription": word(subscriber),
            "rabbitmq_consumer": word(consumer),
            "background_tasks": if stopped_tasks.is_empty() { "ok" } else { "stopped" },
        },
        "stopped_tasks": stopped_tasks,
        "connections": state.hub.connections(),
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
