//! Refresh tokens: opaque random strings, stored as SHA-256 hashes, rotated
//! on every use. Each login starts a family; presenting a token that was
//! already rotated means it leaked, and the whole family is revoked. A
//! family ends a fixed time after its login however often it is rotated, and
//! ended or revoked families are deleted by [`purge_loop`].
//!
//! Every change to an account's sessions — a login starting one, a
//! rotation, a logout, reuse detection, an admin's disable — first locks the
//! account's row ([`lock_account`]), then reads the tokens afresh: they
//! happen one after another, so a logout sees the token a rotation just
//! issued, and a rotation or login sees a logout or disable that just
//! committed. Logins lock it shared, so they do not wait for each other.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use contract::jwt::Role;
use rand::RngExt;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::revocation;
use crate::{
    configuration::AuthSettings,
    outbox::{handoff::Handoff, store::OutboxRow},
};

/// Why a refresh token was refused (all are 401 `invalid_token` outside).
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("unknown, expired or revoked refresh token")]
    Invalid,
    #[error("the refresh token's family is past its maximum lifetime")]
    FamilyEnded,
    #[error("a rotated refresh token was presented again; its family is revoked")]
    Reused,
    #[error("the refresh token's session was ended; its family is revoked")]
    SessionEnded,
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

/// How long tokens and families live.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// One token, from its issue (each rotation issues a new one).
    pub token: Duration,
    /// One family, from its login.
    pub family: Duration,
}

impl Lifetimes {
    pub fn of(auth: &AuthSettings) -> Self {
        let seconds = |secs: u64| {
            i64::try_from(secs)
                .ok()
                .and_then(Duration::try_seconds)
                .unwrap_or(Duration::MAX)
        };
        Self {
            token: seconds(auth.refresh_ttl_secs),
            family: seconds(auth.refresh_family_max_secs),
        }
    }
}

/// A refresh token as handed out, with its family: the session id access
/// tokens of the same sign-in carry (`sid`).
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub session: Uuid,
    /// When it was issued, on the database's clock, before its transaction
    /// committed: the `iat` of the access token handed out with it. An
    /// account's disable is stamped on the same clock after it holds the
    /// account's row ([`super::revocation::write`]), so a token issued
    /// before a disable always carries an earlier time than it, whichever
    /// instance issued it.
    pub issued_at: DateTime<Utc>,
}

/// How a transaction holds the account's row.
#[derive(Debug, Clone, Copy)]
enum Hold {
    /// A login: waits for a disable (or a rotation, logout) in flight, not
    /// for other logins.
    Shared,
    /// A rotation, a logout, an end of sessions: one at a time per account.
    Exclusive,
}

/// The account as it is once its row is locked.
#[derive(sqlx::FromRow)]
struct Account {
    role: String,
    disabled: bool,
}

impl Account {
    fn role(&self) -> Role {
        if self.role == "ADMIN" {
            Role::Admin
        } else {
            Role::User
        }
    }
}

