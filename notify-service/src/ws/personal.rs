//! Ordering and exactly-once of personal messages on one connection.
//!
//! Live messages arrive in `seq` order (Redis publishes them in the order
//! the history stream got them). A `resume` replays history; a live message
//! may also be in the replay. The connection therefore remembers the range
//! of seqs it has sent — always contiguous in the stream — and drops what
//! falls inside it.
//!
//! Right after `welcome`, live personal messages are held until the client
//! either sends `resume` (history first, then the held ones) or anything
//! else, or the resume window passes: a reconnecting client gets its
//! messages in order without racing the replay.

use std::collections::VecDeque;

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

pub struct PersonalOrder {
    hold_until: Option<Instant>,
    held: VecDeque<SharedFrame>,
    max_held: usize,
    /// Inclusive range of seqs known sent on this connection.
    sent: Option<(Seq, Seq)>,
}

impl PersonalOrder {
    pub fn new(hold_until: Option<Instant>, max_held: usize) -> Self {
        Self {
            hold_until,
            held: VecDeque::new(),
            max_held,
            sent: None,
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
        if self.sent.is_some_and(|(_, hi)| seq <= hi) {
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
        let before = self.sent;
        let picked: Vec<(Seq, Bytes)> = entries
            .iter()
            .filter(|(seq, _)| !before.is_some_and(|(lo, hi)| lo <= *seq && *seq <= hi))
            .cloned()
            .collect();
        for (seq, _) in &picked {
            self.mark_sent(*seq);
        }
        picked.into_iter().map(|(_, frame)| frame).collect()
    }

    fn mark_sent(&mut self, seq: Seq) {
        self.sent = Some(match self.sent {
            None => (seq, seq),
            Some((lo, hi)) => (lo.min(seq), hi.max(seq)),
        });
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
