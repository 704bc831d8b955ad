//! `POST /api/auth/{signup,login,refresh,logout}` and the JWKS.

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use contract::errors::ErrorCode;
use contract::jwt::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AuthUser, email, keys::KeySet, password, refresh};
use crate::{error::ApiError, state::AppState};

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    id: i64,
    email: String,
    name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Access-token lifetime in seconds.
    expires_in: u64,
}

const PASSWORD_MIN: usize = 8;
const PASSWORD_MAX: usize = 128;

/// Per-address brute-force limit of the anonymous auth endpoints.
async fn limit_by_ip(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    state.limiters.check_auth(req).await
}

fn validate_signup(body: &SignupRequest) -> Result<(String, String), ApiError> {
    let mut fields = Vec::new();
    let email = email::normalise(&body.email);
    if email.is_none() {
        fields.push((
            "email".to_owned(),
            "must be a valid email address".to_owned(),
        ));
    }
    let chars = body.password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&chars) {
        fields.push((
            "password".to_owned(),
            format!("must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"),
        ));
    }
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        fields.push(("name".to_owned(), "must be 1 to 100 characters".to_owned()));
    }
    match email {
        Some(email) if fields.is_empty() => Ok((email, name.to_owned())),
        _ => Err(ApiError::Validation {
            message: "some fields are not valid".into(),
            fields,
        }),
    }
}

async fn hash_gated(state: &AppState, password: String) -> Result<String, ApiError> {
    state
        .password_gate
        .run(move || password::hash(&password))
        .await?
        .map_err(ApiError::Unexpected)
}

/// Create an account (role USER).
#[utoipa::path(tag = "auth", request_body = SignupRequest, responses(
    (status = 201, body = UserView), (status = 409, description = "email_taken"),
    (status = 422, description = "validation_failed"),
    (status = 429, description = "rate_limited (per client address; Retry-After)"),
    (status = 503, description = "unavailable: too many passwords being checked, or the account store is down (Retry-After)")))]
#[post("/signup")]
pub async fn signup(
    req: HttpRequest,
    body: web::Json<SignupRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    limit_by_ip(&req, &state).await?;
    let (email, name) = validate_signup(&body)?;
    let hash = hash_gated(&state, body.into_inner().password).await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, name) VALUES ($1, $2, $3) \
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(&email)
    .bind(&hash)
    .bind(&name)
    .fetch_optional(&state.db)
    .await
    .map_err(ApiError::store_down("the account store"))?;
    let id = id.ok_or_else(|| {
        ApiError::Conflict(
            ErrorCode::EmailTaken,
            "an account with this email exists".into(),
        )
    })?;
    Ok(HttpResponse::Created().json(UserView { id, email, name }))
}

#[derive(sqlx::FromRow)]
struct Account {
    id: i64,
    password_hash: String,
    role: String,
    disabled: bool,
}

/// Exchange email and password for an access token and a refresh token.
/// Answered with `Cache-Control: no-store`.
#[utoipa::path(tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenPair), (status = 401, description = "invalid_credentials"),
    (status = 403, description = "account_disabled: the password is right, but an admin disabled the account"),
    (status = 429, description = "rate_limited: per client address; or too many failed logins on this account from this address, or from many addresses while this one has not signed in to it lately (Retry-After)"),
    (status = 503, description = "unavailable: too many passwords being checked, or the account store is down (Retry-After)")))]
