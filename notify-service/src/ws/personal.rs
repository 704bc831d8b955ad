//! Ordering and exactly-once of personal messages on one connection.
//!
//! Live messages usually arrive in `seq` order, but not always: two
//! messages for one user fanned out at once (two instances, or a pack and a
//! single message) take seqs 9 and 10 in Redis and may be published 10
//! then 9; a fan-out that runs again publishes a seq a second time; a
//! `resume` replays history that live delivery may also bring. The
//! connection therefore remembers the seqs it has sent — the last
//! [`WINDOW`] of them, one by one — and drops only those: a late 9 after 10
//! is sent, a second 10 is not. Past the window, everything at or below
//! the oldest seq it forgot counts as sent (a bounded memory per socket;
//! a client that far behind resumes).
//!
//! Right after `welcome`, live personal messages are held until the client
//! either sends `resume` (history first, then the held ones) or anything
//! else, or the resume window passes: a reconnecting client gets its
//! messages in order without racing the replay.

use std::collections::{BTreeSet, VecDeque};

use actix_web::web::Bytes;
use tokio::time::Instant;

use crate::{hub::SharedFrame, protocol::seq::Seq};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// Send it now.
    Send,
    /// Already sent (through a replay): drop it.
    Skip,
    /// Kept until the hold ends.
    Held,
    /// The hold overflowed its bound: the client is too slow.
    Overflow,
}

/// How many sent seqs a connection remembers one by one.
pub const WINDOW: usize = 256;

pub struct PersonalOrder {
    hold_until: Option<Instant>,
    held: VecDeque<SharedFrame>,
    max_held: usize,
    /// Seqs sent on this connection, the newest [`WINDOW`].
    sent: BTreeSet<Seq>,
    /// The newest seq that left the window: it and everything older count
    /// as sent.
    forgotten: Option<Seq>,
}

impl PersonalOrder {
    pub fn new(hold_until: Option<Instant>, max_held: usize) -> Self {
        Self {
            hold_until,
            held: VecDeque::new(),
            max_held,
            sent: BTreeSet::new(),
            forgotten: None,
        }
    }

    /// When the hold ends by itself, if one is on.
    pub fn hold_deadline(&self) -> Option<Instant> {
        self.hold_until
    }

    /// What to do with a live personal frame.
    pub fn on_live(&mut self, frame: &SharedFrame) -> Live {
        if self.hold_until.is_some() {
            if self.held.len() >= self.max_held {
                return Live::Overflow;
            }
            self.held.push_back(frame.clone());
            return Live::Held;
        }
        let Some(seq) = frame.seq else {
            return Live::Send;
        };
        if self.was_sent(seq) {
            return Live::Skip;
        }
        self.mark_sent(seq);
        Live::Send
    }

    /// Ends the hold; the held frames still to send, in order.
    pub fn release(&mut self) -> Vec<SharedFrame> {
        self.hold_until = None;
        let held = std::mem::take(&mut self.held);
        held.into_iter()
            .filter(|frame| self.on_live(frame) == Live::Send)
            .collect()
    }

    /// The replayed entries not sent yet (in order), marked as sent.
    pub fn plan_replay(&mut self, entries: &[(Seq, Bytes)]) -> Vec<Bytes> {
        let mut picked = Vec::new();
        for (seq, frame) in entries {
            if !self.was_sent(*seq) {
                self.mark_sent(*seq);
                picked.push(frame.clone());
            }
        }
        picked
    }

    fn was_sent(&self, seq: Seq) -> bool {
        self.forgotten.is_some_and(|f| seq <= f) || self.sent.contains(&seq)
    }

