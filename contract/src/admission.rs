//! Fair admission that anyone can check (docs/contract.md §2.10): the
//! seeded ranking, the commitment to its seed, and the waiting room's proof
//! with its check. coupon-service builds the proof and the
//! `coupon-service verify-queue` command checks it; flashload checks every
//! run's; the web page recomputes the same ranking in the browser.
//!
//! The ranking: a place's rank key is SHA-256(seed ‖ beacon ‖ the user id
//! in ASCII decimal), and places are ordered by that key, smallest first (a
//! tie, which SHA-256 makes practically impossible, goes to the smaller
//! user id). The seed is 32 random bytes whose SHA-256 (the commitment) is
//! public before anyone joins and which is revealed at the draw, so the
//! operator cannot choose it after seeing who joined, and everyone can
//! check the order. The beacon is empty for a waiting room; a draw may name
//! in advance a public random value nobody knows when its entries close
//! (a future drand round, say), so not even the operator, who knows the
//! seed, can pick entrants that will win.
//!
//! One proof format for both ([`QueueProof`]): the ranked places, the
//! admissions in order (a draw's winners, then its backfill), the rounds
//! they came in, and for a draw the beacon and the digest of the entrant
//! list published when the entries closed ([`entrants_digest`]).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The public commitment to a seed: hex SHA-256 of its bytes.
pub fn commitment(seed: &[u8]) -> String {
    hex(&Sha256::digest(seed))
}

/// A user's rank key under a seed and a beacon (empty: none).
pub fn rank_key(seed: &[u8], beacon: &[u8], user_id: i64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(beacon);
    h.update(user_id.to_string().as_bytes());
    h.finalize().into()
}

/// The users in ranked order (no beacon: the waiting room's).
pub fn ranked(seed: &[u8], users: Vec<i64>) -> Vec<i64> {
    ranked_with(seed, &[], users)
}

/// The users in ranked order under a seed and a beacon.
pub fn ranked_with(seed: &[u8], beacon: &[u8], mut users: Vec<i64>) -> Vec<i64> {
    users.sort_by_cached_key(|&u| (rank_key(seed, beacon, u), u));
    users
}

