-- The waiting room (docs/contract.md §2.8, docs/architecture.md "The
-- waiting room"): an event's admission mode and its queue settings, the
-- queue's secret seed, and every place in it.

ALTER TABLE coupon_events
    ADD COLUMN admission TEXT NOT NULL DEFAULT 'first_come'
        CHECK (admission IN ('first_come', 'queue')),
    -- When joining opens (queue mode; the admin's value or start − 30 min).
    ADD COLUMN queue_opens_at TIMESTAMPTZ,
    -- How long an admitted place holds its unit.
    ADD COLUMN claim_window_secs INTEGER NOT NULL DEFAULT 120
        CHECK (claim_window_secs BETWEEN 30 AND 3600),
    -- Only accounts that existed when the queue opened may join.
    ADD COLUMN queue_only_existing_accounts BOOLEAN NOT NULL DEFAULT false,
    -- hex SHA-256 of the queue's seed: public from the event's creation in
    -- queue mode, so the seed cannot be chosen after people joined.
    ADD COLUMN queue_seed_commitment TEXT,
    ADD CONSTRAINT coupon_events_queue_settings CHECK (
        admission <> 'queue'
        OR (queue_opens_at IS NOT NULL AND queue_opens_at <= start_time
            AND queue_seed_commitment IS NOT NULL));

-- One row per queued event: the seed (secret until the draw at the start),
-- the draw, and how the room closed. Kept apart from coupon_events so the
-- seed never travels with an event's cached copies.
CREATE TABLE event_queues (
    event_id        BIGINT PRIMARY KEY REFERENCES coupon_events (id) ON DELETE CASCADE,
    seed            BYTEA NOT NULL CHECK (length(seed) = 32),
    -- Set when the places that joined before the start were ranked.
    drawn_at        TIMESTAMPTZ,
    pre_queue_count INTEGER,
    -- Positions handed out so far (the pre-queue's, then late joiners').
    last_position   INTEGER NOT NULL DEFAULT 0,
    closed_at       TIMESTAMPTZ,
    closed_reason   TEXT CHECK (closed_reason IN ('sold_out', 'ended', 'closed'))
);

CREATE TABLE queue_places (
    event_id    BIGINT NOT NULL REFERENCES coupon_events (id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Arrival order: the order of late joiners, and the tiebreak of nothing
    -- else (the pre-queue's order is the seeded ranking).
    arrival     BIGSERIAL NOT NULL,
    joined_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Given at the draw (pre-queue) or by the first tick after a late join.
    position    INTEGER,
    state       TEXT NOT NULL DEFAULT 'waiting'
        CHECK (state IN ('waiting', 'admitted', 'expired', 'left')),
    admitted_at TIMESTAMPTZ,
    claim_by    TIMESTAMPTZ,
    PRIMARY KEY (event_id, user_id)
);

-- The admitter's next candidates; the position of a place is unique.
CREATE INDEX queue_places_waiting ON queue_places (event_id, position) WHERE state = 'waiting';
CREATE UNIQUE INDEX queue_places_position ON queue_places (event_id, position)
    WHERE position IS NOT NULL;
-- Late joiners without a position yet, in arrival order.
CREATE INDEX queue_places_unplaced ON queue_places (event_id, arrival) WHERE position IS NULL;
-- Holds whose claim window may have passed.
CREATE INDEX queue_places_held ON queue_places (event_id, claim_by) WHERE state = 'admitted';