    fn mark_sent(&mut self, seq: Seq) {
        self.sent.insert(seq);
        while self.sent.len() > WINDOW {
            self.forgotten = self.sent.pop_first().max(self.forgotten);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::hub::Frame;

    fn seq(n: u64) -> Seq {
        Seq { ms: n, n: 0 }
    }

    fn live(n: u64) -> SharedFrame {
        Arc::new(Frame {
            text: Bytes::from(format!("live {n}")),
            seq: Some(seq(n)),
        })
    }

    fn history(range: std::ops::RangeInclusive<u64>) -> Vec<(Seq, Bytes)> {
        range
            .map(|n| (seq(n), Bytes::from(format!("replay {n}"))))
            .collect()
    }

    fn texts(frames: &[Bytes]) -> Vec<String> {
        frames
            .iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn a_resume_inside_the_window_gives_history_then_held_live_messages_once() {
        let mut order = PersonalOrder::new(Some(Instant::now()), 10);
        // Messages 4 and 5 are published while the client is resuming.
        assert_eq!(order.on_live(&live(4)), Live::Held);
        assert_eq!(order.on_live(&live(5)), Live::Held);
        // The client last saw 1; history holds 2..=4 (5 came after the read).
        let replayed = order.plan_replay(&history(2..=4));
        assert_eq!(texts(&replayed), ["replay 2", "replay 3", "replay 4"]);
        let released: Vec<_> = order.release().iter().map(|f| f.seq).collect();
        assert_eq!(released, [Some(seq(5))]);
        // Live again: duplicates of what was sent are dropped.
        assert_eq!(order.on_live(&live(5)), Live::Skip);
        assert_eq!(order.on_live(&live(6)), Live::Send);
    }

    #[test]
    fn a_late_resume_sends_only_what_live_delivery_missed() {
        let mut order = PersonalOrder::new(None, 10);
        assert_eq!(order.on_live(&live(7)), Live::Send);
        assert_eq!(order.on_live(&live(8)), Live::Send);
        let replayed = order.plan_replay(&history(5..=9));
        assert_eq!(texts(&replayed), ["replay 5", "replay 6", "replay 9"]);
        assert_eq!(order.on_live(&live(9)), Live::Skip);
        // A second resume from an older point sends nothing twice.
        assert!(order.plan_replay(&history(4..=9)).len() == 1);
    }

    #[test]
    fn a_seq_published_after_a_newer_one_is_still_sent_once() {
        let mut order = PersonalOrder::new(None, 10);
        assert_eq!(order.on_live(&live(10)), Live::Send);
        // 9 was taken first in Redis but published second.
        assert_eq!(order.on_live(&live(9)), Live::Send);
        // A fan-out that ran again publishes 9 and 10 once more.
        assert_eq!(order.on_live(&live(9)), Live::Skip);
        assert_eq!(order.on_live(&live(10)), Live::Skip);
        // A resume from 8 has nothing left to send.
        assert!(order.plan_replay(&history(9..=10)).is_empty());
    }

    #[test]
    fn the_window_of_sent_seqs_is_bounded() {
        let mut order = PersonalOrder::new(None, 10);
        let last = WINDOW as u64 + 10;
        for n in 1..=last {
            assert_eq!(order.on_live(&live(n)), Live::Send);
        }
        assert_eq!(order.sent.len(), WINDOW);
        // What left the window counts as sent; what is in it, too.
        assert_eq!(order.on_live(&live(1)), Live::Skip);
        assert_eq!(order.on_live(&live(last)), Live::Skip);
        assert_eq!(order.on_live(&live(last + 1)), Live::Send);
    }

    #[test]
    fn the_hold_is_bounded() {
        let mut order = PersonalOrder::new(Some(Instant::now()), 2);
        order.on_live(&live(1));
        order.on_live(&live(2));
        assert_eq!(order.on_live(&live(3)), Live::Overflow);
    }

    #[test]
    fn event_frames_without_seq_always_pass() {
        let mut order = PersonalOrder::new(None, 2);
        let event = Arc::new(Frame {
            text: Bytes::from_static(b"e"),
            seq: None,
        });
        assert_eq!(order.on_live(&event), Live::Send);
        assert_eq!(order.on_live(&event), Live::Send);
    }
}
