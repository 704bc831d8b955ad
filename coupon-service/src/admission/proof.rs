//! The waiting room's proof (`GET …/queue/proof`) and its check (the
//! `coupon-service verify-queue` command): from the proof alone, anyone can
//! recompute that the seed is the one committed to before anyone joined,
//! that the pre-queue is in the seeded ranking, and that admission followed
//! the positions without passing anyone over.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ranking, store::ProofPlace};

/// How the order is made, in words, as the proof states it.
pub const RULE: &str = "pre_queue (joined before start_time) ordered by SHA-256(seed bytes || \
     ASCII decimal user id), smallest first, a tie to the smaller id; then late joiners in arrival \
     order; admission follows that order, skipping places that left";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
    pub fn new(
        event_id: i64,
        seed: &[u8],
        start_time: DateTime<Utc>,
        drawn_at: DateTime<Utc>,
        pre_queue_count: usize,
        places: &[ProofPlace],
    ) -> Self {
        let (pre, late) = places.split_at(pre_queue_count.min(places.len()));
        let mut admitted: Vec<&ProofPlace> =
            places.iter().filter(|p| p.admitted_at.is_some()).collect();
        admitted.sort_by_key(|p| (p.admitted_at, p.position));
        Self {
            event_id,
            rule: RULE.to_owned(),
            seed_commitment: ranking::commitment(seed),
            seed: ranking::hex(seed),
            start_time,
            drawn_at,
            pre_queue: pre.iter().map(|p| p.user_id).collect(),
            late: late.iter().map(|p| p.user_id).collect(),
            admitted: admitted.iter().map(|p| p.user_id).collect(),
            skipped: places
                .iter()
                .filter(|p| p.left_unadmitted)
                .map(|p| p.user_id)
                .collect(),
        }
    }

    /// Every check, or the first that fails. The summary names the counts
    /// (and `user`'s position when given).
    pub fn verify(&self, user: Option<i64>) -> Result<String, String> {
        let seed = ranking::unhex(&self.seed).ok_or("the seed is not hex")?;
        if ranking::commitment(&seed) != self.seed_commitment.to_lowercase() {
            return Err("SHA-256(seed) is not the published commitment".into());
        }
        if ranking::ranked(&seed, self.pre_queue.clone()) != self.pre_queue {
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

    fn places(order: &[i64], admitted: usize, left: &[i64]) -> Vec<ProofPlace> {
        let at = Utc::now();
        let mut n = 0;
        order
            .iter()
            .enumerate()
            .map(|(i, &user_id)| {
                let skip = left.contains(&user_id);
                let admit = !skip && n < admitted;
                if admit {
                    n += 1;
                }
                ProofPlace {
                    user_id,
                    position: i as i32 + 1,
                    admitted_at: admit.then_some(at),
                    left_unadmitted: skip,
                }
            })
            .collect()
    }

    fn proof(seed: &[u8; 32]) -> QueueProof {
        let pre = ranking::ranked(seed, (1..=20).collect());
        let mut order = pre.clone();
        order.extend([40, 30]);
        let now = Utc::now();
        QueueProof::new(
            7,
            seed,
            now,
            now,
            pre.len(),
            &places(&order, 12, &[order[3]]),
        )
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
        other_seed.seed = ranking::hex(&[8; 32]);
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
}
