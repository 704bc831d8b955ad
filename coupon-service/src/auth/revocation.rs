//! `session.revoked`: a session that ended before its tokens did (logout,
//! a reused refresh token, an account disabled). Written in the transaction
//! that revokes the refresh family, twice: to the outbox, so every notify
//! instance closes the session's sockets (close code 4003), and to
//! `revoked_sessions`, so every coupon-service instance refuses its access
//! tokens (`revoked_sessions.rs`) — both once the revocation commits.
//!
//! A session is a refresh family; access tokens carry its id as `sid`.

use chrono::Utc;
use contract::messages::{Envelope, SESSION_REVOKED, SessionRevoked};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::outbox::store::{NewMessages, OutboxRow};

/// Writes the revocation of `session` of `user_id` (every session of the
/// user when `None`) in `tx`.
pub async fn write(
    tx: &mut Transaction<'_, Postgres>,
    user_id: i64,
    session: Option<Uuid>,
) -> sqlx::Result<Vec<OutboxRow>> {
    let mut messages = NewMessages::default();
    let message = Envelope::new(
        SessionRevoked {
            user_id,
            session_id: session,
        },
        Utc::now(),
    );
    messages.push(SESSION_REVOKED, &message, None)?;
    // Stamped now, on the database's clock, with the account's row locked
    // (`refresh::end_sessions`): later than every token issued before
    // (`refresh::Issued::issued_at`), not at the transaction's start.
    sqlx::query(
        "INSERT INTO revoked_sessions (user_id, session_id, revoked_at) \
         VALUES ($1, $2, clock_timestamp())",
    )
    .bind(user_id)
    .bind(session)
    .execute(&mut **tx)
    .await?;
    messages.insert(&mut **tx).await
}
