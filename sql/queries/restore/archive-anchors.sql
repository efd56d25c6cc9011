-- The snapshot each tenant's restores at the window start ($1) would load:
-- its newest snapshot taken at or before $1, else (every snapshot is inside
-- the window) its oldest one. PITR retention keeps the anchor and everything
-- after it, and deletes what only restores before it could use.
WITH before_window AS (
  SELECT DISTINCT ON (tenant_id) tenant_id, id, lsn, taken_at
  FROM restore_snapshots
  WHERE taken_at <= $1
  ORDER BY tenant_id, taken_at DESC, lsn DESC
), oldest AS (
  SELECT DISTINCT ON (tenant_id) tenant_id, id, lsn, taken_at
  FROM restore_snapshots
  ORDER BY tenant_id, taken_at, lsn
)
SELECT * FROM before_window
UNION ALL
SELECT * FROM oldest o WHERE NOT EXISTS (SELECT 1 FROM before_window b WHERE b.tenant_id = o.tenant_id)
