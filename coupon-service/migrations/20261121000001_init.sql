-- Source of truth of the platform. Redis holds the hot issuance state, but
-- every rule that must never break (stock, per-user limit) is also enforced
-- here, so a Redis that forgot or replayed state still cannot oversell.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'USER' CHECK (role IN ('USER', 'ADMIN')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE coupon_events (
    id                  BIGSERIAL PRIMARY KEY,
    title               TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description         TEXT NOT NULL DEFAULT '',
    total_count         INTEGER NOT NULL CHECK (total_count > 0),
    issued_count        INTEGER NOT NULL DEFAULT 0,
    max_per_user        INTEGER NOT NULL DEFAULT 1 CHECK (max_per_user >= 1),
    start_time          TIMESTAMPTZ NOT NULL,
    end_time            TIMESTAMPTZ NOT NULL,
    discount_type       TEXT NOT NULL CHECK (discount_type IN ('percentage', 'fixed')),
    discount_value      BIGINT NOT NULL CHECK (discount_value > 0),
    min_purchase_amount BIGINT NOT NULL DEFAULT 0 CHECK (min_purchase_amount >= 0),
    valid_days          INTEGER NOT NULL DEFAULT 30 CHECK (valid_days >= 1),
    code_prefix         TEXT NOT NULL CHECK (code_prefix ~ '^[A-Z0-9]{1,12}$'),
    closed_at           TIMESTAMPTZ,
    -- Set once, in the transaction that commits the last coupon; the same
    -- transaction writes the one coupon.soldout outbox row.
    sold_out_at         TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (end_time > start_time),
    CHECK (issued_count BETWEEN 0 AND total_count),
    CHECK (discount_type <> 'percentage' OR discount_value <= 100),
    -- Target of the composite foreign key that copies the limits into coupons.
    UNIQUE (id, total_count, max_per_user)
);

CREATE INDEX coupon_events_end_time ON coupon_events (end_time);

CREATE TABLE user_coupons (
    id                  BIGSERIAL PRIMARY KEY,
    event_id            BIGINT NOT NULL,
    user_id             BIGINT NOT NULL CONSTRAINT user_coupons_user_fk REFERENCES users (id),
    -- Copies of the event's limits, kept equal by the composite foreign key
    -- (ON UPDATE CASCADE), so the CHECKs below compare against live limits.
    total_count         INTEGER NOT NULL,
    max_per_user        INTEGER NOT NULL,
    -- The stock ticket (1..total) and the user's slot (1..max_per_user) the
    -- Redis script handed out. Unique: a replayed ticket or slot is refused.
    stock_seq           INTEGER NOT NULL,
    user_slot           INTEGER NOT NULL,
    code                TEXT NOT NULL CONSTRAINT user_coupons_code_unique UNIQUE,
    status              TEXT NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'used')),
    -- Terms are fixed when the coupon is issued; later event edits do not
    -- change a coupon someone already holds.
    discount_type       TEXT NOT NULL,
    discount_value      BIGINT NOT NULL,
    min_purchase_amount BIGINT NOT NULL,
    issued_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at          TIMESTAMPTZ NOT NULL,
    used_at             TIMESTAMPTZ,
    FOREIGN KEY (event_id, total_count, max_per_user)
        REFERENCES coupon_events (id, total_count, max_per_user) ON UPDATE CASCADE,
    CONSTRAINT user_coupons_ticket_unique UNIQUE (event_id, stock_seq),
    CONSTRAINT user_coupons_slot_unique UNIQUE (event_id, user_id, user_slot),
    CONSTRAINT user_coupons_ticket_in_stock CHECK (stock_seq BETWEEN 1 AND total_count),
    CONSTRAINT user_coupons_slot_in_limit CHECK (user_slot BETWEEN 1 AND max_per_user),
    CHECK ((status = 'used') = (used_at IS NOT NULL))
);

-- "My coupons", newest first.
CREATE INDEX user_coupons_user_newest ON user_coupons (user_id, id DESC);

-- Transactional outbox: written in the same transaction as the coupons,
-- published to RabbitMQ by the relay, marked only after the broker's ack.
CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    message_id   UUID NOT NULL UNIQUE,
    routing_key  TEXT NOT NULL,
    payload      JSONB NOT NULL,
    trace_id     TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ
);

CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
