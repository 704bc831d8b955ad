//! The waiting room's proof (`GET …/queue/proof`), built from the places
//! PostgreSQL holds; its shape and its check are `contract::admission`
//! (`coupon-service verify-queue`, flashload and the web page check it).

use chrono::{DateTime, Utc};
pub use contract::admission::{AdmissionRound, DRAW_MODE, DRAW_RULE, QUEUE_MODE, QueueProof, RULE};

use super::{ranking, store::ProofPlace};

/// The proof of a drawn queue: `places` in position order, the first
/// `pre_queue_count` of them the drawn pre-queue.
pub fn build(
    event_id: i64,
    seed: &[u8],
    start_time: DateTime<Utc>,
    drawn_at: DateTime<Utc>,
    pre_queue_count: usize,
    places: &[ProofPlace],
) -> QueueProof {
    let (pre, late) = places.split_at(pre_queue_count.min(places.len()));
    let mut admitted: Vec<&ProofPlace> =
        places.iter().filter(|p| p.admitted_at.is_some()).collect();
    admitted.sort_by_key(|p| (p.admitted_at, p.position));
    let mut rounds: Vec<AdmissionRound> = Vec::new();
    for at in admitted.iter().filter_map(|p| p.admitted_at) {
        match rounds.last_mut() {
            Some(round) if round.at == at => round.count += 1,
            _ => rounds.push(AdmissionRound { at, count: 1 }),
        }
    }
    QueueProof {
        event_id,
        mode: QUEUE_MODE.to_owned(),
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
        beacon_round: None,
        beacon: None,
        entrants_digest: None,
        rounds,
    }
}

/// What a draw's proof adds to the queue's.
pub struct DrawRecord {
    pub beacon_round: Option<String>,
    /// hex, as the draw used it.
    pub beacon: Option<String>,
    pub entrants_digest: Option<String>,
}

/// The proof of a drawn draw: every ranked entrant in `places` (in rank
/// order), the draw's time as its `start_time`.
pub fn build_draw(
    event_id: i64,
    seed: &[u8],
    draw_at: DateTime<Utc>,
    drawn_at: DateTime<Utc>,
    places: &[ProofPlace],
    record: DrawRecord,
) -> QueueProof {
    QueueProof {
        mode: DRAW_MODE.to_owned(),
        rule: DRAW_RULE.to_owned(),
        beacon_round: record.beacon_round,
        beacon: record.beacon.filter(|b| !b.is_empty()),
        entrants_digest: record.entrants_digest,
        ..build(event_id, seed, draw_at, drawn_at, places.len(), places)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_built_from_the_places_verifies_and_lists_admissions_in_their_order() {
        let seed = [5u8; 32];
        let pre = ranking::ranked(&seed, (1..=6).collect());
        let t1 = Utc::now();
        let t2 = t1 + chrono::TimeDelta::seconds(1);
        let mut places: Vec<ProofPlace> = pre
            .iter()
            .chain(&[9])
            .enumerate()
            .map(|(i, &user_id)| ProofPlace {
                user_id,
                position: i as i32 + 1,
                admitted_at: None,
                left_unadmitted: false,
            })
            .collect();
        // Tick 1 admits positions 1-2, position 3 left, tick 2 admits 4.
        places[0].admitted_at = Some(t1);
        places[1].admitted_at = Some(t1);
        places[2].left_unadmitted = true;
        places[3].admitted_at = Some(t2);
        let proof = build(3, &seed, t1, t1, 6, &places);
        assert_eq!(proof.late, vec![9]);
        assert_eq!(proof.admitted, vec![pre[0], pre[1], pre[3]]);
        assert_eq!(proof.skipped, vec![pre[2]]);
        proof.verify(Some(9)).unwrap();
    }
}
