-- The audit trail of admin actions (coupon-service/src/admin/audit.rs):
-- one row per action, written in the transaction of the change, never
-- changed afterwards. No foreign keys: the record outlives the event or
-- account it names.
CREATE TABLE admin_audit (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    actor_id    BIGINT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('event.create', 'event.update', 'event.close',
                                                'event.draw_now', 'user.disable', 'user.enable')),
    target_type TEXT NOT NULL CHECK (target_type IN ('event', 'user')),
    target_id   BIGINT NOT NULL,
    before      JSONB,
    after       JSONB,
    request_id  TEXT CHECK (length(request_id) <= 200),
    trace_id    TEXT CHECK (trace_id ~ '^[0-9a-f]{32}$')
);

CREATE INDEX admin_audit_target ON admin_audit (target_type, target_id, id);
CREATE INDEX admin_audit_actor ON admin_audit (actor_id, id);

-- Append-only: the table refuses every change but INSERT, whoever asks.
CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'admin_audit is append-only (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER admin_audit_no_update_or_delete BEFORE UPDATE OR DELETE ON admin_audit
    FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only();
CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
    FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_append_only();
