//! An event as stored, and its public view with live stock.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::admission::Admission;

/// How long an admitted place holds its unit unless the admin says
/// otherwise (`claim_window_secs`).
pub const DEFAULT_CLAIM_WINDOW_SECS: i32 = 120;
/// How long before the start a queue opens unless the admin says otherwise.
pub const DEFAULT_QUEUE_LEAD_MINUTES: i64 = 30;

fn default_claim_window() -> i32 {
    DEFAULT_CLAIM_WINDOW_SECS
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub total_count: i32,
    pub issued_count: i32,
    pub max_per_user: i32,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub discount_type: String,
    pub discount_value: i64,
    pub min_purchase_amount: i64,
    pub valid_days: i32,
    pub code_prefix: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub sold_out_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every admin write; the Redis copy of the sale state
    /// carries the number it was written from, so a late write never
    /// replaces a newer one (`update_event.lua`). Defaulted for a cached
    /// copy written before the column existed.
    #[serde(default)]
    pub state_version: i64,
    /// First come or through the waiting room (`crate::admission`); the
    /// queue fields below matter in queue mode only. Defaulted, like the
    /// version, for a cached copy written before they existed.
    #[serde(default)]
    pub admission: Admission,
    #[serde(default)]
    pub queue_opens_at: Option<DateTime<Utc>>,
    #[serde(default = "default_claim_window")]
    pub claim_window_secs: i32,
    #[serde(default)]
    pub queue_only_existing_accounts: bool,
    /// hex SHA-256 of the queue's seed (queue mode).
    #[serde(default)]
    pub queue_seed_commitment: Option<String>,
    /// The waiting room's state as the public reads see it (`store.rs`
    /// reads them; other queries leave them empty): the seed once drawn,
    /// why the room closed, how many joined.
    #[serde(default)]
    #[sqlx(default)]
    pub queue_seed: Option<String>,
    #[serde(default)]
    #[sqlx(default)]
    pub queue_closed_reason: Option<String>,
    #[serde(default)]
    #[sqlx(default)]
    pub queue_joined: i64,
    /// The draw's settings (draw mode; `queue_only_existing_accounts`,
    /// `claim_window_secs` and the seed's commitment serve it too).
    #[serde(default)]
    pub entry_opens_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub entry_closes_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub draw_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub draw_beacon_round: Option<String>,
    #[serde(default)]
    pub draw_beacon: Option<String>,
    /// The digest of the entrant list, set when the entries closed.
    #[serde(default)]
    #[sqlx(default)]
    pub draw_entrants_digest: Option<String>,
}

/// Derived from time and state, never stored; the reserve script applies the
/// same rules (closed or past end → ended, before start → scheduled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Scheduled,
    Active,
    SoldOut,
    Ended,
}

impl Event {
    pub fn status(&self, now: DateTime<Utc>, remaining: i64) -> EventStatus {
        if self.closed_at.is_some() || now >= self.end_time {
            EventStatus::Ended
        } else if now < self.start_time {
            EventStatus::Scheduled
        } else if remaining <= 0 {
            EventStatus::SoldOut
        } else {
            EventStatus::Active
        }
    }

    /// Tickets left according to PostgreSQL, used when Redis has no state.
    pub fn remaining_in_db(&self) -> i64 {
        i64::from(self.total_count - self.issued_count)
    }

    /// The editable part of the event (what a patch is merged into).
    pub fn as_new(&self) -> NewEvent {
        NewEvent {
            title: self.title.clone(),
            description: self.description.clone(),
            total_count: self.total_count,
            max_per_user: self.max_per_user,
            start_time: self.start_time,
            end_time: self.end_time,
            discount_type: self.discount_type.clone(),
            discount_value: self.discount_value,
            min_purchase_amount: self.min_purchase_amount,
            valid_days: self.valid_days,
            code_prefix: self.code_prefix.clone(),
            admission: self.admission,
            queue_opens_at: self.queue_opens_at,
            claim_window_secs: self.claim_window_secs,
            queue_only_existing_accounts: self.queue_only_existing_accounts,
            entry_opens_at: self.entry_opens_at,
            entry_closes_at: self.entry_closes_at,
            draw_at: self.draw_at,
            draw_beacon_round: self.draw_beacon_round.clone(),
            draw_beacon: self.draw_beacon.clone(),
        }
    }

    /// When the room opens for places (queue) or entries (draw).
    pub fn room_opens_at(&self) -> Option<DateTime<Utc>> {
        match self.admission {
            Admission::FirstCome => None,
            Admission::Queue => Some(self.queue_opens_at.unwrap_or(self.start_time)),
            Admission::Draw => Some(self.entry_opens_at.unwrap_or(self.start_time)),
        }
    }

