//! Acknowledges a channel's deliveries in batches: one `basic.ack` with
//! `multiple` covers every delivery handled since the last one (docs/contract.md §8:
//! at thousands of messages a second, one ack frame per message is a large
//! share of the broker's work — each is a settle command in a quorum queue's
//! log).
//!
//! Deliveries finish out of order (they are handled concurrently), and an
//! ack with `multiple` settles every delivery up to its tag. So the window
//! acks only up to the oldest delivery still being handled: a delivery whose
//! fan-out has not succeeded is never covered, and goes back to the queue
//! with the channel, as before. Rejected deliveries (dead-lettered) are
//! settled by their own `basic.reject` and are never the tag of a
//! multiple-ack, because the broker refuses a tag it no longer holds.
//!
//! Delivery tags are per channel and rise in the order the broker delivers;
//! the window relies on `received` being called in that order, so it must
//! belong to exactly one consumer's stream (one consumer per channel).

use std::{collections::BTreeSet, sync::Mutex, time::Duration};

use lapin::{Channel, options::BasicAckOptions, types::DeliveryTag};
use tokio::sync::Notify;

#[derive(Default)]
pub struct AckWindow {
    state: Mutex<State>,
    handled: Notify,
}

#[derive(Default)]
struct State {
    /// Received and not settled yet: being handled, or held for redelivery.
    in_hand: BTreeSet<DeliveryTag>,
    /// Handled successfully, waiting for the next ack.
    to_ack: BTreeSet<DeliveryTag>,
}

impl AckWindow {
    /// A delivery came off the consumer (call in stream order).
    pub fn received(&self, tag: DeliveryTag) {
        self.state().in_hand.insert(tag);
    }

    /// Its fan-out succeeded: it may be acked.
    pub fn handled(&self, tag: DeliveryTag) {
        {
            let mut state = self.state();
            state.in_hand.remove(&tag);
            state.to_ack.insert(tag);
        }
        self.handled.notify_one();
    }

    /// It was settled on its own (rejected): nothing more to send for it.
    pub fn settled_alone(&self, tag: DeliveryTag) {
        self.state().in_hand.remove(&tag);
    }

    /// The tag for the next `multiple` ack, if any delivery can be acked: the
    /// newest handled delivery older than every delivery still in hand.
    fn take_ack(&self) -> Option<DeliveryTag> {
        let mut state = self.state();
        let limit = state.in_hand.first().copied().unwrap_or(DeliveryTag::MAX);
        let tag = state.to_ack.range(..limit).next_back().copied()?;
        state.to_ack = state.to_ack.split_off(&(tag + 1));
        Some(tag)
    }

    /// Sends the ack for whatever can be acked now; returns how many ack
    /// frames went out (0 or 1).
    pub async fn flush(&self, channel: &Channel) -> lapin::Result<u64> {
        let Some(tag) = self.take_ack() else {
            return Ok(0);
        };
        channel
            .basic_ack(tag, BasicAckOptions { multiple: true })
            .await?;
        Ok(1)
    }

    /// Acks in batches until the channel fails: after a delivery is handled,
    /// waits `gather` for more to finish, then acks them all with one frame.
    /// `on_frame` is told of every frame sent (for the metrics).
    pub async fn run(
        &self,
        channel: &Channel,
        gather: Duration,
        on_frame: impl Fn(),
    ) -> lapin::Error {
        loop {
            self.handled.notified().await;
            tokio::time::sleep(gather).await;
            match self.flush(channel).await {
                Ok(0) => {}
                Ok(_) => on_frame(),
                Err(e) => return e,
            }
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked (each method
        // leaves it whole), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(received: &[DeliveryTag]) -> AckWindow {
        let window = AckWindow::default();
        for &tag in received {
            window.received(tag);
        }
        window
    }

    #[test]
    fn nothing_to_ack_until_something_is_handled() {
        let w = window(&[1, 2, 3]);
        assert_eq!(w.take_ack(), None);
    }

    #[test]
    fn handled_in_order_are_acked_with_the_newest_tag() {
        let w = window(&[1, 2, 3]);
        w.handled(1);
        w.handled(2);
        w.handled(3);
        assert_eq!(w.take_ack(), Some(3));
        assert_eq!(w.take_ack(), None, "each tag is acked once");
    }

    #[test]
    fn a_delivery_still_in_hand_holds_back_the_newer_ones() {
        let w = window(&[1, 2, 3, 4]);
        w.handled(1);
        w.handled(3);
        w.handled(4);
        assert_eq!(w.take_ack(), Some(1));
        assert_eq!(w.take_ack(), None, "2 is in hand: 3 and 4 must wait");
        w.handled(2);
        assert_eq!(w.take_ack(), Some(4));
    }

    #[test]
    fn a_rejected_delivery_is_never_the_ack_tag_but_does_not_block() {
        let w = window(&[1, 2, 3]);
        w.handled(1);
        w.settled_alone(3);
        assert_eq!(w.take_ack(), Some(1), "2 is in hand");
        w.handled(2);
        assert_eq!(w.take_ack(), Some(2), "3 was rejected on its own");
        w.received(4);
        w.settled_alone(4);
        assert_eq!(w.take_ack(), None);
    }

    #[test]
    fn a_delivery_never_handled_is_never_acked() {
        let w = window(&[1, 2]);
        w.handled(2);
        for _ in 0..3 {
            assert_eq!(w.take_ack(), None);
        }
    }
}
