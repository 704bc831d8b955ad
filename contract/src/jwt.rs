//! Access tokens: the claims and their verification, shared by every service.
//!
//! Tokens are EdDSA (Ed25519) JWTs. The algorithm is pinned: a token whose
//! header names any other algorithm (`none`, `HS256` signed with the public
//! key, …) is refused before any signature work. Keys are chosen by `kid`, so
//! a rotated-out key keeps verifying until it is removed from the set. A
//! header with a `crit` member is refused: it names extensions the verifier
//! must understand, and we understand none (RFC 7515 §4.1.11).

use std::collections::HashMap;

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
    errors::ErrorKind,
};
use serde::{Deserialize, Serialize};

/// The only signing algorithm accepted.
pub const ALGORITHM: Algorithm = Algorithm::EdDSA;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    User,
    Admin,
}

/// Claims of an access token (docs/contract.md §2.2 and issue "Accounts, tokens…").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id, as a decimal string (JWT `sub` is a string).
    pub sub: String,
    pub role: Role,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub aud: String,
    pub iss: String,
    /// The session (refresh-token family) the token was issued in: a
    /// logout or revocation of that session closes the sockets that
    /// authenticated with it. Absent on tokens made outside a sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<uuid::Uuid>,
}

impl AccessClaims {
    /// The numeric user id; `None` when `sub` is not a positive integer.
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse::<i64>().ok().filter(|id| *id > 0)
    }
}

/// Why a token was refused. Every variant is a 401 for the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
}

/// A verified user, what a request handler gets out of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
    /// Expiry (unix seconds): a cache of verified tokens may keep it until then.
    pub expires_at: u64,
    /// The token's `sid`, when it has one.
    pub session: Option<uuid::Uuid>,
    /// `iat` (unix seconds): a revocation of every session of the user
    /// refuses the tokens issued before it.
    pub issued_at: u64,
}

/// Verifies access tokens against a set of public keys indexed by `kid`.
pub struct TokenVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl TokenVerifier {
    /// `keys`: `(kid, public key PEM)`; `leeway_secs` absorbs clock skew.
    pub fn from_public_pems<'a>(
        keys: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        issuer: &str,
        audience: &str,
        leeway_secs: u64,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        crate::jwt_crypto::install();
        let keys = keys
            .into_iter()
            .map(|(kid, pem)| Ok((kid.to_owned(), DecodingKey::from_ed_pem(pem)?)))
            .collect::<Result<HashMap<_, _>, jsonwebtoken::errors::Error>>()?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = leeway_secs;
        Ok(Self { keys, validation })
    }

    /// Checks signature, algorithm, `kid`, `crit`, `exp`, `nbf`, `iss` and
    /// `aud`.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != ALGORITHM || header.crit.is_some() {
            return Err(TokenError::Invalid);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(TokenError::Invalid)?;
        let data =
            decode::<AccessClaims>(token, key, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let claims = data.claims;
        let user_id = claims.user_id().ok_or(TokenError::Invalid)?;
        Ok(Principal {
            user_id,
            role: claims.role,
            expires_at: claims.exp,
            session: claims.sid,
            issued_at: claims.iat,
        })
    }
}

