//! `/api/admin/users/{id}/disable|enable`: an admin takes an account out of
//! the sale (a bot, a reseller) and back. Disabling refuses its sign-ins and
//! refreshes from now on, revokes every session, and — in the same
//! transaction — writes `session.revoked` without a session id, so every
//! notify-service instance closes all of the user's sockets (4003), and
//! records it in `revoked_sessions`, so every coupon-service instance refuses
//! the access tokens already issued within a poll (`auth::revoked_sessions`).

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use contract::errors::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::audit::{self, Action, Actor};
use crate::{auth::refresh, error::ApiError, state::AppState};

/// An account as an admin sees it after the change.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct UserStatus {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    /// When it was disabled; absent when it is enabled.
    pub disabled_at: Option<DateTime<Utc>>,
}

fn user_not_found(id: i64) -> ApiError {
    ApiError::NotFound(ErrorCode::UserNotFound, format!("user {id} does not exist"))
}

/// Disable an account: no more sign-ins or refreshes, every session revoked,
/// its WebSockets closed (4003) and its access tokens refused (401
/// `invalid_token`) on every instance within about a second. Disabling twice
/// is harmless. Admin accounts cannot be disabled here.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = i64, Path, minimum = 1)),
    responses((status = 200, body = UserStatus), (status = 404, description = "user_not_found"),
    (status = 409, description = "cannot_disable_admin"), (status = 401), (status = 403)))]
#[post("/users/{id}/disable")]
pub async fn disable_user(
    actor: Actor,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let store_down = || ApiError::store_down("the account store");
    let mut tx = state.db.begin().await.map_err(store_down())?;
    let before = status_for_update(&mut tx, id).await.map_err(store_down())?;
    let disabled: Option<UserStatus> = sqlx::query_as(
        "UPDATE users SET disabled_at = COALESCE(disabled_at, clock_timestamp()) \
         WHERE id = $1 AND role = 'USER' RETURNING id, email, name, role, disabled_at",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(store_down())?;
    let Some(user) = disabled else {
        let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_down())?;
        return Err(match role {
            Some(_) => ApiError::Conflict(
                ErrorCode::CannotDisableAdmin,
                "admin accounts are not disabled over the API".into(),
            ),
            None => user_not_found(id),
        });
    };
    let revoked = refresh::end_sessions(&mut tx, id, None)
        .await
        .map_err(store_down())?;
    audit::record(
        &mut tx,
        &actor,
        Action::UserDisable,
        id,
        before.as_ref().map(audit::snapshot),
        Some(audit::snapshot(&user)),
    )
    .await
    .map_err(store_down())?;
    tx.commit().await.map_err(store_down())?;
    state.handoff.pass(revoked);
    Ok(HttpResponse::Ok().json(user))
}

/// Enable a disabled account again (it signs in anew; its old sessions stay
/// revoked).
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = i64, Path, minimum = 1)),
    responses((status = 200, body = UserStatus), (status = 404, description = "user_not_found"),
    (status = 401), (status = 403)))]
#[post("/users/{id}/enable")]
pub async fn enable_user(
    actor: Actor,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let store_down = || ApiError::store_down("the account store");
    let mut tx = state.db.begin().await.map_err(store_down())?;
    let before = status_for_update(&mut tx, id)
        .await
        .map_err(store_down())?
        .ok_or_else(|| user_not_found(id))?;
    let user: UserStatus = sqlx::query_as(
        "UPDATE users SET disabled_at = NULL WHERE id = $1 \
         RETURNING id, email, name, role, disabled_at",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .map_err(store_down())?;
    audit::record(
        &mut tx,
        &actor,
        Action::UserEnable,
        id,
        Some(audit::snapshot(&before)),
        Some(audit::snapshot(&user)),
    )
    .await
    .map_err(store_down())?;
    tx.commit().await.map_err(store_down())?;
    Ok(HttpResponse::Ok().json(user))
}

/// The account as it stands, locked for the change (the audit's "before").
async fn status_for_update(
    tx: &mut sqlx::PgConnection,
    id: i64,
) -> sqlx::Result<Option<UserStatus>> {
    sqlx::query_as(
        "SELECT id, email, name, role, disabled_at FROM users WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind(id)
    .fetch_optional(tx)
    .await
}
