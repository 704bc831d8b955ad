-- An admin may disable an account: it can no longer sign in or refresh, and
-- its sessions are revoked (session.revoked closes its sockets).
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;
