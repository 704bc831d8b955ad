//! The service's token keys: the Ed25519 signing key (current `kid`), the
//! public keys tokens are verified with (current + rotated-out ones still
//! accepted), and the JWKS that publishes them so other services verify
//! without the private key.

use anyhow::Context;
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use contract::{
    jwt::{Principal, Role, TokenError, TokenSigner, TokenVerifier, now_unix},
    keys::PublicKeys,
};
use serde_json::{Value, json};

use crate::configuration::AuthSettings;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte
/// key follows it.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Verified tokens kept at most this long (and never past their `exp`).
const VERIFIED_TTL: std::time::Duration = std::time::Duration::from_secs(60);

pub struct KeySet {
    signer: Option<TokenSigner>,
    verifier: TokenVerifier,
    /// Token → its verified principal. A sale's clients send the same token
    /// many times; an Ed25519 verification costs tens of microseconds, a
    /// lookup well under one. Keyed by the whole token, so no collision can
    /// hand one user another's identity.
    verified: moka::sync::Cache<Box<str>, Principal>,
    jwks: Value,
    access_ttl_secs: u64,
}

impl KeySet {
    pub fn load(auth: &AuthSettings) -> anyhow::Result<Self> {
        let public = PublicKeys::read(
            (&auth.key_id, &auth.public_key_path),
            auth.previous_public_keys
                .iter()
                .map(|old| (old.kid.as_str(), old.path.as_str())),
        )?;
        let verifier = public.verifier(&auth.issuer, &auth.audience, auth.leeway_secs)?;
        let keys = public
            .iter()
            .map(|(kid, pem)| jwk(kid, pem))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let signer = match &auth.private_key_path {
            Some(path) => match std::fs::read(path) {
                Ok(pem) => Some(
                    TokenSigner::from_private_pem(&auth.key_id, &pem, &auth.issuer, &auth.audience)
                        .context("auth.private_key_path: not an Ed25519 private key (PEM)")?,
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "auth.private_key_path unreadable: login is unavailable");
                    None
                }
            },
            None => None,
        };
        Ok(Self {
            signer,
            verifier,
            verified: moka::sync::Cache::builder()
                .max_capacity(200_000)
                .time_to_live(VERIFIED_TTL)
                .build(),
            jwks: json!({ "keys": keys }),
            access_ttl_secs: auth.access_ttl_secs,
        })
    }

    /// Verifies a token, from the cache of verified tokens when possible. A
    /// cached entry is only used while the token has not expired; refused
    /// tokens are not cached (each refusal pays for its verification).
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        if let Some(principal) = self.verified.get(token) {
            if principal.expires_at > now_unix() {
                return Ok(principal);
            }
            self.verified.invalidate(token);
            return Err(TokenError::Expired);
        }
        let principal = self.verifier.verify(token)?;
        self.verified.insert(token.into(), principal);
        Ok(principal)
    }

    /// A fresh access token of the session (`sid`) issued at `issued_at`
    /// (unix seconds; the database's clock, see `refresh::Issued`) and its
    /// lifetime in seconds; `None` when this instance has no signing key.
    pub fn access_token(
        &self,
        user_id: i64,
        role: Role,
        session: Option<uuid::Uuid>,
        issued_at: u64,
    ) -> Option<(String, u64)> {
        let signer = self.signer.as_ref()?;
        let token = signer.sign_in_session(user_id, role, session, issued_at, self.access_ttl_secs);
        Some((token, self.access_ttl_secs))
    }

    pub fn jwks(&self) -> &Value {
        &self.jwks
    }
}

/// The JWK (RFC 8037, OKP / Ed25519) of a public key PEM.
fn jwk(kid: &str, pem: &[u8]) -> anyhow::Result<Value> {
    let text = std::str::from_utf8(pem).context("public key PEM is not text")?;
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD
        .decode(body.trim())
        .context("public key PEM is not base64")?;
    let raw = der
        .strip_prefix(&ED25519_SPKI_PREFIX[..])
        .filter(|raw| raw.len() == 32)
        .context("public key is not an Ed25519 SubjectPublicKeyInfo")?;
    Ok(json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(raw),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwk_of_the_test_key_is_an_okp_ed25519_key() {
        let pem = include_bytes!("../../../contract/test-keys/test-ed25519.pub.pem");
        let jwk = jwk("k1", pem).unwrap();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["kid"], "k1");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert!(
            super::jwk(
                "k1",
                b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
            )
            .is_err()
        );
    }
}
