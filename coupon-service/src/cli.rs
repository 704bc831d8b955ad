//! Operator commands besides serving: `coupon-service <command>`.
//!
//! - `serve` (default): run the HTTP service;
//! - `migrate`: apply database migrations and exit;
//! - `create-admin --email E --password P [--name N]`: create the first
//!   admin (or promote an existing account, setting its password);
//! - `seed-demo [--fixed-passwords]`: create a demo admin, a demo user and a
//!   running demo event if missing; the accounts get new random passwords,
//!   printed, unless `--fixed-passwords` (the well-known ones below, for a
//!   gateway that listens on loopback only: `scripts/dev up`);
//! - `dev-token <user id> [USER|ADMIN]`: print an access token signed with
//!   `auth.private_key_path`, for scripts and load tests;
//! - `verify-queue <proof.json|-> [--user ID]`: check a waiting room's proof.
//! - `verify-draw <proof.json|-> [--user ID]`: check a draw's proof.
//! - `openapi`: print the HTTP API's OpenAPI document (the SDK's types are
//!   generated from it).

use anyhow::Context;
use chrono::{Duration, Utc};
use contract::jwt::{Role, TokenSigner, now_unix};
use rand::RngExt;
use sqlx::PgPool;

use crate::{
    configuration::Settings,
    events::{NewEvent, store},
};

/// (email, the fixed password of `seed-demo --fixed-passwords`).
pub const DEMO_USER: (&str, &str) = ("demo.user@example.com", "demo-user-password");
pub const DEMO_ADMIN: (&str, &str) = ("demo.admin@example.com", "demo-admin-password");
const DEMO_TITLE: &str = "Demo flash sale";

/// Creates (or, with `reset`, updates) an account; returns its id.
pub async fn upsert_account(
    db: &PgPool,
    email: &str,
    password: &str,
    name: &str,
    role: Role,
    reset: bool,
) -> anyhow::Result<i64> {
    let email = crate::auth::email::normalise(email).context("not a valid email address")?;
    anyhow::ensure!(
        password.chars().count() >= 8,
        "the password must have at least 8 characters"
    );
    let hash = crate::auth::password::hash(password)?;
    let role = if role == Role::Admin { "ADMIN" } else { "USER" };
    let id = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, name, role) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email) DO UPDATE SET \
           password_hash = CASE WHEN $5 THEN EXCLUDED.password_hash ELSE users.password_hash END, \
           role = CASE WHEN $5 THEN EXCLUDED.role ELSE users.role END \
         RETURNING id",
    )
    .bind(&email)
    .bind(&hash)
    .bind(name)
    .bind(role)
    .bind(reset)
    .fetch_one(db)
    .await
    .with_context(|| format!("saving the account {email}"))?;
    Ok(id)
}

/// The (admin, user) passwords `seed-demo` gives the demo accounts: new
/// random ones (120 bits each), or with `--fixed-passwords` the well-known
/// ones, only for a gateway that listens on loopback (scripts/dev up).
pub fn demo_passwords(fixed: bool) -> (String, String) {
    if fixed {
        return (DEMO_ADMIN.1.to_owned(), DEMO_USER.1.to_owned());
    }
    let random = || {
        let bytes: [u8; 15] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    (random(), random())
}

/// Creates (or resets) the demo accounts with these passwords and creates
/// the demo event unless a live one exists; returns (demo user id, demo
/// event id).
pub async fn seed_demo(
    db: &PgPool,
    admin_password: &str,
    user_password: &str,
) -> anyhow::Result<(i64, i64)> {
    // Reset every time: the printed credentials must always work.
    upsert_account(
        db,
        DEMO_ADMIN.0,
        admin_password,
        "Demo Admin",
        Role::Admin,
        true,
    )
    .await?;
    let user = upsert_account(
        db,
        DEMO_USER.0,
        user_password,
        "Demo User",
        Role::User,
        true,
    )
    .await?;
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM coupon_events WHERE title = $1 AND end_time > now() AND closed_at IS NULL LIMIT 1",
    )
    .bind(DEMO_TITLE)
    .fetch_optional(db)
    .await?;
    let event = match existing {
        Some(id) => id,
        None => {
            let now = Utc::now();
            store::insert(
                db,
                &NewEvent {
                    title: DEMO_TITLE.into(),
                    description: "1,000 coupons, 10% off, one per person".into(),
                    total_count: 1000,
                    max_per_user: 1,
                    start_time: now,
                    end_time: now + Duration::days(1),
                    discount_type: "percentage".into(),
                    discount_value: 10,
                    min_purchase_amount: 10_000,
                    valid_days: 30,
                    code_prefix: "DEMO".into(),
                    admission: Default::default(),
                    queue_opens_at: None,
                    claim_window_secs: crate::events::model::DEFAULT_CLAIM_WINDOW_SECS,
                    queue_only_existing_accounts: false,
                    entry_opens_at: None,
                    entry_closes_at: None,
                    draw_at: None,
                    draw_beacon_round: None,
                    draw_beacon: None,
                },
            )
            .await
            .context("seeding the demo event")?
            .id
        }
    };
    Ok((user, event))
}

/// A one-hour access token for `user_id`, signed with the configured key.
pub fn dev_token(settings: &Settings, user_id: i64, role: Role) -> anyhow::Result<String> {
    let auth = &settings.auth;
    let path = auth
        .private_key_path
        .as_deref()
        .context("auth.private_key_path is not set (APP_AUTH__PRIVATE_KEY_PATH)")?;
    let pem = std::fs::read(path)
        .with_context(|| format!("auth.private_key_path: cannot read {path}"))?;
    let signer = TokenSigner::from_private_pem(&auth.key_id, &pem, &auth.issuer, &auth.audience)
        .context("auth.private_key_path: not an Ed25519 private key (PEM)")?;
    Ok(signer.sign(user_id, role, now_unix(), 3600))
}

/// Reads a waiting room's proof (a file, or stdin for `-`) and checks it;
/// prints what was checked. An error (exit 1) names the failed check.
/// Which proof a verify command expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    Queue,
    Draw,
}

pub fn verify_proof(
    path: &std::path::Path,
    user: Option<i64>,
    kind: ProofKind,
) -> anyhow::Result<()> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the proof from stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let proof: crate::admission::proof::QueueProof =
        serde_json::from_str(&text).context("the file is not a waiting-room or draw proof")?;
    let is_draw = proof.mode == contract::admission::DRAW_MODE;
    anyhow::ensure!(
        is_draw == (kind == ProofKind::Draw),
        "this is a {} proof: check it with verify-{}",
        proof.mode,
        if is_draw { "draw" } else { "queue" }
    );
    let summary = proof
        .verify(user)
        .map_err(|failed| anyhow::anyhow!("the proof does not hold: {failed}"))?;
    println!("event {}: {summary}", proof.event_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_demo_gives_new_random_passwords_unless_asked_for_the_well_known_ones() {
        let (admin, user) = demo_passwords(false);
        let (again, _) = demo_passwords(false);
        for password in [&admin, &user] {
            assert_eq!(password.len(), 30, "{password}");
            assert!(password != DEMO_ADMIN.1 && password != DEMO_USER.1);
        }
        assert_ne!(admin, user);
        assert_ne!(admin, again, "new ones on every run");
        assert_eq!(
            demo_passwords(true),
            (DEMO_ADMIN.1.to_owned(), DEMO_USER.1.to_owned())
        );
    }
}
