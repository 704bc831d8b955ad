//! The `Idempotency-Key` request header.

use actix_web::HttpRequest;
use contract::errors::ErrorCode;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub const HEADER: &str = "Idempotency-Key";
const MAX_LEN: usize = 255;

/// The header's key, hashed to a fixed-size token safe inside Redis keys and
/// values; `""` when the request has none.
pub fn key_hash(req: &HttpRequest) -> Result<String, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(String::new());
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_LEN && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest(
                ErrorCode::InvalidIdempotencyKey,
                format!("{HEADER} must be 1 to {MAX_LEN} visible ASCII characters"),
            )
        })?;
    Ok(hash(key))
}

/// A key as Redis keys and values carry it: 32 hex characters of its SHA-256.
pub fn hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn keys_hash_stably_and_bad_keys_are_refused() {
        let req = TestRequest::default()
            .insert_header((HEADER, "abc-123"))
            .to_http_request();
        let h = key_hash(&req).unwrap();
        assert_eq!(h.len(), 32);
        assert_eq!(h, key_hash(&req).unwrap());
        assert_eq!(
            key_hash(&TestRequest::default().to_http_request()).unwrap(),
            ""
        );
        let bad = TestRequest::default()
            .insert_header((HEADER, "has space"))
            .to_http_request();
        assert_eq!(
            key_hash(&bad).unwrap_err().code(),
            ErrorCode::InvalidIdempotencyKey
        );
        let long = TestRequest::default()
            .insert_header((HEADER, "x".repeat(300)))
            .to_http_request();
        assert!(key_hash(&long).is_err());
    }
}