#[post("/login")]
pub async fn login(
    req: HttpRequest,
    body: web::Json<LoginRequest>,
    state: web::Data<AppState>,
    keys: web::Data<KeySet>,
) -> Result<HttpResponse, ApiError> {
    limit_by_ip(&req, &state).await?;
    let email = email::normalise(&body.email).unwrap_or_default();
    // Before any password work: an address that guessed wrong too often on
    // this account is refused, and so is every address the account did not
    // sign in from lately once guesses from many addresses pile up.
    let address = state.limiters.client_key(&req);
    let attempt = state.limiters.login_failures.begin(&email, address).await?;
    let account: Option<Account> = sqlx::query_as(
        "SELECT id, password_hash, role, disabled_at IS NOT NULL AS disabled \
             FROM users WHERE email = $1",
    )
    .bind(&email)
    .fetch_optional(&state.db)
    .await
    .map_err(ApiError::store_down("the account store"))?;
    // The same Argon2 work whether or not the account exists: no user
    // enumeration by timing, and one error for both cases.
    let password = body.into_inner().password;
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let ok = state
        .password_gate
        .run(move || password::verify(&password, stored.as_deref()))
        .await?;
    let Some(account) = account.filter(|_| ok) else {
        attempt.failed();
        return Err(ApiError::InvalidCredentials);
    };
    attempt.succeeded();
    // Said only to whoever knows the password.
    if account.disabled {
        return Err(ApiError::AccountDisabled);
    }
    let role = if account.role == "ADMIN" {
        Role::Admin
    } else {
        Role::User
    };
    // Checked again where the session is written: an admin may have
    // disabled the account while the password was being checked.
    let refresh = refresh::start_family(&state.db, account.id, refresh_lifetimes(&state))
        .await
        .map_err(ApiError::store_down("the account store"))?
        .ok_or(ApiError::AccountDisabled)?;
    token_pair(&keys, account.id, role, refresh)
}

/// Rotate a refresh token: the old one stops working, a new pair is returned.
/// Presenting an already-rotated token revokes its whole family; a family
/// ends `auth.refresh_family_max_secs` after its login however often it was
/// rotated. Answered with `Cache-Control: no-store`.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "invalid_token: the refresh token is unknown, expired, revoked or already used"),
    (status = 429, description = "rate_limited (per client address; Retry-After)"),
    (status = 503, description = "unavailable: the account store is down (Retry-After)")))]
#[post("/refresh")]
pub async fn refresh_tokens(
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
    state: web::Data<AppState>,
    keys: web::Data<KeySet>,
) -> Result<HttpResponse, ApiError> {
    limit_by_ip(&req, &state).await?;
    let rotated = refresh::rotate(
        &state.db,
        &state.handoff,
        &body.refresh_token,
        refresh_lifetimes(&state),
    )
    .await;
    match rotated {
        Ok((user_id, role, next)) => token_pair(&keys, user_id, role, next),
        Err(refresh::RefreshError::Database(e)) => {
            Err(ApiError::store_down("the account store")(e))
        }
        Err(e) => {
            tracing::info!(reason = %e, "refresh refused");
            Err(ApiError::InvalidRefreshToken)
        }
    }
}

/// Revoke the refresh token's family (this device signs out): the session's
/// WebSockets, on every notify instance, close with 4003 `session_revoked`;
/// the user's other sessions keep theirs.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, security(("bearer" = [])),
    responses((status = 204), (status = 401, description = "unauthorized")))]
#[post("/logout")]
pub async fn logout(
    user: AuthUser,
    body: web::Json<RefreshRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    refresh::revoke(&state.db, &state.handoff, user.id(), &body.refresh_token)
        .await
        .map_err(ApiError::store_down("the account store"))?;
    Ok(HttpResponse::NoContent().finish())
}

/// Public keys access tokens are signed with (JWKS, RFC 7517).
#[utoipa::path(tag = "auth", responses((status = 200, description = "JWK set")))]
#[get("/jwks")]
pub async fn jwks(keys: web::Data<KeySet>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(keys.jwks())
}

/// The same JWKS at the conventional `/.well-known/jwks.json`.
pub async fn jwks_alias(keys: web::Data<KeySet>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(keys.jwks())
}

fn refresh_lifetimes(state: &AppState) -> refresh::Lifetimes {
    refresh::Lifetimes::of(&state.settings.auth)
}

fn token_pair(
    keys: &KeySet,
    user_id: i64,
    role: Role,
    refresh: refresh::Issued,
) -> Result<HttpResponse, ApiError> {
    let refresh_token = refresh.token;
    let issued_at = u64::try_from(refresh.issued_at.timestamp()).unwrap_or_default();
    let (access_token, expires_in) = keys
        .access_token(user_id, role, Some(refresh.session), issued_at)
        .ok_or_else(|| ApiError::unavailable("signing in"))?;
    // Tokens must not be kept by any cache on the way (RFC 6749 §5.1).
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer",
            expires_in,
        }))
}
