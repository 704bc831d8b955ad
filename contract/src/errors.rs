//! The error answer of every HTTP endpoint of the platform — coupon-service,
//! notify-service's upgrade route and the gateway's own pages — and every
//! public error code, named once (docs/contract.md §2.9).
//!
//! Clients branch on the code, so a new code is a change to the contract:
//! it is added here, where the list is reviewed, never typed at a call site.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)+) => {
        /// A public error code: stable, snake_case.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $code)] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order of this list.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }
        }
    };
}

error_codes! {
    // Requests that cannot be read.
    /// The body is not JSON at all.
    MalformedJson => "malformed_json",
    /// The body could not be read.
    MalformedBody => "malformed_body",
    /// The query string does not parse.
    InvalidQuery => "invalid_query",
    /// The `Idempotency-Key` header is not 1–255 visible ASCII characters.
    InvalidIdempotencyKey => "invalid_idempotency_key",
    /// The gateway could not parse the request.
    BadRequest => "bad_request",
    /// A field is out of range or of the wrong shape; `fields` says which.
    ValidationFailed => "validation_failed",
    PayloadTooLarge => "payload_too_large",
    UnsupportedMediaType => "unsupported_media_type",
    /// The gateway's answer to an over-long request line.
    UriTooLong => "uri_too_long",
    MethodNotAllowed => "method_not_allowed",

    // Who is asking.
    Unauthorized => "unauthorized",
    InvalidToken => "invalid_token",
    TokenExpired => "token_expired",
    InvalidCredentials => "invalid_credentials",
    Forbidden => "forbidden",
    /// The password was right, but an admin disabled the account.
    AccountDisabled => "account_disabled",
    /// Admin accounts are not disabled over the API (`coupon-service` CLI).
    CannotDisableAdmin => "cannot_disable_admin",
    /// notify-service: tokens never travel in the query string.
    TokenInQuery => "token_in_query",
    OriginNotAllowed => "origin_not_allowed",

    // What was asked for.
    NotFound => "not_found",
    EventNotFound => "event_not_found",
    CouponNotFound => "coupon_not_found",
    UserNotFound => "user_not_found",
    EmailTaken => "email_taken",
    EventNotStarted => "event_not_started",
    EventStarted => "event_started",
    EventEnded => "event_ended",
    SoldOut => "sold_out",
    UserLimitReached => "user_limit_reached",
    IdempotencyKeyReused => "idempotency_key_reused",
    CouponUsed => "coupon_used",
    CouponExpired => "coupon_expired",
    MinPurchaseNotMet => "min_purchase_not_met",
    StockBelowIssued => "stock_below_issued",
    LimitBelowHeld => "limit_below_held",
    /// An event's admission mode and queue settings are fixed once its
    /// queue opened (or, first come, once the sale started).
    AdmissionFixed => "admission_fixed",
    // The waiting room.
    /// The event does not admit through a queue.
    NotQueued => "not_queued",
    /// Joining opens at the event's `queue.opens_at`.
    QueueNotOpen => "queue_not_open",
    /// The caller holds no place in the event's queue.
    NotInQueue => "not_in_queue",
    /// Only accounts that existed when the queue opened may join.
    AccountTooNew => "account_too_new",
    /// The queue's order is drawn at the start; no proof before.
    QueueNotDrawn => "queue_not_drawn",
    /// A press in a queued sale from someone not holding an admission (never
    /// admitted, or the claim window passed).
    NotAdmitted => "not_admitted",
    /// The waiting room holds its maximum of places (`events.max_queue_places`).
    QueueFull => "queue_full",
    /// Leaving the queue while one's claim is being written.
    ClaimInProgress => "claim_in_progress",
    // The draw.
    /// The event does not admit by a draw.
    NotADraw => "not_a_draw",
    /// Entering opens at the event's `draw.entry_opens_at`.
    EntriesNotOpen => "entries_not_open",
    /// The entry window closed (`draw.entry_closes_at`): no entry, no
    /// withdrawal.
    EntriesClosed => "entries_closed",
    /// Drawing now while the entry window is still open.
    EntriesOpen => "entries_open",
    /// The draw holds its maximum of entries (`events.max_queue_places`).
    EntriesFull => "entries_full",
    /// The caller has not entered the event's draw.
    NotEntered => "not_entered",
    /// The draw has not happened yet; no proof before.
    NotDrawn => "not_drawn",
    /// The draw named a beacon round whose value the admin has not entered.
    BeaconMissing => "beacon_missing",
    /// The beacon's value is final once the draw used it.
    BeaconFixed => "beacon_fixed",
    /// notify-service's `/ws` answers only WebSocket upgrades.
    WebsocketUpgradeRequired => "websocket_upgrade_required",

    // Load and faults.
    RateLimited => "rate_limited",
    TooManyConnections => "too_many_connections",
    TooManyUnauthenticated => "too_many_unauthenticated",
    ServerFull => "server_full",
    /// A dependency is down or busy; nothing changed, retry.
    Unavailable => "unavailable",
    InternalError => "internal_error",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"error": {"code", "message", "fields"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable, snake_case: what a client branches on.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, pattern = "^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
    )]
    pub code: ErrorCode,
    /// For people; may change.
    pub message: String,
    /// 422 only: each bad field with what is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<std::collections::HashMap<String, String>>)
    )]
    pub fields: Option<BTreeMap<String, String>>,
}

impl ErrorEnvelope {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorBody {
                code,
                message: message.into(),
                fields: None,
            },
        }
    }

    pub fn with_fields(mut self, fields: BTreeMap<String, String>) -> Self {
        self.error.fields = Some(fields);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_snake_case_unique_and_serialises_as_itself() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.split('_').all(|part| !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "{name} is not snake_case"
            );
            assert_eq!(serde_json::to_value(code).unwrap(), name);
            assert_eq!(
                serde_json::from_value::<ErrorCode>(name.into()).unwrap(),
                *code
            );
        }
    }

    #[test]
    fn the_envelope_has_the_documented_shape() {
        let plain = ErrorEnvelope::new(ErrorCode::SoldOut, "sold out");
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            serde_json::json!({"error": {"code": "sold_out", "message": "sold out"}})
        );
        let fields = BTreeMap::from([("size".to_owned(), "at most 100".to_owned())]);
        let with_fields = ErrorEnvelope::new(ErrorCode::ValidationFailed, "size: at most 100")
            .with_fields(fields);
        assert_eq!(
            serde_json::to_value(&with_fields).unwrap()["error"]["fields"]["size"],
            "at most 100"
        );
        assert!(
            serde_json::from_str::<ErrorEnvelope>(r#"{"error":{"code":"made_up","message":""}}"#)
                .is_err()
        );
    }

    /// The gateway writes its own error pages (nginx templates): their codes
    /// must be codes of this list too.
    #[test]
    fn the_gateway_pages_use_only_listed_codes() {
        let nginx = concat!(env!("CARGO_MANIFEST_DIR"), "/../nginx");
        let mut found = 0;
        for entry in std::fs::read_dir(nginx).expect("nginx/") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).unwrap_or_default();
            for (i, _) in text.match_indices(r#""code":""#) {
                let rest = &text[i + r#""code":""#.len()..];
                let code = &rest[..rest.find('"').expect("closing quote")];
                assert!(
                    ErrorCode::ALL.iter().any(|c| c.as_str() == code),
                    "nginx answers with {code}, which is not an ErrorCode"
                );
                found += 1;
            }
        }
        assert!(
            found >= 5,
            "the gateway's error pages were not found ({found})"
        );
    }
}
