//! Fair admission that anyone can check (docs/contract.md §2.10): the
//! seeded ranking, the commitment to its seed, and the waiting room's proof
//! with its check. coupon-service builds the proof and the
//! `coupon-service verify-queue` command checks it; flashload checks every
//! run's; the web page recomputes the same ranking in the browser.
//!
//! The ranking: a place's rank key is SHA-256(seed ‖ the user id in ASCII
//! decimal), and places are ordered by that key, smallest first (a tie,
//! which SHA-256 makes practically impossible, goes to the smaller user
//! id). The seed is 32 random bytes whose SHA-256 (the commitment) is
//! public before anyone joins and which is revealed at the draw, so the
//! operator cannot choose it after seeing who joined, and everyone can
//! check the order.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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

/// How the order is made, in words, as the proof states it.
pub const RULE: &str = "pre_queue (joined before start_time) ordered by SHA-256(seed bytes || \
     ASCII decimal user id), smallest first, a tie to the smaller id; then late joiners in arrival \
     order; admission follows that order, skipping places that left";

/// The proof a waiting room publishes once its order is drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueProof {
    pub event_id: i64,
    pub rule: String,
    /// hex SHA-256 of the seed, public since the event was queued.
    pub seed_commitment: String,
    /// hex, 32 bytes.
    pub seed: String,
    pub start_time: DateTime<Utc>,
    pub drawn_at: DateTime<Utc>,
    /// Account ids of those who joined before the start, positions 1..N.
    pub pre_queue: Vec<i64>,
    /// Account ids of later joiners, positions N+1.. in arrival order.
    pub late: Vec<i64>,
    /// Account ids in the order they were admitted.
    pub admitted: Vec<i64>,
    /// Account ids that left before their turn (admission skipped them).
    pub skipped: Vec<i64>,
}

impl QueueProof {
    /// Every check, or the first that fails. The summary names the counts
    /// (and `user`'s position when given).
    pub fn verify(&self, user: Option<i64>) -> Result<String, String> {
        let seed = unhex(&self.seed).ok_or("the seed is not hex")?;
        if commitment(&seed) != self.seed_commitment.to_lowercase() {
            return Err("SHA-256(seed) is not the published commitment".into());
        }
        if ranked(&seed, self.pre_queue.clone()) != self.pre_queue {
            return Err("the pre-queue is not in the seeded ranking".into());
        }
        let order: Vec<i64> = self.pre_queue.iter().chain(&self.late).copied().collect();
        let mut seen = HashSet::new();
        if let Some(twice) = order.iter().find(|u| !seen.insert(**u)) {
            return Err(format!("account {twice} holds two places"));
        }
        // Admission walks the order: each admitted place is the next one
        // not skipped, never one further on.
        let skipped: HashSet<i64> = self.skipped.iter().copied().collect();
        let mut next = order.iter().filter(|u| !skipped.contains(u));
        for (i, admitted) in self.admitted.iter().enumerate() {
            match next.next() {
                Some(expected) if expected == admitted => {}
                Some(expected) => {
                    return Err(format!(
                        "admission {} went to account {admitted}, but account {expected} was next",
                        i + 1
                    ));
                }
                None => return Err(format!("account {admitted} was admitted without a place")),
            }
        }
        let mut summary = format!(
            "ok: the seed matches its commitment; {} pre-queue places in the seeded ranking, {} late; \
             {} admissions in order",
            self.pre_queue.len(),
            self.late.len(),
            self.admitted.len()
        );
        if let Some(user) = user {
            match order.iter().position(|u| *u == user) {
                Some(at) => {
                    summary.push_str(&format!("; account {user} holds position {}", at + 1))
                }
                None => summary.push_str(&format!("; account {user} holds no position")),
            }
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof(seed: &[u8; 32]) -> QueueProof {
        let pre = ranked(seed, (1..=20).collect());
        let skipped = pre[3];
        let order: Vec<i64> = pre.iter().copied().chain([40, 30]).collect();
        let admitted = order
            .iter()
            .copied()
            .filter(|u| *u != skipped)
            .take(12)
            .collect();
        let now = Utc::now();
        QueueProof {
            event_id: 7,
            rule: RULE.to_owned(),
            seed_commitment: commitment(seed),
            seed: hex(seed),
            start_time: now,
            drawn_at: now,
            pre_queue: pre,
            late: vec![40, 30],
            admitted,
            skipped: vec![skipped],
        }
    }

    #[test]
    fn an_honest_proof_verifies() {
        let p = proof(&[9; 32]);
        let summary = p.verify(Some(40)).unwrap();
        assert!(summary.contains("20 pre-queue places"), "{summary}");
        assert!(
            summary.contains("account 40 holds position 21"),
            "{summary}"
        );
    }

    #[test]
    fn a_swapped_seed_a_reordered_queue_or_a_skipped_place_fail() {
        let mut other_seed = proof(&[9; 32]);
        other_seed.seed = hex(&[8; 32]);
        assert!(other_seed.verify(None).unwrap_err().contains("commitment"));

        let mut reordered = proof(&[9; 32]);
        reordered.pre_queue.swap(0, 1);
        assert!(reordered.verify(None).unwrap_err().contains("ranking"));

        let mut passed_over = proof(&[9; 32]);
        passed_over.admitted.remove(0);
        assert!(passed_over.verify(None).unwrap_err().contains("was next"));

        let mut twice = proof(&[9; 32]);
        twice.late.push(twice.pre_queue[0]);
        assert!(twice.verify(None).unwrap_err().contains("two places"));
    }

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
        let seed = [7u8; 32];
        assert_eq!(unhex(&hex(&seed)).unwrap(), seed.to_vec());
        assert_eq!(commitment(&seed).len(), 64);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("abc"), None);
    }
}
