//! The draw's steps in its room's tick (`room.rs` runs them once a second
//! on one instance):
//!
//! 1. a second after the entries close, seal them: the digest of the
//!    entrant list is written once and shown from then on;
//! 2. at `draw_at` (and once the named beacon's value is entered), rank
//!    every entrant by SHA-256(seed ‖ beacon ‖ id), once;
//! 3. give lapsed wins back and admit the next ranks while units stand
//!    behind them (the waiting room's steps: a win is an admission, told by
//!    `draw.won`);
//! 4. once every unit is out, tell the entrants not drawn their rank
//!    (`draw.lost`), [`TELL_BATCH`] a tick, a cursor in PostgreSQL;
//! 5. when nobody is left to admit and no win is pending, the ranked list
//!    ran out: the room closes (`exhausted`).

use chrono::{DateTime, Utc};

use super::{
    room::Room,
    store::{self, Entrants},
};
use crate::events::Event;

/// The seal waits this long after the entries close: an entry that passed
/// the window check has committed by then (and sealing waits for any still
/// in flight, `store::enter`).
const SEAL_DELAY: chrono::TimeDelta = chrono::TimeDelta::seconds(1);
/// Entrants told "not drawn" per tick: 200,000 entrants are told in four
/// seconds, each tick's transaction bounded.
pub const TELL_BATCH: i64 = 50_000;

/// Where a draw stands at `now`, from its settings alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the entries open, or while they are open.
    Entries,
    /// Entries closed; the draw has not been reached yet (or waits for the
    /// beacon's value).
    Closed,
    /// The draw is due.
    Due,
}

pub fn phase(event: &Event, now: DateTime<Utc>) -> Phase {
    let closes = event.entry_closes_at.unwrap_or(event.start_time);
    let draw_at = event.draw_at.unwrap_or(event.start_time);
    if now < closes + SEAL_DELAY {
        Phase::Entries
    } else if now < draw_at || beacon_missing(event) {
        Phase::Closed
    } else {
        Phase::Due
    }
}

/// A beacon round was named and its value is not entered yet.
pub fn beacon_missing(event: &Event) -> bool {
    event.draw_beacon_round.is_some() && event.draw_beacon.is_none()
}

impl Room {
    /// The draw's steps (module doc); true when its admission ran this tick
    /// (then the caller closes the room if nobody is left to win: step 5,
    /// judged on the counts it reads for the progress anyway).
    pub(super) async fn draw_steps(
        &self,
        event: &Event,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let phase = phase(event, now);
        if phase == Phase::Entries {
            return Ok(false);
        }
        if store::seal(&self.db, event.id).await? {
            tracing::info!(event.id = event.id, "draw entries sealed");
        }
        if phase == Phase::Closed {
            return Ok(false);
        }
        if let Some(n) = store::draw(&self.db, event.id, Entrants::Sealed).await? {
            tracing::info!(event.id = event.id, ranked = n, "draw drawn");
        }
        if self.expire_and_admit(event).await?.is_none() {
            return Ok(false);
        }
        // Every unit is out (held or claimed): whoever waits now was not
        // drawn, for now.
        if self
            .holds
            .stock(event.id)
            .await?
            .is_some_and(|s| s.free <= 0)
        {
            let rows = store::tell_not_drawn(&self.db, event.id, TELL_BATCH).await?;
            self.handoff.pass(rows);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_follows_the_window_the_draw_time_and_the_beacon() {
        let now = Utc::now();
        let mut e = Event::on_sale(now);
        e.admission = super::super::Admission::Draw;
        e.entry_closes_at = Some(now);
        e.draw_at = Some(now + chrono::TimeDelta::seconds(10));
        assert_eq!(phase(&e, now), Phase::Entries);
        assert_eq!(
            phase(&e, now + chrono::TimeDelta::seconds(2)),
            Phase::Closed
        );
        assert_eq!(phase(&e, now + chrono::TimeDelta::seconds(10)), Phase::Due);
        e.draw_beacon_round = Some("drand quicknet round 1".into());
        assert_eq!(
            phase(&e, now + chrono::TimeDelta::seconds(10)),
            Phase::Closed
        );
        e.draw_beacon = Some("ab".into());
        assert_eq!(phase(&e, now + chrono::TimeDelta::seconds(10)), Phase::Due);
    }
}