/// The digest of an entrant list, published when a draw's entries close:
/// hex SHA-256 of the ids sorted ascending, each in ASCII decimal followed
/// by a newline. Anyone can recompute it from the proof's list.
pub fn entrants_digest(users: &[i64]) -> String {
    let mut sorted = users.to_vec();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    for u in sorted {
        h.update(u.to_string().as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
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

/// How the waiting room's order is made, in words, as its proof states it.
pub const RULE: &str = "pre_queue (joined before start_time) ordered by SHA-256(seed bytes || \
     ASCII decimal user id), smallest first, a tie to the smaller id; then late joiners in arrival \
     order; admission follows that order, skipping places that left";

/// How a draw's order is made, in words, as its proof states it.
pub const DRAW_RULE: &str = "pre_queue (every entrant, whose list's digest was published when the \
     entries closed) ordered by SHA-256(seed bytes || beacon bytes || ASCII decimal user id), \
     smallest first, a tie to the smaller id; the first ranks win one unit each, and units not \
     claimed in time pass to the next ranks (admitted, in order, round by round)";

/// The proof's `mode` of a waiting room.
pub const QUEUE_MODE: &str = "queue";
/// The proof's `mode` of a draw.
pub const DRAW_MODE: &str = "draw";

fn queue_mode() -> String {
    QUEUE_MODE.to_owned()
}

/// Admissions granted together (one tick of the room): a draw's first
/// round holds its winners, the later ones its backfill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdmissionRound {
    pub at: DateTime<Utc>,
    pub count: usize,
}

/// The proof a waiting room or a draw publishes once its order is drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueProof {
    pub event_id: i64,
    /// `queue` or `draw`.
    #[serde(default = "queue_mode")]
    pub mode: String,
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
    /// A draw's named public random value, and that value (hex).
    #[serde(default)]
    pub beacon_round: Option<String>,
    #[serde(default)]
    pub beacon: Option<String>,
    /// A draw's entrant digest ([`entrants_digest`]), public since its
    /// entries closed.
    #[serde(default)]
    pub entrants_digest: Option<String>,
    /// The admissions' rounds, in order; their counts add up to `admitted`.
    #[serde(default)]
    pub rounds: Vec<AdmissionRound>,
}

impl QueueProof {
    /// Every check, or the first that fails. The summary names the counts
    /// (and `user`'s position when given).
    pub fn verify(&self, user: Option<i64>) -> Result<String, String> {
        let seed = unhex(&self.seed).ok_or("the seed is not hex")?;
        if commitment(&seed) != self.seed_commitment.to_lowercase() {
            return Err("SHA-256(seed) is not the published commitment".into());
        }
        let draw = self.mode == DRAW_MODE;
        let beacon = match &self.beacon {
            Some(b) => unhex(b).ok_or("the beacon is not hex")?,
            None if draw && self.beacon_round.is_some() => {
                return Err("the draw named a beacon but used none".into());
            }
            None => Vec::new(),
        };
        if ranked_with(&seed, &beacon, self.pre_queue.clone()) != self.pre_queue {
            return Err("the pre-queue is not in the seeded ranking".into());
        }
        let order: Vec<i64> = self.pre_queue.iter().chain(&self.late).copied().collect();
        let mut seen = HashSet::new();
        if let Some(twice) = order.iter().find(|u| !seen.insert(**u)) {
            return Err(format!("account {twice} holds two places"));
        }
        if draw {
            if !self.late.is_empty() {
                return Err("a draw has no late entrants".into());
            }
            match &self.entrants_digest {
                Some(d) if *d == entrants_digest(&self.pre_queue) => {}
                Some(_) => {
                    return Err("the entrant list does not match its published digest".into());
                }
                None => return Err("the draw's entrant digest is missing".into()),
            }
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
        if !self.rounds.is_empty()
            && self.rounds.iter().map(|r| r.count).sum::<usize>() != self.admitted.len()
        {
            return Err("the rounds do not add up to the admissions".into());
        }
        let mut summary = if draw {
            format!(
                "ok: the seed matches its commitment, the entrant list its digest; {} entrants in \
                 the ranking{}; {} wins in order over {} round(s)",
                self.pre_queue.len(),
                if beacon.is_empty() {
                    String::new()
                } else {
                    " with the beacon".to_owned()
                },
                self.admitted.len(),
                self.rounds.len()
            )
        } else {
            format!(
                "ok: the seed matches its commitment; {} pre-queue places in the seeded ranking, {} \
                 late; {} admissions in order",
                self.pre_queue.len(),
                self.late.len(),
                self.admitted.len()
            )
        };
        if let Some(user) = user {
            match order.iter().position(|u| *u == user) {
                Some(at) if draw => summary.push_str(&format!(
                    "; account {user} holds rank {}{}",
                    at + 1,
                    if self.admitted.contains(&user) {
                        " (won)"
                    } else {
                        ""
                    }
                )),
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
            mode: QUEUE_MODE.to_owned(),
            rule: RULE.to_owned(),
            seed_commitment: commitment(seed),
            seed: hex(seed),
            start_time: now,
            drawn_at: now,
            pre_queue: pre,
            late: vec![40, 30],
            admitted,
            skipped: vec![skipped],
            beacon_round: None,
            beacon: None,
            entrants_digest: None,
            rounds: vec![AdmissionRound { at: now, count: 12 }],
        }
    }

    fn draw_proof(seed: &[u8; 32], beacon: &[u8]) -> QueueProof {
        let entrants: Vec<i64> = (1..=30).collect();
        let ranked = ranked_with(seed, beacon, entrants.clone());
        let now = Utc::now();
        QueueProof {
            event_id: 8,
            mode: DRAW_MODE.to_owned(),
            rule: DRAW_RULE.to_owned(),
            seed_commitment: commitment(seed),
            seed: hex(seed),
            start_time: now,
            drawn_at: now,
            admitted: ranked[..7].to_vec(),
            pre_queue: ranked,
            late: vec![],
            skipped: vec![],
            beacon_round: Some("drand quicknet round 1".into()),
            beacon: Some(hex(beacon)),
            entrants_digest: Some(entrants_digest(&entrants)),
            rounds: vec![
                AdmissionRound { at: now, count: 5 },
                AdmissionRound { at: now, count: 2 },
            ],
        }
    }

    #[test]
    fn an_honest_draw_verifies_and_a_bent_one_does_not() {
        let seed = [3; 32];
        let honest = draw_proof(&seed, &[0xab, 0xcd]);
        let rank_one = honest.pre_queue[0];
        let summary = honest.verify(Some(rank_one)).unwrap();
        assert!(summary.contains("30 entrants"), "{summary}");
        assert!(summary.contains("rank 1 (won)"), "{summary}");

        // Ranked without the beacon (the operator alone chose the order).
        let mut no_beacon = draw_proof(&seed, &[0xab, 0xcd]);
        no_beacon.pre_queue = ranked(&seed, no_beacon.pre_queue.clone());
        assert!(no_beacon.verify(None).unwrap_err().contains("ranking"));

        let mut unnamed = draw_proof(&seed, &[0xab, 0xcd]);
        unnamed.beacon = None;
        assert!(unnamed.verify(None).unwrap_err().contains("beacon"));

        // An entrant slipped in after the digest was published.
        let mut slipped = draw_proof(&seed, &[0xab, 0xcd]);
        slipped.pre_queue.push(99);
        slipped.pre_queue = ranked_with(&seed, &[0xab, 0xcd], slipped.pre_queue.clone());
        assert!(slipped.verify(None).unwrap_err().contains("digest"));

        let mut miscounted = draw_proof(&seed, &[0xab, 0xcd]);
        miscounted.rounds[1].count = 3;
        assert!(miscounted.verify(None).unwrap_err().contains("rounds"));

        let mut late = draw_proof(&seed, &[0xab, 0xcd]);
        late.late.push(77);
        assert!(late.verify(None).unwrap_err().contains("late"));
    }

    #[test]
    fn the_entrant_digest_is_sha256_of_the_sorted_decimal_ids_one_per_line() {
        // python3 -c "import hashlib;print(hashlib.sha256(b'2\n10\n').hexdigest())"
        assert_eq!(
            entrants_digest(&[10, 2]),
            "84fa61ffd2392fe852a5dc8cd5a7cc37bad6b57d7f12de37ecbd042bf75ac746"
        );
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
    fn the_rank_key_is_sha256_of_the_seed_the_beacon_then_the_decimal_id() {
        // python3 -c "import hashlib;print(hashlib.sha256(bytes(32)+bytes([171])+b'42').hexdigest())"
        assert_eq!(
            hex(&rank_key(&[0; 32], &[0xab], 42)),
            "b377884c7b694445f9a160ef4280539684afb64b8f74949469201663349144df"
        );
        // sha256(32 zero bytes ‖ "42"), computed independently:
        // python3 -c "import hashlib;print(hashlib.sha256(bytes(32)+b'42').hexdigest())"
        assert_eq!(
            hex(&rank_key(&[0; 32], &[], 42)),
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
