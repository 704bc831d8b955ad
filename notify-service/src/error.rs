//! Errors of the plain HTTP side (the upgrade request and unknown routes),
//! in the platform's envelope (`contract::errors`): `{"error": {"code",
//! "message"}}`. Once a
//! socket is open, errors are `error` frames and close codes instead.

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use contract::errors::{ErrorCode, ErrorEnvelope};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("this endpoint only speaks WebSocket (GET with Upgrade: websocket)")]
    UpgradeRequired,
    #[error(
        "tokens are not accepted in the query string; use the Authorization header or an auth frame"
    )]
    TokenInQuery,
    #[error("the access token is not valid")]
    InvalidToken,
    #[error("the access token has expired")]
    TokenExpired,
    #[error("this origin may not open a socket here")]
    OriginNotAllowed,
    #[error("the user holds too many connections")]
    TooManyConnections,
    #[error("this server holds the most connections it takes; retry shortly")]
    ServerFull,
    #[error(
        "this server holds the most sockets without a token it takes; retry shortly, or send the token in the Authorization header"
    )]
    UnauthenticatedFull,
    #[error("this address holds too many sockets that have not authenticated")]
    TooManyUnauthenticated,
    #[error("this server cannot push right now; retry shortly")]
    NotReady,
    #[error("no such resource")]
    NotFound,
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UpgradeRequired => ErrorCode::WebsocketUpgradeRequired,
            Self::TokenInQuery => ErrorCode::TokenInQuery,
            Self::InvalidToken => ErrorCode::InvalidToken,
            Self::TokenExpired => ErrorCode::TokenExpired,
            Self::OriginNotAllowed => ErrorCode::OriginNotAllowed,
            Self::TooManyConnections => ErrorCode::TooManyConnections,
            Self::ServerFull | Self::UnauthenticatedFull => ErrorCode::ServerFull,
            Self::TooManyUnauthenticated => ErrorCode::TooManyUnauthenticated,
            Self::NotReady => ErrorCode::Unavailable,
            Self::NotFound => ErrorCode::NotFound,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::UpgradeRequired | Self::TokenInQuery => StatusCode::BAD_REQUEST,
            Self::InvalidToken | Self::TokenExpired => StatusCode::UNAUTHORIZED,
            Self::OriginNotAllowed => StatusCode::FORBIDDEN,
            Self::TooManyConnections | Self::TooManyUnauthenticated => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::ServerFull | Self::UnauthenticatedFull | Self::NotReady => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::NotFound => StatusCode::NOT_FOUND,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::InvalidToken | Self::TokenExpired => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::ServerFull
            | Self::UnauthenticatedFull
            | Self::NotReady
            | Self::TooManyConnections
            | Self::TooManyUnauthenticated => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        response.json(ErrorEnvelope::new(self.code(), self.to_string()))
    }
}

/// Unknown routes and methods still answer in the envelope.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    #[actix_web::test]
    async fn each_variant_renders_its_status_and_envelope() {
        for (err, status, code) in [
            (ApiError::TokenExpired, 401, "token_expired"),
            (ApiError::OriginNotAllowed, 403, "origin_not_allowed"),
            (ApiError::ServerFull, 503, "server_full"),
            (ApiError::UnauthenticatedFull, 503, "server_full"),
            (
                ApiError::TooManyUnauthenticated,
                429,
                "too_many_unauthenticated",
            ),
            (ApiError::TokenInQuery, 400, "token_in_query"),
        ] {
            let response = err.error_response();
            assert_eq!(response.status().as_u16(), status);
            let body = to_bytes(response.into_body()).await.unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["error"]["code"], code);
            assert!(
                json["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
    }
}
