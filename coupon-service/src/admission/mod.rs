//! Who may take an event's stock, and in which order: first come (the
//! reserve script decides alone, `crate::issuance`), or the waiting room
//! (docs/contract.md §2.8, docs/architecture.md "The waiting room").
//!
//! The waiting room in one paragraph: signed-in users join an event's queue
//! (`routes.rs`, places in PostgreSQL, `store.rs`); at the start the places
//! that joined before it are ordered by a seeded ranking whose seed was
//! committed to in advance (`ranking.rs`), later joiners follow in arrival
//! order; once a second a ticking instance (`room.rs`) admits the next
//! places while a unit of stock stands behind each — admission holds one
//! unit in Redis for the user until `claim_by` (`holds.rs`) — gives back
//! holds nobody claimed, and pushes the room's progress; the admitted
//! user's press is the usual issue request, which only a holder passes.
//! The proof (`proof.rs`) lets anyone recompute the order.
//!
//! The draw is the same room with other rules (`draw.rs` for its steps,
//! `draw_routes.rs` for its API): entries are places taken in a window,
//! sealed (their digest published) when it closes; at `draw_at` all of them
//! are ranked with the seed and an optional public beacon; the first ranks
//! are admitted at once (`draw.won`), the rest are told their rank
//! (`draw.lost`), and lapsed wins pass to the next ranks by the same expiry
//! and admission steps as the queue's.

pub mod draw;
pub mod draw_routes;
pub mod holds;
pub mod proof;
pub mod ranking;
pub mod room;
pub mod routes;
pub mod store;

use serde::{Deserialize, Serialize};

/// An event's admission mode.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Admission {
    /// The first presses win (the reserve script alone decides).
    #[default]
    FirstCome,
    /// The waiting room: admission in a committed order, backed by stock.
    Queue,
    /// The draw: entries in a window, a verifiable ranking, the first ranks
    /// win (and the next ones the units not claimed in time).
    Draw,
}

impl Admission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstCome => "first_come",
            Self::Queue => "queue",
            Self::Draw => "draw",
        }
    }

    /// Whether presses need a held unit (an admission or a win): a room
    /// (`queue_places`, `event_queues`, the tick) decides who may press.
    pub fn has_room(self) -> bool {
        self != Self::FirstCome
    }
}
