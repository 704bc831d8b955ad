-- Sessions ended before their access tokens run out (logout, a reused
-- refresh token, an account disabled: session_id NULL = every session of
-- the user). Written with the session.revoked message; every coupon-service
-- instance reads the recent ones and refuses those access tokens. Rows older
-- than an hour are purged (access tokens live at most 15 minutes).
CREATE TABLE revoked_sessions (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    session_id UUID,
    revoked_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX revoked_sessions_revoked_at ON revoked_sessions (revoked_at);
