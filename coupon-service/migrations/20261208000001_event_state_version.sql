-- The sale state an admin write leaves (window, stock, limit, closed) is
-- numbered: every admin write bumps `state_version` in its transaction,
-- and the Redis copy carries the number it was written from, so a late
-- write never replaces a newer one and the preload pass can tell a Redis
-- that missed a write (docs/contract.md §5).
ALTER TABLE coupon_events ADD COLUMN state_version BIGINT NOT NULL DEFAULT 1;

-- The database refuses coupons for a closed or ended event, whatever Redis
-- answered (a close whose Redis write was lost). Every batch of coupons
-- raises its events' `issued_count` in the coupons' transaction; that
-- UPDATE waits for a concurrent close to commit and then sees it, so a
-- coupon either commits before the close or is refused. The start is not
-- checked: Redis' clock opens the sale, and a PostgreSQL clock a few
-- milliseconds behind would refuse the first buyers.
CREATE FUNCTION coupon_events_issue_open() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event % is closed or over: no more coupons', NEW.id
        USING ERRCODE = 'check_violation',
              CONSTRAINT = 'coupon_events_issue_open',
              TABLE = 'coupon_events';
END
$$;

CREATE TRIGGER coupon_events_issue_open
    BEFORE UPDATE OF issued_count ON coupon_events
    FOR EACH ROW
    WHEN (NEW.issued_count > OLD.issued_count
          AND (NEW.closed_at IS NOT NULL OR now() >= NEW.end_time))
    EXECUTE FUNCTION coupon_events_issue_open();