/// Signs access tokens with one private key (the issuer's side).
pub struct TokenSigner {
    kid: String,
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl TokenSigner {
    pub fn from_private_pem(
        kid: &str,
        pem: &[u8],
        issuer: &str,
        audience: &str,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        crate::jwt_crypto::install();
        Ok(Self {
            kid: kid.to_owned(),
            key: EncodingKey::from_ed_pem(pem)?,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// A token for `user_id` valid from `now` for `ttl_secs`, outside any
    /// session (tools and tests).
    pub fn sign(&self, user_id: i64, role: Role, now: u64, ttl_secs: u64) -> String {
        self.sign_in_session(user_id, role, None, now, ttl_secs)
    }

    /// A token of the session `sid` (the refresh family of a sign-in).
    pub fn sign_in_session(
        &self,
        user_id: i64,
        role: Role,
        sid: Option<uuid::Uuid>,
        now: u64,
        ttl_secs: u64,
    ) -> String {
        self.sign_claims(&AccessClaims {
            sub: user_id.to_string(),
            role,
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
            aud: self.audience.clone(),
            iss: self.issuer.clone(),
            sid,
        })
    }

    /// Signs arbitrary claims (tests use it to build bad tokens).
    pub fn sign_claims(&self, claims: &AccessClaims) -> String {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.kid.clone());
        // Ed25519 signing of a serialisable struct cannot fail.
        encode(&header, claims, &self.key).unwrap_or_default()
    }
}

/// Current unix time in seconds, the clock tokens are checked against.
pub fn now_unix() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &[u8] = include_bytes!("../test-keys/test-ed25519.pem");
    const PUBLIC: &[u8] = include_bytes!("../test-keys/test-ed25519.pub.pem");
    const OTHER_PRIVATE: &[u8] = include_bytes!("../test-keys/other-ed25519.pem");

    fn verifier() -> TokenVerifier {
        TokenVerifier::from_public_pems([("k1", PUBLIC)], "iss", "aud", 5).unwrap()
    }

    fn signer(kid: &str, pem: &[u8]) -> TokenSigner {
        TokenSigner::from_private_pem(kid, pem, "iss", "aud").unwrap()
    }

    #[test]
    fn a_fresh_token_verifies_to_its_user() {
        let token = signer("k1", PRIVATE).sign(7, Role::Admin, now_unix(), 60);
        let p = verifier().verify(&token).unwrap();
        assert_eq!((p.user_id, p.role, p.session), (7, Role::Admin, None));
        let sid = uuid::Uuid::new_v4();
        let token = signer("k1", PRIVATE).sign_in_session(7, Role::User, Some(sid), now_unix(), 60);
        assert_eq!(verifier().verify(&token).unwrap().session, Some(sid));
    }

    #[test]
    fn expired_unknown_kid_wrong_key_and_garbage_are_refused() {
        let v = verifier();
        let now = now_unix();
        assert_eq!(
            v.verify(&signer("k1", PRIVATE).sign(7, Role::User, now - 100, 30)),
            Err(TokenError::Expired)
        );
        let unknown = signer("k2", PRIVATE).sign(7, Role::User, now, 60);
        assert_eq!(v.verify(&unknown), Err(TokenError::Invalid));
        let forged = signer("k1", OTHER_PRIVATE).sign(7, Role::User, now, 60);
        assert_eq!(v.verify(&forged), Err(TokenError::Invalid));
        assert_eq!(v.verify("not.a.token"), Err(TokenError::Invalid));
    }

    #[test]
    fn wrong_audience_issuer_future_nbf_and_bad_sub_are_refused() {
        let s = signer("k1", PRIVATE);
        let now = now_unix();
        let base = AccessClaims {
            sub: "7".into(),
            role: Role::User,
            iat: now,
            nbf: now,
            exp: now + 60,
            aud: "aud".into(),
            iss: "iss".into(),
            sid: None,
        };
        let v = verifier();
        for bad in [
            AccessClaims {
                aud: "other".into(),
                ..base.clone()
            },
            AccessClaims {
                iss: "other".into(),
                ..base.clone()
            },
            AccessClaims {
                nbf: now + 600,
                ..base.clone()
            },
            AccessClaims {
                sub: "abc".into(),
                ..base.clone()
            },
            AccessClaims {
                sub: "-3".into(),
                ..base.clone()
            },
        ] {
            assert_eq!(
                v.verify(&s.sign_claims(&bad)),
                Err(TokenError::Invalid),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn alg_none_and_hs256_with_the_public_key_are_refused() {
        let now = now_unix();
        let claims = AccessClaims {
            sub: "7".into(),
            role: Role::Admin,
            iat: now,
            nbf: now,
            exp: now + 60,
            aud: "aud".into(),
            iss: "iss".into(),
            sid: None,
        };
        let payload = serde_json::to_vec(&claims).unwrap();
        let b64 = base64_url_nopad;
        // Refused on its header, before any signature work: whatever the
        // signature (the services link no HMAC code to make a real one;
        // coupon-service's auth tests send one through the API).
        let confused = format!(
            "{}.{}.{}",
            b64(br#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#),
            b64(&payload),
            b64(PUBLIC)
        );
        assert_eq!(verifier().verify(&confused), Err(TokenError::Invalid));

        let none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
            b64(&payload)
        );
        assert_eq!(verifier().verify(&none), Err(TokenError::Invalid));
    }

    #[test]
    fn a_header_with_critical_extensions_is_refused() {
        let now = now_unix();
        let token = signer("k1", PRIVATE).sign(7, Role::User, now, 60);
        assert!(verifier().verify(&token).is_ok());
        let mut header = Header::new(ALGORITHM);
        header.kid = Some("k1".into());
        for crit in [vec!["exp".to_owned()], vec!["x-unknown".to_owned()], vec![]] {
            header.crit = Some(crit.clone());
            header.extras.insert("x-unknown", true);
            let claims = AccessClaims {
                sub: "7".into(),
                role: Role::User,
                iat: now,
                nbf: now,
                exp: now + 60,
                aud: "aud".into(),
                iss: "iss".into(),
                sid: None,
            };
            let critical = encode(
                &header,
                &claims,
                &EncodingKey::from_ed_pem(PRIVATE).unwrap(),
            )
            .unwrap();
            assert_eq!(
                verifier().verify(&critical),
                Err(TokenError::Invalid),
                "crit {crit:?}"
            );
        }
    }

    /// Minimal base64url without padding, so the test needs no extra crate.
    fn base64_url_nopad(input: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in input.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
