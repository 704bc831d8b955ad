//! Bearer-token authentication for handlers: add an `AuthUser` (any signed-in
//! user) or `AdminUser` (role ADMIN, else 403) argument. Verification itself
//! is the shared crate's (`contract::jwt`), through the service's `KeySet`;
//! tokens of ended sessions are refused (`revoked_sessions.rs`).

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use contract::{
    jwt::{Principal, Role, TokenError},
    revocations::Revocations,
};

use super::keys::KeySet;
use crate::error::ApiError;

/// A request made with a valid access token.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub Principal);

impl AuthUser {
    pub fn id(&self) -> i64 {
        self.0.user_id
    }

    pub fn is_admin(&self) -> bool {
        self.0.role == Role::Admin
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(token) = bearer(req) else {
            return ready(Err(ApiError::Unauthenticated));
        };
        let Some(keys) = req.app_data::<web::Data<KeySet>>() else {
            return ready(Err(ApiError::Unexpected(anyhow::anyhow!(
                "no key set configured"
            ))));
        };
        let principal = match keys.verify(token) {
            Ok(principal) => principal,
            Err(TokenError::Expired) => return ready(Err(ApiError::TokenExpired)),
            Err(TokenError::Invalid) => return ready(Err(ApiError::InvalidToken)),
        };
        // A token of a session that ended (logout, a reused refresh token,
        // an account disabled) is refused like a bad one.
        let revoked = req
            .app_data::<web::Data<Revocations>>()
            .is_some_and(|known| known.refuses(&principal));
        if revoked {
            return ready(Err(ApiError::InvalidToken));
        }
        ready(Ok(AuthUser(principal)))
    }
}

/// A request made with a valid access token of an ADMIN.
#[derive(Debug, Clone, Copy)]
pub struct AdminUser(pub AuthUser);

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(match AuthUser::from_request(req, payload).into_inner() {
            Ok(user) if user.is_admin() => Ok(AdminUser(user)),
            Ok(_) => Err(ApiError::Forbidden),
            Err(e) => Err(e),
        })
    }
}
