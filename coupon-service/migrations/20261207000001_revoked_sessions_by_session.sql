-- A refresh rotation asks whether its session was recorded as ended (a
-- token a logout missed must not rotate on).
CREATE INDEX revoked_sessions_session ON revoked_sessions (session_id)
    WHERE session_id IS NOT NULL;
