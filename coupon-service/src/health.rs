//! `/healthz` (the process is alive) and `/readyz` (it can issue coupons).

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness: the process answers.
#[utoipa::path(tag = "operations", responses((status = 200)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when PostgreSQL answers, the issuance script itself runs in Redis
/// (not a mere PING) and every background task is still running. RabbitMQ is reported but does not fail readiness:
/// issuance goes on through the outbox while the broker is away.
#[utoipa::path(tag = "operations", responses((status = 200), (status = 503)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let postgres = tokio::time::timeout(
        CHECK_TIMEOUT,
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.db),
    )
    .await;
    let postgres_ok = matches!(postgres, Ok(Ok(1)));
    let redis_ok = state.redis.probe().await.is_ok();
    let rabbitmq = if state.relay.is_up() {
        "connected"
    } else {
        "disconnected"
    };
    let stopped_tasks = state.tasks.ended();
    let ready = postgres_ok && redis_ok && stopped_tasks.is_empty();
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {
            "postgres": word(postgres_ok),
            "redis_script": word(redis_ok),
            "rabbitmq": rabbitmq,
            "background_tasks": if stopped_tasks.is_empty() { "ok" } else { "stopped" },
        },
        "stopped_tasks": stopped_tasks,
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
