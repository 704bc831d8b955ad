-- Opaque refresh tokens, stored only as SHA-256 hashes. Each login starts a
-- family; every refresh rotates (the old token is marked used, a new one is
-- issued in the same family). Presenting a used token again means it leaked:
-- the whole family is revoked.
CREATE TABLE refresh_tokens (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   UUID NOT NULL,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Admin screens list an event's coupons newest first and count redemptions.
CREATE INDEX user_coupons_event_newest ON user_coupons (event_id, id DESC);
