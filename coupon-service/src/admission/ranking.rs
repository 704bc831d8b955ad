//! The seeded ranking anyone can recompute (docs/contract.md §2.8): a
//! place's rank key is SHA-256(seed ‖ the user id in ASCII decimal), and
//! places are ordered by that key, smallest first (a tie, which SHA-256
//! makes practically impossible, goes to the smaller user id). The seed is
//! 32 random bytes whose SHA-256 (the commitment) is public before anyone
//! joins and which is revealed at the draw, so the operator cannot choose
//! it after seeing who joined, and everyone can check the order.

use rand::RngExt;
use sha2::{Digest, Sha256};

/// A fresh seed: 32 bytes from the operating system's generator.
pub fn new_seed() -> [u8; 32] {
    rand::rng().random()
}

/// The public commitment to a seed: hex SHA-256 of its bytes.
pub fn commitment(seed: &[u8]) -> String {
    hex(&Sha256::digest(seed))
}

/// A user's rank key under a seed.
pub fn rank_key(seed: &[u8], user_id: i64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(user_id.to_string().as_bytes());
    h.finalize().into()
}

/// The users in ranked order.
pub fn ranked(seed: &[u8], mut users: Vec<i64>) -> Vec<i64> {
    users.sort_by_cached_key(|&u| (rank_key(seed, u), u));
    users
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from lowercase or uppercase hex; `None` for anything else.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rank_key_is_sha256_of_the_seed_then_the_decimal_id() {
        // sha256(32 zero bytes ‖ "42"), computed independently:
        // python3 -c "import hashlib;print(hashlib.sha256(bytes(32)+b'42').hexdigest())"
        assert_eq!(
            hex(&rank_key(&[0; 32], 42)),
            "f8b22fc7663292a71a94c45e845d667ad86d0b6008132a647caf667ad71b3644"
        );
    }

    #[test]
    fn ranking_depends_on_the_seed_and_not_on_arrival() {
        let users: Vec<i64> = (1..=50).collect();
        let a = ranked(&[1; 32], users.clone());
        let reversed = ranked(&[1; 32], users.iter().rev().copied().collect());
        let b = ranked(&[2; 32], users.clone());
        assert_eq!(a, reversed);
        assert_ne!(a, b);
        assert_ne!(a, users);
    }

    #[test]
    fn commitment_and_hex_round_trip() {
        let seed = new_seed();
        assert_eq!(unhex(&hex(&seed)).unwrap(), seed.to_vec());
        assert_eq!(commitment(&seed).len(), 64);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("abc"), None);
    }
}
