-- WAL segments no restore inside the window reads: committed before the
-- window start $1 and, for a tenant with an anchor snapshot ($3: tenant ids,
-- $4: anchor LSNs, $5: anchor times), also before what a restore from that
-- anchor reads (the reader's rule in src/restore/archive-reader.ts: ending at
-- or after its LSN, or committed within the scan margin $2 before its time).
-- Segments of '*' (table-wide changes) serve every tenant: they follow the
-- oldest anchor of all.
WITH anchors AS (
  SELECT * FROM unnest($3::text[], $4::pg_lsn[], $5::timestamptz[]) AS a (tenant_id, lsn, taken_at)
), oldest_anchor AS (
  SELECT min(lsn) AS lsn, min(taken_at) AS taken_at FROM anchors
)
SELECT g.id, g.tenant_id, g.bucket, g.object_key
FROM wal_segments g
LEFT JOIN anchors a ON a.tenant_id = g.tenant_id
CROSS JOIN oldest_anchor o
WHERE g.last_commit_at < $1
  AND CASE WHEN g.tenant_id = '*'
        THEN o.lsn IS NULL OR (g.last_lsn < o.lsn AND g.last_commit_at < o.taken_at - $2::interval)
        ELSE a.tenant_id IS NULL OR (g.last_lsn < a.lsn AND g.last_commit_at < a.taken_at - $2::interval)
      END
ORDER BY g.id
