//! Loading the public keys access tokens are verified with: the current
//! key and the rotated-out ones still accepted, each under its `kid`. Both
//! services read them the same way from the same settings, so a rotation
//! cannot work in one and fail in the other.

use crate::jwt::TokenVerifier;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("auth: cannot read the public key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("auth: a public key is not an Ed25519 public key (PEM): {0}")]
    NotEd25519(#[from] jsonwebtoken::errors::Error),
}

/// `(kid, PEM)` of every accepted public key, the current one first.
#[derive(Debug, Clone)]
pub struct PublicKeys {
    keys: Vec<(String, Vec<u8>)>,
}

impl PublicKeys {
    /// Reads `current` and `previous` as `(kid, path)`.
    pub fn read<'a>(
        current: (&str, &str),
        previous: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, KeyError> {
        let read = |(kid, path): (&str, &str)| {
            std::fs::read(path)
                .map(|pem| (kid.to_owned(), pem))
                .map_err(|source| KeyError::Read {
                    path: path.to_owned(),
                    source,
                })
        };
        let mut keys = vec![read(current)?];
        for key in previous {
            keys.push(read(key)?);
        }
        Ok(Self { keys })
    }

    /// `(kid, PEM)`, the current key first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.keys
            .iter()
            .map(|(kid, pem)| (kid.as_str(), pem.as_slice()))
    }

    /// A verifier accepting every one of these keys.
    pub fn verifier(
        &self,
        issuer: &str,
        audience: &str,
        leeway_secs: u64,
    ) -> Result<TokenVerifier, KeyError> {
        Ok(TokenVerifier::from_public_pems(
            self.iter(),
            issuer,
            audience,
            leeway_secs,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-keys/");

    #[test]
    fn the_current_key_comes_first_and_every_key_verifies() {
        let current = format!("{KEYS}test-ed25519.pub.pem");
        // One file under two kids stands in for a rotation here.
        let old = current.clone();
        let keys = PublicKeys::read(("now", &current), [("before", old.as_str())]).unwrap();
        let kids: Vec<&str> = keys.iter().map(|(kid, _)| kid).collect();
        assert_eq!(kids, ["now", "before"]);
        keys.verifier("iss", "aud", 0).unwrap();
    }

    #[test]
    fn a_missing_file_or_a_private_key_is_refused_naming_the_cause() {
        let missing = PublicKeys::read(("k", "/nonexistent/key.pem"), []).unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/key.pem"),
            "{missing}"
        );
        let private = format!("{KEYS}test-ed25519.pem");
        let keys = PublicKeys::read(("k", &private), []).unwrap();
        assert!(matches!(
            keys.verifier("iss", "aud", 0),
            Err(KeyError::NotEd25519(_))
        ));
    }
}
