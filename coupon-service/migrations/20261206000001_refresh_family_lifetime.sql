-- A refresh family (one login) ends a fixed time after the login, however
-- often it is rotated: every row carries its family's start. Existing
-- families started with their oldest row.
ALTER TABLE refresh_tokens ADD COLUMN family_started_at TIMESTAMPTZ;

UPDATE refresh_tokens r
SET family_started_at = f.started
FROM (SELECT family_id, min(created_at) AS started FROM refresh_tokens GROUP BY family_id) f
WHERE r.family_id = f.family_id;

ALTER TABLE refresh_tokens ALTER COLUMN family_started_at SET NOT NULL;
