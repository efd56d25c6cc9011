-- The tenants among $1 whose newest snapshot still holds exactly what they
-- hold now, so a scheduled run need not take another (a day's snapshot of
-- every idle tenant is a full export of them for nothing):
--   * the archive has been drained up to $2 (the WAL position before the check's drain),
--   * the snapshot is covered by the archive (no older than its first slot),
--   * nothing of the tenant's, nor a table-wide TRUNCATE ('*'), was archived
--     since the snapshot, or within $3 before it (a transaction can commit
--     just before a snapshot and still be invisible to it),
--   * no gap and no schema change since.
WITH newest AS (
  SELECT DISTINCT ON (tenant_id) tenant_id, lsn, taken_at
  FROM restore_snapshots
  WHERE tenant_id = ANY ($1::text[])
  ORDER BY tenant_id, lsn DESC
)
SELECT n.tenant_id
FROM newest n
WHERE (SELECT max(archived_lsn) FROM wal_archives) >= $2::pg_lsn
  AND n.lsn >= (SELECT min(created_lsn) FROM wal_archives)
  AND NOT EXISTS (
    SELECT 1 FROM wal_segments s
    WHERE s.tenant_id IN (n.tenant_id, '*')
      AND (s.last_lsn >= n.lsn OR s.last_commit_at >= n.taken_at - $3::interval)
  )
  AND NOT EXISTS (SELECT 1 FROM wal_archive_gaps g WHERE g.to_lsn >= n.lsn)
  AND NOT EXISTS (SELECT 1 FROM wal_schema_changes c WHERE c.lsn >= n.lsn)
ORDER BY n.tenant_id
