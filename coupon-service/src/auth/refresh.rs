//! Refresh tokens: opaque random strings, stored as SHA-256 hashes, rotated
//! on every use. Each login starts a family; presenting a token that was
//! already rotated means it leaked, and the whole family is revoked.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use contract::jwt::Role;
use rand::RngExt;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Why a refresh token was refused (all are 401 `invalid_token` outside).
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("unknown, expired or revoked refresh token")]
    Invalid,
    #[error("a rotated refresh token was presented again; its family is revoked")]
    Reused,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A token as handed to the client (never stored).
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Starts a family for a fresh login; returns the token.
pub async fn start_family(db: &PgPool, user_id: i64, ttl: Duration) -> sqlx::Result<String> {
    let token = new_token();
    insert(db, user_id, Uuid::new_v4(), &token, Utc::now() + ttl).await?;
    Ok(token)
}

async fn insert(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    family: Uuid,
    token: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(user_id)
        .bind(family)
        .bind(digest(token))
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Stored {
    id: i64,
    user_id: i64,
    family_id: Uuid,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    role: String,
}

/// Exchanges a refresh token for a new one of the same family. Returns the
/// user, their role and the new token.
pub async fn rotate(
    db: &PgPool,
    token: &str,
    ttl: Duration,
) -> Result<(i64, Role, String), RefreshError> {
    let mut tx = db.begin().await?;
    let stored: Option<Stored> = sqlx::query_as(
        "SELECT r.id, r.user_id, r.family_id, r.expires_at, r.used_at, r.revoked_at, u.role \
         FROM refresh_tokens r JOIN users u ON u.id = r.user_id \
         WHERE r.token_hash = $1 FOR UPDATE OF r",
    )
    .bind(digest(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(stored) = stored else {
        return Err(RefreshError::Invalid);
    };
    if stored.used_at.is_some() {
        revoke_family(&mut tx, stored.family_id).await?;
        tx.commit().await?;
        return Err(RefreshError::Reused);
    }
    if stored.revoked_at.is_some() || stored.expires_at <= Utc::now() {
        return Err(RefreshError::Invalid);
    }
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE id = $1")
        .bind(stored.id)
        .execute(&mut *tx)
        .await?;
    let next = new_token();
    insert(
        &mut *tx,
        stored.user_id,
        stored.family_id,
        &next,
        Utc::now() + ttl,
    )
    .await?;
    tx.commit().await?;
    let role = if stored.role == "ADMIN" {
        Role::Admin
    } else {
        Role::User
    };
    Ok((stored.user_id, role, next))
}

/// Logout: revokes the family of `token` if it belongs to `user_id`.
/// Answers nothing either way (no oracle for other people's tokens).
pub async fn revoke(db: &PgPool, user_id: i64, token: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = \
         (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2)",
    )
    .bind(digest(token))
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(())
}

async fn revoke_family(tx: &mut Transaction<'_, Postgres>, family: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(digest(&a).len(), 32);
    }
}
