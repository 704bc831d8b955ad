//! The one error type of the HTTP API, rendered in the platform's envelope
//! (`contract::errors`, docs/contract.md §2.9):
//! `{"error": {"code": "<snake_case>", "message": "<human text>"}}`. Codes
//! are `ErrorCode`s, so a new public code is added to the contract's list,
//! never typed here.

use actix_web::{
    HttpRequest, HttpResponse, ResponseError,
    error::{JsonPayloadError, PathError, QueryPayloadError},
    http::{StatusCode, header},
};
use contract::errors::{ErrorCode, ErrorEnvelope};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{1}")]
    BadRequest(ErrorCode, String),
    /// 422 `validation_failed`; `fields` names each bad field.
    #[error("{message}")]
    Validation {
        message: String,
        fields: Vec<(String, String)>,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("the access token is not valid")]
    InvalidToken,
    #[error("the access token has expired")]
    TokenExpired,
    /// A refused refresh token; same code as a bad access token.
    #[error(
        "the refresh token is not valid (unknown, expired, revoked or already used); sign in again"
    )]
    InvalidRefreshToken,
    /// Wrong email or password; deliberately not saying which.
    #[error("the email or password is not correct")]
    InvalidCredentials,
    #[error("this action needs another role")]
    Forbidden,
    #[error("this account has been disabled")]
    AccountDisabled,
    /// 403 with a code of its own: refused for who the caller is, not for
    /// a role (`not_admitted`, `account_too_new`).
    #[error("{1}")]
    Refused(ErrorCode, String),
    #[error("{1}")]
    NotFound(ErrorCode, String),
    #[error("{1}")]
    Conflict(ErrorCode, String),
    #[error("{1}")]
    Gone(ErrorCode, String),
    #[error("{1}")]
    Unprocessable(ErrorCode, String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("too many requests, retry later")]
    RateLimited { retry_after_secs: u64 },
    /// A dependency is down or busy; nothing was changed, the client may retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest(code, _)
            | Self::Refused(code, _)
            | Self::NotFound(code, _)
            | Self::Conflict(code, _)
            | Self::Gone(code, _)
            | Self::Unprocessable(code, _) => *code,
            Self::Validation { .. } => ErrorCode::ValidationFailed,
            Self::Unauthenticated => ErrorCode::Unauthorized,
            Self::InvalidToken | Self::InvalidRefreshToken => ErrorCode::InvalidToken,
            Self::TokenExpired => ErrorCode::TokenExpired,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::AccountDisabled => ErrorCode::AccountDisabled,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Unexpected(_) => ErrorCode::InternalError,
        }
    }

    /// 404 `event_not_found`, the one way every route says it.
    pub fn event_not_found(id: i64) -> Self {
        Self::NotFound(
            ErrorCode::EventNotFound,
            format!("event {id} does not exist"),
        )
    }

    pub fn validation(field: &str, message: &str) -> Self {
        Self::Validation {
            message: format!("{field}: {message}"),
            fields: vec![(field.to_owned(), message.to_owned())],
        }
    }

    pub fn unavailable(what: &str) -> Self {
        Self::Unavailable(format!("{what} is temporarily unavailable, please retry"))
    }

    /// For `.map_err(...)` on a PostgreSQL call: logs the cause once, here,
    /// and answers 503 naming what is unavailable.
    pub fn store_down(what: &'static str) -> impl Fn(sqlx::Error) -> Self {
        move |e| {
            tracing::warn!(error = %e, store = what, "PostgreSQL unavailable");
            Self::unavailable(what)
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(..) => StatusCode::BAD_REQUEST,
            Self::Validation { .. } | Self::Unprocessable(..) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated
            | Self::InvalidToken
            | Self::InvalidRefreshToken
            | Self::TokenExpired
            | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::AccountDisabled | Self::Refused(..) => StatusCode::FORBIDDEN,
            Self::NotFound(..) => StatusCode::NOT_FOUND,
            Self::Conflict(..) => StatusCode::CONFLICT,
            Self::Gone(..) => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Unexpected(cause) = self {
            // Logged once, here at the boundary, with the whole cause chain.
            tracing::error!(error.cause_chain = ?cause, "unexpected error");
        }
        let mut envelope = ErrorEnvelope::new(self.code(), self.to_string());
        if let Self::Validation { fields, .. } = self
            && !fields.is_empty()
        {
            envelope = envelope.with_fields(fields.iter().cloned().collect());
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::RateLimited { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            Self::Unauthenticated | Self::InvalidToken | Self::TokenExpired => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        response.json(envelope)
    }
}

/// Malformed, mistyped or oversized JSON bodies, in the envelope.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::Validation {
            message: format!("the request body does not match the expected shape: {e}"),
            fields: Vec::new(),
        },
        JsonPayloadError::Deserialize(e) => ApiError::BadRequest(
            ErrorCode::MalformedJson,
            format!("the request body is not valid JSON: {e}"),
        ),
        _ => ApiError::BadRequest(
            ErrorCode::MalformedBody,
            "the request body could not be read".into(),
        ),
    };
    api.into()
}

pub fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound(ErrorCode::NotFound, "no such resource".into()).into()
}

pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(
        ErrorCode::InvalidQuery,
        format!("invalid query string: {err}"),
    )
    .into()
}

/// Unknown routes and methods still answer in the envelope.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(
        ErrorCode::NotFound,
        "no such resource".into(),
    ))
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    async fn render(err: ApiError) -> (u16, serde_json::Value, Option<String>) {
        let response = err.error_response();
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap(), retry)
    }

    #[actix_web::test]
    async fn each_variant_renders_its_status_code_and_envelope() {
        let (status, body, _) = render(ApiError::Gone(ErrorCode::SoldOut, "sold out".into())).await;
        assert_eq!(status, 410);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "sold_out", "message": "sold out"}})
        );

        let (status, body, retry) = render(ApiError::unavailable("issuance")).await;
        assert_eq!((status, retry.as_deref()), (503, Some("1")));
        assert_eq!(body["error"]["code"], "unavailable");

        let (status, body, retry) = render(ApiError::RateLimited {
            retry_after_secs: 3,
        })
        .await;
        assert_eq!((status, retry.as_deref()), (429, Some("3")));
        assert_eq!(body["error"]["code"], "rate_limited");

        let (status, body, _) = render(ApiError::validation("event_id", "must be positive")).await;
        assert_eq!(status, 422);
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["error"]["fields"]["event_id"], "must be positive");
    }

    #[actix_web::test]
    async fn unexpected_errors_hide_their_cause() {
        let (status, body, _) = render(ApiError::Unexpected(anyhow::anyhow!(
            "password=hunter2 leaked"
        )))
        .await;
        assert_eq!(status, 500);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "internal_error", "message": "internal error"}})
        );
    }
}
