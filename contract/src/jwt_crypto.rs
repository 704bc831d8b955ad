//! The cryptography behind `jsonwebtoken`: Ed25519 only, with
//! `ed25519-dalek`, installed as the process's `CryptoProvider`.
//!
//! Why not the crate's `rust_crypto` backend: it links every algorithm it
//! knows, RSA included (the `rsa` crate, RUSTSEC-2023-0071: a timing side
//! channel with no fixed version), while tokens here are EdDSA only and any
//! other algorithm is refused before signature work (`jwt.rs`). With this
//! provider no RSA, ECDSA or HMAC code is in the binaries at all: a
//! signer or verifier for any other algorithm is an error.

use std::sync::Once;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey, pkcs8::DecodePrivateKey};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey,
    crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils},
    errors::{Error, ErrorKind, Result},
};
use signature::{Signer, Verifier};

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    // JWKs are written by hand (coupon-service's `auth/keys.rs`); none of
    // the crate's JWK helpers is called.
    key_utils: KeyUtils::new_unimplemented(),
};

/// Installs the Ed25519-only provider for this process, once; every path
/// that signs or verifies (`TokenSigner`, `TokenVerifier`) calls it first.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another provider installed first (a test's own) is kept.
        let _ = PROVIDER.install_default();
    });
}

fn signer_factory(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::EdDSA {
        return Err(Error::from(ErrorKind::InvalidAlgorithm));
    }
    let key = SigningKey::from_pkcs8_der(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdSigner(key)))
}

fn verifier_factory(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::EdDSA {
        return Err(Error::from(ErrorKind::InvalidAlgorithm));
    }
    let bytes = key.try_get_as_bytes()?;
    let public: &[u8; 32] = bytes
        .get(..32)
        .and_then(|b| b.try_into().ok())
        .ok_or(ErrorKind::InvalidEddsaKey)?;
    let key = VerifyingKey::from_bytes(public).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdVerifier(key)))
}

struct EdSigner(SigningKey);

impl Signer<Vec<u8>> for EdSigner {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }
}

impl JwtSigner for EdSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct EdVerifier(VerifyingKey);

impl Verifier<Vec<u8>> for EdVerifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        // `verify_strict`: no malleable or small-order signatures.
        self.0
            .verify_strict(message, &Signature::from_slice(signature)?)
    }
}

impl JwtVerifier for EdVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &[u8] = include_bytes!("../test-keys/test-ed25519.pem");

    #[test]
    fn other_algorithms_have_no_signer_or_verifier() {
        install();
        let key = EncodingKey::from_ed_pem(PRIVATE).unwrap();
        assert!(signer_factory(&Algorithm::EdDSA, &key).is_ok());
        for other in [
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::HS256,
            Algorithm::PS256,
        ] {
            assert!(signer_factory(&other, &key).is_err(), "{other:?}");
        }
        let secret = DecodingKey::from_secret(b"a shared secret");
        assert!(verifier_factory(&Algorithm::HS256, &secret).is_err());
    }
}
