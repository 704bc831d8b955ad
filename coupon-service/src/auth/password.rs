//! Password hashing with Argon2id (default parameters of the `argon2` crate,
//! the OWASP baseline). Hashing is slow on purpose: callers run it on the
//! blocking pool.

use std::sync::LazyLock;

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

/// Verified against when the account does not exist, so "no such user" and
/// "wrong password" take the same time.
static DUMMY: LazyLock<String> =
    LazyLock::new(|| hash("a password nobody has").unwrap_or_default());

pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Whether `password` matches `stored`; with no stored hash it still does the
/// work of one verification and answers false.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let phc = stored.unwrap_or(DUMMY.as_str());
    let matches = PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    matches && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery staple", Some(&h)));
        assert!(!verify("wrong", Some(&h)));
        assert!(!verify("a password nobody has", None));
        assert!(!verify("anything", Some("not a phc string")));
    }
}
