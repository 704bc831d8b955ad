//! Preparing a run: users inserted in bulk (with tokens minted, not logged
//! in), an admin, and the event created through the admin API.

use chrono::{Duration, Utc};
use contract::jwt::Role;
use serde_json::json;

use crate::target::Target;

/// Users of one run: ids and their access tokens.
pub struct Users {
    pub ids: Vec<i64>,
    pub tokens: Vec<String>,
}

impl Users {
    /// (id, token) of each user, in order.
    pub fn pairs(&self) -> Vec<(i64, String)> {
        self.ids
            .iter()
            .copied()
            .zip(self.tokens.iter().cloned())
            .collect()
    }
}

/// Inserts `n` users in one statement (the password hash is a placeholder:
/// these accounts cannot log in, they only carry minted tokens).
pub async fn users(target: &Target, n: usize) -> anyhow::Result<Users> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, name) \
         SELECT 'load-' || $2 || '-' || g || '@flashload.test', 'minted-tokens-only', 'Load ' || g \
         FROM generate_series(1, $1) g RETURNING id",
    )
    .bind(i64::try_from(n)?)
    .bind(&run)
    .fetch_all(&target.db)
    .await?;
    let tokens = ids.iter().map(|id| target.token(*id, Role::User)).collect();
    Ok(Users { ids, tokens })
}

/// An admin account's token (created for the run).
pub async fn admin_token(target: &Target) -> anyhow::Result<String> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, name, role) \
         VALUES ('load-admin-' || gen_random_uuid() || '@flashload.test', 'minted-tokens-only', 'Load admin', 'ADMIN') \
         RETURNING id",
    )
    .fetch_one(&target.db)
    .await?;
    Ok(target.token(id, Role::Admin))
}

/// Creates an event running now, through `POST /api/admin/events`.
pub async fn event(
    target: &Target,
    admin: &str,
    stock: i64,
    max_per_user: i64,
) -> anyhow::Result<i64> {
    let now = Utc::now();
    create_event(
        target,
        admin,
        &json!({
            "title": format!("flashload {stock}"),
            "description": "load test",
            "total_count": stock,
            "max_per_user": max_per_user,
            "start_time": (now - Duration::seconds(1)).to_rfc3339(),
            "end_time": (now + Duration::hours(2)).to_rfc3339(),
            "discount_type": "percentage",
            "discount_value": 10,
            "min_purchase_amount": 0,
            "valid_days": 7,
            "code_prefix": "LOAD",
        }),
    )
    .await
}

/// Creates an event from an admin body; its id.
pub async fn create_event(
    target: &Target,
    admin: &str,
    body: &serde_json::Value,
) -> anyhow::Result<i64> {
    let response = target
        .http()
        .post(target.api("/api/admin/events"))
        .bearer_auth(admin)
        .json(body)
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    anyhow::ensure!(
        status.as_u16() == 201,
        "creating the event answered {status}: {body}"
    );
    body["id"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no event id in {body}"))
}