    /// The draw's public settings, in draw mode.
    pub fn draw_view(&self) -> Option<DrawSettingsView> {
        (self.admission == Admission::Draw).then(|| DrawSettingsView {
            entry_opens_at: self.entry_opens_at.unwrap_or(self.start_time),
            entry_closes_at: self.entry_closes_at.unwrap_or(self.start_time),
            draw_at: self.draw_at.unwrap_or(self.start_time),
            claim_window_secs: self.claim_window_secs,
            only_existing_accounts: self.queue_only_existing_accounts,
            seed_commitment: self.queue_seed_commitment.clone().unwrap_or_default(),
            beacon_round: self.draw_beacon_round.clone(),
            beacon: self.draw_beacon.clone(),
            entrants_digest: self.draw_entrants_digest.clone(),
            seed: self.queue_seed.clone(),
            closed_reason: self.queue_closed_reason.clone(),
            entries: self.queue_joined,
        })
    }

    /// The queue's public settings, in queue mode.
    pub fn queue_view(&self) -> Option<QueueSettingsView> {
        (self.admission == Admission::Queue).then(|| QueueSettingsView {
            opens_at: self.queue_opens_at.unwrap_or(self.start_time),
            claim_window_secs: self.claim_window_secs,
            only_existing_accounts: self.queue_only_existing_accounts,
            seed_commitment: self.queue_seed_commitment.clone().unwrap_or_default(),
            seed: self.queue_seed.clone(),
            closed_reason: self.queue_closed_reason.clone(),
            joined: self.queue_joined,
        })
    }

    pub fn view(&self, now: DateTime<Utc>, remaining: i64) -> EventView {
        EventView {
            id: self.id,
            title: self.title.clone(),
            description: self.description.clone(),
            status: self.status(now, remaining),
            total_count: self.total_count,
            remaining,
            start_time: self.start_time,
            end_time: self.end_time,
            max_per_user: self.max_per_user,
            discount_type: self.discount_type.clone(),
            discount_value: self.discount_value,
            min_purchase_amount: self.min_purchase_amount,
            valid_days: self.valid_days,
            admission: self.admission,
            queue: self.queue_view(),
            draw: self.draw_view(),
        }
    }
}

/// `GET /api/coupons/events[/{id}]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub status: EventStatus,
    pub total_count: i32,
    pub remaining: i64,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub max_per_user: i32,
    pub discount_type: String,
    pub discount_value: i64,
    pub min_purchase_amount: i64,
    pub valid_days: i32,
    pub admission: Admission,
    /// Queue mode only; the room's live state is `GET …/events/{id}/queue`.
    pub queue: Option<QueueSettingsView>,
    /// Draw mode only; the draw's live state is `GET …/events/{id}/draw`.
    pub draw: Option<DrawSettingsView>,
}

/// A draw's settings and public record, as everyone sees them (cached up
/// to `events.cache_ttl_ms`; `GET …/draw` is never cached).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawSettingsView {
    pub entry_opens_at: DateTime<Utc>,
    pub entry_closes_at: DateTime<Utc>,
    pub draw_at: DateTime<Utc>,
    /// How long a win holds its unit.
    pub claim_window_secs: i32,
    /// Only accounts that existed when entries opened may enter.
    pub only_existing_accounts: bool,
    /// hex SHA-256 of the seed, public from the event's creation.
    pub seed_commitment: String,
    /// The public random value named in advance, and its value once the
    /// admin entered it (hex).
    pub beacon_round: Option<String>,
    pub beacon: Option<String>,
    /// hex SHA-256 of the entrant list, published when the entries closed.
    pub entrants_digest: Option<String>,
    /// hex; revealed by the draw.
    pub seed: Option<String>,
    /// `sold_out`, `ended`, `closed` or `exhausted` once the draw closed.
    pub closed_reason: Option<String>,
    /// Entries ever made (withdrawn ones included).
    pub entries: i64,
}

/// A queued event's settings, as everyone sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueSettingsView {
    /// Joining opens here.
    pub opens_at: DateTime<Utc>,
    /// How long an admitted place holds its unit.
    pub claim_window_secs: i32,
    /// Only accounts that existed when the queue opened may join.
    pub only_existing_accounts: bool,
    /// hex SHA-256 of the seed that orders those who join before the start.
    pub seed_commitment: String,
    /// hex; revealed by the draw a second after the start (cached up to
    /// `events.cache_ttl_ms`; `GET …/queue` is never cached).
    pub seed: Option<String>,
    /// `sold_out`, `ended` or `closed` once the room closed (cached alike).
    pub closed_reason: Option<String>,
    /// Places ever taken in the queue.
    pub joined: i64,
}

