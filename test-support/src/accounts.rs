//! Accounts and tokens for tests: rows inserted straight into `users` (no
//! Argon2 per user: a sale test needs hundreds) and access tokens signed
//! with the repository's test key, which the services under test trust.

use contract::jwt::{Role, TokenSigner, now_unix};
use sqlx::PgPool;

/// The test key pair (never used outside tests).
pub const TEST_PRIVATE_KEY: &[u8] = include_bytes!("../../contract/test-keys/test-ed25519.pem");
pub const TEST_PRIVATE_KEY_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../contract/test-keys/test-ed25519.pem"
);
pub const TEST_PUBLIC_KEY_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../contract/test-keys/test-ed25519.pub.pem"
);

/// How long the tokens tests sign stay valid.
const TOKEN_SECS: u64 = 900;

/// Signs with the test key for the given `kid`, issuer and audience (the
/// services' configured ones).
pub fn test_signer(key_id: &str, issuer: &str, audience: &str) -> TokenSigner {
    TokenSigner::from_private_pem(key_id, TEST_PRIVATE_KEY, issuer, audience).expect("test key")
}

/// A valid access token of `user` with `role`.
pub fn token(signer: &TokenSigner, user: i64, role: Role) -> String {
    signer.sign(user, role, now_unix(), TOKEN_SECS)
}

/// Inserts `n` users (role USER) and returns their ids in insertion order.
pub async fn insert_users(db: &PgPool, n: i64) -> Vec<i64> {
    sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, name) \
         SELECT 'user' || g || '-' || gen_random_uuid() || '@example.test', 'not-a-hash', 'User ' || g \
         FROM generate_series(1, $1) g ORDER BY g RETURNING id",
    )
    .bind(n)
    .fetch_all(db)
    .await
    .expect("insert users")
}

/// Inserts one ADMIN account and returns its id.
pub async fn insert_admin(db: &PgPool) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, name, role) \
         VALUES ('admin-' || gen_random_uuid() || '@example.test', 'not-a-hash', 'Admin', 'ADMIN') RETURNING id",
    )
    .fetch_one(db)
    .await
    .expect("insert admin")
}
