-- The draw (docs/contract.md §2.11, docs/architecture.md "The draw"): a
-- third admission mode on the waiting room's tables. An entry is a place
-- in `queue_places`, the draw's seed and outcome live in `event_queues`,
-- and a win is an admission (a held unit with a claim deadline).

ALTER TABLE coupon_events DROP CONSTRAINT coupon_events_admission_check;
ALTER TABLE coupon_events
    ADD CONSTRAINT coupon_events_admission_check
        CHECK (admission IN ('first_come', 'queue', 'draw')),
    -- The entry window (draw mode).
    ADD COLUMN entry_opens_at TIMESTAMPTZ,
    ADD COLUMN entry_closes_at TIMESTAMPTZ,
    -- When the entrants are ranked (or earlier, by the admin, once the
    -- entries closed and the sale started).
    ADD COLUMN draw_at TIMESTAMPTZ,
    -- A public random value named in advance (e.g. a future drand round),
    -- and that value once known (hex), mixed into the ranking.
    ADD COLUMN draw_beacon_round TEXT CHECK (length(draw_beacon_round) <= 200),
    ADD COLUMN draw_beacon TEXT CHECK (draw_beacon ~ '^([0-9a-f]{2}){1,128}$'),
    ADD CONSTRAINT coupon_events_draw_settings CHECK (
        admission <> 'draw'
        OR (entry_opens_at IS NOT NULL AND entry_closes_at > entry_opens_at
            AND draw_at >= entry_closes_at AND draw_at >= start_time AND draw_at < end_time
            AND queue_seed_commitment IS NOT NULL));

ALTER TABLE event_queues DROP CONSTRAINT event_queues_closed_reason_check;
ALTER TABLE event_queues
    ADD CONSTRAINT event_queues_closed_reason_check
        CHECK (closed_reason IN ('sold_out', 'ended', 'closed', 'exhausted')),
    -- Draw mode: when the entries were sealed (a second after they closed)
    -- and the digest of the entrant list then, public before the draw.
    ADD COLUMN sealed_at TIMESTAMPTZ,
    ADD COLUMN entrants_digest TEXT,
    -- The beacon value the draw used (hex; empty: none).
    ADD COLUMN beacon TEXT,
    -- Positions up to which the entrants not drawn were told so.
    ADD COLUMN lost_told_upto INTEGER NOT NULL DEFAULT 0;