/// What creating an event takes (admin API, seeding, tests). The schema
/// states the admin validator's rules; other fields are refused.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(required = false, max_length = 2000)]
    pub description: String,
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub total_count: i32,
    #[schema(required = false, minimum = 1, maximum = 1000)]
    pub max_per_user: i32,
    pub start_time: DateTime<Utc>,
    /// After `start_time` and in the future.
    pub end_time: DateTime<Utc>,
    #[schema(pattern = "^(percentage|fixed)$")]
    pub discount_type: String,
    /// 1-100 for a percentage, an amount in minor units for fixed.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub discount_value: i64,
    #[schema(required = false, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub min_purchase_amount: i64,
    #[schema(required = false, minimum = 1, maximum = 3650)]
    pub valid_days: i32,
    #[schema(pattern = "^[A-Z0-9]{1,12}$")]
    pub code_prefix: String,
    /// `first_come` (default) or `queue` (the waiting room); fixed once the
    /// queue opened (or the first-come sale started).
    #[serde(default)]
    #[schema(required = false)]
    pub admission: Admission,
    /// Queue mode: when joining opens; at most `start_time`; default 30
    /// minutes before it.
    #[serde(default)]
    #[schema(required = false)]
    pub queue_opens_at: Option<DateTime<Utc>>,
    /// Queue mode: how long an admitted place holds its unit.
    #[serde(default = "default_claim_window")]
    #[schema(required = false, minimum = 30, maximum = 3600)]
    pub claim_window_secs: i32,
    /// Queue mode: only accounts that existed when the queue opened may
    /// join; draw mode: when the entries opened.
    #[serde(default)]
    #[schema(required = false)]
    pub queue_only_existing_accounts: bool,
    /// Draw mode: when entries open (default: when the event is created).
    #[serde(default)]
    #[schema(required = false)]
    pub entry_opens_at: Option<DateTime<Utc>>,
    /// Draw mode (required): when entries close; at most `draw_at`.
    #[serde(default)]
    #[schema(required = false)]
    pub entry_closes_at: Option<DateTime<Utc>>,
    /// Draw mode: when the entrants are ranked; at or after `start_time`
    /// and `entry_closes_at`, before `end_time`; default the later of those
    /// two.
    #[serde(default)]
    #[schema(required = false)]
    pub draw_at: Option<DateTime<Utc>>,
    /// Draw mode: a public random value named in advance, unknown when the
    /// entries close (e.g. "drand quicknet round 12345678").
    #[serde(default)]
    #[schema(required = false, max_length = 200)]
    pub draw_beacon_round: Option<String>,
    /// Draw mode: the named value (hex), entered before the draw; the draw
    /// waits for it when a round is named.
    #[serde(default)]
    #[schema(required = false, pattern = "^([0-9a-f]{2}){1,128}$")]
    pub draw_beacon: Option<String>,
}

impl NewEvent {
    /// When the queue opens: the admin's time, or 30 minutes before the
    /// start (queue mode; `None` first come).
    pub fn resolved_queue_opens_at(&self) -> Option<DateTime<Utc>> {
        (self.admission == Admission::Queue).then(|| {
            self.queue_opens_at
                .unwrap_or(self.start_time - chrono::Duration::minutes(DEFAULT_QUEUE_LEAD_MINUTES))
        })
    }
}

impl NewEvent {
    /// When the draw happens unless the admin says otherwise: the later of
    /// the entries' close and the start (draw mode; `None` otherwise).
    pub fn resolved_draw_at(&self) -> Option<DateTime<Utc>> {
        (self.admission == Admission::Draw).then(|| {
            self.draw_at.unwrap_or_else(|| {
                self.entry_closes_at
                    .map_or(self.start_time, |c| c.max(self.start_time))
            })
        })
    }
}

#[cfg(test)]
impl Event {
    /// A sale on now (a minute either side), none of its 10 coupons issued:
    /// the fixture of unit tests, which change what they test.
    pub(crate) fn on_sale(now: DateTime<Utc>) -> Self {
        Self {
            id: 1,
            title: "t".into(),
            description: String::new(),
            total_count: 10,
            issued_count: 0,
            max_per_user: 1,
            start_time: now - chrono::Duration::minutes(1),
            end_time: now + chrono::Duration::minutes(1),
            discount_type: "fixed".into(),
            discount_value: 1000,
            min_purchase_amount: 0,
            valid_days: 30,
            code_prefix: "T".into(),
            closed_at: None,
            sold_out_at: None,
            created_at: now,
            updated_at: now,
            state_version: 1,
            admission: Admission::FirstCome,
            queue_opens_at: None,
            claim_window_secs: DEFAULT_CLAIM_WINDOW_SECS,
            queue_only_existing_accounts: false,
            queue_seed_commitment: None,
            queue_seed: None,
            queue_closed_reason: None,
            queue_joined: 0,
            entry_opens_at: None,
            entry_closes_at: None,
            draw_at: None,
            draw_beacon_round: None,
            draw_beacon: None,
            draw_entrants_digest: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn status_follows_window_stock_and_closing() {
        let now = Utc::now();
        let e = Event::on_sale(now);
        assert_eq!(e.status(now, 5), EventStatus::Active);
        assert_eq!(e.status(now, 0), EventStatus::SoldOut);
        assert_eq!(
            e.status(now - Duration::minutes(2), 5),
            EventStatus::Scheduled
        );
        assert_eq!(e.status(now + Duration::minutes(1), 5), EventStatus::Ended);
        let closed = Event {
            closed_at: Some(now),
            ..e
        };
        assert_eq!(closed.status(now, 5), EventStatus::Ended);
    }
}
