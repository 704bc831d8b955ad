//! What the issuance scripts decide and keep: a reservation (a ticket and a
//! user slot held until the coupon commits), the reserve script's outcome,
//! and an event's whole state as rebuilt from PostgreSQL.

/// A ticket and a user slot held for one request until its coupon commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub event_id: i64,
    pub user_id: i64,
    pub ticket: i32,
    pub slot: i32,
    /// Tickets left right after this one was taken.
    pub remaining: i64,
    pub reserved_ms: i64,
    /// Hash of the request's `Idempotency-Key`, empty without one.
    pub idem: String,
}

impl Reservation {
    /// The value the reserve script stored under `pending[ticket]`.
    pub fn pending_value(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.user_id, self.slot, self.reserved_ms, self.idem
        )
    }

    /// Parses a `pending` entry back (the sweeper reads them).
    pub fn from_pending(event_id: i64, ticket: &str, value: &str) -> Option<Self> {
        let mut parts = value.splitn(4, ':');
        Some(Self {
            event_id,
            user_id: parts.next()?.parse().ok()?,
            slot: parts.next()?.parse().ok()?,
            reserved_ms: parts.next()?.parse().ok()?,
            idem: parts.next()?.to_owned(),
            ticket: ticket.parse().ok()?,
            remaining: 0,
        })
    }
}

/// What the reserve script decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    Reserved(Reservation),
    /// The idempotency key already holds this ticket and slot.
    Replay {
        ticket: i32,
        slot: i32,
        remaining: i64,
    },
    NotLoaded,
    NotStarted,
    Ended,
    SoldOut,
    LimitReached,
    /// A queued event, and the user holds no admission.
    NotAdmitted,
}

/// An event's issuance state as rebuilt from PostgreSQL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventState {
    pub start_ms: i64,
    pub end_ms: i64,
    pub total: i64,
    pub max_per_user: i64,
    pub closed: bool,
    pub expire_at_ms: i64,
    /// `coupon_events.state_version` this state was read with.
    pub version: i64,
    pub remaining: i64,
    pub highest_ticket: i64,
    pub free_tickets: Vec<i64>,
    /// user → held-slots string ("1", "101", …).
    pub users: Vec<(i64, String)>,
    pub admission: crate::admission::Admission,
    /// The waiting room's unclaimed admissions: user → claim_by (unix ms).
    pub holds: Vec<(i64, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_values_round_trip_including_colons_in_nothing_but_the_tail() {
        let r = Reservation {
            event_id: 3,
            user_id: 17,
            ticket: 9,
            slot: 2,
            remaining: 0,
            reserved_ms: 1_700_000_000_123,
            idem: "abcd".into(),
        };
        let back = Reservation::from_pending(3, "9", &r.pending_value()).unwrap();
        assert_eq!(back, r);
        assert_eq!(Reservation::from_pending(3, "9", "x:1:2:"), None);
    }
}