/// Locks the account's row for the rest of `tx` (see the module's doc);
/// `None` when the account does not exist. The admin's disable locks it by
/// updating it.
async fn lock_account(
    tx: &mut Transaction<'_, Postgres>,
    user_id: i64,
    hold: Hold,
) -> sqlx::Result<Option<Account>> {
    let sql = match hold {
        Hold::Shared => {
            "SELECT role, disabled_at IS NOT NULL AS disabled FROM users WHERE id = $1 FOR SHARE"
        }
        Hold::Exclusive => {
            "SELECT role, disabled_at IS NOT NULL AS disabled FROM users WHERE id = $1 \
             FOR NO KEY UPDATE"
        }
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Starts a family for a fresh login; returns the token, or `None` when the
/// account is disabled (or gone) by the time the session would be written —
/// an admin may disable it while the password is being checked.
pub async fn start_family(
    db: &PgPool,
    user_id: i64,
    lifetimes: Lifetimes,
) -> sqlx::Result<Option<Issued>> {
    let mut tx = db.begin().await?;
    let account = lock_account(&mut tx, user_id, Hold::Shared).await?;
    if account.is_none_or(|a| a.disabled) {
        return Ok(None);
    }
    let token = new_token();
    let family = Family {
        id: Uuid::new_v4(),
        started_at: Utc::now(),
    };
    let issued_at = insert(&mut *tx, user_id, family, &token, lifetimes).await?;
    tx.commit().await?;
    Ok(Some(Issued {
        token,
        session: family.id,
        issued_at,
    }))
}

#[derive(Debug, Clone, Copy)]
struct Family {
    id: Uuid,
    started_at: DateTime<Utc>,
}

/// A new token of `family`; it never outlives the family. Returns when it
/// was issued (its transaction's start, on the database's clock).
async fn insert(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    family: Family,
    token: &str,
    lifetimes: Lifetimes,
) -> sqlx::Result<DateTime<Utc>> {
    let family_ends = family.started_at + lifetimes.family;
    let expires_at = Utc::now()
        .checked_add_signed(lifetimes.token)
        .map_or(family_ends, |t| t.min(family_ends));
    sqlx::query_scalar(
        "INSERT INTO refresh_tokens (user_id, family_id, family_started_at, token_hash, expires_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING created_at",
    )
    .bind(user_id)
    .bind(family.id)
    .bind(family.started_at)
    .bind(digest(token))
    .bind(expires_at)
    .fetch_one(db)
    .await
}

#[derive(sqlx::FromRow)]
struct Stored {
    id: i64,
    family_id: Uuid,
    family_started_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

/// Exchanges a refresh token for a new one of the same family. Returns the
/// user, their role and the new token. A reused token revokes its family,
/// and the revocation goes out through `handoff`; so does a token of a
/// session recorded as ended whose family still had a live token.
pub async fn rotate(
    db: &PgPool,
    handoff: &Handoff,
    token: &str,
    lifetimes: Lifetimes,
) -> Result<(i64, Role, Issued), RefreshError> {
    let hash = digest(token);
    let mut tx = db.begin().await?;
    let user_id: Option<i64> =
        sqlx::query_scalar("SELECT user_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(user_id) = user_id else {
        return Err(RefreshError::Invalid);
    };
    let account = lock_account(&mut tx, user_id, Hold::Exclusive).await?;
    // Read after the lock: as the last logout, rotation or disable left it.
    let stored: Option<Stored> = sqlx::query_as(
        "SELECT id, family_id, family_started_at, expires_at, used_at, revoked_at \
         FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let (Some(account), Some(stored)) = (account, stored) else {
        return Err(RefreshError::Invalid);
    };
    if stored.used_at.is_some() {
        let revoked = end_sessions(&mut tx, user_id, Some(stored.family_id)).await?;
        tx.commit().await?;
        handoff.pass(revoked);
        return Err(RefreshError::Reused);
    }
    if stored.revoked_at.is_some() || stored.expires_at <= Utc::now() || account.disabled {
        return Err(RefreshError::Invalid);
    }
    if stored.family_started_at + lifetimes.family <= Utc::now() {
        return Err(RefreshError::FamilyEnded);
    }
    if session_ended(&mut tx, stored.family_id).await? {
        // A live token of an ended session (left by a logout that raced a
        // rotation before the account lock existed): it goes now.
        let revoked = end_sessions(&mut tx, user_id, Some(stored.family_id)).await?;
        tx.commit().await?;
        handoff.pass(revoked);
        return Err(RefreshError::SessionEnded);
    }
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE id = $1")
        .bind(stored.id)
        .execute(&mut *tx)
        .await?;
    let next = new_token();
    let family = Family {
        id: stored.family_id,
        started_at: stored.family_started_at,
    };
    let issued_at = insert(&mut *tx, user_id, family, &next, lifetimes).await?;
    tx.commit().await?;
    let issued = Issued {
        token: next,
        session: stored.family_id,
        issued_at,
    };
    Ok((user_id, account.role(), issued))
}

/// Whether the session was recorded as ended (`revoked_sessions`, the last
/// hour).
async fn session_ended(tx: &mut Transaction<'_, Postgres>, session: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = $1)")
        .bind(session)
        .fetch_one(&mut **tx)
        .await
}

/// Logout: revokes the family of `token` if it belongs to `user_id`, and
/// sends the revocation (the session's sockets close). Answers nothing
/// either way (no oracle for other people's tokens).
pub async fn revoke(db: &PgPool, handoff: &Handoff, user_id: i64, token: &str) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    let family: Option<Uuid> = sqlx::query_scalar(
        "SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2",
    )
    .bind(digest(token))
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(family) = family else {
        return Ok(());
    };
    let revoked = end_sessions(&mut tx, user_id, Some(family)).await?;
    tx.commit().await?;
    handoff.pass(revoked);
    Ok(())
}

/// Ends one session of the user (its refresh family), or every one of them
/// (`None`: an account disabled), and writes `session.revoked` in the same
/// transaction. Holds the account's lock first (the disable already holds
/// it), so every token a rotation or login committed before is ended too. One session is announced only while it was still live, so
/// ending it twice announces it once; every session always is (the
/// account's sockets close even when none of its refresh tokens is left).
/// Returns the outbox rows for the relay.
pub async fn end_sessions(
    tx: &mut Transaction<'_, Postgres>,
    user_id: i64,
    family: Option<Uuid>,
) -> sqlx::Result<Vec<OutboxRow>> {
    lock_account(tx, user_id, Hold::Exclusive).await?;
    let ended = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() \
         WHERE user_id = $1 AND ($2::uuid IS NULL OR family_id = $2) AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(family)
    .execute(&mut **tx)
    .await?;
    if ended.rows_affected() == 0 && family.is_some() {
        return Ok(Vec::new());
    }
    revocation::write(tx, user_id, family).await
}

/// Rows deleted per statement, so a purge never holds many locks at once.
const PURGE_BATCH: i64 = 1000;
/// Statements per purge pass; what is left waits for the next pass.
const PURGE_BATCHES_PER_PASS: usize = 100;

/// Deletes the rows nothing can use any more: revoked families, families
/// past their maximum lifetime or without a live token (every token used,
/// revoked or expired), and used tokens past their own expiry. Rows of live
/// families stay, so a replayed rotated token still revokes its family.
/// Returns the rows deleted.
pub async fn purge(db: &PgPool, family_lifetime: Duration) -> sqlx::Result<u64> {
    let family_cutoff = Utc::now() - family_lifetime;
    let mut deleted = 0;
    for _ in 0..PURGE_BATCHES_PER_PASS {
        let batch = sqlx::query(
            "DELETE FROM refresh_tokens WHERE id IN ( \
                SELECT r.id FROM refresh_tokens r \
                WHERE r.revoked_at IS NOT NULL \
                   OR r.family_started_at <= $1 \
                   OR (r.used_at IS NOT NULL AND r.expires_at <= now()) \
                   OR NOT EXISTS (SELECT 1 FROM refresh_tokens live \
                        WHERE live.family_id = r.family_id AND live.used_at IS NULL \
                          AND live.revoked_at IS NULL AND live.expires_at > now()) \
                LIMIT $2)",
        )
        .bind(family_cutoff)
        .bind(PURGE_BATCH)
        .execute(db)
        .await?
        .rows_affected();
        deleted += batch;
        if batch < PURGE_BATCH as u64 {
            break;
        }
    }
    Ok(deleted)
}

/// Runs [`purge`] every `every`, and the purge of old revocations
/// (`revoked_sessions`) with it (every instance; deleting twice is harmless).
pub async fn purge_loop(db: PgPool, every: std::time::Duration, family_lifetime: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match purge(&db, family_lifetime).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "ended refresh tokens purged"),
            Err(e) => tracing::debug!(error = %e, "refresh token purge skipped"),
        }
        if let Err(e) = super::revoked_sessions::purge(&db).await {
            tracing::debug!(error = %e, "revoked session purge skipped");
        }
    }
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
